"""MaxClientsVHost and the request limits, against a real server over loopback."""

from __future__ import annotations

import re
import socket
import threading
import time

import pytest

from tests.e2e.itkgw_proc import Itkgw, processes, vhost_for
from tests.sites import ALICE, BOB, Site


def two_vhosts(docroots: dict[str, Site], **alice_settings: object) -> list[dict[str, object]]:
    return [vhost_for(docroots[ALICE], "alice.test", **alice_settings), vhost_for(docroots[BOB], "bob.test")]


@pytest.mark.parametrize("limit", [1, 2])
def test_max_clients_vhost_refuses_exactly_the_one_too_many(itkgw_factory, docroots, limit: int) -> None:
    server = itkgw_factory(two_vhosts(docroots, max_clients_vhost=limit), start_servers=6,
                           min_spare_servers=6, max_spare_servers=8)
    statuses: list[int] = []

    def slow() -> None:
        statuses.append(server.request("alice.test", "/slow.cgi?2").status)

    threads = [threading.Thread(target=slow) for _ in range(limit + 1)]
    for started, thread in enumerate(threads, 1):
        thread.start()
        if started <= limit:  # each request is busy in its script before the next arrives
            _wait_for_scripts(server, started)
    # Another vhost is not limited by alice's busy connections.
    assert server.request("bob.test", "/index.html").status == 200
    for thread in threads:
        thread.join(timeout=15)
    assert sorted(statuses) == [200] * limit + [503]
    refused = f"MaxClientsVhost reached for alice.test:{server.port}, refusing client."
    assert refused in server.error_log_text()
    # Once the slow ones are done, the vhost serves again: as soon as their processes have seen
    # their clients close (a connection in lingering close still counts, as under httpd).
    until = time.monotonic() + 5
    while (again := server.request("alice.test", "/index.html").status) == 503 and time.monotonic() < until:
        time.sleep(0.05)
    assert again == 200


def _wait_for_scripts(server: Itkgw, count: int, timeout: float = 10.0) -> None:
    """Until ``count`` slow.cgi scripts run (each leads a session of its own)."""
    deadline = time.monotonic() + timeout
    while sum(1 for proc in processes() if "slow.cgi" in proc.cmdline) < count:
        assert time.monotonic() < deadline, f"{count} slow.cgi scripts never ran at once"
        time.sleep(0.02)


def raw_exchange(server: Itkgw, data: bytes, wait: float = 5.0) -> bytes:
    """Send raw bytes, return everything the server answers until it closes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=wait) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass  # the server may reset after answering an oversized request
        return b"".join(chunks)


def status_of(response: bytes) -> int:
    match = re.match(rb"HTTP/1\.[01] (\d{3}) ", response)
    assert match, response[:200]
    return int(match.group(1))


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: alice.test\r\nNo colon here\r\n\r\n", 400),
        (b"GET /../../etc/passwd HTTP/1.1\r\nHost: alice.test\r\n\r\n", 400),
        (b"GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: alice.test\r\n\r\n", 400),
        (b"GET /..%2f..%2fetc/passwd HTTP/1.1\r\nHost: alice.test\r\nConnection: close\r\n\r\n", 404),
        (b"GET /index.html%00.txt HTTP/1.1\r\nHost: alice.test\r\n\r\n", 404),
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: alice.test\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nHost: alice.test\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: alice.test\r\n" + b"X-Many: 1\r\n" * 120 + b"\r\n", 400),
        (b"POST /whoami.cgi HTTP/1.1\r\nHost: alice.test\r\nContent-Length: 5000\r\n\r\n", 413),
        (b"GET /nothing-here HTTP/1.1\r\nHost: alice.test\r\nConnection: close\r\n\r\n", 404),
    ],
    ids=["garbage", "no-colon", "dotdot", "encoded-dotdot", "encoded-slash", "nul", "long-line",
         "big-header", "many-headers", "big-body", "missing"],
)
def test_bad_requests_get_their_status(itkgw_factory, docroots, request_bytes: bytes, status: int) -> None:
    server = itkgw_factory(two_vhosts(docroots), limit_request_body=1000)
    response = raw_exchange(server, request_bytes)
    assert status_of(response) == status
    assert b"root:" not in response
    # The server is still fine afterwards.
    assert server.request("alice.test", "/index.html").status == 200


def test_slow_client_gets_408(itkgw_factory, docroots) -> None:
    server = itkgw_factory(two_vhosts(docroots), timeout=1)
    started = time.monotonic()
    response = raw_exchange(server, b"GET /index.html HTTP/1.1\r\nHost: ali")
    assert status_of(response) == 408
    assert time.monotonic() - started < 4


def test_request_read_timeout_bounds_heads_and_bodies_as_mod_reqtimeout(itkgw_factory, docroots) -> None:
    """A head whose request line is whole gets a 408 when its stage runs out, one whose line
    is not gets nothing; a body too slow for a static file is a 408 too (httpd reads it first)."""
    server = itkgw_factory(two_vhosts(docroots), timeout=30,
                           request_read_timeout={"header": "1-2,MinRate=500", "body": "1,MinRate=500"})
    started = time.monotonic()
    assert status_of(raw_exchange(server, b"GET /index.html HTTP/1.1\r\nHost: ali")) == 408
    assert time.monotonic() - started < 4
    assert raw_exchange(server, b"GET /index.ht") == b""
    body = b"POST /index.html HTTP/1.1\r\nHost: alice.test\r\nContent-Length: 100\r\n\r\n0123456789"
    assert status_of(raw_exchange(server, body)) == 408
    log = server.error_log_text()
    assert "[reqtimeout:info]" in log and "AH01382: Request header read timeout" in log
    assert "AH01382: Request body read timeout" in log


def test_a_static_file_reads_a_posted_body_first_and_keeps_the_connection(itkgw_factory, docroots) -> None:
    """However long the body (within LimitRequestBody), as httpd's default handler."""
    server = itkgw_factory(two_vhosts(docroots))
    body = b"x" * 300_000
    answer = raw_exchange(server, b"POST /index.html HTTP/1.1\r\nHost: alice.test\r\nContent-Length: %d\r\n"
                          b"\r\n%b" % (len(body), body)
                          + b"GET /index.html HTTP/1.1\r\nHost: alice.test\r\nConnection: close\r\n\r\n")
    assert answer.count(b"HTTP/1.1 200 OK") == 2


