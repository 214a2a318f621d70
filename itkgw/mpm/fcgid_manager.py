"""The FastCGI backend manager: starts, lends and ends mod_fcgid's processes, one class at a time.

Forked by the master for each configuration generation, it stays root with
only the capabilities its job needs (switching ids for a start, signalling
and chowning for the processes) under the set*id seccomp filter. Its only
input is what connection children write on their connections: a one-line
question (vhost number, URL path, file), from which it works out the class
from the configuration, and a line saying how the lent process's requests
ended. A child may run the next requests of its keep-alive connection on the
process it holds (up to the requests left, which the answer names); when
another asker has to wait for the class, the holders are told to give their
processes back (a "recall" line). The asker's socket credentials (SO_PEERCRED) must be the class's
identity, so one tenant can never obtain, start or even learn of another's
processes. It beats in a scoreboard slot; the master replaces a manager
that stops.

A process starts as the class's identity with no capability, in a session
of its own, with its listening socket as fd 0 (FastCGI's rule: php-cgi and
flup serve on it) in ``<FcgidIPCDir>/<uid>.<gid>/``, a directory only that
identity can enter. PHP classes get an ini file there with the settings
(admin values locked, as in handlers/phpcgi.py) and session and upload
directories of their own. A process dies with the manager (PDEATHSIG).

Signals: TERM ends every process and the manager; USR1 (graceful restart)
ends idle processes now and busy ones when their request is done, and the
manager keeps answering its generation's children until the master's TERM.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import pwd
import selectors
import shutil
import signal
import socket
import time
from dataclasses import dataclass
from typing import Any

import prctl

from itkgw.config.identity import identity_of_ids
from itkgw.config.kinds_structured import FCGID_HANDLER
from itkgw.config.model import Identity, ServerConfig
from itkgw.config.modules.fcgid import (
    DEFAULT_IPC_DIR,
    DEFAULT_MAX_PROCESSES,
    FcgidServerSettings,
    FcgidSettings,
)
from itkgw.config.modules.php import PHPRunSettings
from itkgw.handlers import phpcgi
from itkgw.handlers.fcgid import MAX_MESSAGE, BackendClass, ClassRefused, backend_class
from itkgw.mpm import fcgid_spawn, manager_process
from itkgw.mpm.backends import Backend, Books, ClassBooks, SpawnControl, State
from itkgw.mpm.scoreboard import SlotView
from itkgw.mpm.signals import SignalQueue, exited

log = logging.getLogger("itkgw.fcgid")

#: What the manager keeps of root: start processes as an identity (with the vhost's NiceValue),
#: own their directories, end them.
MANAGER_CAPS = (prctl.CAP_SETUID, prctl.CAP_SETGID, prctl.CAP_SYS_NICE, prctl.CAP_KILL, prctl.CAP_CHOWN,
                prctl.CAP_DAC_OVERRIDE)
_TICK_SECONDS = 1.0
#: php_value settings one question may carry (those of .htaccess files, with the configuration's).
_MAX_ASKED_PHP = 256
#: SetEnv's three-letter variables a question may carry, and how long each value may be.
_MAX_ASKED_ENV = 64
_MAX_ENV_VALUE = 8192
_KILL_GRACE_SECONDS = 3.0
#: The status table's file in FcgidIPCDir.
STATUS_NAME = "status"
_MAX_CLIENTS = 4096
#: Connections one identity may hold beyond one per worker.
_SPARE_CONNECTIONS = 16
#: How long a connection may stay open without a question (a connection child keeps its
#: connection for the next request of its client).
_ASK_SECONDS = 10.0


def ipc_dir(config: ServerConfig) -> str:
    return config.modules.get(FcgidServerSettings).ipc_dir or DEFAULT_IPC_DIR


def uses_fcgid(config: ServerConfig) -> bool:
    """Whether any vhost keeps PHP in processes, or hands files to fcgid-script (the
    manager is needed)."""
    for vhost in config.vhosts:
        if vhost.modules.get(FcgidSettings).extensions or vhost.modules.get(PHPRunSettings).persistent:
            return True
        for section in vhost.directories:
            if (section.set_handler or "").lower() == FCGID_HANDLER or any(
                    handler.lower() == FCGID_HANDLER for handler, _ in section.add_handler):
                return True
    return False


def open_listener(path: str) -> socket.socket:
    """The manager's socket, which every identity may connect to (it checks who asks)."""
    return manager_process.listening_socket(path, socket.SOCK_STREAM, 0o666)


