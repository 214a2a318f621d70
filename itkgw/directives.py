"""The directive table both config readers share.

One row per setting: its Apache name, its TOML key, the contexts it may
appear in, how its value is read, which mpm-itk series have it, and a line of
documentation. The TOML reader looks rows up by key, the Apache reader by
name, ``itkgw convert`` and the docs walk the table. None of these settings
is read from .htaccess: itkgw reads no .htaccess files.

Contexts: ``contexts`` is where the TOML key may appear (top level, a
``[[vhost]]``, a section table); ``apache`` is where the Apache directive may
appear, which by default is ``contexts`` plus the server config for vhost
settings (the main server's value is every vhost's default, as in Apache).
``DIRECTORY`` covers <Directory>, <Location> and <Files> and their Match
forms; ``sections`` narrows it where Apache does (AllowOverride only in
<Directory>).

Series rules: ``series`` says which mpm-itk series accept the Apache name;
``aliases`` are other spellings (2.2's MaxClients is 2.4's MaxRequestWorkers,
and 2.4 still reads it, with a deprecation warning). A TOML key is ours, not
Apache's: it is refused only when the *setting* does not exist in the series
at all, under any name (LimitUIDRange, AssignUserIDExpr, Require... in 2.2),
so ``max_request_workers`` is fine with ``--compat=2.2``.

Some rows have no TOML key: Apache directives that feed a structure another
row holds (Allow and Deny feed ``access``, php_flag feeds ``php_settings``)
or that only steer reading (Include, LoadModule, Define). Two have no Apache
name: ``access`` and ``exec_cgi`` are TOML keys Apache spells with other
directives (``also_from``). A few rows are not Apache directives: a
section's argument (``<VirtualHost>`` gives the vhost's ``listen``,
``<Directory>`` the section's ``path``) and the ``--compat`` command-line
option, which TOML may also set.

The TOML shape of each structured setting is in its kind's ``toml_example``
and in the row's doc.
"""

from __future__ import annotations

import abc
import dataclasses
import enum
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from itkgw import foreign
from itkgw.config import (
    ANY_HOST,
    AccessCompat,
    Address,
    DirSection,
    HeaderRule,
    Identity,
    PHPSetting,
    Redirect,
    Require,
    RequireGroup,
    RewriteCond,
    RewriteRule,
    ServerConfig,
    VHost,
)
from itkgw.errors import ConfigError
from itkgw.privs import resolve_identity

SERIES = ("2.2", "2.4")
BOTH = frozenset(SERIES)
ONLY_24 = frozenset({"2.4"})
_MAX_ID = 2**32 - 1


class Context(enum.Enum):
    """Where a setting may appear."""

    SERVER = "server"  # top level of the TOML file; outside any section in Apache syntax
    VHOST = "vhost"  # a [[vhost]] table; <VirtualHost>
    DIRECTORY = "directory"  # a [[vhost.directory|location|files]] table; <Directory>, <Location>, <Files>...


SERVER = frozenset({Context.SERVER})
VHOST = frozenset({Context.VHOST})
DIRECTORY = frozenset({Context.DIRECTORY})
SERVER_VHOST = SERVER | VHOST
VHOST_DIRECTORY = VHOST | DIRECTORY
EVERYWHERE = SERVER | VHOST | DIRECTORY
NOWHERE: frozenset[Context] = frozenset()

#: DirSection kinds: <Directory>, <Location> and <Files> and their Match forms.
SECTION_KINDS = ("directory", "location", "files")
ALL_SECTIONS = frozenset(SECTION_KINDS)

#: The model class each context fills.
MODELS: Mapping[Context, type] = {
    Context.SERVER: ServerConfig,
    Context.VHOST: VHost,
    Context.DIRECTORY: DirSection,
}

#: Model fields no directive sets: nested sections, the section kind, and where things came from.
STRUCTURAL_FIELDS: Mapping[Context, frozenset[str]] = {
    Context.SERVER: frozenset({"vhosts", "source"}),
    Context.VHOST: frozenset({"directories", "where"}),
    Context.DIRECTORY: frozenset({"kind", "where"}),
}


# -- Apache's argument syntax --------------------------------------------------


