"""The mod_rewrite subset: RewriteRule and RewriteCond in server and virtual host context.

Enough for what mpm-itk users write to feed AssignUserIDExpr
(``RewriteRule /~([a-z]+)/ - [E=ITKUID:$1]``) and for the usual redirects
and refusals. Rules are compiled once, in the master; ``RuleSet.apply`` runs
them for one request, before the identity switch, without reading a file
unless a condition asks for a file test.

Rules (httpd 2.4's mod_rewrite.c, per-server context):
1. Rules run in order on the URL path (decoded, with its leading ``/``);
   each sees the path the rules before it made. A rule applies when its
   pattern matches (``!pattern``: does not match) and its conditions hold.
   Conditions are ANDed; a condition with ``[OR]`` is ORed with the next.
2. Substitutions and test strings expand ``$N`` (the rule's groups), ``%N``
   (the groups of the last condition that matched), ``%{VAR}``,
   ``%{ENV:x}`` (request environment, then the server's), ``%{HTTP:Header}``,
   and ``\\c`` (a literal c). An unknown variable is empty, as in httpd.
3. An applying rule sets its ``E=VAR:VALUE`` variables (``E=!VAR`` unsets),
   in ``ctx.reqenv`` too, so later conditions and AssignUserIDExpr see them.
   Then ``F`` (403), ``G`` (410) and ``R=4xx``/``R=5xx`` answer with that
   status; ``-`` leaves path and query alone; otherwise the path becomes the
   substitution, whose ``?query`` replaces the request's query (``QSA``:
   is put before it; ``QSD``: drops it).
4. ``R[=code]`` makes the result a redirect (302 unless given), qualified
   with ``http://host[:port]`` of the request; a substitution that is an
   absolute URL is a redirect too, unless it names this host and port (then
   it is reduced to its path, as httpd does). The Location is %-escaped
   unless ``NE``; the query keeps its escapes.
5. ``L``, ``END`` and ``PT`` stop; ``C`` makes a rule that does not apply
   skip the rules chained to it; ``S=N`` skips N rules after one that does.
6. A new path is a URL path (as if ``PT``): a substitution that starts with
   DocumentRoot is mapped back to the URL path below it; any other
   file-system path is taken as a URL path (httpd would serve that file;
   itkgw maps URLs onto DocumentRoot only). A path that does not start with
   ``/`` or climbs above ``/`` gives 400.

``${name:key|default}`` looks ``key`` up in the vhost's RewriteMap ``name``
(itkgw.rules.rewrite_map), giving ``default`` or nothing when the map has no
such key or there is no such map, as httpd does.

Refused when compiled, never ignored: lookahead variables (``%{LA-U:...}``),
``%{SSL:...}``, file tests ``-U`` and ``-F``, and the flags P, N, H and CO.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import time
from collections import ChainMap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from itkgw.errors import ConfigError
from itkgw.rules import expr, expr_context, pcre, rewrite_map
from itkgw.rules.expr_context import ExprContext

log = logging.getLogger("itkgw.rewrite")


# -- what the config holds ----------------------------------------------------------


@dataclass(frozen=True)
class RewriteCond:
    """A ``RewriteCond TestString CondPattern [flags]`` line, as written."""

    test: str
    pattern: str
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class RewriteRule:
    """A ``RewriteRule Pattern Substitution [flags]`` line with the RewriteCond
    lines that precede it, as written; ``compile_rules`` compiles it."""

    pattern: str
    substitution: str
    flags: tuple[str, ...] = ()
    conditions: tuple[RewriteCond, ...] = ()
    where: str = ""


class RewriteConfigError(ConfigError, ValueError):
    """A RewriteRule or RewriteCond that cannot be compiled; ``where`` is the rule's file:line."""


@dataclass
class RewriteResult:
    """What the rules made of a request.

    ``redirect`` is (status, absolute Location with the query); ``status``
    is an error status to answer with (403 for F, 410 for G, 400 for a
    path that cannot be served). With neither, ``path`` (decoded URL path)
    and ``query`` (as sent, escaped) are what the request continues with.
    ``env_set`` holds the E= variables set, already written to ctx.reqenv.
    """

    path: str
    query: str
    env_set: dict[str, str] = field(default_factory=dict)
    redirect: tuple[int, str] | None = None
    status: int | None = None
    matched: bool = False
    #: Request headers the conditions of applied rules looked at (%{HTTP:Name}): httpd
    #: names them in the response's Vary.
    vary: tuple[str, ...] = ()
    #: T=: the Content-Type a file is served with.
    content_type: str | None = None
    #: H=: the handler that serves the request, in place of SetHandler's and AddHandler's.
    handler: str | None = None
    #: An END rule applied: no rules run again for this request, its internal redirects included.
    ended: bool = False
    #: CO=: the Set-Cookie headers of the applied rules, which go out with any answer.
    cookies: tuple[str, ...] = ()
    #: PT: the new path is the request's URI from here on (SCRIPT_NAME, REDIRECT_URL, %U), not
    #: only what it maps to.
    passthrough: bool = False


# -- expanding substitutions and test strings ------------------------------------


@dataclass(frozen=True)
class _Backref:
    """``$N`` (the rule's groups) or ``%N`` (the last matching condition's)."""

    of_rule: bool
    number: int


@dataclass(frozen=True)
class _Lookup:
    """``%{...}``: kind "env", "http" or "var" (a request variable), or "none" (always empty)."""

    kind: str
    name: str


