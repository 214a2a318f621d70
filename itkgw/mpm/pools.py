"""The pool manager: one pool of workers per identity, started on demand, fed connections.

Forked by the master for each configuration generation (the pool model
only), it stays root with only the capabilities its job needs (switching ids
and the nice value for a start, signalling workers that run as others) under
the set*id seccomp filter, so a worker it starts can be no one outside
LimitUIDRange/LimitGIDRange, never root and never ``User`` (the fronts'
identity: a tenant's script running as it could trace the fronts).

Its input is connections (handoff.py): from the fronts, on their
connections to its socket (``<FcgidIPCDir>/pools-*.sock``, which only root
and ``User``'s group may open; the peer's credentials must be ``User``'s or
root's), and from pool workers handing back a connection whose next request
needs another identity, or a parked one for another worker of the pool (the
worker is held up, retired, or holds more than its share). A pool is a SOCK_SEQPACKET pair: the manager writes
connections into one end, the pool's workers all read the other, so no
filesystem name leads to a pool, and a worker never holds another pool's
socket. Workers park keep-alive connections between requests (pool_worker.py),
so a pool needs about one worker per processor, and one more for each worker
held up by a long request: a worker is started when a connection arrives
and none is free while the pool has fewer than that, or when a connection
waited 50 ms in the socket while a worker is held up (up to PoolMaxWorkers);
workers beyond the need for a second retire (USR2: their parked connections
go to the others), idle ones beyond PoolMinWorkers end after
PoolIdleTimeout, and a worker is replaced after MaxConnectionsPerChild
connections. Connections the pool's socket cannot take yet wait here, up to
Timeout, then get a 503.

Signals: TERM ends every worker and the manager; USR1 (graceful restart or
stop) tells every worker to end after its connection, and workers started
from then on serve one connection each, for the fronts of the old generation
still finishing theirs; WINCH (the master's, once those fronts are gone)
does the same and ends the manager after the last worker. Each means the
same whichever comes first: signals sent in one order can arrive in the
other (a process that was not running when both came runs the handler of
the later one first).
"""

from __future__ import annotations

import logging
import os
import select
import signal
import socket
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import prctl

from itkgw.config.identity import resolve_identity
from itkgw.config.model import Identity, ServerConfig
from itkgw.config.modules.pool import PoolSettings
from itkgw.errors import ExitCode
from itkgw.mpm import handoff as wire
from itkgw.mpm import manager_process, privs
from itkgw.mpm.child import ServingContext
from itkgw.mpm.handoff import Handoff, HandoffError
from itkgw.mpm.log import setup_error_log
from itkgw.mpm.pool_worker import HELD_SIGNALS, RELEASE_AFTER_SECONDS, RETIRE_SIGNAL, PoolWorker
from itkgw.mpm.scoreboard import SlotState, SlotView
from itkgw.mpm.signals import SignalQueue, exited, wait_for_exits

log = logging.getLogger("itkgw.pool")

#: What the manager keeps of root's capabilities.
MANAGER_CAPS = (prctl.CAP_SETUID, prctl.CAP_SETGID, prctl.CAP_SYS_NICE, prctl.CAP_KILL)
_TICK_SECONDS = 0.25
#: The states of a worker that will take the next connection in its pool's socket.
_WAITING_STATES = frozenset({SlotState.READY, SlotState.STARTING})
_STOP_GRACE_SECONDS = 3.0
#: Workers a pool starts at once for connections no worker is free for: one per processor. A
#: worker parks its keep-alive connections between requests and takes new ones, so beyond
#: that a connection waits for a worker between two requests, and one more starts only for
#: a connection that none took within _START_DELAY_SECONDS while requests hold workers up.
_SPREAD = len(os.sched_getaffinity(0))
_START_DELAY_SECONDS = 0.05
#: A worker whose request has run this long is held up by it: the pool needs one more meanwhile.
_HELD_UP_SECONDS = RELEASE_AFTER_SECONDS
#: How long a pool has more workers than its load needs before the surplus retires.
_SURPLUS_SECONDS = 1.0
_SERVING_STATES = frozenset({SlotState.BUSY_READ, SlotState.BUSY_WRITE, SlotState.CLOSING})
#: The answer to a connection no worker could take within Timeout.
_BUSY_BODY = b"Every worker of this site is busy: retry\n"
_BUSY_RESPONSE = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                  b"Content-Length: %d\r\n\r\n%b" % (len(_BUSY_BODY), _BUSY_BODY))


