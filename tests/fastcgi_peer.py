"""FastCGI application servers of another make than itkgw's client, on a Unix socket only
a given user may reach (root only): flup's, serving a WSGI app; and a bare responder that
closes each connection a moment after its answer, as a php-fpm child ending after its last
request does."""

from __future__ import annotations

import pwd
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.fpm import private_socket_dir, serving

#: The app answers each request with the CGI variables it was given, one ``NAME=value`` a
#: line; a URL ending in ``/go`` answers 200 with a Location of ``/moved``, as a
#: FastCGI application may.
_SERVER = """
import sys
from flup.server.fcgi import WSGIServer

NAMES = ("SCRIPT_FILENAME", "SCRIPT_NAME", "PATH_INFO", "REQUEST_URI")

def app(environ, start_response):
    if environ.get("REQUEST_URI", "").endswith("/go"):
        start_response("200 OK", [("Location", "/moved"), ("Content-Type", "text/plain")])
        return [b"the app's own body"]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return ["".join(f"{name}={environ.get(name, '(unset)')}\\n" for name in NAMES).encode()]

WSGIServer(app, bindAddress=sys.argv[1], umask=0).run()
"""


@contextmanager
def wsgi_peer(user: pwd.struct_passwd) -> Iterator[Path]:
    """flup serving the environment-echoing app; yields its socket, which lies in a
    directory only ``user`` may enter (the socket itself is open to all)."""
    with private_socket_dir(user, "itkgw-peer-") as base:
        socket_path = base / "run" / "app.sock"
        with serving([sys.executable, "-c", _SERVER, str(socket_path)], socket_path,
                     lambda: "the flup peer did not start"):
            yield socket_path


#: A bare FastCGI responder that ignores FCGI_KEEP_CONN: one request per connection, answered
#: with its name and pid, then the connection closed (``close_after`` seconds later).
_RESPONDER = """
import os, socket, struct, sys, time
{listen}
while True:
    conn, _ = listener.accept()
    while True:
        head = conn.recv(8, socket.MSG_WAITALL)
        if len(head) < 8:
            break
        _, kind, rid, length, padding = struct.unpack(">BBHHBx", head)
        content = conn.recv(length + padding, socket.MSG_WAITALL)[:length] if length + padding else b""
        if kind == 5 and not content:
            break
    body = b"Content-Type: text/plain\\r\\n\\r\\n{name} pid=%d" % os.getpid()
    conn.sendall(struct.pack(">BBHHBx", 1, 6, rid, len(body), 0) + body
                 + struct.pack(">BBHHBx", 1, 6, rid, 0, 0)
                 + struct.pack(">BBHHBx", 1, 3, rid, 8, 0) + bytes(8))
    time.sleep({close_after})
    conn.close()
"""
#: Its listener as mod_fcgid hands one over (descriptor 0), or bound to the path in argv[1].
FROM_STDIN = "listener = socket.socket(fileno=0)"
_BOUND = ("listener = socket.socket(socket.AF_UNIX)\nlistener.bind(sys.argv[1])\n"
          "os.chmod(sys.argv[1], 0o666)\nlistener.listen(8)")


def one_shot_responder(name: str, listen: str = FROM_STDIN, close_after: float = 0.0) -> str:
    """The source of the responder: ``close_after`` > 0 closes a moment after each answer, as
    a php-fpm child ending after its last request does."""
    return _RESPONDER.format(listen=listen, name=name, close_after=close_after)


@contextmanager
def late_closing_peer(user: pwd.struct_passwd) -> Iterator[Path]:
    """The late-closing responder; yields its socket, in a directory only ``user`` may enter."""
    with private_socket_dir(user, "itkgw-late-") as base:
        socket_path = base / "run" / "late.sock"
        source = one_shot_responder("late closer", _BOUND, close_after=0.3)
        with serving([sys.executable, "-c", source, str(socket_path)], socket_path,
                     lambda: "the late-closing peer did not start"):
            yield socket_path
