"""TOML -> model: the native config form, read with tomllib.

Top-level keys are server settings, ``[[vhost]]`` tables the vhosts and
``[[vhost.directory]]`` tables their <Directory> sections; every key is a
model field name, looked up in the directive table (directives.py).

Every problem is collected and raised together as ConfigErrors so ``itkgw
-t`` lists them all. Each is located as ``FILE: key.path``, list positions
counted from 1 (``vhost[2].directory[1].nice_value`` is in the first
[[vhost.directory]] of the second [[vhost]]). What Apache and mpm-itk quietly
adjust (prefork sizing, NiceValue out of range) is adjusted the same way, and
what they only refuse at request time (an identity outside LimitUIDRange gets
500) is a warning: the server still starts.

TOML keys are ours, not Apache's, so ``--compat`` refuses only the settings
mpm-itk 2.2 does not have at all (limit_uid_range, limit_gid_range,
enable_capabilities); ``max_request_workers`` is 2.2's MaxClients and fine.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import os
import re
import stat
import tomllib
from dataclasses import dataclass
from typing import Any

from itkgw.config import ANY_HOST, DEFAULT_ID_RANGE, Address, DirSection, Identity, ServerConfig, VHost
from itkgw.directives import (
    BY_KEY,
    MODELS,
    SERIES,
    Context,
    Directive,
    contexts_of_key,
    lookup_hint,
    toml_directive,
)
from itkgw.errors import ConfigError, ConfigErrors
from itkgw.privs import resolve_identity

DEFAULT_COMPAT = "2.4"
#: Debian's User and Group; Apache's own default, #-1, is nobody's choice.
DEFAULT_USER = "www-data"
NICE_RANGE = (-20, 19)

#: Keys holding nested [[tables]], and the context each is written in.
_SECTION_KEYS = {"vhost": Context.SERVER, "directory": Context.VHOST}
_PLACES = {
    Context.SERVER: "at the top level",
    Context.VHOST: "in a [[vhost]] table",
    Context.DIRECTORY: "in a [[vhost.directory]] table",
}
_MOVE_HINTS = {
    Context.SERVER: "move it to the top level, before the first [[vhost]]",
    Context.VHOST: "move it into a [[vhost]] table",
    Context.DIRECTORY: "move it into a [[vhost.directory]] table",
}
_REQUIRED = {
    Context.VHOST: {"server_name": '"www.example.com"', "document_root": '"/srv/www/htdocs"'},
    Context.DIRECTORY: {"path": '"/srv/www/htdocs/private"'},
}
_WILDCARDS = (ANY_HOST, "0.0.0.0", "::")
_TOML_POSITION = re.compile(r"(.*) \(at line (\d+), column (\d+)\)", re.DOTALL)


@dataclass(frozen=True)
class Loaded:
    """A configuration that can be served, and what the admin should know about it."""

    config: ServerConfig
    warnings: list[str]


def load_toml(path: str, compat: str | None = None) -> Loaded:
    """Read the TOML config at ``path``; ``compat`` (from --compat) wins over the file's."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise ConfigErrors([ConfigError(path, f"cannot read: {exc.strerror}",
                                        "give an existing, readable config file with -f")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigErrors([ConfigError(path, f"not UTF-8 text (byte {exc.start})",
                                        "save the file as UTF-8")]) from None
    return loads_toml(text, path, compat)


def loads_toml(text: str, source: str, compat: str | None = None) -> Loaded:
    """Read a TOML config from ``text``; ``source`` names it in messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigErrors([_syntax_error(source, text, exc)]) from None
    reader = _Reader(source)
    config = reader.server(data, compat)
    if reader.errors or config is None:
        raise ConfigErrors(reader.errors)
    return Loaded(config, reader.warnings)


def _syntax_error(source: str, text: str, exc: tomllib.TOMLDecodeError) -> ConfigError:
    """tomllib's message, located as FILE:LINE:COLUMN."""
    message = str(exc)
    match = _TOML_POSITION.fullmatch(message)
    if match:
        message, line, column = match.group(1), int(match.group(2)), int(match.group(3))
    else:  # "(at end of document)"
        message = message.removesuffix(" (at end of document)")
        line = text.count("\n") + 1
        column = len(text.rsplit("\n", 1)[-1]) + 1
    return ConfigError(f"{source}:{line}:{column}", f"TOML syntax: {message}",
                       "fix the file there; the format is TOML 1.0, see https://toml.io")


def _default(context: Context, name: str) -> Any:
    """A model field's default value."""
    return next(f.default for f in dataclasses.fields(MODELS[context]) if f.name == name)


