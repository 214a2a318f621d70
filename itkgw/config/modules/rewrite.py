"""mod_rewrite: the subset that feeds AssignUserIDExpr and redirects."""

from __future__ import annotations

from itkgw.config.directive import NOWHERE, SERVER_VHOST, VHOST, Directive, Module
from itkgw.config.kinds import Flag
from itkgw.config.kinds_structured import RewriteConds, RewriteRules

_PER_DIR_REWRITE = "per-directory rewriting is not supported yet; write the rules in <VirtualHost>"

MODULE = Module(
    "rewrite",
    "mod_rewrite: the subset that feeds AssignUserIDExpr and redirects",
    identifiers=("rewrite_module", "mod_rewrite.c"),
    directives=(
        Directive("RewriteEngine", "rewrite_engine", VHOST, Flag(),
                  "whether the RewriteRule lines apply (not inherited by vhosts, as in Apache)",
                  not_in_sections=_PER_DIR_REWRITE),
        Directive("RewriteRule", "rewrite_rules", VHOST, RewriteRules(),
                  "mod_rewrite rules, flags E=VAR:VALUE, L, R[=code], NC, QSA, PT, F, G; TOML "
                  '[{ pattern = "...", substitution = "...", flags = ["L"], conditions = [{ test = "...", '
                  'pattern = "...", flags = [] }] }] (not inherited by vhosts)', repeat=True,
                  also_from="RewriteCond", not_in_sections=_PER_DIR_REWRITE),
        Directive("RewriteCond", "", NOWHERE, RewriteConds(),
                  "a condition of the next RewriteRule; flags NC, OR, NV", field="rewrite_rules",
                  apache=SERVER_VHOST, not_in_sections=_PER_DIR_REWRITE),
    ),
)
