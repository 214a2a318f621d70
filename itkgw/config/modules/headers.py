"""mod_headers: response header rules."""

from __future__ import annotations

from itkgw.config.directive import VHOST_DIRECTORY, Directive, Module
from itkgw.config.kinds_structured import HeaderRules

MODULE = Module(
    "headers",
    "mod_headers: response header rules",
    identifiers=("headers_module", "mod_headers.c"),
    directives=(
        Directive("Header", "headers", VHOST_DIRECTORY, HeaderRules(),
                  "response header rules: set, append, add, unset; "
                  'TOML [["set", "X-Foo", "bar"], ["unset", "X-Bar"]] '
                  "(onsuccess/always accepted; env=, expr=, early refused)", repeat=True),
    ),
)
