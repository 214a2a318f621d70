"""The root master: listeners, the scoreboard, prefork sizing, signals, reload.

The master never parses a client byte. Signals as httpd: TERM stop, HUP
restart (workers killed, config re-read), USR1 graceful restart (in-flight
requests finish, new workers get the new config), WINCH graceful stop.
Signal handlers only wake the loop; ``signal_actions`` says what each means.
A broken config on reload keeps the old one running. A worker that cannot
boot stops the master with a clear message instead of a respawn loop.
"""

from __future__ import annotations

import gc
import logging
import os
import select
import signal
import socket
import time
from dataclasses import dataclass, replace
from typing import Any, Callable

from itkgw import SERVER_SOFTWARE
from itkgw.config.model import Address, Identity, ServerConfig, make_defaults
from itkgw.config.modules import all_modules
from itkgw.config.modules.pool import PoolSettings
from itkgw.errors import NOTICE, ConfigError, ConfigErrors, ExitCode
from itkgw.handlers import dispatch, phpcgi
from itkgw.mpm import debug_hooks, fcgid_manager, pools, privs, sandbox
from itkgw.mpm.child import ServingContext
from itkgw.mpm.front import Front
from itkgw.mpm.log import LogFiles, setup_error_log
from itkgw.mpm.scoreboard import Scoreboard, SlotState
from itkgw.mpm.signals import STOP_POLL_SECONDS, SignalQueue, exited, wait_for_exits
from itkgw.mpm.worker import Worker
from itkgw.request.mime import MimeTypes
from itkgw.request.routing import Compiled
from itkgw.request.vhosts import VHostTable

log = logging.getLogger("itkgw.mpm_itk")

_LOOP_SECONDS = 0.25
#: A worker beats at least every second (worker._POLL_SECONDS); this many
#: seconds without a beat mean it is stopped or hung, and it is replaced.
HUNG_SECONDS = 5.0
_STOP_GRACE_SECONDS = 5.0
_BACKLOG = 511
#: Apache's ServerLimit default; the scoreboard holds twice the larger of
#: this and MaxRequestWorkers so a graceful restart has room for both
#: generations of workers.
_SERVER_LIMIT = 256
#: Scoreboard slots after the workers' for the pool model's pool processes (all identities).
POOL_SLOTS = 1024


class StartupError(Exception):
    """The server cannot start (bind failed, already running...)."""


def open_listener(address: Address) -> socket.socket:
    """A non-blocking, close-on-exec listening socket for ``address``."""
    host = "" if address.host == "*" else address.host
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, address.port))
        sock.listen(_BACKLOG)
    except OSError as exc:
        sock.close()
        raise StartupError(f"could not bind to address {address}: {exc.strerror}") from None
    sock.setblocking(False)
    return sock


@dataclass
class WorkerRecord:
    pid: int
    slot: int
    generation: int


@dataclass
class ManagerRecord:
    """A manager serving one configuration generation's workers: the FastCGI backend
    manager (``kind`` "fcgid") or the pool model's pool manager ("pools")."""

    pid: int
    generation: int
    path: str
    #: The scoreboard slot it beats in (its heartbeat, as a worker's).
    slot: int
    kind: str = "fcgid"
    retired: bool = False
    stopped: bool = False


