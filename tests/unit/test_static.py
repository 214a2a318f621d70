"""Static files over a real socket pair, the response parsed by h11 as a client would.

``WireConnection`` is a small stand-in for itkgw.http.HTTPConnection that
implements the same API on top of h11, so these tests do not depend on the
real connection driver; the bytes the client side reads are what
``serve_file`` made the connection send.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import TYPE_CHECKING, cast
from urllib.parse import unquote

import h11
import pytest

from itkgw.errors import HTTPError
from itkgw.mime import MimeTypes
from itkgw.static import ALLOW, redirect_to_slash, serve_file

if TYPE_CHECKING:
    from itkgw.http import HTTPConnection
    from itkgw.http import Request as HTTPRequest

CONTENT = bytes(range(256)) * 4 + b"tail"  # 1028 bytes, every offset distinct enough
SIZE = len(CONTENT)
#: A fixed past mtime with sub-second digits: 2020-09-13 12:26:40.123456789 UTC.
MTIME_NS = 1_600_000_000_123_456_789
MTIME = MTIME_NS // 10**9
ETAG = '"%x-%x"' % (SIZE, MTIME_NS // 1000)
LAST_MODIFIED = formatdate(MTIME, usegmt=True)
BEFORE = formatdate(MTIME - 1, usegmt=True)
FUTURE = formatdate(time.time() + 3600, usegmt=True)
LOCAL_IP, LOCAL_PORT = "127.0.0.1", 8080


@dataclass
class Request:
    """The request fields of the connection API."""

    method: str
    target: str
    path: str
    query: str
    http_version: str
    headers: list[tuple[str, str]]
    host: str
    local_ip: str
    local_port: int
    remote_ip: str
    remote_port: int
    content_length: int | None
    chunked: bool

    def header(self, name: str) -> str | None:
        values = self.header_values(name)
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name.lower()]

    @property
    def has_body(self) -> bool:
        return self.chunked or bool(self.content_length)


class _FileRange:
    def __init__(self, fd: int, offset: int, count: int) -> None:
        self.fd, self.offset, self.count = fd, offset, count

    def __len__(self) -> int:
        return self.count


def _host_without_port(value: str) -> str:
    if value.startswith("["):
        return value.split("]")[0].lower() + "]"
    return value.rsplit(":", 1)[0].lower()


class WireConnection:
    """The server end of a connection: reads one request head, writes through h11."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.timeout = 5.0
        self.h11 = h11.Connection(h11.SERVER)
        self.response_started = False
        self.status = 0
        self.request = self._read_request()

    def _next_event(self) -> object:
        while True:
            event = self.h11.next_event()
            if event is not h11.NEED_DATA:
                return event
            self.h11.receive_data(self.sock.recv(65536))

    def _read_request(self) -> Request:
        event = self._next_event()
        assert isinstance(event, h11.Request)
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in event.headers]
        target = event.target.decode("latin-1")
        raw_path, _, query = target.partition("?")
        host = next((value for name, value in headers if name == "host"), "")
        length = next((value for name, value in headers if name == "content-length"), None)
        return Request(
            method=event.method.decode("ascii"), target=target,
            path=unquote(raw_path, errors="surrogateescape"), query=query,
            http_version=event.http_version.decode("ascii"), headers=headers,
            host=_host_without_port(host),
            local_ip=LOCAL_IP, local_port=LOCAL_PORT, remote_ip="127.0.0.1", remote_port=40000,
            content_length=int(length) if length is not None else None,
            chunked=any(name == "transfer-encoding" for name, _ in headers),
        )

    @property
    def _body_suppressed(self) -> bool:
        return self.request.method == "HEAD" or self.status in (204, 304)

    def send_response_head(self, status: int, headers: list[tuple[str, str]]) -> None:
        self.status = status
        self.response_started = True
        all_headers = [("Date", formatdate(usegmt=True)), ("Server", "itkgw-test"), *headers]
        self.sock.sendall(self.h11.send(h11.Response(status_code=status, headers=all_headers)) or b"")

    def send_data(self, data: bytes) -> None:
        if data and not self._body_suppressed:
            self.sock.sendall(self.h11.send(h11.Data(data=data)) or b"")

    def send_file(self, fd: int, offset: int, count: int) -> None:
        if count <= 0 or self._body_suppressed:
            return
        file_range = _FileRange(fd, offset, count)
        for piece in self.h11.send_with_data_passthrough(h11.Data(data=file_range)) or []:  # type: ignore[arg-type]
            if isinstance(piece, _FileRange):
                while piece.count:
                    sent = os.sendfile(self.sock.fileno(), piece.fd, piece.offset, piece.count)
                    assert sent > 0, "file shorter than its range"
                    piece.offset += sent
                    piece.count -= sent
            else:
                self.sock.sendall(piece)

    def end_response(self) -> None:
        self.sock.sendall(self.h11.send(h11.EndOfMessage()) or b"")

    def send_error(self, status: int, headers: list[tuple[str, str]] | None = None) -> None:
        body = b"<html><body><h1>%d</h1></body></html>\n" % status
        self.send_response_head(status, [*(headers or []), ("Content-Type", "text/html"),
                                         ("Content-Length", str(len(body)))])
        self.send_data(body)
        self.end_response()

    def body_chunks(self) -> Iterator[bytes]:
        while True:
            event = self._next_event()
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            else:
                return


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    #: Bytes on the wire after the response head: must be the body exactly.
    after_head: bytes


def _exchange(handler: Callable[[WireConnection], None], method: str, target: str,
              headers: list[tuple[str, str]], raw_request: bytes | None = None) -> Reply:
    """Send one request from a real client end and let ``handler(conn)`` answer it.

    ``raw_request`` replaces the bytes h11 would send (h11 only sends HTTP/1.1).
    """
    client_sock, server_sock = socket.socketpair()
    client_sock.settimeout(5)
    failures: list[BaseException] = []

    def serve() -> None:
        try:
            conn = WireConnection(server_sock)
            try:
                handler(conn)
            except HTTPError as exc:
                conn.send_error(exc.status)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            failures.append(exc)
        finally:
            server_sock.shutdown(socket.SHUT_WR)

    with client_sock, server_sock:
        client = h11.Connection(h11.CLIENT)
        request = client.send(h11.Request(method=method, target=target, headers=headers)) or b""
        request += client.send(h11.EndOfMessage()) or b""
        client_sock.sendall(raw_request or request)
        server = threading.Thread(target=serve, daemon=True)
        server.start()
        raw = b""
        while chunk := client_sock.recv(65536):
            raw += chunk
        server.join(5)
    if failures:
        raise failures[0]
    client.receive_data(raw)
    response = client.next_event()
    assert isinstance(response, h11.Response), response
    body = b""
    while True:
        event = client.next_event()
        if isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            break
        else:
            raise AssertionError(f"unexpected event {event!r}")
    return Reply(
        status=response.status_code,
        headers={name.decode().lower(): value.decode("latin-1") for name, value in response.headers},
        body=body,
        after_head=raw.split(b"\r\n\r\n", 1)[1],
    )


@pytest.fixture
def mime() -> MimeTypes:
    return MimeTypes.load("/nonexistent/mime.types")


@pytest.fixture
def page(tmp_path: Path) -> Path:
    path = tmp_path / "page.txt"
    path.write_bytes(CONTENT)
    os.utime(path, ns=(MTIME_NS, MTIME_NS))
    return path


def get(path: Path, mime: MimeTypes, method: str = "GET",
        headers: list[tuple[str, str]] | None = None) -> Reply:
    def handler(conn: WireConnection) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            serve_file(cast("HTTPConnection", conn), str(path), os.fstat(fd), fd, mime)
        finally:
            os.close(fd)

    return _exchange(handler, method, "/" + path.name, [("Host", "www.example.test"), *(headers or [])])


