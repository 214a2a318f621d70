"""mod_fcgid: a request run on a FastCGI process the backend manager keeps for its class
(fcgid-script files, and PHP under PHPHandler fcgid, the default).

The connection child, already the request's identity, asks the manager for
a process by the request's coordinates only (vhost, URL path, file): the
manager works out the class itself from the configuration (``backend_class``)
and checks, by the asking socket's credentials, that the asker runs as the
class's identity. It answers with the socket of an idle process, which only
that identity can reach, and holds the process for this request until the
child says it is done (or its connection to the manager ends).

Rules for one request:
    body over FcgidMaxRequestLen               -> 500 (before any process is asked for, if known)
    manager answers with a status               -> that status (503: none free in time)
    process refuses the connection              -> reported dead, one more process asked for
    request ends cleanly                        -> process released for the next request
    no output for FcgidIOTimeout, or garbage,
    or the process gone mid-request             -> 500 with mod_fcgid's lines, as Apache answers
    anything else (client gone...)              -> process released as broken: the manager ends it
"""

from __future__ import annotations

import json
import logging
import os
import socket
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from itkgw.config.model import Identity, PHPSetting, ServerConfig, VHost
from itkgw.config.modules.fcgid import FcgidSettings
from itkgw.config.modules.php import PHPRunSettings
from itkgw.errors import HTTPError
from itkgw.handlers.fcgi_client import Address, BackendError, BackendTimeout, BackendUnavailable, connect
from itkgw.handlers.phpcgi import lock_section
from itkgw.handlers.proxy_fcgi import Response, stderr_to
from itkgw.request.dirconf import Memo, map_path, merge
from itkgw.request.routing import user_dir_view

if TYPE_CHECKING:
    from itkgw.http.connection import HTTPConnection, Request

log = logging.getLogger("itkgw.fcgid")

#: How much of a spooled body is read at a time.
_SPOOL_READ = 65536
#: Longest line the manager or a child sends.
MAX_MESSAGE = 8192
_FCGID_STDERR = stderr_to(log, "mod_fcgid: stderr: %s", logging.WARNING)
_PHP_STDERR = stderr_to(logging.getLogger("itkgw.php"), "%s", logging.WARNING)


@dataclass(frozen=True)
class BackendClass:
    """What makes two processes interchangeable: mod_fcgid's class, plus the PHP settings."""

    vhost: str
    identity: Identity
    command: tuple[str, ...]
    #: php_value / php_admin_value of the directory, written into the processes' ini file.
    php: tuple[PHPSetting, ...]
    #: FcgidInitialEnv: the processes' environment when they start.
    env: tuple[tuple[str, str], ...]
    #: The top directory of the files served, under which PHP admin values are locked.
    lock_top: str = ""
    #: NiceValue of the vhost, which its processes run with.
    nice: int | None = None

    @property
    def is_php(self) -> bool:
        """A php-cgi command, which reads the class's ini file."""
        return "php" in self.command[0].rsplit("/", 1)[-1]

    def describe(self) -> str:
        return f"{' '.join(self.command)} for {self.vhost} as {self.identity}"


class ClassRefused(Exception):
    """The coordinates do not name a FastCGI class the configuration has."""


def backend_class(config: ServerConfig, vhost: VHost, url_path: str, filename: str,
                  asker: Identity) -> BackendClass:
    """The class serving ``filename`` requested as ``url_path`` in ``vhost`` (the configured
    one, and the path before any UserDir view), from the configuration alone;
    ClassRefused when no request could be served so. The identity is the
    configured one; ``asker``'s own where an expression (AssignUserIDExpr)
    picks it per request.

    The file must be where the URL path leads (itself, a directory index in
    it, or a script with the rest as PATH_INFO): a URL of one section with
    the file of another would pick settings no request gets.
    """
    try:
        view = user_dir_view(vhost, url_path)  # /~user/..., as routing took it
    except HTTPError:
        raise ClassRefused(f"{url_path} names no user's directory") from None
    if view is not None:
        url_path, vhost = view
    mapped = map_path(vhost, url_path).fs_path.rstrip("/")
    if not (filename == mapped or mapped.startswith(filename + "/")
            or (filename.startswith(mapped + "/") and "/" not in filename[len(mapped) + 1:])):
        raise ClassRefused(f"{filename} is not where {url_path} leads")
    dirconf = merge(config, vhost, url_path, fs_path=filename)
    settings = dirconf.modules.get(FcgidSettings)
    kind = dirconf.handler_for(filename)
    if kind == "php" and vhost.modules.get(PHPRunSettings).persistent:
        command: tuple[str, ...] = (config.php_cgi,)
    elif kind == "fcgid":
        if not dirconf.exec_cgi and not dirconf.script_alias:
            raise ClassRefused(f"Options ExecCGI is off for {filename}")
        wrapper = settings.wrapper_for(filename)
        command = wrapper.command if wrapper else (filename,)
    else:
        raise ClassRefused(f"{filename} is neither an fcgid-script nor PHP kept in processes")
    by_expression = dirconf.user_expr is not None or dirconf.group_expr is not None
    return BackendClass(vhost.server_name, asker if by_expression else dirconf.identity, command,
                        tuple(dirconf.php.values()), settings.initial_env or (), lock_section(filename),
                        dirconf.nice_value)


