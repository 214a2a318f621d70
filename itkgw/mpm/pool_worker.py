"""A worker of one identity's pool: serves the connections the pool manager hands it.

It was forked by the pool manager and switched to the pool's identity for
good before this loop runs: no capability, no way back. It waits on the
pool's socket, which every worker of the pool reads (each connection reaches
one of them), serves the connection's requests as a connection child of the
itk model does, and goes back to waiting. A request that needs another
identity goes back to the manager with the bytes not served; the first
request of a connection must be this pool's own, or it is refused (a front
that sends it here is broken or compromised). A FastCGI process it holds at
the end of a connection stays held for the next one while connections keep
coming (no borrow and no connect each time); after 50 ms idle it goes back
to the manager. Signals: TERM ends the worker at once (the running script's
process group with it), USR1 after the connection in hand.
"""

from __future__ import annotations

import gc
import logging
import os
import select
import signal
import socket
import time

from itkgw.config.model import Identity
from itkgw.handlers import fcgid, proxy_fcgi
from itkgw.http.connection import ClientSocket
from itkgw.mpm import handoff as wire
from itkgw.mpm.child import HOLD_LINGER_SECONDS, ConnectionChild, ServingContext
from itkgw.mpm.handoff import Handoff, HandoffError
from itkgw.mpm.scoreboard import SlotState
from itkgw.mpm.signals import SignalQueue

log = logging.getLogger("itkgw.pool")

_POLL_SECONDS = 1.0
#: The signals that end a worker after its connection: held from its fork until its queue is in place.
GRACEFUL_SIGNALS = frozenset({signal.SIGUSR1, signal.SIGHUP})


class PoolWorker:
    """The loop of one pool process, run after its identity switch."""

    def __init__(self, ctx: ServingContext, slot_index: int, sock: socket.socket, identity: Identity,
                 manager_pid: int, one_connection: bool = False) -> None:
        self.ctx = ctx
        self.slot_index = slot_index
        self.slot = ctx.scoreboard.slot(slot_index)
        #: The pool's end of its socket pair, shared by all its workers (non-blocking for all).
        self.sock = sock
        self.identity = identity
        self.manager_pid = manager_pid
        self.graceful = False
        #: Started during a graceful restart, for an old front's last connection: serve one.
        self.one_connection = one_connection

    def stop_gracefully(self) -> None:
        self.graceful = True
        self.slot.state = SlotState.GRACEFUL

    def run(self) -> None:
        signal.signal(signal.SIGTERM, _exit_on_signal)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        signals = SignalQueue(dict.fromkeys(GRACEFUL_SIGNALS, self.stop_gracefully))
        signal.pthread_sigmask(signal.SIG_UNBLOCK, GRACEFUL_SIGNALS)
        self.slot.uid = self.identity.uid
        # What the worker holds now (the configuration, compiled rules) lives as long as it:
        # the garbage collector's full passes leave it alone, as in the itk model's children.
        gc.freeze()
        fcgid.hold_between_connections()  # given back when the worker goes idle (below)
        limit = 1 if self.one_connection else self.ctx.config.max_connections_per_child
        served = 0
        # One idle worker woken per connection (EPOLLEXCLUSIVE), not the whole pool; one that
        # waited a whole interval in vain reads anyway (the one woken may have been dying).
        poller = select.epoll()
        poller.register(signals.fileno(), select.EPOLLIN)
        poller.register(self.sock.fileno(), select.EPOLLIN | select.EPOLLEXCLUSIVE)
        self.slot.state = SlotState.READY  # which stamps last_used: the idle time counts from here
        while not self.graceful:
            if os.getppid() != self.manager_pid:
                log.info("pool manager is gone, pool worker exits")
                break
            self.slot.beat()
            # A FastCGI process kept from the last connection serves the next one if it comes
            # at once (a keep-alive connection back from another pool, a busy site); an idle
            # worker gives it back to the manager, which may lend it to another, and closes its
            # connections to FastCGI servers of its own (php-fpm), which may want to stop.
            holding = fcgid.holding() or proxy_fcgi.keeping()
            ready = {fd for fd, _ in poller.poll(HOLD_LINGER_SECONDS if holding else _POLL_SECONDS)}
            if holding and self.sock.fileno() not in ready:
                fcgid.release_held()
                proxy_fcgi.close_kept()
            ready = ready or {self.sock.fileno()}
            if signals.fileno() in ready:
                signals.dispatch()
            if self.sock.fileno() not in ready or self.graceful:
                continue
            try:
                handoff = wire.receive(self.sock)
            except BlockingIOError:
                continue  # another worker of the pool took it
            except HandoffError as exc:
                log.error("pool worker: %s", exc)
                continue
            if handoff is None:
                log.info("pool manager closed the pool, pool worker exits")
                break
            self.slot.connections += 1
            self._serve(handoff)
            self.slot.state = SlotState.READY
            served += 1
            if limit and served >= limit:
                break
        fcgid.release_held()
        self.slot.state = SlotState.DEAD

    def _serve(self, handoff: Handoff) -> None:
        try:
            sock = ClientSocket(fileno=handoff.fd)  # the C type (HTTPConnection says why)
        except OSError as exc:
            log.error("pool worker: the descriptor handed over is not a socket: %s", exc)
            os.close(handoff.fd)
            return
        if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.type != socket.SOCK_STREAM:
            log.error("pool worker: a connection handed over is not TCP (family %s): closed", sock.family)
            sock.close()
            return
        sock.setblocking(True)
        try:
            ConnectionChild(self.ctx, self.slot_index, sock, identity=self.identity,
                            handover=self._hand_back, pending=handoff.data).run()
        except Exception:  # noqa: BLE001 - one connection's failure must not end the worker
            log.exception("pool worker: serving a connection failed")

    def _hand_back(self, handoff: Handoff) -> None:
        """A later request of the connection needs another identity: back to the manager."""
        deadline = time.monotonic() + self.ctx.config.timeout
        while True:
            try:
                wire.send(self.sock, handoff)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise
                select.select([], [self.sock], [], 1.0)  # the manager's queue is full: wait for room


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(0)
