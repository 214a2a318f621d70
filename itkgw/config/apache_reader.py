"""Apache httpd syntax -> model: the httpd.conf and vhost files an admin already has.

Reading happens in two steps. Each file is split into logical lines (``\\``
at the very end of a line continues it; blank lines and lines starting with
``#`` are skipped) and built into a tree of directives and sections, so an
unclosed or mismatched section is found wherever it is. The tree is then
walked in order, as httpd walks it: ``Define`` and ``${VAR}`` (Define's
values, then the environment; an undefined one is an error, where httpd only
warns and keeps the text), ``<IfDefine>`` (-D and Define), ``<IfModule>``
(the modules itkgw implements are loaded, no others), ``Include`` and
``IncludeOptional`` (relative to ServerRoot, wildcards sorted) steer what is
read; every other directive is looked up in the directive table
(itkgw.config.table) for its contexts, series and argument syntax.

The model is then built with Apache's inheritance resolved: what the main
server sets is every vhost's default (AssignUserID, Options, AddHandler,
SetEnv...; rewrite rules excepted, as in Apache), server-level sections come
first in every vhost's sections, and a Listen address no <VirtualHost>
answers on is served by the main server, as a vhost of its own. Settings
both models have (ServerAdmin, ErrorLog, CustomLog) stay on the server, whose
value the model already gives a vhost without its own. Where
Apache's defaults differ from the TOML model's they are Apache's: no
handlers unless AddHandler/AddType says so, Options FollowSymLinks (2.4) or
All (2.2), DirectoryIndex index.html. ServerRoot defaults to the directory
of the main file, as Debian's layout needs.

Every problem is collected and raised together as ConfigErrors, each
``FILE:LINE: message (hint)``; the line is the first of a continued line.
"""

from __future__ import annotations

import dataclasses
import difflib
import glob
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from itkgw import HTTPD_VERSIONS
from itkgw.config import checks, foreign
from itkgw.config.checks import WILDCARDS, Findings, Limits, Loaded
from itkgw.config.directive import SECTION_KINDS, SERIES, Context, Directive
from itkgw.config.identity import resolve_identity
from itkgw.config.kinds import (
    Path,
    apache_words,
    check_expr,
    lookup_hint,
    parse_address,
)
from itkgw.config.kinds_structured import (
    CGI_HANDLER,
    FCGID_HANDLER,
    MIXED_OPTIONS,
    PHP_HANDLER,
    PHP_TYPES,
    TYPE_MAP_HANDLER,
    UNSUPPORTED_OPTIONS,
    ExecCGIOption,
    allows_cgi,
    apply_options,
    check_access,
    check_require,
    check_rule,
    check_section_path,
    combine_options,
    handler_name,
    options_signed,
    unknown_handler,
)
from itkgw.config.model import (
    ANY_HOST,
    DEFAULT_ID_RANGE,
    Address,
    DirSection,
    Identity,
    ServerConfig,
    VHost,
)
from itkgw.config.overrides import Overrides
from itkgw.config.table import (
    BUILT_IN_MODULES,
    BY_KEY,
    BY_NAME,
    LOADED_MODULES,
    OWNED,
    apache_directive,
    apache_section,
    loaded_by,
    model_fields,
    split_settings,
)
from itkgw.errors import ConfigError, ConfigErrors
from itkgw.rules.authz import AccessCompat, LimitedAccess, Require, RequireGroup
from itkgw.rules.rewrite import RewriteCond

DEFAULT_COMPAT = "2.4"
#: Debian's User and Group, as the TOML reader defaults them.
DEFAULT_USER = "www-data"
#: Prefork's ServerLimit when none is given.
DEFAULT_SERVER_LIMIT = 256
#: mod_dir's DirectoryIndex when none is given.
APACHE_DIRECTORY_INDEX = ("index.html",)
#: core's Options when none is given, by series.
APACHE_OPTIONS = {"2.2": ("All",), "2.4": ("FollowSymLinks",)}
DEFAULT_LOG_FORMAT = "common"
#: Formats itkgw knows by name, whatever LogFormat says about them.
NAMED_LOG_FORMATS = ("common", "combined")

_VARIABLE = re.compile(r"\$\{([^}:]+)\}")
_core_log = logging.getLogger("itkgw.core")
_CLOSER = re.compile(r"</\s*([^\s>]+)\s*>")
#: Sections Apache has that itkgw does not implement, and why.
_UNSUPPORTED_SECTIONS = {
    "iffile": "use <IfDefine> with -D instead",
    "ifdirective": "use <IfDefine> with -D instead",
    "ifsection": "use <IfDefine> with -D instead",
}
#: How repeated items of a setting are told apart: a later one with the same key replaces the earlier.
_ITEM_KEYS: dict[str, Callable[[Any], object]] = {
    "add_type": lambda pair: pair[1].lower(),
    "add_encoding": lambda pair: pair[1].lower(),
    "add_charset": lambda pair: pair[1].lower(),
    "add_output_filter": lambda pair: pair[1].lower(),
    "add_language": lambda pair: pair[1].lower(),
    "add_handler": lambda pair: pair[1].lower(),
    "set_env": lambda pair: pair[0].lower(),
    "error_documents": lambda pair: pair[0],
    "php_settings": lambda setting: setting.name,
    "fcgid_initial_env": lambda pair: pair[0],
    "fcgid_wrapper": lambda wrapper: wrapper.suffix,
    "expires_by_type": lambda pair: pair[0],
    "request_read_timeout": lambda pair: pair[0],
}
#: ServerConfig fields read as plain settings (the others are built by the reader).
_SERVER_FIELDS = model_fields(Context.SERVER) - {
    "user", "listen", "vhosts", "source", "compat", "server_root", "name_virtual_hosts", "loaded_modules"}
_SECTION_FIELDS = model_fields(Context.DIRECTORY)
#: A vhost's sections by kind, as its TOML form lists them; <If> sections last, in their order.
_SECTION_ORDER = (*SECTION_KINDS, "if")
_VHOST_FIELDS = model_fields(Context.VHOST)


def load_apache(path: str, compat: str | None = None, defines: tuple[str, ...] = ()) -> Loaded:
    """Read the Apache-syntax config at ``path`` for mpm-itk series ``compat``
    (default 2.4) with ``defines`` as httpd's -D names."""
    if compat is not None and compat not in SERIES:
        raise ConfigErrors([ConfigError("--compat", f"{compat!r} is not a known series",
                                        "use --compat=2.2 or --compat=2.4")])
    reader = _Reader(path, compat or DEFAULT_COMPAT, defines)
    config = reader.read()
    if reader.findings.errors or config is None:
        raise ConfigErrors(reader.findings.errors)
    return Loaded(config, reader.findings.warnings)


# -- files, lines and the tree -------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    where: str
    text: str


@dataclass(frozen=True)
class _Directive:
    name: str
    args: str  # as written: variables are expanded when it is read
    where: str


@dataclass
class _Block:
    name: str
    args: str
    where: str
    body: list[_Directive | _Block] = field(default_factory=list)
    #: A section whose opening line is wrong: reported, and not read.
    broken: bool = False


def _read_lines(path: str) -> list[_Line]:
    """The logical lines of a file, comments and blank lines left out."""
    try:
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8", "surrogateescape")
    except OSError as exc:
        raise ConfigError(path, f"cannot read: {exc.strerror}",
                          "give an existing, readable config file") from None
    physical = text.split("\n")
    lines: list[_Line] = []
    index = 0
    while index < len(physical):
        number = index + 1
        line = physical[index].removesuffix("\r")
        while line.endswith("\\") and index + 1 < len(physical):
            index += 1
            line = line[:-1] + physical[index].removesuffix("\r")
        index += 1
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{path}:{number}"
        if any("\udc80" <= char <= "\udcff" for char in line):
            raise ConfigError(where, "not UTF-8 text", "save the file as UTF-8")
        lines.append(_Line(where, line))
    return lines