def apache_words(text: str, where: str) -> list[str]:
    """The arguments of a directive line, split as httpd's ap_getword_conf does.

    Words are separated by white space; a word starting with ``"`` or ``'``
    runs to the matching quote and may hold spaces, and inside it ``\\"``
    (or ``\\'``) and ``\\\\`` stand for the quote and a backslash; elsewhere
    a backslash is literal, except ``\\\\``. A quote that is never closed is
    an error here (httpd reads to the end of the line).
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
        if quote and end >= length:
            raise ConfigError(where, f"the quoted argument {text[index:]!r} is not closed",
                              f"end it with {quote}")
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
    """A ConfigError unless ``pattern`` compiles as itkgw.expr compiles httpd's PCRE patterns.

    Translated from PCRE: POSIX classes (``[[:alpha:]]``), ``(?<name>...)``
    and ``\\z``. Not supported: PCRE-only constructs such as ``\\K``,
    recursion ``(?R)``, possessive classes other than Python's, ``\\Q...\\E``.
    """
    from itkgw.expr import compile_regex  # the expression engine owns the PCRE translation

    try:
        compile_regex(pattern, nocase)
    except re.error as exc:
        raise ConfigError(where, f"{what}: cannot compile regular expression {pattern!r}: {exc}",
                          "write a PCRE pattern Python's re can read (see the itkgw docs for what "
                          "is not supported: \\K, \\Q...\\E, recursion)") from None


# -- value kinds -------------------------------------------------------------


def _toml_type(value: object) -> str:
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
        return ConfigError(where, f"expected {self.describe()}, got {_toml_type(value)}", self.toml_hint())

    def string_list(self, value: object, where: str, allow_empty: bool = False) -> list[str]:
        """A TOML list of non-empty strings, or a ConfigError naming the bad item."""
        if not isinstance(value, list):
            raise self.wrong_toml(value, where)
        if not value and not allow_empty:
            raise ConfigError(where, "the list is empty", self.toml_hint())
        for number, item in enumerate(value, 1):
            if not isinstance(item, str):
                message = f"item {number} is {_toml_type(item)}, not a string"
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
                raise ConfigError(where, f"{name!r} is {_toml_type(item)}, not a string", self.toml_hint())
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
        return tuple(self.word(item) for item in self.string_list(value, where, allow_empty=True))

    def from_args(self, args: list[str], where: str) -> tuple[str, ...]:
        if not args:
            raise self.wrong_args(args, where)
        return tuple(self.word(item) for item in args)

    def word(self, item: str) -> str:
        return item


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
        from itkgw.expr import ExprError, parse  # the expression engine is needed only here

        super().check(value, where)
        try:
            parse(value)
        except ExprError as exc:
            at = f" at character {exc.position + 1}" if 0 <= exc.position < len(value) else ""
            raise ConfigError(where, f"cannot parse {self.directive}: {exc.message}{at}",
                              exc.hint or "see the ap_expr syntax of Apache 2.4") from None
        return value


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
        if len(args) == 1 and args[0].lower() == "disabled":
            return None
        if len(args) != 1 or args[0].lower() == "enabled":
            raise ConfigError(where, "lists of users and several directories are not supported",
                              f"write one of: {self.args_example}")
        return self._checked(args[0], where)

    def _checked(self, value: str, where: str) -> str:
        if "://" in value:
            raise ConfigError(where, f"UserDir {value!r}: redirecting to a URL is not supported",
                              "give a directory below the home directory, e.g. public_html")
        return value


# -- Options -------------------------------------------------------------------

#: Options words, spelled as Apache's docs spell them (Apache ignores case).
OPTION_WORDS = ("All", "None", "ExecCGI", "FollowSymLinks", "SymLinksIfOwnerMatch", "Indexes",
                "Includes", "IncludesNOEXEC", "MultiViews")
#: Options words itkgw accepts but does nothing for (there is no SSI, no content negotiation).
UNSUPPORTED_OPTIONS = frozenset({"Includes", "IncludesNOEXEC", "MultiViews"})
_OPTION_BY_LOWER = {word.lower(): word for word in OPTION_WORDS}


def options_signed(words: tuple[str, ...]) -> bool:
    """Whether an Options line only changes what it inherits (every word has + or -)."""
    return bool(words) and all(word[:1] in "+-" for word in words)


def apply_options(inherited: tuple[str, ...], words: tuple[str, ...]) -> tuple[str, ...]:
    """Apache's rule: a line of +/- words modifies the inherited options, any
    plain word replaces them. Words of 2.2's mixed lines: plain ones replace,
    then the signed ones apply. The result has no signs."""
    if not words:
        return inherited
    if not any(word[:1] in "+-" for word in words):
        return tuple(word for word in words if word != "None")
    plain = [word for word in words if word[:1] not in "+-"]
    result = dict.fromkeys(word for word in (plain or inherited) if word != "None")
    for word in words:
        if word[:1] == "+":
            result[word[1:]] = None
        elif word[:1] == "-":
            result.pop(word[1:], None)
    return tuple(result)


def combine_options(earlier: tuple[str, ...] | None, later: tuple[str, ...]) -> tuple[str, ...]:
    """Two Options lines of one section as one: a plain line replaces, a signed
    one modifies the earlier line (still signed if that was signed)."""
    if earlier is None or not options_signed(later):
        return later
    if not options_signed(earlier):
        return apply_options(earlier, later)
    merged = {word[1:]: word for word in earlier}
    merged.update((word[1:], word) for word in later)
    return tuple(merged.values())


def allows_cgi(words: tuple[str, ...]) -> bool:
    """Whether resolved (unsigned) Options let CGI scripts run: ExecCGI, or All."""
    return "ExecCGI" in words or "All" in words


@dataclass(frozen=True)
class OptionWords(Kind):
    """Options words, with + and - kept as written (the merge applies them).
    Apache 2.4 refuses lines mixing signed and plain words; 2.2 reads them
    (the Apache reader decides, knowing the series)."""

    expects: ClassVar[str] = "Options words"
    toml_example: ClassVar[str] = '["FollowSymLinks", "ExecCGI"] or ["+ExecCGI", "-Indexes"]'
    args_example: ClassVar[str] = "Options FollowSymLinks ExecCGI, or Options +ExecCGI -Indexes"

    def from_toml(self, value: object, where: str) -> tuple[str, ...]:
        words = tuple(self.word(item, where) for item in self.string_list(value, where, allow_empty=True))
        if not options_signed(words) and any(word[:1] in "+-" for word in words):
            raise ConfigError(where, MIXED_OPTIONS, "sign every word, or none")
        return words

    def from_args(self, args: list[str], where: str) -> tuple[str, ...]:
        if not args:
            raise self.wrong_args(args, where)
        return tuple(self.word(item, where) for item in args)

    def word(self, item: str, where: str) -> str:
        sign = item[:1] if item[:1] in "+-" else ""
        canonical = _OPTION_BY_LOWER.get(item[len(sign):].lower())
        if canonical is None or (sign and canonical in ("All", "None")):
            raise ConfigError(where, f"Illegal option {item}", "the options are " + ", ".join(OPTION_WORDS))
        return sign + canonical


MIXED_OPTIONS = "Either all Options must start with + or -, or no Option may."


@dataclass(frozen=True)
class ExecCGIOption(Kind):
    """Whether CGI may run; Apache spells it inside ``Options``.

    ``from_args`` reads an Options line: ExecCGI, +ExecCGI or All turn it on,
    -ExecCGI or a plain list without it turn it off, and a list of only
    +/- options that leaves ExecCGI alone gives None (unchanged).
    """

    expects: ClassVar[str] = Flag.expects
    toml_example: ClassVar[str] = Flag.toml_example
    args_example: ClassVar[str] = "Options +ExecCGI or Options -ExecCGI"

    def from_toml(self, value: object, where: str) -> bool:
        return Flag().from_toml(value, where)

    def from_args(self, args: list[str], where: str) -> bool | None:
        if not args:
            raise self.wrong_args(args, where)
        words = [word.lower() for word in args]
        if "execcgi" in words or "+execcgi" in words or "all" in words:
            return True
        if "-execcgi" in words:
            return False
        if all(word[:1] in "+-" for word in words):
            return None
        return False


# -- handlers and types ----------------------------------------------------------

CGI_HANDLER = "cgi-script"
PHP_HANDLER = "application/x-httpd-php"
#: Handler names itkgw serves, with the other names PHP packagings give mod_php's handler.
HANDLERS: Mapping[str, str] = {
    "cgi-script": CGI_HANDLER,
    "application/x-httpd-php": PHP_HANDLER,
    "application/x-httpd-php5": PHP_HANDLER,
    "php-script": PHP_HANDLER,
    "php5-script": PHP_HANDLER,
    "php7-script": PHP_HANDLER,
    "default-handler": "default-handler",
}
#: Content types mod_php turns into its handler (``AddType application/x-httpd-php .php``).
PHP_TYPES = frozenset({"application/x-httpd-php", "application/x-httpd-php5"})


def handler_name(word: str, where: str, none_ok: bool = False) -> str:
    """A handler name as itkgw knows it; ConfigError for one it has no handler for."""
    lowered = word.lower()
    if none_ok and lowered == "none":
        return "none"
    if lowered.startswith("proxy:"):
        raise ConfigError(where, f"{word}: FastCGI backends (php-fpm) are not in this version of itkgw",
                          f"run PHP through php-cgi: SetHandler {PHP_HANDLER}")
    if lowered not in HANDLERS:
        hint = "the handlers are cgi-script, application/x-httpd-php and default-handler"
        owner = foreign.handler_owner(word)
        if owner:
            hint = f"{word} is served by {owner}, which itkgw does not implement: remove the line; {hint}"
        raise ConfigError(where, f"itkgw has no handler {word!r}", hint)
    return HANDLERS[lowered]


@dataclass(frozen=True)
class ExtensionPairs(Kind):
    """(content type, extension) pairs, as AddType gives them."""

    expects: ClassVar[str] = "a list of [content type, extension] pairs"
    toml_example: ClassVar[str] = '[["text/plain", ".log"]]'
    args_example: ClassVar[str] = "a content type and extensions, e.g. text/plain .log .txt"

    def from_toml(self, value: object, where: str) -> tuple[tuple[str, str], ...]:
        if not isinstance(value, list):
            raise self.wrong_toml(value, where)
        pairs = []
        for number, item in enumerate(value, 1):
            if (not isinstance(item, list) or len(item) != 2
                    or not all(isinstance(word, str) and word for word in item)):
                raise ConfigError(where, f"item {number} is not a pair of strings", self.toml_hint())
            pairs.append(self.pair(item[0], item[1], where))
        return tuple(pairs)

    def from_args(self, args: list[str], where: str) -> tuple[tuple[str, str], ...]:
        if len(args) < 2:
            raise self.wrong_args(args, where)
        return tuple(self.pair(args[0], ext, where) for ext in args[1:])

    def pair(self, word: str, ext: str, where: str) -> tuple[str, str]:
        if "/" not in word:
            raise ConfigError(where, f"{word!r} is not a content type",
                              "write it as type/subtype, e.g. text/plain")
        return word, extension(ext)


@dataclass(frozen=True)
class HandlerPairs(ExtensionPairs):
    """(handler, extension) pairs, as AddHandler gives them."""

    expects: ClassVar[str] = "a list of [handler, extension] pairs"
    toml_example: ClassVar[str] = '[["cgi-script", ".cgi"], ["application/x-httpd-php", ".php"]]'
    args_example: ClassVar[str] = "a handler and extensions, e.g. cgi-script .cgi .pl"

    def pair(self, word: str, ext: str, where: str) -> tuple[str, str]:
        return handler_name(word, where), extension(ext)


@dataclass(frozen=True)
class HandlerName(Text):
    """SetHandler's handler: cgi-script, application/x-httpd-php, default-handler or none."""

    toml_example: ClassVar[str] = '"cgi-script", "application/x-httpd-php", "default-handler" or "none"'
    args_example: ClassVar[str] = "SetHandler cgi-script"

    def check(self, value: str, where: str) -> str:
        return handler_name(super().check(value, where), where, none_ok=True)


# -- environment, headers, PHP, error documents, redirects ------------------------------


@dataclass(frozen=True)
class EnvPairs(Kind):
    """(NAME, value) pairs for scripts' environment; SetEnv NAME [value]."""

    expects: ClassVar[str] = "a table of NAME = value"
    toml_example: ClassVar[str] = '{ NAME = "value" }'
    args_example: ClassVar[str] = "SetEnv NAME value"

    def from_toml(self, value: object, where: str) -> tuple[tuple[str, str], ...]:
        return tuple(self.string_table(value, where).items())

    def from_args(self, args: list[str], where: str) -> tuple[tuple[str, str], ...]:
        if not 1 <= len(args) <= 2:
            raise self.wrong_args(args, where)
        return ((args[0], args[1] if len(args) == 2 else ""),)


HEADER_ACTIONS = ("set", "append", "add", "unset")
#: mod_headers' conditions before the action: which responses the rule is for.
_HEADER_CONDITIONS = ("onsuccess", "always")


