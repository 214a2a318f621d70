"""Server processes: start each in a session of its own, measure, stop.

A server's processes are every process of the sessions it was started in
(masters, workers, connection children, PHP and CGI processes) and their
children that started sessions of their own (itkgw's FastCGI processes), so
memory is summed over all of them and stopping can check that none is left
behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
STOP_TIMEOUT = 5.0
SAMPLE_SECONDS = 0.1


class ProcessStat(NamedTuple):
    pid: int
    ppid: int
    session: int
    rss_bytes: int


def process_stats() -> Iterator[ProcessStat]:
    """Session and resident size of every live process, from /proc/PID/stat."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat_file:
                stat = stat_file.read()
        except (FileNotFoundError, ProcessLookupError):
            continue  # it ended while we looked
        # After "(comm)": state ppid pgrp session tty_nr tpgid flags minflt
        # cminflt majflt cmajflt utime stime cutime cstime priority nice
        # num_threads itrealvalue starttime vsize rss ...
        fields = stat.rsplit(b")", 1)[1].split()
        if fields[0] == b"Z":
            continue
        yield ProcessStat(int(entry.name), int(fields[1]), int(fields[3]), int(fields[21]) * PAGE_SIZE)


def server_processes(sessions: Iterable[int]) -> list[ProcessStat]:
    """The processes of ``sessions``, and their children in sessions of their own."""
    wanted = set(sessions)
    stats = list(process_stats())
    inside = {proc.pid for proc in stats if proc.session in wanted}
    return [proc for proc in stats if proc.session in wanted or proc.ppid in inside]


def proportional_bytes(pid: int) -> int:
    """A process's proportional set size (PSS): its resident pages, each shared page divided
    among the processes sharing it, so that a sum over processes counts every page once.
    Summed RSS counts a page forked processes share once per process; PSS is what they
    cost together. 0 for a process that ended meanwhile."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as rollup:
            for line in rollup:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def sessions_rss(sessions: Iterable[int]) -> int:
    """Bytes resident in all processes of ``sessions`` together."""
    return sum(proc.rss_bytes for proc in server_processes(sessions))


def session_pids(sessions: Iterable[int]) -> list[int]:
    return [proc.pid for proc in server_processes(sessions)]


class PeakRss:
    """Samples the summed RSS of some sessions every 100 ms in a thread; keeps the peak."""

    def __init__(self, sessions: Sequence[int], interval: float = SAMPLE_SECONDS) -> None:
        self.sessions = tuple(sessions)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            self.peak = max(self.peak, sessions_rss(self.sessions))
            if self._stop.wait(self.interval):
                return


class Launched:
    """One server process started in its own session, with its output in files."""

    def __init__(self, name: str, argv: Sequence[str], workdir: Path, *,
                 env: Mapping[str, str] | None = None, user: int | None = None,
                 group: int | None = None, umask: int = -1) -> None:
        self.name = name
        self.stdout_path = workdir / f"{name}.stdout"
        self.stderr_path = workdir / f"{name}.stderr"
        with open(self.stdout_path, "wb") as stdout, open(self.stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(
                list(argv), stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                env=dict(env) if env is not None else None, cwd=workdir,
                user=user, group=group, extra_groups=[] if user is not None else None,
                umask=umask, start_new_session=True,
            )

    @property
    def session(self) -> int:
        return self.process.pid

    def check_running(self) -> None:
        """Raise with the server's stderr if it has exited."""
        code = self.process.poll()
        if code is not None:
            raise RuntimeError(f"{self.name} exited with status {code}:\n{self.stderr_tail()}")

    def stderr_tail(self, lines: int = 20) -> str:
        text = self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> list[int]:
        """SIGTERM the session's group, SIGKILL what is left after 5 s.

        Returns the pids that needed SIGKILL (a clean stop returns none).
        """
        if self.process.poll() is None:
            _signal_group(self.session, signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                _signal_group(self.session, signal.SIGKILL)
                self.process.wait()
        return kill_leftovers([self.session], time.monotonic() + STOP_TIMEOUT)


def kill_leftovers(sessions: Sequence[int], deadline: float) -> list[int]:
    """Wait until the sessions are empty or ``deadline`` passes; SIGKILL the rest."""
    while True:
        left = session_pids(sessions)
        if not left or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue  # it ended by itself meanwhile
    return left


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return  # the whole group is gone already
