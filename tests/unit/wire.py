"""One request over loopback TCP: itkgw's own HTTPConnection serves, h11 reads as a browser.

Handler tests (static files, CGI, PHP) run the handler on the real connection
driver, so what they assert is what a client reads off the wire: the status
line, the headers with their framing, and the body bytes.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import h11

from itkgw.errors import HTTPError
from itkgw.http.connection import HTTPConnection, Limits, Request

WAIT = 10.0  # no test should get near this; it only keeps a broken one from hanging
SERVER_IP = "127.0.0.1"
#: Another loopback address for the client, so a test can tell the
#: server's address from the client's (SERVER_ADDR against REMOTE_ADDR).
CLIENT_IP = "127.0.0.2"

Handler = Callable[[HTTPConnection, Request], None]


@dataclass
class Reply:
    """What the client saw, and what the handler raised."""

    status: int = 0
    #: Header names in lower case, in the order they came.
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    #: (seconds since the request was sent, bytes) of each piece of body.
    pieces: list[tuple[float, bytes]] = field(default_factory=list)
    #: The response ended as its framing says, not by the connection breaking.
    complete: bool = False
    finished_at: float = 0.0
    #: Every byte the client received.
    raw: bytes = b""
    #: What the handler raised (the connection child would log or abort on it).
    error: BaseException | None = None
    server_address: tuple[str, int] = ("", 0)
    client_address: tuple[str, int] = ("", 0)

    def header(self, name: str) -> str | None:
        """The first value of header ``name``."""
        return next((value for key, value in self.headers if key == name.lower()), None)

    @property
    def after_head(self) -> bytes:
        """The bytes on the wire after the response head: must be exactly the body."""
        return self.raw.partition(b"\r\n\r\n")[2]


@contextmanager
def tcp_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A connected (server side, client side) pair over loopback TCP."""
    with socket.create_server((SERVER_IP, 0)) as listener:
        client = socket.create_connection(listener.getsockname(), source_address=(CLIENT_IP, 0))
        server, _ = listener.accept()
    try:
        yield server, client
    finally:
        server.close()
        client.close()


def exchange(handler: Handler, target: str = "/", method: str = "GET",
             headers: list[tuple[str, bytes | str]] | None = None, body: bytes = b"",
             host: str = "www.example.org", raw_request: bytes | None = None,
             read_pieces: int | None = None) -> Reply:
    """Send one request, let ``handler`` answer it on the real driver, read the reply.

    ``raw_request`` replaces the bytes on the wire (h11 only writes HTTP/1.1
    and wants a Host); the request described by the other arguments must
    still match it in method, for the client to frame the response. The
    request is written from a thread, so a handler that answers while it
    still reads the body cannot deadlock the test. With ``read_pieces`` the
    client hangs up after that many pieces of body. Errors other than an
    HTTPError or a lost client are raised here.
    """
    client = h11.Connection(h11.CLIENT)
    wire = _request_bytes(client, method, target, host, headers or [], body)
    reply = Reply()
    with tcp_pair() as (server_sock, client_sock):
        client_sock.settimeout(WAIT)
        reply.server_address = client_sock.getpeername()
        reply.client_address = client_sock.getsockname()
        server = threading.Thread(target=_serve, args=(server_sock, handler, reply), daemon=True)
        writer = threading.Thread(target=_write, args=(client_sock, raw_request or wire), daemon=True)
        started = time.monotonic()
        server.start()
        writer.start()
        try:
            _read_reply(client, client_sock, reply, started, read_pieces)
        finally:
            client_sock.close()
            server.join(WAIT)
            writer.join(WAIT)
    assert not server.is_alive(), "the handler did not return"
    assert not writer.is_alive(), "the request was not taken"
    if reply.error is not None and not isinstance(reply.error, (HTTPError, ConnectionError)):
        raise reply.error
    return reply


def _request_bytes(client: h11.Connection, method: str, target: str, host: str,
                   headers: list[tuple[str, bytes | str]], body: bytes) -> bytes:
    all_headers = [(b"Host", host.encode("latin-1"))]
    for name, value in headers:
        all_headers.append((name.encode(), value if isinstance(value, bytes) else value.encode("latin-1")))
    if body or method == "POST":
        all_headers.append((b"Content-Length", str(len(body)).encode()))
    wire = client.send(h11.Request(method=method, target=target, headers=all_headers)) or b""
    wire += (client.send(h11.Data(data=body)) or b"") if body else b""
    return wire + (client.send(h11.EndOfMessage()) or b"")


def _write(sock: socket.socket, data: bytes) -> None:
    try:
        sock.sendall(data)
    except OSError:
        return  # the server answered and hung up before reading it all


def _serve(sock: socket.socket, handler: Handler, reply: Reply) -> None:
    """The connection child's part: read the head, run the handler, answer its HTTPError."""
    conn = HTTPConnection(sock, Limits(timeout=WAIT))
    try:
        try:
            request = conn.next_request(first=True)
            assert request is not None, "the client sent no request"
            handler(conn, request)
        except HTTPError as exc:
            reply.error = exc
            if not conn.response_started:  # else the connection child can only abort
                conn.send_error(exc.status, exc.headers)
    except BaseException as exc:  # recorded for the test thread
        reply.error = exc
    finally:
        conn.close()


def _read_reply(client: h11.Connection, sock: socket.socket, reply: Reply, started: float,
                read_pieces: int | None) -> None:
    while True:
        try:
            event = client.next_event()
        except h11.RemoteProtocolError:
            return  # the server aborted in the middle of the body
        if event is h11.NEED_DATA:
            data = sock.recv(65536)
            reply.raw += data
            client.receive_data(data)
        elif isinstance(event, h11.Response):
            reply.status = event.status_code
            reply.headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in event.headers]
        elif isinstance(event, h11.Data):
            reply.body += event.data
            reply.pieces.append((time.monotonic() - started, bytes(event.data)))
            if read_pieces is not None and len(reply.pieces) >= read_pieces:
                return
        elif isinstance(event, h11.EndOfMessage):
            reply.complete = True
            reply.finished_at = time.monotonic() - started
            # Whatever follows until the server closes is on the wire too.
            while data := sock.recv(65536):
                reply.raw += data
            return
        elif isinstance(event, h11.ConnectionClosed):
            return