class Master:
    """Keeps the right number of workers alive for the current configuration."""

    def __init__(self, config: ServerConfig, reload_config: Callable[[], ServerConfig],
                 single_worker: bool = False) -> None:
        self.config = config
        self.reload_config = reload_config
        self.single_worker = single_worker
        self.listeners: dict[Address, socket.socket] = {}
        self.workers: dict[int, WorkerRecord] = {}
        self.managers: dict[int, ManagerRecord] = {}
        #: The next manager's socket, opened with its configuration, until it is forked.
        self.manager_listener: socket.socket | None = None
        #: The next pool manager's socket (the pool model), until it is forked.
        self.pools_listener: socket.socket | None = None
        #: Set once run() has begun: processes forked from then on belong to the server.
        self.serving = False
        #: Workers killed for a stopped heartbeat, not yet reaped.
        self.hung: set[int] = set()
        self.generation = 0
        self.exit_code = 0
        self.running = True
        self.stopping_gracefully = False
        #: Slots of workers (fronts) and managers; the pool manager's workers take those after.
        self.worker_slots = 2 * max(_SERVER_LIMIT, config.max_request_workers)
        self.scoreboard = Scoreboard.create(self.worker_slots + (POOL_SLOTS if uses_pools(config) else 0))
        self.logs: LogFiles | None = None
        self.ctx: ServingContext | None = None
        self.signals: SignalQueue | None = None
        self.signal_actions: dict[signal.Signals, Callable[[], None]] = {
            signal.SIGTERM: self.stop,
            signal.SIGINT: self.stop,
            signal.SIGHUP: self.restart,
            signal.SIGUSR1: self.graceful_restart,
            signal.SIGWINCH: self.graceful_stop,
            signal.SIGCHLD: self.reap,
        }

    # -- setup ---------------------------------------------------------

    def prepare(self) -> None:
        """Everything that can fail loudly before the server detaches.

        Signal handling comes first: once a port accepts, an admin's signal
        must be queued for the loop, not kill the master by default action.
        """
        self.signals = SignalQueue(self.signal_actions)
        # Once here, before any fork: a process that drops its privileges or becomes an
        # identity may no longer read the Python library to import them.
        privs.load_codecs()
        self._open_listeners(self.config)
        self._apply_config(self.config)

    def _open_listeners(self, config: ServerConfig) -> None:
        wanted = set(config.listen)
        for address in wanted - set(self.listeners):
            self.listeners[address] = open_listener(address)
        for address in set(self.listeners) - wanted:
            self.listeners.pop(address).close()

    def _apply_config(self, config: ServerConfig) -> None:
        if self.single_worker:
            config = _single_worker(config)
        logs = LogFiles.open_all(config)
        old_logs, self.logs = self.logs, logs
        self.config = config
        setup_error_log(logs.error_fd, config.log_level)
        self.generation += 1
        self.scoreboard.generation = self.generation
        name_based = config.name_virtual_hosts if config.compat == "2.2" else None
        setid_filter = _prebuilt_filter(config)
        if os.access(config.php_cgi, os.X_OK):
            phpcgi.system_only(config.php_cgi)  # asked once, before the fork: every child has the answer
        make_defaults(kind for module in all_modules() for kind in module.settings.values())
        privs.remember_group_lists(_assigned_identities(config))  # read once, not in every child
        manager = ""
        if fcgid_manager.uses_fcgid(config):
            manager = os.path.join(fcgid_manager.ipc_dir(config),
                                   f"manager-{os.getpid()}-{self.generation}.sock")
        pools_path = ""
        if uses_pools(config) and self.scoreboard.size == self.worker_slots:
            log.error("ProcessModel pool needs the server stopped and started again (its scoreboard was "
                      "made for the itk model): serving on in the itk model")
        elif uses_pools(config):
            pools_path = pools.listener_path(fcgid_manager.ipc_dir(config), self.generation)
        self.ctx = ServingContext(config=config, vhosts=VHostTable(config.vhosts, name_based), logs=logs,
                                  scoreboard=self.scoreboard, mime=MimeTypes.load(config.mime_types),
                                  generation=self.generation, compiled=Compiled(config),
                                  setid_filter=setid_filter, backends=manager, pools=pools_path)
        dispatch.worker_load = self.scoreboard.load  # mod_headers' %i and %b
        if debug_hooks.ENABLED:
            log.warning("ITKGW_TEST_HOOKS is set: requests can make fronts try set*id calls and misroute "
                        "connections; never run a server so outside tests")
        for record in self.managers.values():
            if not record.retired:
                record.retired = True
                _signal(record.pid, signal.SIGUSR1)
        if self.manager_listener is not None:
            self.manager_listener.close()
            self.manager_listener = None
        if manager:
            try:
                self.manager_listener = fcgid_manager.open_listener(manager)
            except OSError as exc:
                message = f"cannot open the FastCGI backend manager's socket {manager}: {exc}"
                if self.generation == 1:
                    raise StartupError(message) from None
                log.error("%s; PHP and fcgid-script requests get 503 until a reload succeeds", message)
        if self.manager_listener is not None and self.serving:
            self._start_manager()
        if self.pools_listener is not None:
            self.pools_listener.close()
            self.pools_listener = None
        if pools_path:
            try:
                self.pools_listener = pools.open_listener(pools_path, config.user.gid)
            except OSError as exc:
                message = f"cannot open the pool manager's socket {pools_path}: {exc}"
                if self.generation == 1:
                    raise StartupError(message) from None
                log.error("%s; requests get 503 until a reload succeeds", message)
        if self.pools_listener is not None and self.serving:
            self._start_pool_manager()
        if old_logs is not None:
            old_logs.close()

    def _start_manager(self) -> None:
        """Fork the FastCGI backend manager of the current generation, on the socket opened
        with its configuration (a manager started before the server detached would be
        left behind by the detaching parent)."""
        assert self.ctx is not None and self.logs is not None and self.manager_listener is not None
        listener, self.manager_listener = self.manager_listener, None
        config, path = self.config, self.ctx.backends
        slot = self._manager_slot(listener, "the FastCGI backend manager")
        if slot is None:
            return
        view = self.scoreboard.slot(slot)
        manager = fcgid_manager.Manager(config, listener, self.ctx.setid_filter, self.logs.error_fd, view)
        pid = self._fork(manager.run, "FastCGI backend manager", keep_listeners=False)
        listener.close()
        view.pid = pid
        self.managers[pid] = ManagerRecord(pid, self.generation, path, slot)

    def _manager_slot(self, listener: socket.socket, manager: str) -> int | None:
        """A scoreboard slot for a manager to beat in, made ready; None (the listener closed,
        the manager not started) when every slot is taken."""
        slot = self.scoreboard.find_free_slot(stop=self.worker_slots)
        if slot is None:
            log.error("scoreboard is full, cannot start %s", manager)
            listener.close()
            return None
        view = self.scoreboard.slot(slot)
        view.reset()
        view.state = SlotState.READY
        view.beat()
        return slot

    def _start_pool_manager(self) -> None:
        """Fork the pool model's manager of the current generation, on its socket."""
        assert self.ctx is not None and self.pools_listener is not None
        listener, self.pools_listener = self.pools_listener, None
        slot = self._manager_slot(listener, "the pool manager")
        if slot is None:
            return
        view = self.scoreboard.slot(slot)
        manager = pools.PoolManager(self.ctx, listener, self.ctx.setid_filter,
                                    range(self.worker_slots, self.scoreboard.size), view)
        pid = self._fork(manager.run, "pool manager", keep_listeners=False)
        listener.close()
        view.pid = pid
        self.managers[pid] = ManagerRecord(pid, self.generation, self.ctx.pools, slot, kind="pools")

    def _restart_manager(self, record: ManagerRecord) -> None:
        """A new manager of the kind that died, on the same socket path."""
        assert self.ctx is not None
        try:
            if record.kind == "pools":
                self.pools_listener = pools.open_listener(record.path, self.config.user.gid)
            else:
                self.manager_listener = fcgid_manager.open_listener(record.path)
        except OSError as exc:
            log.error("cannot reopen the socket %s: %s", record.path, exc)
            return
        if record.kind == "pools":
            self._start_pool_manager()
        else:
            self._start_manager()

    def _check_managers(self) -> None:
        """Reap managers; restart the current one if it died; stop a retired one once
        no worker of its generation is left to ask it."""
        now = time.monotonic()
        for record in self.managers.values():
            beat = self.scoreboard.slot(record.slot).heartbeat
            if now - beat > HUNG_SECONDS and record.pid not in self.hung:
                log.error("%s pid %d has not answered for %.0f seconds (stopped?): replacing it",
                          _MANAGER_NAMES[record.kind], record.pid, now - beat)
                self.hung.add(record.pid)
                _killpg(record.pid)  # its processes die with it
        for pid, status in exited(list(self.managers)):
            record = self.managers.pop(pid)
            self.hung.discard(pid)
            self.scoreboard.slot(record.slot).reset()
            if not record.retired and self.running and not self.stopping_gracefully:
                log.error("%s pid %d exited (%s); starting a new one", _MANAGER_NAMES[record.kind], pid,
                          status)
                self._restart_manager(record)
        for record in list(self.managers.values()):
            if record.retired and not record.stopped and not self._still_asked(record):
                record.stopped = True
                # A pool manager drains (its workers finish their connections); the backend
                # manager has no one left to serve.
                _signal(record.pid, signal.SIGWINCH if record.kind == "pools" else signal.SIGTERM)

    def _still_asked(self, record: ManagerRecord) -> bool:
        """Whether a process of ``record``'s generation or older may still ask it: a worker
        (or front), and for the backend manager also a pool manager, whose workers borrow
        its processes."""
        return any(worker.generation <= record.generation for worker in self.workers.values()) or (
            record.kind == "fcgid" and any(other.kind == "pools" and other.generation <= record.generation
                                           for other in self.managers.values()))

    def _term_managers(self) -> None:
        """TERM every manager, those draining too: it ends its processes, then itself."""
        for record in self.managers.values():
            record.retired = record.stopped = True
            _signal(record.pid, signal.SIGTERM)

    def _stop_managers(self) -> None:
        """TERM every manager and wait for them; KILL what is left after the grace time."""
        self._term_managers()
        wait_for_exits(self._check_managers, lambda: not self.managers, _STOP_GRACE_SECONDS)
        for pid in list(self.managers):
            _killpg(pid)
            os.waitpid(pid, 0)
            del self.managers[pid]

    @property
    def max_workers(self) -> int:
        return min(self.config.max_request_workers, self.worker_slots // 2)

    # -- signals -------------------------------------------------------

    def stop(self) -> None:
        log.log(NOTICE, "caught SIGTERM, shutting down")
        self.running = False

    def restart(self) -> None:
        log.log(NOTICE, "SIGHUP received.  Attempting to restart")
        config = self._try_reload()
        self._signal_workers(signal.SIGTERM, lambda record: True)
        self._wait_workers(_STOP_GRACE_SECONDS)
        if config is not None:
            self._open_listeners(config)
            self._apply_config(config)
        self._spawn(self.config.start_servers)

    def graceful_restart(self) -> None:
        log.log(NOTICE, "SIGUSR1 received.  Doing graceful restart")
        config = self._try_reload()
        old_generation = self.generation
        if config is not None:
            self._open_listeners(config)
            self._apply_config(config)
        else:
            self._apply_config(self.config)  # reopen the logs (logrotate)
        self._signal_workers(signal.SIGUSR1, lambda record: record.generation <= old_generation)
        self._spawn(self.config.start_servers)

    def graceful_stop(self) -> None:
        log.log(NOTICE, "caught SIGWINCH, shutting down gracefully")
        self.stopping_gracefully = True
        for sock in self.listeners.values():
            sock.close()
        self.listeners.clear()
        self._signal_workers(signal.SIGWINCH, lambda record: True)
        for record in self.managers.values():  # pools finish their connections, then end
            if record.kind == "pools" and not record.retired:
                record.retired = True
                _signal(record.pid, signal.SIGUSR1)

    def _try_reload(self) -> ServerConfig | None:
        try:
            return self.reload_config()
        except (ConfigError, ConfigErrors) as exc:
            log.error("configuration reload failed, keeping the running configuration:\n%s", exc)
        except OSError as exc:
            log.error("configuration reload failed, keeping the running configuration: %s", exc)
        return None

    # -- workers -------------------------------------------------------

    def _spawn(self, count: int) -> None:
        current = sum(1 for r in self.workers.values() if r.generation == self.generation)
        count = min(count, self.max_workers - current)
        for _ in range(max(0, count)):
            slot = self.scoreboard.find_free_slot(stop=self.worker_slots)
            if slot is None:
                log.error("scoreboard is full, cannot start another worker")
                return
            self._spawn_one(slot)

    def _spawn_one(self, slot: int) -> None:
        assert self.ctx is not None
        view = self.scoreboard.slot(slot)
        view.reset()
        view.state = SlotState.STARTING
        view.generation = self.generation
        kind = Front if self.ctx.pools else Worker
        worker = kind(self.ctx, list(self.listeners.values()), slot, os.getpid())
        # Objects that exist now live as long as the master: keep the garbage
        # collector from touching (and so copying) their pages in every child.
        gc.freeze()
        pid = self._fork(worker.run, "worker")
        try:
            os.setpgid(pid, pid)  # before any killpg() could miss it
        except OSError:
            pass  # The worker did it itself already, or is gone.
        view.pid = pid
        self.workers[pid] = WorkerRecord(pid, slot, self.generation)

    def _fork(self, run: Callable[..., None], what: str, keep_listeners: bool = True) -> int:
        """Fork a child that runs ``run(signal_mask=...)`` and exits, never returning here.

        The master's signals are held across the fork: one sent to the new child before
        it has a queue of its own would reach the master's handler, with no queue behind
        it, and be lost. The child restores the mask once its queue is installed.
        """
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, self.signal_actions)
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                if self.signals is not None:
                    self.signals.close()
                if not keep_listeners:
                    for sock in self.listeners.values():
                        sock.close()
                # A manager's socket not yet handed to it: a copy kept here would keep it
                # accepting after its manager died, and what a worker sent it would be lost.
                for held in (self.manager_listener, self.pools_listener):
                    if held is not None:
                        held.close()
                run(signal_mask=mask)
            except BaseException:  # noqa: BLE001 - a child must log and exit, never unwind
                log.exception("%s failed", what)
                code = 1
            finally:
                os._exit(code)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        return pid

    def _signal_workers(self, signum: int, which: Callable[[WorkerRecord], bool]) -> None:
        """Signal workers; TERM goes to the worker's whole process group.

        A connection child runs as its vhost's user after the switch, so only
        the master (root) can stop it; it shares its worker's process group.
        """
        kill = os.killpg if signum == signal.SIGTERM else os.kill
        for record in list(self.workers.values()):
            if which(record):
                try:
                    kill(record.pid, signum)
                except ProcessLookupError:
                    pass  # Exited already; reap() collects it.

    def reap(self) -> None:
        """Collect our own exited workers (never waitpid(-1))."""
        for pid, status in exited(list(self.workers)):
            record = self.workers.pop(pid)
            self.hung.discard(pid)
            self._worker_ended(record, status)

    def _worker_ended(self, record: WorkerRecord, status: int) -> None:
        slot = self.scoreboard.slot(record.slot)
        if os.WIFSIGNALED(status):
            signum = os.WTERMSIG(status)
            if signum not in (signal.SIGTERM, signal.SIGKILL) or self.running:
                log.error("child pid %d exit signal %s (%d)", record.pid, signal.Signals(signum).name, signum)
            # Its connection child must not outlive it; TERM lets the child
            # take its CGI process group down with it.
            _killpg(record.pid, signal.SIGTERM)
        elif os.WEXITSTATUS(status) == ExitCode.BOOT_FAILED:
            log.critical("worker %d could not drop privileges; the server stops "
                         "(see the lines above for why)", record.pid)
            self.exit_code = ExitCode.BOOT_FAILED
            self.running = False
        slot.reset()

    def replace_hung(self) -> None:
        """Kill workers whose heartbeat stopped (a SIGSTOP, a hang): prefork would count
        them idle forever and start no other. reap() then frees their slots."""
        now = time.monotonic()
        for record in list(self.workers.values()):
            beat = self.scoreboard.slot(record.slot).heartbeat
            if beat and now - beat > HUNG_SECONDS and record.pid not in self.hung:
                log.error("worker pid %d has not answered for %.0f seconds (stopped?): replacing it",
                          record.pid, now - beat)
                self.hung.add(record.pid)
                _killpg(record.pid)

    def maintain(self) -> None:
        """Keep MinSpareServers..MaxSpareServers idle workers, as prefork does."""
        current = [r for r in self.workers.values() if r.generation == self.generation]
        states = [(record, self.scoreboard.slot(record.slot).state) for record in current]
        idle = [record for record, state in states if state == SlotState.READY]
        # A worker still starting counts as idle, as prefork counts it: one about to be ready
        # is no reason to start another (an early pass, woken by any signal, would).
        starting = sum(state == SlotState.STARTING for _, state in states)
        config = self.config
        if len(idle) + starting < config.min_spare_servers and len(current) < self.max_workers:
            self._spawn(config.min_spare_servers - len(idle) - starting)
        elif len(idle) > config.max_spare_servers:
            os.kill(idle[-1].pid, signal.SIGUSR1)
        elif not current and not self.stopping_gracefully:
            self._spawn(max(1, config.start_servers))

    def _wait_workers(self, seconds: float) -> None:
        wait_for_exits(self.reap, lambda: not self.workers, seconds)
        for pid in list(self.workers):
            _killpg(pid)
        while self.workers:
            time.sleep(STOP_POLL_SECONDS)
            self.reap()

    # -- main loop -----------------------------------------------------

    def run(self) -> int:
        assert self.signals is not None, "prepare() installs the signal queue"
        signals = self.signals
        log.log(NOTICE, "%s (mpm-itk %s) configured -- resuming normal operations",
                SERVER_SOFTWARE, self.config.compat)
        self.serving = True
        if self.manager_listener is not None:
            self._start_manager()
        if self.pools_listener is not None:
            self._start_pool_manager()
        self._spawn(self.config.start_servers)
        try:
            while self.running:
                if select.select([signals], [], [], _LOOP_SECONDS)[0]:
                    signals.dispatch()
                self.replace_hung()
                self.reap()
                self._check_managers()
                if self.stopping_gracefully:
                    pools_left = any(record.kind == "pools" for record in self.managers.values())
                    if not self.workers and not pools_left:
                        break
                elif self.running:
                    self.maintain()
        finally:
            self._signal_workers(signal.SIGTERM, lambda record: True)
            self._term_managers()  # they end their processes while the workers end
            self._wait_workers(_STOP_GRACE_SECONDS)
            self._stop_managers()
            for sock in self.listeners.values():
                sock.close()
        log.log(NOTICE, "server stopped")
        return self.exit_code