_numbers = Memo()


def vhost_index(config: ServerConfig, vhost: VHost) -> int:
    """Where ``vhost`` is in the configuration both processes hold (a lookup, not a scan
    of hundreds of vhosts on every PHP request)."""
    numbers = _numbers.get((config,), (), lambda: {id(each): n for n, each in enumerate(config.vhosts)})
    return numbers[id(vhost)]


@dataclass(frozen=True)
class RequestLimits:
    """How long a request waits for what, and how large its body may be."""

    connect: float
    io: float
    #: For a free process (FcgidBusyTimeout), plus the time to start one.
    wait: float
    #: FcgidMaxRequestLen; None: only LimitRequestBody applies.
    max_body: int | None
    #: Where the process's stderr goes: mod_fcgid's "stderr:" lines, or PHP's own as mod_php logs them.
    stderr: Callable[[bytes], None] = _FCGID_STDERR

    @classmethod
    def of(cls, settings: FcgidSettings, timeout: float, php_default: bool = False) -> RequestLimits:
        """mod_fcgid's limits; for PHP under PHPHandler fcgid, mod_php's where unset: the
        server's Timeout for output, no body limit beyond LimitRequestBody."""
        connect = float(settings.value("connect_timeout"))
        wait = settings.value("busy_timeout") + connect
        if php_default:
            io = float(settings.io_timeout or timeout)
            return cls(connect, io, wait, settings.max_request_len, _PHP_STDERR)
        return cls(connect, float(settings.value("io_timeout")), wait, settings.value("max_request_len"))


def _too_long(length: int, limit: int) -> HTTPError:
    """mod_fcgid's 500 for a long body, with its warning."""
    log.warning("mod_fcgid: HTTP request length %d (so far) exceeds MaxRequestLen (%d)", length, limit)
    return HTTPError(500)


def serve(conn: HTTPConnection, request: Request, manager: str, coordinates: Mapping[str, object],
          limits: RequestLimits, env: dict[str, str], script: str) -> None:
    """Run the current request on a process of its class, streaming both ways."""
    if limits.max_body is not None and request.content_length is not None \
            and request.content_length > limits.max_body:
        raise _too_long(request.content_length, limits.max_body)
    body = conn.body_chunks()
    if limits.max_body is not None:
        body = _bounded(body, limits.max_body)
    with _sized(request, body, env) as body:
        _run(conn, manager, coordinates, limits, env, script, body)


@contextmanager
def _sized(request: Request, body: Iterator[bytes], env: dict[str, str]) -> Iterator[Iterator[bytes]]:
    """The body with its CONTENT_LENGTH in ``env``, as mod_fcgid hands every request: a
    request without one gets 0, a chunked one is read first into a file of its own (its
    identity's, unlinked at once; mod_fcgid holds it so too) to learn its length."""
    if request.content_length is not None:
        yield body
        return
    if not request.chunked:
        env["CONTENT_LENGTH"] = "0"
        yield body
        return
    with tempfile.TemporaryFile(prefix="itkgw-body-") as spool:
        size = 0
        for chunk in body:
            spool.write(chunk)
            size += len(chunk)
        spool.seek(0)
        env["CONTENT_LENGTH"] = str(size)
        yield iter(lambda: spool.read(_SPOOL_READ), b"")


