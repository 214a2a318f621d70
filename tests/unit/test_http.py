"""The HTTP driver against raw requests from the corpus, fed in random chunks."""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from pathlib import Path
from typing import Iterator

import h11
import pytest

from itkgw.config.model import HeaderRule
from itkgw.errors import HTTPError
from itkgw.http.connection import (
    ClientGone,
    HTTPConnection,
    Limits,
    _decoded,
    apply_header_rules,
    decode_path,
    one_vary,
)

CORPUS = Path(__file__).parent.parent / "corpus" / "http"
_feeders: list[threading.Thread] = []


@pytest.fixture(autouse=True)
def _feeders_joined() -> Iterator[None]:
    """No feeding thread outlives its test (later tests fork); tcp_pair is conftest's."""
    yield
    while _feeders:
        _feeders.pop().join(timeout=5)


def feed(client: socket.socket, data: bytes, seed: int, pause: float = 0.0) -> threading.Thread:
    """Write ``data`` in random chunk sizes from a thread, as a slow client would."""

    def run() -> None:
        rng = random.Random(seed)
        offset = 0
        while offset < len(data):
            size = rng.randint(1, 7)
            try:
                client.sendall(data[offset : offset + size])
            except OSError:
                return  # the server side gave up on us, which some tests expect
            offset += size
            if pause:
                time.sleep(pause)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    _feeders.append(thread)
    return thread


def response_status(client: socket.socket) -> int:
    parser = h11.Connection(h11.CLIENT)
    parser.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
    client.settimeout(5)
    while True:
        event = parser.next_event()
        if event is h11.NEED_DATA:
            parser.receive_data(client.recv(65536))
            continue
        assert isinstance(event, h11.Response)
        return int(event.status_code)


VALID = json.loads((CORPUS / "valid" / "expect.json").read_text())
INVALID = json.loads((CORPUS / "invalid" / "expect.json").read_text())


@pytest.mark.parametrize("name", sorted(VALID))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_valid_requests_parse_whatever_the_chunking(tcp_pair, name: str, seed: int) -> None:
    server, client = tcp_pair
    feed(client, (CORPUS / "valid" / name).read_bytes(), seed)
    conn = HTTPConnection(server, Limits(timeout=5))
    request = conn.next_request(first=True)
    expected = VALID[name]
    assert request is not None
    assert (request.method, request.path, request.host, request.query) == (
        expected["method"], expected["path"], expected["host"], expected["query"])
    body = b"".join(conn.body_chunks()) if request.has_body else b""
    assert body.decode() == expected["body"]


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_requests_get_their_status(tcp_pair, name: str) -> None:
    server, client = tcp_pair
    feed(client, (CORPUS / "invalid" / name).read_bytes(), seed=7)
    conn = HTTPConnection(server, Limits(timeout=5))
    with pytest.raises(HTTPError) as caught:
        conn.next_request(first=True)
    assert caught.value.status == INVALID[name]
    conn.send_error(caught.value.status)
    assert response_status(client) == INVALID[name]


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\n" + b"X-Many: 1\r\n" * 101 + b"\r\n", 400),
    ],
)
def test_request_limits(tcp_pair, head: bytes, status: int) -> None:
    server, client = tcp_pair
    client.sendall(head)
    conn = HTTPConnection(server, Limits(timeout=5))
    with pytest.raises(HTTPError) as caught:
        conn.next_request(first=True)
    assert caught.value.status == status


