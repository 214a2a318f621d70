"""The ap_expr subset: AssignUserIDExpr, AssignGroupIDExpr, Require expr, RewriteCond expr.

An expression is parsed once, when the configuration is read, and evaluated
per request against an ``ExprContext``. httpd has two forms and so do we:

* the **string form** (``parse``), how mpm-itk reads AssignUserIDExpr and
  AssignGroupIDExpr (``ap_expr_parse_cmd`` with AP_EXPR_FLAG_STRING_RESULT):
  the whole text is one string in which ``%{VAR}``, ``%{func:arg}`` and
  ``$0``..``$9`` are replaced and every other character, quotes included, is
  literal. ``%{reqenv:ITKUID}``, ``user_%{tolower:%{HTTP_HOST}}``.
* the **condition form** (``parse_condition``), for Require expr and
  RewriteCond expr: ``true``, ``false``, ``!``, ``&&``, ``||``, parentheses;
  string comparisons ``== = != < <= > >=``; integer comparisons ``-eq -ne
  -lt -le -gt -ge`` (and ``eq`` ... ``ge``); ``=~`` and ``!~`` with
  ``/regex/i`` or ``m#regex#i``, after which ``$0``..``$9`` hold the groups;
  ``-in {'a', 'b'}``; ``-ipmatch``, ``-strmatch``, ``-strcmatch``,
  ``-fnmatch``; unary ``-n``, ``-z``, ``-T``, ``-R``. Words are numbers,
  quoted strings (with ``%{...}`` inside), variables, ``$N``, function calls
  ``tolower(%{HTTP_HOST})`` and concatenations ``word . word``.

Functions, in both forms: ``req``/``http`` (request header), ``reqenv``,
``osenv``, ``env`` (request environment, then the server's), ``note``,
``tolower``, ``toupper``, ``escape``, ``unescape``, ``base64``,
``unbase64``, ``md5``, ``sha1``. Names of variables and functions are not
case sensitive, as in httpd.

Where we differ from httpd 2.4: the argument of ``%{func:arg}`` may itself
contain ``%{...}`` (as in httpd 2.5; 2.4 takes it literally), ``SERVER_NAME``
is the vhost's ServerName (httpd's default UseCanonicalName Off gives the
client's Host there, which a client chooses). Refused when the expression is
parsed, never ignored: file functions, and file tests but where the request's
identity judges the expression (an .htaccess file's <If>): elsewhere they would
read files as the worker, before the identity switch; ``resp``, list functions
and ``%{SSL:...}`` (itkgw has no TLS).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import ipaddress
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass

from itkgw.rules.expr_context import VARIABLES, ExprContext, env, osenv, reqenv, request_header, variable
from itkgw.rules.pcre import compile_regex


class ExprError(ValueError):
    """An expression that does not parse, with the position of the problem.

    ``position`` is an index into ``text`` (-1 when there is none); the
    message counts characters from 1, as an admin reading the line would.
    """

    def __init__(self, message: str, text: str = "", position: int = -1, hint: str = "") -> None:
        self.message = message
        self.text = text
        self.position = position
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        message = self.message
        if self.position >= len(self.text):
            message += f" at the end of {self.text!r}"
        elif self.position >= 0:
            message += f" at character {self.position + 1} of {self.text!r}"
        return f"{message} ({self.hint})" if self.hint else message


# -- functions -----------------------------------------------------------------

#: Characters httpd's ap_escape_uri leaves as they are, besides letters and digits; and
#: ap_escape_path_segment, which escapes a file name's ";" and "/" too.
_URI_SAFE = frozenset(b"$-_.+!*'(),:;@&=/~")
_SEGMENT_SAFE = _URI_SAFE - frozenset(b";/")


def escape_path_segment(name: str) -> str:
    """httpd's ap_escape_path_segment: a file name %-escaped to stand in a URL."""
    return escape_uri(name, _SEGMENT_SAFE)


def escape_uri(text: str, safe: frozenset[int] = _URI_SAFE) -> str:
    """httpd's ap_escape_uri: %-escape what may not stand in a URL path (lower-case hex)."""
    out = []
    for byte in os.fsencode(text):
        if (48 <= byte <= 57) or (65 <= byte <= 90) or (97 <= byte <= 122) or byte in safe:
            out.append(chr(byte))
        else:
            out.append("%%%02x" % byte)
    return "".join(out)