@dataclass(frozen=True)
class _MapLookup:
    """``${name:key|default}``: the key and the default are templates themselves."""

    name: str
    key: tuple[_Part, ...]
    default: tuple[_Part, ...]


_Part = str | _Backref | _Lookup | _MapLookup


@dataclass
class _State:
    """One run of the rules: the path and query so far, and the groups to expand."""

    ctx: ExprContext
    uri: str
    query: str
    rule_groups: tuple[str, ...] = ()
    cond_groups: tuple[str, ...] = ()
    #: Per-directory: the directory prefix stripped from ``uri`` for the pattern to match.
    stripped: str = ""
    #: Per-directory: r->filename while no rule has changed it (``uri`` has the path info too).
    filename: str = ""
    #: Request headers the conditions of the rules applied so far looked at.
    vary: list[str] = field(default_factory=list)
    #: The type the last applied rule with T= forces.
    force_type: str | None = None
    #: The handler the last applied rule with H= forces.
    force_handler: str | None = None
    #: An applied rule had END.
    ended: bool = False
    #: The Set-Cookie headers of the applied rules' CO=, by cookie name (each set once).
    cookies: dict[str, str] = field(default_factory=dict)
    #: The vhost's RewriteMap lines, which ``${name:key}`` looks in.
    maps: Sequence[rewrite_map.RewriteMap] = ()

    def current_filename(self) -> str:
        """r->filename as the rules see it: the path so far (per directory, with its prefix)."""
        return self.filename or self.stripped + self.uri

    def scope(self) -> ExprContext:
        """The context as httpd shows it while rewriting: r->filename is the path so far."""
        filename = self.current_filename()
        current = {"REQUEST_FILENAME": filename, "SCRIPT_FILENAME": filename, "QUERY_STRING": self.query}
        ctx = self.ctx
        variables: ChainMap[str, str] = ChainMap(current, dict(ctx.variables))
        return ExprContext(variables, ctx.headers, ctx.reqenv, ctx.osenv)


class _Template:
    """A substitution or test string, split once into literal text and references."""

    def __init__(self, text: str, where: str, directive: str) -> None:
        self.text = text
        self.parts = tuple(_split_template(text, where, directive))

    def expand(self, state: _State, escape_backrefs: bool = False) -> str:
        return _expand(self.parts, state, escape_backrefs)


def _expand(parts: tuple[_Part, ...], state: _State, escape_backrefs: bool) -> str:
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, _Backref):
            groups = state.rule_groups if part.of_rule else state.cond_groups
            value = groups[part.number] if part.number < len(groups) else ""
            out.append(_escape_backref(value) if escape_backrefs else value)
        elif isinstance(part, _MapLookup):
            found = rewrite_map.lookup(state.maps, part.name, _expand(part.key, state, escape_backrefs))
            if found is None and part.default:
                found = _expand(part.default, state, escape_backrefs)
            out.append(found or "")
        else:
            out.append(_lookup(part, state))
    return "".join(out)


def _split_template(text: str, where: str, directive: str) -> list[_Part]:
    """do_expand's grammar: ``\\c``, ``%{...}``, ``${...}``, ``$N``, ``%N``, literal text."""
    parts: list[_Part] = []
    literal: list[str] = []

    def flush() -> None:
        if literal:
            parts.append("".join(literal))
            literal.clear()

    index = 0
    while index < len(text):
        char = text[index]
        following = text[index + 1:index + 2]
        if char == "\\":
            literal.append(following or "\\")
            index += 2
        elif char in "$%" and following == "{":
            end = _closing_curly(text, index + 2)
            if end < 0:
                literal.append(char + "{")
                index += 2
            elif char == "%":
                flush()
                parts.append(_make_lookup(text[index + 2:end], where, directive))
                index = end + 1
            elif (colon := _char_in_curlies(text, index + 2, ":")) >= 0:
                flush()
                inner = text[colon + 1:end]
                bar = _char_in_curlies(inner, 0, "|")
                parts.append(_MapLookup(
                    text[index + 2:colon],
                    tuple(_split_template(inner if bar < 0 else inner[:bar], where, directive)),
                    () if bar < 0 else tuple(_split_template(inner[bar + 1:], where, directive))))
                index = end + 1
            else:
                literal.append("${")
                index += 2
        elif char in "$%" and following.isdigit():
            flush()
            parts.append(_Backref(of_rule=char == "$", number=int(following)))
            index += 2
        else:
            literal.append(char)
            index += 1
    flush()
    return parts