def test_body_over_limit_is_413_before_reading_it(tcp_pair) -> None:
    server, client = tcp_pair
    client.sendall(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000\r\n\r\n")
    conn = HTTPConnection(server, Limits(timeout=5, body=1000))
    assert conn.next_request(first=True) is not None
    with pytest.raises(HTTPError) as caught:
        list(conn.body_chunks())
    assert caught.value.status == 413


def test_chunked_body_over_limit_is_413(tcp_pair) -> None:
    server, client = tcp_pair
    chunk = b"400\r\n" + b"x" * 1024 + b"\r\n"
    client.sendall(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk * 3)
    conn = HTTPConnection(server, Limits(timeout=5, body=2000))
    assert conn.next_request(first=True) is not None
    with pytest.raises(HTTPError) as caught:
        list(conn.body_chunks())
    assert caught.value.status == 413


def test_slow_head_gets_408(tcp_pair) -> None:
    server, client = tcp_pair
    client.sendall(b"GET / HTTP/1.1\r\nHo")
    conn = HTTPConnection(server, Limits(timeout=0.5))
    with pytest.raises(HTTPError) as caught:
        conn.next_request(first=True)
    assert caught.value.status == 408


def test_drip_fed_head_is_cut_off_by_the_head_deadline(tcp_pair) -> None:
    """A client sending a byte every 0.1 s never hits the read timeout, only the deadline."""
    server, client = tcp_pair
    feed(client, b"GET / HTTP/1.1\r\nHost: a\r\nX-Slow: " + b"s" * 200, seed=1, pause=0.1)
    conn = HTTPConnection(server, Limits(timeout=1.0))
    started = time.monotonic()
    with pytest.raises(HTTPError) as caught:
        conn.next_request(first=True)
    assert caught.value.status == 408
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("how", ["data", "file"])
def test_a_client_that_stops_reading_is_let_go_after_the_timeout(tcp_pair, tmp_path: Path, how: str) -> None:
    """Its socket full, a write waits Timeout, then the connection is given up, never held."""
    server, client = tcp_pair
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.sendall(b"GET /big HTTP/1.1\r\nHost: a\r\n\r\n")
    conn = HTTPConnection(server, Limits(timeout=0.5))
    assert conn.next_request(first=True) is not None
    size = 64 << 20
    conn.send_response_head(200, [("Content-Length", str(size))])
    started = time.monotonic()
    with pytest.raises(ClientGone, match="read nothing for 0.5 seconds"):
        if how == "data":
            for _ in range(size // (1 << 20)):
                conn.send_data(b"x" * (1 << 20))
        else:
            big = tmp_path / "big"
            with big.open("wb") as out:
                out.truncate(size)
            with big.open("rb") as source:
                conn.send_file(source.fileno(), 0, size)
    assert 0.4 < time.monotonic() - started < 5


def test_idle_keep_alive_connection_closes_quietly(tcp_pair) -> None:
    server, _client = tcp_pair
    conn = HTTPConnection(server, Limits(timeout=5, keep_alive_timeout=0.2))
    assert conn.next_request(first=False) is None


@pytest.mark.parametrize(("quiet", "idle_after"), [(0.0, 1.0), (0.3, 0.1)])
def test_the_idle_hook_runs_once_when_the_next_request_is_slow_to_come(tcp_pair, quiet: float,
                                                                       idle_after: float) -> None:
    """What a connection holds for its next request (a FastCGI process) goes back once the
    client is quiet for idle_after; the wait goes on within KeepAliveTimeout, and a request
    that comes in time leaves the hook unrun."""
    server, client = tcp_pair
    calls: list[float] = []
    conn = HTTPConnection(server, Limits(timeout=5, keep_alive_timeout=2))
    conn.on_idle, conn.idle_after = lambda: calls.append(time.monotonic()), idle_after
    started = time.monotonic()
    timer = threading.Timer(quiet, client.sendall, [b"GET /next HTTP/1.1\r\nHost: a\r\n\r\n"])
    timer.start()
    try:
        request = conn.next_request(first=False)
    finally:
        timer.join()
    assert request is not None and request.path == "/next"
    assert len(calls) == (1 if quiet else 0) and conn.on_idle is None
    if quiet:
        assert idle_after - 0.01 < calls[0] - started < quiet


def test_an_idle_hook_does_not_stretch_keep_alive_timeout(tcp_pair) -> None:
    server, _client = tcp_pair
    calls: list[int] = []
    conn = HTTPConnection(server, Limits(timeout=5, keep_alive_timeout=0.3))
    conn.on_idle, conn.idle_after = lambda: calls.append(1), 0.05
    started = time.monotonic()
    assert conn.next_request(first=False) is None
    assert calls == [1] and time.monotonic() - started < 0.6


def test_pipelined_requests_are_both_served(tcp_pair) -> None:
    server, client = tcp_pair
    client.sendall(b"GET /one HTTP/1.1\r\nHost: a\r\n\r\nGET /two HTTP/1.1\r\nHost: a\r\n\r\n")
    conn = HTTPConnection(server, Limits(timeout=5))
    first = conn.next_request(first=True)
    assert first is not None and first.path == "/one"
    conn.send_response_head(200, [("Content-Length", "2")])
    conn.send_data(b"ok")
    conn.end_response()
    assert conn.start_next_cycle()
    second = conn.next_request(first=False)
    assert second is not None and second.path == "/two"


def test_head_response_carries_no_body(tcp_pair) -> None:
    server, client = tcp_pair
    client.sendall(b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n")
    conn = HTTPConnection(server, Limits(timeout=5))
    conn.next_request(first=True)
    conn.send_response_head(200, [("Content-Length", "5")])
    conn.send_data(b"hello")
    conn.end_response()
    client.settimeout(2)
    raw = client.recv(65536)
    assert raw.startswith(b"HTTP/1.1 200 ")
    assert raw.endswith(b"\r\n\r\n") and b"hello" not in raw


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [("/", "/"), ("/a//b", "/a/b"), ("/a/./b/", "/a/b/"), ("/a/b/..", "/a/"), ("/%7Euser/", "/~user/"),
     ("/caf%C3%A9", "/café"),
     # UTF-8 sent unescaped (the target is latin-1 text of the bytes sent), with escapes or not.
     ("/caf\xc3\xa9", "/café"), ("/caf\xc3\xa9/%20x", "/café/ x"), ("/\xe9", "/\udce9")],
)
def test_decode_path(raw: str, decoded: str) -> None:
    assert decode_path(raw) == decoded


def test_a_post_to_a_path_sent_as_utf_8_has_its_body_read(tcp_pair) -> None:
    server, client = tcp_pair
    client.sendall(b"POST /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello")
    conn = HTTPConnection(server, Limits(timeout=5))
    request = conn.next_request(first=True)
    assert request is not None and decode_path(request.raw_path) == "/café"
    assert b"".join(conn.body_chunks()) == b"hello"


@pytest.mark.parametrize(("raw", "status"), [("/..", 400), ("/a/../../b", 400), ("/%2e%2e/x", 400),
                                             ("/a%2Fb", 404), ("/x%00", 404), ("/%", 400), ("x", 400)])
def test_decode_path_refuses(raw: str, status: int) -> None:
    with pytest.raises(HTTPError) as caught:
        decode_path(raw)
    assert caught.value.status == status


def test_an_encoded_slash_is_kept_for_the_vhost_to_judge(tcp_pair) -> None:
    """AllowEncodedSlashes is a vhost's: the head is read before its vhost is known."""
    server, client = tcp_pair
    client.sendall(b"GET /a%2fb/./c HTTP/1.1\r\nHost: a\r\n\r\n")
    request = HTTPConnection(server, Limits(timeout=5)).next_request(first=True)
    assert request is not None and (request.path, request.raw_path) == ("/a%2fb/c", "/a%2fb/./c")


@pytest.mark.parametrize(
    ("raw", "slashes", "merge", "decoded"),
    [("/a%2Fb", "on", True, "/a/b"), ("/a%2fb/..", "on", True, "/a/"), ("/a%2Fb/..", "nodecode", True, "/"),
     ("/x/a%2f%41", "nodecode", True, "/x/a%2fA"), ("/a//b/", "off", False, "/a//b/"),
     ("/a//../b", "off", False, "/a/b"), ("/a%2F%2Fb", "on", False, "/a//b")],
)
def test_decode_path_as_allow_encoded_slashes_and_merge_slashes_say(raw: str, slashes: str, merge: bool,
                                                                    decoded: str) -> None:
    assert decode_path(raw, slashes, merge) == decoded


def test_paths_without_escapes_or_dot_segments_decode_as_through_the_full_rules() -> None:
    """The shortcut for plain paths gives what percent-decoding and segment merging give."""
    rng = random.Random(20261203)
    pieces = ["/", "a", "b.txt", ".", "..", "~", "%41", "%2e", "-", "é"]
    for _ in range(3000):
        raw = "/" + "".join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))
        try:
            full: str | int = _decoded(raw, "off", True)
        except HTTPError as exc:
            full = exc.status
        try:
            ours: str | int = decode_path(raw)
        except HTTPError as exc:
            ours = exc.status
        assert ours == full, raw