def test_get_whole_file(page: Path, mime: MimeTypes) -> None:
    reply = get(page, mime)
    assert reply.status == 200
    assert reply.body == CONTENT
    assert reply.after_head == CONTENT
    assert reply.headers["content-length"] == str(SIZE)
    assert reply.headers["content-type"] == "text/plain"
    assert reply.headers["accept-ranges"] == "bytes"
    assert reply.headers["last-modified"] == LAST_MODIFIED
    assert reply.headers["etag"] == ETAG


def test_etag_is_apache_size_mtime_form(page: Path, mime: MimeTypes) -> None:
    # FileETag MTime Size: size and mtime in microseconds, lower-case hex.
    assert get(page, mime).headers["etag"] == '"404-5af3107a5e240"'


def test_head_has_the_headers_of_get_but_no_body(page: Path, mime: MimeTypes) -> None:
    get_reply = get(page, mime)
    head_reply = get(page, mime, "HEAD")
    assert head_reply.status == 200
    assert head_reply.after_head == b""
    for name in ("content-length", "content-type", "etag", "last-modified", "accept-ranges"):
        assert head_reply.headers[name] == get_reply.headers[name]


def test_unknown_type_has_no_content_type(tmp_path: Path, mime: MimeTypes) -> None:
    path = tmp_path / "LICENSE"
    path.write_bytes(b"free\n")
    reply = get(path, mime)
    assert reply.status == 200
    assert "content-type" not in reply.headers
    assert reply.body == b"free\n"


def test_recently_modified_file_has_weak_etag(tmp_path: Path, mime: MimeTypes) -> None:
    path = tmp_path / "fresh.html"
    path.write_bytes(b"<p>new</p>")
    reply = get(path, mime)
    assert reply.headers["etag"].startswith('W/"a-')
    # A weak ETag cannot make a range request conditional.
    ranged = get(path, mime, headers=[("Range", "bytes=0-2"), ("If-Range", reply.headers["etag"])])
    assert ranged.status == 200
    assert ranged.body == b"<p>new</p>"


def test_future_mtime_is_not_announced(tmp_path: Path, mime: MimeTypes) -> None:
    path = tmp_path / "future.txt"
    path.write_bytes(b"x")
    later = time.time() + 86400
    os.utime(path, (later, later))
    reply = get(path, mime)
    assert reply.headers["last-modified"] != formatdate(int(later), usegmt=True)
    assert reply.headers["etag"].startswith("W/")


CONDITIONS = [
    # If-None-Match (weak comparison) and If-Modified-Since.
    ([("If-None-Match", "{etag}")], 304),
    ([("If-None-Match", "W/{etag}")], 304),
    ([("If-None-Match", '"other"')], 200),
    ([("If-None-Match", '"other", {etag}')], 304),
    ([("If-None-Match", '"other"'), ("If-None-Match", "{etag}")], 304),
    ([("If-None-Match", "*")], 304),
    ([("If-Modified-Since", "{lm}")], 304),
    ([("If-Modified-Since", "Sunday, 13-Sep-20 12:26:40 GMT")], 304),
    ([("If-Modified-Since", "Sun Sep 13 12:26:40 2020")], 304),
    ([("If-Modified-Since", "{before}")], 200),
    ([("If-Modified-Since", "{future}")], 200),
    ([("If-Modified-Since", "yesterday")], 200),
    # If-None-Match present: If-Modified-Since is not looked at.
    ([("If-None-Match", '"other"'), ("If-Modified-Since", "{lm}")], 200),
    ([("If-None-Match", "{etag}"), ("If-Modified-Since", "{before}")], 304),
    # If-Match (strong comparison) and If-Unmodified-Since.
    ([("If-Match", "{etag}")], 200),
    ([("If-Match", '"a", {etag}')], 200),
    ([("If-Match", "*")], 200),
    ([("If-Match", '"other"')], 412),
    ([("If-Match", "W/{etag}")], 412),
    ([("If-Unmodified-Since", "{lm}")], 200),
    ([("If-Unmodified-Since", "{before}")], 412),
    ([("If-Unmodified-Since", "not a date")], 200),
    # If-Match present: If-Unmodified-Since is not looked at.
    ([("If-Match", "{etag}"), ("If-Unmodified-Since", "{before}")], 200),
    # Preconditions that fail win over a 304.
    ([("If-Match", '"other"'), ("If-None-Match", "{etag}")], 412),
    ([("If-Unmodified-Since", "{before}"), ("If-None-Match", "{etag}")], 412),
    ([("If-Match", "{etag}"), ("If-None-Match", "{etag}")], 304),
]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize(("headers", "status"), CONDITIONS)
def test_conditional_requests(page: Path, mime: MimeTypes, method: str,
                              headers: list[tuple[str, str]], status: int) -> None:
    values = {"etag": ETAG, "lm": LAST_MODIFIED, "before": BEFORE, "future": FUTURE}
    sent = [(name, value.format(**values)) for name, value in headers]
    reply = get(page, mime, method, sent)
    assert reply.status == status
    if status == 200:
        assert reply.body == (CONTENT if method == "GET" else b"")


