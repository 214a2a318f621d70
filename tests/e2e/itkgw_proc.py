"""A real itkgw process for end-to-end tests: config, start, requests, stop.

The server runs in its own session, so stopping it can check that nothing it
started (workers, connection children, CGI scripts) is left behind.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, Self

import pytest
import toml

from tests.sites import Site

REPO = Path(__file__).resolve().parents[2]
#: The process model every server of the run uses unless a test names one
#: (``ITKGW_TEST_MODEL=pool`` runs the end-to-end suite under the pool model).
MODEL_VARIABLE = "ITKGW_TEST_MODEL"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
LOG_TAIL_LINES = 30

#: Vhost tables, or a function making them from the ports picked (for
#: vhosts that name their own ``listen``).
VHosts = Sequence[Mapping[str, Any]] | Callable[[tuple[int, ...]], Sequence[Mapping[str, Any]]]


class Response(NamedTuple):
    status: int
    headers: http.client.HTTPMessage
    body: bytes


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def vhost_for(site: Site, server_name: str, **overrides: Any) -> dict[str, Any]:
    """A vhost table serving ``site`` as its own user, with /cgi-bin/ aliased."""
    table: dict[str, Any] = {
        "server_name": server_name,
        "document_root": str(site.htdocs),
        "assign_user_id": [site.user.pw_name, site.user.pw_name],
        "script_alias": {"/cgi-bin/": f"{site.cgi_bin}/"},
    }
    table.update(overrides)
    return table


class ItkgwProcess:
    """One itkgw server process: ``start()`` it, talk to it, ``stop()`` it.

    Subclasses say what config files ``write_config()`` writes; the server
    is started with ``-f config_path`` and ``args``. Its error log is
    expected at ``workdir/error.log``.
    """

    def __init__(self, workdir: Path, *, config_name: str = "itkgw.toml", args: Sequence[str] = (),
                 single_process: bool = False, listen_count: int = 1,
                 stop_timeout: float = STOP_TIMEOUT) -> None:
        self.workdir = workdir
        self.single_process = single_process
        self.stop_timeout = stop_timeout
        self.args = tuple(args)
        self.ports = tuple(free_port() for _ in range(listen_count))
        self.config_path = workdir / config_name
        self.error_log = workdir / "error.log"
        self.stdout_path = workdir / "stdout"
        self.stderr_path = workdir / "stderr"
        self._process: subprocess.Popen[bytes] | None = None
        self._stopped = False

    @property
    def port(self) -> int:
        return self.ports[0]

    @property
    def pid(self) -> int:
        """The master's pid (with -X, the only process)."""
        if self._process is None:
            raise RuntimeError("itkgw is not started")
        return self._process.pid

    def write_config(self) -> Path:
        """Write the config files; the path given to -f."""
        raise NotImplementedError

    def argv(self) -> list[str]:
        mode = ["-X"] if self.single_process else ["-D", "FOREGROUND"]
        model = os.environ.get(MODEL_VARIABLE)
        if model and not self.names_process_model():
            mode.append(f"--process-model={model}")
        return [sys.executable, "-m", "itkgw", "-f", str(self.config_path), *mode, *self.args]

    def names_process_model(self) -> bool:
        """Whether the test chose the process model itself (the run's model does not apply)."""
        return any(arg.startswith("--process-model") for arg in self.args)

    def start(self) -> Self:
        """Start the server and wait until every port accepts connections."""
        self.write_config()
        with open(self.stdout_path, "wb") as stdout, open(self.stderr_path, "wb") as stderr:
            self._process = subprocess.Popen(
                self.argv(), stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                cwd=REPO, start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT
        for port in self.ports:
            self._wait_for_port(port, deadline)
        return self

    def _wait_for_port(self, port: int, deadline: float) -> None:
        assert self._process is not None
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError as error:
                exited = self._process.poll()
                if exited is not None or time.monotonic() > deadline:
                    why = f"exited with {exited}" if exited is not None else f"not listening: {error}"
                    self.stop(check_leftovers=False)
                    raise RuntimeError(f"itkgw {why} on port {port}\n{self.diagnostics()}") from error
                time.sleep(0.01)

    def diagnostics(self) -> str:
        """The tails of the error log and of the process's own output."""
        parts = []
        for path in (self.error_log, self.stderr_path, self.stdout_path):
            lines = _read(path).splitlines()[-LOG_TAIL_LINES:]
            if lines:
                parts.append(f"--- {path.name}:\n" + "\n".join(lines))
        return "\n".join(parts) or "(no output)"

    def error_log_text(self) -> str:
        return _read(self.error_log)

    def wait_exit(self, timeout: float = 10.0) -> int:
        """Wait for the master to end by itself; its exit status."""
        assert self._process is not None
        code = self._process.wait(timeout=timeout)
        self._stopped = True
        return code

    def signal(self, sig: signal.Signals) -> None:
        """Send ``sig`` to the master, as an admin's ``kill`` would."""
        os.kill(self.pid, sig)

    def request(self, host: str, path: str, method: str = "GET", body: bytes | None = None,
                headers: Mapping[str, str] | None = None, port: int | None = None,
                timeout: float = 10.0) -> Response:
        """One request on a fresh connection to 127.0.0.1."""
        connection = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers={"Host": host, **(headers or {})})
            response = connection.getresponse()
            return Response(response.status, response.headers, response.read())
        finally:
            connection.close()

    def stop(self, check_leftovers: bool = True) -> None:
        """SIGTERM the process group; SIGKILL what is left after ``stop_timeout`` (5 s).

        With ``check_leftovers``, fail if the master needed SIGKILL or any
        process of the server's session outlived it (they are killed first).
        """
        if self._process is None or self._stopped:
            return
        self._stopped = True
        session = self._process.pid
        deadline = time.monotonic() + self.stop_timeout
        _kill_group(session, signal.SIGTERM)
        try:
            self._process.wait(timeout=self.stop_timeout)
            killed = False
        except subprocess.TimeoutExpired:
            hanging = _describe(proc.pid for proc in processes() if proc.session == session)
            _kill_group(session, signal.SIGKILL)
            self._process.wait()
            killed = True
        left = reap_leftovers(lambda proc: proc.session == session, deadline)
        if not check_leftovers:
            return
        if killed:
            raise AssertionError(
                f"itkgw did not stop within {self.stop_timeout}s of SIGTERM; its processes then:\n"
                f"{hanging}\n{self.diagnostics()}"
            )
        if left:
            raise AssertionError(f"itkgw left processes running after it stopped: {left}")