# -- lingering close -----------------------------------------------------------------------


def closing_time(server: socket.socket, limits: Limits) -> float:
    """Seconds HTTPConnection.close() takes on ``server``."""
    started = time.monotonic()
    HTTPConnection(server, limits).close()
    return time.monotonic() - started


def test_lingering_close_ends_when_the_client_is_quiet(tcp_pair) -> None:
    server, client = tcp_pair
    assert closing_time(server, Limits(linger_quiet=0.3, linger_total=10)) < 1.0
    assert client.recv(10) == b""  # the client saw the end of the stream


def test_lingering_close_ends_in_time_however_the_client_dribbles(tcp_pair) -> None:
    """A byte every 0.1 s never leaves the 2 s quiet limit: only the total limit ends it."""
    server, client = tcp_pair
    stop = threading.Event()

    def dribble() -> None:
        give_up = time.monotonic() + 5  # a close without a total limit would wait for this
        while not stop.is_set() and time.monotonic() < give_up:
            try:
                client.send(b"x")
            except OSError:
                return
            time.sleep(0.1)

    dribbler = threading.Thread(target=dribble)
    dribbler.start()
    try:
        took = closing_time(server, Limits(linger_quiet=2.0, linger_total=1.0))
    finally:
        stop.set()
        dribbler.join(timeout=5)
    assert 0.9 < took < 1.8