def _parse_tree(lines: list[_Line], findings: Findings) -> list[_Directive | _Block]:
    """Directives and sections, nested; unclosed and mismatched sections are reported."""
    root: list[_Directive | _Block] = []
    open_blocks: list[_Block] = []

    def body() -> list[_Directive | _Block]:
        return open_blocks[-1].body if open_blocks else root

    for line in lines:
        text = line.text
        if text.startswith("</"):
            match = _CLOSER.fullmatch(text)
            if not match:
                findings.error(line.where, f"{text} is not a closing tag", "write it as </Name>")
                continue
            name = match.group(1)
            names = [block.name.lower() for block in open_blocks]
            if not open_blocks:
                findings.error(line.where, f"</{name}> without matching <{name}> section",
                               "remove it, or add the opening tag")
            elif names[-1] != name.lower():
                findings.error(line.where, f"Expected </{open_blocks[-1].name}> but saw </{name}>",
                               f"close <{open_blocks[-1].name}> (opened at {open_blocks[-1].where}) first")
                # A closer of an outer section closes the ones inside it; any other was
                # meant to close the current one.
                del open_blocks[names.index(name.lower()) if name.lower() in names else -1:]
            else:
                open_blocks.pop()
        elif text.startswith("<"):
            name = re.split(r"[\s>]", text[1:], maxsplit=1)[0]
            block = _Block(name, text[1 + len(name):].removesuffix(">").strip(), line.where)
            if not text.endswith(">"):
                findings.error(line.where, f"<{name}> directive missing closing '>'", "end the line with >")
                block.broken = True
            body().append(block)
            open_blocks.append(block)
        else:
            name, *args = text.split(maxsplit=1)
            body().append(_Directive(name, args[0] if args else "", line.where))
    for block in open_blocks:
        findings.error(block.where, f"<{block.name}> was not closed.", f"add </{block.name}> where it ends")
    if open_blocks:
        # What an unclosed section holds is unknown: leave it out. The outermost
        # one was opened at the top level.
        root = [node for node in root if node is not open_blocks[0]]
    return root


# -- what has been read ------------------------------------------------------------------


@dataclass
class _Scope:
    """The settings read so far for the main server, one vhost or one section."""

    context: Context
    where: str
    #: The section's name as Apache spells it (VirtualHost, DirectoryMatch...).
    label: str = "server config"
    kind: str = ""
    path: str = ""
    regex: bool = False
    #: Setting -> value, keyed by TOML key (the model field, "user" and "group" apart).
    values: dict[str, Any] = field(default_factory=dict)
    set_at: dict[str, str] = field(default_factory=dict)
    #: Server and vhost: extension (lower case) -> (extension, handler) of AddHandler/AddType.
    handlers: dict[str, tuple[str, str]] = field(default_factory=dict)
    sections: list[_Scope] = field(default_factory=list)
    #: VirtualHost: (host, port) pairs, port None for every port listened on.
    addresses: list[tuple[str, int | None]] = field(default_factory=list)
    #: RewriteCond lines waiting for their RewriteRule.
    conditions: list[tuple[RewriteCond, str]] = field(default_factory=list)
    #: Require items: the section's implicit <RequireAny>, then open <RequireAll>... groups.
    require: list[list[Require | RequireGroup]] = field(default_factory=lambda: [[]])
    access: dict[str, Any] = field(default_factory=dict)
    #: Inside <Limit> (<LimitExcept>: True): its methods, and its Order/Allow/Deny so far.
    limit: tuple[tuple[str, ...], bool] | None = None
    limit_access: dict[str, Any] = field(default_factory=dict)
    #: The Order/Allow/Deny of each <Limit> read.
    access_limits: list[LimitedAccess] = field(default_factory=list)
    log_formats: dict[str, str] = field(default_factory=dict)
    default_log_format: str | None = None
    #: CustomLog's format or nickname (None: TransferLog's default format), and where.
    log_format: tuple[str | None, str] | None = None
    #: The conditions of the <If> and <ElseIf> sections read last here, for an <ElseIf> or
    #: <Else> after them (None: no <If> open to one).
    if_chain: list[str] | None = None

    def put(self, name: str, value: Any, where: str, repeat: bool = False, keyed: bool = False) -> None:
        """Set a value; a repeated directive adds to what the same scope set before."""
        if repeat and name in self.values:
            value = _keyed_merge(name, self.values[name], value) if keyed else self.values[name] + value
        self.values[name] = value
        self.set_at[name] = where


def _keyed_merge(name: str, earlier: tuple[Any, ...], later: tuple[Any, ...]) -> tuple[Any, ...]:
    """Items of both, a later item replacing an earlier one with the same key in its place."""
    key = _ITEM_KEYS[name]
    merged = {key(item): item for item in earlier}
    merged.update((key(item), item) for item in later)
    return tuple(merged.values())


def _spelled(name: str) -> str:
    """A directive's name as the table spells it (Apache ignores case)."""
    found = BY_NAME.get(name.lower())
    if found is None:
        return name
    directive, alias = found
    return alias.name if alias else directive.name


# -- reading ------------------------------------------------------------------------------


