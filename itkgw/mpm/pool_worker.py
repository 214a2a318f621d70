"""A worker of one identity's pool: serves the connections the pool manager hands it.

It was forked by the pool manager and switched to the pool's identity for
good before this loop runs: no capability, no way back. It waits on the
pool's socket, which every worker of the pool reads (each connection reaches
one of them), and serves the connection's requests as a connection child of
the itk model does. Between two requests a keep-alive connection is parked:
the worker waits for its next request among its other connections (one
epoll), so a few workers serve many connections and a busy site runs as few
processes as it has processors, not one per client.

Rules for the connections a worker holds:
    a parked connection's client sends      -> its requests are served
    parked longer than KeepAliveTimeout     -> closed, as an idle keep-alive connection
    a request takes longer than 50 ms       -> the others parked here go back to the manager,
                                               which hands them to another worker of the pool
    a vhost with MaxClientsVHost            -> never parked (the scoreboard counts one
                                               connection per process)
    graceful restart                        -> the parked ones are closed, the one in hand
                                               ends after its response
    MaxConnectionsPerChild reached          -> no new connection; the worker ends with its last
    two more than another worker holds      -> one with a request waiting goes, through the
                                               manager, to a worker waiting for one; none is
                                               taken while it holds over one more than the fewest

A request that needs another identity goes back to the manager with the
bytes not served; the first request of a connection must be this pool's own,
or it is refused (a front that sends it here is broken or compromised). A
FastCGI process it holds stays held while requests keep coming (no borrow and
no connect each time); after 50 ms without one it goes back to the manager.
Signals: TERM ends the worker at once (the running script's process group
with it), USR1 after the request in hand, USR2 (the manager's: the pool has
more workers than its load needs) too, its parked connections handed on to
the others; ALRM is the 50 ms alarm above.
"""

from __future__ import annotations

import gc
import logging
import math
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
from itkgw.mpm.scoreboard import SlotState, SlotView
from itkgw.mpm.signals import SignalQueue

log = logging.getLogger("itkgw.pool")

_POLL_SECONDS = 1.0
#: How long a request may hold the worker before its other connections go to another worker.
RELEASE_AFTER_SECONDS = 0.05
#: Connections one worker holds at most (it takes no new one beyond).
MAX_CONNECTIONS = 128
#: The signals that end a worker after the request in hand (the parked connections closed).
GRACEFUL_SIGNALS = frozenset({signal.SIGUSR1, signal.SIGHUP})
#: The manager's word that the pool has more workers than its load needs: the worker hands its
#: parked connections on to the others, and ends after the request in hand.
RETIRE_SIGNAL = signal.SIGUSR2
#: Held from the worker's fork until its queue is in place.
HELD_SIGNALS = GRACEFUL_SIGNALS | {RETIRE_SIGNAL}
_READABLE = select.EPOLLIN | select.EPOLLRDHUP | select.EPOLLONESHOT
#: How often parked connections are looked at for their KeepAliveTimeout.
_EXPIRY_CHECK_SECONDS = 0.25
#: How often a worker reads how many connections the pool's other workers hold, and looks
#: up which slots they are.
_BALANCE_SECONDS = 0.01
_SIBLINGS_SECONDS = 1.0
#: The states of a worker that takes new connections of its pool (balancing counts those).
_TAKING_STATES = frozenset({SlotState.READY, SlotState.BUSY_KEEPALIVE, SlotState.BUSY_READ,
                            SlotState.BUSY_WRITE})


