"""The FastCGI client against real, independent FastCGI servers.

flup's FastCGI server (tests/fcgi_apps, a WSGI app), php-cgi in FastCGI mode
(-b) and php-fpm (a pool running as a test user) each answer the same
client: bodies both ways, streaming, stderr, connection reuse, a backend
that dies mid-response.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from itkgw.config.modules.proxy_fcgi import ProxySettings
from itkgw.handlers.fcgi_client import Address, BackendError, BackendUnavailable, Connection, connect
from itkgw.handlers.fcgi_records import (
    MAX_CONTENT,
    ProtocolError,
    RecordReader,
    RecordType,
    decode_pairs,
    encode_pairs,
    record,
    stream,
)
from itkgw.handlers.proxy_fcgi import pass_match, script_filename
from tests.e2e.itkgw_proc import REPO, free_port
from tests.fpm import PHP_FPM, fpm_pool
from tests.sites import Users

PHP_CGI = "/usr/bin/php-cgi"

# -- the wire format ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 127, 128, 70_000])
def test_name_value_pairs_round_trip_at_every_length_form(size: int) -> None:
    pairs = {b"N" * size: b"v" * size, b"SCRIPT_FILENAME": b"/srv/a.php"}
    assert decode_pairs(encode_pairs(pairs)) == pairs


def test_pairs_encode_the_same_on_every_request() -> None:
    """Short pairs are kept encoded for the next request: the next request's bytes are the same,
    and a pair whose value changed is not taken for the one before."""
    first = {"SERVER_NAME": "a.example", "REQUEST_URI": "/x.php", "HTTP_COOKIE": "c" * 300}
    second = {**first, "REQUEST_URI": "/y.php"}
    for _ in range(2):
        assert decode_pairs(encode_pairs(first)) == {k.encode(): v.encode() for k, v in first.items()}
        assert decode_pairs(encode_pairs(second))[b"REQUEST_URI"] == b"/y.php"


def test_pairs_that_end_early_are_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        decode_pairs(encode_pairs({"NAME": "value"})[:-1])


def test_records_are_padded_and_streams_split_at_the_record_size() -> None:
    assert len(record(RecordType.STDIN, 1, b"abc")) == 8 + 8
    data = os.urandom(MAX_CONTENT + 10)
    reader = RecordReader()
    records = []
    for byte in stream(RecordType.STDIN, 1, data):  # fed one byte at a time
        records += reader.feed(bytes((byte,)))
    assert [len(item.content) for item in records] == [MAX_CONTENT, 10]
    assert b"".join(item.content for item in records) == data and reader.pending == 0
    assert stream(RecordType.STDIN, 1, b"") == record(RecordType.STDIN, 1)


def test_a_record_of_another_version_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="version 9"):
        list(RecordReader().feed(b"\x09" + record(RecordType.STDOUT, 1, b"x")[1:]))


def test_addresses_read_as_apache_writes_them() -> None:
    assert Address.parse("unix:/run/php/a.sock") == Address(path="/run/php/a.sock")
    assert Address.parse("127.0.0.1:9000") == Address(host="127.0.0.1", port=9000)
    assert str(Address.parse("[::1]:9000")) == "[::1]:9000"
    with pytest.raises(ValueError):
        Address.parse("localhost")


# -- a real peer: flup's FastCGI server ---------------------------------------------------------


def wait_for(condition: object, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what} never happened"
        time.sleep(0.02)


@pytest.fixture
def flup() -> Iterator[Address]:
    directory = Path(tempfile.mkdtemp(prefix="itkgw-fcgi-"))
    path = directory / "app.sock"
    server = subprocess.Popen([sys.executable, "-m", "tests.fcgi_apps", str(path)], cwd=REPO)
    try:
        wait_for(path.exists, "flup's socket")
        yield Address(path=str(path))
    finally:
        server.kill()
        server.wait()
        shutil.rmtree(directory)


class Collected:
    """What one request produced, in the order it came."""

    def __init__(self) -> None:
        self.stdout: list[bytes] = []
        self.stderr: list[bytes] = []
        self.arrived: list[float] = []

    def out(self, data: bytes) -> None:
        self.stdout.append(data)
        self.arrived.append(time.monotonic())

    @property
    def body(self) -> bytes:
        """The response after its CGI-style head."""
        return b"".join(self.stdout).split(b"\r\n\r\n", 1)[1]


def ask(connection: Connection, path: str, body: list[bytes] | None = None, **params: str) -> Collected:
    got = Collected()
    environ = {"REQUEST_METHOD": "POST" if body else "GET", "SCRIPT_NAME": "", "PATH_INFO": path,
               "QUERY_STRING": "", "SERVER_NAME": "test", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
               "CONTENT_LENGTH": str(sum(len(piece) for piece in body or [])), **params}
    connection.request(environ, body or [], got.out, got.stderr.append, io_timeout=10)
    return got


@pytest.mark.parametrize("size", [0, 1, 64 * 1024, 50 * 1024 * 1024], ids=["0B", "1B", "64KiB", "50MB"])
def test_bodies_of_every_size_reach_the_backend_whole(flup: Address, size: int) -> None:
    body = os.urandom(size)
    pieces = [body[start:start + 65536] for start in range(0, size, 65536)]
    got = ask(connect(flup, 5), "/echo", pieces)
    assert got.body == f"{hashlib.sha256(body).hexdigest()} {size}".encode()
    assert b"echo: read the body" in b"".join(got.stderr)


def test_a_large_response_streams_back(flup: Address) -> None:
    got = ask(connect(flup, 5), "/big")
    assert got.body == b"x" * (50 << 20)


def test_output_reaches_the_caller_before_the_script_ends(flup: Address) -> None:
    started = time.monotonic()
    got = ask(connect(flup, 5), "/stream")
    assert got.body == b"first\nsecond\n"
    assert got.arrived[0] - started < 0.8 and got.arrived[-1] - started > 0.9


def test_params_reach_the_backend(flup: Address) -> None:
    got = ask(connect(flup, 5), "/env", HTTP_X_TEST="hello", QUERY_STRING="a=1")
    assert b"HTTP_X_TEST=hello" in got.body and b"QUERY_STRING=a=1" in got.body


def test_a_kept_connection_carries_the_next_request(flup: Address) -> None:
    connection = connect(flup, 5)
    assert ask(connection, "/env").body.startswith(b"REQUEST_METHOD=GET")
    assert connection.usable
    assert ask(connection, "/echo", [b"again"]).body.endswith(b" 5")


def test_a_backend_dying_mid_response_is_a_502_and_the_connection_is_dropped(flup: Address) -> None:
    connection = connect(flup, 5)
    with pytest.raises(BackendError) as failed:
        ask(connection, "/die")
    assert failed.value.status == 502 and "closed the connection" in str(failed.value.log)
    assert not connection.usable


def test_a_caller_gone_mid_response_aborts_and_drops_the_connection(flup: Address) -> None:
    connection = connect(flup, 5)

    def gone(data: bytes) -> None:
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        connection.request({"PATH_INFO": "/stream", "REQUEST_METHOD": "GET"}, [], gone, lambda data: None, 10)
    assert not connection.usable


def test_no_listener_is_a_503_naming_the_backend(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailable) as missing:
        connect(Address(path=str(tmp_path / "none.sock")), 1)
    assert missing.value.status == 503 and "none.sock" in str(missing.value.log)
    port = free_port()
    with pytest.raises(BackendUnavailable, match="Connection refused"):
        connect(Address(host="127.0.0.1", port=port), 1)


def test_garbage_instead_of_fastcgi_is_a_502() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    connection = connect(Address(host="127.0.0.1", port=port), 5)
    peer, _ = listener.accept()
    peer.sendall(b"HTTP/1.1 200 OK\r\n\r\n")
    try:
        with pytest.raises(BackendError, match="not a FastCGI response"):
            ask(connection, "/")
    finally:
        peer.close()
        listener.close()


def _read_request(peer: socket.socket) -> bytes:
    """One request's records off ``peer``, through the end of its STDIN; its STDIN."""
    reader, stdin = RecordReader(), b""
    while True:
        data = peer.recv(65536)
        assert data, "the client closed before its request ended"
        for item in reader.feed(data):
            if item.type == RecordType.STDIN:
                if not item.content:
                    return stdin
                stdin += item.content