@dataclass
class _Client:
    """A connection child's connection: its question, then the process it holds."""

    sock: socket.socket
    asker: Identity
    pid: int
    #: When it must have asked its question.
    ask_by: float
    data: bytes = b""
    books: ClassBooks | None = None
    deadline: float = 0.0
    backend: Backend | None = None
    queued: bool = False
    #: Told to give its process back, for an asker waiting for the class.
    recalled: bool = False


class Manager:
    """The manager process's loop (see the module's docstring)."""

    def __init__(self, config: ServerConfig, listener: socket.socket, setid_filter: Any,
                 error_fd: int, heartbeat: SlotView) -> None:
        self.config = config
        self.error_fd = error_fd
        #: The scoreboard slot whose heartbeat tells the master this loop turns.
        self.heartbeat = heartbeat
        self.listener = listener
        self.setid_filter = setid_filter
        self.root = ipc_dir(config)
        server = config.modules.get(FcgidServerSettings)
        self.books = Books(server.max_processes or DEFAULT_MAX_PROCESSES, SpawnControl(
            server.spawn_value("spawn_score"), server.spawn_value("termination_score"),
            server.spawn_value("time_score"), server.spawn_value("spawn_score_up_limit")))
        self.clients: dict[int, _Client] = {}
        self.waiting: list[_Client] = []
        self.selector = selectors.DefaultSelector()
        self.running = True
        self.retiring = False
        self.sequence = 0
        self.status_written = ""
        #: Adds to a monotonic time to give seconds since the epoch (for the status file).
        self.epoch = time.time() - time.monotonic()
        self.kill_deadlines: dict[int, float] = {}
        #: Identities whose connections are being refused (logged once per episode).
        self.crowded: set[int] = set()
        self.signal_actions = {signal.SIGTERM: self.stop, signal.SIGINT: self.stop,
                               signal.SIGUSR1: self.retire, signal.SIGCHLD: self.reap}

    # -- the process ------------------------------------------------------------

    def run(self, signal_mask: Any = None) -> None:
        os.setpgid(0, 0)
        signals = SignalQueue(self.signal_actions)
        if signal_mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, signal_mask)
        manager_process.confine(self.setid_filter, MANAGER_CAPS)
        self._forget_removed_users()
        self.selector.register(signals, selectors.EVENT_READ, "signals")
        self.selector.register(self.listener, selectors.EVENT_READ, "listener")
        next_tick = time.monotonic() + _TICK_SECONDS
        while self.running or self.books.by_pid:
            for key, _ in self.selector.select(max(0.0, next_tick - time.monotonic())):
                if key.data == "signals":
                    signals.dispatch()
                elif key.data == "listener":
                    self._accept()
                else:
                    self._readable(key.data)
            if time.monotonic() >= next_tick:
                self._tick()
                next_tick = time.monotonic() + _TICK_SECONDS
            if not self.running:
                self._end_all()
        if not self.retiring:
            manager_process.remove(os.path.join(self.root, STATUS_NAME))

    def _forget_removed_users(self) -> None:
        """Remove the directories of uids no longer on the system: their sessions and
        uploads must not pass to a user given the same uid later."""
        try:
            names = os.listdir(self.root)
        except OSError as exc:
            log.warning("backend manager: cannot list %s: %s", self.root, exc)
            return
        for name in names:
            uid, dot, gid = name.partition(".")
            if not (dot and uid.isdigit() and gid.isdigit()):
                continue
            try:
                pwd.getpwuid(int(uid))
            except KeyError:
                log.info("backend manager: removing %s/%s, of a uid no longer on the system", self.root, name)
                shutil.rmtree(os.path.join(self.root, name), ignore_errors=True)

    def stop(self) -> None:
        """End every process, answer no more questions."""
        if not self.running:
            return
        self.running = False
        try:
            os.unlink(self.listener.getsockname())
        except OSError:
            pass  # The master removed it already.
        self.selector.unregister(self.listener)
        self.listener.close()

    def retire(self) -> None:
        """Graceful restart: idle processes end now, busy ones after their request."""
        self.retiring = True
        for backend in list(self.books.by_pid.values()):
            if backend.state is State.IDLE:
                self._end(backend, "graceful restart")

    def reap(self) -> None:
        now = time.monotonic()
        for pid, status in exited(list(self.books.by_pid)):
            self.kill_deadlines.pop(pid, None)
            backend = self.books.by_pid.get(pid)
            unexpected = self.books.exited(pid, now) is not None
            # One being ended exits on the manager's signal; with a status of its own, it failed
            # first (a program that dies once it has taken its first request), which is told too.
            if backend is not None and (unexpected or os.WIFEXITED(status) and os.WEXITSTATUS(status)):
                log.error("mod_fcgid: process %s (pid %d) exit(%s), %s", backend.cls.describe(), pid,
                          _exit_text(status), _WHILE[backend.state])
        self._serve_waiting()

    # -- children's questions -----------------------------------------------------

    def _accept(self) -> None:
        for sock, pid, uid, gid in manager_process.accepted(self.listener, "backend manager"):
            refusal = self._refusal(uid)
            if refusal:
                _answer(sock, {"status": 503, "error": f"mod_fcgid: {refusal}"})
                sock.close()
                continue
            sock.setblocking(False)
            client = _Client(sock, identity_of_ids(uid, gid), pid, time.monotonic() + _ASK_SECONDS)
            self.clients[sock.fileno()] = client
            self.selector.register(sock, selectors.EVENT_READ, client)

    def _refusal(self, uid: int) -> str:
        """Why a new connection of ``uid`` is not taken: one identity's connection children
        need one connection each, so more than MaxRequestWorkers of them are its scripts
        hoarding connections, and they must not crowd out the other identities."""
        if not self.running:
            return "the server is stopping"
        if len(self.clients) >= _MAX_CLIENTS:
            return "the backend manager has too many connections"
        per_identity = self.config.max_request_workers + _SPARE_CONNECTIONS
        held = [client for client in self.clients.values() if client.asker.uid == uid]
        if len(held) >= per_identity:
            # Connections of children that have ended may not have been read yet (a burst of
            # new connections while this loop was busy starting processes): they do not count.
            for client in held:
                if _closed(client.sock):
                    self._gone(client)
            held = [client for client in held if client.sock.fileno() >= 0]
        if len(held) >= per_identity:
            if uid not in self.crowded:
                log.error("mod_fcgid: uid %d holds %d connections to the backend manager; more are refused",
                          uid, per_identity)
            self.crowded.add(uid)
            return f"uid {uid} holds {per_identity} connections already"
        self.crowded.discard(uid)
        return ""

    def _readable(self, client: _Client) -> None:
        try:
            data = client.sock.recv(MAX_MESSAGE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._gone(client)
            return
        client.data += data
        if len(client.data) > MAX_MESSAGE:
            self._refuse(client, 400, "backend manager: message too long")
            return
        while b"\n" in client.data:
            line, client.data = client.data.split(b"\n", 1)
            try:
                message = json.loads(line)
            except ValueError:
                self._refuse(client, 400, "backend manager: not a JSON message")
                return
            if client.books is None:
                self._question(client, message)
                if client.sock.fileno() not in self.clients:
                    return
            elif isinstance(message, dict) and "done" in message and client.backend is not None:
                served = message.get("served", 1)
                self._release(client, str(message["done"]), served if isinstance(served, int) else 1)

    def _question(self, client: _Client, message: object) -> None:
        try:
            books = self._class_of(client, message)
        except ClassRefused as exc:
            log.error("mod_fcgid: refused pid %d (uid %d, gid %d): %s", client.pid, client.asker.uid,
                      client.asker.gid, exc)
            self._refuse(client, 403, f"mod_fcgid: {exc}")
            return
        client.books = books
        client.deadline = time.monotonic() + books.limits.value("busy_timeout")
        self._lend(client)

    def _class_of(self, client: _Client, message: object) -> ClassBooks:
        if not (isinstance(message, dict) and isinstance(message.get("vhost"), int)
                and isinstance(message.get("url"), str) and isinstance(message.get("file"), str)):
            raise ClassRefused("the question is not {vhost, url, file}")
        number = message["vhost"]
        if not 0 <= number < len(self.config.vhosts):
            raise ClassRefused(f"there is no vhost {number}")
        vhost = self.config.vhosts[number]
        asked = message.get("php", [])
        if not (isinstance(asked, list) and len(asked) <= _MAX_ASKED_PHP and all(
                isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)
                for pair in asked)):
            raise ClassRefused("php is not a list of [name, value] pairs")
        kind = message.get("kind")
        if kind not in (None, "php", "fcgid"):
            raise ClassRefused("kind is neither php nor fcgid")
        env = message.get("env", [])
        if not (isinstance(env, list) and len(env) <= _MAX_ASKED_ENV and all(
                isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)
                and len(pair[1]) <= _MAX_ENV_VALUE for pair in env)):
            raise ClassRefused("env is not a list of [name, value] pairs")
        cls = self._backend_class(number, message["url"], message["file"], client.asker,
                                  tuple((name, value) for name, value in asked), kind,
                                  tuple((name, value) for name, value in env))
        if (cls.identity.uid, cls.identity.gid) != (client.asker.uid, client.asker.gid):
            raise ClassRefused(f"{message['file']} runs as {cls.identity}, the asker is not that identity")
        if not self.config.uid_allowed(cls.identity.uid) or not self.config.gid_allowed(cls.identity.gid):
            raise ClassRefused(f"{cls.identity} is outside LimitUIDRange/LimitGIDRange")
        return self.books.books_for(cls, vhost.modules.get(FcgidSettings))

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - the manager lives as long as its config
    def _backend_class(self, number: int, url: str, filename: str, asker: Identity,
                       asked_php: tuple[tuple[str, str], ...], asked_kind: str | None,
                       asked_env: tuple[tuple[str, str], ...] = ()) -> BackendClass:
        """backend_class, once per question: the configuration does not change."""
        return backend_class(self.config, self.config.vhosts[number], url, filename, asker, asked_php,
                             asked_kind, asked_env)

    def _lend(self, client: _Client) -> None:
        """An idle process for the client, a new one, or a place in the queue."""
        books = client.books
        assert books is not None
        now = time.monotonic()
        backend = books.idle()
        if backend is None:
            why_not = self.books.may_start(books, now)
            if why_not and now < books.backoff_until:
                log.error("mod_fcgid: can't apply process slot for %s: %s", books.cls.describe(), why_not)
                self._refuse(client, 503, f"mod_fcgid: {books.cls.describe()}: {why_not}")
                return
            if why_not.startswith("FcgidMaxProcesses ") and not self._room_coming():
                elsewhere = self.books.idle_elsewhere(books)
                if elsewhere is not None:  # once it has exited, reap() serves the queue
                    self._end(elsewhere, f"making room for {books.cls.describe()} at {why_not}")
            if why_not:
                if not client.queued:
                    log.info("mod_fcgid: %s: %s, skip the spawn request: the request waits for a process",
                             books.cls.describe(), why_not)
                    client.queued = True
                    self.waiting.append(client)
                self._recall(books)
                return
            backend = self._start(books)
            if backend is None:
                self._refuse(client, 503, f"mod_fcgid: cannot start {books.cls.describe()}")
                return
        if client.queued:
            client.queued = False
            self.waiting.remove(client)
        self.books.take(backend, now)
        client.backend = backend
        limit = books.limits.value("max_requests_per_process")
        left = limit - backend.requests if limit else None
        if not _answer(client.sock, {"socket": backend.socket, "pid": backend.pid, "left": left}):
            self._gone(client)

    def _recall(self, books: ClassBooks) -> None:
        """Ask every child holding a process of the class to give it back after its request."""
        for holder in list(self.clients.values()):
            if holder.backend is not None and holder.books is books and not holder.recalled:
                holder.recalled = True
                if not _answer(holder.sock, {"recall": True}):
                    self._gone(holder)

    def _room_coming(self) -> bool:
        """Whether a process is ending already: its exit makes the room one asker waits for
        (the queue is served again then), so no second one need end for it."""
        return any(backend.state is State.ENDING for backend in self.books.by_pid.values())

    def _gone(self, client: _Client) -> None:
        """The child closed its connection: a process it still held comes back as broken."""
        if client.sock.fileno() < 0:
            return  # already gone: an answer to it failed while an event of it was pending
        self.selector.unregister(client.sock)
        del self.clients[client.sock.fileno()]
        client.sock.close()
        if client.queued:
            self.waiting.remove(client)
        if client.backend is not None:
            self._release(client, "broken", 0)
        else:
            self._serve_waiting()

    def _release(self, client: _Client, outcome: str, served: int) -> None:
        """The child is done with its process (ok, broken, dead) after ``served`` clean
        requests; it may ask again later."""
        backend, client.backend, client.books = client.backend, None, None
        client.recalled = False
        client.ask_by = time.monotonic() + _ASK_SECONDS
        if backend is None or self.books.by_pid.get(backend.pid) is not backend:
            self._serve_waiting()
            return  # It exited meanwhile; reap() has told why.
        if outcome == "dead":
            self.books.start_failed(self.books.classes[backend.cls], time.monotonic())
        now = time.monotonic()
        reason = self.books.released(backend, outcome == "ok", max(served, 0), now, self.retiring)
        if reason:
            self._end(backend, reason)
        self._serve_waiting()

    def _refuse(self, client: _Client, status: int, error: str) -> None:
        _answer(client.sock, {"status": status, "error": error})
        self._gone(client)

    def _serve_waiting(self) -> None:
        for client in list(self.waiting):
            if client.queued and client.books is not None:
                self._lend(client)

    # -- processes ---------------------------------------------------------------

    def _start(self, books: ClassBooks) -> Backend | None:
        cls = books.cls
        now = time.monotonic()
        try:
            home = self._identity_dir(cls.identity)
        except OSError as exc:
            log.error("mod_fcgid: cannot prepare the socket directory for %s: %s", cls.identity, exc)
            self.books.start_failed(books, now)
            return None
        self.sequence += 1
        path = os.path.join(home, f"{os.getpid()}-{self.sequence}.sock")
        system_only = phpcgi.system_only(self.config.php_cgi) if cls.is_php else frozenset()
        read_end, write_end = os.pipe2(os.O_CLOEXEC)
        pid = os.fork()
        if pid == 0:
            try:
                os.close(read_end)
                fcgid_spawn.become_backend(cls, self.config, path, home, self.error_fd, write_end,
                                           system_only)
            finally:
                os._exit(127)
        os.close(write_end)
        failure = _read_all(read_end)
        if failure:
            log.error("mod_fcgid: cannot start %s: %s", cls.describe(), failure)
            self.books.start_failed(books, now)
            self._end(self.books.add(books, pid, path, now), "failed to start")
            return None
        log.info("mod_fcgid: started %s, pid %d", cls.describe(), pid)
        return self.books.add(books, pid, path, now)

    def _identity_dir(self, identity: Identity) -> str:
        """``<FcgidIPCDir>/<uid>.<gid>``: the identity's own, mode 0700."""
        path = os.path.join(self.root, f"{identity.uid}.{identity.gid}")
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            st = os.fstat(fd)
            if st.st_mode & 0o777 != 0o700:
                os.fchmod(fd, 0o700)  # while root still owns it, or as its owner would
            if (st.st_uid, st.st_gid) != (identity.uid, identity.gid):
                os.fchown(fd, identity.uid, identity.gid)
        finally:
            os.close(fd)
        return path

    def _end(self, backend: Backend, reason: str) -> None:
        self.books.ending(backend, reason)
        log.info("mod_fcgid: process %d of %s ends: %s", backend.pid, backend.cls.describe(), reason)
        _kill(backend.pid, signal.SIGTERM)
        self.kill_deadlines.setdefault(backend.pid, time.monotonic() + _KILL_GRACE_SECONDS)

    def _end_all(self) -> None:
        for backend in list(self.books.by_pid.values()):
            if backend.pid not in self.kill_deadlines:
                self._end(backend, "server stops")
        for client in list(self.clients.values()):
            if client.backend is None:
                self._refuse(client, 503, "mod_fcgid: the server is stopping")

    def _tick(self) -> None:
        self.heartbeat.beat()
        now = time.monotonic()
        for backend in self.books.expired(now):
            self._end(backend, backend.reason)
        for pid, deadline in list(self.kill_deadlines.items()):
            if pid not in self.books.by_pid:
                del self.kill_deadlines[pid]  # reaped: the pid may be someone else's by now
            elif now > deadline:
                _kill(pid, signal.SIGKILL)
        for client in list(self.waiting):
            if now > client.deadline:
                assert client.books is not None
                log.error("mod_fcgid: can't apply process slot for %s", client.books.cls.describe())
                self._refuse(client, 503, f"mod_fcgid: no process of {client.books.cls.describe()} "
                             "became free within FcgidBusyTimeout")
        for client in list(self.clients.values()):
            if client.books is None and now > client.ask_by:
                self._gone(client)  # silently: the child asks again on a new connection
        self._serve_waiting()
        self._write_status()

    def _write_status(self) -> None:
        """The status file (``itkgw backends`` prints it), when a process changed; a
        retiring manager leaves it to the current one."""
        text = status_table(self.books, self.epoch)
        if text == self.status_written or self.retiring or not self.running:
            return
        if manager_process.write_table(os.path.join(self.root, STATUS_NAME), text, "backend manager"):
            self.status_written = text