def _unescape(text: str) -> str:
    """httpd's ap_unescape_url_keep2f: ``%2F`` stays, a bad escape or ``%00`` gives ''."""
    raw = os.fsencode(text)
    out = bytearray()
    index = 0
    while index < len(raw):
        byte = raw[index]
        if byte != 0x25:  # '%'
            out.append(byte)
            index += 1
            continue
        digits = raw[index + 1:index + 3]
        try:
            value = int(digits, 16) if len(digits) == 2 and digits.isalnum() else -1
        except ValueError:
            value = -1
        if value <= 0:
            return ""
        if value == 0x2F:
            out += raw[index:index + 3]
        else:
            out.append(value)
        index += 3
    return os.fsdecode(bytes(out))


def _unbase64(text: str) -> str:
    try:
        return os.fsdecode(base64.b64decode(os.fsencode(text) + b"==="[: -len(text) % 4]))
    except (binascii.Error, ValueError):
        return ""


_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def ascii_lower(text: str) -> str:
    """ASCII letters alone lowered, as apr_tolower (tolower(), RewriteMap's int:tolower)."""
    return text.translate(_LOWER)


def ascii_upper(text: str) -> str:
    return text.translate(_UPPER)


#: String functions: name (lower case) -> function of the context and the argument.
FUNCTIONS: dict[str, Callable[[ExprContext, str], str]] = {
    "req": request_header,
    "http": request_header,
    "reqenv": reqenv,
    "osenv": osenv,
    "env": env,
    "note": lambda ctx, name: "",  # itkgw keeps no request notes
    "tolower": lambda ctx, text: ascii_lower(text),
    "toupper": lambda ctx, text: ascii_upper(text),
    "escape": lambda ctx, text: escape_uri(text),
    "unescape": lambda ctx, text: _unescape(text),
    "base64": lambda ctx, text: base64.b64encode(os.fsencode(text)).decode("ascii"),
    "unbase64": lambda ctx, text: _unbase64(text),
    "md5": lambda ctx, text: hashlib.md5(os.fsencode(text)).hexdigest(),
    "sha1": lambda ctx, text: hashlib.sha1(os.fsencode(text)).hexdigest(),
}

#: Functions httpd has that itkgw refuses, with the reason given to the admin.
_REFUSED_FUNCTIONS = {
    "resp": "response headers do not exist yet when itkgw evaluates expressions",
    "file": "it would read a file as the worker, before the identity switch",
    "filesize": "it would read a file as the worker, before the identity switch",
    "filemod": "it would read a file as the worker, before the identity switch",
    "ssl": "itkgw has no TLS",
}
_FILE_TESTS = frozenset("defsLhxFUA")
#: The file tests on the file system alone (-F, -U and -A make subrequests).
_STAT_TESTS = frozenset("defsLhx")
_UNARY = frozenset("nzTR")
_BINARY = frozenset({"ipmatch", "strmatch", "strcmatch", "fnmatch"})


def _glob_regex(pattern: str, slash_special: bool, nocase: bool) -> re.Pattern[str]:
    """apr_fnmatch's pattern as a regex: ``*``, ``?``, ``[...]``, backslash escapes."""
    out = []
    any_char = "[^/]" if slash_special else "."
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "*":
            out.append(any_char + "*")
        elif char == "?":
            out.append(any_char)
        elif char == "\\" and index + 1 < len(pattern):
            index += 1
            out.append(re.escape(pattern[index]))
        elif char == "[" and "]" in pattern[index + 2:]:
            end = pattern.index("]", index + 2)
            body = pattern[index + 1:end]
            negate = body[:1] in ("!", "^")
            body = body[1:] if negate else body
            out.append("[" + ("^" if negate else "") + re.sub(r"([\\\[&~|])", r"\\\1", body) + "]")
            index = end
        else:
            out.append(re.escape(char))
        index += 1
    flags = re.DOTALL | (re.IGNORECASE if nocase else 0)
    return re.compile("".join(out), flags)


def _ip_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """apr_ipsubnet_create's forms: address, partial IPv4 (``10.1``), /bits, /netmask."""
    address, _, mask = text.strip().partition("/")
    try:
        if ":" not in address and re.fullmatch(r"\d{1,3}(\.\d{1,3}){0,2}\.?", address) and not mask:
            octets = [part for part in address.split(".") if part]
            address = ".".join(octets + ["0"] * (4 - len(octets)))
            mask = str(8 * len(octets))
        return ipaddress.ip_network(f"{address}/{mask}" if mask else address, strict=False)
    except ValueError:
        return None