def _answer(tcp_pair, request: bytes, head: list[tuple[str, str]], *pieces: bytes) -> tuple[bytes, bool]:
    """The raw response to ``request`` with ``head`` and body ``pieces``, and whether the
    connection may serve another request."""
    server, client = tcp_pair
    client.sendall(request)
    conn = HTTPConnection(server, Limits(timeout=5))
    conn.next_request(first=True)
    conn.send_response_head(200, head)
    for piece in pieces:
        conn.send_data(piece)
    conn.end_response()
    kept = conn.start_next_cycle()
    server.close()
    client.settimeout(2)
    raw = b""
    while chunk := client.recv(65536):
        raw += chunk
    return raw, kept


def test_a_body_of_unknown_length_is_chunked_for_http11_and_ends_the_connection_for_http10(tcp_pair) -> None:
    raw, kept = _answer(tcp_pair, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", [], b"ab", b"cde")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"\r\nTransfer-Encoding: chunked" in head and body == b"2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n" and kept


def test_an_http10_client_without_keep_alive_gets_the_body_until_close(tcp_pair) -> None:
    raw, kept = _answer(tcp_pair, b"GET / HTTP/1.0\r\n\r\n", [], b"abc")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert (b"Transfer-Encoding" not in head, head.endswith(b"Connection: close"), body, kept) == (
        True, True, b"abc", False)


def test_bytes_beyond_content_length_are_dropped_and_the_connection_ends(tcp_pair) -> None:
    raw, kept = _answer(tcp_pair, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", [("Content-Length", "3")], b"abcdef")
    assert raw.partition(b"\r\n\r\n")[2] == b"abc" and not kept


def test_a_client_asking_to_close_is_told_so(tcp_pair) -> None:
    raw, kept = _answer(tcp_pair, b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                        [("Content-Length", "2")], b"ok")
    assert b"\r\nConnection: close\r\n" in raw and not kept


def test_a_header_name_that_is_no_token_is_refused(tcp_pair) -> None:
    server, client = tcp_pair
    client.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    conn = HTTPConnection(server, Limits(timeout=5))
    conn.next_request(first=True)
    with pytest.raises(HTTPError) as refused:
        conn.send_response_head(200, [("Bad Name", "x")])
    assert refused.value.status == 500


def test_header_append_and_merge_join_the_first_header_of_the_name_where_it_stands() -> None:
    """apr_table_merge: httpd's mod_headers appends to the first header of the name; the others
    stay as they are, and merge looks at the first one's values alone."""
    headers = [("Vary", "A"), ("X-Other", "1"), ("Vary", "B")]
    assert apply_header_rules(headers, [HeaderRule("append", "Vary", "C")]) == [
        ("Vary", "A, C"), ("X-Other", "1"), ("Vary", "B")]
    assert apply_header_rules(headers, [HeaderRule("merge", "Vary", "A")]) == headers
    assert apply_header_rules(headers, [HeaderRule("merge", "Vary", "B")]) == [
        ("Vary", "A, B"), ("X-Other", "1"), ("Vary", "B")]
    assert apply_header_rules([], [HeaderRule("append", "Vary", "C")]) == [("Vary", "C")]


def test_vary_headers_become_one_as_httpds_header_filter_makes_them() -> None:
    headers = [("Content-Type", "text/plain"), ("Vary", "Accept-Encoding, Cookie"), ("X-A", "1"),
               ("vary", "cookie,User-Agent"), ("Vary", " ")]
    assert one_vary(headers) == [("Content-Type", "text/plain"),
                                 ("Vary", "Accept-Encoding,Cookie,User-Agent"), ("X-A", "1")]
    assert one_vary([("Vary", ""), ("X-A", "1")]) == [("Vary", ""), ("X-A", "1")]  # nothing to make one of


def test_the_vary_of_rewrite_conditions_goes_before_the_handler_s_headers() -> None:
    """mod_rewrite notes its Vary in headers_out before the handler runs; a handler's own
    Vary takes the names into its place."""
    rule = HeaderRule("vary", "Vary", "User-Agent")
    assert apply_header_rules([("Accept-Ranges", "bytes"), ("X-App", "1")], [rule]) == [
        ("Vary", "User-Agent"), ("Accept-Ranges", "bytes"), ("X-App", "1")]
    assert apply_header_rules([("X-App", "1"), ("Vary", "Accept")], [rule]) == [
        ("X-App", "1"), ("Vary", "Accept, User-Agent")]


def test_an_edited_header_goes_last_as_httpd_adds_the_edited_values_back() -> None:
    rule = HeaderRule("edit", "Set-Cookie", "^(.*)$", replacement="$1; HttpOnly")
    headers = [("Set-Cookie", "a=1"), ("X-Powered-By", "PHP"), ("Set-Cookie", "b=2")]
    assert apply_header_rules(headers, [rule]) == [
        ("X-Powered-By", "PHP"), ("Set-Cookie", "a=1; HttpOnly"), ("Set-Cookie", "b=2; HttpOnly")]
    assert apply_header_rules([("X-A", "1")], [rule]) == [("X-A", "1")]


@pytest.mark.parametrize(("variables", "head", "kept"), [
    ((), b"HTTP/1.1 200 OK\r\n", True),
    (("nokeepalive",), b"HTTP/1.1 200 OK\r\n", False),
    # downgrade-1.0 reads the request as HTTP/1.0: not chunked, not kept without keep-alive asked.
    (("downgrade-1.0",), b"HTTP/1.1 200 OK\r\n", False),
    (("force-response-1.0",), b"HTTP/1.1 200 OK\r\n", True),  # for HTTP/1.0 requests alone
    (("downgrade-1.0", "force-response-1.0"), b"HTTP/1.0 200 OK\r\n", False),
    (("force-no-vary",), b"HTTP/1.0 200 OK\r\n", False),
])
def test_special_variables_change_how_the_response_is_spoken(tcp_pair, variables: tuple[str, ...],
                                                            head: bytes, kept: bool) -> None:
    """mod_setenvif's variables for old clients, as httpd's header filter reads them."""
    server, client = tcp_pair
    client.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    conn = HTTPConnection(server, Limits(timeout=5))
    conn.next_request(first=True)
    conn.protocol_variables = frozenset(variables)
    conn.send_response_head(200, [("Vary", "Accept-Encoding")])
    conn.send_data(b"hello")
    conn.end_response()
    answer = b""
    client.settimeout(2)
    while b"hello" not in answer:
        answer += client.recv(65536)
    assert answer.startswith(head)
    read_as_10 = bool(set(variables) & {"downgrade-1.0", "force-no-vary"})
    assert (b"Transfer-Encoding: chunked" in answer) is not read_as_10
    assert (b"Vary: Accept-Encoding" in answer) is ("force-no-vary" not in variables)
    assert conn.start_next_cycle() is kept


def test_suppress_error_charset_leaves_the_charset_off_an_error_page(tcp_pair) -> None:
    server, client = tcp_pair
    client.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    conn = HTTPConnection(server, Limits(timeout=5))
    conn.next_request(first=True)
    conn.protocol_variables = frozenset({"suppress-error-charset"})
    conn.send_error(404)
    client.settimeout(2)
    assert b"\r\nContent-Type: text/html\r\n" in client.recv(65536)


def test_a_refused_head_is_named_as_sent_and_a_head_never_read_is_not(tcp_pair) -> None:
    server, client = tcp_pair
    client.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGARBAGE here\r\n\r\n")
    conn = HTTPConnection(server, Limits(timeout=5, request_line=100))
    conn.next_request(first=True)
    conn.send_response_head(200, [("Content-Length", "0")])
    conn.end_response()
    assert conn.start_next_cycle()
    with pytest.raises(HTTPError):
        conn.next_request(first=False)
    refused = conn.refused_request()
    assert refused is not None
    assert (refused.request_line, refused.method, refused.path, refused.http_version) == (
        "GARBAGE here", "GARBAGE", "here", "1.0")
    client.sendall(b"GET /" + b"a" * 200 + b" HTTP/1.1\r\n")  # longer than LimitRequestLine: never read
    with pytest.raises(HTTPError):
        conn.next_request(first=False)
    assert conn.refused_request() is None


@pytest.mark.parametrize(("target", "answer"), [
    (b"http://alice.test/a.txt", "/a.txt"), (b"HTTPS://alice.test/a.txt?x=1", "/a.txt"),
    (b"http:/a.txt", "/a.txt"),  # a path alone after the scheme: the path, Host as it is
    (b"ftp://alice.test/a.txt", 400), (b"gopher://alice.test/", 400), (b"mailto:a@b", 400),
])
def test_an_absolute_form_target_of_a_scheme_httpd_does_not_serve_is_a_400(tcp_pair, target: bytes,
                                                                          answer: object) -> None:
    server, client = tcp_pair
    client.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: alice.test\r\n\r\n")
    conn = HTTPConnection(server, Limits(timeout=5))
    if answer == 400:
        with pytest.raises(HTTPError) as caught:
            request = conn.next_request(first=True)
            decode_path(request.raw_path)  # a target that is no path: the 400 comes here
        assert caught.value.status == 400
    else:
        request = conn.next_request(first=True)
        assert request is not None and request.host == "alice.test"
        assert decode_path(request.raw_path) == answer


@pytest.mark.parametrize(("line", "logged", "version"), [
    (b"A B C D E", "A B C", "1.0"), (b"GET /x\tHTTP/1.1", "GET /x HTTP/1.1", "1.1"),
    (b"GET  /x HTTP/1.1 extra", "GET /x HTTP/1.1", "1.1"), (b"GET /x y HTTP/1.1", "GET /x y", "1.0"),
])
def test_a_refused_request_line_is_logged_as_its_first_three_words(tcp_pair, line: bytes, logged: str,
                                                                    version: str) -> None:
    """As httpd rebuilds r->the_request of a line it refused: method, target and protocol."""
    server, client = tcp_pair
    client.sendall(line + b"\r\nHost: a\r\n\r\n")
    conn = HTTPConnection(server, Limits(timeout=5))
    with pytest.raises(HTTPError):
        conn.next_request(first=True)
    refused = conn.refused_request()
    assert refused is not None and (refused.request_line, refused.http_version) == (logged, version)
