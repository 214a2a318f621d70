"""mod_rewrite: rules in the server and vhosts (which may feed AssignUserIDExpr), and per
directory, in <Directory> sections and .htaccess files."""

from __future__ import annotations

from dataclasses import dataclass

from itkgw.config.directive import DIRECTORY, NOWHERE, SERVER_VHOST, VHOST, Context, Directive, Module
from itkgw.config.kinds import Flag, Text
from itkgw.config.kinds_structured import RewriteConds, RewriteRules
from itkgw.rules.rewrite import RewriteRule

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
        Directive("RewriteBase", "rewrite_base", DIRECTORY, Text(),
                  "the URL path of a directory whose rules make relative substitutions (default: its "
                  "path below DocumentRoot)", sections=_DIRECTORIES, not_in_sections=_NOT_PER_LOCATION),
    ),
    settings={Context.DIRECTORY: DirRewriteSettings},
)
