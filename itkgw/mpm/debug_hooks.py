"""Fault injection for the pool model's tests, off unless ITKGW_TEST_HOOKS=1 is in the
environment itkgw starts with (the master logs a warning when it is).

Two request headers, seen by a front just before it passes a connection on:

* ``X-Itkgw-Test-Setid: 1``: the front tries setuid(0), setresuid(0, 0, 0),
  setgid(0) and setgroups([0]) itself and answers with each call's result
  (a front must get EPERM from every one and go on serving).
* ``X-Itkgw-Test-Route: USER``: the connection goes to the pool of USER
  instead of the one the configuration names (the pool must refuse it).
"""

from __future__ import annotations

import errno
import logging
import os
import socket

from itkgw.config.identity import resolve_identity
from itkgw.mpm.handoff import Handoff

ENABLED = os.environ.get("ITKGW_TEST_HOOKS") == "1"

log = logging.getLogger("itkgw.pool")

_SETID_CALLS = (
    ("setuid(0)", lambda: os.setuid(0)),
    ("setresuid(0, 0, 0)", lambda: os.setresuid(0, 0, 0)),
    ("setgid(0)", lambda: os.setgid(0)),
    ("setgroups([0])", lambda: os.setgroups([0])),
)


def intercept(handoff: Handoff) -> bool:
    """Apply the hooks the request asks for; True when the hook answered the request itself."""
    headers = _headers(handoff.data)
    if "x-itkgw-test-setid" in headers:
        _answer(handoff.fd, "".join(f"{name}: {_attempt(call)}\n" for name, call in _SETID_CALLS))
        return True
    user = headers.get("x-itkgw-test-route")
    if user:
        handoff.identity = resolve_identity(user, user)
        log.warning("test hook: the connection goes to the pool of %s", user)
    return False


def _attempt(call: object) -> str:
    try:
        call()  # type: ignore[operator]
    except OSError as exc:
        return errno.errorcode.get(exc.errno or 0, str(exc.errno))
    return "succeeded"


def _headers(data: bytes) -> dict[str, str]:
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    fields = {}
    for line in head.split("\r\n")[1:]:
        name, colon, value = line.partition(":")
        if colon:
            fields[name.strip().lower()] = value.strip()
    return fields


def _answer(fd: int, text: str) -> None:
    body = text.encode()
    head = (f"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n")
    sock = socket.socket(fileno=os.dup(fd))
    try:
        sock.sendall(head.encode() + body)
        sock.shutdown(socket.SHUT_WR)
    finally:
        sock.close()