def test_not_modified_has_validators_and_no_body(page: Path, mime: MimeTypes) -> None:
    reply = get(page, mime, headers=[("If-None-Match", ETAG)])
    assert reply.status == 304
    assert reply.headers["etag"] == ETAG
    assert reply.headers["last-modified"] == LAST_MODIFIED
    assert reply.after_head == b""
    assert "content-type" not in reply.headers


RANGES = [
    ("bytes=0-9", 0, 9),
    ("bytes=1000-", 1000, SIZE - 1),
    ("bytes=-4", SIZE - 4, SIZE - 1),
    ("bytes=1020-99999", 1020, SIZE - 1),
    ("bytes=-99999", 0, SIZE - 1),
    ("bytes=5-5", 5, 5),
    ("Bytes=3-4", 3, 4),
    ("bytes= 2-3 ,", 2, 3),
]


@pytest.mark.parametrize(("value", "first", "last"), RANGES)
def test_single_range_is_partial_content(page: Path, mime: MimeTypes, value: str,
                                         first: int, last: int) -> None:
    reply = get(page, mime, headers=[("Range", value)])
    assert reply.status == 206
    assert reply.headers["content-range"] == f"bytes {first}-{last}/{SIZE}"
    assert reply.headers["content-length"] == str(last - first + 1)
    assert reply.body == CONTENT[first : last + 1]
    assert reply.after_head == CONTENT[first : last + 1]


@pytest.mark.parametrize("value", [
    "bytes=0-1,5-6",      # several ranges: the whole file
    "bytes=9-2",          # last before first: invalid
    "bytes=abc",
    "bytes=-",
    "bytes=",
    "bytes=1-2-3",
    "bytes=0x1-5",
    "items=0-5",
    "0-5",
])
def test_ranges_served_whole(page: Path, mime: MimeTypes, value: str) -> None:
    reply = get(page, mime, headers=[("Range", value)])
    assert reply.status == 200
    assert "content-range" not in reply.headers
    assert reply.body == CONTENT


@pytest.mark.parametrize("value", [f"bytes={SIZE}-", f"bytes={SIZE}-{SIZE + 10}", "bytes=99999-", "bytes=-0"])
def test_unsatisfiable_range(page: Path, mime: MimeTypes, value: str) -> None:
    reply = get(page, mime, headers=[("Range", value)])
    assert reply.status == 416
    assert reply.headers["content-range"] == f"bytes */{SIZE}"
    assert CONTENT not in reply.body


@pytest.mark.parametrize(("if_range", "status"), [
    ("{etag}", 206),
    ('"other"', 200),
    ("W/{etag}", 200),
    ("{lm}", 206),
    ("{before}", 200),
    ("garbage", 200),
])
def test_if_range(page: Path, mime: MimeTypes, if_range: str, status: int) -> None:
    value = if_range.format(etag=ETAG, lm=LAST_MODIFIED, before=BEFORE)
    reply = get(page, mime, headers=[("Range", "bytes=0-3"), ("If-Range", value)])
    assert reply.status == status
    assert reply.body == (CONTENT[:4] if status == 206 else CONTENT)


