"""mod_proxy_fcgi: a request handed to a FastCGI server the admin runs (a php-fpm pool).

The connection child already runs as the vhost's identity, so it reaches
only sockets that identity may open: a pool whose socket directory belongs
to alice is out of bob's reach. The CGI environment is the one CGI scripts
get; SCRIPT_FILENAME is what mod_proxy_fcgi sends for the ProxyFCGIBackendType
(FPM: the handler's fcgi:// URL before the path, which php-fpm removes;
GENERIC: the path); php_value / php_admin_value become php-fpm's PHP_VALUE /
PHP_ADMIN_VALUE. The response head is read with mod_cgi's rules, a Location
passed on as the backend gave it; the body streams to the client as it
arrives; the backend's stderr goes to the error log as mod_proxy_fcgi logs
it (AH01071). A connection to a backend is kept for the
next request of the same client connection.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING

from itkgw.config.kinds_structured import proxy_address
from itkgw.config.model import PHPSetting
from itkgw.config.modules.proxy_fcgi import ProxySettings
from itkgw.errors import HTTPError, InternalRedirect
from itkgw.handlers import spool
from itkgw.handlers.cgi import CGI_HEAD, HeadLimits, not_modified, parse_cgi_head, split_head
from itkgw.handlers.fcgi_client import Address, Connection, connect
from itkgw.handlers.phpcgi import ini_line
from itkgw.rules.pcre import cached_regex, fill_groups

if TYPE_CHECKING:
    from itkgw.http.connection import HTTPConnection

#: php-cgi's FastCGI output buffer, less a little: a STDOUT record shorter than this ended with a
#: flush() (or a STDERR record, which take_stderr notes), not because the buffer was full.
_PHP_RECORD = 8000
#: Longest response head kept while waiting for its blank line (mod_cgi's limits apply to the lines).
_MAX_HEAD = 1 << 20
#: This process's open connection per backend (a connection child serves one client).
_kept: dict[Address, Connection] = {}
#: The largest request body read whole before it goes on a reused connection, to be sent again
#: on a new one if the server ended the reused one meanwhile.
REPLAYED_BODY = 65536


def keeping() -> bool:
    """Whether this process keeps a connection to a FastCGI server between requests."""
    return bool(_kept)


def close_kept() -> None:
    """Close the kept connections (an idle pool worker's), so that a server being stopped or
    restarted waits for no idle client of ours."""
    while _kept:
        _kept.popitem()[1].close()


def php_params(settings: Mapping[str, PHPSetting]) -> dict[str, str]:
    """php_value and php_admin_value as php-fpm takes them from its web server: PHP_VALUE
    and PHP_ADMIN_VALUE, one ``name=value`` line each. An admin value set so cannot be
    changed by ini_set(), as with mod_php."""
    params = {}
    for key, admin in (("PHP_VALUE", False), ("PHP_ADMIN_VALUE", True)):
        lines = [ini_line(name, setting.value) for name, setting in settings.items()
                 if setting.admin is admin]
        if lines:
            params[key] = "\n".join(lines)
    return params


def pass_match(settings: ProxySettings, url_path: str) -> str | None:
    """The backend URL the first matching ProxyPassMatch gives ``url_path``, $N filled
    in; None when none matches, or the first match is an exemption (``!``)."""
    for pattern, url in settings.pass_match or ():
        match = cached_regex(pattern).search(url_path)
        if match is None:
            continue
        if url == "!":
            return None
        return fill_groups(url, match)
    return None


def script_filename(url: str, backend_type: str | None) -> str:
    """SCRIPT_FILENAME for a ProxyPassMatch URL, as mod_proxy_fcgi sends it: with FPM (the
    default) ``proxy:fcgi://host/path``, which php-fpm strips itself; with GENERIC the path."""
    fcgi = url[url.index("|") + 1:] if url.lower().startswith("unix:") else url
    if backend_type == "generic":
        rest = fcgi[len("fcgi://"):]
        return rest[rest.index("/"):] if "/" in rest else "/"
    return "proxy:" + fcgi


def serve(conn: HTTPConnection, handler: str, env: dict[str, str], timeout: float, log: logging.Logger,
          script: str) -> None:
    """Run the current request on the FastCGI server ``handler`` names and stream its answer."""
    address = Address.parse(proxy_address(handler))
    request = conn.request
    assert request is not None
    connection = _kept.pop(address, None)
    # A kept connection the server closed meanwhile is found out by a request without a body,
    # which then goes again on a new one; one with a body cannot go again: it is looked at first.
    if connection is None or not connection.usable or (request.has_body and not connection.open()):
        if connection is not None:
            connection.close()
        connection = connect(address, timeout)
    response = Response(conn, script, str(address))
    if request.chunked:
        body: AbstractContextManager[Iterable[bytes]] = spool.with_length(conn.body_chunks(), env)
    elif connection.served and request.content_length is not None and request.content_length <= REPLAYED_BODY:
        # Read first, so that it can go again should the server end the kept connection just
        # after the look above (php-fpm's worker at pm.max_requests exits as the request comes).
        body = nullcontext(list(conn.body_chunks()))
    else:
        body = nullcontext(conn.body_chunks())
    with body as chunks:
        connection.request(env, chunks, response.take, stderr_to(log), timeout, on_quiet=response.flush)
    response.finish()
    if connection.usable:
        _kept[address] = connection


class Response:
    """The backend's STDOUT: a CGI head, then the body, sent on as it comes."""

    def __init__(self, conn: HTTPConnection, script: str, backend: str,
                 limits: HeadLimits = CGI_HEAD, internal_redirects: bool = False,
                 stderr: Callable[[bytes], None] | None = None) -> None:
        self.conn = conn
        self.script = script
        self.backend = backend
        self.limits = limits
        self.head = b""
        self.started = False
        self.stderr = stderr
        #: The last STDOUT record ended short of php-cgi's buffer with no STDERR after it: PHP
        #: called flush(), and a next record means mod_php's output would have gone out then.
        self.flushed = False
        #: The body goes nowhere: a 304 answered from the script's own validators, or a
        #: local Location (mod_fcgid's internal redirect, made once the request has ended).
        self.discard = False
        self.internal_redirects = internal_redirects
        self.redirect: str | None = None
        #: The client has its whole answer already (the server's own 302 page).
        self.answered = False

    def take(self, data: bytes) -> None:
        flushed_before, self.flushed = self.flushed, len(data) < _PHP_RECORD
        if self.started:
            if flushed_before and self.limits.as_mod_php:
                self.conn.flush()  # no longer held whole: no length, no Range, as httpd's after a flush
            if not self.discard:
                self.conn.send_data(data)
            return
        self.head += data
        split = split_head(self.head)
        if split is None:
            limit = max(_MAX_HEAD, self.limits.head_bytes)
            if len(self.head) > limit:
                raise HTTPError(502, f"FastCGI backend {self.backend}: response head over {limit} bytes "
                                f"for {self.script}")
            return
        raw, body = split
        self.head = b""
        head = parse_cgi_head(raw, self.script, self.limits)
        assert self.conn.request is not None
        unchanged = None if self.limits.as_mod_php else not_modified(self.conn.request, head)
        if unchanged is not None:
            self.conn.send_response_head(*unchanged)
            self.started = self.discard = True
            return
        if self.internal_redirects and head.redirect is not None:
            # mod_fcgid's, as mod_cgi's: a local Location is an internal redirect, made once the
            # request has ended; another is a 302 page of the server's own.
            self.started = self.discard = True
            if head.redirect.startswith("/"):
                self.redirect = head.redirect
            else:
                self.conn.send_error(302, [(name, value) for name, value in head.headers
                                           if name not in ("Content-Type", "Content-Length")])
                self.answered = True
            return
        # mod_proxy_fcgi and mod_php pass a Location on as the script gave it.
        self.conn.send_response_head(head.status, list(head.headers), measure=True, named=head.named,
                                     http10=head.http10, byteranges=self.limits.as_mod_php)
        self.started = True
        if body:
            self.conn.send_data(body)

    def take_stderr(self, data: bytes) -> None:
        """STDERR to the log; a record of it closes php-cgi's STDOUT record, no flush()."""
        self.flushed = False
        if self.stderr is not None:
            self.stderr(data)

    def flush(self) -> None:
        """The backend is quiet for now: what it wrote goes to the client (PHP's flush())."""
        self.conn.flush()

    def finish(self) -> None:
        if not self.started:
            raise HTTPError(502, f"FastCGI backend {self.backend} ended without a response head "
                            f"for {self.script}")
        if self.redirect is not None:
            raise InternalRedirect(self.redirect)
        if not self.answered:
            self.conn.end_response()


def stderr_to(log: logging.Logger, template: str = "AH01071: Got error '%s'",
              level: int = logging.ERROR) -> Callable[[bytes], None]:
    """The backend's stderr as error-log lines, one per line it wrote, each in ``template``
    (mod_proxy_fcgi's by default)."""

    def write(data: bytes) -> None:
        for line in data.decode("utf-8", "replace").splitlines():
            if line.strip():
                log.log(level, template, line)

    return write
