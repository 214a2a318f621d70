"""A front of the pool model: reads a connection's first request, passes it to its pool.

A front is a prefork worker with no privilege at all: it becomes ``User`` /
``Group`` with every capability set empty (bounding set included),
PR_SET_NO_NEW_PRIVS, and a seccomp filter that refuses every set*id call.
It accepts a connection and reads its first request head in its own process
(no fork), chooses the vhost and the identity exactly as an itk connection
child does (AssignUserID, AssignUserIDExpr with RewriteRule ``E=``,
LimitUIDRange/LimitGIDRange, MaxClientsVHost with mpm-itk's 503 and log
line), answers what needs no identity (malformed requests, redirects before
the switch, refusals), and hands the connection with the bytes it read to
the pool manager (handoff.py), which gives it to a worker already running as
that identity. No process that parses client bytes can change its uid.
"""

from __future__ import annotations

import logging
import os
import socket
import time

from itkgw.errors import ExitCode
from itkgw.http.connection import ClientSocket
from itkgw.mpm import debug_hooks, privs, sandbox
from itkgw.mpm import handoff as wire
from itkgw.mpm.child import ConnectionChild, ServingContext
from itkgw.mpm.handoff import Handoff
from itkgw.mpm.scoreboard import SlotState
from itkgw.mpm.signals import SignalQueue
from itkgw.mpm.worker import Worker

log = logging.getLogger("itkgw.pool")

#: How long a front waits for a pool manager the master is restarting, and between tries.
_MANAGER_WAIT_SECONDS = 3.0
_RETRY_SECONDS = 0.02


class Front(Worker):
    """One front process: the prefork worker's loop and sizing, serving in-process."""

    def __init__(self, ctx: ServingContext, listeners: list[socket.socket], slot_index: int,
                 master_pid: int) -> None:
        super().__init__(ctx, listeners, slot_index, master_pid)
        self.manager: socket.socket | None = None
        self.connected = False

    def boot(self) -> None:
        """No privilege left: an empty capability set, no new privileges, no set*id call."""
        try:
            self.manager = self._manager_socket()  # while root: its buffers may be enlarged
            privs.enter_front_identity(self.ctx.config)
            sandbox.load(sandbox.build_no_setid_filter())
        except (privs.PrivilegeError, sandbox.SandboxError, OSError) as exc:
            log.critical("front cannot drop privileges, the server stops: %s", exc)
            os._exit(ExitCode.BOOT_FAILED)

    def _manager_socket(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
        wire.enlarge_buffers(sock)
        return sock

    def _serve(self, sock: ClientSocket, signals: SignalQueue) -> None:
        self.slot.connections += 1
        try:
            ConnectionChild(self.ctx, self.slot_index, sock, handover=self._pass).run()
        except Exception:  # noqa: BLE001 - one connection's failure must not end the front
            log.exception("front: serving a connection failed")
            self.slot.vhost = ""
        self.slot.request = ""
        self.slot.state = SlotState.GRACEFUL if self.graceful else SlotState.READY

    def _pass(self, handoff: Handoff) -> None:
        """To the pool manager; a manager restarted since is connected to again, for as long as
        the master may take to restart one (a connection to a manager dying meanwhile breaks too)."""
        if debug_hooks.ENABLED and debug_hooks.intercept(handoff):
            return
        deadline = time.monotonic() + _MANAGER_WAIT_SECONDS
        while True:
            try:
                self._send(handoff)
                return
            except (BrokenPipeError, ConnectionError) as exc:
                if time.monotonic() > deadline:
                    raise
                log.warning("front: the pool manager's connection broke (%s): connecting again", exc)
                assert self.manager is not None
                self.manager.close()
                self.manager, self.connected = self._manager_socket(), False
                time.sleep(_RETRY_SECONDS)

    def _send(self, handoff: Handoff) -> None:
        assert self.manager is not None
        if not self.connected:
            self._connect()
        wire.send(self.manager, handoff)

    def _connect(self) -> None:
        """Connect to the pool manager, waiting a little for one the master is restarting."""
        assert self.manager is not None
        deadline = time.monotonic() + _MANAGER_WAIT_SECONDS
        while True:
            try:
                self.manager.connect(self.ctx.pools)
                self.connected = True
                return
            except (ConnectionRefusedError, FileNotFoundError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