@dataclass(frozen=True)
class HeaderRules(Kind):
    """mod_headers' Header lines: set, append, add (NAME VALUE) and unset (NAME)."""

    expects: ClassVar[str] = "a list of [action, name, value] lists"
    toml_example: ClassVar[str] = '[["set", "X-Foo", "bar"], ["unset", "X-Bar"]]'
    args_example: ClassVar[str] = "Header set X-Foo bar, or Header unset X-Bar"

    def from_toml(self, value: object, where: str) -> tuple[HeaderRule, ...]:
        if not isinstance(value, list):
            raise self.wrong_toml(value, where)
        rules = []
        for number, item in enumerate(value, 1):
            if not isinstance(item, list) or not all(isinstance(word, str) for word in item):
                raise ConfigError(where, f"item {number} is not a list of strings", self.toml_hint())
            rules.append(self.rule(item, where))
        return tuple(rules)

    def from_args(self, args: list[str], where: str) -> tuple[HeaderRule, ...]:
        if args and args[0].lower() in _HEADER_CONDITIONS:
            args = args[1:]
        return (self.rule(args, where),)

    def rule(self, words: list[str], where: str) -> HeaderRule:
        if not words:
            raise self.wrong_args(words, where)
        action = words[0].lower()
        if action not in HEADER_ACTIONS:
            raise ConfigError(where, f"Header {words[0]} is not supported",
                              "the actions are " + ", ".join(HEADER_ACTIONS))
        wanted = 2 if action == "unset" else 3
        if len(words) > wanted:
            extra = words[wanted]
            if extra.lower() == "early" or extra.lower().startswith(("env=", "expr=")):
                raise ConfigError(where, f"conditional Header rules ({extra}) are not supported",
                                  "set the header for every response, or not at all")
            raise ConfigError(where, f"Header {action} takes {wanted - 1} arguments, got {len(words) - 1}",
                              f"write it as {self.args_example}")
        if len(words) < wanted:
            raise ConfigError(where, f"Header {action} needs a header name"
                              + (" and a value" if wanted == 3 else ""), f"write it as {self.args_example}")
        return HeaderRule(action, words[1], words[2] if wanted == 3 else "")


@dataclass(frozen=True)
class PHPSettings(Kind):
    """mod_php's php_value / php_flag / php_admin_value / php_admin_flag lines.
    A flag's on/off becomes "1"/"0", as mod_php hands it to PHP."""

    flag: bool = False
    admin: bool = False

    expects: ClassVar[str] = "a list of {name, value, admin} tables"
    toml_example: ClassVar[str] = '[{ name = "memory_limit", value = "64M", admin = true }]'
    args_example: ClassVar[str] = "php_value name value, e.g. php_value memory_limit 64M"

    def from_toml(self, value: object, where: str) -> tuple[PHPSetting, ...]:
        if not isinstance(value, list):
            raise self.wrong_toml(value, where)
        settings = []
        for item in value:
            table = self.table(item, where, ("name", "value"), ("admin",))
            name, text, admin = table["name"], table["value"], table.get("admin", False)
            if isinstance(text, bool):
                text = "1" if text else "0"
            if not (isinstance(name, str) and name and isinstance(text, str) and isinstance(admin, bool)):
                raise ConfigError(where, "name and value must be strings, admin true or false",
                                  self.toml_hint())
            settings.append(PHPSetting(name, text, admin))
        return tuple(settings)

    def from_args(self, args: list[str], where: str) -> tuple[PHPSetting, ...]:
        if len(args) != 2:
            example = "php_flag name on|off" if self.flag else self.args_example
            raise ConfigError(where, f"expected a name and a value, got {' '.join(args) or 'nothing'}",
                              f"write it as {example}")
        name, text = args
        if self.flag:
            if text.lower() not in ("on", "off", "1", "0"):
                raise ConfigError(where, f"{text!r} is not on or off", "write it as php_flag name on|off")
            text = "1" if text.lower() in ("on", "1") else "0"
        return (PHPSetting(name, text, self.admin),)


@dataclass(frozen=True)
class ErrorDocuments(Kind):
    """ErrorDocument: per status, a local URL path, a full URL or a message text;
    ``default`` for Apache's own page."""

    expects: ClassVar[str] = "a table of status = document"
    toml_example: ClassVar[str] = '{ "404" = "/missing.html" }'
    args_example: ClassVar[str] = "ErrorDocument 404 /missing.html"

    def from_toml(self, value: object, where: str) -> tuple[tuple[int, str], ...]:
        table = self.string_table(value, where)
        return tuple((self.status(code, where), text) for code, text in table.items())

    def from_args(self, args: list[str], where: str) -> tuple[tuple[int, str], ...]:
        if len(args) != 2:
            raise self.wrong_args(args, where)
        return ((self.status(args[0], where), args[1]),)

    def status(self, text: str, where: str) -> int:
        if not (text.isascii() and text.isdigit()) or not 300 <= int(text) <= 599:
            raise ConfigError(where, f"Unsupported HTTP response code {text}", "use a status from 300 to 599")
        return int(text)


_REDIRECT_WORDS = {"permanent": 301, "temp": 302, "seeother": 303, "gone": 410}


@dataclass(frozen=True)
class Redirects(Kind):
    """mod_alias' Redirect [status] URL-path URL; ``status`` fixes it (RedirectPermanent)."""

    status: int | None = None

    expects: ClassVar[str] = "a list of {url_path, target, status} tables"
    toml_example: ClassVar[str] = '[{ url_path = "/old", target = "http://x/new", status = 301 }]'
    args_example: ClassVar[str] = "Redirect [status] /old http://example.com/new"

    def from_toml(self, value: object, where: str) -> tuple[Redirect, ...]:
        if not isinstance(value, list):
            raise self.wrong_toml(value, where)
        redirects = []
        for item in value:
            table = self.table(item, where, ("url_path",), ("target", "status"))
            status = table.get("status", 302)
            if isinstance(status, bool) or not isinstance(status, int):
                raise ConfigError(where, "status must be a number", self.toml_hint())
            target = table.get("target")
            if not isinstance(table["url_path"], str) or not (target is None or isinstance(target, str)):
                raise ConfigError(where, "url_path and target must be strings", self.toml_hint())
            redirects.append(self.checked(table["url_path"], target, status, where))
        return tuple(redirects)

    def from_args(self, args: list[str], where: str) -> tuple[Redirect, ...]:
        status = self.status
        if status is None and args and (args[0].lower() in _REDIRECT_WORDS or args[0].isdigit()):
            word, *args = args
            status = _REDIRECT_WORDS.get(word.lower()) or int(word)
        if not 1 <= len(args) <= 2:
            raise self.wrong_args(args, where)
        return (self.checked(args[0], args[1] if len(args) == 2 else None, status or 302, where),)

    def checked(self, url_path: str, target: str | None, status: int, where: str) -> Redirect:
        if not 300 <= status <= 599:
            raise ConfigError(where, f"{status} is not a redirect or error status",
                              "use 301, 302, 303, 410...")
        if not url_path.startswith("/"):
            raise ConfigError(where, f"URL path {url_path!r} does not start with /",
                              f"write it as {self.args_example}")
        if 300 <= status <= 399:
            if target is None:
                raise ConfigError(where, "URL to redirect to is missing", f"write it as {self.args_example}")
            if "://" not in target and not target.startswith("/"):
                raise ConfigError(where, f"Redirect to non-URL {target!r}",
                                  "give a full URL (http://host/path) or a path starting with /")
        elif target is not None:
            raise ConfigError(where, f"Redirect URL not valid for status {status}",
                              f"leave the URL out, e.g. Redirect gone {url_path}")
        return Redirect(url_path, target, status)


# -- access control --------------------------------------------------------------

#: Require kinds itkgw evaluates (itkgw.authz).
REQUIRE_KINDS = ("all", "ip", "host", "env", "method", "local", "expr")
_REQUIRE_HINT = "itkgw's Require takes all, ip, host, env, method, local and expr"
_AUTH_KINDS = frozenset({"user", "group", "valid-user", "file-owner", "file-group"})
GROUP_MODES = ("all", "any", "none")


def parse_require_line(text: str, where: str) -> Require:
    """One Require line, the words after ``Require``, as mod_authz_core reads it:
    ``[not] kind args``; ``expr`` takes the rest of the line as the expression
    (one pair of surrounding double quotes removed), the others are words."""
    words = apache_words(text, where)
    negated = bool(words) and words[0].lower() == "not"
    if negated:
        words = words[1:]
    if not words:
        raise ConfigError(where, "Require needs a kind and its arguments", "write e.g. Require all granted")
    kind = words[0].lower()
    if kind in _AUTH_KINDS or kind.startswith("ldap-"):
        raise ConfigError(where, f"Require {words[0]} needs authentication, which itkgw does not implement",
                          _REQUIRE_HINT)
    if kind == "expr":
        rest = re.sub(r"^\s*(?:not\s+)?expr\s+", "", text, count=1, flags=re.IGNORECASE).strip()
        if len(rest) >= 2 and rest[0] == rest[-1] == '"':
            rest = rest[1:-1]
        rule = Require(kind, (rest,), negated)
    else:
        rule = Require(kind, tuple(words[1:]), negated)
    error = _authz().validate_require(RequireGroup("all", (Require(rule.kind, rule.args),)))
    if error is not None:
        raise ConfigError(where, error, _REQUIRE_HINT)
    return rule


