"""A client connection passed between processes: its descriptor and the bytes read from it.

The pool model moves a connection from the front that read its first request
head to the pool manager, from the manager to a worker of the identity's pool,
and from that worker back to the manager when a later request on the
connection belongs to another identity. One message carries one connection:
the descriptor as SCM_RIGHTS, then a line of JSON (the identity it needs and
the NiceValue to run at), then the client's bytes not yet served, which the
receiver parses again. The sockets are SOCK_SEQPACKET, so a message arrives
whole or not at all, and a pool's socket can be read by all its workers at
once, each message reaching one of them.
"""

from __future__ import annotations

import array
import json
import mmap
import socket
from dataclasses import dataclass
from typing import Any

from itkgw.config.model import Identity

#: Bytes a message may hold: a request head at the largest limits, and what was read after it.
MAX_MESSAGE = 4 << 20
#: Socket buffers big enough for one such message (set where the process may: root's FORCE).
BUFFER_BYTES = 2 * MAX_MESSAGE


@dataclass(init=False)
class Handoff:
    """One connection on its way to the pool of ``identity`` (its ``__init__`` written out:
    a dataclass's runs as Python, and a handoff is made twice per connection)."""

    identity: Identity
    #: NiceValue of the request's vhost (None: the pool's processes keep the default).
    nice: int | None
    #: The connection's descriptor (owned by whoever holds the Handoff).
    fd: int
    #: Bytes read from the client and not served: the request head first.
    data: bytes
    #: A keep-alive connection between two requests, handed on by a pool worker that was
    #: busy: its next request is not its first, and may be another identity's.
    later: bool

    def __init__(self, identity: Identity, nice: int | None, fd: int, data: bytes,
                 later: bool = False) -> None:
        self.identity = identity
        self.nice = nice
        self.fd = fd
        self.data = data
        self.later = later

    @property
    def pool_key(self) -> tuple[int, int, str, str, int | None]:
        identity = self.identity
        return identity.uid, identity.gid, identity.user, identity.group, self.nice


class HandoffError(Exception):
    """A message that is not a connection: the sender is broken, or not ours."""


def pair() -> tuple[socket.socket, socket.socket]:
    """A connected SOCK_SEQPACKET pair, close-on-exec."""
    one, two = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
    for end in (one, two):
        enlarge_buffers(end)
    return one, two


def enlarge_buffers(sock: socket.socket) -> None:
    """Room for one whole message: root forces the size, anyone else gets what the system allows."""
    for force, plain in ((getattr(socket, "SO_SNDBUFFORCE", 32), socket.SO_SNDBUF),
                         (getattr(socket, "SO_RCVBUFFORCE", 33), socket.SO_RCVBUF)):
        try:
            sock.setsockopt(socket.SOL_SOCKET, force, BUFFER_BYTES)
        except PermissionError:
            sock.setsockopt(socket.SOL_SOCKET, plain, BUFFER_BYTES)


def send(sock: socket.socket, handoff: Handoff) -> None:
    """Send ``handoff`` (the caller still owns its descriptor and closes it after)."""
    meta = _description(handoff.identity, handoff.nice, handoff.later)
    if len(meta) + len(handoff.data) > MAX_MESSAGE:
        raise HandoffError(f"{len(handoff.data)} bytes read from the client: more than a message holds")
    fds = array.array("i", [handoff.fd])
    sock.sendmsg([meta, handoff.data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])


#: Description lines by what they describe, and back: a process passes connections for a
#: few identities over and over, each line is made and read once. Bounded, as a message's
#: sender may be broken and send lines without end.
_LINES: dict[tuple[Identity, int | None, bool], bytes] = {}
_READ: dict[bytes, tuple[Identity, int | None, bool]] = {}
_REMEMBERED_LINES = 1024


def _description(identity: Identity, nice: int | None, later: bool) -> bytes:
    line = _LINES.get((identity, nice, later))
    if line is None:
        meta: dict[str, object] = {"uid": identity.uid, "gid": identity.gid, "user": identity.user,
                                   "group": identity.group, "nice": nice}
        if later:
            meta["later"] = True
        line = json.dumps(meta).encode() + b"\n"
        _remember(_LINES, (identity, nice, later), line)
    return line


def _described(line: bytes) -> tuple[Identity, int | None, bool]:
    """The identity, NiceValue and ``later`` a description line names; HandoffError if it
    is malformed."""
    known = _READ.get(line)
    if known is not None:
        return known
    try:
        meta = json.loads(line)
        identity = Identity(str(meta["user"]), str(meta["group"]), int(meta["uid"]), int(meta["gid"]))
        nice = meta["nice"]
        later = meta.get("later", False)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise HandoffError(f"a malformed description line: {exc}") from None
    if nice is not None and not isinstance(nice, int):
        raise HandoffError(f"a NiceValue that is not a number: {nice!r}")
    if not isinstance(later, bool):
        raise HandoffError(f"a 'later' that is not true or false: {later!r}")
    _remember(_READ, line, (identity, nice, later))
    return identity, nice, later


def _remember(memo: dict[Any, Any], key: object, value: object) -> None:
    if len(memo) >= _REMEMBERED_LINES:
        memo.clear()
    memo[key] = value


#: This process's receive buffer, made on first use: a message is read into it, not into a
#: new buffer of MAX_MESSAGE bytes each time. An anonymous mapping, so only the pages a
#: message has filled take memory, and a private one: a process forked from this one (a
#: pool worker from the pool manager) gets its own copy, not the same pages to race on.
_buffer: mmap.mmap | None = None
#: A message or its descriptors cut short, as a plain number: socket's flags are enum members,
#: whose arithmetic runs in Python on every message.
_CUT_SHORT = int(socket.MSG_TRUNC) | int(socket.MSG_CTRUNC)


def receive(sock: socket.socket) -> Handoff | None:
    """The next connection on ``sock``; None when its peer has closed. Raises BlockingIOError
    on a non-blocking socket with nothing to read, HandoffError for a malformed message
    (whose descriptors are closed)."""
    global _buffer
    if _buffer is None:
        _buffer = mmap.mmap(-1, MAX_MESSAGE, flags=mmap.MAP_PRIVATE)
    fds = array.array("i")
    size, ancillary, flags, _ = sock.recvmsg_into([_buffer], socket.CMSG_LEN(4 * fds.itemsize))
    data = bytes(memoryview(_buffer)[:size])
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
    if not data and not fds:
        return None
    try:
        if len(fds) != 1 or flags & _CUT_SHORT:
            raise HandoffError(f"a message with {len(fds)} descriptors (flags {flags:#x})")
        line, newline, rest = data.partition(b"\n")
        if not newline:
            raise HandoffError("a message without its description line")
        identity, nice, later = _described(line)
    except HandoffError:
        for fd in fds:
            close_descriptor(fd)
        raise
    return Handoff(identity, nice, fds[0], rest, later)


def close_descriptor(fd: int) -> None:
    """Close ``fd``, a connection's descriptor that may be closed already."""
    try:
        socket.close(fd)
    except OSError:
        pass  # Already closed: nothing to release.