class _Reader:
    """The reading of one configuration: what was read, and the problems found."""

    def __init__(self, source: str, compat: str, defines: tuple[str, ...]) -> None:
        self.source = source
        self.compat = compat
        self.findings = Findings()
        self.defines = set(defines)
        self.variables: dict[str, str] = {}
        self.server_root = os.path.dirname(os.path.abspath(source))
        self.server = _Scope(Context.SERVER, source)
        self.vhosts: list[_Scope] = []
        self.chain: list[str] = []
        self.listen_at: dict[Address, str] = {}
        self.listen_given = False
        self.name_vhosts: list[tuple[tuple[str, int | None], str]] = []
        self.unknown_modules: dict[str, str] = {}
        #: The names <IfModule> finds, as LoadModule lines loaded them; None before any.
        self.loaded: set[str] | None = None
        self.no_effect: dict[str, str] = {}
        self.server_limit: tuple[int, str] | None = None
        self.warned_server_name = False
        #: Table row name (lower case) -> what reading it does, where a plain setting is not enough.
        self.handlers: dict[str, Callable[[Directive, list[str], _Scope, str], None]] = {
            "include": self.include, "includeoptional": self.include,
            "define": self.define, "undefine": self.undefine,
            "loadmodule": self.load_module, "loadfile": self.accept,
            "serverroot": self.set_server_root, "serverlimit": self.set_server_limit,
            "listen": self.listen, "namevirtualhost": self.name_virtual_host,
            "directoryindex": self.directory_index, "options": self.options,
            "addhandler": self.add_handler, "addtype": self.add_type,
            "customlog": self.custom_log, "transferlog": self.transfer_log, "logformat": self.log_format,
            "userdir": self.user_dir,
            "rewritecond": self.rewrite_cond, "rewriterule": self.rewrite_rule,
            "require": self.require, "order": self.access, "allow": self.access, "deny": self.access,
            "satisfy": self.access, "sethandler": self.set_handler,
        }

    def read(self) -> ServerConfig | None:
        try:
            lines = _read_lines(self.source)
        except ConfigError as exc:
            hint = "give an existing, readable config file with -f" if exc.where == self.source else exc.hint
            self.findings.errors.append(ConfigError(exc.where, exc.message, hint))
            return None
        self.chain.append(self.source)
        self.walk(_parse_tree(lines, self.findings), self.server)
        return self.build()

    def walk(self, nodes: list[_Directive | _Block], scope: _Scope) -> None:
        for node in nodes:
            try:
                if isinstance(node, _Block):
                    if not node.broken:
                        self.block(node, scope)
                else:
                    self.directive(node, scope)
            except ConfigError as exc:
                self.findings.errors.append(exc)

    def expand(self, text: str, where: str) -> str:
        """``${NAME}`` replaced by Define's value, else the environment's."""

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in self.variables:
                return self.variables[name]
            if name in os.environ:
                return os.environ[name]
            return self.undefined(name, match.group(0), where)

        return _VARIABLE.sub(value, text)

    def undefined(self, name: str, written: str, where: str) -> str:
        """What stands for a variable nothing defines: the server's configuration stops on it."""
        raise ConfigError(where, f"Config variable ${{{name}}} is not defined", self.undefined_hint(name))

    def undefined_hint(self, name: str) -> str:
        """How to define ``name``; on a Debian tree, where its APACHE_* variables come from."""
        hint = f"define it first with Define {name} VALUE, or in the environment itkgw starts in"
        envvars = os.path.join(self.server_root, "envvars")
        if os.path.isfile(envvars):  # Debian's apache2ctl sources it before starting httpd
            hint += (f"; Debian's {envvars} sets the APACHE_* ones: run '. {envvars}' first, "
                     "as apache2ctl does")
        return hint

    def rooted(self, path: str) -> str:
        """A path relative to ServerRoot made absolute, as httpd does."""
        if not path or os.path.isabs(path) or path == "-" or path.startswith("|"):
            return path
        return os.path.join(self.server_root, path)

    # -- directives ------------------------------------------------------------

    def directive(self, node: _Directive, scope: _Scope) -> None:
        found = apache_directive(node.name, self.compat, node.where)
        if found is None:
            raise self.invalid_command(node.name, node.where)
        row, warning = found
        if warning:
            self.findings.warnings.append(warning)
        self.check_context(row, node.name, scope, node.where)
        text = self.expand(node.args, node.where)
        args = [text] if row.raw else apache_words(text, node.where)
        if row.no_effect:
            row.kind.from_args(args, node.where)
            self.no_effect.setdefault(row.name, node.where)
            return
        self.handlers.get(row.name.lower(), self.setting)(row, args, scope, node.where)

    def invalid_command(self, name: str, where: str) -> ConfigError:
        message = (f"Invalid command '{name}', perhaps misspelled or defined by a module not included "
                   "in the server configuration")
        return ConfigError(where, message, self.unknown_name_hint(name))

    def unknown_name_hint(self, name: str) -> str:
        """The module a known foreign directive needs, else a close spelling, else the way out."""
        known = foreign.directive_hint(name, self.unknown_modules)
        if known:
            return known
        close = difflib.get_close_matches(name.lower(), list(BY_NAME), n=1)
        if close:
            return f"did you mean {_spelled(close[0])}?"
        if self.unknown_modules:
            modules = ", ".join(self.unknown_modules)
            return (f"if it belongs to a module itkgw does not implement ({modules}), "
                    "remove it or put it inside that module's <IfModule>")
        return "remove it; a directive of a module itkgw does not implement goes inside <IfModule module>"

    def check_context(self, row: Directive, name: str, scope: _Scope, where: str) -> None:
        spelled = _spelled(name)
        if len(scope.require) > 1 and scope.limit is None and row.name != "Require":
            raise ConfigError(where, f"{spelled} not allowed here",
                              "only Require lines and <Require...> sections go inside <RequireAll>, "
                              "<RequireAny> and <RequireNone>")
        kind = scope.kind
        if kind == "if":  # what the section it is written in allows
            kind = "files" if scope.values.get("in_files") is not None else "directory"
        if row.allowed_in(scope.context, kind):
            return
        if scope.context is Context.DIRECTORY and row.not_in_sections:
            raise ConfigError(where, f"{spelled} in a <{scope.label}> section is not supported",
                              row.not_in_sections)
        if row.apache_contexts == frozenset({Context.SERVER}):
            raise ConfigError(where, f"{spelled} cannot occur within <{scope.label}> section",
                              row.where_allowed())
        raise ConfigError(where, f"{spelled} not allowed here", row.where_allowed())

    def setting(self, row: Directive, args: list[str], scope: _Scope, where: str) -> None:
        """A directive that sets (or adds to) one setting."""
        if row.root_relative and args:
            args = [self.rooted(args[0]), *args[1:]]
        value = row.kind.from_args(args, where)
        scope.put(row.key or row.model_field, value, where, row.repeat, row.keyed)

    def accept(self, row: Directive, args: list[str], scope: _Scope, where: str) -> None:
        """A directive read for its syntax only (LoadFile)."""
        row.kind.from_args(args, where)

    # -- steering: files, definitions, modules ------------------------------------

    def include(self, row: Directive, args: list[str], scope: _Scope, where: str) -> None:
        (pattern,) = row.kind.from_args(args, where)
        for path in self.include_files(self.rooted(pattern), row.name == "IncludeOptional", where):
            self.read_file(path, scope, where)

    def include_files(self, path: str, optional: bool, where: str) -> list[str]:
        """The files ``Include path`` reads, in order: wildcards sorted, directories whole."""
        if glob.has_magic(path):
            matches = sorted(glob.glob(path))
            if not matches and not optional and self.compat == "2.4":
                directory, pattern = os.path.split(path)
                raise ConfigError(where, f"No matches for the wildcard '{pattern}' in '{directory}', failing",
                                  "use IncludeOptional if it may match nothing")
            return [file for match in matches for file in _files_in(match)]
        if os.path.exists(path):
            return _files_in(path)
        if optional:
            return []
        raise ConfigError(where, f"Could not open configuration file {path}: No such file or directory",
                          "fix the path (relative paths are taken from ServerRoot "
                          f"{self.server_root}), or use IncludeOptional")

    def read_file(self, path: str, scope: _Scope, where: str) -> None:
        real = os.path.realpath(path)
        if real in (os.path.realpath(file) for file in self.chain):
            loop = " -> ".join([*self.chain, path])
            raise ConfigError(where, f"Include loop: {loop}", "remove the Include that reads a file again")
        nodes = _parse_tree(_read_lines(path), self.findings)
        self.chain.append(path)
        try:
            self.walk(nodes, scope)
        finally:
            self.chain.pop()

    def define(self, row: Directive, args: list[str], scope: _Scope, where: str) -> None:
        name, *value = row.kind.from_args(args, where)
        if ":" in name:
            raise ConfigError(where, "Variable name must not contain ':'", "choose another name")
        self.defines.add(name)
        if value:
            self.variables[name] = value[0]

    def undefine(self, row: Directive, args: list[str], scope: _Scope, where: str) -> None:
        (name,) = row.kind.from_args(args, where)
        self.defines.discard(name)
        self.variables.pop(name, None)

    def load_module(self, row: Directive, args: list[str], scope: _Scope, where: str) -> None:
        module, _path = row.kind.from_args(args, where)
        if module not in LOADED_MODULES:
            self.unknown_modules.setdefault(module, where)
        if self.loaded is None:
            self.loaded = set()
        self.loaded |= loaded_by(module)

    def set_server_root(self, row: Directive, args: list[str], scope: _Scope, where: str) -> None:
        path = row.kind.from_args(args, where)
        if not os.path.isdir(path):
            raise ConfigError(where, "ServerRoot must be a valid directory", f"{path} is not a directory")
        self.server_root = path
        scope.put("server_root", path, where)

    def set_server_limit(self, row: Directive, args: list[str], scope: _Scope, where: str) -> None:
        self.server_limit = (row.kind.from_args(args, where), where)

    # -- addresses ---------------------------------------------------------------

    def listen(self, row: Directive, args: list[str], scope: _Scope, where: str) -> None:
        self.listen_given = True
        addresses = row.kind.from_args(args, where)
        for address in addresses:
            self.listen_at[address] = where
        scope.put("listen", addresses, where, repeat=True)

    def name_virtual_host(self, row: Directive, args: list[str], scope: _Scope, where: str) -> None:
        if len(args) != 1:
            raise ConfigError(where, f"expected one address, got {' '.join(args) or 'nothing'}",
                              "write it as NameVirtualHost *:80")
        address = _vhost_address(args[0], where)
        if self.compat == "2.4":
            self.findings.warn(where, "NameVirtualHost has no effect and will be removed in the next release "
                               "(Apache 2.4 chooses vhosts by name on every address)")
            return
        self.name_vhosts.append((address, where))

    # -- content ---------------------------------------------------------------

    def directory_index(self, row: Directive, args: list[str], scope: _Scope, where: str) -> None:
        if [arg.lower() for arg in args] == ["disabled"]:
            scope.put("directory_index", (), where)
        else:
            self.setting(row, args, scope, where)

    def options(self, row: Directive, args: list[str], scope: _Scope, where: str) -> None:
        words = row.kind.from_args(args, where)
        if not options_signed(words) and any(word[:1] in "+-" for word in words):
            if self.compat == "2.4":
                raise ConfigError(where, MIXED_OPTIONS, "sign every word, or none")
            words = apply_options((), words)  # 2.2: the plain words replace, then the signed ones apply
        for word in words:
            if word.lstrip("+") in UNSUPPORTED_OPTIONS and not word.startswith("-"):
                self.findings.warn(where, f"Options {word} has no effect: itkgw has no server-side includes")
        scope.put("options", combine_options(scope.values.get("options"), words), where)

    def set_handler(self, row: Directive, args: list[str], scope: _Scope, where: str) -> None:
        if self.compat == "2.2" and args and args[0].lower().startswith("proxy:"):
            raise ConfigError(where, f"SetHandler {args[0]} is not available with --compat=2.2",
                              "Apache 2.2 has no mod_proxy_fcgi; use --compat=2.4, or run PHP through "
                              "php-cgi (SetHandler application/x-httpd-php)")
        self.setting(row, args, scope, where)
        if len(args) == 1 and (unknown := unknown_handler(handler_name(args[0], where, none_ok=True))):
            self.findings.warn(where, unknown)

    def add_handler(self, row: Directive, args: list[str], scope: _Scope, where: str) -> None:
        pairs = row.kind.from_args(args, where)
        if any(handler == TYPE_MAP_HANDLER for handler, _ in pairs):
            self.findings.warn(where, "AddHandler type-map has no effect: itkgw negotiates MultiViews, not "
                               "type maps; type map files are served as they are")
        for unknown in dict.fromkeys(filter(None, (unknown_handler(handler) for handler, _ in pairs))):
            self.findings.warn(where, unknown)
        if scope.context is Context.DIRECTORY:
            scope.put("add_handler", pairs, where, repeat=True, keyed=True)
        else:
            self.handle_extensions(pairs, scope, where)

    def add_type(self, row: Directive, args: list[str], scope: _Scope, where: str) -> None:
        pairs = row.kind.from_args(args, where)
        php = tuple((PHP_HANDLER, ext) for content_type, ext in pairs if content_type.lower() in PHP_TYPES)
        other = tuple(pair for pair in pairs if pair[0].lower() not in PHP_TYPES)
        if php and scope.context is Context.DIRECTORY:
            scope.put("add_handler", php, where, repeat=True, keyed=True)
        elif php:
            self.handle_extensions(php, scope)
        if other:
            scope.put("add_type", other, where, repeat=True, keyed=True)

    def handle_extensions(self, pairs: tuple[tuple[str, str], ...], scope: _Scope, where: str = "") -> None:
        """Server and vhost level: AddHandler picks what runs files with an ending."""
        for handler, ext in pairs:
            name = handler_name(handler, where or scope.where)
            if name.lower().startswith("proxy:"):
                raise ConfigError(where or scope.where,
                                  f"AddHandler {handler} outside a section is not supported",
                                  f'hand the files to the FastCGI server in a section: '
                                  f'<FilesMatch "\\{ext}$"> SetHandler "{handler}" </FilesMatch>')
            scope.handlers[ext.lower()] = (ext, name)

    def user_dir(self, row: Directive, args: list[str], scope: _Scope, where: str) -> None:
        """mod_userdir's lines add up: a directory, users disabled (all, without names) and
        users enabled, as Debian's userdir.conf writes them (UserDir disabled root)."""
        keyword = args[0].lower() if args else ""
        if keyword in ("disabled", "enabled"):
            names = tuple(args[1:]) or (("*",) if keyword == "disabled" else ())
            if not names:
                raise ConfigError(where, 'UserDir "enabled" keyword requires a list of usernames',
                                  "write UserDir enabled alice bob")
            field = f"user_dir_{keyword}"
            scope.put(field, (*scope.values.get(field, ()), *names), where)
            return
        scope.put("user_dir", row.kind.from_args(args, where), where)

    # -- logs ----------------------------------------------------------------------

    def custom_log(self, row: Directive, args: list[str], scope: _Scope, where: str) -> None:
        path, log_format, *condition = row.kind.from_args(args, where)
        if condition:
            kind, equals, name = condition[0].partition("=")
            if kind.lower() != "env" or not equals or not name.lstrip("!"):
                raise ConfigError(where, f"CustomLog condition {condition[0]!r} is not supported",
                                  "write env=NAME or env=!NAME (an expr= condition is not read)")
            scope.put("access_log_condition", name, where)
        self.set_access_log(self.rooted(path), (log_format, where), scope, where)

    def transfer_log(self, row: Directive, args: list[str], scope: _Scope, where: str) -> None:
        path = Path(specials=("-",)).from_args([self.rooted(arg) for arg in args], where)
        self.set_access_log(path, (None, where), scope, where)

    def set_access_log(self, path: str, log_format: tuple[str | None, str], scope: _Scope,
                       where: str) -> None:
        path = Path(specials=("-",)).check(path, where)
        if "access_log" in scope.values:
            raise ConfigError(where, f"a second access log ({path}) is not supported",
                              f"itkgw writes one access log per vhost; {scope.values['access_log']} "
                              f"is set at {scope.set_at['access_log']}")
        scope.put("access_log", path, where)
        scope.log_format = log_format

    def log_format(self, row: Directive, args: list[str], scope: _Scope, where: str) -> None:
        if len(args) == 2:
            scope.log_formats[args[1]] = args[0]
        elif len(args) == 1:
            scope.default_log_format = row.kind.from_args(args, where)
        else:
            raise ConfigError(where, f"expected a format and an optional nickname, got {len(args)} arguments",
                              'write it as LogFormat "%h %l %u %t \\"%r\\" %>s %b" common')

    def resolve_log_format(self, scope: _Scope) -> str | None:
        """The access log format of a scope's CustomLog or TransferLog, nicknames resolved."""
        if scope.log_format is None:
            return None
        text, where = scope.log_format
        if text is None:
            return scope.default_log_format or self.server.default_log_format or DEFAULT_LOG_FORMAT
        if "%" in text or text in NAMED_LOG_FORMATS:
            return text
        for formats in (scope.log_formats, self.server.log_formats):
            if text in formats:
                return formats[text]
        self.findings.error(where, f"LogFormat nickname {text!r} is not defined",
                            f'define it with LogFormat "FORMAT" {text}, or use common or combined')
        return None

    # -- rewriting ---------------------------------------------------------------

    def rewrite_cond(self, row: Directive, args: list[str], scope: _Scope, where: str) -> None:
        scope.conditions.append((row.kind.from_args(args, where), where))

    def rewrite_rule(self, row: Directive, args: list[str], scope: _Scope, where: str) -> None:
        (rule,) = row.kind.from_args(args, where)
        rule = dataclasses.replace(rule, conditions=tuple(cond for cond, _ in scope.conditions))
        scope.conditions.clear()
        check_rule(rule)
        scope.put("rewrite_rules", (rule,), where, repeat=True)

    # -- access ------------------------------------------------------------------

    def require(self, row: Directive, args: list[str], scope: _Scope, where: str) -> None:
        scope.require[-1].extend(row.kind.from_args(args, where).items)

    def access(self, row: Directive, args: list[str], scope: _Scope, where: str) -> None:
        value = row.kind.from_args(args, where)
        name = row.name.lower()
        into = scope.limit_access if scope.limit is not None and name != "satisfy" else scope.access
        if name in ("allow", "deny"):
            into[name] = into.get(name, ()) + value
        else:
            into[name] = value


    # -- sections ------------------------------------------------------------------

    def block(self, node: _Block, scope: _Scope) -> None:
        name = node.name.lower()
        if name in ("if", "elseif", "else"):
            self.if_section(node, name, apache_words(self.expand(node.args, node.where), node.where), scope)
            return
        if name not in ("ifmodule", "ifdefine", "ifversion"):
            scope.if_chain = None  # a section between: an <ElseIf> or <Else> has no <If> to follow
        if name in _UNSUPPORTED_SECTIONS:
            raise ConfigError(node.where, f"<{node.name}> is not supported by itkgw",
                              _UNSUPPORTED_SECTIONS[name])
        section = apache_section(node.name, self.compat, node.where)
        if section is None:
            raise ConfigError(node.where, f"Invalid command '<{node.name}', perhaps misspelled or defined by "
                              "a module not included in the server configuration",
                              "remove the section; a section of a module itkgw does not implement goes "
                              "inside <IfModule module>")
        args = apache_words(self.expand(node.args, node.where), node.where)
        if name in ("ifmodule", "ifdefine"):
            self.conditional(node, args, scope)
        elif name == "ifversion":
            if version_matches(args, HTTPD_VERSIONS[self.compat], node.where):
                self.walk(node.body, scope)
        elif name.startswith("require"):
            self.require_group(node, args, scope)
        elif name in ("limit", "limitexcept"):
            self.limit_block(node, args, scope)
        elif name == "virtualhost":
            self.virtual_host(node, args, scope)
        else:
            self.dir_section(node, section.name, section.kind, section.regex, args, scope)

    def if_section(self, node: _Block, name: str, args: list[str], scope: _Scope) -> None:
        """<If "expr">, <ElseIf "expr"> and <Else>: a section of the server, the vhost, the
        <Directory> or the <Files> it is written in (an .htaccess file's is its directory's),
        that applies to a request as its condition holds (and those of the <If> and <ElseIf>
        before it do not)."""
        label = {"if": "If", "elseif": "ElseIf", "else": "Else"}[name]
        nested = scope.context is Context.DIRECTORY
        if nested and (scope.kind not in ("directory", "files") or scope.regex and scope.kind == "directory"):
            raise ConfigError(node.where, f"<{label}> cannot occur within <{scope.label}> section",
                              f"write the <{label}> in the <VirtualHost>, a <Directory>, a <Files> section "
                              "or an .htaccess file")
        chain = scope.if_chain
        if name != "if" and chain is None:
            raise ConfigError(node.where, "<Else> or <ElseIf> section without previous <If> or <ElseIf> "
                              "section in same scope", f"put the <{label}> right after an <If>")
        if (name == "else") != (not args) or len(args) > 1:
            wanted = "no argument" if name == "else" else "one expression"
            raise ConfigError(node.where, f"<{label}> takes {wanted}",
                              'write it as <If "%{HTTPS} == \'on\'"> ... </If>, then <Else> ... </Else>')
        condition = args[0] if args else None
        if condition is not None:
            # File tests only where the request's identity judges it: an .htaccess file's.
            check_expr(condition, node.where, f"<{label}>: cannot parse the expression", condition=True,
                       files=isinstance(self, _AccessFileReader))
        unless = tuple(chain or ()) if name != "if" else ()
        section = _Scope(Context.DIRECTORY, node.where, label=label, kind="if", path=scope.path)
        section.values.update(condition=condition, unless=unless,
                              in_directory=scope.values.get("in_directory", scope.path) if nested else None)
        if nested and scope.kind == "files":
            section.values.update(in_files=scope.path, in_files_regex=scope.regex)
        self.walk(node.body, section)
        self.finish(section)
        rewriting = next((key for key in section.values if key.startswith("rewrite_")), None)
        if rewriting is not None:
            raise ConfigError(section.set_at[rewriting],
                              f"mod_rewrite's directives in an <{label}> section are not supported",
                              "write the condition as a RewriteCond before the RewriteRule instead")
        scope.sections.append(section)
        scope.if_chain = None if name == "else" else [*unless, condition] if condition is not None else None

    def conditional(self, node: _Block, args: list[str], scope: _Scope) -> None:
        if len(args) != 1:
            raise ConfigError(node.where, f"<{node.name}> takes one argument, got {len(args)}",
                              f"write it as <{node.name} name> or <{node.name} !name>")
        negated = args[0].startswith("!")
        name = args[0][1:] if negated else args[0]
        present = self.has_module(name) if node.name.lower() == "ifmodule" else name in self.defines
        if present != negated:
            self.walk(node.body, scope)

    def has_module(self, name: str) -> bool:
        """Whether <IfModule name> finds it: a module httpd has built in, or one itkgw implements
        that a LoadModule line loaded (any, when the configuration has none)."""
        if name in BUILT_IN_MODULES:
            return True
        return name in LOADED_MODULES and (self.loaded is None or name in self.loaded)

    def require_group(self, node: _Block, args: list[str], scope: _Scope) -> None:
        if scope.context is not Context.DIRECTORY:
            raise ConfigError(node.where, f"<{node.name}> not allowed here",
                              "it belongs in <Directory>, <Location> or <Files>")
        if args:
            raise ConfigError(node.where, f"<{node.name}> does not take arguments", f"write <{node.name}>")
        scope.require.append([])
        try:
            self.walk(node.body, scope)
        finally:
            items = scope.require.pop()
        mode = node.name.lower().removeprefix("require")
        scope.require[-1].append(RequireGroup(mode, tuple(items)))

    def limit_block(self, node: _Block, args: list[str], scope: _Scope) -> None:
        """<Limit methods> and <LimitExcept methods>: their Require, Order, Allow and Deny
        lines count for those methods (all the others) only; any other directive in them
        counts for every method, as httpd's masks are about access alone."""
        if scope.context is not Context.DIRECTORY:
            raise ConfigError(node.where, f"<{node.name}> not allowed here",
                              "itkgw reads it in <Directory>, <Location> and <Files> sections and .htaccess")
        if scope.limit is not None or len(scope.require) > 1:
            raise ConfigError(node.where, f"<{node.name}> inside another access section is not supported",
                              f"write the <{node.name}> at the top of the section")
        if not args:
            raise ConfigError(node.where, f"<{node.name}> needs the methods it is about",
                              f"write it as <{node.name} GET POST>")
        methods = tuple(sorted({"GET" if method.upper() == "HEAD" else method.upper() for method in args}))
        excepted = node.name.lower() == "limitexcept"
        scope.limit, scope.limit_access = (methods, excepted), {}
        scope.require.append([])
        try:
            self.walk(node.body, scope)
        finally:
            items, limited = scope.require.pop(), scope.limit_access
            scope.limit, scope.limit_access = None, {}
        if items:
            scope.require[-1].append(RequireGroup("any", tuple(items), methods, excepted))
        if limited:
            scope.access_limits.append(LimitedAccess(methods, excepted, limited.get("order"),
                                                     limited.get("allow", ()), limited.get("deny", ())))

    def virtual_host(self, node: _Block, args: list[str], scope: _Scope) -> None:
        if scope.context is not Context.SERVER:
            raise ConfigError(node.where, f"<VirtualHost> cannot occur within <{scope.label}> section",
                              "close that section first; vhosts are defined at the top level")
        if not args:
            raise ConfigError(node.where, "<VirtualHost> directive requires additional arguments",
                              "give the addresses it answers on, e.g. <VirtualHost *:80>")
        vhost = _Scope(Context.VHOST, node.where, label="VirtualHost")
        vhost.addresses = [_vhost_address(arg, node.where) for arg in args]
        self.walk(node.body, vhost)
        self.finish(vhost)
        self.vhosts.append(vhost)

    def dir_section(self, node: _Block, label: str, kind: str, regex: bool, args: list[str],
                    scope: _Scope) -> None:
        nested = scope.context is Context.DIRECTORY
        if nested and not (kind == "files" and scope.kind == "directory"):
            raise ConfigError(node.where, f"<{label}> cannot occur within <{scope.label}> section",
                              "only <Files> and <FilesMatch> go inside a <Directory>")
        if len(args) == 2 and args[0] == "~" and not regex:
            regex, label, args = True, f"{label}Match", args[1:]
        if len(args) != 1:
            raise ConfigError(node.where, f"<{label}> takes one path, got {len(args)} arguments",
                              f'write it as <{label} "/path">' if args else
                              f"<{label}> directive requires additional arguments")
        check_section_path(kind, regex, args[0], node.where)
        section = _Scope(Context.DIRECTORY, node.where, label=label, kind=kind, path=args[0], regex=regex)
        if nested:
            # A <Files> in a <Directory> applies to files below that directory, merged with
            # the other <Files> sections after every <Directory>, as httpd's file walk does.
            section.values.update(in_directory=scope.path, in_directory_regex=scope.regex)
        self.walk(node.body, section)
        self.finish(section)
        scope.sections.append(section)

    def finish(self, scope: _Scope) -> None:
        """What a scope cannot leave open when it ends."""
        if scope.conditions:
            self.findings.warn(scope.conditions[0][1],
                               "RewriteCond without a RewriteRule after it has no effect")
            scope.conditions.clear()

    # -- the model ---------------------------------------------------------------

    def build(self) -> ServerConfig | None:
        self.finish(self.server)
        server = self.server.values
        user = self.server_identity()
        listen: tuple[Address, ...] = server.get("listen", ())
        if not self.listen_given:
            self.findings.error(self.source, "no Listen directive: itkgw would listen on no address",
                                "add e.g. Listen 80")
        checks.check_listen(listen, self.findings,
                            lambda address: self.listen_at.get(address, self.source))
        limits = Limits(user, listen, server.get("limit_uid_range", DEFAULT_ID_RANGE),
                        server.get("limit_gid_range", DEFAULT_ID_RANGE),
                        server.get("default_identity"))
        if server.get("enable_capabilities", True):
            checks.check_worker_identity(limits, self.server.set_at.get("limit_uid_range", self.source),
                                         self.findings, ("LimitUIDRange", "LimitGIDRange"))
        shared = self.section_models(self.server, "", limits)
        ports = sorted({address.port for address in listen})
        vhosts = [vhost for scope in self.vhosts if (vhost := self.vhost_model(scope, shared, ports, limits))]
        main = self.main_vhost(vhosts, listen, shared, limits)
        if main is not None:
            vhosts.append(main)
        name_virtual_hosts = self.check_name_virtual_hosts(vhosts, ports)
        settings = {name: value for name, value in server.items() if name in _SERVER_FIELDS}
        if self.server.log_format is not None and (log_format := self.resolve_log_format(self.server)):
            settings["access_log_format"] = log_format
        self.check_sizing(settings)
        checks.check_php_cgi(settings.get("php_cgi", _default("php_cgi")), vhosts,
                             self.server.set_at.get("php_cgi", self.source), self.findings,
                             "install php-cgi, or set PHPCGI to its path; vhosts without PHP need no "
                             "AddHandler or AddType for it")
        checks.check_names(vhosts, self.findings, lambda vhost: vhost.where)
        checks.check_identity_sources(vhosts, limits.uid_range, self.findings)
        if self.unknown_modules:
            first = next(iter(self.unknown_modules.values()))
            self.findings.warn(first, "modules itkgw does not implement are not loaded: "
                               + ", ".join(self.unknown_modules) + " (their <IfModule> sections are "
                               "skipped, their directives elsewhere are errors)")
        if self.no_effect:
            reasons = "; ".join(f"{name}: {BY_NAME[name.lower()][0].no_effect}" for name in self.no_effect)
            self.findings.warn(next(iter(self.no_effect.values())), f"read, but of no effect: {reasons}")
        if self.findings.errors or user is None:
            return None
        _, modules = split_settings(Context.SERVER, server)
        loaded = frozenset(self.loaded) if self.loaded is not None else None
        return ServerConfig(user=user, listen=listen, vhosts=tuple(vhosts), source=self.source,
                            loaded_modules=loaded, compat=self.compat, server_root=self.server_root,
                            name_virtual_hosts=name_virtual_hosts, **settings, modules=modules)

    def server_identity(self) -> Identity | None:
        """User and Group, www-data when not given (Debian's Apache default)."""
        values, set_at = self.server.values, self.server.set_at
        user, group = values.get("user", DEFAULT_USER), values.get("group", DEFAULT_USER)
        try:
            return resolve_identity(user, group)
        except LookupError as exc:
            key = "group" if str(exc).startswith("group") else "user"
            if key in values:
                self.findings.error(set_at[key], str(exc), lookup_hint(exc))
            else:
                name = key.capitalize()
                self.findings.error(self.source,
                                    f"no {name}, and the default {key} {DEFAULT_USER} does not exist",
                                    f"add {name} NAME: the identity the workers run as")
            return None

    def check_sizing(self, settings: dict[str, Any]) -> None:
        """ServerLimit caps MaxRequestWorkers, then the prefork sizing checks both readers share."""
        limit, limit_at = self.server_limit or (DEFAULT_SERVER_LIMIT, self.source)
        workers = settings.get("max_request_workers", _default("max_request_workers"))
        if workers > limit:
            name = self.setting_name("max_request_workers")
            self.findings.warn(self.server.set_at.get("max_request_workers", limit_at),
                               f"{name} {workers} lowered to {limit} (it may not exceed ServerLimit {limit})")
            settings["max_request_workers"] = limit
        checks.adjust_prefork(settings, _default, self.findings,
                              lambda key: self.server.set_at.get(key, self.source), self.setting_name)

    def setting_name(self, key: str) -> str:
        return BY_KEY[Context.SERVER][key].name_in(self.compat)

    def vhost_model(self, scope: _Scope, shared: list[DirSection], ports: list[int],
                    limits: Limits) -> VHost | None:
        mark = len(self.findings.errors)
        listen = tuple(dict.fromkeys(
            Address(host, port) for host, given in scope.addresses for port in ([given] if given else ports)))
        checks.check_vhost_listen(listen, limits.listen, scope.where, self.findings,
                                  lambda address: f"add Listen {address}")
        own = self.section_models(scope, self.server_name(scope), limits)
        vhost = self.vhost_values(scope, self.server, listen, shared + own, limits)
        return vhost if len(self.findings.errors) == mark else None

    def main_vhost(self, vhosts: list[VHost], listen: tuple[Address, ...], shared: list[DirSection],
                   limits: Limits) -> VHost | None:
        """The main server, as a vhost for the addresses no <VirtualHost> answers on."""
        uncovered = tuple(dict.fromkeys(
            Address(ANY_HOST if address.host in WILDCARDS else address.host, address.port)
            for address in listen
            if not any(own.port == address.port and own.host in (ANY_HOST, address.host)
                       for vhost in vhosts for own in vhost.listen)))
        if not uncovered:
            return None
        if "document_root" not in self.server.values:
            if not self.vhosts and not self.findings.errors:  # else a broken vhost may be why
                self.findings.error(self.source, "no <VirtualHost> and no DocumentRoot: nothing to serve",
                                    "add DocumentRoot, or <VirtualHost> sections")
            else:
                for address in uncovered:
                    self.findings.warn(self.listen_at.get(address, self.source),
                                       f"no <VirtualHost> answers on {address} and the main server has no "
                                       "DocumentRoot: requests there are refused")
            return None
        return self.vhost_values(self.server, self.server, uncovered, shared, limits)

    def vhost_values(self, scope: _Scope, base: _Scope, listen: tuple[Address, ...],
                     directories: list[DirSection], limits: Limits) -> VHost | None:
        """A vhost from its own settings and the main server's (``base``), as Apache merges them."""
        own, inherited = scope.values, base.values
        where = scope.where if scope is not base else base.set_at.get("document_root", self.source)
        values: dict[str, Any] = {"server_name": self.server_name(scope)}
        for name in ("document_root", "assign_user_id", "max_clients_vhost", "nice_value", "user_dir",
                     "user_dir_disabled", "user_dir_enabled", "assign_user_id_expr", "assign_group_id_expr",
                     "access_file_name"):
            if name in own or name in inherited:
                values[name] = own.get(name, inherited.get(name))
        if "document_root" not in values:
            self.findings.error(where, "no DocumentRoot, and the main server has none to inherit",
                                "add DocumentRoot /path/to/site")
        else:
            checks.check_directory(values["document_root"], scope.set_at.get("document_root", where),
                                   self.findings)
        values["directory_index"] = own.get("directory_index", inherited.get("directory_index",
                                                                             APACHE_DIRECTORY_INDEX))
        options = apply_options(APACHE_OPTIONS[self.compat], inherited.get("options", ()))
        if scope is not base:
            options = apply_options(options, own.get("options", ()))
        values["options"], values["exec_cgi"] = options, allows_cgi(options)
        handlers = {**base.handlers, **scope.handlers}
        values["cgi_extensions"] = tuple(ext for ext, handler in handlers.values() if handler == CGI_HANDLER)
        values["php_extensions"] = tuple(ext for ext, handler in handlers.values() if handler == PHP_HANDLER)
        fcgid = tuple(ext for ext, handler in handlers.values() if handler == FCGID_HANDLER)
        if fcgid:
            values["fcgid_extensions"] = fcgid
        for name in _ITEM_KEYS:
            if name in _VHOST_FIELDS:
                merged = inherited.get(name, ())
                values[name] = _keyed_merge(name, merged, own.get(name, ())) if scope is not base else merged
        values["headers"] = _inherit(scope, base, "headers", own_first=False)
        values["unset_env"] = tuple(dict.fromkeys(_inherit(scope, base, "unset_env", own_first=False)))
        for name in ("alias", "script_alias", "redirects"):
            values[name] = _inherit(scope, base, name, own_first=True)
        for name in ("server_alias", "server_admin", "error_log", "rewrite_engine", "rewrite_rules",
                     "rewrite_maps"):
            if name in own:
                values[name] = own[name]
        for name in OWNED[Context.VHOST]:  # a module's own settings: the vhost's, else the server's
            # (one the server keeps in a field of its own is not copied: None is the server's)
            fallback = None if name in _SERVER_FIELDS else inherited.get(name)
            value = own[name] if own.get(name) is not None else fallback
            if value is not None:
                values[name] = value
        if set_env_if := _inherit(scope, base, "set_env_if", own_first=False):
            values["set_env_if"] = set_env_if  # the server's conditions, then the vhost's
        if request_headers := _inherit(scope, base, "request_headers", own_first=False):
            values["request_headers"] = request_headers  # joined, as mod_headers merges its rules
        if scope is not base and own.get("expires_by_type") and inherited.get("expires_by_type"):
            values["expires_by_type"] = _keyed_merge("expires_by_type", inherited["expires_by_type"],
                                                     own["expires_by_type"])  # mod_expires' table overlay
        values.pop("access_log_condition", None)  # each log its own, as its file and format
        if "access_log" in own and (log_format := self.resolve_log_format(scope)):
            values["access_log"], values["access_log_format"] = own["access_log"], log_format
            if "access_log_condition" in own:
                values["access_log_condition"] = own["access_log_condition"]
        if "nice_value" in values:
            values["nice_value"] = checks.clamp_nice(
                values["nice_value"], scope.set_at.get("nice_value", base.set_at.get("nice_value", where)),
                self.findings, "NiceValue")
        at = scope.set_at.get("assign_user_id") or base.set_at.get("assign_user_id") or where
        checks.check_vhost_identity(values.get("assign_user_id"), f"vhost {values['server_name']}", at,
                                    limits, self.findings, values)
        if "document_root" not in values:
            return None  # reported already: no DocumentRoot to inherit
        directories = sorted(directories, key=lambda section: _SECTION_ORDER.index(section.kind))
        core, modules = split_settings(Context.VHOST, values)
        return VHost(listen=listen, **core, directories=tuple(directories), modules=modules, where=where)

    def server_name(self, scope: _Scope) -> str:
        """A vhost's ServerName, else the main server's, else localhost (with httpd's warning)."""
        name = scope.values.get("server_name") or self.server.values.get("server_name")
        if name:
            return str(name)
        if not self.warned_server_name:
            self.warned_server_name = True
            self.findings.warn(self.source, "Could not reliably determine the server's fully qualified "
                               "domain name, using localhost. Set the 'ServerName' directive globally to "
                               "suppress this message")
        return "localhost"

    def section_models(self, scope: _Scope, vhost: str, limits: Limits) -> list[DirSection]:
        """The sections of a server or vhost scope, each followed by the sections in it (its
        <Files>, and in an .htaccess file the <If> sections in those)."""
        return [section for part in _nested(scope.sections)
                if (section := self.section_model(part, vhost, limits)) is not None]

    def section_model(self, scope: _Scope, vhost: str, limits: Limits) -> DirSection | None:
        mark = len(self.findings.errors)
        values = {name: value for name, value in scope.values.items()
                  if name in _SECTION_FIELDS or name in OWNED[Context.DIRECTORY]}
        if "options" in values:
            values["exec_cgi"] = ExecCGIOption().from_args(list(values["options"]), scope.where)
        if scope.require[0]:
            group = RequireGroup("any", tuple(scope.require[0]))
            try:
                check_require(group, scope.where)
            except ConfigError as exc:
                self.findings.errors.append(exc)
            values["require"] = group
        if scope.access or scope.access_limits:
            values["access"] = AccessCompat(**scope.access, limited=tuple(scope.access_limits))
            try:
                check_access(values["access"], scope.where)
            except ConfigError as exc:
                self.findings.errors.append(exc)
        if "nice_value" in values:
            values["nice_value"] = checks.clamp_nice(values["nice_value"], scope.set_at["nice_value"],
                                                     self.findings, "NiceValue")
        if "assign_user_id" in values:
            subject = f"{scope.kind} {scope.path}" + (f" of vhost {vhost}" if vhost else "")
            checks.check_identity(values["assign_user_id"], subject, scope.set_at["assign_user_id"],
                                  limits, self.findings, values)
        if len(self.findings.errors) > mark:
            return None
        core, modules = split_settings(Context.DIRECTORY, values)
        return DirSection(path=scope.path, kind=scope.kind, regex=scope.regex, **core, modules=modules,
                          where=scope.where)

    def check_name_virtual_hosts(self, vhosts: list[VHost], ports: list[int]) -> tuple[Address, ...]:
        """2.2: name-based vhosts only on NameVirtualHost addresses; warn as httpd 2.2 does."""
        if self.compat != "2.2":
            return ()
        declared: dict[Address, str] = {}
        for (host, port), where in self.name_vhosts:
            for number in [port] if port else ports:
                declared.setdefault(Address(host, number), where)
        for address, where in declared.items():
            if not any(address in vhost.listen for vhost in vhosts):
                self.findings.warn(where, f"NameVirtualHost {address} has no VirtualHosts")
        first: dict[Address, VHost] = {}
        for vhost in vhosts:
            for address in vhost.listen:
                if first.setdefault(address, vhost) is not vhost and address not in declared:
                    self.findings.warn(vhost.where, f"VirtualHost {address} overlaps with VirtualHost "
                                       f"{address}, the first has precedence, perhaps you need a "
                                       "NameVirtualHost directive")
        return tuple(declared)


