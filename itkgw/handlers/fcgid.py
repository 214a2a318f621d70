"""mod_fcgid: a request run on a FastCGI process the backend manager keeps for its class
(fcgid-script files, and PHP under PHPHandler fcgid, the default).

The connection child, already the request's identity, asks the manager for
a process by the request's coordinates (vhost, URL path, file, and the
php_value settings its merge gave, which .htaccess files may add to): the
manager works out the class itself from the configuration (``backend_class``)
and checks, by the asking socket's credentials, that the asker runs as the
class's identity. It answers with the socket of an idle process, which only
that identity can reach, and holds the process for this request until the
child says it is done (or its connection to the manager ends).

Rules for one request:
    body over FcgidMaxRequestLen               -> 500 (before any process is asked for, if known)
    manager answers with a status               -> that status (503: none free in time)
    process refuses the connection              -> reported dead, one more process asked for
    request ends cleanly                        -> process kept for the connection's next request
                                                   of the class (_Hold), else released
    client gone (PHP)                           -> the script ends its request as under mod_php
                                                   (ignore_user_abort), then the process is released
    no output for FcgidIOTimeout, or garbage,
    or the process gone mid-request             -> 500 with mod_fcgid's lines, as Apache answers
    anything else (client gone...)              -> process released as broken: the manager ends it
"""

from __future__ import annotations

import json
import logging
import os
import re
import select
import socket
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from itkgw.config.model import Identity, PHPSetting, ServerConfig, VHost
from itkgw.config.modules.fcgid import FcgidSettings
from itkgw.config.modules.php import PHPRunSettings
from itkgw.errors import ERROR, INFO, NOTICE, WARN, HTTPError
from itkgw.handlers import spool
from itkgw.handlers.cgi import CGI_HEAD, PHP_HEAD
from itkgw.handlers.fcgi_client import (
    Address,
    BackendError,
    BackendTimeout,
    BackendUnavailable,
    Connection,
    connect,
)
from itkgw.handlers.phpcgi import lock_section
from itkgw.handlers.proxy_fcgi import Response, stderr_to
from itkgw.http.connection import ClientGone
from itkgw.request.dirconf import Memo, access_file_dirs, map_path, merge
from itkgw.request.routing import user_dir_view

if TYPE_CHECKING:
    from itkgw.http.connection import HTTPConnection, Request

log = logging.getLogger("itkgw.fcgid")

#: Longest line the manager or a child sends.
MAX_MESSAGE = 8192
_FCGID_STDERR = stderr_to(log, "mod_fcgid: stderr: %s", logging.WARNING)


def _php_messages(log: logging.Logger) -> Callable[[bytes], None]:
    """PHP's stderr as mod_php logs it: one error-log line per message, at the level mod_php
    gives its kind (a warning at warn, a notice at notice...), a message's own line breaks
    written as \\n. PHP's own messages begin with "PHP " and end with "on line N" (an
    uncaught exception's stack trace included); other lines are what error_log() wrote,
    which mod_php logs at notice."""

    def write(data: bytes) -> None:
        messages: list[list[str]] = []
        going_on = False  # the last message goes on: PHP's, not ended yet, or error_log()'s
        for line in data.decode("utf-8", "replace").splitlines():
            if line.startswith("PHP ") or not (messages and going_on):
                if not line.strip():
                    continue
                messages.append([line])
            else:
                messages[-1].append(line)
            first = messages[-1][0]
            going_on = not first.startswith("PHP ") or _PHP_MESSAGE_END.search(line) is None
        for lines in messages:
            log.log(php_message_level(lines[0]), "%s", "\\n".join(lines))

    return write


def php_message_level(message: str) -> int:
    """The error-log level mod_php writes a PHP message at (its php_error_cb's syslog levels)."""
    if not message.startswith("PHP "):
        return NOTICE  # error_log()'s own
    kind = message[4:].split(":", 1)[0]
    return _PHP_LEVELS.get(kind, WARN)


#: PHP's message kinds, by the words after "PHP ", and mod_php's level for each.
_PHP_LEVELS = {
    "Fatal error": ERROR, "Parse error": ERROR, "Recoverable fatal error": ERROR,
    "Warning": WARN, "Notice": NOTICE, "Deprecated": INFO, "Strict Standards": INFO,
}
#: The end of PHP's own message: where it happened.
_PHP_MESSAGE_END = re.compile(r" on line [0-9]+$")


