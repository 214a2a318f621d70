"""A FastCGI client: one request at a time on a connection, streamed both ways.

The request body goes out as STDIN records as it arrives from the client,
never buffered whole; STDOUT is handed on as it arrives, so a script's
flush() reaches the browser; STDERR goes to a callback (the error log).
A connection is reused (FCGI_KEEP_CONN) only after a clean END_REQUEST.

Rules for one exchange:
    body piece read from the client -> sent as STDIN before the next is read
    record from the backend         -> STDOUT/STDERR handed on, END_REQUEST ends it
    no progress for io_timeout      -> 504, connection dropped
    backend closes before the end   -> 502, connection dropped
    not FastCGI, another request id -> 502, connection dropped
    handing STDOUT on fails         -> ABORT_REQUEST sent, connection dropped
Errors carry their HTTP status and a log line naming the backend.
"""

from __future__ import annotations

import errno
import logging
import select
import selectors
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from itkgw.errors import HTTPError
from itkgw.handlers.fcgi_records import (
    ProtocolError,
    ProtocolStatus,
    RecordReader,
    RecordType,
    begin_request,
    encode_pairs,
    end_request_body,
    record,
    stream,
)
from itkgw.http.connection import PEEK_NOW, set_kernel_timeout

log = logging.getLogger("itkgw.fcgi")

_READ_SIZE = 65536
REQUEST_ID = 1
#: The records every request begins and ends its streams with.
_BEGIN_KEEP = begin_request(REQUEST_ID, True)
_BEGIN_CLOSE = begin_request(REQUEST_ID, False)
_PARAMS_END = record(RecordType.PARAMS, REQUEST_ID)
_STDIN_END = record(RecordType.STDIN, REQUEST_ID)
#: Record types as plain ints, compared once per record read.
_STDOUT, _STDERR, _END_REQUEST = int(RecordType.STDOUT), int(RecordType.STDERR), int(RecordType.END_REQUEST)


class BackendError(HTTPError):
    """The backend answered with something that is not a FastCGI response (502)."""

    def __init__(self, message: str) -> None:
        super().__init__(502, message)


class BackendClosed(BackendError):
    """The backend closed the connection without answering a byte of the request."""


class BackendUnavailable(HTTPError):
    """No connection to the backend: refused, missing socket, connect timeout (503)."""

    def __init__(self, message: str) -> None:
        super().__init__(503, message)


class BackendTimeout(HTTPError):
    """The backend made no progress for the I/O timeout (504)."""

    def __init__(self, message: str) -> None:
        super().__init__(504, message)


@dataclass(frozen=True)
class Address:
    """A FastCGI server: a Unix socket path, or a TCP host and port."""

    path: str = ""
    host: str = ""
    port: int = 0

    @classmethod
    def parse(cls, text: str) -> Address:
        """``unix:/run/php/alice.sock`` or ``127.0.0.1:9000`` (``[::1]:9000``)."""
        if text.startswith("unix:"):
            return cls(path=text.removeprefix("unix:"))
        host, _, port = text.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"{text!r} is neither unix:/path nor host:port")
        return cls(host=host.strip("[]"), port=int(port))

    def __str__(self) -> str:
        if self.path:
            return f"unix:{self.path}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


class Outcome(NamedTuple):
    """How a request ended: the application's exit status, and FastCGI's own."""

    app_status: int
    protocol_status: int


def connect(address: Address, timeout: float) -> Connection:
    """A connection to ``address``; BackendUnavailable when there is none within ``timeout``."""
    return Connection(_socket_to(address, timeout), address, timeout)