def _ip_matches(address_text: str, network_text: str) -> bool:
    network = _ip_network(network_text)
    try:
        address = ipaddress.ip_address(address_text.strip())
    except ValueError:
        return False
    if network is None:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        if isinstance(network, ipaddress.IPv4Network):
            return address.ipv4_mapped in network
    return address.version == network.version and address in network


def atoi(text: str) -> int:
    """apr_atoi64: leading blanks, a sign and digits; anything else counts as 0."""
    match = re.match(r"\s*([+-]?\d+)", text)
    return int(match.group(1)) if match else 0


# -- the parse tree ---------------------------------------------------------------


@dataclass
class _Eval:
    """State of one evaluation: the request and the groups of the last regex match."""

    ctx: ExprContext
    captures: tuple[str, ...] = ()


class _Word:
    def value(self, ev: _Eval) -> str:
        raise NotImplementedError


class _Cond:
    def test(self, ev: _Eval) -> bool:
        raise NotImplementedError


@dataclass(frozen=True)
class _Literal(_Word):
    text: str

    def value(self, ev: _Eval) -> str:
        return self.text


@dataclass(frozen=True)
class _Variable(_Word):
    name: str

    def value(self, ev: _Eval) -> str:
        return variable(ev.ctx, self.name)


@dataclass(frozen=True)
class _Call(_Word):
    name: str
    argument: _Word

    def value(self, ev: _Eval) -> str:
        return FUNCTIONS[self.name](ev.ctx, self.argument.value(ev))


@dataclass(frozen=True)
class _Backref(_Word):
    number: int

    def value(self, ev: _Eval) -> str:
        return ev.captures[self.number] if self.number < len(ev.captures) else ""


@dataclass(frozen=True)
class _Concat(_Word):
    parts: tuple[_Word, ...]

    def value(self, ev: _Eval) -> str:
        return "".join(part.value(ev) for part in self.parts)


@dataclass(frozen=True)
class _Const(_Cond):
    result: bool

    def test(self, ev: _Eval) -> bool:
        return self.result


@dataclass(frozen=True)
class _Not(_Cond):
    operand: _Cond

    def test(self, ev: _Eval) -> bool:
        return not self.operand.test(ev)


@dataclass(frozen=True)
class _And(_Cond):
    left: _Cond
    right: _Cond

    def test(self, ev: _Eval) -> bool:
        return self.left.test(ev) and self.right.test(ev)


@dataclass(frozen=True)
class _Or(_Cond):
    left: _Cond
    right: _Cond

    def test(self, ev: _Eval) -> bool:
        return self.left.test(ev) or self.right.test(ev)


_STRING_COMPARISONS: dict[str, Callable[[str, str], bool]] = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}
_INTEGER_COMPARISONS: dict[str, Callable[[int, int], bool]] = {
    "eq": lambda a, b: a == b, "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b, "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b,
}


@dataclass(frozen=True)
class _Compare(_Cond):
    operator: str
    left: _Word
    right: _Word

    def test(self, ev: _Eval) -> bool:
        left, right = self.left.value(ev), self.right.value(ev)
        if self.operator in _STRING_COMPARISONS:
            return _STRING_COMPARISONS[self.operator](left, right)
        return _INTEGER_COMPARISONS[self.operator](atoi(left), atoi(right))


@dataclass(frozen=True)
class _In(_Cond):
    word: _Word
    choices: tuple[_Word, ...]

    def test(self, ev: _Eval) -> bool:
        value = self.word.value(ev)
        return any(value == choice.value(ev) for choice in self.choices)


@dataclass(frozen=True)
class _Match(_Cond):
    word: _Word
    regex: re.Pattern[str]
    negated: bool

    def test(self, ev: _Eval) -> bool:
        match = self.regex.search(self.word.value(ev))
        if match:
            groups = [match.group(0), *match.groups()][:10]
            ev.captures = tuple(group or "" for group in groups)
        return bool(match) != self.negated


@dataclass(frozen=True)
class _Unary(_Cond):
    operator: str
    operand: _Word

    def test(self, ev: _Eval) -> bool:
        value = self.operand.value(ev)
        if self.operator == "n":
            return value != ""
        if self.operator == "z":
            return value == ""
        if self.operator == "T":
            return value.lower() not in ("", "0", "off", "false", "no")
        return _ip_matches(variable(ev.ctx, "REMOTE_ADDR"), value)  # -R