_MANAGER_NAMES = {"fcgid": "FastCGI backend manager", "pools": "pool manager"}


def uses_pools(config: ServerConfig) -> bool:
    """Whether the pool process model serves (ProcessModel pool)."""
    return config.modules.get(PoolSettings).process_model == "pool"


def _assigned_identities(config: ServerConfig) -> list[Identity]:
    """The identities the configuration assigns: AssignUserID of each vhost and section."""
    found = [vhost.assign_user_id for vhost in config.vhosts]
    found += [section.assign_user_id for vhost in config.vhosts for section in vhost.directories]
    return [identity for identity in found if identity is not None]


def _prebuilt_filter(config: ServerConfig) -> Any:
    """The workers' seccomp filter, built once here; None lets each worker build its own
    (and report, as it fails to boot, why it cannot)."""
    try:
        return sandbox.build_setid_filter(config.limit_uid_range, config.limit_gid_range,
                                          config.allow_user_namespaces)
    except sandbox.SandboxError:
        return None


def _single_worker(config: ServerConfig) -> ServerConfig:
    """-X: one worker, so one connection at a time, for debugging."""
    return replace(config, start_servers=1, min_spare_servers=1, max_spare_servers=1, max_request_workers=1)


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass  # Exited already; _check_managers() collects it.


def _killpg(pgid: int, signum: int = signal.SIGKILL) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass  # The group is already empty.
