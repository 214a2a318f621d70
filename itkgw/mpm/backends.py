"""The backend manager's books: which FastCGI processes exist, per class, and in what state.

Pure bookkeeping, no system calls, so the rules are unit-tested alone; the
manager process (fcgid_manager.py) does the forks, kills and sockets.

Rules for a process (mod_fcgid's, per class):
    asked for, one idle                 -> the idle one, most recently used first
    asked for, none idle, below limits  -> a new one (FcgidMaxProcessesPerClass, FcgidMaxProcesses)
    asked for, spawn score at its limit -> the asker waits for a busy one (FcgidSpawnScoreUpLimit;
                                           a class with no process left may always start one)
    asked for, at FcgidMaxProcesses     -> the least recently used idle process of another class ends
    asked for, at a limit               -> the asker waits, 503 after FcgidBusyTimeout
    released after a clean request      -> idle again, or ended at FcgidMaxRequestsPerProcess
    released otherwise                  -> ended
    idle past FcgidIdleTimeout          -> ended while the class keeps FcgidMinProcessesPerClass
    idle past FcgidProcessLifeTime      -> ended
    busy past FcgidBusyTimeout          -> ended
    exits on its own soon after start   -> counted; three in a row back the class off (1 s, doubling to 60 s)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from itkgw.config.modules.fcgid import FcgidSettings
from itkgw.handlers.fcgid import BackendClass

#: A process that exits sooner than this after its start counts as a failed start.
EARLY_EXIT_SECONDS = 10.0
#: Failed starts in a row after which a class waits before the next start.
FAILURES_BEFORE_BACKOFF = 3
MAX_BACKOFF_SECONDS = 60.0


class State(enum.Enum):
    IDLE = "idle"
    BUSY = "busy"
    ENDING = "ending"


@dataclass
class Backend:
    """One FastCGI process."""

    pid: int
    socket: str
    cls: BackendClass
    started: float
    state: State = State.IDLE
    requests: int = 0
    #: When it last became idle, or busy.
    since: float = 0.0
    #: Why it is ending, for the log and the status table.
    reason: str = ""


@dataclass
class ClassBooks:
    """The processes of one class, and its start failures."""

    cls: BackendClass
    limits: FcgidSettings
    backends: list[Backend] = field(default_factory=list)
    failures: int = 0
    backoff_until: float = 0.0
    #: mod_fcgid's spawn score: raised by starts and exits, lowered by each second passing.
    score: int = 0
    #: When the score was last brought up to date (None: no process has started yet).
    scored_at: float | None = None

    def idle(self) -> Backend | None:
        idle = [backend for backend in self.backends if backend.state is State.IDLE]
        return max(idle, key=lambda backend: backend.since) if idle else None

    def live(self) -> int:
        """Processes that are not ending."""
        return sum(1 for backend in self.backends if backend.state is not State.ENDING)


@dataclass(frozen=True)
class SpawnControl:
    """mod_fcgid's spawn control: FcgidSpawnScore, FcgidTerminationScore, FcgidTimeScore and
    FcgidSpawnScoreUpLimit. A burst of requests starts a few processes and then waits for
    them, rather than starting one per request."""

    spawn: int = 1
    termination: int = 2
    time: int = 1
    up_limit: int = 10

    def scored(self, books: ClassBooks, now: float, added: int = 0) -> int:
        """The class's score now, with ``added``; the first start of a class counts nothing, as
        mod_fcgid's, and seconds count whole."""
        if books.scored_at is None:
            books.scored_at = now
            return books.score
        passed = int(now) - int(books.scored_at)
        books.score = max(0, books.score + added - self.time * passed)
        books.scored_at = now
        return books.score


