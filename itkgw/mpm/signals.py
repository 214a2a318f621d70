"""Signals as data: handlers only wake the loop, the loop looks up what they mean.

Master and worker each own a ``SignalQueue``: the signal handler is a no-op
and Python writes the signal number to a wakeup pipe, which the main loop
polls next to its sockets; ``dispatch()`` then calls the action from the
owner's ``{signal: method}`` table (as gunicorn's arbiter does, greppable).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterable, Mapping


class SignalQueue:
    """A wakeup pipe and a table of actions, installed in this process."""

    def __init__(self, actions: Mapping[signal.Signals, Callable[[], None]],
                 wake_only: tuple[signal.Signals, ...] = ()) -> None:
        self.actions = actions
        self.read_fd, self.write_fd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(self.write_fd, warn_on_full_buffer=False)
        for signum in (*actions, *wake_only):
            signal.signal(signum, _wake)

    def fileno(self) -> int:
        return self.read_fd

    def dispatch(self) -> None:
        """Run the action of every signal that arrived since the last call."""
        try:
            data = os.read(self.read_fd, 256)
        except BlockingIOError:
            return
        for signum in data:
            action = self.actions.get(signal.Signals(signum))
            if action is not None:
                action()

    def close(self) -> None:
        """Forget the queue in a forked child that must not see its parent's signals."""
        signal.set_wakeup_fd(-1)
        os.close(self.read_fd)
        os.close(self.write_fd)


def exited(pids: Iterable[int]) -> list[tuple[int, int]]:
    """(pid, wait status) of those of ``pids`` that have exited, collected without
    blocking: a process reaps only its own children, never with waitpid(-1)."""
    done = []
    for pid in pids:
        try:
            reaped, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            reaped, status = pid, 0  # collected already
        if reaped:
            done.append((pid, status))
    return done


#: How often a stop looks for the processes it signalled (they end within milliseconds).
STOP_POLL_SECONDS = 0.005


def wait_for_exits(collect: Callable[[], None], done: Callable[[], bool], seconds: float) -> None:
    """``collect`` (reap what has exited) until ``done`` or ``seconds`` have passed, looking
    at once and then every few milliseconds, so a stop takes as long as its processes do."""
    deadline = time.monotonic() + seconds
    while True:
        collect()
        if done() or time.monotonic() >= deadline:
            return
        time.sleep(STOP_POLL_SECONDS)


def _wake(signum: int, frame: object) -> None:
    """Only wakes the loop through the wakeup pipe."""