_PHP_STDERR = _php_messages(logging.getLogger("itkgw.php"))


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


#: PHP's FastCGI table files a parameter of a three-letter name under a hash that getenv()
#: never finds (it reads a byte past the name), so getenv('FOO') misses what $_SERVER has.
#: SetEnv's such variables go into the class's environment too, where getenv() looks next.
SHORT_NAME = re.compile(r"[A-Za-z0-9_]{3}")


def _short(name: str, value: str) -> bool:
    """A variable getenv() cannot find in PHP's FastCGI table, and one an environment holds."""
    return SHORT_NAME.fullmatch(name) is not None and "\0" not in value


def short_names(set_env: Mapping[str, str], unset: Collection[str]) -> list[list[str]]:
    """SetEnv's variables of three-letter names, as [name, value] pairs (see SHORT_NAME)."""
    return [[name, value] for name, value in set_env.items() if _short(name, value) and name not in unset]


#: The directives by which an .htaccess file chooses a file's handler.
_HANDLER_CHOOSERS = ("AddHandler", "SetHandler", "AddType", "RewriteRule")


def _chosen_for(filename: str, mapped: str) -> bool:
    """Whether MultiViews may have chosen ``filename`` for the path ``mapped``: a file beside
    the path's first missing name, named like it with more extensions (the rest of the path,
    if any, its PATH_INFO)."""
    directory, variant = os.path.split(filename)
    if not mapped.startswith(directory + "/"):
        return False
    name = mapped[len(directory) + 1:].split("/", 1)[0]
    return bool(name) and variant.startswith(name + ".")


def backend_class(config: ServerConfig, vhost: VHost, url_path: str, filename: str,
                  asker: Identity, asked_php: tuple[tuple[str, str], ...] = (),
                  asked_kind: str | None = None, asked_env: tuple[tuple[str, str], ...] = ()) -> BackendClass:
    """The class serving ``filename`` requested as ``url_path`` in ``vhost`` (the configured
    one, and the path before any UserDir view), from the configuration alone;
    ClassRefused when no request could be served so. The identity is the
    configured one; ``asker``'s own where an expression (AssignUserIDExpr)
    picks it per request.

    The file must be where the URL path leads (itself, a directory index in
    it, a script with the rest as PATH_INFO, or a file MultiViews chose for
    it: beside it, named like it with more extensions): a URL of one section
    with the file of another would pick settings no request gets.

    ``asked_php``: the php_value settings the asker's merge gave, .htaccess files
    included, which the configuration alone cannot know. Taken only where an
    AllowOverride on the way lets .htaccess set php_value, and never over a
    php_admin_value. ``asked_kind``: ``php`` or ``fcgid`` as the asker's merge chose it
    (AddHandler, SetHandler or a RewriteRule's H= in an .htaccess file), taken only where
    an AllowOverride on the way lets .htaccess choose handlers (and, for an fcgid-script,
    turn on ExecCGI where the configuration has it off). ``asked_env``: SetEnv's variables of
    three-letter names (short_names), for a PHP class's environment; they reach only the
    asker's own processes.
    """
    try:
        view = user_dir_view(vhost, url_path)  # /~user/..., as routing took it
    except HTTPError:
        raise ClassRefused(f"{url_path} names no user's directory") from None
    if view is not None:
        url_path, vhost = view
    mapped = map_path(vhost, url_path).fs_path.rstrip("/")
    if not (filename == mapped or mapped.startswith(filename + "/")
            or (filename.startswith(mapped + "/") and "/" not in filename[len(mapped) + 1:])
            or _chosen_for(filename, mapped)):
        raise ClassRefused(f"{filename} is not where {url_path} leads")
    dirconf = merge(config, vhost, url_path, fs_path=filename)
    settings = dirconf.modules.get(FcgidSettings)
    kind = dirconf.handler_for(filename)
    if asked_kind is not None and asked_kind != kind:
        if not _granted_on_the_way(config, vhost, filename, *_HANDLER_CHOOSERS):
            raise ClassRefused(f"{filename} is no {asked_kind} by the configuration, and no AllowOverride "
                               "on the way lets an .htaccess choose its handler")
        kind = asked_kind
    if kind == "php" and vhost.modules.get(PHPRunSettings).persistent:
        command: tuple[str, ...] = (config.php_cgi,)
    elif kind == "fcgid":
        if not dirconf.exec_cgi and not dirconf.script_alias and not (
                asked_kind == "fcgid" and _granted_on_the_way(config, vhost, filename, "Options")):
            raise ClassRefused(f"Options ExecCGI is off for {filename}")
        wrapper = settings.wrapper_for(filename)
        command = wrapper.command if wrapper else (filename,)
    else:
        raise ClassRefused(f"{filename} is neither an fcgid-script nor PHP kept in processes")
    by_expression = dirconf.user_expr is not None or dirconf.group_expr is not None
    php = _with_access_file_php(config, vhost, dirconf.php, asked_php, filename)
    env = tuple(settings.initial_env or ())
    if kind == "php":
        env += tuple(pair for pair in asked_env if _short(*pair))
    return BackendClass(vhost.server_name, asker if by_expression else dirconf.identity, command,
                        tuple(php.values()), env, lock_section(filename), dirconf.nice_value)


def _with_access_file_php(config: ServerConfig, vhost: VHost, configured: Mapping[str, PHPSetting],
                          asked: tuple[tuple[str, str], ...], filename: str) -> dict[str, PHPSetting]:
    """The configuration's PHP settings with those of .htaccess files the asker merged."""
    php = dict(configured)
    for name, value in asked:
        current = php.get(name)
        if current is not None and (current.admin or current.value == value):
            continue  # php_admin_value holds, as under mod_php
        if not _granted_on_the_way(config, vhost, filename, "php_value"):
            raise ClassRefused(f"php_value {name} is not the configuration's for {filename}, and no "
                               "AllowOverride on the way lets an .htaccess set it")
        php[name] = PHPSetting(name, value)
    return php


def _granted_on_the_way(config: ServerConfig, vhost: VHost, filename: str, *directives: str) -> bool:
    """Whether an .htaccess file on the way to ``filename`` may hold one of ``directives``."""
    return any(overrides.allows(directive)
               for _, overrides in access_file_dirs(config, vhost, os.path.dirname(filename))
               for directive in directives)


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


@dataclass(frozen=True)
class Call:
    """What the requests of one route ask the manager for, and under which limits."""

    #: The JSON line naming the class (see question()).
    question: bytes
    limits: RequestLimits
    #: FcgidPassHeader: request headers the process also gets under their own names.
    pass_headers: tuple[str, ...] = ()


def serve(conn: HTTPConnection, request: Request, manager: str, call: Call, env: dict[str, str],
          script: str, php: bool = False) -> None:
    """Run the current request on a process of its class, streaming both ways. The body goes
    with its CONTENT_LENGTH in ``env``, as mod_fcgid hands every request: a request without
    one gets 0 (``php``: none, as mod_php), a chunked one is read first into a file of its
    own (its identity's, unlinked at once; mod_fcgid holds it so too) to learn its length."""
    limits = call.limits
    if limits.max_body is not None and request.content_length is not None \
            and request.content_length > limits.max_body:
        raise _too_long(request.content_length, limits.max_body)
    body = conn.body_chunks()
    if limits.max_body is not None:
        body = _bounded(body, limits.max_body)
    if request.chunked:
        with spool.with_length(body, env) as spooled:
            _run(conn, manager, call.question, limits, env, script, spooled, php, bodiless=False)
        return
    if request.content_length is None and not php:
        env["CONTENT_LENGTH"] = "0"
    _run(conn, manager, call.question, limits, env, script, body, php, bodiless=not request.has_body)


def _run(conn: HTTPConnection, manager: str, question: bytes, limits: RequestLimits, env: dict[str, str],
         script: str, body: Iterator[bytes], php: bool, bodiless: bool) -> None:
    """The request on a process of its class (the one this connection holds, or one the
    manager lends); a process that refuses the connection is reported dead and one more
    is asked for."""
    if php:
        # PHP lists the parameters it was sent last first (its FastCGI table prepends), so
        # they go in reverse for $_SERVER and getallheaders() to keep httpd's order.
        env = dict(reversed(env.items()))
    for attempt in range(2):
        hold = _resume(manager, question, limits, bodiless)
        resumed = hold is not None
        if hold is None:
            lease = Lease(manager, question, limits.wait)
            try:
                hold = _Hold(lease, connect(Address(path=lease.socket), limits.connect))
            except BackendUnavailable:
                lease.release("dead", 0)
                if attempt:
                    raise
                continue
        outcome = "broken"
        response = Response(conn, script, f"{hold.lease.socket} (pid {hold.lease.pid})",
                            PHP_HEAD if php else CGI_HEAD, internal_redirects=not php, stderr=limits.stderr)
        try:
            try:
                hold.connection.request(env, body, response.take, response.take_stderr, limits.io,
                                        on_quiet=response.flush, detach=php)
            except BackendUnavailable:
                if not resumed or attempt:
                    raise
                # The held process's connection had closed, and the process is gone with its
                # socket (it was not peeked at, having no body to lose): one more is asked for.
                outcome = "dead"
            except ClientGone:
                # As under mod_php, the script runs on after its client left (ignore_user_abort()
                # lets it finish; else it ends at its next output, its shutdown functions run):
                # the process is back once it has ended the request.
                if php and hold.connection.wait_closed(limits.io):
                    outcome = "ok"
                    hold.served += 1
                raise
            else:
                outcome = "ok"  # the exchange ended cleanly, whatever the script wrote
                hold.served += 1
                if not response.started:
                    _no_head(script)
                    raise HTTPError(500)
                response.finish()
        except (BackendTimeout, BackendError) as failed:
            if isinstance(failed, BackendTimeout):
                log.warning("mod_fcgid: read data timeout in %d seconds", limits.io)
            else:
                log.warning("mod_fcgid: error reading data from FastCGI server (%s)", failed.log)
                if not resumed and not hold.served:
                    # It broke on the first request it was lent for (a program that dies once
                    # it has taken a connection): as one that refused it, a start that failed,
                    # which the manager counts towards backing the class off.
                    outcome = "dead"
            if not response.started:
                _no_head(script)
            raise HTTPError(500) from None  # after the head, the client's response is cut short
        finally:
            if outcome == "ok" and (conn.keep_alive_wanted() or _between_connections) \
                    and hold.may_carry_more():
                _held.append(hold)
            else:
                hold.end(outcome)
        if outcome != "dead":
            return


#: How long one lease may carry the requests of a keep-alive connection before it goes
#: back to the manager, so that the manager's books (busy time, requests) stay near the truth.
HOLD_SECONDS = 1.0


class _Hold:
    """A lent process and the connection to it, kept across the requests of one keep-alive
    connection as mod_php's interpreter stays in its Apache child: no question to the
    manager and no connect per request."""

    def __init__(self, lease: Lease, connection: Connection) -> None:
        self.lease = lease
        self.connection = connection
        self.served = 0
        self.until = time.monotonic() + HOLD_SECONDS

    def may_carry_more(self) -> bool:
        left = self.lease.left
        return (self.connection.usable and (left is None or self.served < left)
                and time.monotonic() < self.until and not self.lease.recalled())

    def end(self, outcome: str) -> None:
        self.connection.close()
        self.lease.release(outcome, self.served)


#: The process this connection child holds between requests, if any (at most one).
_held: list[_Hold] = []
#: Whether a process held at the end of a connection stays held for the next connection:
#: a pool worker's does (it gives it back once idle); a connection child ends with its own.
_between_connections = False


def hold_between_connections() -> None:
    """Keep the held process across connections, those the server closes included (KeepAlive
    Off, MaxKeepAliveRequests reached): the next connection, often on its way, finds it
    without asking the manager, connecting, and the process accepting."""
    global _between_connections
    _between_connections = True


def holds_between_connections() -> bool:
    return _between_connections


def _resume(manager: str, question: bytes, limits: RequestLimits, bodiless: bool) -> _Hold | None:
    """The held process, if it is of this request's class and may carry it. A request
    without a body goes on its connection unchecked (one the process closed meanwhile is
    found out by the request, which then goes again on a new one); one with a body cannot
    go again, so its connection is checked first."""
    if not _held:
        return None
    hold = _held.pop()
    if (hold.lease.manager, hold.lease.question) != (manager, question) or not hold.may_carry_more():
        hold.end("ok")
        return None
    if not bodiless and not hold.connection.open():
        # A FastCGI program that ignores FCGI_KEEP_CONN closes after each request.
        hold.connection.close()
        try:
            hold.connection = connect(Address(path=hold.lease.socket), limits.connect)
        except BackendUnavailable:
            hold.end("broken")  # it exited meanwhile; the manager has seen it go
            return None
    return hold


def question(coordinates: Mapping[str, object]) -> bytes:
    """The JSON line that asks the manager for a process of the class ``coordinates`` name
    (vhost, URL path, file, php_value settings, kind), which the manager works out itself."""
    return json.dumps(coordinates).encode() + b"\n"


