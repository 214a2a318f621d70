"""The directive table both config readers share.

One row per setting: its Apache name, its TOML key, the contexts it may
appear in, how its value is read, which mpm-itk series have it, and a line of
documentation. The TOML reader looks rows up by key, the Apache reader by
name, ``itkgw convert`` walks the table. None of these settings is allowed
in .htaccess.

Series rules: ``series`` says which mpm-itk series accept the Apache name;
``aliases`` are other spellings (2.2's MaxClients is 2.4's MaxRequestWorkers,
and 2.4 still reads it, with a deprecation warning). A TOML key is ours, not
Apache's: it is refused only when the *setting* does not exist in the series
at all, under any name (LimitUIDRange, LimitGIDRange, EnableCapabilities in
2.2), so ``max_request_workers`` is fine with ``--compat=2.2``.

A few rows are not Apache directives: a section's argument (``<VirtualHost>``
gives the vhost's ``listen``, ``<Directory>`` the section's ``path``) and the
``--compat`` command-line option, which TOML may also set.
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

from itkgw.config import ANY_HOST, Address, DirSection, Identity, ServerConfig, VHost
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
    DIRECTORY = "directory"  # a [[vhost.directory]] table; <Directory>


SERVER = frozenset({Context.SERVER})
VHOST = frozenset({Context.VHOST})
DIRECTORY = frozenset({Context.DIRECTORY})
SERVER_VHOST = SERVER | VHOST
VHOST_DIRECTORY = VHOST | DIRECTORY

#: The model class each context fills.
MODELS: Mapping[Context, type] = {
    Context.SERVER: ServerConfig,
    Context.VHOST: VHost,
    Context.DIRECTORY: DirSection,
}

#: Model fields no directive sets: nested sections, and where things came from.
STRUCTURAL_FIELDS: Mapping[Context, frozenset[str]] = {
    Context.SERVER: frozenset({"vhosts", "source"}),
    Context.VHOST: frozenset({"directories", "where"}),
    Context.DIRECTORY: frozenset({"where"}),
}


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

    Every problem is a ConfigError with the ``where`` given and a hint.
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

    def wrong_args(self, args: list[str], where: str) -> ConfigError:
        got = " ".join(args) if args else "nothing"
        return ConfigError(where, f"expected {self.describe()}, got {got}",
                           f"write it as {self.args_example}")

    def one_arg(self, args: list[str], where: str) -> str:
        if len(args) != 1:
            raise self.wrong_args(args, where)
        return args[0]


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
    """An absolute filesystem path; ``specials`` are words allowed instead ("-")."""

    specials: tuple[str, ...] = ()

    toml_example: ClassVar[str] = 'a quoted path, e.g. "/srv/site"'
    args_example: ClassVar[str] = "a path, e.g. /srv/site"

    def describe(self) -> str:
        extra = "".join(f" or {word}" for word in self.specials)
        return f"an absolute path{extra}"

    def check(self, value: str, where: str) -> str:
        if value in self.specials:
            return value
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


@dataclass(frozen=True)
class Extensions(Words):
    """File endings; ``php`` and ``.php`` both mean ``.php``, as in AddHandler."""

    toml_example: ClassVar[str] = 'a list, e.g. [".php"]'

    def word(self, item: str) -> str:
        return item if item.startswith(".") else "." + item


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
class ScriptAliasMap(Kind):
    """URL prefixes whose files all run as CGI, each with its directory."""

    expects: ClassVar[str] = "a table of URL prefix = directory"
    toml_example: ClassVar[str] = '{ "/cgi-bin/" = "/srv/site/cgi-bin/" }'
    args_example: ClassVar[str] = "URL-prefix directory, e.g. /cgi-bin/ /srv/site/cgi-bin/"

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
class ExecCGIOption(Kind):
    """Whether CGI may run; Apache spells it inside ``Options``.

    ``from_args`` reads an Options line: ExecCGI or +ExecCGI turn it on,
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

    #: Apache name; ``<Section>`` for a section's argument, ``--option`` for a command-line option.
    name: str
    #: TOML key, which is the model field it fills unless ``field`` says otherwise.
    key: str
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
    #: Other Apache forms the Apache reader reads into this setting.
    also_from: str = ""

    @property
    def model_field(self) -> str:
        return self.field or self.key

    def available_in(self, series: str) -> bool:
        """Whether the setting exists in ``series`` under any Apache name."""
        return series in self.series or any(series in alias.series for alias in self.aliases)

    def name_in(self, series: str) -> str:
        """The Apache name ``series`` knows this setting by."""
        if series in self.series:
            return self.name
        return next((alias.name for alias in self.aliases if series in alias.series), self.name)


_LOG_LEVELS = ("emerg", "alert", "crit", "error", "warn", "notice", "info", "debug")