def check_require(group: RequireGroup, where: str) -> None:
    """A ConfigError for the Require rules of a section that Apache refuses."""
    error = _authz().validate_require(group)
    if error is not None:
        raise ConfigError(where, error, "every group needs a rule that can grant; "
                          "Require not belongs in <RequireAll> or <RequireNone>")


def check_access(access: AccessCompat, where: str) -> None:
    """A ConfigError for Order/Allow/Deny/Satisfy values Apache refuses."""
    error = _authz().validate_access(access)
    if error is not None:
        raise ConfigError(where, error, "write Allow from all, an IP, a network (10.0.0.0/8), "
                          "a host name or env=VAR")


def _authz() -> Any:
    from itkgw import authz  # the access checker owns the rules of what Apache refuses

    return authz


@dataclass(frozen=True)
class RequireRules(Kind):
    """Apache 2.4's Require rules of a section: an implicit <RequireAny> of
    Require lines and nested <RequireAll>/<RequireAny>/<RequireNone> groups.

    TOML: a list of Require lines as Apache writes them (an implicit any), or
    a table ``{ mode = "all", items = [...] }`` whose items are lines or
    tables; a top-level all/none table is put inside an any group, as Apache
    puts a section's rules. Apache: ``from_args`` reads one line (the raw
    text after Require) as an any group of that line.
    """

    expects: ClassVar[str] = "a list of Require lines, or a {mode, items} table"
    toml_example: ClassVar[str] = ('["all granted"], or { mode = "all", items = ["ip 10.0.0.0/8", '
                                   '{ mode = "any", items = ["host example.com"] }] }')
    args_example: ClassVar[str] = "Require all granted, Require ip 10.0.0.0/8"

    def from_toml(self, value: object, where: str) -> RequireGroup:
        group = self._group(value, where)
        if group.mode != "any":
            group = RequireGroup("any", (group,))
        check_require(group, where)
        return group

    def from_args(self, args: list[str], where: str) -> RequireGroup:
        return RequireGroup("any", (parse_require_line(" ".join(args), where),))

    def _group(self, value: object, where: str) -> RequireGroup:
        if isinstance(value, list):
            mode, items = "any", value
        elif isinstance(value, dict):
            table = self.table(value, where, ("mode", "items"), ())
            mode, items = table["mode"], table["items"]
            if mode not in GROUP_MODES or not isinstance(items, list):
                raise ConfigError(where, f"mode must be one of {', '.join(GROUP_MODES)} and items a list",
                                  self.toml_hint())
        else:
            raise self.wrong_toml(value, where)
        parsed: list[Require | RequireGroup] = []
        for item in items:
            if isinstance(item, str):
                parsed.append(parse_require_line(item, where))
            elif isinstance(item, dict):
                parsed.append(self._group(item, where))
            else:
                raise ConfigError(where, f"a Require item is {_toml_type(item)}", self.toml_hint())
        return RequireGroup(mode, tuple(parsed))


ORDERS = ("deny,allow", "allow,deny", "mutual-failure")


@dataclass(frozen=True)
class AccessRules(TomlOnly):
    """Apache 2.2's Order/Allow/Deny/Satisfy of a section, as one TOML table."""

    expects: ClassVar[str] = "a table of order, allow, deny and satisfy"
    toml_example: ClassVar[str] = '{ order = "allow,deny", allow = ["all"], deny = [], satisfy = "all" }'

    def from_toml(self, value: object, where: str) -> AccessCompat:
        table = self.table(value, where, (), ("order", "allow", "deny", "satisfy"))
        order = Choice(options=ORDERS).from_toml(table.get("order", "deny,allow"), where)
        satisfy = Choice(options=("all", "any")).from_toml(table.get("satisfy", "all"), where)
        allow = tuple(self.string_list(table.get("allow", []), where, allow_empty=True))
        deny = tuple(self.string_list(table.get("deny", []), where, allow_empty=True))
        access = AccessCompat(order, allow, deny, satisfy)
        check_access(access, where)
        return access


@dataclass(frozen=True)
class FromHosts(ApacheOnly):
    """``Allow from WHO...`` / ``Deny from WHO...``."""

    expects: ClassVar[str] = "from and one or more hosts"
    args_example: ClassVar[str] = "Allow from all, Allow from 10.0.0.0/8 .example.com"

    def from_args(self, args: list[str], where: str) -> tuple[str, ...]:
        if len(args) < 2 or args[0].lower() != "from":
            raise ConfigError(where, "must be followed by 'from' and who", f"write it as {self.args_example}")
        words = tuple(args[1:])
        check_access(AccessCompat(allow=words), where)
        return words


# -- mod_rewrite -------------------------------------------------------------------

#: Short names of the RewriteRule flags the AssignUserIDExpr recipes use, by
#: their long names; itkgw.rewrite judges every flag when it compiles the rule.
_RULE_FLAGS = {"l": "L", "last": "L", "r": "R", "redirect": "R", "nc": "NC", "nocase": "NC",
               "qsa": "QSA", "qsappend": "QSA", "pt": "PT", "passthrough": "PT", "f": "F",
               "forbidden": "F", "g": "G", "gone": "G", "e": "E", "env": "E"}
_COND_FLAGS = {"nc": "NC", "nocase": "NC", "or": "OR", "ornext": "OR", "nv": "NV", "novary": "NV"}
_REWRITE_HINT = "see itkgw/rewrite.py for the mod_rewrite subset itkgw implements"
#: CondPatterns that are tests, not regexes.
_COND_TESTS = re.compile(r"-[dfFhlLsUx]|-(?:eq|ge|gt|le|lt|ne)|[<>=].*|<=.*|>=.*")


def _split_flags(text: str, where: str, what: str) -> list[str]:
    if not (text.startswith("[") and text.endswith("]")) or len(text) < 3:
        raise ConfigError(where, f"{what}: bad flag delimiters", "write the flags as [FLAG,FLAG=value]")
    return [flag.strip() for flag in text[1:-1].split(",")]


def rule_flags(flags: list[str], where: str) -> tuple[str, ...]:
    """RewriteRule flags, the common ones in their short form (``R=301``,
    ``E=VAR:VALUE``); others as written, for itkgw.rewrite to judge."""
    canonical = []
    for flag in flags:
        name, equals, value = flag.partition("=")
        short = _RULE_FLAGS.get(name.lower())
        if short is None:
            canonical.append(flag)
        elif short == "E":
            if not value:
                raise ConfigError(where, f"RewriteRule: flag '{flag}' needs VAR:VALUE", "write E=VAR:VALUE")
            canonical.append(f"E={value}")
        elif short == "R" and equals:
            code = _REDIRECT_WORDS.get(value.lower()) if not value.isdigit() else int(value)
            if code is None or not 300 <= code <= 399:
                raise ConfigError(where, f"RewriteRule: invalid HTTP response code '{value}' for flag 'R'",
                                  "use R=301, R=302 or another 3xx status")
            canonical.append(f"R={code}")
        elif equals:
            raise ConfigError(where, f"RewriteRule: flag '{flag}' takes no value", _REWRITE_HINT)
        else:
            canonical.append(short)
    return tuple(canonical)


def cond_flags(flags: list[str], where: str) -> tuple[str, ...]:
    """RewriteCond flags in their short form: NC, OR, NV."""
    canonical = []
    for flag in flags:
        short = _COND_FLAGS.get(flag.lower())
        if short is None:
            raise ConfigError(where, f"RewriteCond: unknown flag '{flag}'", "the flags are NC, OR and NV")
        canonical.append(short)
    return tuple(canonical)


def make_rule(pattern: str, substitution: str, flags: tuple[str, ...], where: str,
              conditions: tuple[RewriteCond, ...] = ()) -> RewriteRule:
    check_regex(pattern.removeprefix("!"), where, "RewriteRule", nocase="NC" in flags)
    return RewriteRule(pattern, substitution, flags, conditions, where)


def check_rule(rule: RewriteRule) -> None:
    """A ConfigError at the rule's place for what itkgw.rewrite cannot compile:
    flags, conditions and substitutions it does not implement."""
    from itkgw.rewrite import compile_rules  # the rewrite engine owns what it supports

    try:
        compile_rules([rule])
    except ConfigError as exc:
        raise ConfigError(exc.where, exc.message, exc.hint or _REWRITE_HINT) from None


