"""Becoming a daemon, and the pid file through which ``-k`` finds it, as httpd does."""

from __future__ import annotations

import os

from itkgw.config.model import ServerConfig


def daemonize() -> None:
    """Detach as httpd does: fork, new session, fork, stdio on /dev/null."""
    if os.fork():
        os._exit(0)
    os.setsid()
    if os.fork():
        os._exit(0)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def write_pid_file(path: str) -> None:
    """Write atomically: -k must never read a half-written pid."""
    temporary = f"{path}.{os.getpid()}"
    with open(temporary, "w") as handle:
        handle.write(f"{os.getpid()}\n")
    os.replace(temporary, path)


def read_pid(config: ServerConfig) -> int | None:
    """The pid in the pid file, if that process is alive."""
    try:
        with open(config.pid_file) as handle:
            pid = int(handle.read().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid
