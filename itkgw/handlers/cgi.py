"""CGI (RFC 3875) as Apache's mod_cgi runs it: environment, exec, response head.

The connection child calls run_cgi after the identity switch, so a script
runs as the vhost's user with no capabilities. The request body goes in and
the response comes out through one selector loop over the script's three
pipes: no threads, and no deadlock when a script writes a lot before it
reads its input.

Errors are logged here, in Apache's words, and raised as HTTPError without a
log text: the caller only sends the status page, or aborts the connection
when the response head is already out (``conn.response_started``).
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import re
import resource
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import FrameType, TracebackType
from typing import IO, TYPE_CHECKING, NamedTuple

from itkgw import script_software
from itkgw.config.model import ServerConfig, VHost
from itkgw.config.modules.core import RequestSettings
from itkgw.errors import HTTPError, InternalRedirect, loggable
from itkgw.handlers import static
from itkgw.http.connection import NO_ADMIN, ClientGone
from itkgw.http.head import remember
from itkgw.http.ranges import parse_http_date
from itkgw.request import canonical
from itkgw.request.variables import wire

if TYPE_CHECKING:
    from itkgw.http.connection import HTTPConnection, Request

_log = logging.getLogger("itkgw.cgi")

#: PATH for the programs itkgw runs for itself (php-cgi asked about its settings).
SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"
#: PATH for scripts, as httpd gives it: the server's own, else httpd's DEFAULT_PATH; nothing
#: else of the server's environment reaches them.
SCRIPT_PATH = os.environ.get("PATH", "/bin:/usr/bin:/usr/ucb:/usr/bsd:/usr/local/bin")
#: Apache's MAX_STRING_LEN: the longest header line a script may send.
MAX_HEADER_LINE = 8192
MAX_HEADERS = 100
#: Script output with no end of the header block within this many bytes is malformed.
MAX_HEAD = 64 * 1024
_READ_SIZE = 65536
#: After a script's output ended: how long it may take to exit before SIGTERM,
#: then (Apache's kill-after-timeout) how long before SIGKILL.
_EXIT_GRACE = 1.0
_TERM_GRACE = 3.0
#: How long a script's output may pause before what it wrote is sent on (measured responses).
_QUIET_SECONDS = 0.01
#: The same for a CGI script: long enough for one that printed its answer to exit.
_CGI_EXIT_SECONDS = 0.002
#: The same between its head and its first body byte: php-cgi writes them apart, and on a
#: busy machine the gap can outlast the pause above (a small answer would lose its length).
_HEAD_QUIET_SECONDS = 0.1
#: While waiting for a script's last stderr lines, how often to check it exited.
_EXIT_POLL = 0.05

#: Request headers Apache does not pass on: credentials (unless CGIPassAuth, or
#: for PHP) and Proxy, which would become HTTP_PROXY (httpoxy).
_WITHHELD_HEADERS = frozenset({"authorization", "proxy-authorization", "proxy"})
#: Header names that can become a variable: with "_" allowed, ``Foo_Bar``
#: could pose as ``Foo-Bar`` (Apache 2.4 drops such headers too).
_ENV_NAME = re.compile(r"[A-Za-z0-9-]+")
#: Framing is ours: a script's own Transfer-Encoding or Connection would lie.
_FRAMING_HEADERS = frozenset({"transfer-encoding", "connection", "keep-alive"})
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_STATUS = re.compile(r"([0-9]{3})(?:[ \t].*)?")
_HEAD_END = re.compile(rb"(?:^|\n)\r?\n")
_CANONICAL_NAMES = {
    "content-type": "Content-Type", "content-length": "Content-Length", "location": "Location",
}


# -- the environment ----------------------------------------------------

_DEFAULTS = RequestSettings()


def cgi_environ(
    request: Request,
    vhost: VHost,
    config: ServerConfig,
    script_name: str,
    script_filename: str,
    path_info: str,
    document_root: str,
    https: bool = False,
    settings: RequestSettings = _DEFAULTS,
    authorization_as: str = "",
    context_prefix: str = "",
) -> dict[str, str]:
    """RFC 3875 meta-variables as mod_cgi sets them, and nothing of the server's.

    ``document_root`` is the directory the URL was mapped onto (CONTEXT_DOCUMENT_ROOT):
    the vhost's DocumentRoot, or an Alias or ScriptAlias directory, whose URL prefix is
    ``context_prefix``. Values are str in the filesystem encoding, so subprocess hands
    the script the exact bytes the client sent. ``settings`` name the server
    (UseCanonicalName); ``authorization_as`` names the variable the Authorization
    header is handed on in (HTTP_AUTHORIZATION under CGIPassAuth; "": it is withheld).
    """
    software = script_software(config.compat)
    env = {"HTTPS": "on"} if https else {}
    # In httpd's order (ap_add_common_vars, then ap_add_cgi_vars), which PHP's $_SERVER and a
    # CGI program's environment keep: the request's headers, the server's, then RFC 3875's.
    env.update(_header_variables(request.headers, authorization_as, request.content_length))
    env.update({
        "PATH": SCRIPT_PATH,
        "SERVER_SIGNATURE": canonical.signature(request, vhost, settings, software,
                                                vhost.server_admin or config.server_admin or NO_ADMIN),
        "SERVER_SOFTWARE": software,
        "SERVER_NAME": canonical.server_name(request, vhost, settings),
        "SERVER_ADDR": request.local_ip,
        "SERVER_PORT": str(canonical.server_port(request, settings)),
        "REMOTE_ADDR": request.remote_ip,
        "DOCUMENT_ROOT": vhost.document_root.rstrip("/") or "/",
        "REQUEST_SCHEME": "https" if https else "http",
        "CONTEXT_PREFIX": context_prefix,
        "CONTEXT_DOCUMENT_ROOT": document_root,
        "SERVER_ADMIN": vhost.server_admin or config.server_admin or NO_ADMIN,
        "SCRIPT_FILENAME": script_filename,
        "REMOTE_PORT": str(request.remote_port),
    })
    if request.remote_user is not None:
        env["REMOTE_USER"] = wire(request.remote_user)
    if request.auth_type is not None:
        env["AUTH_TYPE"] = request.auth_type
    env.update({
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_PROTOCOL": f"HTTP/{request.http_version}",
        "REQUEST_METHOD": request.method,
        "QUERY_STRING": wire(request.query),
        "REQUEST_URI": wire(request.target),
        "SCRIPT_NAME": script_name,
    })
    if path_info:
        env["PATH_INFO"] = path_info
        env["PATH_TRANSLATED"] = vhost.document_root.rstrip("/") + path_info
    return env


#: The variables of an earlier request that httpd sets among the server's, not before them.
_REDIRECT_AMONG_SERVER_VARS = ("REDIRECT_URL", "REDIRECT_QUERY_STRING")


def with_request_variables(cgi_env: Mapping[str, str], variables: Mapping[str, str]) -> dict[str, str]:
    """A script's environment: ``variables`` (SetEnv, SetEnvIf, a rewrite's E=, an earlier
    request's REDIRECT_*) over ``cgi_env``, in httpd's order: the request's own variables
    first, REDIRECT_URL and REDIRECT_QUERY_STRING after the server's."""
    if not variables:  # most requests: nothing to place
        return dict(cgi_env)
    env = {name: value for name, value in variables.items() if name not in _REDIRECT_AMONG_SERVER_VARS}
    for name, value in cgi_env.items():
        if name == "GATEWAY_INTERFACE":
            env.update((late, variables[late]) for late in _REDIRECT_AMONG_SERVER_VARS if late in variables)
        env.setdefault(name, value)
    return env


def header_variable(name: str) -> str:
    """The CGI variable of request header ``name``: HTTP_ and the name, upper case, - as _."""
    return "HTTP_" + name.upper().replace("-", "_")


def _header_variables(headers: list[tuple[str, str]], authorization_as: str,
                      content_length: int | None) -> dict[str, str]:
    """HTTP_* variables in the headers' order, repeated headers joined with ", " as Apache
    merges them, Authorization's as ``authorization_as`` says; CONTENT_LENGTH, from the
    framing (with Transfer-Encoding the header lies), where its header is, else last."""
    variables: dict[str, str] = {}
    for name, value in headers:
        key = _variable_names.get(name)
        if key is None:
            key = _variable_name(name)
        if key == "HTTP_AUTHORIZATION":
            key = authorization_as
        if not key:
            if content_length is not None and name.lower() == "content-length":
                # As sent ("003" too) where it gives the body's length, as httpd copies it.
                sent = value.strip()
                exact = sent.isdigit() and int(sent) == content_length
                variables["CONTENT_LENGTH"] = sent if exact else str(content_length)
            continue
        value = wire(value)
        variables[key] = f"{variables[key]}, {value}" if key in variables else value
    if content_length is not None and "CONTENT_LENGTH" not in variables:
        variables["CONTENT_LENGTH"] = str(content_length)
    return variables


def _variable_name(name: str) -> str:
    """The variable of header ``name`` ("" for none: a withheld header, a name no variable
    can carry), remembered for the next request (bounded: names come from clients)."""
    lower = name.lower()
    if (lower in _WITHHELD_HEADERS and lower != "authorization") or lower == "content-length" \
            or not _ENV_NAME.fullmatch(lower):
        key = ""
    else:
        key = "CONTENT_TYPE" if lower == "content-type" else header_variable(lower)
    if len(_variable_names) >= _REMEMBERED_NAMES:
        _variable_names.clear()
    _variable_names[name] = key
    return key


_variable_names: dict[str, str] = {}
_REMEMBERED_NAMES = 512


# -- the response head ---------------------------------------------------


class CGIHead(NamedTuple):
    """A script's header block, read as Apache reads it.

    ``redirect`` is the Location of a script that gave no status other than
    200: Apache then discards the script's body and answers itself, a 302
    for an absolute URL, an internal redirect for a local path.
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    redirect: str | None = None
    content_length: int | None = None
    #: The status line the script named (its Status value, PHP's line after the protocol),
    #: None for none: httpd keeps what status_lines.status_line keeps of it.
    named: str | None = None
    #: Whether the script gave a Status line at all.
    status_given: bool = False
    #: PHP set an ``HTTP/1.0`` status line (header("HTTP/1.0 404 Not Found"), or its own
    #: fatal error's 500): mod_php answers in HTTP/1.0 then, and ends the connection.
    http10: bool = False


@dataclass(frozen=True)
class HeadLimits:
    """How large a script's header block may be, and how its response is framed: mod_cgi's
    for CGI scripts; PHP, which mod_php runs inside the server, has no limit a real header
    reaches."""

    lines: int = MAX_HEADERS
    line_bytes: int = MAX_HEADER_LINE
    head_bytes: int = MAX_HEAD
    #: PHP's answer as mod_php gives it: no 304 from the script's own validators, a Location
    #: with status 200 passed on, not made a redirect, and pauses in its output of php-cgi's
    #: rhythm (see _quiet_seconds).
    as_mod_php: bool = False


CGI_HEAD = HeadLimits()
PHP_HEAD = HeadLimits(lines=100_000, line_bytes=1 << 20, head_bytes=4 << 20, as_mod_php=True)


def split_head(buffer: bytes) -> tuple[bytes, bytes] | None:
    """A script's header block (through its blank line) and the bytes after it; None
    while the blank line has not arrived."""
    end = _HEAD_END.search(buffer)
    if end is None:
        return None
    return buffer[:end.end()], buffer[end.end():]


def parse_cgi_head(raw: bytes, script: str = "", limits: HeadLimits = CGI_HEAD) -> CGIHead:
    """Parse the header block (up to its blank line) of a script's output.

    Lines may end in CRLF or LF. Raises HTTPError(500) whose log names the
    script and the bad line, as "malformed header from script" in Apache;
    nothing of a malformed block may reach the client. A short block read before under
    the same limits (a script writes the same one on most runs) is answered from memory,
    unless reading it logged something, which must be logged each time.
    """
    memory = _php_heads_seen if limits is PHP_HEAD else _cgi_heads_seen if limits is CGI_HEAD else None
    if memory is None:
        return _parse_cgi_head(raw, script, limits)[0]
    known = memory.get(raw)
    if known is not None:
        return known
    head, logged = _parse_cgi_head(raw, script, limits)
    return head if logged else remember(memory, raw, head)


_php_heads_seen: dict[bytes, CGIHead] = {}
_cgi_heads_seen: dict[bytes, CGIHead] = {}


def _parse_cgi_head(raw: bytes, script: str, limits: HeadLimits) -> tuple[CGIHead, bool]:
    """The block's head, and whether reading it logged an error."""
    logged = False
    status, named, status_given, http10 = 200, None, False, False
    headers: list[tuple[str, str]] = []
    location: str | None = None
    content_length: int | None = None
    lines = raw.split(b"\n")
    for count, line in enumerate(lines, 1):
        line = line.removesuffix(b"\r")
        if not line:
            break
        if count == 1 and limits.as_mod_php and line.startswith(b"HTTP/"):
            status, named, http10 = _php_status_line(line.decode("latin-1"), script)
            status_given = True
            continue
        if count > limits.lines:
            raise _malformed(script, f"more than {limits.lines} header lines")
        if len(line) > limits.line_bytes:
            raise _malformed(script, f"header line over {limits.line_bytes} bytes: {_printable(line[:30])}")
        if limits.as_mod_php and b":" not in line:
            continue  # header('Bogus'): mod_php hands httpd no header for a line without a colon
        name, value, lower = _script_field(line, script)
        if lower == "status":
            code = _status(value, script)
            if code is None:  # httpd logs it, and answers under its 500 line with the script's output
                _log.error("%s", _invalid_status(value, script))
                status, named, logged = 500, None, True
            else:
                # mod_php sets no status line for http_response_code(), which php-cgi writes as a
                # Status header with its own reason: httpd's line of the code goes out.
                status, named = code, None if limits.as_mod_php else value
            status_given = True
            continue
        if lower in _FRAMING_HEADERS:
            continue
        if lower == "content-type" and limits.as_mod_php:
            # mod_php gives httpd one type, the last the script set; header('Content-Type:')
            # takes it away, and httpd then sends none.
            headers = [header for header in headers if header[0] != "Content-Type"]
            if not value:
                continue
        if lower == "location":
            location = value
        elif lower == "content-length":
            if not value.isdigit() or not value.isascii():
                raise _malformed(script, f"Bad Content-Length: {_printable(value[:30].encode('latin-1'))}")
            content_length = int(value)
        headers.append((_CANONICAL_NAMES.get(lower, name), value))
    # mod_php passes a Location on as the script gave it (PHP itself makes it a 302).
    redirect = location if location is not None and status == 200 and not limits.as_mod_php else None
    if not limits.as_mod_php:
        headers = _merged_by_name(headers)
    return CGIHead(status, tuple(headers), redirect, content_length, named, status_given, http10), logged


def _merged_by_name(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """mod_cgi's merge of a script's headers: one of each name, its values joined with ", "
    where the first stood; Set-Cookie headers stay apart; of the headers httpd sets rather
    than adds (Content-Type, Location...) the last one counts."""
    first: dict[str, int] = {}
    merged: list[tuple[str, str]] = []
    for name, value in headers:
        lower = name.lower()
        at = first.get(lower)
        if at is None or lower == "set-cookie":
            first[lower] = len(merged)
            merged.append((name, value))
        elif lower in _SET_NOT_ADDED:
            merged[at] = (merged[at][0], value)
        else:
            merged[at] = (merged[at][0], f"{merged[at][1]}, {value}")
    return merged


#: Script headers ap_scan_script_header_err sets, so that a later one replaces an earlier one.
_SET_NOT_ADDED = frozenset({"content-type", "location", "content-length", "last-modified"})


def _script_field(line: bytes, script: str) -> tuple[str, str, str]:
    """A header line's name, value and lower-cased name; a line seen before (a script
    writes the same ones on every run) is answered from memory."""
    known = _script_fields_seen.get(line)
    if known is not None:
        return known
    name_bytes, colon, value_bytes = line.partition(b":")
    name, value = name_bytes.decode("latin-1"), value_bytes.decode("latin-1").strip(" \t")
    if not colon or not _TOKEN.fullmatch(name) or _CONTROL.search(value):
        raise _malformed(script, f"Bad header: {_printable(line[:30])}")
    return remember(_script_fields_seen, line, (name, value, name.lower()))


_script_fields_seen: dict[bytes, tuple[str, str, str]] = {}


def parse_cgi_headers(raw: bytes, script: str = "",
                      limits: HeadLimits = CGI_HEAD) -> tuple[int, list[tuple[str, str]]]:
    """Status and headers to send for a script's header block.

    A Location without a status becomes a 302. A local Location ("/path")
    asks Apache for an internal redirect, which itkgw does not do yet:
    HTTPError(500) with a log line saying so.
    """
    return response_of(parse_cgi_head(raw, script, limits), script)


#: What a 304 drops of a script's headers: those that describe a body it does not have.
_NOT_MODIFIED_DROPS = frozenset({"content-type", "content-length", "content-encoding", "content-language",
                                 "content-range"})


def not_modified(request: Request, head: CGIHead) -> tuple[int, list[tuple[str, str]]] | None:
    """httpd's script header scan: a GET whose script set no Status is answered 304 when
    the client's If-None-Match or If-Modified-Since matches the script's own ETag or
    Last-Modified (mod_cgi, mod_fcgid and mod_proxy_fcgi alike; mod_php does not)."""
    if request.method != "GET" or head.status_given or head.redirect is not None:
        return None
    own = {name.lower(): value for name, value in head.headers}
    if_none_match = request.header_values("if-none-match")
    if if_none_match:
        etag = own.get("etag")
        matched = etag is not None and static.etag_matches(if_none_match, etag, weak=True)
    else:
        since = parse_http_date(request.header("if-modified-since"))
        modified = parse_http_date(own.get("last-modified"))
        matched = since is not None and modified is not None and modified <= since <= time.time()
    if not matched:
        return None
    return 304, [(name, value) for name, value in head.headers if name.lower() not in _NOT_MODIFIED_DROPS]


def response_of(head: CGIHead, script: str = "") -> tuple[int, list[tuple[str, str]]]:
    """Status and headers to send for a parsed header block (see parse_cgi_headers)."""
    if head.redirect is None:
        return head.status, list(head.headers)
    if head.redirect.startswith("/"):
        raise HTTPError(500, _local_redirect_message(head.redirect, script))
    return 302, list(head.headers)


def _status(value: str, script: str) -> int | None:
    """The code of a Status header; None for one that is not three digits ("abc", "1000 Big",
    empty). Codes httpd has no reason for (452, 599, 600) pass, as they pass httpd; a 1xx
    cannot be a final response (httpd would send garbage): it is refused."""
    match = _STATUS.fullmatch(value)
    if match is None:
        return None
    if not 200 <= int(match.group(1)) <= 999:
        raise HTTPError(500, _invalid_status(value, script))
    return int(match.group(1))


def _invalid_status(value: str, script: str) -> str:
    """httpd's log line of a status it cannot use (the first 30 characters of it)."""
    shown = _printable(value[:30].encode("latin-1"))
    return f"Invalid status line from script '{os.path.basename(script)}': {shown}"


def _php_status_line(line: str, script: str) -> tuple[int, str | None, bool]:
    """The status, reason and HTTP/1.0-ness of a status line PHP set ("HTTP/1.1 404 Not Found"),
    which php-cgi passes on as it is (cgi.rfc2616_headers): read as mod_php hands it to httpd.

    PHP takes the code after the first space. httpd keeps the line's own reason, and its
    protocol, only from a line of the form ``HTTP/1.x NNN reason``; of any other (``HTTP/2
    404``, ``HTTP/1.0 404``) the code alone counts."""
    code = line.split(" ", 1)[1].lstrip(" ") if " " in line else ""
    status = _status(code.split(" ", 1)[0], script)
    if status is None:
        raise HTTPError(500, _invalid_status(line, script))
    if len(line) > 12 and line.startswith("HTTP/1.") and line[8] == " ":
        return status, line[9:], line[7] == "0"
    return status, None, False


def _malformed(script: str, detail: str) -> HTTPError:
    return HTTPError(500, f"malformed header from script '{os.path.basename(script)}': {detail}")


def _local_redirect_message(location: str, script: str) -> str:
    return (f"script '{script}' asked for an internal redirect to {_printable(location.encode('latin-1'))}, "
            "which is not supported")


def _printable(data: bytes) -> str:
    """Bytes for one log line, control characters escaped as Apache's error log does."""
    return loggable(data.decode("utf-8", "backslashreplace"))


# -- running the script --------------------------------------------------


def run_cgi(
    conn: HTTPConnection,
    argv: list[str],
    env: dict[str, str],
    cwd: str,
    timeout: float,
    log: logging.Logger,
    script: str,
    head_limits: HeadLimits = CGI_HEAD,
    runs_on: bool = False,
    rlimits: tuple[tuple[int, tuple[int, int]], ...] = (),
) -> None:
    """Run a CGI program for the current request and stream its response.

    The program leads its own session, so a timeout or a client that went
    away kills it and everything it started; with ``runs_on`` (PHP, as under
    mod_php) a client that went away only closes the program's pipes, and it
    has ``timeout`` to end by itself (ignore_user_abort() lets a script
    finish). Raises HTTPError(500) when it cannot run or its header block is
    bad, HTTPError(504) when it is silent for ``timeout`` seconds, and lets
    ClientGone through. The child is always reaped. ``rlimits``: (resource, (soft, hard))
    pairs the program runs under (RLimitCPU...).
    """
    held = _HeldTermination()
    try:
        process = _spawn(argv, env, cwd, log, script, rlimits)
    except BaseException:
        held.release()
        raise
    try:
        held.release()  # a TERM that came meanwhile unwinds from here, the script's group killed below
        with _Exchange(conn, process, timeout, log, script, head_limits) as exchange:
            exchange.run()
    except BaseException as failed:
        if not (runs_on and isinstance(failed, ClientGone) and _ends_within(process, timeout)):
            _kill_group(process, log, script)
        raise
    finally:
        _reap(process)


class _HeldTermination:
    """SIGTERM (which unwinds a connection's process, killing its script's group on the way)
    held off while a script starts: arriving between the fork and the Popen that names the
    new process, it would leave the script running with no one to end it."""

    def __init__(self) -> None:
        self.came = False
        self.held = threading.current_thread() is threading.main_thread()  # where signals are handled
        self.handler: Callable[[int, FrameType | None], object] | int = signal.SIG_DFL
        if self.held:
            # None: a handler not set from Python, which cannot be set back; the default is.
            self.handler = signal.signal(signal.SIGTERM, self._note) or signal.SIG_DFL

    def _note(self, signum: int, frame: FrameType | None) -> None:
        self.came = True

    def release(self) -> None:
        """The handler back, run now for a TERM that came meanwhile."""
        if not self.held:
            return
        self.held = False
        signal.signal(signal.SIGTERM, self.handler)
        if self.came:
            signal.raise_signal(signal.SIGTERM)


def _ends_within(process: subprocess.Popen[bytes], seconds: float) -> bool:
    try:
        process.wait(seconds)
        return True
    except subprocess.TimeoutExpired:
        return False


def _spawn(argv: list[str], env: dict[str, str], cwd: str, log: logging.Logger,
           script: str, rlimits: tuple[tuple[int, tuple[int, int]], ...] = ()) -> subprocess.Popen[bytes]:
    # Limits are set in the child before the exec; without them the spawn stays a vfork.
    before_exec = functools.partial(_set_rlimits, rlimits) if rlimits else None
    try:
        return subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0,
            cwd=cwd, env=env, close_fds=True, start_new_session=True, preexec_fn=before_exec,
        )
    except subprocess.SubprocessError as limit_failed:  # a limit the child could not set
        log.error("cannot set the resource limits of CGI script %s: %s", script, limit_failed)
        raise HTTPError(500) from None
    except OSError as exc:
        # httpd's two lines: the child's complaint as the script's stderr, then no head; why, in
        # the terms an admin fixes it with, at info.
        log.error("AH01215: stderr from %s: (%s)%s: exec of '%s' failed", script, exc.errno, exc.strerror,
                  argv[0])
        log.error("End of script output before headers: %s", os.path.basename(script))
        hint = _exec_hint(exc, argv[0], cwd)
        if hint:
            log.info("exec of %s failed%s", argv[0], hint)
        raise HTTPError(500) from None
    except ValueError as bad:
        # subprocess refuses a NUL byte in argv or the environment.
        log.error("cannot run CGI script %s: %s", script, bad)
        raise HTTPError(500) from None


def _set_rlimits(rlimits: tuple[tuple[int, tuple[int, int]], ...]) -> None:
    for which, limits in rlimits:
        resource.setrlimit(which, limits)


def _exec_hint(exc: OSError, program: str, cwd: str) -> str:
    """Why exec failed, in the terms an admin fixes it with."""
    if exc.filename == cwd and exc.filename != program:
        return f" (cannot enter the working directory {cwd})"
    if exc.errno == errno.ENOEXEC:
        return " (no #! line, or not a program for this machine)"
    if exc.errno == errno.ENOENT and os.path.exists(program):
        return " (the interpreter named in its #! line does not exist)"
    if exc.errno == errno.EACCES:
        return " (the file or its #! interpreter is not executable)"
    return ""


def _kill_group(process: subprocess.Popen[bytes], log: logging.Logger, script: str) -> None:
    """Kill the script and everything it started: it leads its own process group."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        return  # every process of the group has exited already
    except PermissionError:
        log.error("cannot kill the processes of CGI script %s (a setuid program among them?)", script)


def _reap(process: subprocess.Popen[bytes]) -> None:
    """Wait for the script as Apache's cleanup does: a moment, SIGTERM, 3 s, SIGKILL."""
    for signum, grace in ((0, _EXIT_GRACE), (signal.SIGTERM, _TERM_GRACE), (signal.SIGKILL, None)):
        if signum:
            process.send_signal(signum)
        try:
            process.wait(grace)
            return
        except subprocess.TimeoutExpired:
            continue


