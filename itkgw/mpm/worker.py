"""A prefork worker: accept a connection, fork a child for it, wait for it.

The worker drops from root to ``User``/``Group`` with only the capabilities
an identity switch needs, under a seccomp filter that bounds every set*id
call to LimitUIDRange/LimitGIDRange. Signals only wake the main loop (through
the wakeup pipe); the loop decides what they mean, from a table.
"""

from __future__ import annotations

import _signal  # signal's own C functions (see _run_child)
import errno
import gc
import logging
import os
import select
import signal
import socket
from collections.abc import Callable, Iterable

from itkgw.errors import ExitCode
from itkgw.http.connection import ClientSocket
from itkgw.mpm import privs, sandbox
from itkgw.mpm.child import ConnectionChild, ServingContext
from itkgw.mpm.log import setup_error_log
from itkgw.mpm.scoreboard import SlotState
from itkgw.mpm.signals import SignalQueue

log = logging.getLogger("itkgw.mpm_itk")

_POLL_SECONDS = 1.0


class Worker:
    """One prefork worker process, created in the master, run after the fork."""

    def __init__(self, ctx: ServingContext, listeners: list[socket.socket], slot_index: int,
                 master_pid: int) -> None:
        self.ctx = ctx
        self.listeners = listeners
        #: Each listener's address family, by descriptor (socket.py's property converts it to an
        #: enum member, in Python, each time it is read).
        self.families = {listener.fileno(): int(listener.family) for listener in listeners}
        self.slot_index = slot_index
        self.slot = ctx.scoreboard.slot(slot_index)
        self.master_pid = master_pid
        self.stopping = False
        self.graceful = False
        self.child_pid = 0
        #: Made on the first accept: the signal queue and, woken one worker at a time
        #: (EPOLLEXCLUSIVE, so a connection does not wake every idle worker), the listeners.
        #: A wake-up can go to a worker that then takes nothing (it was being killed, or
        #: stopped listening): so a worker that waited a whole poll interval in vain tries
        #: each listener anyway, and such a connection waits a second, not for the next one.
        self.poller: select.epoll | None = None
        self.signal_actions: dict[signal.Signals, Callable[[], None]] = {
            signal.SIGTERM: self.stop_now,
            signal.SIGINT: self.stop_now,
            signal.SIGHUP: self.stop_now,
            signal.SIGUSR1: self.stop_gracefully,
            signal.SIGWINCH: self.stop_gracefully,
        }

    # -- signals -------------------------------------------------------

    def stop_now(self) -> None:
        """Stop after the connection child ends; the master signals the child too."""
        self.stopping = True

    def stop_gracefully(self) -> None:
        self.graceful = True
        self.slot.state = SlotState.GRACEFUL
        for listener in self.listeners:
            if self.poller is not None:
                # Out of the interest list first: other processes still hold the socket,
                # so closing this descriptor alone would not remove it.
                self.poller.unregister(listener.fileno())
            listener.close()
        self.listeners = []

    # -- main loop -----------------------------------------------------

    def boot(self) -> None:
        """Sandbox and drop privileges; a failure ends the worker with BOOT_FAILED."""
        config = self.ctx.config
        try:
            if self.ctx.setid_filter is not None:
                sandbox.load(self.ctx.setid_filter)
            else:
                sandbox.install_setid_filter(config.limit_uid_range, config.limit_gid_range,
                                             config.allow_user_namespaces)
            privs.enter_worker_identity(config)
            privs.prepare_child_switches()
        except (privs.PrivilegeError, sandbox.SandboxError, OSError) as exc:
            log.critical("worker cannot drop privileges, the server stops: %s", exc)
            os._exit(ExitCode.BOOT_FAILED)

    def run(self, signal_mask: Iterable[int] | None = None) -> None:
        """The worker's life; ``signal_mask`` is restored once its own signal queue is
        installed (the master holds its signals across the fork)."""
        os.setpgid(0, 0)
        setup_error_log(self.ctx.logs.error_fd, self.ctx.config.log_level)
        signals = SignalQueue(self.signal_actions, wake_only=(signal.SIGCHLD,))
        if signal_mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, signal_mask)
        self.boot()
        self.slot.state = SlotState.READY
        self.slot.beat()
        served = 0
        limit = self.ctx.config.max_connections_per_child
        while not (self.stopping or self.graceful):
            if os.getppid() != self.master_pid:
                log.info("master is gone, worker exits")
                break
            self.slot.beat()
            sock = self._accept(signals)
            if sock is None:
                continue
            served += 1
            self._serve(sock, signals)
            if limit and served >= limit:
                break
        self.slot.state = SlotState.DEAD

    def _accept(self, signals: SignalQueue) -> ClientSocket | None:
        if self.poller is None:
            self.poller = select.epoll()
            self.poller.register(signals.fileno(), select.EPOLLIN)
            for listener in self.listeners:
                self.poller.register(listener.fileno(), select.EPOLLIN | select.EPOLLEXCLUSIVE)
        by_fd = {listener.fileno(): listener for listener in self.listeners}
        ready = self.poller.poll(_POLL_SECONDS) or [(fd, select.EPOLLIN) for fd in by_fd]
        if any(fd == signals.fileno() for fd, _ in ready):
            signals.dispatch()
            return None
        for fd, _ in ready:
            ready_listener = by_fd.get(fd)
            if ready_listener is None:
                continue
            try:
                accepted, _ = ready_listener._accept()  # type: ignore[attr-defined]  # C accept, no socket.py
            except (BlockingIOError, InterruptedError):
                continue  # another worker took it
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    log.error("accept failed: %s", exc)
                continue
            # The C socket type (HTTPConnection says why), blocking as accept4 leaves it.
            sock = ClientSocket(self.families[fd], socket.SOCK_STREAM, 0, accepted)
            # Head and body go out in separate writes: without this, Nagle's
            # algorithm holds the body for the client's delayed ACK (40 ms).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        return None

    def _serve(self, sock: ClientSocket, signals: SignalQueue) -> None:
        self.slot.vhost = ""
        self.slot.request = ""
        self.slot.state = SlotState.BUSY_READ
        self.slot.connections += 1
        # What the child asks first, worked out here once per address rather than in every
        # child (whose answers end with it).
        local = sock.getsockname()
        self.ctx.connection_limits(str(local[0]), int(local[1]))
        pid = os.fork()
        if pid == 0:
            self._run_child(sock, signals)
        sock.close()
        self.child_pid = pid
        self._wait_child(pid, signals)
        self.child_pid = 0
        self.slot.vhost = ""
        self.slot.state = SlotState.GRACEFUL if self.graceful else SlotState.READY

    def _run_child(self, sock: ClientSocket, signals: SignalQueue) -> None:
        """The connection child: never returns into the worker's code."""
        code = 0
        try:
            for listener in self.listeners:
                listener.close()
            signals.close()
            # TERM unwinds the child so a running CGI's process group is killed too. Set with
            # the C function itself: signal.signal's wrapper turns each old handler that is a
            # function into an enum member by raising and catching an exception, 0.1 ms a child.
            _signal.signal(signal.SIGTERM, _exit_on_signal)
            for signum in (signal.SIGINT, signal.SIGCHLD):
                _signal.signal(signum, _signal.SIG_DFL)
            for signum in (signal.SIGHUP, signal.SIGUSR1, signal.SIGWINCH, signal.SIGPIPE):
                _signal.signal(signum, _signal.SIG_IGN)
            # What the worker holds stays as it is for the child's short life: the garbage
            # collector must not visit it (each visit writes, so copies, an inherited page).
            gc.freeze()
            ConnectionChild(self.ctx, self.slot_index, sock).run()
        except SystemExit:
            code = 0
        except BaseException:  # noqa: BLE001 - a child must log and exit, never unwind
            log.exception("connection child failed")
            code = 1
        finally:
            os._exit(code)

    def _wait_child(self, pid: int, signals: SignalQueue) -> None:
        pidfd = os.pidfd_open(pid)
        try:
            while True:
                self.slot.beat()
                ready = select.select([pidfd, signals.fileno()], [], [], _POLL_SECONDS)[0]
                if signals.fileno() in ready:
                    signals.dispatch()
                if pidfd in ready:
                    _log_crash(pid, os.waitpid(pid, 0)[1])
                    return
        finally:
            os.close(pidfd)


def _log_crash(pid: int, status: int) -> None:
    """A connection child killed by a signal it was not sent (a crash) is logged as httpd's
    parent logs a child's (its client saw the connection reset)."""
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) not in (signal.SIGTERM, signal.SIGKILL):
        signum = os.WTERMSIG(status)
        log.error("connection child pid %d exit signal %s (%d)", pid, signal.Signals(signum).name, signum)


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(0)
