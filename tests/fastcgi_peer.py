"""A FastCGI application server of another make than itkgw's client: flup's, serving a
WSGI app on a Unix socket only a given user may reach (root only)."""

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