def _closing_curly(text: str, start: int) -> int:
    depth = 1
    for index in range(start, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
    return -1


def _char_in_curlies(text: str, start: int, wanted: str) -> int:
    """find_char_in_curlies: where ``wanted`` is at the level of ``start`` before the
    curly brace that closes it, -1 for nowhere."""
    depth = 1
    for index in range(start, len(text)):
        char = text[index]
        if char == wanted and depth == 1:
            return index
        if char == "}":
            depth -= 1
            if depth == 0:
                return -1
        elif char == "{":
            depth += 1
    return -1


def _make_lookup(name: str, where: str, directive: str) -> _Lookup:
    """lookup_variable's forms, decided once: ENV:, HTTP:, or a variable name."""
    prefix, colon, rest = name.partition(":")
    if colon and prefix.upper() in ("LA-U", "LA-F"):
        raise RewriteConfigError(where, f"{directive}: lookahead %{{{name}}} is not supported",
                                 f"use %{{{rest}}}")
    if colon and prefix.upper() == "SSL":
        raise RewriteConfigError(where, f"{directive}: %{{{name}}} is not supported", "itkgw has no TLS")
    if colon and prefix.upper() == "ENV" and rest:
        return _Lookup("env", rest)
    if colon and prefix.upper() == "HTTP" and rest:
        return _Lookup("http", rest)
    if len(name) < 4 or colon:
        return _Lookup("none", name)
    return _Lookup("var", name.upper())


def _lookup(part: _Lookup, state: _State) -> str:
    if part.kind == "env":
        return expr_context.env(state.ctx, part.name)
    if part.kind == "http":
        return expr_context.header(state.ctx, part.name)
    if part.kind == "var":
        if part.name in ("REQUEST_FILENAME", "SCRIPT_FILENAME"):
            return state.current_filename()
        if part.name == "QUERY_STRING":
            return state.query
        return expr_context.variable(state.ctx, part.name)
    return ""


def _escape_backref(text: str) -> str:
    """The B flag, as mod_rewrite's escape_uri: letters, digits and _ stay, space is +."""
    out = []
    for byte in os.fsencode(text):
        if chr(byte).isascii() and (chr(byte).isalnum() or byte == 0x5F):
            out.append(chr(byte))
        elif byte == 0x20:
            out.append("+")
        else:
            out.append("%%%02x" % byte)
    return "".join(out)


def _groups(match: re.Match[str]) -> tuple[str, ...]:
    """$0..$9 of a match; a group that took no part is empty."""
    return tuple(group or "" for group in [match.group(0), *match.groups()][:10])


# -- flags ---------------------------------------------------------------------------


def _flag_fields(flags: Sequence[str]) -> list[tuple[str, str]]:
    """(name, value) pairs from ``("E=X:1", "L")`` or ``("[E=X:1,L]",)``, as httpd splits them."""
    fields = []
    for item in flags:
        item = item.strip()
        if item.startswith("[") and item.endswith("]"):
            item = item[1:-1]
        for part in item.split(","):
            part = part.strip()
            if part:
                name, _, value = part.partition("=")
                fields.append((name.strip(), value))
    return fields


_RULE_FLAGS = {
    "b": "B", "backrefescaping": "B", "c": "C", "chain": "C", "co": "CO", "cookie": "CO", "d": "DPI",
    "dpi": "DPI", "n": "N", "next": "N",
    "discardpath": "DPI", "e": "E", "env": "E", "end": "END", "f": "F", "forbidden": "F",
    "g": "G", "gone": "G", "h": "H", "handler": "H", "l": "L", "last": "L", "nc": "NC",
    "nocase": "NC", "ne": "NE", "noescape": "NE", "ns": "NS", "nosubreq": "NS", "p": "P", "proxy": "P",
    "pt": "PT",
    "passthrough": "PT",
    "qsa": "QSA", "qsappend": "QSA", "qsd": "QSD", "qsdiscard": "QSD", "r": "R",
    "redirect": "R", "s": "S", "skip": "S", "t": "T", "type": "T",
}
#: The variables mod_rewrite reads from a request header, which it names in Vary (HTTP_HOST is
#: read so too, but httpd leaves Host out of Vary, RFC 7231 7.1.4).
_HEADER_VARIABLES = {"HTTP_ACCEPT": "Accept", "HTTP_COOKIE": "Cookie", "HTTP_FORWARDED": "Forwarded",
                     "HTTP_PROXY_CONNECTION": "Proxy-Connection", "HTTP_REFERER": "Referer",
                     "HTTP_USER_AGENT": "User-Agent"}


def _headers_read(parts: tuple[_Part, ...]) -> list[str]:
    """The request headers a test string reads, a map's key and default included, for Vary
    (Host left out)."""
    headers = []
    for part in parts:
        if isinstance(part, _MapLookup):
            headers += _headers_read(part.key) + _headers_read(part.default)
        elif isinstance(part, _Lookup) and part.kind == "http" and part.name.lower() != "host":
            headers.append(part.name)
        elif isinstance(part, _Lookup) and part.kind == "var" and part.name.upper() in _HEADER_VARIABLES:
            headers.append(_HEADER_VARIABLES[part.name.upper()])
    return headers


_COND_FLAGS = {"nc": "NC", "nocase": "NC", "or": "OR", "ornext": "OR", "nv": "NV", "novary": "NV"}
_REDIRECT_NAMES = {"": 302, "temp": 302, "permanent": 301, "seeother": 303}


# -- conditions ----------------------------------------------------------------------

def _stat_test(check: Callable[[os.stat_result], bool], follow: bool = True) -> Callable[[str], bool]:
    def test(path: str) -> bool:
        try:
            info = os.stat(path) if follow else os.lstat(path)
        except (OSError, ValueError):
            return False  # what cannot be stat'ed fails the test, as in httpd
        return check(info)

    return test


_FILE_TESTS: dict[str, Callable[[str], bool]] = {
    "-f": _stat_test(lambda info: stat.S_ISREG(info.st_mode)),
    "-s": _stat_test(lambda info: stat.S_ISREG(info.st_mode) and info.st_size > 0),
    "-d": _stat_test(lambda info: stat.S_ISDIR(info.st_mode)),
    "-x": _stat_test(lambda info: bool(info.st_mode & 0o111)),
    "-h": _stat_test(lambda info: stat.S_ISLNK(info.st_mode), follow=False),
}
_FILE_TESTS["-L"] = _FILE_TESTS["-l"] = _FILE_TESTS["-h"]


def _compare_lexicography(left: str, right: str) -> int:
    """mod_rewrite's string order: the longer string is greater, then character by character."""
    if len(left) != len(right):
        return 1 if len(left) > len(right) else -1
    return (left > right) - (left < right)


_STRING_TESTS: dict[str, Callable[[int], bool]] = {
    "<": lambda c: c < 0, "<=": lambda c: c <= 0, ">": lambda c: c > 0, ">=": lambda c: c >= 0,
}
_INTEGER_TESTS: dict[str, Callable[[int, int], bool]] = {
    "-lt": lambda a, b: a < b, "-le": lambda a, b: a <= b, "-gt": lambda a, b: a > b,
    "-ge": lambda a, b: a >= b, "-eq": lambda a, b: a == b, "-ne": lambda a, b: a != b,
}


class _Condition:
    """A compiled RewriteCond: ``kind`` is "regex", "expr", "=", a string or
    integer comparison, or a file test ("-f", "-d", ...)."""

    def __init__(self, cond: RewriteCond, where: str) -> None:
        self.where = where
        flags = set()
        for name, _ in _flag_fields(cond.flags):
            if name.lower() not in _COND_FLAGS:
                raise RewriteConfigError(where, f"RewriteCond: unknown flag '{name}'")
            flags.add(_COND_FLAGS[name.lower()])
        self.ornext = "OR" in flags
        self.nocase = "NC" in flags
        pattern = cond.pattern
        self.negated = pattern.startswith("!")
        if self.negated:
            pattern = pattern[1:]
        self.kind, self.operand = self._classify(cond.test, pattern)
        #: Request headers its test string reads (%{HTTP:Name}, %{HTTP_USER_AGENT}...), for Vary.
        self.headers: tuple[str, ...] = ()
        self.regex: re.Pattern[str] | None = None
        self.expression: expr.Expr | None = None
        self.test: _Template | None = None
        if self.kind == "expr":
            try:
                self.expression = expr.parse_condition(pattern)
            except expr.ExprError as exc:
                raise RewriteConfigError(where, f"RewriteCond: cannot compile expression \"{pattern}\": "
                                         f"{exc}") from None
            return
        self.test = _Template(cond.test, where, "RewriteCond")
        if "NV" not in flags:
            self.headers = tuple(_headers_read(self.test.parts))
        if self.kind == "regex":
            try:
                self.regex = pcre.compile_regex(pattern, self.nocase)
            except re.error as bad:
                raise RewriteConfigError(where, f"RewriteCond: cannot compile regular expression "
                                         f"'{pattern}': {bad.msg}") from None
        elif self.nocase and self.kind != "=" and self.kind not in _STRING_TESTS:
            log.warning("%s: RewriteCond: NoCase option for non-regex pattern '%s' is not supported "
                        "and will be ignored", where, cond.pattern)
            self.nocase = False

    def _classify(self, test: str, pattern: str) -> tuple[str, str]:
        """httpd's reading of CondPattern (the ``!`` already taken off)."""
        if test.lower() == "expr":
            return "expr", pattern
        if len(pattern) == 2 and pattern[0] == "-" and pattern[1] in "fsdxhLlUF":
            if pattern[1] in "UF":
                raise RewriteConfigError(self.where, f"RewriteCond: lookahead test {pattern} is not "
                                         "supported", "use -f or -d on %{DOCUMENT_ROOT}%{REQUEST_URI}")
            return pattern, ""
        if len(pattern) > 3 and pattern[:3] in _INTEGER_TESTS:
            return pattern[:3], pattern[3:]
        if len(pattern) >= 2 and pattern[0] in "<>":
            if pattern[1] == "=":
                return pattern[:2], pattern[2:]
            return pattern[0], pattern[1:]
        if len(pattern) >= 2 and pattern[0] == "=":
            operand = pattern[1:]
            return "=", "" if operand == '""' else operand
        return "regex", pattern

    def holds(self, state: _State) -> bool:
        result = self._matches(state)
        return result != self.negated

    def _matches(self, state: _State) -> bool:
        if self.expression is not None:
            scope = state.scope()
            scope.read_headers = []
            result, groups = self.expression.boolean_and_captures(scope)
            state.vary.extend(scope.read_headers)  # httpd's ap_expr names them, held or not
            if result and not self.negated:
                state.cond_groups = groups
            return result
        assert self.test is not None
        value = self.test.expand(state)
        if self.regex is not None:
            match = self.regex.search(value)
            if match and not self.negated:
                state.cond_groups = _groups(match)
            return match is not None
        if self.kind in _FILE_TESTS:
            return _FILE_TESTS[self.kind](value)
        if self.kind in _INTEGER_TESTS:
            return _INTEGER_TESTS[self.kind](expr.atoi(value), expr.atoi(self.operand))
        left, right = value, self.operand
        if self.nocase:
            left, right = left.lower(), right.lower()
        if self.kind == "=":
            return left == right
        order = (left > right) - (left < right) if self.nocase else _compare_lexicography(left, right)
        return _STRING_TESTS[self.kind](order)


# -- rules -----------------------------------------------------------------------------


#: What R= takes, as httpd's mod_rewrite: the redirects, and the errors its status table knows
#: (no 418, no 509), which answer with that status instead of redirecting.
#: How many times [N] starts the rules again before httpd gives up with a 500 (REWRITE_MAX_ROUNDS).
MAX_ROUNDS = 10000
RULE_STATUSES = frozenset([*range(300, 309), *range(400, 418), 421, 422, 423, 424, 426, 428, 429, 431,
                           451, *range(500, 509), 510, 511])


class _Rule:
    """A compiled RewriteRule with its conditions and flags."""

    def __init__(self, rule: RewriteRule) -> None:
        where = self.where = rule.where
        self.env: list[_Template] = []
        self.status: int | None = None
        self.redirect_code = 302
        self.force_redirect = False
        self.skip = 0
        #: T=type: the Content-Type the response is served with.
        self.force_type: _Template | None = None
        #: H=handler: the handler that serves the request (SetHandler's names).
        self.force_handler: _Template | None = None
        #: CO=: cookies to set (NAME:VALUE:DOMAIN[:LIFETIME[:PATH[:SECURE[:HTTPONLY[:SAMESITE]]]]]).
        self.cookies: list[_Template] = []
        #: N=: the rules start again from the first, at most this many times (httpd's 10000).
        self.max_rounds = 0
        names: set[str] = set()
        for name, value in _flag_fields(rule.flags):
            key = name.lower()
            if key not in _RULE_FLAGS:
                raise RewriteConfigError(where, f"RewriteRule: unknown flag '{name}'")
            flag = _RULE_FLAGS[key]
            names.add(flag)
            if flag == "E":
                self.env.append(_Template(value, where, "RewriteRule"))
            elif flag == "F":
                self.status = 403
            elif flag == "G":
                self.status = 410
            elif flag == "R":
                self._redirect_flag(value)
            elif flag == "S":
                self.skip = expr.atoi(value)
            elif flag == "T":
                self.force_type = _Template(value, where, "RewriteRule")
            elif flag == "H":
                self.force_handler = _Template(value, where, "RewriteRule")
            elif flag == "CO":
                self.cookies.append(_Template(value, where, "RewriteRule"))
            elif flag == "N":
                self.max_rounds = expr.atoi(value) if value else MAX_ROUNDS
                if self.max_rounds < 1:
                    raise RewriteConfigError(where, f"RewriteRule: invalid number of rounds '{value}' for "
                                             "flag 'N'", "write N, or N=32000")
        self.pattern = rule.pattern
        self.chain = "C" in names
        #: P: a request for mod_proxy, which itkgw has not (httpd without it answers 403).
        self.proxy = "P" in names
        self.last = bool(names & {"L", "END", "PT", "P"})
        self.passthrough = "PT" in names
        self.next_round = "N" in names
        self.end = "END" in names
        self.qsappend = "QSA" in names
        self.qsdiscard = "QSD" in names
        self.noescape = "NE" in names
        self.escape_backrefs = "B" in names
        pattern = rule.pattern
        self.negated = pattern.startswith("!")
        if self.negated:
            pattern = pattern[1:]
        try:
            self.regex = pcre.compile_regex(pattern, nocase="NC" in names)
        except re.error as exc:
            raise RewriteConfigError(where, f"RewriteRule: cannot compile regular expression "
                                     f"'{pattern}': {exc.msg}") from None
        self.nosub = rule.substitution == "-" or self.status is not None
        self.substitution = _Template(rule.substitution, where, "RewriteRule")
        self.conditions = [_Condition(cond, where) for cond in rule.conditions]

    def _redirect_flag(self, value: str) -> None:
        self.force_redirect = True
        if value.lower() in _REDIRECT_NAMES:
            self.redirect_code = _REDIRECT_NAMES[value.lower()]
            return
        code = int(value) if value.isascii() and value.isdigit() else 0
        if code not in RULE_STATUSES:
            raise RewriteConfigError(self.where, f"RewriteRule: invalid HTTP response code '{value}' "
                                     "for flag 'R'", "use a 3xx status to redirect, 4xx or 5xx to refuse")
        if code < 400:
            self.redirect_code = code
        else:
            self.status = code

    def applies(self, state: _State) -> bool:
        """The pattern matches and the conditions hold (httpd's [OR] rules, quirks included)."""
        match = self.regex.search(state.uri)
        if (match is not None) == self.negated:
            return False
        state.rule_groups = _groups(match) if match is not None else ()
        state.cond_groups = ()
        index = 0
        conditions = self.conditions
        looked_at: list[str] = []
        while index < len(conditions):
            condition = conditions[index]
            holds = condition.holds(state)
            if holds:  # httpd keeps the headers of the conditions that held, those it read
                looked_at.extend(name for name in condition.headers if name.lower() in state.ctx.headers)
            if condition.ornext:
                if holds:
                    while index < len(conditions) and conditions[index].ornext:
                        index += 1
                index += 1
                continue
            if not holds:
                return False
            index += 1
        state.vary.extend(looked_at)
        return True


class RuleSet:
    """The compiled RewriteRule lines of one vhost."""

    def __init__(self, rules: Sequence[_Rule]) -> None:
        self._rules = tuple(rules)

    def __len__(self) -> int:
        return len(self._rules)

    def apply(self, path: str, query: str, ctx: ExprContext,
              maps: Sequence[rewrite_map.RewriteMap] = ()) -> RewriteResult:
        """Run the rules on a request's URL path and query (see the module's rules), with
        the vhost's RewriteMap lines ``maps``."""
        state = _State(ctx, path, query, maps=maps)
        return _with_vary(self._apply(state, path, query), state)

    def _apply(self, state: _State, path: str, query: str) -> RewriteResult:
        ctx = state.ctx
        env_set: dict[str, str] = {}
        matched = substituted = passthrough = False
        noescape = False
        redirect_code = 302
        rules = self._rules
        index = rounds = 0
        while index < len(rules):
            rule = rules[index]
            index += 1
            if not rule.applies(state):
                index = _after_chain(rules, index, rule)
                continue
            matched = True
            new_uri = _applied(rule, state, env_set)
            if rule.proxy:
                return _no_proxy(new_uri, path, query, env_set)
            if rule.status is not None:
                log.debug("%s: forcing status %d for %s", rule.where, rule.status, state.uri)
                return RewriteResult(path, query, env_set, None, rule.status, True)
            if new_uri is not None:
                log.debug("%s: rewrite '%s' -> '%s'", rule.where, state.uri, new_uri)
                substituted = True
                state.uri, state.query = _split_query(new_uri, state.query, rule.qsappend, rule.qsdiscard)
                if rule.force_redirect:
                    state.uri = _qualify(state.uri, ctx)
                    redirect_code = rule.redirect_code
                else:
                    state.uri = _reduce(state.uri, ctx)
                    if _scheme_length(state.uri):
                        redirect_code = rule.redirect_code
                noescape = rule.noescape
                passthrough = rule.passthrough  # PT stops the rules: no later one changes it
            if rule.next_round:
                rounds += 1
                if rounds > rule.max_rounds:
                    return _too_many_rounds(rule, state, path, query, env_set)
                index = 0
                continue
            if rule.last:
                break
            index += rule.skip
        if not substituted:
            return RewriteResult(path, query, env_set, None, None, matched)
        result = _result(state, path, query, env_set, matched, redirect_code, noescape)
        result.passthrough = passthrough
        return result


    def apply_in_directory(self, filename: str, path_info: str, query: str, ctx: ExprContext,
                           directory: str, base: str | None,
                           maps: Sequence[rewrite_map.RewriteMap] = ()) -> RewriteResult:
        """Per-directory rules (a <Directory> section, an .htaccess file) on the file a request
        maps to and its path info, as httpd's fixup runs them: a pattern sees that path below
        ``directory``. ``path`` of the result is the URL path to redirect to internally, or
        "" when the rules leave the request where it is (with ``query``, which they may
        have changed)."""
        state = _State(ctx, filename + path_info, query, filename=filename, maps=maps)
        return _with_vary(self._apply_in_directory(state, filename, path_info, query, directory, base), state)

    def _apply_in_directory(self, state: _State, filename: str, path_info: str, query: str, directory: str,
                            base: str | None) -> RewriteResult:
        ctx = state.ctx
        prefix = directory.rstrip("/") + "/"
        env_set: dict[str, str] = {}
        matched = substituted = forced = noescape = False
        redirect_code = 302
        rules = self._rules
        index = rounds = 0
        while index < len(rules):
            rule = rules[index]
            index += 1
            full = state.uri
            if full.startswith(prefix):  # the pattern sees the path below the directory
                state.uri, state.stripped = full[len(prefix):], prefix
            applies = rule.applies(state)
            state.uri, state.stripped = full, ""
            if not applies:
                index = _after_chain(rules, index, rule)
                continue
            matched = True
            new_uri = _applied(rule, state, env_set)
            if rule.proxy:
                return _no_proxy(new_uri, "", query, env_set)
            if rule.status is not None:
                return RewriteResult("", query, env_set, None, rule.status, True)
            if new_uri is not None:
                substituted = True
                uri, state.query = _split_query(new_uri, state.query, rule.qsappend, rule.qsdiscard)
                if not uri.startswith("/") and not _scheme_length(uri):
                    uri = prefix + uri  # the stripped prefix back, as httpd adds it
                state.uri, state.filename = uri, ""
                noescape = rule.noescape
                if rule.force_redirect or _scheme_length(uri):
                    forced, redirect_code = True, rule.redirect_code
            if rule.next_round:
                rounds += 1
                if rounds > rule.max_rounds:
                    return _too_many_rounds(rule, state, "", query, env_set)
                index = 0
                continue
            if rule.last:
                break
            index += rule.skip
        if not substituted:
            return RewriteResult("", query, env_set, None, None, matched)
        uri = state.uri
        if forced:
            if not _scheme_length(uri) and base is not None and uri.startswith(prefix):
                uri = base.rstrip("/") + "/" + uri[len(prefix):]
            # Without RewriteBase httpd's redirect keeps the directory's own path, not made a
            # URL path as an internal rewrite's is: the reason RewriteBase exists.
            state.uri = _qualify(uri, ctx)
            return _result(state, "", query, env_set, True, redirect_code, noescape)
        if not _scheme_length(uri):
            uri = _url_of(uri, prefix, base, ctx)
        if state.uri == filename + path_info:
            # httpd's "initial URL equal rewritten URL": no redirect, the new query kept.
            return RewriteResult("", state.query, env_set, None, None, True)
        url_path = _normalise(uri)
        if url_path is None:
            return RewriteResult("", query, env_set, None, 400, True)
        if _unsafe_query(state.query, "AH10411"):
            return RewriteResult("", query, env_set, None, 403, True)
        return RewriteResult(url_path, state.query, env_set, None, None, True)


def _no_proxy(target: str | None, path: str, query: str, env_set: dict[str, str]) -> RewriteResult:
    """A [P] rule's request: httpd without mod_proxy logs it and answers 403, as itkgw does."""
    log.error("AH00669: attempt to make remote request from mod_rewrite without proxy enabled: proxy:%s",
              target or "")
    return RewriteResult(path, query, env_set, None, 403, True)


def _after_chain(rules: Sequence[_Rule], index: int, rule: _Rule) -> int:
    """The index past the rules chained (C) to ``rule``, which did not apply."""
    while rule.chain and index < len(rules):
        rule = rules[index]
        index += 1
    return index


def _applied(rule: _Rule, state: _State, env_set: dict[str, str]) -> str | None:
    """What a rule that applies does before its result: its E= variables, T= type and CO=
    cookies are set; its substitution, expanded, is returned (None for ``-``)."""
    new_uri = None if rule.nosub else rule.substitution.expand(state, rule.escape_backrefs)
    _set_env(rule, state, env_set)
    for template in rule.cookies:
        cookie = _cookie(template.expand(state))
        if cookie is not None:
            state.cookies.setdefault(*cookie)
    if rule.force_type is not None:
        state.force_type = rule.force_type.expand(state)
    if rule.force_handler is not None:
        state.force_handler = rule.force_handler.expand(state)
    state.ended = state.ended or rule.end
    return new_uri


def _too_many_rounds(rule: _Rule, state: _State, path: str, query: str,
                     env_set: dict[str, str]) -> RewriteResult:
    log.error("AH02596: RewriteRule '%s' and URI '%s' exceeded maximum number of rounds (%d) via the "
              "[N] flag", rule.pattern, state.uri, rule.max_rounds)
    return RewriteResult(path, query, env_set, None, 500, True)


def _cookie(text: str) -> tuple[str, str] | None:
    """CO='s cookie as httpd's mod_rewrite writes it: (name, Set-Cookie value); None without
    a name, a value and a domain. Its fields are split at ":" (at ";" when it starts with
    one); LIFETIME is in minutes from now, SECURE and HTTPONLY take true, 1 or their name."""
    separator = ";" if text.startswith(";") else ":"
    fields = [*text.removeprefix(";").split(separator), *[""] * 8][:8]
    name, value, domain, lifetime, path, secure, httponly, samesite = fields
    if not (name and value and domain):
        return None
    cookie = f"{name}={value}; path={path or '/'}; domain={domain}"
    minutes = expr.atoi(lifetime) if lifetime else 0
    if minutes:
        at = time.gmtime(time.time() + 60 * minutes)
        cookie += "; expires=%s, %02d-%s-%04d %02d:%02d:%02d GMT" % (
            _DAYS[at.tm_wday], at.tm_mday, _MONTHS[at.tm_mon - 1], at.tm_year, at.tm_hour, at.tm_min,
            at.tm_sec)
    if secure.lower() in ("true", "1", "secure"):
        cookie += "; secure"
    if httponly.lower() in ("true", "1", "httponly"):
        cookie += "; HttpOnly"
    if samesite and samesite.lower() not in ("0", "false"):
        cookie += f"; SameSite={samesite}"
    return name, cookie


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _with_vary(result: RewriteResult, state: _State) -> RewriteResult:
    """The result with what the run learnt on the way: Vary's headers, T='s type, H='s
    handler, END, CO='s cookies."""
    result.cookies = tuple(state.cookies.values())
    result.vary = tuple(dict.fromkeys(state.vary))
    result.content_type = state.force_type
    result.handler = state.force_handler
    result.ended = state.ended
    return result


def _url_of(path: str, prefix: str, base: str | None, ctx: ExprContext) -> str:
    """A per-directory result as a URL path: RewriteBase in place of the directory, else the
    path below DocumentRoot (httpd's rule, which fails for an Alias'ed directory without
    RewriteBase just as httpd's does)."""
    if base is not None and path.startswith(prefix):
        return base.rstrip("/") + "/" + path[len(prefix):]
    return _below_document_root(path, ctx)


def _set_env(rule: _Rule, state: _State, env_set: dict[str, str]) -> None:
    for template in rule.env:
        item = template.expand(state)
        if item.startswith("!"):
            expr_context.unset_reqenv(state.ctx, item[1:])
            env_set.pop(item[1:], None)
            continue
        name, _, value = item.partition(":")
        expr_context.set_reqenv(state.ctx, name, value)
        env_set[name] = value


def _result(state: _State, path: str, query: str, env_set: dict[str, str], matched: bool,
            redirect_code: int, noescape: bool) -> RewriteResult:
    uri = state.uri
    scheme = _scheme_length(uri)
    if scheme:
        location = uri if noescape else _escape_absolute(uri, scheme)
        if state.query:
            keep = noescape or state.query == query
            location += "?" + (state.query if keep else expr.escape_uri(state.query))
        status = redirect_code if 300 <= redirect_code < 400 else 302
        return RewriteResult(path, query, env_set, (status, location), None, matched)
    url_path = _normalise(_below_document_root(uri, state.ctx))
    if url_path is None:
        log.debug("rewritten path '%s' cannot be served", uri)
        return RewriteResult(path, query, env_set, None, 400, matched)
    if _unsafe_query(state.query, "AH10410"):
        return RewriteResult(path, query, env_set, None, 403, matched)
    return RewriteResult(url_path, state.query, env_set, None, None, matched)


def _unsafe_query(query: str, code: str) -> bool:
    """httpd's refusal (since 2.4.56, CVE-2023-25690) of a rewritten query holding a space or
    a control character, which only [B] escaping would have made safe: logged with httpd's
    ``code`` (the server's rules', or a directory's), then a 403."""
    if not any(char <= " " or char == "\x7f" for char in query):
        return False
    log.error("%s: Rewritten query string contains control characters or spaces", code)
    return True


def compile_rules(rules: Sequence[RewriteRule]) -> RuleSet:
    """Compile a vhost's rules; raises RewriteConfigError naming the rule's file:line."""
    return RuleSet([_Rule(rule) for rule in rules])


# -- URLs --------------------------------------------------------------------------------

#: is_absolute_uri's schemes: prefix -> whether a ?query is split off it.
_SCHEMES = {
    "ajp://": True, "balancer://": True, "fcgi://": True, "ftp://": False, "gopher://": False,
    "http://": True, "https://": True, "ldap://": False, "mailto:": True, "news:": False,
    "nntp://": False, "scgi://": True,
}


def _scheme_length(uri: str) -> int:
    """The length of the scheme prefix of an absolute URL, 0 for a path."""
    lower = uri[:12].lower()
    for prefix in _SCHEMES:
        if lower.startswith(prefix) and len(uri) > 5:
            return len(prefix)
    return 0


def _split_query(uri: str, query: str, qsappend: bool, qsdiscard: bool) -> tuple[str, str]:
    """splitout_queryargs: a ``?`` in the substitution starts the new query."""
    scheme = _scheme_length(uri)
    if scheme and not _SCHEMES[uri[:scheme].lower()]:
        return uri, ""
    if qsdiscard:
        query = ""
    if "?" in uri:
        uri, _, new = uri.partition("?")
        query = f"{new}&{query}" if qsappend else new
        if query.endswith("&"):
            query = query[:-1]
    return uri, query


def _self_host(ctx: ExprContext) -> tuple[str, int]:
    """The host and port the client used (httpd's default UseCanonicalName Off): a Host
    without a port means 80, whatever port the connection came in on, as httpd takes it."""
    host_header = expr_context.header(ctx, "host").strip().lower()
    port = 80
    if not host_header:
        port = expr.atoi(expr_context.variable(ctx, "SERVER_PORT")) or 80
        return expr_context.variable(ctx, "SERVER_NAME").lower(), port
    if host_header.startswith("["):
        host, _, rest = host_header.partition("]")
        host += "]"
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port_text = host_header.partition(":")
    return host.rstrip("."), int(port_text) if port_text.isdigit() else port


def _qualify(uri: str, ctx: ExprContext) -> str:
    """fully_qualify_uri: a path becomes ``http://host[:port]/path``."""
    if _scheme_length(uri):
        return uri
    host, port = _self_host(ctx)
    port_text = "" if port == 80 else f":{port}"
    return f"http://{host}{port_text}{'' if uri.startswith('/') else '/'}{uri}"


def _reduce(uri: str, ctx: ExprContext) -> str:
    """reduce_uri: ``http://this-host[:port]/path`` is just ``/path``."""
    if uri[:7].lower() != "http://" or len(uri) <= 7:
        return uri
    authority_end = uri.find("/", 7)
    authority = uri[7:] if authority_end < 0 else uri[7:authority_end]
    url = "/" if authority_end < 0 else uri[authority_end:]
    host, colon, port_text = authority.partition(":")
    port = int(port_text) if colon and port_text.isdigit() else 80
    if colon and not port_text.isdigit():
        return uri
    own_host, own_port = _self_host(ctx)
    names = {own_host, expr_context.variable(ctx, "SERVER_NAME").lower()}
    if host.lower().rstrip(".") in names and port == own_port:
        return url
    return uri


def _escape_absolute(uri: str, scheme: int) -> str:
    """escape_absolute_uri: the part after ``scheme://host/`` is %-escaped."""
    if uri[scheme - 1] != "/":
        return uri[:scheme] + expr.escape_uri(uri[scheme:])
    slash = uri.find("/", scheme)
    if slash < 0 or slash == len(uri) - 1:
        return uri
    return uri[:slash + 1] + expr.escape_uri(uri[slash + 1:])


def _below_document_root(uri: str, ctx: ExprContext) -> str:
    root = expr_context.variable(ctx, "DOCUMENT_ROOT").rstrip("/")
    if root and (uri == root or uri.startswith(root + "/")):
        return uri[len(root):] or "/"
    return uri


def _normalise(path: str) -> str | None:
    """Merge ``.``, ``..`` and repeated slashes; None for a path httpd answers 400 to."""
    if not path.startswith("/") or "\0" in path:
        return None
    segments: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if not segments:
                return None
            segments.pop()
            continue
        segments.append(segment)
    normal = "/" + "/".join(segments)
    if segments and (path.endswith("/") or path.endswith("/.") or path.endswith("/..")):
        normal += "/"
    return normal