def _answer(peer: socket.socket, text: bytes) -> None:
    peer.sendall(stream(RecordType.STDOUT, 1, b"Content-Type: text/plain\r\n\r\n" + text)
                 + record(RecordType.STDOUT, 1) + record(RecordType.END_REQUEST, 1, bytes(8)))


@pytest.mark.parametrize("replayable", [True, False])
def test_a_body_read_whole_goes_again_when_a_kept_connection_ends_unanswered(replayable: bool) -> None:
    """A server that ends a kept connection as the next request arrives (php-fpm's worker at
    pm.max_requests) answers nothing: a body the caller read whole (a list) goes once more on a
    new connection; one still coming from the client (an iterator) cannot, and is a 502."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)
    address = Address(host="127.0.0.1", port=listener.getsockname()[1])
    received: list[bytes] = []

    def serve() -> None:
        first, _ = listener.accept()
        with first:
            received.append(_read_request(first))
            _answer(first, b"first")
            received.append(_read_request(first))  # and the connection ends, unanswered
        if replayable:
            second, _ = listener.accept()
            with second:
                received.append(_read_request(second))
                _answer(second, b"second")

    peer = threading.Thread(target=serve, daemon=True)
    peer.start()
    try:
        connection = connect(address, 5)
        assert ask(connection, "/", [b"one"]).body == b"first"
        got = Collected()
        environ = {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": "3"}
        body = [b"two"] if replayable else iter([b"two"])
        if replayable:
            connection.request(environ, body, got.out, got.stderr.append, io_timeout=10)
            assert (got.body, received) == (b"second", [b"one", b"two", b"two"])
        else:
            with pytest.raises(BackendError, match="without answering"):
                connection.request(environ, body, got.out, got.stderr.append, io_timeout=10)
    finally:
        peer.join(10)
        listener.close()


# -- real peers: php-cgi -b and php-fpm ------------------------------------------------------------


HELLO_PHP = """<?php
header('Content-Type: text/plain');
$body = file_get_contents('php://input');
error_log('hello from php');
printf("uid=%d len=%d sha=%s", posix_getuid(), strlen($body), hash('sha256', $body));
"""


def php_params(script: Path, body: bytes) -> dict[str, str]:
    return {"SCRIPT_FILENAME": str(script), "REQUEST_METHOD": "POST", "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": "application/octet-stream", "REDIRECT_STATUS": "200", "QUERY_STRING": "",
            "SCRIPT_NAME": "/hello.php", "REQUEST_URI": "/hello.php", "SERVER_PROTOCOL": "HTTP/1.1",
            "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_NAME": "test", "SERVER_PORT": "80"}


def php_answer(connection: Connection, script: Path, body: bytes) -> tuple[bytes, bytes]:
    got = Collected()
    connection.request(php_params(script, body), [body] if body else [], got.out, got.stderr.append, 10)
    return got.body, b"".join(got.stderr)


@pytest.mark.skipif(not os.access(PHP_CGI, os.X_OK), reason="needs /usr/bin/php-cgi")
@pytest.mark.parametrize("size", [0, 1, 64 * 1024], ids=["0B", "1B", "64KiB"])
def test_php_cgi_in_fastcgi_mode_answers(tmp_path: Path, size: int) -> None:
    script = tmp_path / "hello.php"
    script.write_text(HELLO_PHP)
    port = free_port()
    server = subprocess.Popen([PHP_CGI, "-b", f"127.0.0.1:{port}"], env={"PHP_FCGI_CHILDREN": "0",
                                                                          "PATH": "/usr/bin:/bin"})
    try:
        wait_for(lambda: _listening(port), "php-cgi's listener")
        body = os.urandom(size)
        answer, stderr = php_answer(connect(Address(host="127.0.0.1", port=port), 5), script, body)
        assert answer == f"uid={os.getuid()} len={size} sha={hashlib.sha256(body).hexdigest()}".encode()
        assert b"hello from php" in stderr
    finally:
        server.kill()
        server.wait()


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def alice_pool(test_users: Users) -> Iterator[tuple[Address, Path]]:
    """A php-fpm pool running as alice, and hello.php where it can read it."""
    if not os.access(PHP_FPM, os.X_OK):
        pytest.skip("needs php-fpm8.2")
    scripts = Path(tempfile.mkdtemp(prefix="itkgw-php-"))
    scripts.chmod(0o755)
    (scripts / "hello.php").write_text(HELLO_PHP)
    (scripts / "hello.php").chmod(0o644)
    try:
        with fpm_pool(test_users.alice) as socket_path:
            yield Address(path=str(socket_path)), scripts / "hello.php"
    finally:
        shutil.rmtree(scripts)


def test_php_fpm_answers_as_its_pool_user_and_keeps_the_connection(alice_pool, test_users: Users) -> None:
    address, script = alice_pool
    connection = connect(address, 5)
    for body in (b"", b"x", os.urandom(64 * 1024)):
        answer, _ = php_answer(connection, script, body)
        expected = f"uid={test_users.alice.pw_uid} len={len(body)} sha={hashlib.sha256(body).hexdigest()}"
        assert answer == expected.encode()
        assert connection.usable  # the same connection served all three


# -- ProxyPassMatch: which backend, and what SCRIPT_FILENAME says ----------------------------------


def test_the_first_matching_proxypassmatch_names_the_backend() -> None:
    settings = ProxySettings(pass_match=(("^/static/", "!"),
                                         (r"^/(.*\.php(/.*)?)$", "fcgi://127.0.0.1:9000/srv/$1")))
    assert pass_match(settings, "/a/b.php/x") == "fcgi://127.0.0.1:9000/srv/a/b.php/x"
    assert pass_match(settings, "/static/b.php") is None
    assert pass_match(settings, "/a.html") is None
    assert pass_match(ProxySettings(), "/a.php") is None


@pytest.mark.parametrize(("url", "backend_type", "expected"), [
    ("fcgi://127.0.0.1:9000/srv/a.php", None, "proxy:fcgi://127.0.0.1:9000/srv/a.php"),
    ("fcgi://127.0.0.1:9000/srv/a.php", "generic", "/srv/a.php"),
    ("unix:/run/a.sock|fcgi://localhost/srv/a.php", None, "proxy:fcgi://localhost/srv/a.php"),
    ("unix:/run/a.sock|fcgi://localhost/srv/a.php", "generic", "/srv/a.php"),
])
def test_script_filename_is_what_mod_proxy_fcgi_sends(url: str, backend_type: str | None,
                                                      expected: str) -> None:
    assert script_filename(url, backend_type) == expected
