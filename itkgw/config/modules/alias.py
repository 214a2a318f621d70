"""mod_alias: URL prefixes mapped elsewhere, CGI directories and redirects."""

from __future__ import annotations

from itkgw.config.directive import DIRECTORY, NOWHERE, SERVER_VHOST, VHOST, Directive, Module
from itkgw.config.kinds import PathMap, ScriptAliasMap
from itkgw.config.kinds_structured import Redirects

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
        Directive("Redirect", "redirects", VHOST | DIRECTORY, Redirects(),
                  'prefix redirects; TOML [{ url_path = "/old", target = "http://x/new", status = 301 }] '
                  "(target left out for 410; regex = true for RedirectMatch)", repeat=True),
        Directive("RedirectMatch", "", NOWHERE, Redirects(regex=True), "Redirect with a regex, $N in the URL",
                  field="redirects", repeat=True, apache=SERVER_VHOST | DIRECTORY),
        Directive("RedirectPermanent", "", NOWHERE, Redirects(status=301), "Redirect permanent",
                  field="redirects", repeat=True, apache=SERVER_VHOST | DIRECTORY),
        Directive("RedirectTemp", "", NOWHERE, Redirects(status=302), "Redirect temp",
                  field="redirects", repeat=True, apache=SERVER_VHOST | DIRECTORY),
    ),
)