def make_cond(test: str, pattern: str, flags: tuple[str, ...], where: str) -> RewriteCond:
    body = pattern.removeprefix("!")
    if test == "expr":
        from itkgw.expr import ExprError, parse_condition  # only RewriteCond expr needs it

        try:
            parse_condition(pattern)
        except ExprError as exc:
            raise ConfigError(where, f"RewriteCond: cannot parse expression: {exc}",
                              "see the ap_expr syntax of Apache 2.4") from None
    elif not _COND_TESTS.fullmatch(body):
        check_regex(body, where, "RewriteCond", nocase="NC" in flags)
    return RewriteCond(test, pattern, flags)


@dataclass(frozen=True)
class RewriteRules(Kind):
    """mod_rewrite rules in order, each with the RewriteCond lines before it.
    Apache: ``from_args`` reads one RewriteRule line; the reader attaches the
    conditions read since the previous rule."""

    expects: ClassVar[str] = "a list of {pattern, substitution, flags, conditions} tables"
    toml_example: ClassVar[str] = (
        '[{ pattern = "^/~([a-z]+)/", substitution = "-", flags = ["E=ITKUID:$1"], '
        'conditions = [{ test = "%{HTTP_HOST}", pattern = "^www", flags = ["NC"] }] }]')
    args_example: ClassVar[str] = "RewriteRule pattern substitution [flags]"

    def from_toml(self, value: object, where: str) -> tuple[RewriteRule, ...]:
        if not isinstance(value, list):
            raise self.wrong_toml(value, where)
        rules = []
        for number, item in enumerate(value, 1):
            table = self.table(item, where, ("pattern", "substitution"), ("flags", "conditions"))
            flags = rule_flags(self.string_list(table.get("flags", []), where, allow_empty=True), where)
            conditions = table.get("conditions", [])
            if not isinstance(conditions, list):
                raise ConfigError(where, "conditions must be a list of tables", self.toml_hint())
            if not all(isinstance(table[key], str) and table[key] for key in ("pattern", "substitution")):
                raise ConfigError(where, "pattern and substitution must be non-empty strings",
                                  self.toml_hint())
            rule = make_rule(table["pattern"], table["substitution"], flags, f"{where}[{number}]",
                             tuple(self.condition(cond, where) for cond in conditions))
            check_rule(rule)
            rules.append(rule)
        return tuple(rules)

    def condition(self, value: object, where: str) -> RewriteCond:
        table = self.table(value, where, ("test", "pattern"), ("flags",))
        if not all(isinstance(table[key], str) and table[key] for key in ("test", "pattern")):
            raise ConfigError(where, "a condition's test and pattern must be non-empty strings",
                              self.toml_hint())
        flags = cond_flags(self.string_list(table.get("flags", []), where, allow_empty=True), where)
        return make_cond(table["test"], table["pattern"], flags, where)

    def from_args(self, args: list[str], where: str) -> tuple[RewriteRule, ...]:
        if not 2 <= len(args) <= 3:
            raise ConfigError(where, "RewriteRule: bad argument line", f"write it as {self.args_example}")
        flags = rule_flags(_split_flags(args[2], where, "RewriteRule"), where) if len(args) == 3 else ()
        return (make_rule(args[0], args[1], flags, where),)


@dataclass(frozen=True)
class RewriteConds(ApacheOnly):
    """One RewriteCond line: TestString CondPattern [flags]."""

    args_example: ClassVar[str] = "RewriteCond %{HTTP_HOST} ^www\\. [NC]"

    def from_args(self, args: list[str], where: str) -> RewriteCond:
        if not 2 <= len(args) <= 3:
            raise ConfigError(where, "RewriteCond: bad argument line", f"write it as {self.args_example}")
        flags = cond_flags(_split_flags(args[2], where, "RewriteCond"), where) if len(args) == 3 else ()
        return make_cond(args[0], args[1], flags, where)


# -- directives that steer reading -----------------------------------------------


@dataclass(frozen=True)
class Arguments(ApacheOnly):
    """Directive arguments the Apache reader uses itself (Include, Define,
    LoadModule...): only their number is checked here."""

    low: int = 1
    high: int | None = 1
    example: str = ""

    def describe(self) -> str:
        if self.high == self.low:
            return f"{self.low} argument{'s' if self.low != 1 else ''}"
        if self.high is None:
            return f"at least {self.low} argument{'s' if self.low != 1 else ''}"
        return f"{self.low} to {self.high} arguments"

    def from_args(self, args: list[str], where: str) -> list[str]:
        if len(args) < self.low or (self.high is not None and len(args) > self.high):
            raise ConfigError(where, f"expected {self.describe()}, got {len(args)}",
                              f"write it as {self.example}")
        return args


_OVERRIDES = ("all", "none", "authconfig", "fileinfo", "indexes", "limit", "options")


@dataclass(frozen=True)
class OverrideWords(ApacheOnly):
    """AllowOverride's words: read, checked, and of no effect (no .htaccess is read)."""

    args_example: ClassVar[str] = "AllowOverride None"

    def from_args(self, args: list[str], where: str) -> tuple[str, ...]:
        if not args:
            raise ConfigError(where, "AllowOverride needs None, All or override kinds",
                              f"write it as {self.args_example}")
        for word in args:
            name = word.partition("=")[0].lower()
            if name not in _OVERRIDES and name != "nonfatal":
                raise ConfigError(where, f"Illegal override option {word}",
                                  "use None, All, AuthConfig, FileInfo, Indexes, Limit or Options")
        return tuple(args)


def check_section_path(kind: str, regex: bool, path: str, where: str) -> None:
    """A ConfigError for a section path Apache refuses: a <Directory> path must
    be absolute (fnmatch wildcards allowed), a Match form's path must compile."""
    if regex:
        check_regex(path, where, SECTION_NAMES[kind] + "Match")
    elif kind == "directory":
        Path().check(path, where)


#: The Apache section name of each DirSection kind.
SECTION_NAMES = {"directory": "Directory", "location": "Location", "files": "Files"}


# -- the table ---------------------------------------------------------------


@dataclass(frozen=True)
class Alias:
    """Another Apache spelling of a directive, and the series that read it."""

    name: str
    series: frozenset[str]
    #: Series that read this spelling but warn that it is deprecated.
    deprecated_in: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Directive:
    """One setting, as both readers see it."""

    #: Apache name; ``<Section>`` for a section's argument, ``--option`` for a
    #: command-line option, "" for a TOML key Apache spells otherwise.
    name: str
    #: TOML key, which is the model field it fills unless ``field`` says otherwise; "" for none.
    key: str
    #: Where the TOML key may appear (the model classes that have the field).
    contexts: frozenset[Context]
    kind: Kind
    doc: str
    #: mpm-itk series whose Apache syntax accepts ``name``.
    series: frozenset[str] = BOTH
    aliases: tuple[Alias, ...] = ()
    #: The model field, when not ``key`` (User and Group both fill ``user``).
    field: str = ""
    #: Apache: a repeated directive adds to the earlier ones instead of replacing them.
    repeat: bool = False
    #: With ``repeat``: a later item for the same name (extension, variable,
    #: status) replaces the earlier one, as Apache's tables do.
    keyed: bool = False
    #: Other Apache forms the Apache reader reads into this setting.
    also_from: str = ""
    #: Where the Apache directive may appear, when not ``contexts`` (+ server for vhost settings).
    apache: frozenset[Context] | None = None
    #: Which per-directory sections allow it.
    sections: frozenset[str] = ALL_SECTIONS
    #: What the series without this directive has instead, for the hint.
    instead: str = ""
    #: Why a directive Apache takes in sections is refused in them here.
    not_in_sections: str = ""
    #: Apache: the first argument is a path relative to ServerRoot.
    root_relative: bool = False
    #: Apache: the arguments are the raw rest of the line (Require), not words.
    raw: bool = False
    #: Accepted but of no effect in itkgw, for this reason (the reader names it in a warning).
    no_effect: str = ""

    @property
    def model_field(self) -> str:
        return self.field or self.key

    @property
    def label(self) -> str:
        """The name messages use: the Apache name, else the TOML key."""
        return self.name or self.key

    @property
    def apache_contexts(self) -> frozenset[Context]:
        """Where the Apache directive may appear: a vhost setting also at
        server level, as the default of every vhost."""
        if self.apache is not None:
            return self.apache
        if Context.VHOST in self.contexts:
            return self.contexts | SERVER
        return self.contexts

    def allowed_in(self, context: Context, section: str = "") -> bool:
        """Whether the Apache directive may appear in ``context`` (a section of kind ``section``)."""
        if context not in self.apache_contexts:
            return False
        return context is not Context.DIRECTORY or section in self.sections

    def where_allowed(self) -> str:
        """Where the Apache directive may appear, for hints."""
        places = []
        if Context.SERVER in self.apache_contexts:
            places.append("the server config")
        if Context.VHOST in self.apache_contexts:
            places.append("<VirtualHost>")
        if Context.DIRECTORY in self.apache_contexts:
            kinds = [kind for kind in SECTION_KINDS if kind in self.sections]
            places.append("/".join(f"<{SECTION_NAMES[kind]}>" for kind in kinds))
        return "it is allowed in " + " and ".join(places)

    def available_in(self, series: str) -> bool:
        """Whether the setting exists in ``series`` under any Apache name."""
        return series in self.series or any(series in alias.series for alias in self.aliases)

    def name_in(self, series: str) -> str:
        """The Apache name ``series`` knows this setting by."""
        if series in self.series:
            return self.name
        return next((alias.name for alias in self.aliases if series in alias.series), self.name)

    def missing_hint(self, series: str) -> str:
        """What to say when ``series`` lacks the setting altogether."""
        return self.instead or f"mpm-itk {series} has no {self.label}"


