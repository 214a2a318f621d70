"""mod_headers: response header rules, and request header rules run before the handler."""

from __future__ import annotations

from dataclasses import dataclass

from itkgw.config.directive import VHOST_DIRECTORY, Context, Directive, Module
from itkgw.config.kinds_structured import HeaderRules, RequestHeaderRules
from itkgw.config.model import HeaderRule


@dataclass(frozen=True)
class RequestHeaderSettings:
    """The RequestHeader lines of one level. A section's run after those of the levels
    around it, as httpd appends a section's rules to the ones it merges onto."""

    request_headers: tuple[HeaderRule, ...] | None = None

    def over(self, earlier: RequestHeaderSettings) -> RequestHeaderSettings:
        """A section's rules after the earlier ones, less its ``early`` ones, which httpd never
        runs in a directory."""
        own = tuple(rule for rule in self.request_headers or () if not rule.early)
        return RequestHeaderSettings((*(earlier.request_headers or ()), *own))


MODULE = Module(
    "headers",
    "mod_headers: response and request header rules",
    identifiers=("headers_module", "mod_headers.c"),
    directives=(
        Directive("Header", "headers", VHOST_DIRECTORY, HeaderRules(),
                  "response header rules: set, append, add, merge, setifempty, unset; "
                  'TOML [["set", "X-Foo", "bar"], ["unset", "X-Bar"]] '
                  "(onsuccess/always accepted; env=[!]VAR applies it as the variable is set or not, "
                  "expr=CONDITION as the ap_expr holds; early ones run with the others in a vhost, never "
                  "in a directory, as httpd's; note accepted, with nothing to show; echo REGEX)",
                  repeat=True),
        Directive("RequestHeader", "request_headers", VHOST_DIRECTORY, RequestHeaderRules(),
                  "request header rules, applied before the handler (after per-directory rewriting): "
                  'set, append, add, merge, setifempty, unset; TOML [["unset", "Proxy"]] '
                  "(env=[!]VAR, expr= and early as for Header)", repeat=True),
    ),
    settings={Context.VHOST: RequestHeaderSettings, Context.DIRECTORY: RequestHeaderSettings},
)
