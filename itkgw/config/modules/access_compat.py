"""mod_access_compat (Apache 2.2's mod_access): Order, Allow, Deny, Satisfy."""

from __future__ import annotations

from itkgw.config.directive import DIRECTORY, NOWHERE, VHOST_DIRECTORY, Directive, Module
from itkgw.config.kinds import Choice
from itkgw.config.kinds_structured import ORDERS, AccessRules, FromHosts

MODULE = Module(
    "access_compat",
    "mod_access_compat (Apache 2.2's mod_access): Order, Allow, Deny, Satisfy",
    identifiers=("access_compat_module", "mod_access_compat.c", "access_module", "mod_access.c"),
    directives=(
        Directive("", "access", VHOST_DIRECTORY, AccessRules(),
                  'Apache 2.2 access rules (mod_access_compat in 2.4); TOML { order = "allow,deny", '
                  'allow = ["all"], deny = [], satisfy = "all" }', also_from="Order, Allow, Deny, Satisfy"),
        Directive("Order", "", NOWHERE, Choice(options=ORDERS, example="allow,deny"),
                  "Deny,Allow (default), Allow,Deny or Mutual-failure", field="access", apache=DIRECTORY),
        Directive("Allow", "", NOWHERE, FromHosts(), "Allow from all|IP|network|host|env=VAR...",
                  field="access", apache=DIRECTORY),
        Directive("Deny", "", NOWHERE, FromHosts(), "Deny from all|IP|network|host|env=VAR...",
                  field="access", apache=DIRECTORY),
        Directive("Satisfy", "", NOWHERE, Choice(options=("all", "any")),
                  "All (default): Allow/Deny and Require must both pass; Any: either", field="access",
                  apache=DIRECTORY),
    ),
)