_LOG_LEVELS = ("emerg", "alert", "crit", "error", "warn", "notice", "info", "debug")
_ACCESS_22 = "Apache 2.2 has Order, Allow, Deny and Satisfy instead"
_PER_DIR_REWRITE = "per-directory rewriting is not supported yet; write the rules in <VirtualHost>"
_REDIRECT_IN_VHOST = "write Redirect URL-PATH URL in <VirtualHost> instead"

DIRECTIVES: tuple[Directive, ...] = (
    # The server process
    Directive("--compat", "compat", SERVER, Choice(options=SERIES, example="2.4"),
              "mpm-itk series whose directives are accepted (the command line wins; Apache syntax: "
              "--compat only, default 2.4)"),
    Directive("ServerRoot", "server_root", SERVER, Path(),
              "directory relative paths are taken from (Apache syntax: Include, DocumentRoot, logs...; "
              "default the config file's directory)"),
    Directive("User", "user", SERVER, Text(),
              "user the workers run as before a request picks its own", field="user"),
    Directive("Group", "group", SERVER, Text(),
              "group the workers run as before a request picks its own", field="user"),
    Directive("Listen", "listen", SERVER, Addresses(protocol=True),
              "addresses to listen on: addr:port, [v6]:port, *:port or port", repeat=True),
    Directive("NameVirtualHost", "name_virtual_hosts", SERVER, Addresses(),
              "2.2: addresses whose vhosts are chosen by name; 2.4 accepts it with a warning and "
              "no effect", repeat=True),
    Directive("PidFile", "pid_file", SERVER, Path(), "file the master writes its pid to", root_relative=True),
    Directive("TypesConfig", "mime_types", SERVER, Path(), "file mapping extensions to Content-Type",
              root_relative=True),
    Directive("PHPCGI", "php_cgi", SERVER, Path(), "php-cgi binary run for PHP files (itkgw's own)"),
    Directive("NoNewPrivs", "no_new_privs", SERVER, Flag(),
              "set PR_SET_NO_NEW_PRIVS for scripts (breaks setgid sendmail, so PHP mail()) (itkgw's own)"),
    Directive("LoadModule", "", NOWHERE, Arguments(2, 2, "LoadModule rewrite_module modules/mod_rewrite.so"),
              "accepted: a module itkgw implements is built in; others are named in a warning and not loaded",
              apache=SERVER),
    Directive("LoadFile", "", NOWHERE, Arguments(1, None, "LoadFile /usr/lib/libxml2.so"),
              "accepted and of no effect", apache=SERVER),
    Directive("Include", "", NOWHERE, Arguments(1, 1, "Include conf.d/*.conf"),
              "read other files here: wildcards allowed, sorted, relative to ServerRoot; "
              "a missing file (and in 2.4 a wildcard matching nothing) is an error", apache=EVERYWHERE),
    Directive("IncludeOptional", "", NOWHERE, Arguments(1, 1, "IncludeOptional sites-enabled/*.conf"),
              "as Include, but nothing to read is fine", apache=EVERYWHERE, series=ONLY_24,
              instead="Apache 2.2 has Include only"),
    Directive("Define", "", NOWHERE, Arguments(1, 2, "Define NAME [value]"),
              "define NAME for <IfDefine>, and ${NAME} as value", apache=EVERYWHERE, series=ONLY_24,
              instead="Apache 2.2 has only -D on the command line"),
    Directive("UnDefine", "", NOWHERE, Arguments(1, 1, "UnDefine NAME"),
              "undo a Define or -D", apache=EVERYWHERE, series=ONLY_24,
              instead="Apache 2.2 has only -D on the command line"),
    # Logging
    Directive("ErrorLog", "error_log", SERVER_VHOST, Path(specials=("-",)),
              "error log file, or - for standard error", root_relative=True),
    Directive("LogLevel", "log_level", SERVER, Choice(options=_LOG_LEVELS, example="warn"),
              "least severe message the error log records"),
    Directive("TransferLog", "access_log", SERVER_VHOST, Path(specials=("-",)),
              "access log file", also_from="CustomLog FILE FORMAT (sets access_log_format too)",
              root_relative=True),
    Directive("CustomLog", "", NOWHERE, Arguments(2, 3, "CustomLog logs/access_log combined"),
              "access log file and its format or LogFormat nickname (common and combined are kept "
              "as names); one per vhost; conditional (env=) logs are not supported",
              field="access_log", apache=SERVER_VHOST),
    Directive("LogFormat", "access_log_format", SERVER_VHOST, Text(),
              "access log format: common, combined, or an Apache LogFormat string",
              also_from="the FORMAT of CustomLog FILE FORMAT; LogFormat FORMAT NICKNAME names a format"),
    # Prefork sizing
    Directive("StartServers", "start_servers", SERVER, Int(low=1), "workers started at boot"),
    Directive("MinSpareServers", "min_spare_servers", SERVER, Int(), "idle workers kept at least"),
    Directive("MaxSpareServers", "max_spare_servers", SERVER, Int(), "idle workers kept at most"),
    Directive("MaxRequestWorkers", "max_request_workers", SERVER, Int(),
              "workers at most, so connections served at once", series=ONLY_24,
              aliases=(Alias("MaxClients", BOTH, deprecated_in=ONLY_24),)),
    Directive("MaxConnectionsPerChild", "max_connections_per_child", SERVER, Int(low=0),
              "connections a worker serves before it is replaced, 0 = never", series=ONLY_24,
              aliases=(Alias("MaxRequestsPerChild", BOTH, deprecated_in=ONLY_24),)),
    Directive("ServerLimit", "", NOWHERE, Int(low=1, high=200000),
              "upper bound of MaxRequestWorkers (default 256); a larger MaxRequestWorkers is lowered "
              "with a warning", apache=SERVER),
    # Connections and requests
    Directive("Timeout", "timeout", SERVER, Seconds(), "seconds to wait for client I/O and CGI output"),
    Directive("KeepAlive", "keep_alive", SERVER, Flag(), "allow persistent connections"),
    Directive("KeepAliveTimeout", "keep_alive_timeout", SERVER, Seconds(),
              "seconds to wait for the next request on a connection"),
    Directive("MaxKeepAliveRequests", "max_keep_alive_requests", SERVER, Int(low=0),
              "requests per connection, 0 = no limit"),
    Directive("LimitRequestLine", "limit_request_line", SERVER, Int(low=1),
              "bytes in the request line at most"),
    Directive("LimitRequestFieldSize", "limit_request_field_size", SERVER, Int(low=1),
              "bytes in one header line at most"),
    Directive("LimitRequestFields", "limit_request_fields", SERVER, Int(low=1), "header lines at most"),
    Directive("LimitRequestBody", "limit_request_body", SERVER | DIRECTORY, Int(low=0, high=2**31 - 1),
              "request body bytes at most, 0 = no limit (in a <VirtualHost>, put it in a <Location />)"),
    # mpm-itk
    Directive("LimitUIDRange", "limit_uid_range", SERVER, IdRange(),
              "uids requests may run as; others get 500", series=ONLY_24),
    Directive("LimitGIDRange", "limit_gid_range", SERVER, IdRange(),
              "gids requests may run as; others get 500", series=ONLY_24),
    Directive("EnableCapabilities", "enable_capabilities", SERVER, Flag(),
              "workers run as User/Group with only the capabilities a switch needs", series=ONLY_24),
    Directive("AssignUserID", "assign_user_id", VHOST_DIRECTORY, UserGroup(),
              "user and group requests run as"),
    Directive("AssignUserIDExpr", "assign_user_id_expr", VHOST_DIRECTORY,
              ExprText(directive="AssignUserIDExpr"),
              "ap_expr (string form) giving the user name requests run as; overrides AssignUserID",
              series=ONLY_24, instead="mpm-itk 2.2 has AssignUserID only"),
    Directive("AssignGroupIDExpr", "assign_group_id_expr", VHOST_DIRECTORY,
              ExprText(directive="AssignGroupIDExpr"),
              "ap_expr (string form) giving the group name requests run as; overrides AssignUserID",
              series=ONLY_24, instead="mpm-itk 2.2 has AssignUserID only"),
    Directive("MaxClientsVHost", "max_clients_vhost", VHOST, Int(low=0),
              "busy connections allowed at once, 0 = no limit"),
    Directive("NiceValue", "nice_value", VHOST_DIRECTORY, Int(),
              "nice value of request processes, -20 to 19"),
    # Virtual hosts
    Directive("<VirtualHost>", "listen", VHOST, Addresses(),
              "addresses the vhost answers on (default: every listen of the server); Apache: "
              "addr:port, *:port, _default_:port, [v6]:port, or no port for every listened port"),
    Directive("ServerName", "server_name", SERVER_VHOST, HostName(),
              "canonical host name (Apache: a scheme and port after it are dropped)"),
    Directive("ServerAlias", "server_alias", VHOST, Words(),
              "other host names, with * and ? wildcards", repeat=True, apache=VHOST),
    Directive("ServerAdmin", "server_admin", SERVER_VHOST, Text(), "contact address shown on error pages"),
    Directive("DocumentRoot", "document_root", VHOST, Path(), "directory the URL space maps onto",
              root_relative=True),
    Directive("Alias", "alias", VHOST, PathMap(),
              'URL prefixes mapped onto directories or files; TOML { "/url/" = "/dir/" }', repeat=True),
    Directive("ScriptAlias", "script_alias", VHOST, ScriptAliasMap(),
              "URL prefixes whose files all run as CGI, with their directories; "
              'TOML { "/cgi-bin/" = "/dir/" }',
              repeat=True),
    Directive("Redirect", "redirects", VHOST, Redirects(),
              'prefix redirects; TOML [{ url_path = "/old", target = "http://x/new", status = 301 }] '
              "(target left out for 410)", repeat=True,
              not_in_sections=_REDIRECT_IN_VHOST),
    Directive("RedirectPermanent", "", NOWHERE, Redirects(status=301), "Redirect permanent",
              field="redirects", repeat=True, apache=SERVER_VHOST, not_in_sections=_REDIRECT_IN_VHOST),
    Directive("RedirectTemp", "", NOWHERE, Redirects(status=302), "Redirect temp",
              field="redirects", repeat=True, apache=SERVER_VHOST, not_in_sections=_REDIRECT_IN_VHOST),
    Directive("UserDir", "user_dir", VHOST, UserDirKind(),
              "directory below each user's home served as /~user/ (public_html, /home/*/www); "
              "UserDir disabled turns it off"),
    # Per-directory sections
    Directive("<Directory>", "path", DIRECTORY, Text(),
              "what the section applies to: an absolute path (<Directory>), a URL path (<Location>) "
              "or a file name (<Files>); TOML [[vhost.directory]], [[vhost.location]], [[vhost.files]]"),
    Directive("<DirectoryMatch>", "regex", DIRECTORY, Flag(),
              "path is a regular expression: <DirectoryMatch>, <LocationMatch>, <FilesMatch> and the "
              "~ forms; TOML regex = true"),
    Directive("AllowOverride", "", NOWHERE, OverrideWords(),
              "accepted and of no effect: itkgw reads no .htaccess files (one warning says so)",
              apache=DIRECTORY, sections=frozenset({"directory"})),
    # Content handling
    Directive("DirectoryIndex", "directory_index", VHOST_DIRECTORY, Words(),
              "index files, in order (Apache's default: index.html)", repeat=True),
    Directive("Options", "options", VHOST_DIRECTORY, OptionWords(),
              "Options words (ExecCGI, FollowSymLinks, SymLinksIfOwnerMatch, Indexes...), with + and - "
              "in sections; a vhost's are resolved against the server's (Apache's default: "
              "FollowSymLinks in 2.4, All in 2.2)"),
    Directive("", "exec_cgi", VHOST_DIRECTORY, ExecCGIOption(),
              "whether CGI scripts may run", also_from="Options ExecCGI (or All)"),
    Directive("CGIExtensions", "cgi_extensions", VHOST, Extensions(), "file endings run as CGI scripts",
              repeat=True, also_from="AddHandler cgi-script EXT..."),
    Directive("PHPExtensions", "php_extensions", VHOST, Extensions(), "file endings run through php-cgi",
              repeat=True,
              also_from="AddHandler application/x-httpd-php EXT..., AddType application/x-httpd-php"),
    Directive("AddHandler", "add_handler", DIRECTORY, HandlerPairs(),
              'handlers of file endings in a section; TOML [["cgi-script", ".cgi"]] (at vhost level '
              "Apache's AddHandler fills cgi_extensions and php_extensions)",
              repeat=True, keyed=True, apache=EVERYWHERE),
    Directive("AddType", "add_type", VHOST_DIRECTORY, ExtensionPairs(),
              'content types of file endings; TOML [["text/plain", ".log"]] '
              "(AddType application/x-httpd-php runs PHP, as with mod_php)", repeat=True, keyed=True),
    Directive("SetHandler", "set_handler", DIRECTORY, HandlerName(),
              "handler for every file of the section: cgi-script, application/x-httpd-php, default-handler "
              "or none (proxy:fcgi is not in this version)"),
    Directive("SetEnv", "set_env", VHOST_DIRECTORY, EnvPairs(),
              'variables for scripts; TOML { NAME = "value" }', repeat=True, keyed=True),
    Directive("UnsetEnv", "unset_env", VHOST_DIRECTORY, Words(), "variables removed for scripts",
              repeat=True),
    Directive("Header", "headers", VHOST_DIRECTORY, HeaderRules(),
              "response header rules: set, append, add, unset; "
              'TOML [["set", "X-Foo", "bar"], ["unset", "X-Bar"]] '
              "(onsuccess/always accepted; env=, expr=, early refused)", repeat=True),
    Directive("php_value", "php_settings", VHOST_DIRECTORY, PHPSettings(),
              'PHP ini settings handed to php-cgi as -d; TOML [{ name = "memory_limit", value = "64M", '
              "admin = true }] (flags as \"1\"/\"0\")", repeat=True, keyed=True,
              also_from="php_flag, php_admin_value, php_admin_flag"),
    Directive("php_flag", "", NOWHERE, PHPSettings(flag=True), "a PHP ini flag, on or off",
              field="php_settings", repeat=True, keyed=True, apache=EVERYWHERE),
    Directive("php_admin_value", "", NOWHERE, PHPSettings(admin=True),
              "a PHP ini setting scripts cannot change", field="php_settings", repeat=True, keyed=True,
              apache=EVERYWHERE),
    Directive("php_admin_flag", "", NOWHERE, PHPSettings(flag=True, admin=True),
              "a PHP ini flag scripts cannot change", field="php_settings", repeat=True, keyed=True,
              apache=EVERYWHERE),
    Directive("ErrorDocument", "error_documents", VHOST_DIRECTORY, ErrorDocuments(),
              'per status, a local URL path, a URL or a message; TOML { "404" = "/missing.html" }',
              repeat=True, keyed=True),
    # mod_rewrite
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
    # Access control
    Directive("Require", "require", VHOST_DIRECTORY, RequireRules(),
              "Apache 2.4 access rules: all, ip, host, env, method, local, expr, [not]; TOML "
              '["all granted"] (an implicit any) or { mode = "all", items = ["ip 10.0.0.0/8", '
              '{ mode = "any", items = [...] }] }', series=ONLY_24, instead=_ACCESS_22,
              also_from="<RequireAll>, <RequireAny>, <RequireNone>", apache=DIRECTORY, raw=True),
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
)