@dataclass(frozen=True)
class _FileTest(_Cond):
    """-d, -e, -f, -s, -L (-h) and -x, as httpd's ap_expr tests a path: what cannot be
    stat'ed fails them all."""

    operator: str
    operand: _Word

    def test(self, ev: _Eval) -> bool:
        path = self.operand.value(ev)
        try:
            info = os.lstat(path) if self.operator in "Lh" else os.stat(path)
        except (OSError, ValueError):
            return False
        if self.operator == "d":
            return stat.S_ISDIR(info.st_mode)
        if self.operator == "f":
            return stat.S_ISREG(info.st_mode)
        if self.operator == "s":
            return stat.S_ISREG(info.st_mode) and info.st_size > 0
        if self.operator in "Lh":
            return stat.S_ISLNK(info.st_mode)
        if self.operator == "x":
            return not stat.S_ISDIR(info.st_mode) and os.access(path, os.X_OK, effective_ids=True)
        return True  # -e


@dataclass(frozen=True)
class _Binary(_Cond):
    operator: str
    left: _Word
    right: _Word

    def test(self, ev: _Eval) -> bool:
        left, right = self.left.value(ev), self.right.value(ev)
        if self.operator == "ipmatch":
            return _ip_matches(left, right)
        try:
            glob = _glob_regex(right, slash_special=self.operator == "fnmatch",
                               nocase=self.operator == "strcmatch")
        except re.error:
            return False  # a pattern like [z-a] matches nothing, as in apr_fnmatch
        return glob.fullmatch(left) is not None


# -- the expression ----------------------------------------------------------------


class Expr:
    """A parsed expression; evaluate it with ``string`` or ``boolean``.

    ``parse`` gives the string form and ``parse_condition`` the condition
    form; each also keeps the other form when the text happens to parse as
    it, so using the wrong method fails with the parse error instead of
    giving a wrong answer.
    """

    def __init__(self, text: str, word: _Word | None, cond: _Cond | None,
                 error: ExprError | None) -> None:
        self.text = text
        self._word = word
        self._cond = cond
        self._error = error

    def __repr__(self) -> str:
        return f"Expr({self.text!r})"

    def string(self, ctx: ExprContext) -> str:
        """The value of the string form, as AssignUserIDExpr evaluates it."""
        if self._word is None:
            assert self._error is not None
            raise self._error
        return self._word.value(_Eval(ctx))

    def boolean(self, ctx: ExprContext) -> bool:
        """The value of the condition form, as Require expr evaluates it."""
        return self.boolean_and_captures(ctx)[0]

    def boolean_and_captures(self, ctx: ExprContext) -> tuple[bool, tuple[str, ...]]:
        """The condition's value and the groups ($0..$9) of its last regex match."""
        if self._cond is None:
            assert self._error is not None
            raise self._error
        ev = _Eval(ctx)
        return self._cond.test(ev), ev.captures


def parse(text: str) -> Expr:
    """Parse the string form (AssignUserIDExpr, AssignGroupIDExpr); raises ExprError."""
    word = _Parser(text).string_form()
    try:
        cond: _Cond | None = _Parser(text).condition_form()
        error = None
    except ExprError as exc:
        cond, error = None, exc
    return Expr(text, word, cond, error)


@functools.lru_cache(maxsize=512)
def cached_string(text: str) -> Expr:
    """parse, once per text (a Header rule's expr= value, checked when it was read)."""
    return parse(text)


@functools.lru_cache(maxsize=512)
def cached_condition(text: str, files: bool = False) -> Expr:
    """parse_condition, once per text: for expressions the configuration (or an .htaccess
    file) was checked with when it was read, evaluated on every request."""
    return parse_condition(text, files)


def parse_condition(text: str, files: bool = False) -> Expr:
    """Parse the condition form (Require expr, RewriteCond expr); raises ExprError.
    ``files``: the file tests -d, -e, -f, -s, -L, -h and -x are allowed, for expressions
    judged as the request's identity (an .htaccess file's), never before the switch."""
    cond = _Parser(text, files).condition_form()
    try:
        word: _Word | None = _Parser(text).string_form()
        error = None
    except ExprError as exc:
        word, error = None, exc
    return Expr(text, word, cond, error)


# -- the parser -----------------------------------------------------------------------

#: Characters that may delimit ``m#regex#``, as in httpd's scanner.
_REGEX_DELIMITERS = "/#$%^|?!'\",;:._-"
_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9_]*")
_DIGITS = re.compile(r"-?[0-9]+")
_DASHED = re.compile(r"-([a-zA-Z_][a-zA-Z0-9_]*)")
_OPERATOR_WORDS = {
    "and": "&&", "or": "||", "not": "!", "true": "true", "false": "false", "in": "in",
    "eq": "eq", "ne": "ne", "lt": "lt", "le": "le", "gt": "gt", "ge": "ge",
}
_DASHED_OPERATORS = frozenset({"in", "eq", "ne", "lt", "le", "gt", "ge"})
_SYMBOLS = ("&&", "||", "==", "=~", "!=", "!~", "<=", ">=", "=", "<", ">", "!", ".", "(", ")",
            "{", "}", ",")


@dataclass(frozen=True)
class _Token:
    """``kind`` is "word", "name", "unary", "binary", "end" or the operator itself."""

    kind: str
    position: int
    word: _Word | None = None
    text: str = ""


class _Parser:
    """Recursive descent over the text, one token of lookahead.

    Grammar (httpd's util_expr_parse.y, lowest precedence first):
        cond    := and ('||' and)*
        and     := not ('&&' not)*
        not     := '!' not | primary
        primary := 'true' | 'false' | '(' cond ')' | '-X' word
                 | word (cmp word | '-in' '{' word (',' word)* '}' | ('=~'|'!~') regex
                         | '-name' word)
        word    := atom ('.' atom)*
        atom    := digits | 'string' | "string" | %{var} | %{func:string} | $N | name '(' word ')'
    """

    def __init__(self, text: str, files: bool = False) -> None:
        self.text = text
        self.files = files
        self.pos = 0
        self._peeked: tuple[_Token, int] | None = None

    def error(self, message: str, position: int | None = None, hint: str = "") -> ExprError:
        return ExprError(message, self.text, self.pos if position is None else position, hint)

    # -- the string form and the strings inside both forms --

    def string_form(self) -> _Word:
        return self._string(stop=None, opened_at=0)

    def _string(self, stop: str | None, opened_at: int) -> _Word:
        """Literal text, %{...} and $N up to ``stop`` (not consumed) or the end."""
        parts: list[_Word] = []
        literal: list[str] = []

        def flush() -> None:
            if literal:
                parts.append(_Literal("".join(literal)))
                literal.clear()

        text = self.text
        while True:
            if self.pos >= len(text):
                if stop is None:
                    break
                what = "variable" if stop == "}" else "string"
                raise self.error(f"unterminated {what}", opened_at)
            char = text[self.pos]
            if char == stop:
                break
            if char == "\\":
                literal.append(self._escape())
            elif text.startswith("%{", self.pos):
                flush()
                parts.append(self._variable())
            elif char == "$" and text[self.pos + 1:self.pos + 2].isdigit():
                flush()
                parts.append(_Backref(int(text[self.pos + 1])))
                self.pos += 2
            else:
                literal.append(char)
                self.pos += 1
        flush()
        if len(parts) == 1:
            return parts[0]
        return _Concat(tuple(parts)) if parts else _Literal("")

    def _escape(self) -> str:
        """A backslash sequence: \\n \\r \\t \\b \\f, octal, \\xHH, or the next character."""
        start = self.pos
        rest = self.text[start + 1:]
        if not rest:
            self.pos += 1
            return "\\"
        octal = re.match(r"[0-7]{1,3}", rest)
        if octal:
            value = int(octal.group(0), 8)
            if value > 255:
                raise self.error("bad character escape sequence", start)
            self.pos += 1 + octal.end()
            return chr(value)
        hexa = re.match(r"x([0-9A-Fa-f]{1,2})", rest)
        if hexa:
            self.pos += 1 + hexa.end()
            return chr(int(hexa.group(1), 16))
        self.pos += 2
        return {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}.get(rest[0], rest[0])

    def _variable(self) -> _Word:
        """``%{NAME}`` or ``%{func:argument}``, the cursor on the ``%``."""
        start = self.pos
        self.pos += 2
        match = _NAME.match(self.text, self.pos)
        if not match:
            raise self.error("variable or function name expected after '%{'")
        name = match.group(0)
        self.pos = match.end()
        following = self.text[self.pos:self.pos + 1]
        if following == "}":
            self.pos += 1
            return self._make_variable(name, start)
        if following == ":":
            self.pos += 1
            argument = self._string(stop="}", opened_at=start)
            self.pos += 1
            return self._make_call(name, argument, start)
        if not following:
            raise self.error("unterminated variable", start)
        raise self.error(f"unexpected character {following!r} in variable")

    def _make_variable(self, name: str, position: int) -> _Word:
        upper = name.upper()
        if upper in VARIABLES:
            return _Variable(upper)
        hint = ""
        if upper.startswith("HTTP_"):
            header_name = "-".join(part.capitalize() for part in upper[5:].split("_"))
            hint = f"request headers are read with %{{HTTP:{header_name}}} or req('{header_name}')"
        elif upper.startswith("SSL_"):
            hint = "itkgw has no TLS"
        raise self.error(f"unknown variable '{name}'", position, hint)

    def _make_call(self, name: str, argument: _Word, position: int) -> _Word:
        lower = name.lower()
        if lower in FUNCTIONS:
            return _Call(lower, argument)
        if lower in _REFUSED_FUNCTIONS:
            raise self.error(f"function '{name}' is not supported", position, _REFUSED_FUNCTIONS[lower])
        raise self.error(f"unknown function '{name}'", position)

    # -- tokens of the condition form --

    def _peek(self) -> _Token:
        if self._peeked is None:
            start = self.pos
            token = self._lex()
            self._peeked = (token, self.pos)
            self.pos = start
        return self._peeked[0]

    def _next(self) -> _Token:
        token = self._peek()
        assert self._peeked is not None
        self.pos = self._peeked[1]
        self._peeked = None
        return token

    def _lex(self) -> _Token:
        text = self.text
        while self.pos < len(text) and text[self.pos] in " \t\n":
            self.pos += 1
        start = self.pos
        if start >= len(text):
            return _Token("end", start)
        char = text[start]
        if char in "'\"":
            self.pos += 1
            word = self._string(stop=char, opened_at=start)
            self.pos += 1
            return _Token("word", start, word)
        if text.startswith("%{", start):
            return _Token("word", start, self._variable())
        if char == "$" and text[start + 1:start + 2].isdigit():
            self.pos += 2
            return _Token("word", start, _Backref(int(text[start + 1])))
        digits = _DIGITS.match(text, start)
        if digits:
            self.pos = digits.end()
            return _Token("word", start, _Literal(digits.group(0)))
        dashed = _DASHED.match(text, start)
        if dashed:
            self.pos = dashed.end()
            name = dashed.group(1)
            if name in _DASHED_OPERATORS:
                return _Token(name, start)
            return _Token("unary" if len(name) == 1 else "binary", start, text=name)
        name_match = _NAME.match(text, start)
        if name_match:
            self.pos = name_match.end()
            name = name_match.group(0)
            if name in _OPERATOR_WORDS:
                return _Token(_OPERATOR_WORDS[name], start)
            return _Token("name", start, text=name)
        for symbol in _SYMBOLS:
            if text.startswith(symbol, start):
                self.pos += len(symbol)
                return _Token("==" if symbol == "=" else symbol, start)
        raise self.error(f"parse error near character {char!r}")

    def _expect(self, kind: str, what: str) -> _Token:
        token = self._next()
        if token.kind != kind:
            raise self.error(f"{what} expected", token.position)
        return token

    # -- the condition form --

    def condition_form(self) -> _Cond:
        cond = self._or()
        token = self._next()
        if token.kind != "end":
            raise self.error("'&&', '||' or the end of the expression expected", token.position)
        return cond

    def _or(self) -> _Cond:
        cond = self._and()
        while self._peek().kind == "||":
            self._next()
            cond = _Or(cond, self._and())
        return cond

    def _and(self) -> _Cond:
        cond = self._not()
        while self._peek().kind == "&&":
            self._next()
            cond = _And(cond, self._not())
        return cond

    def _not(self) -> _Cond:
        if self._peek().kind == "!":
            self._next()
            return _Not(self._not())
        return self._primary()

    def _primary(self) -> _Cond:
        token = self._peek()
        if token.kind in ("true", "false"):
            self._next()
            return _Const(token.kind == "true")
        if token.kind == "(":
            self._next()
            cond = self._or()
            self._expect(")", "')'")
            return cond
        if token.kind == "unary":
            self._next()
            return self._unary(token)
        if token.kind == "end":
            raise self.error("condition expected", token.position)
        left = self._word()
        operator = self._next()
        kind = operator.kind
        if kind in _STRING_COMPARISONS or kind in _INTEGER_COMPARISONS:
            return _Compare(kind, left, self._word())
        if kind == "in":
            return _In(left, self._word_list())
        if kind in ("=~", "!~"):
            return _Match(left, self._regex(), negated=kind == "!~")
        if kind == "binary":
            return self._binary(operator, left)
        raise self.error("comparison operator expected", operator.position)

    def _unary(self, token: _Token) -> _Cond:
        name = token.text
        if name in _FILE_TESTS and not (self.files and name in _STAT_TESTS):
            raise self.error(f"file test -{name} is not supported", token.position,
                             "it would read the file system as the worker, before the identity switch"
                             if name in _STAT_TESTS else "itkgw makes no subrequests")
        if name in _STAT_TESTS:
            return _FileTest(name, self._word())
        if name not in _UNARY:
            raise self.error(f"unknown unary operator '-{name}'", token.position)
        operand = self._word()
        if name == "R":
            self._check_subnet(operand, token.position)
        return _Unary(name, operand)

    def _binary(self, token: _Token, left: _Word) -> _Cond:
        name = token.text.lower()
        if name not in _BINARY:
            raise self.error(f"unknown binary operator '-{token.text}'", token.position)
        right = self._word()
        if name == "ipmatch":
            self._check_subnet(right, token.position)
        return _Binary(name, left, right)

    def _check_subnet(self, word: _Word, position: int) -> None:
        if isinstance(word, _Literal) and _ip_network(word.text) is None:
            raise self.error(f"'{word.text}' is not an IP address or network", position)

    def _word_list(self) -> tuple[_Word, ...]:
        token = self._next()
        if token.kind == "name":
            raise self.error(f"unknown list function '{token.text}'", token.position)
        if token.kind != "{":
            raise self.error("'{' expected", token.position)
        words = [self._word()]
        while self._peek().kind == ",":
            self._next()
            words.append(self._word())
        self._expect("}", "',' or '}'")
        return tuple(words)

    def _word(self) -> _Word:
        parts = [self._atom()]
        while self._peek().kind == ".":
            self._next()
            parts.append(self._atom())
        return parts[0] if len(parts) == 1 else _Concat(tuple(parts))

    def _atom(self) -> _Word:
        token = self._next()
        if token.kind == "word":
            assert token.word is not None
            return token.word
        if token.kind == "name":
            self._expect("(", f"'(' after function name '{token.text}'")
            argument = self._word()
            self._expect(")", "')'")
            return self._make_call(token.text, argument, token.position)
        raise self.error("string, number, variable or function expected", token.position)

    def _regex(self) -> re.Pattern[str]:
        """``/regex/flags`` or ``m<delimiter>regex<delimiter>flags`` at the cursor."""
        assert self._peeked is None
        text = self.text
        while self.pos < len(text) and text[self.pos] in " \t\n":
            self.pos += 1
        start = self.pos
        if text.startswith("/", start):
            delimiter, body_start = "/", start + 1
        elif text[start:start + 1] == "m" and text[start + 1:start + 2] in tuple(_REGEX_DELIMITERS):
            delimiter, body_start = text[start + 1], start + 2
        else:
            raise self.error("regular expression expected (/regex/ or m#regex#)", start)
        end = body_start
        while end < len(text) and text[end] != delimiter:
            end += 2 if text[end] == "\\" else 1  # a backslash keeps the delimiter in the regex
        if end >= len(text):
            raise self.error("unterminated regular expression", start)
        self.pos = end + 1
        flags = re.match(r"[a-zA-Z0-9]*", text[self.pos:])
        assert flags is not None
        if any(flag not in "ism" for flag in flags.group(0)):
            raise self.error("invalid regular expression flag(s)", self.pos)
        self.pos += flags.end()
        body = text[body_start:end]
        try:
            regex = compile_regex(body, nocase="i" in flags.group(0))
        except re.error as exc:
            raise self.error(f"bad regular expression '{body}': {exc.msg}", start) from None
        extra = (re.DOTALL if "s" in flags.group(0) else 0) | (re.MULTILINE if "m" in flags.group(0) else 0)
        return re.compile(regex.pattern, regex.flags | extra) if extra else regex