def _nested(scopes: list[_Scope]) -> list[_Scope]:
    """Each scope, then those written in it, depth first."""
    return [part for scope in scopes for part in (scope, *_nested(scope.sections))]


def _inherit(scope: _Scope, base: _Scope, name: str, own_first: bool) -> tuple[Any, ...]:
    """A list setting of a vhost joined with the main server's, in mod_alias' or mod_headers' order."""
    inherited = base.values.get(name, ())
    if scope is base:
        return tuple(inherited)
    own = scope.values.get(name, ())
    return tuple(own + inherited if own_first else inherited + own)


def _default(name: str) -> Any:
    """A ServerConfig field's default value."""
    return next(f.default for f in dataclasses.fields(ServerConfig) if f.name == name)


def _files_in(path: str) -> list[str]:
    """A file, or every file below a directory in sorted order, as Include reads them."""
    if not os.path.isdir(path):
        return [path]
    return [file for entry in sorted(os.listdir(path)) for file in _files_in(os.path.join(path, entry))]


def _vhost_address(text: str, where: str) -> tuple[str, int | None]:
    """A <VirtualHost> or NameVirtualHost address: ``*:80``, ``_default_:80``,
    ``10.0.0.1:80``, ``[::1]:80``; without a port (or with ``:*``) every port listened on."""
    if text[:9].lower() == "_default_":
        text = ANY_HOST + text[9:]
    text = text.removesuffix(":*")
    if text == ANY_HOST:
        return ANY_HOST, None
    bracketed = text.startswith("[") and text.endswith("]")
    if bracketed or (":" not in text and not text.isdigit()):
        return parse_address(f"{text}:1", where).host, None
    address = parse_address(text, where)
    return address.host, address.port



