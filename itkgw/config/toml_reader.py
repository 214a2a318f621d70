"""TOML -> model: the native config form, read with tomllib.

Top-level keys are server settings, ``[[vhost]]`` tables the vhosts, and
``[[vhost.directory]]``, ``[[vhost.location]]`` and ``[[vhost.files]]``
tables their <Directory>, <Location> and <Files> sections (``regex = true``
for the Match forms); every key is a model field name, looked up in the
directive table (itkgw.config.table), whose rows document the TOML shape of each
structured value (require, access, headers, rewrite_rules...).

Every problem is collected and raised together as ConfigErrors so ``itkgw
-t`` lists them all. Each is located as ``FILE: key.path``, list positions
counted from 1 (``vhost[2].directory[1].nice_value`` is in the first
[[vhost.directory]] of the second [[vhost]]). The checks the Apache-syntax
reader shares (checks.py) adjust what Apache and mpm-itk quietly adjust
and warn about what they only refuse at request time.

TOML keys are ours, not Apache's, so ``--compat`` refuses only the settings
mpm-itk 2.2 does not have at all (limit_uid_range, limit_gid_range,
enable_capabilities); ``max_request_workers`` is 2.2's MaxClients and fine.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import tomllib
from typing import Any

from itkgw.config import checks
from itkgw.config.checks import Findings, Limits, Loaded
from itkgw.config.directive import ONLY_24, SECTION_KINDS, SERIES, Context, Directive
from itkgw.config.identity import resolve_identity
from itkgw.config.kinds import Text, lookup_hint
from itkgw.config.kinds_structured import check_section_path
from itkgw.config.model import DEFAULT_ID_RANGE, Address, DirSection, Identity, ServerConfig, VHost
from itkgw.config.table import BY_KEY, MODELS, contexts_of_key, split_settings, toml_directive
from itkgw.errors import ConfigError, ConfigErrors

__all__ = ["DEFAULT_COMPAT", "DEFAULT_USER", "Loaded", "load_toml", "loads_toml"]

DEFAULT_COMPAT = "2.4"
#: Debian's User and Group; Apache's own default, #-1, is nobody's choice.
DEFAULT_USER = "www-data"

#: Keys holding nested [[tables]], and the context each is written in.
_SECTION_KEYS = {"vhost": Context.SERVER, **{kind: Context.VHOST for kind in SECTION_KINDS}}
_PLACES = {
    Context.SERVER: "at the top level",
    Context.VHOST: "in a [[vhost]] table",
    Context.DIRECTORY: "in a [[vhost.{kind}]] table",
}
_MOVE_HINTS = {
    Context.SERVER: "move it to the top level, before the first [[vhost]]",
    Context.VHOST: "move it into a [[vhost]] table",
    Context.DIRECTORY: "move it into a [[vhost.directory]] table",
}
_REQUIRED = {
    Context.VHOST: {"server_name": '"www.example.com"', "document_root": '"/srv/www/htdocs"'},
}
#: A section table's required path, by kind, as the hint shows it.
_SECTION_PATHS = {"directory": '"/srv/www/htdocs/private"', "location": '"/private/"', "files": '"*.log"'}
#: What not_in_series says of a FastCGI handler: mod_proxy_fcgi came with Apache 2.4.
_PROXY_HANDLER_ROW = Directive("SetHandler proxy:", "set_handler", frozenset(), Text(), "", series=ONLY_24,
                               instead="Apache 2.2 has no mod_proxy_fcgi")
_TOML_POSITION = re.compile(r"(.*) \(at line (\d+), column (\d+)\)", re.DOTALL)


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


class _Reader:
    """The reading of one file: the problems and warnings found so far."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.findings = Findings()
        self.errors = self.findings.errors
        self.warnings = self.findings.warnings
        self.compat = DEFAULT_COMPAT
        self.compat_from_option = False

    def at(self, key_path: str) -> str:
        return f"{self.source}: {key_path}"

    def error(self, key_path: str, message: str, hint: str) -> None:
        self.findings.error(self.at(key_path), message, hint)

    def warn(self, key_path: str, message: str) -> None:
        self.findings.warn(self.at(key_path), message)

    # -- the server ------------------------------------------------------

    def server(self, data: dict[str, Any], compat: str | None) -> ServerConfig | None:
        self.choose_compat(data.get("compat"), compat)
        values = self.read_table(data, Context.SERVER, "")
        user = self.server_identity(data, values)
        listen: tuple[Address, ...] = values.pop("listen", ())
        if "listen" not in data:
            self.error("listen", "required key is missing",
                       'add the addresses to serve, e.g. listen = ["80"]')
        checks.check_listen(listen, self.findings, lambda address: self.at("listen"))
        self.check_name_virtual_hosts(values)
        limits = Limits(user, listen, values.get("limit_uid_range", DEFAULT_ID_RANGE),
                        values.get("limit_gid_range", DEFAULT_ID_RANGE),
                        values.get("default_identity"))
        if values.get("enable_capabilities", True):
            checks.check_worker_identity(limits, self.at("limit_uid_range"), self.findings,
                                         ("limit_uid_range", "limit_gid_range"))
        vhosts = [vhost for number, table in enumerate(self.tables(data, "vhost", ""), 1)
                  if (vhost := self.vhost(table, f"vhost[{number}]", limits))]
        if "vhost" not in data:
            self.error("vhost", "no [[vhost]] table", "add a [[vhost]] with server_name and document_root")
        settings = {key: value for key, value in values.items() if key not in ("user", "group", "compat")}
        checks.adjust_prefork(settings, lambda key: _default(Context.SERVER, key), self.findings,
                              self.at, lambda key: key)
        checks.check_php_cgi(settings.get("php_cgi", _default(Context.SERVER, "php_cgi")), vhosts,
                             self.at("php_cgi"), self.findings,
                             "install php-cgi, or set php_cgi to its path; "
                             "vhosts without PHP can set php_extensions = []")
        checks.check_names(vhosts, self.findings, lambda vhost: self.key_path(vhost.where))
        checks.check_identity_sources(vhosts, limits.uid_range, self.findings)
        if self.errors or user is None:
            return None
        core, modules = split_settings(Context.SERVER, settings)
        return ServerConfig(user=user, listen=listen, vhosts=tuple(vhosts), source=self.source,
                            compat=self.compat, **core, modules=modules)

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

    def check_name_virtual_hosts(self, values: dict[str, Any]) -> None:
        """NameVirtualHost means something to 2.2 only; 2.4 names every address's vhosts."""
        if values.get("name_virtual_hosts") and self.compat != "2.2":
            self.warn("name_virtual_hosts", f"has no effect with compat {self.compat} "
                      "(Apache 2.4 chooses vhosts by name on every address)")
            del values["name_virtual_hosts"]

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

    def key_path(self, where: str) -> str:
        return where.removeprefix(f"{self.source}: ")

    # -- vhosts and their sections ---------------------------------------

    def vhost(self, table: dict[str, Any], path: str, limits: Limits) -> VHost | None:
        mark = len(self.errors)
        values = self.read_table(table, Context.VHOST, path)
        self.require(table, path)
        if "listen" in values:
            checks.check_vhost_listen(values["listen"], limits.listen, self.at(f"{path}.listen"),
                                      self.findings, lambda address: f'add "{address}" to listen at '
                                      "the top level")
        else:
            values["listen"] = limits.listen  # every address the server listens on
        if "document_root" in values:
            checks.check_directory(values["document_root"], self.at(f"{path}.document_root"),
                                   self.findings)
        self.clamp_nice(values, path)
        name = values.get("server_name", "?")
        checks.check_vhost_identity(values.get("assign_user_id"), f"vhost {name}",
                                    self.at(f"{path}.assign_user_id" if "assign_user_id" in values else path),
                                    limits, self.findings, values)
        directories = [section for kind in SECTION_KINDS
                       for number, sub in enumerate(self.tables(table, kind, path), 1)
                       if (section := self.section(sub, kind, f"{path}.{kind}[{number}]", name, limits))]
        if len(self.errors) > mark:
            return None
        core, modules = split_settings(Context.VHOST, values)
        return VHost(**core, directories=tuple(directories), modules=modules, where=self.at(path))

    def section(self, table: dict[str, Any], kind: str, path: str, vhost: str,
                limits: Limits) -> DirSection | None:
        mark = len(self.errors)
        values = self.read_table(table, Context.DIRECTORY, path, kind)
        if "path" in values:
            try:
                check_section_path(kind, values.get("regex", False), values["path"], self.at(f"{path}.path"))
            except ConfigError as exc:
                self.errors.append(exc)
        if "path" not in table:
            self.error(f"{path}.path", "required key is missing",
                       f"every [[vhost.{kind}]] needs path = {_SECTION_PATHS[kind]}")
        self.clamp_nice(values, path)
        if "assign_user_id" in values:
            subject = f"{kind} {values.get('path', '?')} of vhost {vhost}"
            checks.check_identity(values["assign_user_id"], subject, self.at(f"{path}.assign_user_id"),
                                  limits, self.findings, values)
        if len(self.errors) > mark:
            return None
        core, modules = split_settings(Context.DIRECTORY, values)
        return DirSection(**core, kind=kind, modules=modules, where=self.at(path))

    def clamp_nice(self, values: dict[str, Any], path: str) -> None:
        if "nice_value" in values:
            values["nice_value"] = checks.clamp_nice(values["nice_value"], self.at(f"{path}.nice_value"),
                                                     self.findings, "nice_value")

    # -- tables and keys -------------------------------------------------

    def tables(self, table: dict[str, Any], key: str, path: str) -> list[dict[str, Any]]:
        """The nested [[key]] tables of ``table``."""
        value = table.get(key, [])
        key_path = f"{path}.{key}" if path else key
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            full = "vhost" if key == "vhost" else f"vhost.{key}"
            self.error(key_path, "must be a list of tables", f"write each one as a [[{full}]] table")
            return []
        return value

    def require(self, table: dict[str, Any], path: str) -> None:
        for key, example in _REQUIRED[Context.VHOST].items():
            if key not in table:
                self.error(f"{path}.{key}", "required key is missing",
                           f"every [[vhost]] needs {key} = {example}")

    def read_table(self, table: dict[str, Any], context: Context, path: str,
                   kind: str = "") -> dict[str, Any]:
        """The settings in ``table``, read through the directive table; problems are collected.
        ``kind`` names a section table's kind, for messages."""
        values: dict[str, Any] = {}
        for key, value in table.items():
            key_path = f"{path}.{key}" if path else key
            if _SECTION_KEYS.get(key) is context:
                continue
            directive = toml_directive(context, key)
            if directive is None:
                self.errors.append(self.unknown_key(key, context, key_path, kind))
            elif not directive.available_in(self.compat):
                self.errors.append(self.not_in_series(directive, key_path))
            else:
                try:
                    values[key] = directive.kind.from_toml(value, self.at(key_path))
                except ConfigError as exc:
                    self.errors.append(exc)
                    continue
                if key == "set_handler" and self.compat == "2.2" and str(values[key]).startswith("proxy:"):
                    self.errors.append(self.not_in_series(_PROXY_HANDLER_ROW, key_path))
        return values

    def unknown_key(self, key: str, context: Context, key_path: str, kind: str = "") -> ConfigError:
        where = self.at(key_path)
        elsewhere = [c for c in contexts_of_key(key) if c is not context]
        if key in _SECTION_KEYS:
            elsewhere = [_SECTION_KEYS[key]]
        if elsewhere:
            place = _PLACES[context].format(kind=kind or "directory")
            return ConfigError(where, f"not allowed {place}", _MOVE_HINTS[elsewhere[0]])
        known = [*BY_KEY[context], *(k for k, c in _SECTION_KEYS.items() if c is context)]
        close = difflib.get_close_matches(key, known, n=1)
        if close:
            hint = f"did you mean {close[0]}?"
        elif len(known) <= 8:
            hint = "remove it, or use one of " + ", ".join(sorted(known))
        else:
            hint = "remove it; the keys are the fields documented in itkgw/config/model.py"
        return ConfigError(where, "unknown key", hint)

    def not_in_series(self, directive: Directive, key_path: str) -> ConfigError:
        other = next(series for series in SERIES if directive.available_in(series))
        missing = directive.missing_hint(self.compat)
        if self.compat_from_option:
            return ConfigError(self.at(key_path), f"not available with --compat={self.compat}",
                               f"{missing}; use --compat={other}")
        return ConfigError(self.at(key_path), f'not available with compat = "{self.compat}"',
                           f'{missing}; remove it, or set compat = "{other}"')