def holding() -> bool:
    """Whether this process holds a backend process between requests."""
    return bool(_held)


def release_held() -> None:
    """Give the held process back: the connection goes idle, ends, or serves something else."""
    while _held:
        _held.pop().end("ok")


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
    """One process lent for the requests of one keep-alive connection, through this
    process's connection to the manager."""

    def __init__(self, manager: str, question: bytes, timeout: float) -> None:
        """``question``: the request's coordinates, a JSON line; the class they name is lent."""
        self.manager = manager
        self.question = question
        for attempt in range(2):
            reused = _link is not None and _link.path == manager
            try:
                link = _link_to(manager, timeout)
                answer = link.ask(question, timeout)
                break
            except (OSError, ValueError) as exc:
                _drop_link()
                if reused and not attempt:
                    continue  # the manager closed a connection left idle: ask on a new one
                raise HTTPError(503, f"mod_fcgid: no answer from the backend manager {manager}: {exc}") \
                    from None
        if "socket" not in answer:
            _drop_link()  # the manager ends the connection after a refusal
            raise HTTPError(int(answer.get("status", 503)), str(answer.get("error", "no FastCGI process")))
        self.link = link
        self.socket = str(answer["socket"])
        self.pid = int(answer["pid"])
        #: Requests the process may still serve (FcgidMaxRequestsPerProcess); None: no limit.
        self.left: int | None = int(answer["left"]) if answer.get("left") is not None else None

    def recalled(self) -> bool:
        """Whether the manager wants the process back for another asker."""
        try:
            return self.link.recalled()
        except (OSError, ValueError):
            return True

    def release(self, outcome: str, served: int) -> None:
        """Tell the manager how the requests ended (ok, broken, dead): the process goes back."""
        try:
            self.link.sock.settimeout(self.link.timeout)
            self.link.sock.sendall(json.dumps({"done": outcome, "served": served}).encode() + b"\n")
        except OSError:
            _drop_link()  # the manager sees the closed connection, and ends the process


#: How often a process holding a lent process looks for the manager's recall of it.
RECALL_LOOK_SECONDS = 0.01


class _ManagerLink:
    """This process's connection to the manager, read a line at a time. A connection child
    runs as one identity for good, so the credentials the manager read at connect stay true."""

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        self.inbox = b""
        self.recall = False
        #: Whether the manager sent something: asked before and after each request, looked at
        #: every RECALL_LOOK_SECONDS at most (a busy connection's requests come faster).
        self.arrivals = select.poll()
        self.arrivals.register(self.sock, select.POLLIN)
        self.looked = 0.0

    def ask(self, question: bytes, timeout: float) -> dict[str, Any]:
        """The manager's answer to ``question`` (recalls of an earlier process skipped)."""
        self.timeout = timeout
        self.sock.settimeout(timeout)
        self.sock.sendall(question)
        while True:
            message = self._next_line()
            if "recall" not in message:
                self.recall = False
                return message

    def recalled(self) -> bool:
        """Read what the manager sent meanwhile, without waiting: only recalls come unasked."""
        now = time.monotonic()
        if now - self.looked < RECALL_LOOK_SECONDS:
            return self.recall
        self.looked = now
        if not self.arrivals.poll(0):
            return self.recall
        self.sock.settimeout(0)
        try:
            while True:
                self._next_line()
                self.recall = True
        except BlockingIOError:
            return self.recall

    def _next_line(self) -> dict[str, Any]:
        while b"\n" not in self.inbox:
            piece = self.sock.recv(MAX_MESSAGE)
            if not piece:
                raise ValueError("connection closed")
            self.inbox += piece
            if len(self.inbox) > MAX_MESSAGE:
                raise ValueError("answer too long")
        line, self.inbox = self.inbox.split(b"\n", 1)
        message = json.loads(line)
        if not isinstance(message, dict):
            raise ValueError("not an object")
        return message


#: This process's connection to the manager, once it has asked.
_link: _ManagerLink | None = None


def _link_to(manager: str, timeout: float) -> _ManagerLink:
    """The open connection to ``manager``, or a new one."""
    global _link
    if _link is not None and _link.path == manager:
        return _link
    _drop_link()
    link = _ManagerLink(manager, timeout)
    try:
        link.sock.settimeout(timeout)
        link.sock.connect(manager)
    except OSError:
        link.sock.close()
        raise
    _link = link
    return link


def _drop_link() -> None:
    global _link
    if _link is not None:
        _link.sock.close()
        _link = None