def _run(conn: HTTPConnection, manager: str, coordinates: Mapping[str, object], limits: RequestLimits,
         env: dict[str, str], script: str, body: Iterator[bytes]) -> None:
    """The request on a process of its class; a process that refuses the connection is
    reported dead and one more is asked for."""
    for attempt in range(2):
        lease = Lease(manager, coordinates, limits.wait)
        try:
            connection = connect(Address(path=lease.socket), limits.connect)
        except BackendUnavailable:
            lease.release("dead")
            if attempt:
                raise
            continue
        outcome = "broken"
        response = Response(conn, script, f"{lease.socket} (pid {lease.pid})")
        try:
            connection.request(env, body, response.take, limits.stderr, limits.io, keep_conn=False)
            outcome = "ok"  # the exchange ended cleanly, whatever the script wrote
            if not response.started:
                _no_head(script)
                raise HTTPError(500)
            response.finish()
        except (BackendTimeout, BackendError) as failed:
            if isinstance(failed, BackendTimeout):
                log.warning("mod_fcgid: read data timeout in %d seconds", limits.io)
            else:
                log.warning("mod_fcgid: error reading data from FastCGI server (%s)", failed.log)
            if not response.started:
                _no_head(script)
            raise HTTPError(500) from None  # after the head, the client's response is cut short
        finally:
            connection.close()
            lease.release(outcome)
        return


def _no_head(script: str) -> None:
    logging.getLogger("itkgw.core").error("End of script output before headers: %s", os.path.basename(script))


def _bounded(chunks: Iterator[bytes], limit: int) -> Iterator[bytes]:
    """The body, ending the request with mod_fcgid's 500 once it passes ``limit`` bytes."""
    received = 0
    for chunk in chunks:
        received += len(chunk)
        if received > limit:
            raise _too_long(received, limit)
        yield chunk


class Lease:
    """One process held for one request, through this process's connection to the manager."""

    def __init__(self, manager: str, coordinates: Mapping[str, object], timeout: float) -> None:
        question = json.dumps(coordinates).encode() + b"\n"
        for attempt in range(2):
            reused = bool(_manager)
            try:
                sock, reused = _manager_socket(manager, timeout)
                sock.sendall(question)
                answer = _read_line(sock)
                break
            except (OSError, ValueError) as exc:
                _drop_manager_socket()
                if reused and not attempt:
                    continue  # the manager closed a connection left idle: ask on a new one
                raise HTTPError(503, f"mod_fcgid: no answer from the backend manager {manager}: {exc}") \
                    from None
        if "socket" not in answer:
            _drop_manager_socket()  # the manager ends the connection after a refusal
            raise HTTPError(int(answer.get("status", 503)), str(answer.get("error", "no FastCGI process")))
        self.sock = sock
        self.socket = str(answer["socket"])
        self.pid = int(answer["pid"])

    def release(self, outcome: str) -> None:
        """Tell the manager how the request ended (ok, broken, dead): the process goes back."""
        try:
            self.sock.sendall(json.dumps({"done": outcome}).encode() + b"\n")
        except OSError:
            _drop_manager_socket()  # the manager sees the closed connection, and ends the process


#: This process's connection to the manager: (manager path, socket). A connection child
#: runs as one identity for good, so the credentials the manager read at connect stay true.
_manager: list[tuple[str, socket.socket]] = []


def _manager_socket(manager: str, timeout: float) -> tuple[socket.socket, bool]:
    """The open connection to ``manager``, or a new one; whether it was open already."""
    if _manager and _manager[0][0] == manager:
        _manager[0][1].settimeout(timeout)
        return _manager[0][1], True
    _drop_manager_socket()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    sock.settimeout(timeout)
    try:
        sock.connect(manager)
    except OSError:
        sock.close()
        raise
    _manager.append((manager, sock))
    return sock, False


def _drop_manager_socket() -> None:
    while _manager:
        _manager.pop()[1].close()


def _read_line(sock: socket.socket) -> dict[str, Any]:
    """One JSON object on one line from ``sock``."""
    data = b""
    while not data.endswith(b"\n"):
        piece = sock.recv(MAX_MESSAGE)
        if not piece:
            raise ValueError("connection closed")
        data += piece
        if len(data) > MAX_MESSAGE:
            raise ValueError("answer too long")
    answer = json.loads(data)
    if not isinstance(answer, dict):
        raise ValueError("not an object")
    return answer