class Books:
    """Every class's processes; the global limit and the spawn control."""

    def __init__(self, max_processes: int, spawn_control: SpawnControl | None = None) -> None:
        self.max_processes = max_processes
        self.spawn_control = spawn_control or SpawnControl()
        self.classes: dict[BackendClass, ClassBooks] = {}
        self.by_pid: dict[int, Backend] = {}

    def books_for(self, cls: BackendClass, limits: FcgidSettings) -> ClassBooks:
        books = self.classes.get(cls)
        if books is None:
            books = self.classes[cls] = ClassBooks(cls, limits)
        return books

    def may_start(self, books: ClassBooks, now: float) -> str:
        """Why no new process may start for ``books`` now; "" when one may."""
        if now < books.backoff_until:
            return f"its processes keep failing to start; next try in {books.backoff_until - now:.0f} s"
        # Ending processes count until they have exited: the limits bound what runs.
        if len(books.backends) >= books.limits.value("max_processes_per_class"):
            return f"FcgidMaxProcessesPerClass {books.limits.value('max_processes_per_class')} reached"
        if len(self.by_pid) >= self.max_processes:
            return f"FcgidMaxProcesses {self.max_processes} reached"
        control = self.spawn_control
        if books.live() and books.scored_at is not None and control.scored(books, now) >= control.up_limit:
            return f"spawn score {books.score} >= FcgidSpawnScoreUpLimit {control.up_limit}"
        return ""

    def idle_elsewhere(self, books: ClassBooks) -> Backend | None:
        """The least recently used idle process of another class: at FcgidMaxProcesses it
        ends to make room, rather than a class with none waiting for idle timeouts."""
        idle = [backend for other in self.classes.values() if other is not books
                for backend in other.backends if backend.state is State.IDLE]
        return min(idle, key=lambda backend: backend.since) if idle else None

    def add(self, books: ClassBooks, pid: int, socket: str, now: float) -> Backend:
        backend = Backend(pid, socket, books.cls, started=now, since=now)
        self.spawn_control.scored(books, now, self.spawn_control.spawn)
        books.backends.append(backend)
        self.by_pid[pid] = backend
        return backend

    def start_failed(self, books: ClassBooks, now: float) -> None:
        """A start that failed, or a process that died young: maybe back the class off."""
        books.failures += 1
        if books.failures >= FAILURES_BEFORE_BACKOFF:
            delay = min(MAX_BACKOFF_SECONDS, 2.0 ** (books.failures - FAILURES_BEFORE_BACKOFF))
            books.backoff_until = now + delay

    def take(self, backend: Backend, now: float) -> None:
        backend.state, backend.since = State.BUSY, now

    def released(self, backend: Backend, clean: bool, served: int, now: float, retiring: bool) -> str:
        """The process is back after ``served`` clean requests, the last one ``clean`` or not:
        "" if it stays (idle), else why it ends."""
        backend.requests += served
        if backend.state is State.ENDING:
            return backend.reason
        books = self.classes[backend.cls]
        if clean:
            books.failures = 0
        limit = books.limits.value("max_requests_per_process")
        if not clean:
            reason = "request did not end cleanly"
        elif retiring:
            reason = "graceful restart"
        elif limit and backend.requests >= limit:
            reason = f"FcgidMaxRequestsPerProcess {limit} reached"
        else:
            backend.state, backend.since = State.IDLE, now
            return ""
        self.ending(backend, reason)
        return reason

    def ending(self, backend: Backend, reason: str) -> None:
        backend.state, backend.reason = State.ENDING, reason

    def expired(self, now: float) -> list[Backend]:
        """Processes to end now for their idle, life or busy time (each marked ENDING)."""
        found = []
        for books in self.classes.values():
            limits = books.limits
            keep = books.live()
            for backend in sorted(books.backends, key=lambda b: b.since):
                reason = ""
                if backend.state is State.IDLE:
                    life = limits.value("process_life_time")
                    if life and now - backend.started > life:
                        reason = f"FcgidProcessLifeTime {life} s reached"
                    elif (now - backend.since > limits.value("idle_timeout")
                          and keep > limits.value("min_processes_per_class")):
                        reason = f"idle for FcgidIdleTimeout {limits.value('idle_timeout')} s"
                elif backend.state is State.BUSY and now - backend.since > limits.value("busy_timeout"):
                    reason = f"busy for over FcgidBusyTimeout {limits.value('busy_timeout')} s"
                if reason:
                    keep -= 1
                    self.ending(backend, reason)
                    found.append(backend)
        return found

    def exited(self, pid: int, now: float) -> Backend | None:
        """Forget an exited process; it is returned when it was not asked to end."""
        backend = self.by_pid.pop(pid, None)
        if backend is None:
            return None
        books = self.classes[backend.cls]
        books.backends.remove(backend)
        self.spawn_control.scored(books, now, self.spawn_control.termination)
        unexpected = backend.state is not State.ENDING
        if unexpected and now - backend.started < EARLY_EXIT_SECONDS and backend.requests == 0:
            self.start_failed(books, now)
        # A class's books stay when its last process is gone: a waiting asker holds them, and
        # there are no more classes than the configuration's vhosts, identities and settings.
        return backend if unexpected else None