# -- .htaccess files ----------------------------------------------------------------------


@dataclass(frozen=True)
class AccessFile:
    """One .htaccess file as read: its settings as a <Directory> section of its directory
    followed by the <Files> sections in it, the problem that makes httpd answer 500 (None
    when there is none), and the directives AllowOverride's Nonfatal= let it skip."""

    sections: tuple[DirSection, ...] = ()
    error: ConfigError | None = None
    skipped: tuple[ConfigError, ...] = ()


def read_access_file(path: str, overrides: Overrides, compat: str = DEFAULT_COMPAT,
                     loaded: frozenset[str] | None = None) -> AccessFile:
    """The .htaccess file at ``path`` (read by the caller's identity), each directive judged
    by what ``overrides`` allow, as httpd reads it; ``loaded``: the server's LoadModule'd
    names, for <IfModule>. Raises OSError when it cannot be read."""
    with open(path, "rb"):
        pass  # as the caller, so EACCES and ENOENT come out as OSError, not as a config problem
    reader = _AccessFileReader(path, compat, overrides)
    reader.loaded = set(loaded) if loaded is not None else None
    return reader.read_access_file()


class _AccessFileReader(_Reader):
    """The Apache reader on one .htaccess file: a <Directory> scope of its directory, where
    only what AllowOverride grants may appear."""

    def __init__(self, path: str, compat: str, overrides: Overrides) -> None:
        super().__init__(path, compat, ())
        self.overrides = overrides
        self.skipped: list[ConfigError] = []

    def read_access_file(self) -> AccessFile:
        directory = os.path.dirname(self.source)
        scope = _Scope(Context.DIRECTORY, self.source, label="Directory", kind="directory", path=directory)
        try:
            self.walk(_parse_tree(_read_lines(self.source), self.findings), scope)
        except ConfigError as exc:
            return AccessFile((), exc)
        self.finish(scope)
        if not self.findings.errors:
            limits = Limits(None, (), DEFAULT_ID_RANGE, DEFAULT_ID_RANGE, None)
            sections = self.section_models(_Scope(Context.SERVER, self.source, sections=[scope]), "", limits)
        if self.findings.errors:
            return AccessFile((), self.findings.errors[0], tuple(self.skipped))
        return AccessFile(tuple(sections), None, tuple(self.skipped))

    def directive(self, node: _Directive, scope: _Scope) -> None:
        found = apache_directive(node.name, self.compat, node.where)
        if found is None:
            self.refuse("unknown", self.invalid_command(node.name, node.where))
            return
        if not self.overrides.allows(found[0].name):
            self.refuse("override", ConfigError(node.where, f"{_spelled(node.name)} not allowed here",
                                                "AllowOverride of this directory does not grant it"))
            return
        if found[0].name == "Options" and self.overrides.options is not None:
            for word in apache_words(node.args, node.where):
                if word.lstrip("+-").lower() not in self.overrides.options:
                    self.refuse("override", ConfigError(node.where, f"Option {word.lstrip('+-')} not "
                                                        "allowed here", "AllowOverride Options=... "
                                                        "of this directory does not list it"))
                    return
        super().directive(node, scope)

    def block(self, node: _Block, scope: _Scope) -> None:
        name = node.name.lower()
        if name not in _ACCESS_FILE_SECTIONS:
            raise ConfigError(node.where, f"<{node.name} not allowed here",
                              "an .htaccess file may hold <Files>, <FilesMatch>, <If>, <ElseIf>, "
                              "<Else>, "
                              "<IfModule>, <IfDefine>, <IfVersion>, <Limit>, <LimitExcept> and "
                              "<Require...> sections")
        super().block(node, scope)

    def undefined(self, name: str, written: str, where: str) -> str:
        """As httpd reads an .htaccess file: the variable stays as written, with a warning."""
        _core_log.warning("AH00111: Config variable ${%s} is not defined (%s)", name, where)
        return written

    def refuse(self, kind: str, problem: ConfigError) -> None:
        """A directive httpd refuses here: a 500, or skipped where Nonfatal= says so."""
        if kind not in self.overrides.nonfatal:
            raise problem
        self.skipped.append(problem)