class PoolWorker:
    """The loop of one pool process, run after its identity switch."""

    def __init__(self, ctx: ServingContext, slot_index: int, sock: socket.socket, identity: Identity,
                 manager_pid: int, one_connection: bool = False, nice: int | None = None) -> None:
        self.ctx = ctx
        self.slot_index = slot_index
        self.slot = ctx.scoreboard.slot(slot_index)
        #: The pool's end of its socket pair, shared by all its workers (non-blocking for all).
        self.sock = sock
        self.identity = identity
        #: The pool's NiceValue, which a connection handed back names to come back to this pool.
        self.nice = nice
        self.manager_pid = manager_pid
        self.graceful = False
        #: Told to end by the manager for want of load: parked connections go to other workers.
        self.retiring = False
        #: Started during a graceful restart, for an old front's last connection: serve one.
        self.one_connection = one_connection
        self.poller = select.epoll()
        #: The connections waiting for their next request: descriptor -> (child, when its
        #: KeepAliveTimeout ends).
        self.parked: dict[int, tuple[ConnectionChild, float]] = {}
        #: The connections' descriptors the poll watches (parked, or served since their event).
        self.watched: set[int] = set()
        #: When the parked connections' KeepAliveTimeouts are looked at next.
        self.expiry_check_at = 0.0
        #: Whether the pool's socket is watched (the worker takes new connections).
        self.taking = False
        #: MaxConnectionsPerChild connections taken: the worker ends with the last of them.
        self.limit_reached = False
        #: Whether the alarm is armed: requests are served while others are parked here.
        self.serving = False
        #: The connections held, as the slot shows them to the pool's other workers.
        self.held = 0
        #: The slots of the pool's other workers, when they were looked up; the fewest
        #: connections one of them holds, when that was read.
        self.siblings: list[SlotView] = []
        self.siblings_read_at = -math.inf
        self.fewest = MAX_CONNECTIONS
        self.balance_read_at = -math.inf

    def stop_gracefully(self) -> None:
        self.graceful = True
        self.slot.state = SlotState.GRACEFUL

    def retire(self) -> None:
        self.retiring = True
        self.graceful = True
        self.slot.state = SlotState.GRACEFUL

    def run(self) -> None:
        signal.signal(signal.SIGTERM, _exit_on_signal)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        signal.signal(signal.SIGALRM, self._hand_on_parked)
        signals = SignalQueue({**dict.fromkeys(GRACEFUL_SIGNALS, self.stop_gracefully),
                               RETIRE_SIGNAL: self.retire})
        signal.pthread_sigmask(signal.SIG_UNBLOCK, HELD_SIGNALS)
        self.slot.uid = self.identity.uid
        # What the worker holds now (the configuration, compiled rules) lives as long as it:
        # the garbage collector's full passes leave it alone, as in the itk model's children.
        gc.freeze()
        fcgid.hold_between_connections()  # given back when the worker goes idle (below)
        limit = 1 if self.one_connection else self.ctx.config.max_connections_per_child
        served = 0
        self.poller.register(signals.fileno(), select.EPOLLIN)
        self._take_connections(True)
        self.slot.state = SlotState.READY  # which stamps last_used: the idle time counts from here
        while not self.graceful:
            if not self.taking and not self.parked:
                break  # MaxConnectionsPerChild: the last connection has ended
            self.slot.beat()
            # A FastCGI process kept from the last request serves the next one if it comes at
            # once (a busy site, a keep-alive connection back from another pool); an idle
            # worker gives it back to the manager, which may lend it to another, and closes its
            # connections to FastCGI servers of its own (php-fpm), which may want to stop.
            holding = fcgid.holding() or proxy_fcgi.keeping()
            wait = HOLD_LINGER_SECONDS if holding else _POLL_SECONDS
            if self.parked:
                wait = min(wait, max(0.0, self.expiry_check_at - time.monotonic()))
            ready = {fd for fd, _ in self.poller.poll(wait)}
            if not ready:
                if os.getppid() != self.manager_pid:
                    log.info("pool manager is gone, pool worker exits")
                    break
                if holding:
                    fcgid.release_held()
                    proxy_fcgi.close_kept()
            if signals.fileno() in ready:
                signals.dispatch()
                if self.graceful:
                    break
            self._balance(ready)
            self._serve_parked(ready)
            # One idle worker is woken per connection (EPOLLEXCLUSIVE), not the whole pool; one
            # that waited a whole interval in vain reads anyway (the one woken may have been dying).
            if not self.taking or (self.sock.fileno() not in ready and (ready or wait < _POLL_SECONDS)):
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
            served += 1
            self.limit_reached = bool(limit) and served >= limit
            self._serve(handoff)
            self._settle()
        self._leave()

    def _take_connections(self, taking: bool) -> None:
        """Watch the pool's socket for new connections, or stop (the worker is full, or ends)."""
        if taking == self.taking:
            return
        if taking:
            self.poller.register(self.sock.fileno(), select.EPOLLIN | select.EPOLLEXCLUSIVE)
        else:
            self.poller.unregister(self.sock.fileno())
        self.taking = taking

    def _serve_parked(self, ready: set[int]) -> None:
        """The parked connections whose clients sent (each watched once: the poll reports it
        once until parked again), then, every _EXPIRY_CHECK_SECONDS, those whose KeepAliveTimeout
        is over (their wait ends at once, as it would have in the connection's own process)."""
        self._arm(len(self.parked) > 1)
        try:
            for fd in ready:
                parked = self.parked.pop(fd, None)
                if parked is not None:
                    self._resume(parked[0])
        finally:
            self._disarm()
        now = time.monotonic()
        if now >= self.expiry_check_at:
            self.expiry_check_at = now + _EXPIRY_CHECK_SECONDS
            for fd, (child, end) in list(self.parked.items()):
                if end <= now and fd in self.parked:
                    del self.parked[fd]
                    self._unwatch(fd)
                    self._resume(child, may_park=False)
        self._settle()

    def _settle(self) -> None:
        """Between requests: take new connections unless full, at MaxConnectionsPerChild, or
        holding more than one over the sibling that holds fewest; keep-alive while connections
        are parked here (the manager counts the worker as free for a new one only without
        any), READY otherwise."""
        held = len(self.parked)
        if held != self.held:
            self.slot.held = self.held = held
        self._take_connections(not self.limit_reached and held < MAX_CONNECTIONS
                               and (not held or held <= self._fewest_elsewhere() + 1))
        state = SlotState.BUSY_KEEPALIVE if self.parked else SlotState.READY
        if self.slot.state != state:  # READY stamps the time the worker went idle: once
            self.slot.state = state

    def _fewest_elsewhere(self) -> int:
        """The fewest connections another live worker of the pool holds (MAX_CONNECTIONS when
        there is none), read from the scoreboard at most every _BALANCE_SECONDS."""
        now = time.monotonic()
        if now < self.balance_read_at + _BALANCE_SECONDS:
            return self.fewest
        if now >= self.siblings_read_at + _SIBLINGS_SECONDS:
            board = self.ctx.scoreboard
            self.siblings = [board.slot(index) for index in range(board.size)
                             if index != self.slot_index and board.slot(index).uid == self.identity.uid]
            self.siblings_read_at = now
        self.fewest = min((sibling.held for sibling in self.siblings
                           if sibling.uid == self.identity.uid and sibling.state in _TAKING_STATES),
                          default=MAX_CONNECTIONS)
        self.balance_read_at = now
        return self.fewest

    def _balance(self, ready: set[int]) -> None:
        """Two or more connections here have requests waiting while another worker of the pool
        holds two fewer: one of them goes to the manager, and from it to a worker waiting for
        one (this one takes none meanwhile), so the pool's connections spread over its workers."""
        waiting = [fd for fd in ready if fd in self.parked]
        if len(waiting) < 2 or len(self.parked) < self._fewest_elsewhere() + 2:
            return
        fd = waiting[-1]
        if self._hand_on(fd):
            ready.discard(fd)
            self._take_connections(False)

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
            child = ConnectionChild(self.ctx, self.slot_index, sock, identity=self.identity,
                                    handover=self._hand_back, pending=handoff.data, first=not handoff.later)
        except OSError as exc:  # the client left before it could be looked at (getpeername)
            log.info("pool worker: a connection handed over is gone: %s", exc)
            sock.close()
            return
        if handoff.later and not handoff.data:
            child.conn.park()  # handed on between two requests: it waits here for its next
            self._park(child)
            return
        self._arm(bool(self.parked))
        try:
            self._resume(child)
        finally:
            self._disarm()

    def _park(self, child: ConnectionChild) -> None:
        """Wait for the connection's next request with the others: its descriptor is watched
        for one event (EPOLLONESHOT), armed again each time it is parked."""
        fd = child.conn.sock.fileno()
        self.parked[fd] = (child, child.conn.parked_since + child.conn.limits.keep_alive_timeout)
        if fd in self.watched:
            self.poller.modify(fd, _READABLE)
            return
        try:
            self.poller.register(fd, _READABLE)
        except FileExistsError:
            # A connection that went to another pool and came back: the poll still has it from
            # before (the descriptor closed here while the connection lived on elsewhere).
            self.poller.modify(fd, _READABLE)
        self.watched.add(fd)

    def _unwatch(self, fd: int) -> None:
        """Stop watching a connection that leaves this worker (before its descriptor closes)."""
        self.watched.discard(fd)
        try:
            self.poller.unregister(fd)
        except OSError:
            pass  # closed already: the kernel dropped it with the descriptor

    def _arm(self, others_parked: bool) -> None:
        """Requests are served while other connections are parked here: if they hold the worker
        past RELEASE_AFTER_SECONDS, the alarm hands those on (one alarm for a round of requests)."""
        if others_parked and not self.serving:
            signal.setitimer(signal.ITIMER_REAL, RELEASE_AFTER_SECONDS)
            self.serving = True

    def _disarm(self) -> None:
        if self.serving:
            signal.setitimer(signal.ITIMER_REAL, 0)
            self.serving = False

    def _resume(self, child: ConnectionChild, may_park: bool = True) -> None:
        """Serve what the connection's client sent; park it again when it waits once more
        (without ``may_park``, its KeepAliveTimeout is over: its wait ends, and it closes)."""
        fd = child.conn.sock.fileno()
        try:
            parked = child.run(may_park)
        except Exception:  # noqa: BLE001 - one connection's failure must not end the worker
            log.exception("pool worker: serving a connection failed")
            parked = False
        if parked:
            self._park(child)
            self.slot.vhost = ""  # a parked connection is nobody's MaxClientsVHost count
        elif fd in self.watched:
            self._unwatch(fd)

    def _hand_on_parked(self, signum: int, frame: object) -> None:
        """SIGALRM: the request in hand has held the worker too long; the connections parked
        here go back to the manager, for another worker of the pool (started if need be)."""
        if not self.serving:
            return  # the request ended as the alarm came
        for fd in list(self.parked):
            if not self._hand_on(fd):
                return  # the manager's queue is full: they stay here, served after this request
        self.serving = False
        self._take_connections(False)  # none back before this request ends (_settle decides then)

    def _leave(self) -> None:
        """The worker ends: parked connections go to another worker (retired for want of
        load), or close as idle keep-alive ones do (a graceful restart, the manager gone)."""
        signal.setitimer(signal.ITIMER_REAL, 0)
        for fd in list(self.parked):
            if self.retiring and os.getppid() == self.manager_pid and self._hand_on(fd, wait=True):
                continue
            self.parked.pop(fd)[0].close_parked()
        fcgid.release_held()
        self.slot.state = SlotState.DEAD

    def _hand_on(self, fd: int, wait: bool = False) -> bool:
        """A parked connection to the manager, for another worker of the pool; False when the
        manager's queue is full (``wait``: for up to Timeout), the connection staying here."""
        try:
            handoff = Handoff(self.identity, self.nice, fd, b"", later=True)
            if wait:
                self._hand_back(handoff)
            else:
                wire.send(self.sock, handoff)
        except (OSError, HandoffError) as exc:
            if wait:
                log.error("pool worker: cannot hand a parked connection on: %s", exc)
            return False
        child, _ = self.parked.pop(fd)
        self._unwatch(fd)
        child.release()
        return True

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