#: The table of running pools ``itkgw -S`` prints, in the FcgidIPCDir.
STATUS_NAME = "pools.status"
_STATUS_HEADER = "pool\tpid\tstate\tconnections\tidle_s"


def show_status(text: str, now: float) -> str:
    """The status file as ``itkgw -S`` prints it: idle seconds counted from ``now``."""
    lines = [_STATUS_HEADER]
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) == 5:
            fields[4] = "-" if fields[2] != "ready" else f"{max(0.0, now - float(fields[4])):.0f}"
            lines.append("\t".join(fields))
    return "\n".join(lines) + "\n"


def listener_path(directory: str, generation: int) -> str:
    return os.path.join(directory, f"pools-{os.getpid()}-{generation}.sock")


def open_listener(path: str, front_gid: int) -> socket.socket:
    """The socket fronts pass connections to: root's and ``User``'s group's only."""
    return manager_process.listening_socket(path, socket.SOCK_SEQPACKET, 0o660, front_gid)


@dataclass
class _Waiting:
    """A connection the pool's socket could not take yet."""

    handoff: Handoff
    since: float


@dataclass
class _Load:
    """A pool's workers by what they do: a pool needs one per processor, and one more for each
    held up by a request running over _HELD_UP_SECONDS (a slow script, a slow client)."""

    live: int = 0
    held_up: int = 0
    idle: list[int] = field(default_factory=list)
    holding: list[int] = field(default_factory=list)
    needed: int = 0


@dataclass
class Pool:
    """One identity's workers and the socket pair that feeds them."""

    identity: Identity
    nice: int | None
    ours: socket.socket
    theirs: socket.socket
    #: pid -> scoreboard slot of each worker.
    workers: dict[int, int] = field(default_factory=dict)
    #: Workers told to end (idle beyond the minimum, or a graceful restart).
    ending: set[int] = field(default_factory=set)
    waiting: deque[_Waiting] = field(default_factory=deque)
    #: Connections written into the socket, those taken by workers that have ended, and
    #: those the manager took back to answer 503 (no worker took them within Timeout).
    delivered: int = 0
    taken_by_ended: int = 0
    taken_back: int = 0
    #: When each connection still in the socket was written, oldest first.
    sent_at: deque[float] = field(default_factory=deque)
    #: Whether the manager waits for room in the socket (connections are waiting).
    watching_room: bool = False
    #: When to start a worker if connections are still in the socket then (0: no such check).
    start_check: float = 0.0
    #: Since when the pool has had more workers than its load needs (0: it has not).
    surplus_since: float = 0.0

    def describe(self) -> str:
        nice = f", nice {self.nice}" if self.nice is not None else ""
        return f"{self.identity.user}:{self.identity.group} (uid {self.identity.uid}{nice})"