DIRECTIVES: tuple[Directive, ...] = (
    # The server process
    Directive("--compat", "compat", SERVER, Choice(options=SERIES, example="2.4"),
              "mpm-itk series whose directives are accepted (the command line wins)"),
    Directive("User", "user", SERVER, Text(),
              "user the workers run as before a request picks its own", field="user"),
    Directive("Group", "group", SERVER, Text(),
              "group the workers run as before a request picks its own", field="user"),
    Directive("Listen", "listen", SERVER, Addresses(protocol=True),
              "addresses to listen on: addr:port, [v6]:port, *:port or port", repeat=True),
    Directive("PidFile", "pid_file", SERVER, Path(), "file the master writes its pid to"),
    Directive("TypesConfig", "mime_types", SERVER, Path(), "file mapping extensions to Content-Type"),
    Directive("PHPCGI", "php_cgi", SERVER, Path(), "php-cgi binary run for PHP files"),
    Directive("NoNewPrivs", "no_new_privs", SERVER, Flag(),
              "set PR_SET_NO_NEW_PRIVS for scripts (breaks setgid sendmail, so PHP mail())"),
    # Logging
    Directive("ErrorLog", "error_log", SERVER_VHOST, Path(specials=("-",)),
              "error log file, or - for standard error"),
    Directive("LogLevel", "log_level", SERVER, Choice(options=_LOG_LEVELS, example="warn"),
              "least severe message the error log records"),
    Directive("TransferLog", "access_log", SERVER_VHOST, Path(specials=("-",)),
              "access log file", also_from="CustomLog FILE FORMAT (sets access_log_format too)"),
    Directive("LogFormat", "access_log_format", SERVER_VHOST, Text(),
              "access log format: common, combined, or an Apache LogFormat string",
              also_from="the FORMAT of CustomLog FILE FORMAT"),
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
    Directive("LimitRequestBody", "limit_request_body", SERVER, Int(low=0, high=2**31 - 1),
              "request body bytes at most, 0 = no limit"),
    # mpm-itk
    Directive("LimitUIDRange", "limit_uid_range", SERVER, IdRange(),
              "uids requests may run as; others get 500", series=ONLY_24),
    Directive("LimitGIDRange", "limit_gid_range", SERVER, IdRange(),
              "gids requests may run as; others get 500", series=ONLY_24),
    Directive("EnableCapabilities", "enable_capabilities", SERVER, Flag(),
              "workers run as User/Group with only the capabilities a switch needs", series=ONLY_24),
    Directive("AssignUserID", "assign_user_id", VHOST_DIRECTORY, UserGroup(),
              "user and group requests run as"),
    Directive("MaxClientsVHost", "max_clients_vhost", VHOST, Int(low=0),
              "busy connections allowed at once, 0 = no limit"),
    Directive("NiceValue", "nice_value", VHOST_DIRECTORY, Int(),
              "nice value of request processes, -20 to 19"),
    # Virtual hosts
    Directive("<VirtualHost>", "listen", VHOST, Addresses(),
              "addresses the vhost answers on (default: every listen of the server)"),
    Directive("ServerName", "server_name", SERVER_VHOST, Text(), "canonical host name"),
    Directive("ServerAlias", "server_alias", VHOST, Words(),
              "other host names, with * and ? wildcards", repeat=True),
    Directive("ServerAdmin", "server_admin", SERVER_VHOST, Text(), "contact address shown on error pages"),
    Directive("DocumentRoot", "document_root", VHOST, Path(), "directory the URL space maps onto"),
    Directive("ScriptAlias", "script_alias", VHOST, ScriptAliasMap(),
              "URL prefixes whose files all run as CGI, with their directories", repeat=True),
    # Content handling
    Directive("<Directory>", "path", DIRECTORY, Path(), "absolute filesystem path the section applies to"),
    Directive("DirectoryIndex", "directory_index", VHOST_DIRECTORY, Words(), "index files, in order"),
    Directive("Options", "exec_cgi", VHOST_DIRECTORY, ExecCGIOption(),
              "whether CGI scripts may run (Options ExecCGI)"),
    Directive("CGIExtensions", "cgi_extensions", VHOST, Extensions(), "file endings run as CGI scripts",
              repeat=True, also_from="AddHandler cgi-script EXT..."),
    Directive("PHPExtensions", "php_extensions", VHOST, Extensions(), "file endings run through php-cgi",
              repeat=True, also_from="AddHandler application/x-httpd-php EXT..."),
)


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
            other = next(series for series in SERIES if series != compat)
            hint = f"mpm-itk {compat} has no {spelled}; use --compat={other}"
        raise ConfigError(where, f"{spelled} is not available with --compat={compat}", hint)
    if alias and compat in alias.deprecated_in:
        return directive, f"{where}: {alias.name} is deprecated, use {directive.name} instead"
    return directive, None


def model_fields(context: Context) -> set[str]:
    """The field names of the model class ``context`` fills."""
    return {f.name for f in dataclasses.fields(MODELS[context])}
