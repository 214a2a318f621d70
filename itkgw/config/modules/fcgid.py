"""mod_fcgid: FastCGI programs itkgw starts and keeps, one class of processes per identity.

``AddHandler fcgid-script .php`` hands files to it; ``FcgidWrapper`` names the
program that serves them (php-cgi), else the file itself is the FastCGI
program. A class is the vhost, the identity, the command and the PHP
settings: its processes serve that class's requests only. The limits and
timeouts have mod_fcgid 2.3's names, defaults and contexts.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, replace
from typing import ClassVar

from itkgw.config.directive import (
    BOTH,
    SERVER,
    VHOST,
    VHOST_DIRECTORY,
    Alias,
    Context,
    Directive,
    Module,
    no_effect,
)
from itkgw.config.kinds import Extensions, Int, Kind, Path, Seconds, Words
from itkgw.config.kinds_structured import EnvPairs
from itkgw.config.model import overlay_fields
from itkgw.errors import ConfigError

#: mod_fcgid's defaults, used where a setting is left unset (None).
DEFAULTS = {
    "max_processes_per_class": 100,
    "min_processes_per_class": 3,
    "idle_timeout": 300,
    "max_requests_per_process": 0,
    "process_life_time": 3600,
    "io_timeout": 40,
    "connect_timeout": 3,
    "busy_timeout": 300,
    "max_request_len": 131072,
}
DEFAULT_IPC_DIR = "/run/itkgw/fcgid"
DEFAULT_MAX_PROCESSES = 1000
#: mod_fcgid's spawn control defaults: a start adds FcgidSpawnScore to its class's score, an
#: exit FcgidTerminationScore, each second takes FcgidTimeScore off; no start at FcgidSpawnScoreUpLimit.
SPAWN_DEFAULTS = {"spawn_score": 1, "termination_score": 2, "time_score": 1, "spawn_score_up_limit": 10}


@dataclass(frozen=True)
class Wrapper:
    """FcgidWrapper: the program that serves files ending in ``suffix`` (all files when empty)."""

    command: tuple[str, ...]
    suffix: str = ""
    #: Serve the request even when no file exists at its path.
    virtual: bool = False

    def toml_form(self) -> dict[str, object]:
        """The table WrapperKind reads back."""
        form: dict[str, object] = {"command": shlex.join(self.command)}
        if self.suffix:
            form["suffix"] = self.suffix
        if self.virtual:
            form["virtual"] = True
        return form


@dataclass(frozen=True)
class FcgidSettings:
    """mod_fcgid's per-vhost settings (FcgidWrapper also per directory); None: unset."""

    wrappers: tuple[Wrapper, ...] | None = None
    #: File endings served by fcgid-script (AddHandler in a vhost or the server config).
    extensions: tuple[str, ...] | None = None
    max_processes_per_class: int | None = None
    min_processes_per_class: int | None = None
    idle_timeout: int | None = None
    max_requests_per_process: int | None = None
    process_life_time: int | None = None
    io_timeout: int | None = None
    connect_timeout: int | None = None
    busy_timeout: int | None = None
    max_request_len: int | None = None
    initial_env: tuple[tuple[str, str], ...] | None = None
    pass_headers: tuple[str, ...] | None = None

    def over(self, earlier: FcgidSettings) -> FcgidSettings:
        """These settings on top of ``earlier``: each set field wins, and the wrappers add
        to the earlier ones by suffix, as mod_fcgid overlays its wrapper table."""
        merged = overlay_fields(earlier, self)
        if self.wrappers is None or earlier.wrappers is None:
            return merged
        by_suffix = {wrapper.suffix: wrapper for wrapper in earlier.wrappers}
        by_suffix.update((wrapper.suffix, wrapper) for wrapper in self.wrappers)
        return replace(merged, wrappers=tuple(by_suffix.values()))

    def value(self, name: str) -> int:
        """A limit or timeout, mod_fcgid's default when unset."""
        set_here = getattr(self, name)
        return DEFAULTS[name] if set_here is None else set_here

    def wrapper_for(self, filename: str) -> Wrapper | None:
        """The wrapper for ``filename``: one for its suffix, else one for every file."""
        every = None
        for wrapper in self.wrappers or ():
            if not wrapper.suffix:
                every = wrapper
            elif filename.endswith(wrapper.suffix):
                return wrapper
        return every


@dataclass(frozen=True)
class FcgidServerSettings:
    """mod_fcgid's server-wide settings."""

    #: Most backend processes of all classes together.
    max_processes: int | None = None
    #: Where the backends' sockets live, one directory per identity.
    ipc_dir: str | None = None
    spawn_score: int | None = None
    termination_score: int | None = None
    time_score: int | None = None
    spawn_score_up_limit: int | None = None

    def spawn_value(self, name: str) -> int:
        """A spawn control setting, mod_fcgid's default when unset."""
        set_here = getattr(self, name)
        return SPAWN_DEFAULTS[name] if set_here is None else set_here