class _Exchange:
    """The request body into a running script, its response out to the client.

    Rules: the body is read from the client one piece at a time, only when
    the script's stdin has taken the previous piece; stdout and stderr are
    read whenever they have data. Any progress on a pipe restarts the
    ``timeout``. The exchange ends when stdout is closed.
    """

    def __init__(self, conn: HTTPConnection, process: subprocess.Popen[bytes], timeout: float,
                 log: logging.Logger, script: str, head_limits: HeadLimits = CGI_HEAD) -> None:
        #: An nph- script (non-parsed headers): its output is the whole response, passed on as
        #: it is, and the connection ends after it, as mod_cgi does.
        self.nph = os.path.basename(script).startswith("nph-")
        if process.stdin is None or process.stdout is None or process.stderr is None:
            raise ValueError("the script must run with stdin, stdout and stderr pipes")
        self.conn = conn
        self.process = process
        self.timeout = timeout
        self.log = log
        self.script = script
        self.head_limits = head_limits
        self.selector = selectors.DefaultSelector()
        self.stdin: IO[bytes] | None = process.stdin
        self.stdout: IO[bytes] | None = process.stdout
        self.stderr: IO[bytes] | None = process.stderr
        #: The rest of the request body; None once it is all read, or unwanted.
        self.body: Iterator[bytes] | None = iter(conn.body_chunks())
        self.pending = b""
        self.head_buffer = b""
        self.head: CGIHead | None = None
        #: Body bytes the script's Content-Length still promises.
        self.unsent: int | None = None
        #: The script's body goes nowhere (a 304 from its own validators).
        self.discard = False
        self.overflow_logged = False
        self.body_started = False
        self.stderr_buffer = b""
        for pipe in (process.stdin, process.stdout, process.stderr):
            os.set_blocking(pipe.fileno(), False)
        self.selector.register(process.stdout, selectors.EVENT_READ, self._read_stdout)
        self.selector.register(process.stderr, selectors.EVENT_READ, self._read_stderr)

    def __enter__(self) -> _Exchange:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._flush_stderr()
        for pipe in (self.stdin, self.stdout, self.stderr):
            if pipe is not None:
                pipe.close()
        self.stdin = self.stdout = self.stderr = None
        self.selector.close()

    def run(self) -> None:
        deadline = time.monotonic() + self.timeout
        while self.stdout is not None:
            if self._take_body():
                deadline = time.monotonic() + self.timeout
            self._watch_stdin()
            # php-cgi writes its head and its body apart: a short quiet is not yet the
            # script pausing, a longer one is (flush() in PHP), and what it wrote goes out.
            ready = self.selector.select(self._quiet_seconds())
            if not ready:
                self.conn.flush()
                ready = self.selector.select(max(0.0, deadline - time.monotonic()))
            if not ready and time.monotonic() >= deadline:
                self.log.warning("AH01220: Timeout waiting for output from CGI script %s", self.script)
                raise HTTPError(504)
            for key, _ in ready:
                key.data()
            if ready:
                deadline = time.monotonic() + self.timeout
        self._close_stdin()
        self._finish_response()
        self._drain_stderr()

    def _quiet_seconds(self) -> float:
        """How long the script's output may pause before what it wrote goes out. A CGI script's:
        the moment a process takes to exit after its last write, as httpd reads the pipe without
        blocking once it has the head (a script that prints in several pieces is chunked);
        php-cgi's a little longer, its head and body being written apart."""
        if not self.head_limits.as_mod_php:
            return _CGI_EXIT_SECONDS
        return _QUIET_SECONDS if self.body_started else _HEAD_QUIET_SECONDS

    # -- stdin ---------------------------------------------------------

    def _take_body(self) -> bool:
        """Read the next piece of the request body once stdin took the last one."""
        if self.stdin is None or self.pending or self.body is None:
            return False
        piece = next(self.body, None)
        if piece is None:
            self.body = None
            self._close_stdin()
            return False
        self.pending = piece
        return True

    def _watch_stdin(self) -> None:
        if self.stdin is None:
            return
        watched = self.stdin in self.selector.get_map()
        if self.pending and not watched:
            self.selector.register(self.stdin, selectors.EVENT_WRITE, self._write_stdin)
        elif not self.pending and watched:
            self.selector.unregister(self.stdin)

    def _write_stdin(self) -> None:
        assert self.stdin is not None
        try:
            written = os.write(self.stdin.fileno(), self.pending[:_READ_SIZE])
        except BlockingIOError:
            return
        except BrokenPipeError:
            # The script stopped reading: the rest of the body is not for it.
            self.pending, self.body = b"", None
            self._close_stdin()
            return
        self.pending = self.pending[written:]

    def _close_stdin(self) -> None:
        if self.stdin is None:
            return
        if self.stdin in self.selector.get_map():
            self.selector.unregister(self.stdin)
        self.stdin.close()
        self.stdin = None

    # -- stdout --------------------------------------------------------

    def _read_stdout(self) -> None:
        assert self.stdout is not None
        try:
            data = os.read(self.stdout.fileno(), _READ_SIZE)
        except BlockingIOError:
            return
        if not data:
            self.selector.unregister(self.stdout)
            self.stdout.close()
            self.stdout = None
            return
        if self.nph:
            self.conn.send_raw(data)
            return
        if self.head is None:
            data = self._take_head(data)
        self._pass_body(data)

    def _take_head(self, data: bytes) -> bytes:
        """Collect the header block; once complete, send it and return what follows."""
        self.head_buffer += data
        split = split_head(self.head_buffer)
        if split is None:
            if len(self.head_buffer) > self.head_limits.head_bytes:
                self.log.error("malformed header from script '%s': no end of headers in %d bytes",
                               os.path.basename(self.script), self.head_limits.head_bytes)
                raise HTTPError(500)
            return b""
        raw, rest = split
        self.head_buffer = b""
        try:
            self.head = parse_cgi_head(raw, self.script, self.head_limits)
        except HTTPError as exc:
            self.log.error("%s", exc.log)
            raise HTTPError(exc.status) from None
        if self.head.redirect is not None:
            return rest
        assert self.conn.request is not None
        unchanged = None if self.head_limits.as_mod_php else not_modified(self.conn.request, self.head)
        if unchanged is not None:
            self.conn.send_response_head(*unchanged)
            self.discard = True
            return b""
        # A CGI script's body is cut at its Content-Length, as mod_cgi reads it; PHP's whole
        # body goes to the connection, which gives a response it holds whole its own length.
        self.unsent = None if self.head_limits.as_mod_php else self.head.content_length
        # Measured: a response complete before the script pauses gets a Content-Length, as
        # httpd's content-length filter gives one to output it read whole without blocking.
        self.conn.send_response_head(self.head.status, list(self.head.headers), measure=True,
                                     named=self.head.named, http10=self.head.http10,
                                     byteranges=self.head_limits.as_mod_php)
        return rest

    def _pass_body(self, data: bytes) -> None:
        if not data or self.head is None or self.head.redirect is not None or self.discard:
            return  # no head yet, a redirect or a 304: Apache discards the script's body
        self.body_started = True
        if self.unsent is not None:
            if len(data) > self.unsent and not self.overflow_logged:
                self.overflow_logged = True
                self.log.warning("script '%s' wrote more than its Content-Length; the rest is dropped",
                                 self.script)
            data = data[: self.unsent]
            self.unsent -= len(data)
        self.conn.send_data(data)

    def _finish_response(self) -> None:
        head = self.head
        if self.nph:
            if not self.conn.response_started:
                self.log.error("End of script output before headers: %s", os.path.basename(self.script))
                raise HTTPError(500)
            return
        if head is None:
            # Apache's two wordings: nothing at all, or an unfinished block.
            reason = "Premature end of script headers" if b"\n" in self.head_buffer \
                else "End of script output before headers"
            self.log.error("%s: %s", reason, os.path.basename(self.script))
            raise HTTPError(500)
        if head.redirect is not None:
            if head.redirect.startswith("/"):
                raise InternalRedirect(head.redirect)
            page_headers = [(name, value) for name, value in head.headers
                            if name not in ("Content-Type", "Content-Length")]
            self.conn.send_error(302, page_headers)
            return
        if self.unsent and not self.discard:
            self.log.error("script '%s' ended %d bytes short of its Content-Length", self.script, self.unsent)
            raise HTTPError(500)
        self.conn.end_response()

    # -- stderr --------------------------------------------------------

    def _read_stderr(self) -> None:
        assert self.stderr is not None
        try:
            data = os.read(self.stderr.fileno(), _READ_SIZE)
        except BlockingIOError:
            return
        if not data:
            self.selector.unregister(self.stderr)
            self.stderr.close()
            self.stderr = None
            self._flush_stderr()
            return
        *lines, self.stderr_buffer = (self.stderr_buffer + data).split(b"\n")
        while len(self.stderr_buffer) > MAX_HEADER_LINE:
            lines.append(self.stderr_buffer[:MAX_HEADER_LINE])
            self.stderr_buffer = self.stderr_buffer[MAX_HEADER_LINE:]
        for line in lines:
            self._log_stderr(line)

    def _log_stderr(self, line: bytes) -> None:
        line = line.removesuffix(b"\r")
        if line:
            self.log.error("AH01215: stderr from %s: %s", self.script, _printable(line))

    def _flush_stderr(self) -> None:
        line, self.stderr_buffer = self.stderr_buffer, b""
        self._log_stderr(line)

    def _drain_stderr(self) -> None:
        """The script's last words, without waiting on a background child holding stderr."""
        deadline = time.monotonic() + _EXIT_GRACE
        while self.stderr is not None and time.monotonic() < deadline:
            ready = self.selector.select(_EXIT_POLL)
            for key, _ in ready:
                key.data()
            if not ready and self.process.poll() is not None:
                return