def _overlap(one: Address, other: Address) -> bool:
    """Whether binding both fails: a wildcard and another address of its family, same port."""
    if one.port != other.port or one == other:
        return False
    if one.host not in _WILDCARDS and other.host not in _WILDCARDS:
        return False
    dual_stack = "::" in (one.host, other.host)
    return dual_stack or (":" in one.host) == (":" in other.host)


def _covers(server: Address, vhost: Address) -> bool:
    """Whether connections to ``vhost`` can arrive on the listener ``server``."""
    if server.port != vhost.port:
        return False
    if vhost.host == ANY_HOST or server.host in (vhost.host, "::"):
        return True
    return server.host in (ANY_HOST, "0.0.0.0") and ":" not in vhost.host


@dataclass(frozen=True)
class _Limits:
    """What vhosts are checked against, read from the top level first."""

    user: Identity | None
    listen: tuple[Address, ...]
    uid_range: tuple[int, int]
    gid_range: tuple[int, int]


class _Reader:
    """The reading of one file: the problems and warnings found so far."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.errors: list[ConfigError] = []
        self.warnings: list[str] = []
        self.compat = DEFAULT_COMPAT
        self.compat_from_option = False

    def at(self, key_path: str) -> str:
        return f"{self.source}: {key_path}"

    def error(self, key_path: str, message: str, hint: str) -> None:
        self.errors.append(ConfigError(self.at(key_path), message, hint))

    def warn(self, key_path: str, message: str) -> None:
        self.warnings.append(f"{self.at(key_path)}: {message}")

    # -- the server ------------------------------------------------------

    def server(self, data: dict[str, Any], compat: str | None) -> ServerConfig | None:
        self.choose_compat(data.get("compat"), compat)
        values = self.read_table(data, Context.SERVER, "")
        user = self.server_identity(data, values)
        listen: tuple[Address, ...] = values.pop("listen", ())
        if "listen" not in data:
            self.error("listen", "required key is missing",
                       'add the addresses to serve, e.g. listen = ["80"]')
        self.check_listen(listen)
        limits = _Limits(user, listen, values.get("limit_uid_range", DEFAULT_ID_RANGE),
                         values.get("limit_gid_range", DEFAULT_ID_RANGE))
        vhosts = [vhost for number, table in enumerate(self.tables(data, "vhost", ""), 1)
                  if (vhost := self.vhost(table, f"vhost[{number}]", limits))]
        if "vhost" not in data:
            self.error("vhost", "no [[vhost]] table", "add a [[vhost]] with server_name and document_root")
        settings = {key: value for key, value in values.items() if key not in ("user", "group", "compat")}
        self.adjust_prefork(settings)
        self.check_php_cgi(settings.get("php_cgi", _default(Context.SERVER, "php_cgi")), vhosts)
        self.check_names(vhosts)
        if self.errors or user is None:
            return None
        return ServerConfig(user=user, listen=listen, vhosts=tuple(vhosts), source=self.source,
                            compat=self.compat, **settings)

    def choose_compat(self, in_file: object, option: str | None) -> None:
        """The command line's series, else the file's; a bad file value is reported by read_table."""
        if option is not None:
            if option in SERIES:
                self.compat, self.compat_from_option = option, True
            else:
                self.errors.append(ConfigError("--compat", f"{option!r} is not a known series",
                                               "use --compat=2.2 or --compat=2.4"))
        elif in_file in SERIES:
            self.compat = str(in_file)

    def server_identity(self, data: dict[str, Any], values: dict[str, Any]) -> Identity | None:
        """User and Group, www-data when not given (Debian's Apache default)."""
        if ("user" in data and "user" not in values) or ("group" in data and "group" not in values):
            return None  # already reported
        user = values.get("user", DEFAULT_USER)
        group = values.get("group", DEFAULT_USER)
        try:
            return resolve_identity(user, group)
        except LookupError as exc:
            key = "group" if str(exc).startswith("group") else "user"
            if key in data:
                self.error(key, str(exc), lookup_hint(exc))
            else:
                self.error(key, f"missing, and the default {key} {DEFAULT_USER} does not exist",
                           f'set {key} = "NAME" to the identity the workers run as')
            return None

    def check_listen(self, listen: tuple[Address, ...]) -> None:
        """Each address once, and no two that cannot both be bound."""
        for address in dict.fromkeys(listen):
            if listen.count(address) > 1:
                self.error("listen", f"{address} is listed twice", "remove one of them")
        for one, other in itertools.combinations(dict.fromkeys(listen), 2):
            if _overlap(one, other):
                wide = one if one.host in _WILDCARDS else other
                self.error("listen", f"{one} and {other} overlap: binding both fails",
                           f"keep {wide} alone, or list each address instead of it")

    def adjust_prefork(self, settings: dict[str, Any]) -> None:
        """Correct the prefork sizing as Apache does, with a warning each."""

        def get(key: str) -> int:
            value: int = settings.get(key, _default(Context.SERVER, key))
            return value

        def adjust(key: str, value: int, why: str) -> None:
            direction = "raised" if value > get(key) else "lowered"
            self.warn(key, f"{key} {get(key)} {direction} to {value} ({why})")
            settings[key] = value

        if get("max_request_workers") < 1:
            adjust("max_request_workers", 1, "at least one worker is needed")
        if get("min_spare_servers") < 1:
            adjust("min_spare_servers", 1, "at least one idle worker is kept")
        if get("max_spare_servers") <= get("min_spare_servers"):
            adjust("max_spare_servers", get("min_spare_servers") + 1, "must exceed min_spare_servers")
        if get("start_servers") > get("max_request_workers"):
            adjust("start_servers", get("max_request_workers"), "no more than max_request_workers")

    def check_php_cgi(self, php_cgi: str, vhosts: list[VHost]) -> None:
        users = [vhost.server_name for vhost in vhosts if vhost.php_extensions]
        if users and not (os.path.isfile(php_cgi) and os.access(php_cgi, os.X_OK)):
            self.error("php_cgi",
                       f"{php_cgi} is not an executable file, and vhost {users[0]} runs PHP with it",
                       "install php-cgi, or set php_cgi to its path; "
                       "vhosts without PHP can set php_extensions = []")

    def check_names(self, vhosts: list[VHost]) -> None:
        """A name a vhost shares with an earlier one on an address never reaches it."""
        first: dict[tuple[Address, str], VHost] = {}
        for vhost in vhosts:
            clashes: dict[tuple[str, VHost], list[str]] = {}
            names = dict.fromkeys(name.lower() for name in vhost.names)
            for address, name in itertools.product(vhost.listen, names):
                earlier = first.setdefault((address, name), vhost)
                if earlier is not vhost:
                    clashes.setdefault((name, earlier), []).append(str(address))
            for (name, earlier), addresses in clashes.items():
                self.warn(self.key_path(vhost.where), f"{name} on {', '.join(addresses)} is also a name of "
                          f"{self.key_path(earlier.where)} ({earlier.server_name}), which gets its requests")

    def key_path(self, where: str) -> str:
        return where.removeprefix(f"{self.source}: ")

    # -- vhosts and directory sections -----------------------------------

    def vhost(self, table: dict[str, Any], path: str, limits: _Limits) -> VHost | None:
        mark = len(self.errors)
        values = self.read_table(table, Context.VHOST, path)
        self.require(table, Context.VHOST, path)
        if "listen" in values:
            self.check_vhost_listen(values["listen"], limits.listen, f"{path}.listen")
        else:
            values["listen"] = limits.listen  # every address the server listens on
        if "document_root" in values:
            self.check_directory(values["document_root"], f"{path}.document_root")
        self.clamp_nice(values, path)
        name = values.get("server_name", "?")
        self.check_identity(values.get("assign_user_id") or limits.user, f"vhost {name}",
                            f"{path}.assign_user_id" if "assign_user_id" in values else path, limits)
        directories = [section for number, sub in enumerate(self.tables(table, "directory", path), 1)
                       if (section := self.directory(sub, f"{path}.directory[{number}]", name, limits))]
        if len(self.errors) > mark:
            return None
        return VHost(**values, directories=tuple(directories), where=self.at(path))

    def directory(self, table: dict[str, Any], path: str, vhost: str, limits: _Limits) -> DirSection | None:
        mark = len(self.errors)
        values = self.read_table(table, Context.DIRECTORY, path)
        self.require(table, Context.DIRECTORY, path)
        self.clamp_nice(values, path)
        if "assign_user_id" in values:
            subject = f"directory {values.get('path', '?')} of vhost {vhost}"
            self.check_identity(values["assign_user_id"], subject, f"{path}.assign_user_id", limits)
        if len(self.errors) > mark:
            return None
        return DirSection(**values, where=self.at(path))

    def check_vhost_listen(self, listen: tuple[Address, ...], server: tuple[Address, ...],
                           key_path: str) -> None:
        for address in dict.fromkeys(listen):
            if listen.count(address) > 1:
                self.error(key_path, f"{address} is listed twice", "remove one of them")
            if server and not any(_covers(bound, address) for bound in server):
                self.error(key_path, f"{address} is not an address the server listens on",
                           f'add "{address}" to listen at the top level')

    def check_directory(self, path: str, key_path: str) -> None:
        try:
            mode = os.stat(path).st_mode
        except PermissionError:
            self.warn(key_path, f"cannot check {path}: permission denied for uid {os.geteuid()} "
                      "(root can stat it: run itkgw -t as root)")
            return
        except FileNotFoundError:
            self.error(key_path, f"{path} does not exist", "create the directory, or fix the path")
            return
        except OSError as exc:
            self.error(key_path, f"cannot check {path}: {exc.strerror}", "fix the path")
            return
        if not stat.S_ISDIR(mode):
            self.error(key_path, f"{path} is not a directory", "point it at the site's directory")

    def clamp_nice(self, values: dict[str, Any], path: str) -> None:
        """NiceValue out of -20..19 is clamped, as mpm-itk does."""
        if "nice_value" not in values:
            return
        low, high = NICE_RANGE
        value = values["nice_value"]
        clamped = min(max(value, low), high)
        if clamped != value:
            self.warn(f"{path}.nice_value", f"nice_value {value} clamped to {clamped}")
            values["nice_value"] = clamped

    def check_identity(self, identity: Identity | None, subject: str, key_path: str, limits: _Limits) -> None:
        """An identity outside the ranges is refused per request (500), as in mpm-itk: warn now."""
        if identity is None:
            return
        checks = (("uid", identity.uid, identity.user, "LimitUIDRange", limits.uid_range),
                  ("gid", identity.gid, identity.group, "LimitGIDRange", limits.gid_range))
        for kind, number, name, directive, (low, high) in checks:
            if not low <= number <= high:
                self.warn(key_path, f"{subject} runs as {kind} {number} ({name}), outside {directive} "
                          f"{low}-{high}: its requests will get 500")

    # -- tables and keys -------------------------------------------------

    def tables(self, table: dict[str, Any], key: str, path: str) -> list[dict[str, Any]]:
        """The nested [[key]] tables of ``table``."""
        value = table.get(key, [])
        key_path = f"{path}.{key}" if path else key
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            full = "vhost" if key == "vhost" else "vhost.directory"
            self.error(key_path, "must be a list of tables", f"write each one as a [[{full}]] table")
            return []
        return value

    def require(self, table: dict[str, Any], context: Context, path: str) -> None:
        for key, example in _REQUIRED[context].items():
            if key not in table:
                table_name = "[[vhost]]" if context is Context.VHOST else "[[vhost.directory]]"
                self.error(f"{path}.{key}", "required key is missing",
                           f"every {table_name} needs {key} = {example}")

    def read_table(self, table: dict[str, Any], context: Context, path: str) -> dict[str, Any]:
        """The settings in ``table``, read through the directive table; problems are collected."""
        values: dict[str, Any] = {}
        for key, value in table.items():
            key_path = f"{path}.{key}" if path else key
            if _SECTION_KEYS.get(key) is context:
                continue
            directive = toml_directive(context, key)
            if directive is None:
                self.errors.append(self.unknown_key(key, context, key_path))
            elif not directive.available_in(self.compat):
                self.errors.append(self.not_in_series(directive, key_path))
            else:
                try:
                    values[key] = directive.kind.from_toml(value, self.at(key_path))
                except ConfigError as exc:
                    self.errors.append(exc)
        return values

    def unknown_key(self, key: str, context: Context, key_path: str) -> ConfigError:
        where = self.at(key_path)
        elsewhere = [c for c in contexts_of_key(key) if c is not context]
        if key in _SECTION_KEYS:
            elsewhere = [_SECTION_KEYS[key]]
        if elsewhere:
            return ConfigError(where, f"not allowed {_PLACES[context]}", _MOVE_HINTS[elsewhere[0]])
        known = [*BY_KEY[context], *(k for k, c in _SECTION_KEYS.items() if c is context)]
        close = difflib.get_close_matches(key, known, n=1)
        if close:
            hint = f"did you mean {close[0]}?"
        elif len(known) <= 8:
            hint = "remove it, or use one of " + ", ".join(sorted(known))
        else:
            hint = "remove it; the keys are the fields documented in itkgw/config.py"
        return ConfigError(where, "unknown key", hint)

    def not_in_series(self, directive: Directive, key_path: str) -> ConfigError:
        other = next(series for series in SERIES if directive.available_in(series))
        missing = f"mpm-itk {self.compat} has no {directive.name}"
        if self.compat_from_option:
            return ConfigError(self.at(key_path), f"not available with --compat={self.compat}",
                               f"{missing}; use --compat={other}")
        return ConfigError(self.at(key_path), f'not available with compat = "{self.compat}"',
                           f'{missing}; remove it, or set compat = "{other}"')