def _socket_to(address: Address, timeout: float) -> socket.socket:
    family = socket.AF_UNIX if address.path else (socket.AF_INET6 if ":" in address.host else socket.AF_INET)
    sock = socket.socket(family, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    sock.settimeout(timeout)
    try:
        sock.connect(address.path or (address.host, address.port))
    except (TimeoutError, OSError) as exc:
        sock.close()
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise BackendUnavailable(f"FastCGI: cannot connect to {address}: {reason}") from None
    # Blocking, the waits bounded by the kernel (SO_RCVTIMEO, SO_SNDTIMEO): waiting for the
    # answer is one recv, not a poll and a recv; what must not wait says MSG_DONTWAIT.
    sock.settimeout(None)
    return sock


class Connection:
    """One connection to a FastCGI server, carrying one request at a time."""

    def __init__(self, sock: socket.socket, address: Address, connect_timeout: float) -> None:
        self.sock = sock
        self.address = address
        self.connect_timeout = connect_timeout
        #: False once the connection may not carry another request.
        self.usable = True
        #: Requests the connection carried to their clean end.
        self.served = 0
        #: Whether the backend sent anything back for the current request.
        self.heard = False
        #: The I/O timeout the socket's kernel timeouts are set to (None: not set yet).
        self.io_timeout: float | None = None

    def close(self) -> None:
        self.usable = False
        self.sock.close()

    def wait_closed(self, timeout: float) -> bool:
        """After a detached request: whether the server closed the connection (its request
        is over) within ``timeout``."""
        poller = select.poll()
        poller.register(self.sock, select.POLLHUP)
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            for _, events in poller.poll(remaining * 1000):
                if events & (select.POLLHUP | select.POLLERR | select.POLLNVAL):
                    return True
        return False

    def open(self) -> bool:
        """Whether the server still keeps the connection open between requests, with nothing
        to read: a server that ended it (after its request, or a restart) left an end of file."""
        try:
            self.sock.recv(1, PEEK_NOW)
        except BlockingIOError:
            return True
        except OSError:
            return False  # reset: as closed
        return False  # an end of file, or bytes nobody asked for

    def request(self, params: Mapping[str, str], body: Iterable[bytes], on_stdout: Callable[[bytes], None],
                on_stderr: Callable[[bytes], None], io_timeout: float, keep_conn: bool = True,
                on_quiet: Callable[[], None] = lambda: None, detach: bool = False) -> Outcome:
        """Run one request: ``params`` (the CGI environment), the request ``body``
        piece by piece, STDOUT and STDERR handed on as they arrive; ``on_quiet`` is called
        whenever the server has nothing more to read for now. When handing output on fails
        (the client left), the request is aborted (FCGI_ABORT_REQUEST), or with ``detach``
        left to finish: this side stops reading, so the server's next write fails as a
        web server's write to a gone client does (see wait_closed).

        A reused connection that the server ended after its last request, this side not
        seeing it yet (a program that closes after each request, or a php-fpm child at
        pm.max_requests, caught between its answer and its close), answers nothing: a request
        without a body, or whose body is a list (read whole, so it can be sent again), then
        goes once more, on a new connection to the same server."""
        if not self.usable:
            raise ValueError("this FastCGI connection cannot carry another request")
        head = (_BEGIN_KEEP if keep_conn else _BEGIN_CLOSE) + stream(RecordType.PARAMS, REQUEST_ID,
                                                                     encode_pairs(params)) + _PARAMS_END
        try:
            return self._request(head, body, on_stdout, on_stderr, io_timeout, keep_conn, on_quiet, detach)
        except BackendClosed:
            if not self.served or (params.get("CONTENT_LENGTH", "0") != "0" and not isinstance(body, list)):
                raise
        log.info("FastCGI server %s had closed its kept connection: the request goes on a new one",
                 self.address)
        self.sock, self.io_timeout = _socket_to(self.address, self.connect_timeout), None
        return self._request(head, body, on_stdout, on_stderr, io_timeout, keep_conn, on_quiet, detach)

    def _request(self, head: bytes, body: Iterable[bytes], on_stdout: Callable[[bytes], None],
                 on_stderr: Callable[[bytes], None], io_timeout: float, keep_conn: bool,
                 on_quiet: Callable[[], None], detach: bool) -> Outcome:
        self.usable = False  # until a clean END_REQUEST says otherwise
        self.heard = False
        if io_timeout != self.io_timeout:
            for option in (socket.SO_RCVTIMEO, socket.SO_SNDTIMEO):
                set_kernel_timeout(self.sock, option, max(io_timeout, 0.001))
            self.io_timeout = io_timeout
        exchange = _Exchange(self, iter(body), on_stdout, on_stderr, io_timeout, on_quiet, detach)
        outcome = exchange.run(head)
        if outcome.protocol_status != ProtocolStatus.REQUEST_COMPLETE:
            raise BackendError(f"FastCGI backend {self.address} refused the request "
                               f"({ProtocolStatus(outcome.protocol_status).name})")
        self.usable = keep_conn and exchange.clean_end
        self.served += 1
        return outcome

    def fail(self, message: str, error: Callable[[str], HTTPError] = BackendError) -> HTTPError:
        """Drop the connection; the error to raise, naming the backend."""
        self.close()
        return error(f"FastCGI backend {self.address}: {message}")


class _Exchange:
    """The selector loop of one request (see the module's rules)."""

    def __init__(self, connection: Connection, body: Iterator[bytes], on_stdout: Callable[[bytes], None],
                 on_stderr: Callable[[bytes], None], io_timeout: float, on_quiet: Callable[[], None],
                 detach: bool) -> None:
        self.connection = connection
        self.on_quiet = on_quiet
        self.detach = detach
        self.sock = connection.sock
        self.body: Iterator[bytes] | None = body
        self.on_stdout = on_stdout
        self.on_stderr = on_stderr
        self.io_timeout = io_timeout
        self.reader = RecordReader()
        self.outgoing = b""
        self.outcome: Outcome | None = None
        self.clean_end = False

    def run(self, first: bytes) -> Outcome:
        assert self.body is not None
        piece = next(self.body, None)
        if piece is None:
            # No body (a GET): the request goes out in one write, the answer is read as it comes.
            return self._run_without_body(first + _STDIN_END)
        self.outgoing = first + stream(RecordType.STDIN, REQUEST_ID, piece) if piece else first
        with selectors.DefaultSelector() as selector:
            selector.register(self.sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
            deadline = time.monotonic() + self.io_timeout
            while not self._answered():
                self._refill()
                events = selectors.EVENT_READ | (selectors.EVENT_WRITE if self.outgoing else 0)
                selector.modify(self.sock, events)
                ready = selector.select(0)
                if not ready:
                    self._quiet()
                    ready = selector.select(max(0.0, deadline - time.monotonic()))
                if not ready:
                    raise self._silent()
                for _, mask in ready:
                    if mask & selectors.EVENT_WRITE:
                        self._write()
                    if mask & selectors.EVENT_READ:
                        self._read()
                deadline = time.monotonic() + self.io_timeout
        return self._outcome()

    def _run_without_body(self, data: bytes) -> Outcome:
        """The request in one write (the socket waits up to the I/O timeout for room), then
        the answer: waited for in one blocking read, since it cannot be there the moment the
        request went out, then read for as long as there is some."""
        self.body = None
        try:
            self.sock.sendall(data)
        except BlockingIOError:
            raise self._silent() from None
        except OSError as exc:
            if exc.errno != errno.EPIPE:  # EPIPE: it may have answered already
                raise self.connection.fail(f"write failed: {exc.strerror}") from None
        while not self._answered():
            self._quiet()
            self._read(wait=True)
            while not self._answered() and self._read():
                pass
        return self._outcome()

    def _answered(self) -> bool:
        """Whether END_REQUEST came (a method, as reading sets it: the loops above must not
        take it for a value that stays as it was when tested)."""
        return self.outcome is not None

    def _outcome(self) -> Outcome:
        assert self.outcome is not None
        return self.outcome

    def _silent(self) -> HTTPError:
        return self.connection.fail(f"no answer for {self.io_timeout:g} seconds", BackendTimeout)

    def _refill(self) -> None:
        """The next piece of the request body, once the last one is sent."""
        if self.outgoing or self.body is None:
            return
        piece = next(self.body, None)
        if piece is None:
            self.body = None
            self.outgoing = record(RecordType.STDIN, REQUEST_ID)
        elif piece:
            self.outgoing = stream(RecordType.STDIN, REQUEST_ID, piece)

    def _write(self) -> None:
        try:
            sent = self.sock.send(self.outgoing, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno == errno.EPIPE and self.outcome is None:
                # The backend may have answered without reading the whole body.
                self.outgoing, self.body = b"", None
                return
            raise self.connection.fail(f"write failed: {exc.strerror}") from None
        self.outgoing = self.outgoing[sent:]

    def _read(self, wait: bool = False) -> bool:
        """Read and hand on what the server sent; False when nothing was there (``wait``: wait
        for it up to the I/O timeout)."""
        try:
            data = self.sock.recv(_READ_SIZE, 0 if wait else socket.MSG_DONTWAIT)
        except BlockingIOError:
            if wait:
                raise self._silent() from None
            return False
        except ConnectionResetError:
            raise self._closed(" (reset)") from None
        except OSError as failed:
            raise self.connection.fail(f"read failed: {failed.strerror}") from None
        if not data:
            raise self._closed("")
        self.connection.heard = True
        try:
            records = self.reader.feed(data)
            last = len(records) - 1
            for index, item in enumerate(records):
                if item.request_id != REQUEST_ID:
                    raise ProtocolError(f"a record for request {item.request_id}")
                self._take(item.type, item.content, index == last)
        except ProtocolError as exc:
            raise self.connection.fail(f"not a FastCGI response: {exc}") from None
        return True

    def _closed(self, how: str) -> HTTPError:
        if self.connection.heard:
            return self.connection.fail(f"closed the connection before the end of the response{how}")
        return self.connection.fail(f"closed the connection without answering{how}", BackendClosed)

    def _take(self, kind: int, content: bytes, last_read: bool) -> None:
        """One record; ``last_read``: the last whole one the read held."""
        if kind == _STDOUT:
            if content:
                try:
                    self.on_stdout(content)
                except BaseException:
                    self._let_go()
                    raise
        elif kind == _STDERR:
            if content:
                self.on_stderr(content)
        elif kind == _END_REQUEST:
            self.outcome = Outcome(*end_request_body(content))
            self.clean_end = last_read and not self.reader.pending and not self.outgoing
        else:
            raise ProtocolError(f"unexpected record type {kind}")

    def _quiet(self) -> None:
        """The server has nothing more to read for now: the caller may hand on what it holds."""
        try:
            self.on_quiet()
        except BaseException:
            self._let_go()
            raise

    def _let_go(self) -> None:
        """Handing output on to the client failed: the request is aborted, or detached."""
        if self.detach:
            self._detach()
        else:
            self._abort()

    def _detach(self) -> None:
        """Stop reading: the server's next write fails (EPIPE), and it ends the request as
        PHP does for a gone client (ignore_user_abort() lets the script finish)."""
        try:
            self.sock.shutdown(socket.SHUT_RD)
        except OSError:
            self.connection.close()

    def _abort(self) -> None:
        """Tell the backend the client is gone (best effort), and drop the connection."""
        try:
            self.sock.send(record(RecordType.ABORT_REQUEST, REQUEST_ID), socket.MSG_DONTWAIT)
        except OSError:
            pass  # The backend is gone too: nothing to tell.
        self.connection.close()
