"""What an ap_expr expression sees of a request: its variables, headers and environments.

httpd fills these before a handler runs (itkgw.request.variables does it
from a request), so that AssignUserIDExpr, Require expr and mod_rewrite read
the same values. ``reqenv`` is the one part that changes: RewriteRule E=
writes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field


@dataclass
class ExprContext:
    """What an expression can see of one request.

    ``variables`` by upper-case name (REQUEST_URI, HTTP_HOST, ...);
    ``headers`` by lower-case name, repeated headers joined with ", " as httpd
    merges them; ``reqenv`` is the request environment (SetEnv, RewriteRule
    E=), which mod_rewrite writes into; ``osenv`` is the server process's own
    environment. Strings are file-system decoded (UTF-8 with surrogate
    escapes), so their bytes are the bytes the client sent.
    """

    variables: Mapping[str, str]
    headers: Mapping[str, str] = field(default_factory=dict)
    reqenv: MutableMapping[str, str] = field(default_factory=dict)
    osenv: Mapping[str, str] = field(default_factory=dict)
    #: The request headers an evaluation read, for Vary, as httpd's ap_expr notes them
    #: (None: not noted).
    read_headers: list[str] | None = None


#: Request headers ap_expr offers as variables; others are read with req().
HEADER_VARIABLES = {
    "HTTP_ACCEPT": "accept",
    "HTTP_COOKIE": "cookie",
    "HTTP_FORWARDED": "forwarded",
    "HTTP_HOST": "host",
    "HTTP_PROXY_CONNECTION": "proxy-connection",
    "HTTP_REFERER": "referer",
    "HTTP_USER_AGENT": "user-agent",
}

#: The other variables of httpd 2.4's ap_expr (util_expr_eval.c). Those
#: itkgw has no value for (REMOTE_USER, HANDLER, ...) are empty.
REQUEST_VARIABLES = frozenset({
    "REQUEST_METHOD", "REQUEST_SCHEME", "REQUEST_URI", "REQUEST_FILENAME", "REMOTE_HOST",
    "REMOTE_IDENT", "REMOTE_USER", "SERVER_ADMIN", "SERVER_NAME", "SERVER_PORT", "SERVER_ADDR",
    "SERVER_PROTOCOL", "SCRIPT_FILENAME", "PATH_INFO", "QUERY_STRING", "IS_SUBREQ",
    "DOCUMENT_ROOT", "AUTH_TYPE", "THE_REQUEST", "CONTENT_TYPE", "HANDLER", "REQUEST_LOG_ID",
    "SCRIPT_USER", "SCRIPT_GROUP", "DOCUMENT_URI", "LAST_MODIFIED", "CONTEXT_PREFIX",
    "CONTEXT_DOCUMENT_ROOT", "REQUEST_STATUS", "REMOTE_ADDR", "REMOTE_PORT", "HTTPS", "IPV6",
    "CONN_LOG_ID", "CONN_REMOTE_ADDR", "SERVER_SOFTWARE", "API_VERSION",
})

#: Time variables, read when the expression is evaluated (local time, as httpd).
_TIME_FORMATS: dict[str, Callable[[time.struct_time], str]] = {
    "TIME_YEAR": lambda t: "%04d" % t.tm_year,
    "TIME_MON": lambda t: "%02d" % t.tm_mon,
    "TIME_DAY": lambda t: "%02d" % t.tm_mday,
    "TIME_HOUR": lambda t: "%02d" % t.tm_hour,
    "TIME_MIN": lambda t: "%02d" % t.tm_min,
    "TIME_SEC": lambda t: "%02d" % t.tm_sec,
    "TIME_WDAY": lambda t: "%d" % ((t.tm_wday + 1) % 7),  # 0 is Sunday, as in C
    "TIME": lambda t: time.strftime("%Y%m%d%H%M%S", t),
}

VARIABLES = frozenset(HEADER_VARIABLES) | REQUEST_VARIABLES | frozenset(_TIME_FORMATS)


def variable(ctx: ExprContext, name: str) -> str:
    """A request variable by name (any case); empty when the request has none."""
    name = name.upper()
    if ctx.read_headers is not None and name in HEADER_VARIABLES and name != "HTTP_HOST":
        # RFC 7231 7.1.4: httpd names no Host in Vary.
        ctx.read_headers.append("-".join(part.capitalize() for part in HEADER_VARIABLES[name].split("-")))
    value = ctx.variables.get(name)
    if value is not None:
        return value
    if name in HEADER_VARIABLES:
        return header(ctx, HEADER_VARIABLES[name])
    if name in _TIME_FORMATS:
        return _TIME_FORMATS[name](time.localtime())
    return ""


def header(ctx: ExprContext, name: str) -> str:
    """A request header by name (any case), as ``%{HTTP:Name}`` and req() read it."""
    return ctx.headers.get(name.lower(), "")


def request_header(ctx: ExprContext, name: str) -> str:
    """req() and http(): a request header, noted as read (for Vary)."""
    if ctx.read_headers is not None:
        ctx.read_headers.append(name)
    return header(ctx, name)


def reqenv(ctx: ExprContext, name: str) -> str:
    """A request environment variable; names are not case sensitive, as in httpd's tables."""
    return _get_any_case(ctx.reqenv, name) or ""


def osenv(ctx: ExprContext, name: str) -> str:
    return ctx.osenv.get(name, "")


def env(ctx: ExprContext, name: str) -> str:
    """``%{ENV:x}``: the request environment first, then the server's environment."""
    value = _get_any_case(ctx.reqenv, name, None)
    return value if value is not None else ctx.osenv.get(name, "")


def set_reqenv(ctx: ExprContext, name: str, value: str) -> None:
    """Set a request variable as apr_table_setn does: one already there, in any case, keeps
    its place and spelling and takes the value; others that differ only in case go."""
    lower = name.lower()
    same = [key for key in ctx.reqenv if key.lower() == lower]
    for key in same[1:]:
        del ctx.reqenv[key]
    ctx.reqenv[same[0] if same else name] = value


def unset_reqenv(ctx: ExprContext, name: str) -> None:
    for key in [key for key in ctx.reqenv if key.lower() == name.lower()]:
        del ctx.reqenv[key]


def _get_any_case(table: Mapping[str, str], name: str, default: str | None = "") -> str | None:
    if name in table:
        return table[name]
    lower = name.lower()
    return next((value for key, value in table.items() if key.lower() == lower), default)