class Itkgw(ItkgwProcess):
    """An itkgw serving a TOML config made from vhost tables.

    ``settings`` are top-level TOML keys; the defaults make a small, quick
    server that logs at debug level into ``workdir``. Each vhost without an
    ``access_log`` gets ``workdir/<server_name>.access.log``.
    """

    def __init__(self, workdir: Path, vhosts: VHosts, *, user: str, single_process: bool = False,
                 listen_count: int = 1, stop_timeout: float = STOP_TIMEOUT, **settings: Any) -> None:
        super().__init__(workdir, single_process=single_process, listen_count=listen_count,
                         stop_timeout=stop_timeout)
        self.config = self._config(vhosts, user, settings)

    def _config(self, vhosts: VHosts, user: str, settings: Mapping[str, Any]) -> dict[str, Any]:
        tables = vhosts(self.ports) if callable(vhosts) else vhosts
        config: dict[str, Any] = {
            "user": user,
            "group": user,
            "listen": [f"127.0.0.1:{port}" for port in self.ports],
            "pid_file": str(self.workdir / "itkgw.pid"),
            "error_log": str(self.error_log),
            "log_level": "debug",
            "start_servers": 2,
            "min_spare_servers": 1,
            "max_spare_servers": 4,
            "max_request_workers": 16,
            "timeout": 10,
        }
        config.update(settings)
        config["vhost"] = [
            {"access_log": str(self.workdir / f"{table['server_name']}.access.log"), **table}
            for table in tables
        ]
        return _as_toml_data(config)

    def names_process_model(self) -> bool:
        return "process_model" in self.config or super().names_process_model()

    def access_log_path(self, server_name: str) -> Path:
        for table in self.config["vhost"]:
            if table["server_name"] == server_name:
                return Path(table["access_log"])
        raise KeyError(f"no vhost {server_name!r} in this server's config")

    def write_config(self) -> Path:
        """Write the config as TOML, checking it reads back as written."""
        text = toml.dumps(self.config)
        if tomllib.loads(text) != self.config:
            raise AssertionError(f"the toml package wrote a config that reads back differently:\n{text}")
        self.config_path.write_text(text)
        return self.config_path

    def access_log_text(self, server_name: str) -> str:
        return _read(self.access_log_path(server_name))


