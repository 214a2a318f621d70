"""mod_alias: URL prefixes mapped elsewhere, CGI directories and redirects."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import ClassVar

from itkgw.config.directive import DIRECTORY, NOWHERE, SERVER_VHOST, VHOST, Context, Directive, Module
from itkgw.config.kinds import Kind, PathMap, ScriptAliasMap, check_regex
from itkgw.config.kinds_structured import Redirects
from itkgw.errors import ConfigError


@dataclass(frozen=True)
class RegexPathMap(Kind):
    """AliasMatch's and ScriptAliasMatch's (regex, path with $1..$9) pairs, in order."""

    expects: ClassVar[str] = "a table of URL regex = path, $1..$9 naming its groups"
    toml_example: ClassVar[str] = '{ "^/static/(.*)$" = "/srv/site/static/$1" }'
    args_example: ClassVar[str] = "a regex and a path, e.g. ^/static/(.*)$ /srv/site/static/$1"

    def from_toml(self, value: object, where: str) -> tuple[tuple[str, str], ...]:
        pairs = self.string_table(value, where).items()
        return tuple(self._pair(regex, path, where) for regex, path in pairs)

    def from_args(self, args: list[str], where: str) -> tuple[tuple[str, str], ...]:
        if len(args) != 2:
            raise self.wrong_args(args, where)
        return (self._pair(args[0], args[1], where),)

    def _pair(self, regex: str, path: str, where: str) -> tuple[str, str]:
        check_regex(regex, where, "AliasMatch")
        if not os.path.isabs(path):
            raise ConfigError(where, f"{path!r} is not an absolute path",
                              "write the full path, starting with /")
        return regex, path


@dataclass(frozen=True)
class AliasMatchSettings:
    """A vhost's AliasMatch and ScriptAliasMatch lines (None: the server's), tried after its
    Alias and ScriptAlias prefixes."""

    alias_match: tuple[tuple[str, str], ...] | None = None
    script_alias_match: tuple[tuple[str, str], ...] | None = None

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
        Directive("AliasMatch", "alias_match", VHOST, RegexPathMap(),
                  "URLs a regex matches, mapped onto the path its $1..$9 fill in (the whole URL is "
                  "replaced, as httpd replaces it)", field="alias_match", repeat=True),
        Directive("ScriptAliasMatch", "script_alias_match", VHOST, RegexPathMap(),
                  "AliasMatch whose files all run as CGI", field="script_alias_match", repeat=True),
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
    settings={Context.VHOST: AliasMatchSettings},
)