def test_server_status_shows_the_scoreboard_to_those_its_rules_admit(itkgw_factory, docroots) -> None:
    """mod_status: ?auto's lines count the requests served; the page is the admin's alone."""
    status = {"path": "/server-status", "set_handler": "server-status", "require": ["local"]}
    hidden = {"path": "/hidden-status", "set_handler": "server-status", "require": ["ip 10.0.0.1"]}
    server = itkgw_factory(two_vhosts(docroots, location=[status, hidden]))
    for _ in range(3):
        assert server.request("alice.test", "/index.html").status == 200
    auto = server.request("alice.test", "/server-status?auto")
    assert (auto.status, auto.headers["Content-Type"]) == (200, "text/plain; charset=ISO-8859-1")
    values = dict(line.split(": ", 1) for line in auto.body.decode().splitlines()[1:])
    assert int(values["Total Accesses"]) >= 3 and int(values["BusyWorkers"]) >= 1
    assert set(values["Scoreboard"]) <= set("_SRWKCG.") and "W" in values["Scoreboard"]
    page = server.request("alice.test", "/server-status")
    assert b"<h1>itkgw Server Status for alice.test" in page.body
    assert b"GET /server-status HTTP/1.1" in page.body and b"itkt-alice" in page.body
    assert server.request("alice.test", "/hidden-status").status == 403


def test_static_file_features_end_to_end(itkgw_factory, docroots) -> None:
    server = itkgw_factory(two_vhosts(docroots))
    status, headers, body = server.request("alice.test", "/index.html")
    assert (status, body) == (200, b"<h1>itkt-alice</h1>\n")
    assert headers["Content-Type"] == "text/html"
    etag = headers["ETag"]
    assert server.request("alice.test", "/index.html", headers={"If-None-Match": etag}).status == 304
    status, headers, body = server.request("alice.test", "/index.html", headers={"Range": "bytes=1-2"})
    assert (status, body, headers["Content-Range"]) == (206, b"h1", "bytes 1-2/20")
    status, _, body = server.request("alice.test", "/")
    assert (status, body) == (200, b"<h1>itkt-alice</h1>\n")  # DirectoryIndex


def test_directory_without_slash_redirects(itkgw_factory, docroots) -> None:
    server = itkgw_factory([{"server_name": "sub.test", "document_root": "/usr/share",
                             "assign_user_id": [ALICE, ALICE]}])
    host = f"sub.test:{server.port}"
    status, headers, _ = server.request(host, "/doc?x=1")
    assert status == 301
    assert headers["Location"] == f"http://{host}/doc/?x=1"
    # No port in Host: the scheme's default, as Apache's UseCanonicalName Off does.
    assert server.request("sub.test", "/doc").headers["Location"] == "http://sub.test/doc/"