@dataclass(frozen=True)
class WrapperKind(Kind):
    """FcgidWrapper COMMAND [SUFFIX] [virtual]; the command an existing absolute program,
    optionally with arguments in the same quoted word."""

    expects: ClassVar[str] = "a list of {command, suffix, virtual} tables"
    toml_example: ClassVar[str] = '[{ command = "/usr/bin/php-cgi", suffix = ".php" }]'
    args_example: ClassVar[str] = "FcgidWrapper /usr/bin/php-cgi .php"

    def from_toml(self, value: object, where: str) -> tuple[Wrapper, ...]:
        if not isinstance(value, list):
            raise self.wrong_toml(value, where)
        wrappers = []
        for item in value:
            table = self.table(item, where, ("command",), ("suffix", "virtual"))
            command, suffix, virtual = table["command"], table.get("suffix", ""), table.get("virtual", False)
            if not (isinstance(command, str) and isinstance(suffix, str) and isinstance(virtual, bool)):
                raise ConfigError(where, "command and suffix must be strings, virtual true or false",
                                  self.toml_hint())
            wrappers.append(self.wrapper(command, suffix, virtual, where))
        return tuple(wrappers)

    def from_args(self, args: list[str], where: str) -> tuple[Wrapper, ...]:
        if not 1 <= len(args) <= 3:
            raise self.wrong_args(args, where)
        command, rest = args[0], args[1:]
        virtual = bool(rest) and rest[-1].lower() == "virtual"
        if virtual:
            rest = rest[:-1]
        if len(rest) > 1:
            raise ConfigError(where, f"{rest[1]!r}: the only flag FcgidWrapper knows is virtual",
                              f"write it as {self.args_example} [virtual]")
        return (self.wrapper(command, rest[0] if rest else "", virtual, where),)

    def wrapper(self, command: str, suffix: str, virtual: bool, where: str) -> Wrapper:
        words = shlex.split(command)
        if not words or not os.path.isabs(words[0]):
            raise ConfigError(where, f"{command!r}: the wrapper must be an absolute path",
                              f"write it as {self.args_example}")
        if not os.access(words[0], os.X_OK):
            raise ConfigError(where, f"can't get fastcgi file info: {words[0]} is not an executable program",
                              "install it, or name the program that serves these files")
        if suffix and (not suffix.startswith(".") or "/" in suffix):
            raise ConfigError(where, f"Invalid wrapper file extension {suffix!r}",
                              "a suffix starts with a dot, e.g. .php")
        return Wrapper(tuple(words), suffix, virtual)


_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


@dataclass(frozen=True)
class PassHeaders(Words):
    """FcgidPassHeader's header names, one per line."""

    toml_example: ClassVar[str] = 'a list, e.g. ["Authorization"]'
    args_example: ClassVar[str] = "FcgidPassHeader Authorization"

    def from_args(self, args: list[str], where: str) -> tuple[str, ...]:
        if len(args) != 1:
            raise self.wrong_args(args, where)
        return super().from_args(args, where)

    def checked(self, names: tuple[str, ...], where: str) -> tuple[str, ...]:
        for name in names:
            if not _HEADER_NAME.fullmatch(name):
                raise ConfigError(where, f"{name!r} is not a header name", f"write it as {self.args_example}")
        return names


def _limit(apache: str, key: str, doc: str, kind: Kind | None = None, old: str = "") -> Directive:
    """A per-vhost limit; ``old`` is its name before mod_fcgid 2.3, still read with a warning."""
    aliases = (Alias(old, BOTH, deprecated_in=BOTH),) if old else ()
    return Directive(apache, key, VHOST, kind or Int(low=0), doc, field=key.removeprefix("fcgid_"),
                     aliases=aliases)


def _spawn_control(apache: str, key: str, doc: str, kind: Kind, old: str) -> Directive:
    """A server-wide setting of mod_fcgid's spawn control; ``old`` its name before 2.3."""
    return Directive(apache, key, SERVER, kind, doc, field=key.removeprefix("fcgid_"),
                     aliases=(Alias(old, BOTH, deprecated_in=BOTH),))


#: mod_fcgid's tuning of its own process table and scans, which itkgw's manager does its own way.
_NO_EFFECT = (
    no_effect("FcgidIdleScanInterval", "itkgw's backend manager checks its processes every second"),
    no_effect("FcgidBusyScanInterval", "itkgw's backend manager checks its processes every second"),
    no_effect("FcgidErrorScanInterval", "itkgw's backend manager checks its processes every second"),
    no_effect("FcgidZombieScanInterval", "itkgw's backend manager reaps its processes as they exit"),
    no_effect("FcgidProcessTableFile", "itkgw's backend manager keeps its table in its own memory"),
    no_effect("FcgidOutputBufferSize", "itkgw sends a process's output on as it arrives"),
    no_effect("FcgidMaxRequestInMem", "itkgw streams the request body to the process, never holding it"),
)