class ConfigFiles(ItkgwProcess):
    """An itkgw serving config files a test wrote as text, in any syntax.

    ``files(server)`` gives each file's path relative to ``workdir`` and its
    text; it is called once the ports are picked, so the text can use
    ``server.ports``, ``server.workdir`` and ``server.error_log``. ``main``
    is the file given to -f, ``args`` more command-line arguments
    (``--compat=2.2``).
    """

    def __init__(self, workdir: Path, files: Callable[[ConfigFiles], Mapping[str, str]], *, main: str,
                 args: Sequence[str] = (), single_process: bool = False, listen_count: int = 1,
                 stop_timeout: float = STOP_TIMEOUT) -> None:
        super().__init__(workdir, config_name=main, args=args, single_process=single_process,
                         listen_count=listen_count, stop_timeout=stop_timeout)
        self.files = dict(files(self))
        if main not in self.files:
            raise ValueError(f"the main config file {main!r} is not among the files written")

    def write_config(self) -> Path:
        for name, text in self.files.items():
            path = self.workdir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return self.config_path


def _as_toml_data(value: Any) -> Any:
    """``value`` with paths as strings and tuples as lists, as TOML reads back."""
    if isinstance(value, Mapping):
        return {str(key): _as_toml_data(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_as_toml_data(item) for item in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def _kill_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return  # the whole group is gone already


class ProcessInfo(NamedTuple):
    pid: int
    session: int
    uids: frozenset[int]
    cmdline: str


def processes() -> Iterator[ProcessInfo]:
    """Every live (not zombie) process, from /proc."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            status = Path(entry.path, "status").read_text()
            cmdline = Path(entry.path, "cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError):
            continue  # it ended while we looked
        # The fields after the parenthesised command: state ppid pgrp session ...
        state, _ppid, _pgrp, session = stat.rsplit(")", 1)[1].split()[:4]
        if state == "Z":
            continue
        # Uid: real effective saved filesystem
        uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
        yield ProcessInfo(
            pid=int(entry.name),
            session=int(session),
            uids=frozenset(int(uid) for uid in uid_line.split()[1:]),
            cmdline=cmdline.replace(b"\0", b" ").decode(errors="replace").strip(),
        )


def reap_leftovers(is_leftover: Callable[[ProcessInfo], bool], deadline: float) -> dict[int, str]:
    """Wait until no process ``is_leftover`` or ``deadline`` passes; SIGKILL the rest.

    Returns the processes that had to be killed, with their command lines.
    """
    while True:
        left = {proc.pid: proc.cmdline for proc in processes() if is_leftover(proc)}
        if not left or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    for pid in left:
        _kill_process(pid)
    # SIGKILL is delivered, not awaited: wait until the killed are gone (or zombies).
    gone_by = time.monotonic() + KILL_WAIT
    while time.monotonic() < gone_by and any(proc.pid in left for proc in processes()):
        time.sleep(0.01)
    return left


#: How long a SIGKILLed process may take to die.
KILL_WAIT = 2.0
#: How long a test user's process may outlive its itkgw before it counts as escaped.
ESCAPE_GRACE = 1.0


def stop_all(servers: Iterable[ItkgwProcess], user_ids: Collection[int]) -> None:
    """Stop every server a test started; fail the test for anything left behind.

    A CGI script that made itself a session of its own escapes ``stop()``'s
    check; it still runs as one of ``user_ids``.
    """
    failures = []
    for server in servers:
        try:
            server.stop()
        except AssertionError as error:
            failures.append(str(error))
    escaped = reap_leftovers(lambda proc: bool(proc.uids & set(user_ids)), time.monotonic() + ESCAPE_GRACE)
    if escaped:
        failures.append(f"processes of the test users outlived their itkgw: {escaped}")
    if failures:
        pytest.fail("\n".join(failures))


def wait_channel(pid: int) -> str:
    """The kernel function ``pid`` sleeps in ("" when it runs, or has ended)."""
    try:
        return Path(f"/proc/{pid}/wchan").read_text()
    except OSError:
        return ""


def _describe(pids: Iterable[int]) -> str:
    """pid, parent, euid, state, kernel wait channel and command line of each of ``pids``, a line each."""
    lines = []
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            wchan = wait_channel(pid)
            uid = next(line.split()[2] for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                       if line.startswith("Uid:"))
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # it ended while we looked
        lines.append(f"  {pid} ppid {fields[1]} uid {uid} {fields[0]} {wchan or '-'} {cmdline.strip()}")
    return "\n".join(lines) or "  (none left)"


def _kill_process(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return  # it ended by itself meanwhile
