"""WSGI apps served by flup's FastCGI server: an independent peer for the FastCGI client's tests.

    python3 -m tests.fcgi_apps SOCKET_PATH
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from flup.server.fcgi import WSGIServer

StartResponse = Callable[..., Any]


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterator[bytes]:
    """/echo: sha256 and length of the body; /stream: two pieces a second apart;
    /die: half a response, then the process ends; /env: a few variables."""
    path = environ.get("PATH_INFO", "")
    if path == "/echo":
        digest, size = hashlib.sha256(), 0
        while chunk := environ["wsgi.input"].read(65536):
            digest.update(chunk)
            size += len(chunk)
        environ["wsgi.errors"].write("echo: read the body\n")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter([f"{digest.hexdigest()} {size}".encode()])
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return _stream()
    if path == "/die":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return _die()
    if path == "/big":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return iter([b"x" * (1 << 20)] * 50)
    start_response("200 OK", [("Content-Type", "text/plain")])
    names = ("REQUEST_METHOD", "SCRIPT_NAME", "QUERY_STRING", "HTTP_X_TEST")
    return iter(["\n".join(f"{name}={environ.get(name, '')}" for name in names).encode()])


def _stream() -> Iterator[bytes]:
    yield b"first\n"
    time.sleep(1.0)
    yield b"second\n"


def _die() -> Iterator[bytes]:
    yield b"half"
    time.sleep(0.2)
    os._exit(1)


if __name__ == "__main__":
    WSGIServer(app, bindAddress=sys.argv[1], multithreaded=False, multiplexed=False).run()