MODULE = Module(
    "fcgid",
    "mod_fcgid: FastCGI processes started on demand, one class per vhost, identity and command",
    identifiers=("fcgid_module", "mod_fcgid.c"),
    directives=(
        Directive("FcgidWrapper", "fcgid_wrapper", VHOST_DIRECTORY, WrapperKind(),
                  "the FastCGI program serving fcgid-script files (with a suffix: those ending so); "
                  "without one each file is its own FastCGI program", field="wrappers", repeat=True,
                  keyed=True),
        Directive("", "fcgid_extensions", VHOST, Extensions(), "file endings served as FastCGI programs",
                  field="extensions", also_from="AddHandler fcgid-script EXT..."),
        _limit("FcgidMaxProcessesPerClass", "fcgid_max_processes_per_class",
               "most processes of one class (default 100); more requests wait", Int(low=1),
               old="DefaultMaxClassProcessCount"),
        _limit("FcgidMinProcessesPerClass", "fcgid_min_processes_per_class",
               "processes of a class kept when idle (default 3)", old="DefaultMinClassProcessCount"),
        _limit("FcgidIdleTimeout", "fcgid_idle_timeout",
               "seconds an idle process is kept beyond the minimum (default 300)", Seconds(),
               old="IdleTimeout"),
        _limit("FcgidMaxRequestsPerProcess", "fcgid_max_requests_per_process",
               "requests a process serves before it is replaced (default 0: no limit)",
               old="MaxRequestsPerProcess"),
        _limit("FcgidProcessLifeTime", "fcgid_process_life_time",
               "seconds after which an idle process is replaced (default 3600; 0: never)",
               old="ProcessLifeTime"),
        _limit("FcgidIOTimeout", "fcgid_io_timeout",
               "seconds without progress from a process before the client gets 504 (default 40)", Seconds(),
               old="IPCCommTimeout"),
        _limit("FcgidConnectTimeout", "fcgid_connect_timeout",
               "seconds to wait for a process to accept (default 3)", Seconds(), old="IPCConnectTimeout"),
        _limit("FcgidBusyTimeout", "fcgid_busy_timeout",
               "seconds a request may wait for a free process, and a process may take for one request, "
               "before 503 / the process is killed (default 300)", Seconds(), old="BusyTimeout"),
        _limit("FcgidMaxRequestLen", "fcgid_max_request_len",
               "largest request body in bytes; more is refused with 500, as mod_fcgid does (default 131072)",
               old="MaxRequestLen"),
        Directive("FcgidInitialEnv", "fcgid_initial_env", VHOST, EnvPairs(),
                  "environment of the processes when they start: NAME [value]", field="initial_env",
                  repeat=True, keyed=True),
        Directive("FcgidPassHeader", "fcgid_pass_header", VHOST, PassHeaders(),
                  "request headers also passed under their own names (Authorization)", field="pass_headers",
                  repeat=True),
        Directive("FcgidMaxProcesses", "fcgid_max_processes", SERVER, Int(low=1),
                  "most FastCGI processes of all classes together (default 1000)", field="max_processes",
                  aliases=(Alias("MaxProcessCount", BOTH, deprecated_in=BOTH),)),
        Directive("FcgidIPCDir", "fcgid_ipc_dir", SERVER, Path(),
                  f"directory of the processes' sockets, one directory per identity inside "
                  f"(default {DEFAULT_IPC_DIR})", field="ipc_dir",
                  aliases=(Alias("SocketPath", BOTH, deprecated_in=BOTH),)),
        _spawn_control("FcgidSpawnScore", "fcgid_spawn_score", "what a process start adds to its class's "
                       "spawn score (default 1)", Int(low=0), old="SpawnScore"),
        _spawn_control("FcgidTerminationScore", "fcgid_termination_score", "what a process exit adds to "
                       "its class's spawn score (default 2; negative: exits lower it)", Int(),
                       old="TerminationScore"),
        _spawn_control("FcgidTimeScore", "fcgid_time_score", "what each second takes off a class's spawn "
                       "score (default 1)", Int(low=0), old="TimeScore"),
        _spawn_control("FcgidSpawnScoreUpLimit", "fcgid_spawn_score_up_limit", "spawn score at which a class "
                       "starts no more processes and its requests wait for a busy one (default 10)",
                       Int(low=0), old="SpawnScoreUpLimit"),
        *_NO_EFFECT,
    ),
    settings={Context.SERVER: FcgidServerSettings, Context.VHOST: FcgidSettings,
              Context.DIRECTORY: FcgidSettings},
)
