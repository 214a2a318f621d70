"""mod_rewrite: rules in the server and vhosts (which may feed AssignUserIDExpr), and per
directory, in <Directory> sections and .htaccess files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from itkgw.config.directive import DIRECTORY, NOWHERE, SERVER_VHOST, VHOST, Context, Directive, Module
from itkgw.config.kinds import Flag, Kind, Text, Words
from itkgw.config.kinds_structured import RewriteConds, RewriteRules
from itkgw.errors import ConfigError
from itkgw.rules.rewrite import RewriteRule
from itkgw.rules.rewrite_map import RewriteMap, parse_map

#: Where per-directory rules may be written: <Directory> sections (and .htaccess files).
_DIRECTORIES = frozenset({"directory"})
_NOT_PER_LOCATION = ("per-directory rules are read in <Directory> sections and .htaccess files; "
                     "in <Location> and <Files> sections they are not supported")


@dataclass(frozen=True)
class DirRewriteSettings:
    """mod_rewrite in a <Directory> section or an .htaccess file; None leaves it to the level
    around (httpd does not inherit the rules themselves: see itkgw.request.dirconf)."""

    rewrite_engine: bool | None = None
    rewrite_rules: tuple[RewriteRule, ...] | None = None
    rewrite_base: str | None = None
    rewrite_options: tuple[str, ...] | None = None


#: RewriteOptions itkgw takes per directory (lower case), and what it says of the others.
_OPTIONS = ("inherit", "inheritbefore", "mergebase", "ignoreinherit", "longurloptimization")
_REFUSED_OPTIONS = {
    "inheritdown": "write RewriteOptions Inherit in the directories below",
    "inheritdownbefore": "write RewriteOptions InheritBefore in the directories below",
    "allownoslash": "name the directory with its trailing slash",
    "allowanyuri": "itkgw rewrites URL paths only",
    "legacyprefixdocroot": "write the substitution as a path below DocumentRoot",
}


@dataclass(frozen=True)
class RewriteOptionWords(Words):
    """RewriteOptions: Inherit and InheritBefore take the rules of the directory around
    after or before a directory's own, MergeBase its RewriteBase."""

    toml_example: ClassVar[str] = '["Inherit"] or ["InheritBefore", "MergeBase"]'
    args_example: ClassVar[str] = "RewriteOptions Inherit"

    def checked(self, words: tuple[str, ...], where: str) -> tuple[str, ...]:
        for word in words:
            refused = _REFUSED_OPTIONS.get(word.lower())
            if refused is not None:
                raise ConfigError(where, f"RewriteOptions {word} is not supported", refused)
            if word.lower() not in _OPTIONS and not word.lower().startswith("maxredirects="):
                raise ConfigError(where, f"RewriteOptions: unknown option '{word}'",
                                  "the options are Inherit, InheritBefore, MergeBase, IgnoreInherit")
        return words


@dataclass(frozen=True)
class RewriteMaps(Kind):
    """RewriteMap NAME TYPE:SOURCE: a map of a vhost's rules (itkgw.rules.rewrite_map)."""

    expects: ClassVar[str] = "a table of name = \"type:source\""
    toml_example: ClassVar[str] = '{ lower = "int:tolower", moved = "txt:/etc/itkgw/moved.map" }'
    args_example: ClassVar[str] = "RewriteMap moved txt:/etc/itkgw/moved.map"

    def from_toml(self, value: object, where: str) -> tuple[RewriteMap, ...]:
        return tuple(parse_map(name, spec, where) for name, spec in self.string_table(value, where).items())

    def from_args(self, args: list[str], where: str) -> tuple[RewriteMap, ...]:
        # A third word (MapTypeOptions) is a prg: map's user, which itkgw refuses anyway.
        if len(args) not in (2, 3):
            raise self.wrong_args(args, where)
        return (parse_map(args[0], args[1], where),)


MODULE = Module(
    "rewrite",
    "mod_rewrite: the subset that feeds AssignUserIDExpr and redirects",
    identifiers=("rewrite_module", "mod_rewrite.c"),
    directives=(
        Directive("RewriteEngine", "rewrite_engine", VHOST | DIRECTORY, Flag(),
                  "whether the RewriteRule lines apply (not inherited by vhosts, as in Apache)",
                  sections=_DIRECTORIES, not_in_sections=_NOT_PER_LOCATION),
        Directive("RewriteRule", "rewrite_rules", VHOST | DIRECTORY, RewriteRules(),
                  "mod_rewrite rules, flags E=VAR:VALUE, L, R[=code], NC, QSA, PT, F, G; TOML "
                  '[{ pattern = "...", substitution = "...", flags = ["L"], conditions = [{ test = "...", '
                  'pattern = "...", flags = [] }] }] (not inherited by vhosts; per directory, a pattern '
                  "matches the path below the directory)", repeat=True, also_from="RewriteCond",
                  sections=_DIRECTORIES, not_in_sections=_NOT_PER_LOCATION),
        Directive("RewriteCond", "", NOWHERE, RewriteConds(),
                  "a condition of the next RewriteRule; flags NC, OR, NV", field="rewrite_rules",
                  apache=SERVER_VHOST | DIRECTORY, sections=_DIRECTORIES, not_in_sections=_NOT_PER_LOCATION),
        Directive("RewriteMap", "rewrite_maps", VHOST, RewriteMaps(),
                  "maps the rules look values up in as ${name:key|default}: txt:/file (key value "
                  "lines), rnd:/file (a value of a|b|c at random), int:toupper, tolower, escape or "
                  "unescape (not inherited by vhosts, as in Apache)", repeat=True),
        Directive("RewriteOptions", "rewrite_options", DIRECTORY, RewriteOptionWords(),
                  "Inherit: the rules of the directory around run after this one's, in its place; "
                  "InheritBefore: before them; MergeBase: its RewriteBase too",
                  sections=_DIRECTORIES, not_in_sections=_NOT_PER_LOCATION),
        Directive("RewriteBase", "rewrite_base", DIRECTORY, Text(),
                  "the URL path of a directory whose rules make relative substitutions (default: its "
                  "path below DocumentRoot)", sections=_DIRECTORIES, not_in_sections=_NOT_PER_LOCATION),
    ),
    settings={Context.DIRECTORY: DirRewriteSettings},
)
