"""mod_authz_core: Apache 2.4's Require rules (the login they may ask for: auth_basic.py)."""

from __future__ import annotations

from itkgw.config.directive import DIRECTORY, ONLY_24, VHOST_DIRECTORY, Directive, Module, Section
from itkgw.config.kinds_structured import RequireRules

_ACCESS_22 = "Apache 2.2 has Order, Allow, Deny and Satisfy instead"

MODULE = Module(
    "authz_core",
    "mod_authz_core: Apache 2.4's Require rules",
    identifiers=("authz_core_module", "mod_authz_core.c"),
    directives=(
        Directive("Require", "require", VHOST_DIRECTORY, RequireRules(),
                  "Apache 2.4 access rules: all, ip, host, env, method, local, expr, [not]; TOML "
                  '["all granted"] (an implicit any) or { mode = "all", items = ["ip 10.0.0.0/8", '
                  '{ mode = "any", items = [...] }] }', series=ONLY_24, instead=_ACCESS_22,
                  also_from="<RequireAll>, <RequireAny>, <RequireNone>", apache=DIRECTORY, raw=True),
    ),
    sections=(
        Section("RequireAll", DIRECTORY, "Require rules that must all grant", series=ONLY_24,
                instead=_ACCESS_22),
        Section("RequireAny", DIRECTORY, "Require rules one of which must grant", series=ONLY_24,
                instead=_ACCESS_22),
        Section("RequireNone", DIRECTORY, "Require rules none of which may grant", series=ONLY_24,
                instead=_ACCESS_22),
        Section("Limit", DIRECTORY, "access rules (Require, Order, Allow, Deny) for the methods named"),
        Section("LimitExcept", DIRECTORY, "access rules for every method but those named"),
    ),
)