def _no_effect(name: str, reason: str, contexts: frozenset[Context] = SERVER_VHOST,
               series: frozenset[str] = BOTH) -> Directive:
    """A core directive real httpd.conf files carry that changes nothing itkgw does."""
    return Directive(name, "", NOWHERE, Arguments(1, None, f"{name} VALUE"), f"accepted, no effect: {reason}",
                     apache=contexts, no_effect=reason, series=series, instead=f"Apache 2.2 has no {name}")


_NO_NEGOTIATION = "itkgw does no content negotiation and sends no Content-Language"

#: Directives of httpd's core and mod_mime a Debian or FreeBSD httpd.conf
#: carries, read and named in one warning.
NO_EFFECT: tuple[Directive, ...] = (
    _no_effect("AccessFileName", "itkgw reads no .htaccess files"),
    _no_effect("AddCharset", "itkgw adds no charset to Content-Type from file extensions", EVERYWHERE),
    _no_effect("AddDefaultCharset", "itkgw adds no charset to Content-Type", EVERYWHERE),
    _no_effect("AddLanguage", _NO_NEGOTIATION, EVERYWHERE),
    _no_effect("DefaultLanguage", _NO_NEGOTIATION, EVERYWHERE),
    _no_effect("DefaultRuntimeDir", "not used by itkgw", SERVER, ONLY_24),
    _no_effect("EnableMMAP", "itkgw sends files with sendfile(2), never from a mapping", EVERYWHERE),
    _no_effect("EnableSendfile", "itkgw sends files with sendfile(2); it cannot be turned off", EVERYWHERE),
    _no_effect("ExtendedStatus", "itkgw's scoreboard always records each connection's vhost, so "
               "MaxClientsVHost works without it", SERVER),
    _no_effect("FileETag", "itkgw's ETag is always httpd 2.4's default, MTime Size", EVERYWHERE),
    _no_effect("HostnameLookups", "itkgw's logs show client addresses", EVERYWHERE),
    _no_effect("Mutex", "not used by itkgw", SERVER, ONLY_24),
    _no_effect("RemoveCharset", "itkgw adds no charset to Content-Type from file extensions", EVERYWHERE),
    _no_effect("RemoveLanguage", _NO_NEGOTIATION, EVERYWHERE),
    _no_effect("RemoveType", "extensions keep the type TypesConfig and AddType give them", EVERYWHERE),
    _no_effect("ServerSignature", "itkgw's error pages cannot be changed", EVERYWHERE),
    _no_effect("ServerTokens", "itkgw's Server header is always its name and version", SERVER),
    _no_effect("TraceEnable", "not used by itkgw"),
    _no_effect("UseCanonicalName", "itkgw builds its own URLs from the Host header, as with Off",
               EVERYWHERE),
)
DIRECTIVES = DIRECTIVES + NO_EFFECT


