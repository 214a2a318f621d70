"""A FastCGI application server of another make than itkgw's client: flup's, serving a
WSGI app on a Unix socket only a given user may reach (root only)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
    directory only ``user`` may enter."""
    base = Path(tempfile.mkdtemp(prefix="itkgw-peer-"))
    base.chmod(0o755)
    run = base / "run"
    run.mkdir(mode=0o700)
    os.chown(run, user.pw_uid, user.pw_gid)
    socket_path = run / "app.sock"
    # The socket is open to all; the directory around it lets only ``user`` reach it.
    server = subprocess.Popen([sys.executable, "-c", _SERVER, str(socket_path)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not socket_path.exists():
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the flup peer did not start")
            time.sleep(0.02)
        yield socket_path
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(base)
