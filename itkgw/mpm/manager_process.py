"""What the root managers (the FastCGI backend manager, the pool manager) share: how they
confine themselves, how they take connections from processes whose ids they check, and
how they publish their table of processes for ``itkgw backends`` and ``itkgw -S``."""

from __future__ import annotations

import logging
import os
import socket
import struct
from collections.abc import Iterable, Iterator
from typing import Any

from itkgw.mpm import privs, sandbox

log = logging.getLogger("itkgw.mpm_itk")


def confine(setid_filter: Any, capabilities: Iterable[int]) -> None:
    """Keep only ``capabilities``, under the set*id filter: a process the manager starts can
    become no one outside LimitUIDRange/LimitGIDRange, and never root."""
    if setid_filter is not None:
        sandbox.load(setid_filter)
    mask = 0
    for cap in capabilities:
        mask |= 1 << cap
    privs.REAL_OS.limit_bounding_set(mask)
    privs.REAL_OS.set_capabilities(mask)


def listening_socket(path: str, kind: int, mode: int, group: int = -1) -> socket.socket:
    """A non-blocking Unix socket of ``kind`` listening at ``path`` (in a directory anyone may
    pass through but not list), its file of ``mode`` and, unless -1, ``group``."""
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o711, exist_ok=True)
    os.chmod(directory, 0o711)
    remove(path)
    sock = socket.socket(socket.AF_UNIX, kind | socket.SOCK_CLOEXEC)
    sock.bind(path)
    os.chown(path, -1, group)
    os.chmod(path, mode)
    sock.listen(511)
    sock.setblocking(False)
    return sock


def accepted(listener: socket.socket, manager: str) -> Iterator[tuple[socket.socket, int, int, int]]:
    """Each connection waiting on the non-blocking ``listener``, with its peer's pid, uid and
    gid (SO_PEERCRED: what the kernel says, not what the peer claims)."""
    while True:
        try:
            sock, _ = listener.accept()
        except BlockingIOError:
            return
        except OSError as exc:
            log.error("%s: accept failed: %s", manager, exc)
            return
        pid, uid, gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
        yield sock, pid, uid, gid


def write_table(path: str, text: str, manager: str) -> bool:
    """Replace the file at ``path`` with ``text`` at once, readable by root only; False
    (and a warning) when it cannot be written."""
    temporary = f"{path}.{os.getpid()}"
    try:
        with open(temporary, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except OSError as exc:
        log.warning("%s: cannot write %s: %s", manager, path, exc)
        return False
    return True


def remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass  # Never written, or removed already.
