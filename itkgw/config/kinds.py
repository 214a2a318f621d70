"""How a setting's value is read: the value kinds of the directive table.

Each kind reads one setting two ways, from a TOML value (``from_toml``) and
from the words of an Apache directive (``from_args``), and says what it
expects in both forms, so that both readers give the same model and the same
hints. This module holds Apache's word splitting and the kinds of plain
values (numbers, flags, names, paths, addresses, identities);
``kinds_structured`` holds those of structured settings.
"""

from __future__ import annotations

import abc
import ipaddress
import os
import re
from dataclasses import dataclass
from typing import Any, ClassVar

from itkgw.config.identity import resolve_identity
from itkgw.config.model import (
    ANY_HOST,
    Address,
    Identity,
)
from itkgw.errors import ConfigError
from itkgw.rules.pcre import compile_regex

_MAX_ID = 2**32 - 1


# -- Apache's argument syntax --------------------------------------------------


def apache_words(text: str, where: str) -> list[str]:
    """The arguments of a directive line, split as httpd's ap_getword_conf does.

    Words are separated by white space; a word starting with ``"`` or ``'``
    runs to the matching quote and may hold spaces, and inside it ``\\"``
    (or ``\\'``) and ``\\\\`` stand for the quote and a backslash; elsewhere
    a backslash is literal, except ``\\\\``. A quote that is never closed runs to
    the end of the line, as httpd reads it (``ErrorDocument 403 "Sorry`` is the
    message of httpd 1.3's and 2.0's documentation, kept in many .htaccess files).
    """
    words: list[str] = []
    index, length = 0, len(text)
    while True:
        while index < length and text[index].isspace():
            index += 1
        if index >= length:
            return words
        quote = text[index] if text[index] in "\"'" else ""
        start = index + 1 if quote else index
        end = start
        while end < length:
            char = text[end]
            if quote and char == quote:
                break
            if not quote and char.isspace():
                break
            if char == "\\" and end + 1 < length and text[end + 1] in ("\\", quote or "\\"):
                end += 2
                continue
            end += 1
        words.append(_unescape_word(text[start:end], quote))
        index = end + 1 if quote else end


def _unescape_word(raw: str, quote: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(raw):
        char = raw[index]
        if char == "\\" and index + 1 < len(raw) and raw[index + 1] in ("\\", quote or "\\"):
            out.append(raw[index + 1])
            index += 2
        else:
            out.append(char)
            index += 1
    return "".join(out)


def check_regex(pattern: str, where: str, what: str, nocase: bool = False) -> None:
    """A ConfigError unless ``pattern`` compiles as itkgw.rules.pcre compiles httpd's PCRE patterns.

    Translated from PCRE: POSIX classes (``[[:alpha:]]``), ``(?<name>...)``
    and ``\\z``. Not supported: PCRE-only constructs such as ``\\K``,
    recursion ``(?R)``, possessive classes other than Python's, ``\\Q...\\E``.
    """
    try:
        compile_regex(pattern, nocase)
    except re.error as exc:
        raise ConfigError(where, f"{what}: cannot compile regular expression {pattern!r}: {exc}",
                          "write a PCRE pattern Python's re can read (see the itkgw docs for what "
                          "is not supported: \\K, \\Q...\\E, recursion)") from None


# -- value kinds -------------------------------------------------------------


def toml_type(value: object) -> str:
    """How the admin wrote a TOML value, for messages."""
    names = {bool: "true/false", int: "a number", float: "a number", str: "a string",
             list: "a list", dict: "a table"}
    for python_type, name in names.items():
        if isinstance(value, python_type):
            return name
    return "a date or time"


class Kind(abc.ABC):
    """How one setting's value is read: from TOML (already typed by tomllib)
    or from the words after an Apache directive.

    Every problem is a ConfigError with the ``where`` given and a hint. For a
    setting an Apache directive may repeat (``repeat`` rows), ``from_args``
    gives what one line adds, of the same type as the whole value (a tuple),
    and the Apache reader joins the lines.
    """

    #: What the value must be, for messages ("an integer from -20 to 19").
    expects: ClassVar[str] = "a value"
    #: The value as TOML and as Apache arguments, for hints.
    toml_example: ClassVar[str] = ""
    args_example: ClassVar[str] = ""

    def describe(self) -> str:
        return self.expects

    def toml_hint(self) -> str:
        return f"write it as {self.toml_example}"

    @abc.abstractmethod
    def from_toml(self, value: object, where: str) -> Any:
        """The model value of a TOML value."""

    @abc.abstractmethod
    def from_args(self, args: list[str], where: str) -> Any:
        """The model value of an Apache directive's arguments."""

    def wrong_toml(self, value: object, where: str) -> ConfigError:
        return ConfigError(where, f"expected {self.describe()}, got {toml_type(value)}", self.toml_hint())

    def string_list(self, value: object, where: str, allow_empty: bool = False) -> list[str]:
        """A TOML list of non-empty strings, or a ConfigError naming the bad item."""
        if not isinstance(value, list):
            raise self.wrong_toml(value, where)
        if not value and not allow_empty:
            raise ConfigError(where, "the list is empty", self.toml_hint())
        for number, item in enumerate(value, 1):
            if not isinstance(item, str):
                message = f"item {number} is {toml_type(item)}, not a string"
                raise ConfigError(where, message, self.toml_hint())
            if not item:
                raise ConfigError(where, f"item {number} is an empty string", self.toml_hint())
        return value

    def string_table(self, value: object, where: str) -> dict[str, str]:
        """A TOML table of strings, or a ConfigError naming the bad entry."""
        if not isinstance(value, dict):
            raise self.wrong_toml(value, where)
        for name, item in value.items():
            if not isinstance(item, str):
                raise ConfigError(where, f"{name!r} is {toml_type(item)}, not a string", self.toml_hint())
        return value

    def table(self, value: object, where: str, required: tuple[str, ...],
              optional: tuple[str, ...]) -> dict[str, Any]:
        """A TOML table with exactly these keys (``optional`` may be left out)."""
        if not isinstance(value, dict):
            raise self.wrong_toml(value, where)
        missing = [name for name in required if name not in value]
        if missing:
            raise ConfigError(where, f"{missing[0]} is missing", self.toml_hint())
        unknown = [name for name in value if name not in required + optional]
        if unknown:
            raise ConfigError(where, f"unknown key {unknown[0]!r}",
                              "the keys are " + ", ".join(required + optional))
        return value

    def wrong_args(self, args: list[str], where: str) -> ConfigError:
        got = " ".join(args) if args else "nothing"
        return ConfigError(where, f"expected {self.describe()}, got {got}",
                           f"write it as {self.args_example}")

    def one_arg(self, args: list[str], where: str) -> str:
        if len(args) != 1:
            raise self.wrong_args(args, where)
        return args[0]


class ApacheOnly(Kind):
    """The kind of a directive with no TOML key: what it sets is read from
    TOML by another row (Allow feeds ``access``), or nothing is (Include)."""

    def from_toml(self, value: object, where: str) -> Any:
        raise TypeError("a directive without a TOML key is never read from TOML")


class TomlOnly(Kind):
    """The kind of a TOML key no single Apache directive sets (``access``)."""

    def from_args(self, args: list[str], where: str) -> Any:
        raise TypeError("a setting without an Apache name is never read from directive arguments")


_INTEGER = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True)
class Int(Kind):
    """A whole number, optionally bounded."""

    low: int | None = None
    high: int | None = None
    unit: str = ""

    toml_example: ClassVar[str] = "a number without quotes, e.g. 10"
    args_example: ClassVar[str] = "a number, e.g. 10"

    def describe(self) -> str:
        what = f"a number of {self.unit}" if self.unit else "an integer"
        if self.low is not None and self.high is not None:
            return f"{what} from {self.low} to {self.high}"
        if self.low is not None:
            return f"{what} of at least {self.low}"
        return what

    def from_toml(self, value: object, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.wrong_toml(value, where)
        return self._bounded(value, where)

    def from_args(self, args: list[str], where: str) -> int:
        text = self.one_arg(args, where)
        if not _INTEGER.fullmatch(text):
            raise self.wrong_args(args, where)
        return self._bounded(int(text), where)

    def _bounded(self, value: int, where: str) -> int:
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            raise ConfigError(where, f"{value} is out of range", f"use {self.describe()}")
        return value


@dataclass(frozen=True)
class Seconds(Int):
    """A duration in whole seconds."""

    low: int | None = 1
    unit: str = "seconds"


#: httpd's time-interval units, by their first letters: microseconds in one.
_DURATION_UNITS = {"": 1_000_000, "s": 1_000_000, "h": 3_600_000_000, "ms": 1_000, "mi": 60_000_000}
_DURATION = re.compile(r"\+?([0-9]+)(ms|mi|[sh]|)")


@dataclass(frozen=True)
class Duration(Kind):
    """A time interval as httpd's ap_timeout_parameter_parse reads it: a whole
    number with an optional unit ms, s (the default), mi or h, whose later
    letters httpd does not read (``2min`` is two minutes). TOML: a number of
    seconds, fractions allowed. Zero means "not set here" (None), as in the
    directives that take one (CGIScriptTimeout).
    """

    expects: ClassVar[str] = "a time interval"
    toml_example: ClassVar[str] = "a number of seconds without quotes, e.g. 20 or 0.5"
    args_example: ClassVar[str] = "a whole number with an optional unit ms, s, mi or h, e.g. 20 or 500ms"

    def from_toml(self, value: object, where: str) -> float | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.wrong_toml(value, where)
        if value < 0:
            raise ConfigError(where, f"{value} is negative", "use 0 or more seconds")
        return float(value) or None

    def from_args(self, args: list[str], where: str) -> float | None:
        text = self.one_arg(args, where)
        match = _DURATION.match(text)
        if match is None or (match.end() < len(text) and not match.group(2)):
            raise ConfigError(where, f"{text} has wrong format", f"write {self.args_example}")
        micros = int(match.group(1)) * _DURATION_UNITS[match.group(2)]
        if micros >= 2**63:
            raise ConfigError(where, f"{text} has wrong format", "it is too long a time")
        return micros / 1_000_000 or None


@dataclass(frozen=True)
class Flag(Kind):
    """On or off: a TOML boolean, Apache's On|Off."""

    expects: ClassVar[str] = "true or false"
    toml_example: ClassVar[str] = "true or false, without quotes"
    args_example: ClassVar[str] = "On or Off"

    def from_toml(self, value: object, where: str) -> bool:
        if not isinstance(value, bool):
            raise self.wrong_toml(value, where)
        return value

    def from_args(self, args: list[str], where: str) -> bool:
        word = self.one_arg(args, where).lower()
        if word not in ("on", "off"):
            raise self.wrong_args(args, where)
        return word == "on"


@dataclass(frozen=True)
class Text(Kind):
    """One non-empty string."""

    expects: ClassVar[str] = "a string"
    toml_example: ClassVar[str] = 'a quoted string, e.g. "example"'
    args_example: ClassVar[str] = "one word, or a quoted string"

    def from_toml(self, value: object, where: str) -> str:
        if not isinstance(value, str):
            raise self.wrong_toml(value, where)
        return self.check(value, where)

    def from_args(self, args: list[str], where: str) -> str:
        return self.check(self.one_arg(args, where), where)

    def check(self, value: str, where: str) -> str:
        if not value:
            raise ConfigError(where, "must not be empty", self.toml_hint())
        return value


@dataclass(frozen=True)
class HostName(Text):
    """A host name. Apache's ServerName may add a scheme and a port
    (``http://www.example.com:80``); only the name is kept."""

    def from_args(self, args: list[str], where: str) -> str:
        text = self.one_arg(args, where)
        text = text.split("://", 1)[-1]
        if text.startswith("["):
            text = text[:text.find("]") + 1] if "]" in text else text
        elif text.count(":") == 1:
            text = text.partition(":")[0]
        return self.check(text, where)


@dataclass(frozen=True)
class Choice(Text):
    """One of a fixed set of words, case-insensitive as Apache reads them."""

    options: tuple[str, ...] = ()
    example: str = ""

    def describe(self) -> str:
        return "one of " + ", ".join(self.options)

    def toml_hint(self) -> str:
        return f'write it as a quoted string, e.g. "{self.example or self.options[0]}"'

    def check(self, value: str, where: str) -> str:
        if value.lower() not in self.options:
            raise ConfigError(where, f"{value!r} is not {self.describe()}", self.toml_hint())
        return value.lower()


@dataclass(frozen=True)
class Path(Text):
    """An absolute filesystem path; ``specials`` are words allowed instead ("-").
    The Apache reader makes relative paths absolute first where Apache takes
    them relative to ServerRoot (``root_relative`` rows)."""

    specials: tuple[str, ...] = ()

    toml_example: ClassVar[str] = 'a quoted path, e.g. "/srv/site"'
    args_example: ClassVar[str] = "a path, e.g. /srv/site"

    def describe(self) -> str:
        extra = "".join(f" or {word}" for word in self.specials)
        return f"an absolute path{extra}"

    def check(self, value: str, where: str) -> str:
        if value in self.specials:
            return value
        if value.startswith("|"):
            raise ConfigError(where, f"piped logs ({value!r}) are not supported",
                              "write to a file and rotate it with logrotate; itkgw reopens logs on HUP")
        if value.startswith("syslog"):
            raise ConfigError(where, f"{value!r}: logging to syslog is not supported",
                              "write to a file, or - for standard error (journald under systemd)")
        if not os.path.isabs(value):
            extra = "".join(f", or {word}" for word in self.specials)
            raise ConfigError(where, f"{value!r} is not {self.describe()}",
                              f"write the full path, starting with /{extra}")
        return value


@dataclass(frozen=True)
class Words(Kind):
    """A list of strings (Apache: the words after the directive); TOML may give
    an empty list, to turn a default list off."""

    expects: ClassVar[str] = "a list of strings"
    toml_example: ClassVar[str] = 'a list, e.g. ["a", "b"]'
    args_example: ClassVar[str] = "one or more words"

    def from_toml(self, value: object, where: str) -> tuple[str, ...]:
        words = tuple(self.word(item) for item in self.string_list(value, where, allow_empty=True))
        return self.checked(words, where)

    def from_args(self, args: list[str], where: str) -> tuple[str, ...]:
        if not args:
            raise self.wrong_args(args, where)
        return self.checked(tuple(self.word(item) for item in args), where)

    def word(self, item: str) -> str:
        return item

    def checked(self, words: tuple[str, ...], where: str) -> tuple[str, ...]:
        """The words as a whole, in either syntax (a subclass refuses what it must)."""
        return words


def extension(item: str) -> str:
    """``php`` and ``.php`` both mean ``.php``, as in AddHandler and AddType."""
    return item if item.startswith(".") else "." + item


@dataclass(frozen=True)
class Extensions(Words):
    """File endings; ``php`` and ``.php`` both mean ``.php``, as in AddHandler."""

    toml_example: ClassVar[str] = 'a list, e.g. [".php"]'

    def word(self, item: str) -> str:
        return extension(item)


def parse_address(text: str, where: str) -> Address:
    """``addr:port``, ``[v6]:port``, ``*:port`` or a bare ``port`` (every address)."""
    hint = 'write "127.0.0.1:8080", "[::1]:8080", "*:8080" or "8080"'
    if text.isdigit():
        host, port_text = ANY_HOST, text
    elif text.startswith("["):
        host, _, port_text = text[1:].partition("]:")
        if not port_text:
            raise ConfigError(where, f"{text!r} has no port", hint)
    else:
        host, colon, port_text = text.rpartition(":")
        if not colon:
            raise ConfigError(where, f"{text!r} has no port", hint)
        if ":" in host:
            raise ConfigError(where, f"{text!r}: an IPv6 address needs brackets", hint)
    if not (port_text.isascii() and port_text.isdigit()) or not 1 <= int(port_text) <= 65535:
        raise ConfigError(where, f"{text!r}: port must be a number from 1 to 65535", hint)
    if host != ANY_HOST:
        try:
            host = str(ipaddress.ip_address(host))
        except ValueError:
            raise ConfigError(where, f"{text!r}: {host!r} is not an IP address",
                              f"use an IP address or *; {hint}") from None
    return Address(host, int(port_text))


@dataclass(frozen=True)
class Addresses(Kind):
    """Addresses to listen or answer on. ``protocol``: Apache's Listen takes
    an optional protocol word after its one address."""

    protocol: bool = False

    expects: ClassVar[str] = "a list of addresses"
    toml_example: ClassVar[str] = 'a list, e.g. ["127.0.0.1:8080", "[::1]:8080"]'
    args_example: ClassVar[str] = "addresses, e.g. 127.0.0.1:8080 [::1]:8080 *:80"

    def from_toml(self, value: object, where: str) -> tuple[Address, ...]:
        return tuple(parse_address(item, where) for item in self.string_list(value, where))

    def from_args(self, args: list[str], where: str) -> tuple[Address, ...]:
        if self.protocol:
            if not 1 <= len(args) <= 2:
                raise ConfigError(where, "expected an address and an optional protocol",
                                  "write e.g. Listen 127.0.0.1:8080")
            if len(args) == 2 and args[1].lower() != "http":
                raise ConfigError(where, f"protocol {args[1]!r} is not supported",
                                  "itkgw speaks plain http; put TLS in front of it")
            args = args[:1]
        if not args:
            raise self.wrong_args(args, where)
        return tuple(parse_address(item, where) for item in args)


@dataclass(frozen=True)
class IdRange(Kind):
    """A closed range of uids or gids: ``[min, max]``, Apache ``min max``."""

    expects: ClassVar[str] = f"two ids [min, max] from 0 to {_MAX_ID}"
    toml_example: ClassVar[str] = "[min, max], e.g. [1000, 60000]"
    args_example: ClassVar[str] = "min max, e.g. 1000 60000"

    def from_toml(self, value: object, where: str) -> tuple[int, int]:
        if (not isinstance(value, list) or len(value) != 2
                or not all(isinstance(item, int) and not isinstance(item, bool) for item in value)):
            raise self.wrong_toml(value, where)
        return self._checked(value[0], value[1], where)

    def from_args(self, args: list[str], where: str) -> tuple[int, int]:
        if len(args) != 2 or not all(_INTEGER.fullmatch(item) for item in args):
            raise self.wrong_args(args, where)
        return self._checked(int(args[0]), int(args[1]), where)

    def _checked(self, low: int, high: int, where: str) -> tuple[int, int]:
        if not 0 <= low <= high <= _MAX_ID:
            raise ConfigError(where, f"{low}-{high} is not a range of ids",
                              f"min must not exceed max, both from 0 to {_MAX_ID}")
        return low, high


@dataclass(frozen=True)
class UserGroup(Kind):
    """A user and a group, resolved to an Identity when the config is read."""

    expects: ClassVar[str] = "a user and a group"
    toml_example: ClassVar[str] = '["user", "group"], e.g. ["alice", "alice"]'
    args_example: ClassVar[str] = "user group, e.g. alice alice"

    def from_toml(self, value: object, where: str) -> Identity:
        names = self.string_list(value, where)
        if len(names) != 2:
            raise self.wrong_toml(value, where)
        return resolve(names[0], names[1], where)

    def from_args(self, args: list[str], where: str) -> Identity:
        if len(args) != 2:
            raise self.wrong_args(args, where)
        return resolve(args[0], args[1], where)


def resolve(user: str, group: str, where: str) -> Identity:
    """The Identity of ``user`` and ``group``; a ConfigError when either is missing."""
    try:
        return resolve_identity(user, group)
    except LookupError as exc:
        raise ConfigError(where, str(exc), lookup_hint(exc)) from None


def lookup_hint(exc: LookupError) -> str:
    """What to do about a user or group resolve_identity did not find."""
    tool = "groupadd" if str(exc).startswith("group") else "useradd"
    return f"create it with {tool}, or fix the name"


@dataclass(frozen=True)
class ExprText(Text):
    """An ap_expr in its string form (AssignUserIDExpr), checked with itkgw.expr."""

    directive: str = "the expression"

    toml_example: ClassVar[str] = 'a quoted expression, e.g. "%{reqenv:ITKUID}"'
    args_example: ClassVar[str] = "one expression, quoted if it has spaces, e.g. %{reqenv:ITKUID}"

    def check(self, value: str, where: str) -> str:
        super().check(value, where)
        check_expr(value, where, f"cannot parse {self.directive}")
        return value


def check_expr(text: str, where: str, failure: str, condition: bool = False, files: bool = False) -> None:
    """Raise a ConfigError starting with ``failure`` when ``text`` is no ap_expr: its string
    form, or (``condition``) its condition form (``files``: with file tests)."""
    from itkgw.rules.expr import ExprError, parse, parse_condition  # needed only here

    try:
        parse_condition(text, files) if condition else parse(text)
    except ExprError as exc:
        at = f" at character {exc.position + 1}" if 0 <= exc.position < len(text) else ""
        raise ConfigError(where, f"{failure}: {exc.message}{at}",
                          exc.hint or "see the ap_expr syntax of Apache 2.4") from None


@dataclass(frozen=True)
class PathMap(Kind):
    """URL prefixes mapped onto filesystem paths (Alias, ScriptAlias)."""

    expects: ClassVar[str] = "a table of URL prefix = path"
    toml_example: ClassVar[str] = '{ "/cgi-bin/" = "/srv/site/cgi-bin/" }'
    args_example: ClassVar[str] = "URL-prefix path, e.g. /cgi-bin/ /srv/site/cgi-bin/"

    def from_toml(self, value: object, where: str) -> tuple[tuple[str, str], ...]:
        if not isinstance(value, dict) or not all(isinstance(item, str) for item in value.values()):
            raise self.wrong_toml(value, where)
        return tuple(self._pair(url, directory, where) for url, directory in value.items())

    def from_args(self, args: list[str], where: str) -> tuple[tuple[str, str], ...]:
        if len(args) != 2:
            raise self.wrong_args(args, where)
        return (self._pair(args[0], args[1], where),)

    def _pair(self, url: str, directory: str, where: str) -> tuple[str, str]:
        if not url.startswith("/"):
            raise ConfigError(where, f"URL prefix {url!r} does not start with /", self.toml_hint())
        if not os.path.isabs(directory):
            raise ConfigError(where, f"directory {directory!r} is not an absolute path",
                              "write the full path, starting with /")
        return url, directory


@dataclass(frozen=True)
class ScriptAliasMap(PathMap):
    """URL prefixes whose files all run as CGI, each with its directory."""

    expects: ClassVar[str] = "a table of URL prefix = directory"


@dataclass(frozen=True)
class UserDirKind(Kind):
    """UserDir: the directory below each home served as /~user/, or disabled."""

    expects: ClassVar[str] = "a directory name or path, or disabled"
    toml_example: ClassVar[str] = '"public_html", or "/home/*/www"'
    args_example: ClassVar[str] = "UserDir public_html, UserDir /home/*/www or UserDir disabled"

    def from_toml(self, value: object, where: str) -> str:
        if not isinstance(value, str) or not value:
            raise self.wrong_toml(value, where)
        return self._checked(value, where)

    def from_args(self, args: list[str], where: str) -> str | None:
        """The directory; the Apache reader takes ``disabled``/``enabled`` lines itself."""
        if len(args) != 1 or args[0].lower() in ("disabled", "enabled"):
            raise ConfigError(where, "several directories are not supported",
                              f"write one of: {self.args_example}, UserDir disabled [users], "
                              "UserDir enabled users")
        return self._checked(args[0], where)

    def _checked(self, value: str, where: str) -> str:
        if "://" in value:
            raise ConfigError(where, f"UserDir {value!r}: redirecting to a URL is not supported",
                              "give a directory below the home directory, e.g. public_html")
        return value