def test_if_range_mismatch_ignores_even_an_unsatisfiable_range(page: Path, mime: MimeTypes) -> None:
    reply = get(page, mime, headers=[("Range", "bytes=99999-"), ("If-Range", '"other"')])
    assert reply.status == 200
    assert reply.body == CONTENT


def test_range_is_checked_after_preconditions(page: Path, mime: MimeTypes) -> None:
    reply = get(page, mime, headers=[("Range", "bytes=0-3"), ("If-None-Match", ETAG)])
    assert reply.status == 304


def test_head_ignores_range(page: Path, mime: MimeTypes) -> None:
    reply = get(page, mime, "HEAD", [("Range", "bytes=0-3")])
    assert reply.status == 200
    assert reply.headers["content-length"] == str(SIZE)
    assert reply.after_head == b""


def test_empty_file(tmp_path: Path, mime: MimeTypes) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    plain = get(path, mime)
    assert (plain.status, plain.headers["content-length"], plain.body) == (200, "0", b"")
    ranged = get(path, mime, headers=[("Range", "bytes=0-")])
    assert (ranged.status, ranged.body) == (200, b"")


def test_large_file_through_sendfile(tmp_path: Path, mime: MimeTypes) -> None:
    path = tmp_path / "big.bin"
    data = os.urandom(3 * 1024 * 1024 + 17)
    path.write_bytes(data)
    whole = get(path, mime)
    assert whole.body == data
    assert "content-type" not in whole.headers
    middle = get(path, mime, headers=[("Range", "bytes=1000000-2999999")])
    assert middle.status == 206
    assert middle.body == data[1000000:3000000]


def test_options_lists_allowed_methods(page: Path, mime: MimeTypes) -> None:
    reply = get(page, mime, "OPTIONS")
    assert reply.status == 200
    assert reply.headers["allow"] == ALLOW
    assert reply.headers["content-length"] == "0"
    assert reply.body == b""


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PROPFIND"])
def test_other_methods_not_allowed(page: Path, mime: MimeTypes, method: str) -> None:
    reply = get(page, mime, method)
    assert reply.status == 405
    assert reply.headers["allow"] == ALLOW
    assert CONTENT not in reply.body


def test_unknown_method_not_implemented(page: Path, mime: MimeTypes) -> None:
    assert get(page, mime, "BREW").status == 501


def redirect(target: str, headers: list[tuple[str, str]], raw_request: bytes | None = None) -> Reply:
    def handler(conn: WireConnection) -> None:
        redirect_to_slash(cast("HTTPConnection", conn), cast("HTTPRequest", conn.request))

    return _exchange(handler, "GET", target, headers, raw_request)


@pytest.mark.parametrize(("target", "host", "location"), [
    ("/docs", "www.example.test", "http://www.example.test/docs/"),
    ("/docs", "WWW.Example.TEST", "http://www.example.test/docs/"),
    ("/docs?a=1&b=%20", "www.example.test:8080", "http://www.example.test:8080/docs/?a=1&b=%20"),
    ("/docs", "www.example.test:80", "http://www.example.test/docs/"),
    ("/a%20b/%C3%A9t%C3%A9", "www.example.test", "http://www.example.test/a%20b/%C3%A9t%C3%A9/"),
    ("/a%3Bb/~user/x%2By", "www.example.test", "http://www.example.test/a%3Bb/~user/x+y/"),
    ("/docs", "[::1]:8443", "http://[::1]:8443/docs/"),
])
def test_redirect_to_slash(target: str, host: str, location: str) -> None:
    reply = redirect(target, [("Host", host)])
    assert reply.status == 301
    assert reply.headers["location"] == location


def test_redirect_without_host_uses_local_address() -> None:
    reply = redirect("/docs?x", [("Host", "unused")], b"GET /docs?x HTTP/1.0\r\n\r\n")
    assert reply.status == 301
    assert reply.headers["location"] == f"http://{LOCAL_IP}:{LOCAL_PORT}/docs/?x"