#: Sections an .htaccess file may hold.
_ACCESS_FILE_SECTIONS = frozenset({"files", "filesmatch", "if", "elseif", "else", "ifmodule", "ifdefine",
                                   "ifversion", "requireall", "requireany", "requirenone", "limit",
                                   "limitexcept"})
#: The httpd version each series answers <IfVersion> with: Debian 12's 2.4, and the last 2.2.
_OPERATORS = ("==", ">=", "<=", "=", ">", "<", "~")


def version_matches(args: list[str], version: tuple[int, int, int], where: str) -> bool:
    """mod_version's test: ``[[!]operator] version``; a missing part of the version is 0, and
    ``~`` (or ``=`` with ``/regex/``) matches a regex against the version as text."""
    words = list(args)
    negated = bool(words) and words[0].startswith("!")
    if negated:
        words[0] = words[0][1:]
        if not words[0]:
            words.pop(0)
    if len(words) == 1:  # the operator written against the version (">=2.4"), or none ("=")
        words = next(([op, words[0][len(op):]] for op in _OPERATORS if words[0].startswith(op)),
                     ["=", words[0]])
    if len(words) != 2 or words[0] not in _OPERATORS:
        raise ConfigError(where, f"<IfVersion {' '.join(args)}> is not [[!]operator] version",
                          "write it as <IfVersion >= 2.4> (operators = == < <= > >= ~, or = /regex/)")
    operator, wanted = words
    text = ".".join(map(str, version))
    if operator == "~" or (wanted.startswith("/") and wanted.endswith("/") and len(wanted) > 1):
        try:
            found = re.search(wanted.strip("/") if operator != "~" else wanted, text) is not None
        except re.error as exc:
            raise ConfigError(where, f"<IfVersion> regex {wanted!r} does not compile: {exc}",
                              "write a Python-compatible regex") from None
        return found != negated
    parts = wanted.split(".")
    if not all(part.isdigit() for part in parts) or len(parts) > 3:
        raise ConfigError(where, f"<IfVersion> version {wanted!r} is not major[.minor[.patch]]",
                          "write it as 2.4 or 2.4.10")
    asked = tuple(int(part) for part in (*parts, "0", "0")[:3])
    found = {"=": version == asked, "==": version == asked, ">": version > asked, ">=": version >= asked,
             "<": version < asked, "<=": version <= asked}[operator]
    return found != negated