@dataclass(frozen=True)
class Section:
    """An Apache section (``<Name args>...</Name>``), for the reader and the docs."""

    name: str
    #: Where it may open: sections of its own kind never nest.
    contexts: frozenset[Context]
    doc: str
    series: frozenset[str] = BOTH
    #: The DirSection kind it makes, and whether its argument is a regex.
    kind: str = ""
    regex: bool = False
    instead: str = ""


SECTIONS: tuple[Section, ...] = (
    Section("VirtualHost", SERVER, "a vhost: addresses it answers on, then its settings"),
    Section("Directory", SERVER_VHOST, "settings for a filesystem path (fnmatch wildcards allowed; "
            "<Directory ~ regex> is <DirectoryMatch>)", kind="directory"),
    Section("DirectoryMatch", SERVER_VHOST, "settings for filesystem paths matching a regex",
            kind="directory", regex=True),
    Section("Location", SERVER_VHOST, "settings for a URL path", kind="location"),
    Section("LocationMatch", SERVER_VHOST, "settings for URL paths matching a regex", kind="location",
            regex=True),
    Section("Files", SERVER_VHOST, "settings for file names (not inside <Directory>: not supported)",
            kind="files"),
    Section("FilesMatch", SERVER_VHOST, "settings for file names matching a regex", kind="files", regex=True),
    Section("IfModule", EVERYWHERE, "read when the module is loaded ([!]name): the modules itkgw "
            "implements always are, others never"),
    Section("IfDefine", EVERYWHERE, "read when NAME is defined by -D or Define ([!]NAME)"),
    Section("RequireAll", DIRECTORY, "Require rules that must all grant", series=ONLY_24, instead=_ACCESS_22),
    Section("RequireAny", DIRECTORY, "Require rules one of which must grant", series=ONLY_24,
            instead=_ACCESS_22),
    Section("RequireNone", DIRECTORY, "Require rules none of which may grant", series=ONLY_24,
            instead=_ACCESS_22),
)
SECTION_BY_NAME: Mapping[str, Section] = {section.name.lower(): section for section in SECTIONS}

#: The modules itkgw implements, each with the names <IfModule> and LoadModule
#: know it by (module identifier and source file). They count as loaded
#: whether or not the config loads them.
MODULES: Mapping[str, tuple[str, ...]] = {
    "core": ("core_module", "core.c", "http_core.c", "http_module", "so_module", "mod_so.c",
             "unixd_module", "mod_unixd.c"),
    "prefork": ("mpm_prefork_module", "prefork.c", "mpm_prefork.c"),
    "mpm_itk": ("mpm_itk_module", "mpm_itk.c", "itk.c"),
    "alias": ("alias_module", "mod_alias.c"),
    "dir": ("dir_module", "mod_dir.c"),
    "mime": ("mime_module", "mod_mime.c"),
    "cgi": ("cgi_module", "mod_cgi.c"),
    "env": ("env_module", "mod_env.c"),
    "headers": ("headers_module", "mod_headers.c"),
    "rewrite": ("rewrite_module", "mod_rewrite.c"),
    "authz_core": ("authz_core_module", "mod_authz_core.c"),
    "authz_host": ("authz_host_module", "mod_authz_host.c"),
    "access_compat": ("access_compat_module", "mod_access_compat.c", "access_module", "mod_access.c"),
    "log_config": ("log_config_module", "mod_log_config.c"),
    "userdir": ("userdir_module", "mod_userdir.c"),
    "php": ("php_module", "php5_module", "php7_module", "mod_php.c", "mod_php5.c", "mod_php7.c",
            "sapi_apache2.c"),
}
LOADED_MODULES = frozenset(name for names in MODULES.values() for name in names)


def _by_name() -> dict[str, tuple[Directive, Alias | None]]:
    table: dict[str, tuple[Directive, Alias | None]] = {}
    for directive in DIRECTIVES:
        if directive.name[:1].isalpha():
            table[directive.name.lower()] = (directive, None)
        for alias in directive.aliases:
            table[alias.name.lower()] = (directive, alias)
    return table


def _by_key() -> dict[Context, dict[str, Directive]]:
    table: dict[Context, dict[str, Directive]] = {context: {} for context in Context}
    for directive in DIRECTIVES:
        for context in directive.contexts:
            table[context][directive.key] = directive
    return table


#: Apache name or alias, lower-cased -> (directive, the alias used or None).
BY_NAME: Mapping[str, tuple[Directive, Alias | None]] = _by_name()
#: Context -> TOML key -> directive.
BY_KEY: Mapping[Context, Mapping[str, Directive]] = _by_key()


def toml_directive(context: Context, key: str) -> Directive | None:
    """The directive a TOML key means in ``context``; None if there is none."""
    return BY_KEY[context].get(key)


def contexts_of_key(key: str) -> list[Context]:
    """The contexts in which a TOML key is allowed, for hints about misplaced keys."""
    return [context for context in Context if key in BY_KEY[context]]


def _other_series(compat: str) -> str:
    return next(series for series in SERIES if series != compat)


def series_error(spelled: str, compat: str, hint: str, where: str) -> ConfigError:
    return ConfigError(where, f"{spelled} is not available with --compat={compat}", hint)


def apache_directive(name: str, compat: str, where: str) -> tuple[Directive, str | None] | None:
    """The directive an Apache name means under ``compat``, and a deprecation
    warning if the name is a deprecated alias.

    None for a name that is not in the table (the Apache reader decides what
    to do with other modules' directives). Raises ConfigError for a name the
    series does not know.
    """
    found = BY_NAME.get(name.lower())
    if found is None:
        return None
    directive, alias = found
    spelled = alias.name if alias else directive.name
    accepted = alias.series if alias else directive.series
    if compat not in accepted:
        if directive.available_in(compat):
            hint = f"mpm-itk {compat} calls it {directive.name_in(compat)}"
        else:
            hint = f"{directive.missing_hint(compat)}; use --compat={_other_series(compat)}"
        raise series_error(spelled, compat, hint, where)
    if alias and compat in alias.deprecated_in:
        return directive, f"{where}: {alias.name} is deprecated, use {directive.name} instead"
    return directive, None


def apache_section(name: str, compat: str, where: str) -> Section | None:
    """The section ``<name>`` means; None if there is none, ConfigError if ``compat`` lacks it."""
    section = SECTION_BY_NAME.get(name.lower())
    if section is not None and compat not in section.series:
        hint = f"{section.instead}; use --compat={_other_series(compat)}"
        raise series_error(f"<{section.name}>", compat, hint, where)
    return section


def model_fields(context: Context) -> set[str]:
    """The field names of the model class ``context`` fills."""
    return {f.name for f in dataclasses.fields(MODELS[context])}
