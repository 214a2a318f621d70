"""A php-fpm pool started for a test, running as a given user (root only)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

PHP_FPM = "/usr/sbin/php-fpm8.2"


@contextmanager
def private_socket_dir(user: pwd.struct_passwd, prefix: str) -> Iterator[Path]:
    """A fresh directory (removed afterwards) whose ``run/`` only ``user`` may enter: a
    socket there is out of every other identity's reach."""
    base = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        base.chmod(0o755)
        run = base / "run"
        run.mkdir(mode=0o700)
        os.chown(run, user.pw_uid, user.pw_gid)
        yield base
    finally:
        shutil.rmtree(base)


@contextmanager
def serving(argv: list[str], socket_path: Path, failure: Callable[[], str]) -> Iterator[Path]:
    """``argv`` started, yielding its socket once it listens; ended afterwards."""
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not socket_path.exists():
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(failure())
            time.sleep(0.02)
        yield socket_path
    finally:
        server.terminate()
        server.wait(timeout=10)


@contextmanager
def fpm_pool(user: pwd.struct_passwd, max_requests: int = 0) -> Iterator[Path]:
    """A static pool of one php-fpm worker running as ``user``; yields its socket, which lies
    in a directory only ``user`` may enter. ``max_requests``: pm.max_requests (0: none)."""
    with private_socket_dir(user, "itkgw-fpm-") as base:
        socket_path = base / "run" / "php.sock"
        config = base / "php-fpm.conf"
        config.write_text(f"""[global]
pid = {base}/php-fpm.pid
error_log = {base}/php-fpm.log
daemonize = no

[pool]
user = {user.pw_name}
group = {user.pw_name}
listen = {socket_path}
listen.owner = {user.pw_name}
listen.group = {user.pw_name}
listen.mode = 0600
pm = static
pm.max_children = 1
pm.max_requests = {max_requests}
""")
        with serving([PHP_FPM, "--nodaemonize", "--fpm-config", str(config)], socket_path,
                     lambda: f"php-fpm did not start: {_read(base / 'php-fpm.log')}"):
            yield socket_path


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""