_HEADER = "pid\tstate\trequests\tidle_s\tage_s\tidentity\tvhost\tcommand"


def status_table(books: Books, epoch: float) -> str:
    """The status file: one line per process, its times as seconds since the epoch
    (``epoch`` turns the books' monotonic times into them), so the file changes only
    when a process does; show_status() turns them into idle and age seconds."""
    lines = []
    for backend in sorted(books.by_pid.values(), key=lambda b: (b.cls.vhost, b.pid)):
        since = f"{epoch + backend.since:.0f}" if backend.state is State.IDLE else "-"
        lines.append(f"{backend.pid}\t{backend.state.value}\t{backend.requests}\t{since}\t"
                     f"{epoch + backend.started:.0f}\t{backend.cls.identity}\t{backend.cls.vhost}\t"
                     f"{' '.join(backend.cls.command)}")
    return "".join(line + "\n" for line in lines)


def show_status(text: str, now: float) -> str:
    """The status file as ``itkgw backends`` prints it: idle and age in seconds from ``now``."""
    lines = [_HEADER]
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) == 8:
            since, started = fields[3], fields[4]
            fields[3] = "-" if since == "-" else f"{now - float(since):.0f}"
            fields[4] = f"{now - float(started):.0f}"
            lines.append("\t".join(fields))
    return "\n".join(lines) + "\n"


# -- small helpers -------------------------------------------------------------------


def _closed(sock: socket.socket) -> bool:
    """Whether the other end has closed ``sock`` (a non-blocking socket; nothing is consumed)."""
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def _answer(sock: socket.socket, message: dict[str, object]) -> bool:
    try:
        sock.send(json.dumps(message).encode() + b"\n")
        return True
    except OSError:
        return False


def _read_all(fd: int) -> str:
    chunks = []
    while True:
        piece = os.read(fd, 4096)
        if not piece:
            break
        chunks.append(piece)
    os.close(fd)
    return b"".join(chunks).decode("utf-8", "replace")


def _kill(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        pass  # Gone already; reap() forgets it.


#: What a process was doing when it exited, by its state, for the exit's log line.
_WHILE = {State.BUSY: "while serving a request", State.IDLE: "while idle", State.ENDING: "while being ended"}


def _exit_text(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {signal.Signals(os.WTERMSIG(status)).name}"
    return f"status {os.WEXITSTATUS(status)}"
