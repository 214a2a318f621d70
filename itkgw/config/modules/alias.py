"""mod_alias: URL prefixes mapped elsewhere, CGI directories and redirects."""

from __future__ import annotations

from itkgw.config.directive import NOWHERE, SERVER_VHOST, VHOST, Directive, Module
from itkgw.config.kinds import PathMap, ScriptAliasMap
from itkgw.config.kinds_structured import Redirects

_REDIRECT_IN_VHOST = "write Redirect URL-PATH URL in <VirtualHost> instead"

MODULE = Module(
    "alias",
    "mod_alias: URL prefixes mapped elsewhere, CGI directories and redirects",
    identifiers=("alias_module", "mod_alias.c"),
    directives=(
        Directive("Alias", "alias", VHOST, PathMap(),
                  'URL prefixes mapped onto directories or files; TOML { "/url/" = "/dir/" }', repeat=True),
        Directive("ScriptAlias", "script_alias", VHOST, ScriptAliasMap(),
                  "URL prefixes whose files all run as CGI, with their directories; "
                  'TOML { "/cgi-bin/" = "/dir/" }',
                  repeat=True),
        Directive("Redirect", "redirects", VHOST, Redirects(),
                  'prefix redirects; TOML [{ url_path = "/old", target = "http://x/new", status = 301 }] '
                  "(target left out for 410)", repeat=True,
                  not_in_sections=_REDIRECT_IN_VHOST),
        Directive("RedirectPermanent", "", NOWHERE, Redirects(status=301), "Redirect permanent",
                  field="redirects", repeat=True, apache=SERVER_VHOST, not_in_sections=_REDIRECT_IN_VHOST),
        Directive("RedirectTemp", "", NOWHERE, Redirects(status=302), "Redirect temp",
                  field="redirects", repeat=True, apache=SERVER_VHOST, not_in_sections=_REDIRECT_IN_VHOST),
    ),
)
