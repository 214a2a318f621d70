"""A FastCGI process's start, in the child the backend manager forked for it.

It becomes the class's identity (its NiceValue first), dies with the
manager, listens on its socket as fd 0 (FastCGI's rule), keeps stderr as the
error log and nothing else open, and execs the class's command. A PHP class
gets its ini file (the settings, admin values locked) and its own session
and upload directories, written as the identity in its socket directory.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket

import prctl

from itkgw.config.model import ServerConfig
from itkgw.handlers.cgi import SCRIPT_PATH
from itkgw.handlers.fcgid import BackendClass
from itkgw.handlers.phpcgi import php_ini_text
from itkgw.mpm import privs


def become_backend(cls: BackendClass, config: ServerConfig, path: str, home: str, error_fd: int,
                    report: int, system_only: frozenset[str] = frozenset()) -> None:
    """Become the class's identity, listen on ``path`` as fd 0, exec the command, its
    stderr the error log. Whatever fails is written to ``report``; success closes it
    (close-on-exec)."""
    try:
        os.setsid()
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGHUP, signal.SIGCHLD,
                       signal.SIGPIPE):
            signal.signal(signum, signal.SIG_DFL)
        signal.set_wakeup_fd(-1)
        privs.apply_nice(cls.nice)
        privs.switch_identity(cls.identity, config)
        prctl.set_pdeathsig(signal.SIGKILL)  # after the switch, which clears it
        started_with = os.umask(0o077)  # the socket and the class's directories: the identity's alone
        env = {"PATH": SCRIPT_PATH, **dict(cls.env)}  # FcgidInitialEnv may set another
        if cls.is_php:
            env["PHP_INI_SCAN_DIR"] = ":" + _php_ini_dir(cls, home, system_only)
            env.setdefault("PHP_FCGI_CHILDREN", "0")
            env.setdefault("PHP_FCGI_MAX_REQUESTS", "0")
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(64)
        os.umask(started_with)  # the program's files get the mode httpd's children would give them
        os.dup2(listener.fileno(), 0, inheritable=True)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(error_fd, 2)
        os.closerange(3, report)
        os.closerange(report + 1, 65536)
        os.chdir(os.path.dirname(cls.command[0]) or "/")
        os.execve(cls.command[0], list(cls.command), env)
    except BaseException as exc:  # noqa: BLE001 - reported to the manager, the child exits
        os.write(report, f"{type(exc).__name__}: {exc}".encode()[:2000])


def _php_ini_dir(cls: BackendClass, home: str, system_only: frozenset[str]) -> str:
    """The class's ini directory: its settings (less php_value's of ``system_only`` ones), and
    its own sessions and uploads."""
    digest = hashlib.sha256(repr(cls).encode()).hexdigest()[:16]
    for name in ("sessions", "uploads", f"ini-{digest}"):
        os.makedirs(os.path.join(home, name), mode=0o700, exist_ok=True)
    defaults = {"upload_tmp_dir": os.path.join(home, "uploads"),
                "session.save_path": os.path.join(home, "sessions"),
                "session.gc_probability": "1"}  # Debian leaves expiry to a cron job over its own dir
    text = php_ini_text({setting.name: setting for setting in cls.php}, defaults, cls.lock_top, system_only)
    ini = os.path.join(home, f"ini-{digest}", "itkgw.ini")
    with open(ini + ".new", "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(ini + ".new", ini)
    return os.path.dirname(ini)