class PoolManager:
    """The manager process's loop (see the module's docstring)."""

    def __init__(self, ctx: ServingContext, listener: socket.socket, setid_filter: Any, slots: range,
                 heartbeat: SlotView) -> None:
        self.ctx = ctx
        self.config = ctx.config
        self.settings = ctx.config.modules.get(PoolSettings)
        self.listener = listener
        self.setid_filter = setid_filter
        self.slots = slots
        self.heartbeat = heartbeat
        self.pools: dict[tuple[int, int, str, str, int | None], Pool] = {}
        self.fronts: dict[int, socket.socket] = {}
        #: What the manager waits on (epoll, not selectors: its loop runs once per connection):
        #: fd -> "signals", "listener", a Pool, or a front's socket.
        self.poller = select.epoll()
        self.watched: dict[int, Any] = {}
        self.running = True
        self.retiring = False
        #: Told to stop after a graceful restart or stop: ends once its workers have.
        self.draining = False
        self.signals: SignalQueue | None = None
        self.status_path = os.path.join(os.path.dirname(listener.getsockname()), STATUS_NAME)
        self.status_written = ""
        self.signal_actions = {signal.SIGTERM: self.stop, signal.SIGINT: self.stop,
                               signal.SIGUSR1: self.retire, signal.SIGWINCH: self.drain,
                               signal.SIGCHLD: self.reap}

    # -- the process --------------------------------------------------------------

    def run(self, signal_mask: Any = None) -> None:
        os.setpgid(0, 0)
        signals = self.signals = SignalQueue(self.signal_actions)
        if signal_mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, signal_mask)
        manager_process.confine(self.setid_filter, MANAGER_CAPS)
        self._watch(signals.fileno(), select.EPOLLIN, "signals")
        self._watch(self.listener.fileno(), select.EPOLLIN, "listener")
        next_tick = 0.0
        while self.running:
            wake = min([next_tick, *(pool.start_check for pool in self.pools.values() if pool.start_check)])
            for fd, events in self.poller.poll(max(0.0, wake - time.monotonic())):
                what = self.watched.get(fd)
                if what is None:
                    continue  # unwatched by an earlier event of this round
                if isinstance(what, Pool):
                    self._pool_ready(what, events)
                elif isinstance(what, socket.socket):
                    self._from_front(what)
                elif what == "signals":
                    signals.dispatch()
                else:
                    self._accept()
            self._check_starts()
            if time.monotonic() >= next_tick:
                self._tick()
                next_tick = time.monotonic() + _TICK_SECONDS
            if self.draining and not any(pool.workers or pool.waiting or self._in_socket(pool)
                                         for pool in self.pools.values()):
                break
        self._end_all()
        manager_process.remove(self.listener.getsockname())  # its generation's: no other takes it
        if not self.retiring:
            manager_process.remove(self.status_path)

    def _watch(self, fd: int, events: int, what: Any) -> None:
        self.poller.register(fd, events)
        self.watched[fd] = what

    def _unwatch(self, fd: int) -> None:
        self.poller.unregister(fd)
        del self.watched[fd]

    def stop(self) -> None:
        """End every worker now, and the manager."""
        self.running = False

    def drain(self) -> None:
        """Retire, and end once the last worker has (no front of this generation is left)."""
        self.retire()
        self.draining = True

    def retire(self) -> None:
        """Graceful restart: every worker ends after its connection."""
        if self.retiring:
            return
        self.retiring = True
        for pool in self.pools.values():
            for pid in pool.workers:
                _signal(pid, signal.SIGUSR1)
                pool.ending.add(pid)

    def reap(self) -> None:
        for pid, status in exited([pid for pool in self.pools.values() for pid in pool.workers]):
            for pool in self.pools.values():
                if pid in pool.workers:
                    self._worker_ended(pool, pid, status)
                    break

    def _worker_ended(self, pool: Pool, pid: int, status: int) -> None:
        slot = self.ctx.scoreboard.slot(pool.workers.pop(pid))
        pool.taken_by_ended += slot.connections
        pool.ending.discard(pid)
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) not in (signal.SIGTERM, signal.SIGUSR1) \
                and self.running:
            log.error("pool worker pid %d of %s exit signal %s", pid, pool.describe(),
                      signal.Signals(os.WTERMSIG(status)).name)
        elif os.WIFEXITED(status) and os.WEXITSTATUS(status) == ExitCode.IDENTITY_FAILED:
            log.error("pool worker pid %d could not become %s (see above)", pid, pool.describe())
        slot.reset()
        self._feed(pool)  # and staff it, for the connections the ended worker left in its socket

    # -- connections in ------------------------------------------------------------

    def _accept(self) -> None:
        for sock, _, uid, _ in manager_process.accepted(self.listener, "pool manager"):
            if uid not in (0, self.config.user.uid):
                log.error("pool manager: refused a connection of uid %d (only the fronts, as %s, may pass "
                          "connections)", uid, self.config.user.user)
                sock.close()
                continue
            sock.setblocking(False)
            self.fronts[sock.fileno()] = sock
            self._watch(sock.fileno(), select.EPOLLIN, sock)

    def _from_front(self, sock: socket.socket) -> None:
        try:
            handoff = wire.receive(sock)
        except BlockingIOError:
            return
        except (HandoffError, OSError) as exc:
            log.error("pool manager: from a front: %s", exc)
            return
        if handoff is None:
            self._unwatch(sock.fileno())
            del self.fronts[sock.fileno()]
            sock.close()
            return
        self._route(handoff)

    def _pool_ready(self, pool: Pool, events: int) -> None:
        if events & ~select.EPOLLOUT:  # readable, or hung up: read what is there
            while True:  # connections handed back by the pool's workers
                try:
                    handoff = wire.receive(pool.ours)
                except BlockingIOError:
                    break
                except (HandoffError, OSError) as exc:
                    log.error("pool manager: from the pool of %s: %s", pool.describe(), exc)
                    break
                if handoff is None:
                    break
                self._route(handoff)
        if events & select.EPOLLOUT:
            self._feed(pool)

    def _route(self, handoff: Handoff) -> None:
        """The connection to its identity's pool, started if need be; a connection for no
        identity a pool may run as is closed (the front or pool that sent it is broken)."""
        pool = self.pools.get(handoff.pool_key)
        if pool is None:  # an identity is judged once, when its pool is made
            refusal = pool_refusal(handoff.identity, self.config)
            if refusal:
                log.error("pool manager: refused a connection for %s: %s", handoff.identity, refusal)
                wire.close_descriptor(handoff.fd)
                return
            pool = self._new_pool(handoff)
        pool.waiting.append(_Waiting(handoff, time.monotonic()))
        self._feed(pool)

    def _new_pool(self, handoff: Handoff) -> Pool:
        ours, theirs = wire.pair()
        ours.setblocking(False)
        theirs.setblocking(False)
        pool = Pool(handoff.identity, handoff.nice, ours, theirs)
        self.pools[handoff.pool_key] = pool
        self._watch(ours.fileno(), select.EPOLLIN, pool)
        log.info("pool manager: pool of %s started", pool.describe())
        return pool

    # -- connections out -----------------------------------------------------------

    def _feed(self, pool: Pool) -> None:
        """Write waiting connections into the pool's socket, starting a worker for each that
        no free worker will take; watch for room when the socket is full."""
        free, _ = self._tally(pool)
        while pool.waiting:
            if free <= 0 and self._start_for_waiting(pool):
                free += 1
            waiting = pool.waiting[0]
            try:
                wire.send(pool.ours, waiting.handoff)
            except BlockingIOError:
                break
            except (OSError, HandoffError) as exc:
                log.error("pool manager: cannot pass a connection to the pool of %s: %s",
                          pool.describe(), exc)
            else:
                pool.delivered += 1
                pool.sent_at.append(time.monotonic())
                free -= 1
            pool.waiting.popleft()
            wire.close_descriptor(waiting.handoff.fd)
        self._staff(pool, free)
        if pool.watching_room != bool(pool.waiting):
            pool.watching_room = bool(pool.waiting)
            self.poller.modify(pool.ours.fileno(), select.EPOLLIN | (select.EPOLLOUT if pool.waiting else 0))

    def _staff(self, pool: Pool, free: int) -> None:
        """Start workers for connections in the pool's socket that no worker will take (those
        that would have ended after a graceful restart, or were killed, before taking them)."""
        while free < 0 and self._start_for_waiting(pool):
            free += 1

    def _start_for_waiting(self, pool: Pool) -> bool:
        """Start a worker for a connection no worker is free for: at once while the pool has
        fewer than _SPREAD, else only if it is still waiting after _START_DELAY_SECONDS while
        a worker is held up by a long request (a worker with parked connections takes it
        between two requests; when all are busy serving, another would only share the
        processors)."""
        if len(pool.workers) - len(pool.ending) < _SPREAD:
            return self._start_worker(pool)
        if not pool.start_check:
            pool.start_check = time.monotonic() + _START_DELAY_SECONDS
        return False

    def _check_starts(self) -> None:
        """A worker for each pool whose socket still holds a connection no worker took within
        _START_DELAY_SECONDS; the check comes again while connections wait."""
        now = time.monotonic()
        for pool in self.pools.values():
            if not pool.start_check or pool.start_check > now:
                continue
            pool.start_check = 0.0
            free, in_socket = self._tally(pool)
            _forget_taken(pool, in_socket)
            if not in_socket or free >= 0 or not pool.sent_at:
                continue
            if now - pool.sent_at[0] >= _START_DELAY_SECONDS:
                load = self._load(pool)
                if load.live < load.needed:
                    self._start_worker(pool)
            pool.start_check = max(now, pool.sent_at[0]) + _START_DELAY_SECONDS

    def _in_socket(self, pool: Pool) -> int:
        """Connections written into the pool's socket that no worker has taken yet."""
        return self._tally(pool)[1]

    def _tally(self, pool: Pool) -> tuple[int, int]:
        """The pool's free workers (those waiting for a connection and not told to end, less
        the connections in the socket before them) and the connections in its socket, from
        one read of each worker's slot."""
        idle = taken = 0
        read = self.ctx.scoreboard.state_and_connections
        for pid, index in pool.workers.items():
            state, connections = read(index)
            taken += connections
            if state in _WAITING_STATES and pid not in pool.ending:
                idle += 1
        in_socket = pool.delivered - pool.taken_by_ended - pool.taken_back - taken
        return idle - in_socket, in_socket

    def _start_worker(self, pool: Pool) -> bool:
        """Start a worker for ``pool``; False when PoolMaxWorkers or the scoreboard forbid it."""
        if len(pool.workers) - len(pool.ending) >= self.settings.max_workers:
            return False
        index = self._free_slot()
        if index is None:
            log.error("pool manager: the scoreboard has no slot for another worker of %s", pool.describe())
            return False
        slot = self.ctx.scoreboard.slot(index)
        slot.reset()
        slot.state = SlotState.STARTING
        slot.generation = self.ctx.generation
        slot.beat()
        manager_pid = os.getpid()
        pid = os.fork()
        if pid == 0:
            self._become_worker(pool, index, manager_pid)
        slot.pid = pid
        pool.workers[pid] = index
        return True

    def _free_slot(self) -> int | None:
        taken = {index for pool in self.pools.values() for index in pool.workers.values()}
        for index in self.slots:
            if index not in taken and self.ctx.scoreboard.slot(index).state == SlotState.DEAD:
                return index
        return None

    def _become_worker(self, pool: Pool, index: int, manager_pid: int) -> None:
        """In the forked child: close everything of other pools and of the fronts, become the
        pool's identity for good, then serve. Never returns."""
        code = 0
        try:
            self.poller.close()
            if self.signals is not None:
                self.signals.close()
            self.listener.close()
            for sock in self.fronts.values():
                sock.close()
            for other in self.pools.values():
                other.ours.close()
                if other is not pool:
                    other.theirs.close()
                for waiting in other.waiting:  # connections of the pools' own: not this worker's
                    wire.close_descriptor(waiting.handoff.fd)
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGWINCH, signal.SIGCHLD,
                           signal.SIGHUP):
                signal.signal(signum, signal.SIG_DFL)
            # A graceful restart's USR1 waits for the worker's own queue (its default would kill
            # a worker still starting); the worker then ends before taking a connection.
            signal.pthread_sigmask(signal.SIG_SETMASK, HELD_SIGNALS)
            setup_error_log(self.ctx.logs.error_fd, self.config.log_level)
            try:
                privs.apply_nice(pool.nice)
                privs.switch_identity(pool.identity, self.config)
            except Exception as exc:  # noqa: BLE001 - the start failed: say why, exit
                log.critical("pool worker cannot become %s: %s", pool.describe(), exc)
                os._exit(ExitCode.IDENTITY_FAILED)
            prctl.set_pdeathsig(signal.SIGTERM)  # after the switch, which clears it
            if os.getppid() != manager_pid:
                os._exit(0)
            PoolWorker(self.ctx, index, pool.theirs, pool.identity, manager_pid,
                       one_connection=self.retiring, nice=pool.nice).run()
        except SystemExit:
            code = 0
        except BaseException:  # noqa: BLE001 - a child must log and exit, never unwind
            log.exception("pool worker of %s failed", pool.describe())
            code = 1
        finally:
            os._exit(code)

    # -- housekeeping --------------------------------------------------------------

    def _tick(self) -> None:
        self.heartbeat.beat()
        self._write_status()
        now = time.monotonic()
        for key, pool in list(self.pools.items()):
            self._answer_late(pool, now)
            self._feed(pool)
            self._end_idle(pool)
            self._retire_surplus(pool)
            nothing_to_hand_out = not pool.waiting and not self._in_socket(pool)
            if self.draining and nothing_to_hand_out:
                self._end_unneeded(pool)
            if not pool.workers and nothing_to_hand_out:
                self._close_pool(key, pool)

    def _write_status(self) -> None:
        """The table of pools and their workers, when it changed; a retiring manager leaves
        it to the current one."""
        if self.retiring:
            return
        scoreboard = self.ctx.scoreboard
        lines = []
        for pool in self.pools.values():
            for pid, index in sorted(pool.workers.items()):
                slot = scoreboard.slot(index)
                lines.append(f"{pool.describe()}\t{pid}\t{slot.state.name.lower()}\t{slot.connections}\t"
                             f"{slot.last_used:.0f}")
        text = "".join(line + "\n" for line in lines)
        if text == self.status_written:
            return
        if manager_process.write_table(self.status_path, text, "pool manager"):
            self.status_written = text

    def _answer_late(self, pool: Pool, now: float) -> None:
        """A 503 for connections that waited Timeout for a worker: those the manager still
        holds, and the oldest in the pool's socket, which the manager reads back (the socket is
        first in, first out: the ones workers took were older)."""
        timeout = self.config.timeout
        while pool.waiting and now - pool.waiting[0].since > timeout:
            self._answer_busy(pool, pool.waiting.popleft().handoff.fd)
        _forget_taken(pool, self._in_socket(pool))
        while pool.sent_at and now - pool.sent_at[0] > timeout:
            try:
                handoff = wire.receive(pool.theirs)
            except BlockingIOError:
                return  # a worker took it meanwhile
            except HandoffError as exc:
                log.error("pool manager: reading back a connection of %s: %s", pool.describe(), exc)
                handoff = None
            if handoff is None:
                return
            pool.sent_at.popleft()
            pool.taken_back += 1
            self._answer_busy(pool, handoff.fd)

    def _answer_busy(self, pool: Pool, fd: int) -> None:
        log.error("pool manager: no worker of %s free for %d seconds (PoolMaxWorkers %d): 503",
                  pool.describe(), self.config.timeout, self.settings.max_workers)
        try:
            sock = socket.socket(fileno=fd)
            sock.setblocking(False)
            sock.send(_BUSY_RESPONSE)
            sock.close()
        except OSError:
            wire.close_descriptor(fd)

    def _end_idle(self, pool: Pool) -> None:
        """Idle workers beyond PoolMinWorkers end after PoolIdleTimeout."""
        staying = [pid for pid in pool.workers if pid not in pool.ending]
        surplus = len(staying) - self.settings.min_workers
        wall = time.time()
        for pid in staying:
            if surplus <= 0:
                return
            slot = self.ctx.scoreboard.slot(pool.workers[pid])
            if slot.state == SlotState.READY and wall - slot.last_used > self.settings.idle_timeout:
                _signal(pid, signal.SIGUSR1)
                pool.ending.add(pid)
                surplus -= 1

    def _load(self, pool: Pool) -> _Load:
        """What the pool's workers are doing, from their slots (see _Load)."""
        now = time.time()
        load = _Load()
        for pid, index in pool.workers.items():
            if pid in pool.ending:
                continue
            load.live += 1
            slot = self.ctx.scoreboard.slot(index)
            state = slot.state
            if state in _SERVING_STATES and now - slot.last_used > _HELD_UP_SECONDS:
                load.held_up += 1
            elif state == SlotState.READY:
                load.idle.append(pid)
            elif state == SlotState.BUSY_KEEPALIVE:
                load.holding.append(pid)
        load.needed = max(self.settings.min_workers, _SPREAD + load.held_up)
        return load

    def _retire_surplus(self, pool: Pool) -> None:
        """More workers than the load needs for _SURPLUS_SECONDS (after a burst of connections,
        or of long requests): the surplus retires, idle workers first, then the youngest of
        those holding connections, which hand them on to the others. Fewer processes serve
        the same connections faster: each keeps its caches warm."""
        if self.retiring:
            return
        load = self._load(pool)
        surplus = load.live - load.needed
        if surplus <= 0 or pool.waiting:  # (connections passing through the socket need none)
            pool.surplus_since = 0.0
            return
        now = time.monotonic()
        if not pool.surplus_since:
            pool.surplus_since = now
        if now - pool.surplus_since < _SURPLUS_SECONDS:
            return
        pool.surplus_since = 0.0
        for pid in [*reversed(load.idle), *reversed(load.holding)][:surplus]:
            _signal(pid, RETIRE_SIGNAL)
            pool.ending.add(pid)

    def _end_unneeded(self, pool: Pool) -> None:
        """Draining, with no connection left for the pool: a worker started after the retirement
        for one that another worker took would wait for one forever; every worker ends after
        the connection it serves, if any."""
        for pid in pool.workers:
            if pid not in pool.ending:
                _signal(pid, signal.SIGUSR1)
                pool.ending.add(pid)

    def _close_pool(self, key: tuple[int, int, str, str, int | None], pool: Pool) -> None:
        """A pool whose workers all ended and that has nothing to do is closed: the next
        connection of its identity starts it again."""
        self._unwatch(pool.ours.fileno())
        pool.ours.close()
        pool.theirs.close()
        del self.pools[key]
        log.info("pool manager: pool of %s closed (idle)", pool.describe())

    def _end_all(self) -> None:
        """TERM every worker, wait for them; KILL what is left after the grace time."""
        pids = [pid for pool in self.pools.values() for pid in pool.workers]
        for pid in pids:
            _signal(pid, signal.SIGTERM)
        wait_for_exits(self.reap, lambda: not any(pool.workers for pool in self.pools.values()),
                       _STOP_GRACE_SECONDS)
        for pool in self.pools.values():
            for pid in list(pool.workers):
                _signal(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                self.ctx.scoreboard.slot(pool.workers.pop(pid)).reset()
            for waiting in pool.waiting:
                wire.close_descriptor(waiting.handoff.fd)


def pool_refusal(identity: Identity, config: ServerConfig) -> str:
    """Why no pool may run as ``identity`` ("" when one may): never root, never the fronts'
    own ``User``, only inside LimitUIDRange/LimitGIDRange, and the names must be those of
    the ids (initgroups takes the name: a name of another user would give their groups)."""
    if identity.uid == 0 or identity.gid == 0:
        return "a pool never runs as root"
    if identity.uid == config.user.uid:
        return f"a pool never runs as the fronts' own User {config.user.user}"
    try:
        privs.check_allowed(identity, config)
    except privs.IdentityNotAllowed as exc:
        return exc.message
    try:
        named = resolve_identity(identity.user, identity.group)
    except LookupError as exc:
        return str(exc)
    if (named.uid, named.gid) != (identity.uid, identity.gid):
        return f"{identity.user}:{identity.group} is uid {named.uid}, gid {named.gid}"
    return ""


def _forget_taken(pool: Pool, in_socket: int) -> None:
    """Keep the times of the connections still in the pool's socket only: it is first in,
    first out, so those workers took were the oldest."""
    while len(pool.sent_at) > in_socket:
        pool.sent_at.popleft()


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass  # Exited already; reap() collects it.
