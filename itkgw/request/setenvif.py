"""mod_setenvif at request time: request variables from the request's own attributes.

The vhost's lines run first, as httpd's post-read-request hook runs them; then
those of the sections and .htaccess files on the way, once they are known, as
its header-parser hook does, before access rules and AssignUserIDExpr look at
the variables.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence

from itkgw.config.modules.setenvif import EnvCondition
from itkgw.http.connection import Request
from itkgw.rules.expr import cached_condition
from itkgw.rules.expr_context import ExprContext
from itkgw.rules.pcre import compile_regex, fill_group_values, fill_groups

#: The attributes that are not request headers (lower case), as mod_setenvif names them.
_SPECIAL: dict[str, Callable[[Request], str]] = {
    "remote_host": lambda request: request.remote_ip,  # no lookups: the address, as httpd then gives it
    "remote_addr": lambda request: request.remote_ip,
    "server_addr": lambda request: request.local_ip,
    "request_method": lambda request: request.method,
    "request_protocol": lambda request: f"HTTP/{request.http_version}",
    "request_uri": lambda request: request.path,
}
#: An attribute that is a plain name; any other is a regex over header names.
_PLAIN_NAME = re.compile(r"[-A-Za-z0-9_]*")
#: A pattern without these (unescaped) is a plain string to look for, as httpd optimises it.
_REGEX_CHARACTERS = re.compile(r"(?<!\\)[\^.$|()\[\]*+?{}]|\\[^\^.$|()\[\]*+?{}\\]")


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str, nocase: bool) -> tuple[re.Pattern[str], bool]:
    """The pattern compiled, and whether it is a plain string: a case-sensitive one without
    regex characters, whose $N httpd leaves as written since it fills no groups."""
    if not nocase and not _REGEX_CHARACTERS.search(pattern):
        return re.compile(re.escape(re.sub(r"\\(.)", r"\1", pattern))), True
    return compile_regex(pattern, nocase), False


def apply_env_conditions(conditions: Sequence[EnvCondition] | None, request: Request,
                         reqenv: dict[str, str], context: Callable[[], ExprContext]) -> None:
    """Each condition whose attribute matches (or whose expression holds, for SetEnvIfExpr,
    evaluated in ``context()``) sets or unsets its variables in ``reqenv``."""
    for condition in conditions or ():
        if condition.expr:
            holds, captures = cached_condition(condition.expr).boolean_and_captures(context())
            if holds:
                _assign(condition.assignments, reqenv, functools.partial(fill_group_values, groups=captures))
            continue
        negated = condition.pattern.startswith("!")
        regex, plain = _compiled(condition.pattern[1:] if negated else condition.pattern, condition.nocase)
        match = None
        for value in _values(condition.attribute, request, reqenv):
            match = regex.search(value)
            if match is not None:
                break
        if (match is None) != negated:
            continue
        _assign(condition.assignments, reqenv,
                functools.partial(fill_groups, match=match) if match is not None and not plain else str)


def _assign(assignments: Sequence[str], reqenv: dict[str, str], filled: Callable[[str], str]) -> None:
    """``NAME=value`` (the value's $N filled), ``NAME`` (1) and ``!NAME`` (unset)."""
    for assignment in assignments:
        if assignment.startswith("!"):
            reqenv.pop(assignment[1:], None)
            continue
        name, equals, value = assignment.partition("=")
        if not equals:
            value = "1"
        elif "$" in value:
            value = filled(value)
        reqenv[name] = value


def _values(attribute: str, request: Request, reqenv: dict[str, str]) -> list[str]:
    """What the attribute names: a special's value, a header's, else a variable's; for a
    regex, every header whose name it matches. A missing one is the empty string, so
    that ``^$`` finds it, as in httpd."""
    special = _SPECIAL.get(attribute.lower())
    if special is not None:
        return [special(request)]
    if _PLAIN_NAME.fullmatch(attribute):
        value = request.header(attribute)
        if value is None:
            value = reqenv.get(attribute)
        return [value or ""]
    names = _compiled(attribute, True)[0]
    return [value for name, value in request.headers if names.search(name)] or [""]
