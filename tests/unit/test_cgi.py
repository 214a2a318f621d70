"""CGI through real scripts, the real connection driver, and h11 as the client.

Each request goes over loopback TCP to itkgw's HTTPConnection; the client
side parses the bytes on the wire as a browser would.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import prctl
import pytest

from itkgw import SERVER_SOFTWARE, script_software
from itkgw.config.model import Address, Identity, ServerConfig, VHost
from itkgw.errors import HTTPError, InternalRedirect
from itkgw.handlers.cgi import PHP_HEAD, SCRIPT_PATH, cgi_environ, parse_cgi_head, parse_cgi_headers, run_cgi
from itkgw.http.connection import ClientGone, HTTPConnection, Request, error_page
from tests.unit.wire import CLIENT_IP, SERVER_IP, Handler, exchange

SCRIPTS = Path(__file__).parent / "cgi-scripts"


# -- fixtures -------------------------------------------------------------


class LogRecords(logging.Handler):
    """The lines a handler logged, as (level name, message); the name upper-case whatever
    names the server's log module (itkgw.mpm.log, Apache's lower-case ones) gave the levels."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.levelname.upper(), record.getMessage()))

    def text(self) -> str:
        return "\n".join(message for _, message in self.records)


@dataclass
class Site:
    """A vhost whose document root holds the test scripts, in /cgi/."""

    config: ServerConfig
    vhost: VHost
    root: Path
    log: logging.Logger
    records: LogRecords

    def script(self, name: str) -> str:
        return str(self.root / "cgi" / name)

    def handler(self, name: str, path_info: str = "", timeout: float = 5.0,
                extra_env: dict[str, str] | None = None) -> Handler:
        """Run script ``name`` as the caller in the connection child would."""
        filename = self.script(name)

        def handle(conn: HTTPConnection, request: Request) -> None:
            env = cgi_environ(request, self.vhost, self.config, "/cgi/" + name, filename, path_info,
                              str(self.root))
            env.update(extra_env or {})
            run_cgi(conn, [filename], env, os.path.dirname(filename), timeout, self.log, filename)

        return handle


def make_site(tmp_path: Path, test_name: str) -> Site:
    """The test scripts in a fresh document root, and a logger of this test's own."""
    log = logging.getLogger(f"tests.cgi.{test_name}")
    log.propagate = False
    log.setLevel(logging.DEBUG)
    records = LogRecords()
    log.addHandler(records)
    root = tmp_path / "www"
    shutil.copytree(SCRIPTS, root / "cgi")
    for script in (root / "cgi").iterdir():
        script.chmod(0o644 if script.name.startswith("noexec") else 0o755)
    address = Address("*", 80)
    vhost = VHost(server_name="www.example.org", document_root=str(root), listen=(address,),
                  server_admin="webmaster@example.org")
    config = ServerConfig(user=Identity("www-data", "www-data", 33, 33), listen=(address,),
                          vhosts=(vhost,), server_admin="root@localhost", timeout=5)
    return Site(config, vhost, root, log, records)


@pytest.fixture
def site(tmp_path: Path, request: pytest.FixtureRequest) -> Site:
    return make_site(tmp_path, request.node.nodeid)


def group_members(pgid: int) -> list[tuple[int, int, str]]:
    """(pid, parent pid, state) of each process in a process group."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue  # it exited while we looked
        state, ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) == pgid:
            members.append((int(entry), int(ppid), state))
    return members


@pytest.fixture
def subreaper() -> Iterator[None]:
    """Adopt the orphans of killed scripts, so reap_group can wait for them."""
    prctl.set_child_subreaper(1)
    yield
    prctl.set_child_subreaper(0)


def reap_group(pgid: int, within: float = 2.0) -> list[int]:
    """Wait until no process of the group runs; reap the ones we adopted. Returns those left running."""
    deadline = time.monotonic() + within
    while True:
        members = group_members(pgid)
        running = [pid for pid, _, state in members if state not in ("Z", "X")]
        if not running or time.monotonic() >= deadline:
            break
        time.sleep(0.02)
    for pid, ppid, state in members:
        if state == "Z" and ppid == os.getpid():
            os.waitpid(pid, 0)
    return running


def start_request(method: str = "GET", target: str = "/x.cgi", headers: list[tuple[str, str]] | None = None,
                  content_length: int | None = None, chunked: bool = False) -> Request:
    return Request(method=method, target=target, path=unquote(target.partition("?")[0]),
                   query=target.partition("?")[2], http_version="1.1", headers=headers or [],
                   host="www.example.org", local_ip="192.0.2.1", local_port=8080,
                   remote_ip="198.51.100.7", remote_port=40000, content_length=content_length,
                   chunked=chunked)


# -- the environment -----------------------------------------------------


def test_environment_as_mod_cgi_sets_it(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ITKGW_SERVER_SECRET", "must not leak")
    reply = exchange(
        site.handler("env.py", path_info="/extra/info"),
        target="/cgi/env.py/extra/info?x=1&y=%20",
        headers=[
            ("User-Agent", "test/1.0"),
            ("Proxy", "http://evil.example:8080/"),
            ("Authorization", "Basic Zm9vOmJhcg=="),
            ("Foo_Bar", "spoofed"),
            ("Foo-Bar", "real"),
            ("X-Multi", "one"),
            ("X-Multi", "two"),
            ("X-Latin", b"caf\xe9"),
        ],
    )
    assert reply.status == 200 and reply.complete
    env = dict(item.split(b"=", 1) for item in reply.body.split(b"\0") if item)
    script = site.script("env.py").encode()
    assert env == {
        b"GATEWAY_INTERFACE": b"CGI/1.1",
        b"SERVER_SOFTWARE": f"Apache/2.4.62 (Debian) {SERVER_SOFTWARE}".encode(),
        b"SERVER_SIGNATURE": b"",
        b"SERVER_NAME": b"www.example.org",
        b"SERVER_ADDR": SERVER_IP.encode(),
        b"SERVER_PORT": b"80",  # the Host header names no port (UseCanonicalName Off)
        b"SERVER_PROTOCOL": b"HTTP/1.1",
        b"SERVER_ADMIN": b"webmaster@example.org",
        b"REQUEST_METHOD": b"GET",
        b"REQUEST_URI": b"/cgi/env.py/extra/info?x=1&y=%20",
        b"REQUEST_SCHEME": b"http",
        b"QUERY_STRING": b"x=1&y=%20",
        b"SCRIPT_NAME": b"/cgi/env.py",
        b"SCRIPT_FILENAME": script,
        b"PATH_INFO": b"/extra/info",
        b"PATH_TRANSLATED": str(site.root).encode() + b"/extra/info",
        b"REMOTE_ADDR": CLIENT_IP.encode(),
        b"REMOTE_PORT": str(reply.client_address[1]).encode(),
        b"DOCUMENT_ROOT": str(site.root).encode(),
        b"CONTEXT_PREFIX": b"",
        b"CONTEXT_DOCUMENT_ROOT": str(site.root).encode(),
        b"PATH": SCRIPT_PATH.encode(),
        b"HTTP_HOST": b"www.example.org",
        b"HTTP_USER_AGENT": b"test/1.0",
        b"HTTP_FOO_BAR": b"real",
        b"HTTP_X_MULTI": b"one, two",
        b"HTTP_X_LATIN": b"caf\xe9",
    }


def test_body_headers_become_content_variables() -> None:
    request = start_request("POST", headers=[("content-type", "application/x-www-form-urlencoded"),
                                             ("content-length", "11")], content_length=11)
    vhost = VHost(server_name="a.example", document_root="/srv/a/", listen=(Address("*", 80),))
    config = ServerConfig(user=Identity("u", "g", 1000, 1000), listen=(), vhosts=(vhost,),
                          server_admin="root@example")
    env = cgi_environ(request, vhost, config, "/x.cgi", "/srv/a/x.cgi", "", "/srv/a", https=True)
    assert env["CONTENT_TYPE"] == "application/x-www-form-urlencoded"
    assert env["CONTENT_LENGTH"] == "11"
    assert "HTTP_CONTENT_TYPE" not in env and "HTTP_CONTENT_LENGTH" not in env
    assert "PATH_INFO" not in env and "PATH_TRANSLATED" not in env
    assert env["QUERY_STRING"] == ""
    assert env["HTTPS"] == "on" and env["REQUEST_SCHEME"] == "https"
    assert env["SERVER_ADMIN"] == "root@example"  # the vhost has none of its own
    assert env["DOCUMENT_ROOT"] == "/srv/a"


@pytest.mark.parametrize(("sent", "length", "variable"), [("003", 3, "003"), ("3", 3, "3"), ("9", 3, "3")])
def test_content_length_is_the_header_as_sent_where_it_gives_the_length(sent: str, length: int,
                                                                         variable: str) -> None:
    """httpd copies Content-Length as it came; where the framing says otherwise (a chunked
    body read to its end), the framing's length."""
    request = start_request("POST", headers=[("content-length", sent)], content_length=length)
    vhost = VHost(server_name="a.example", document_root="/srv/a", listen=(Address("*", 80),))
    config = ServerConfig(user=Identity("u", "g", 1000, 1000), listen=(), vhosts=(vhost,))
    env = cgi_environ(request, vhost, config, "/x.cgi", "/srv/a/x.cgi", "", "/srv/a")
    assert env["CONTENT_LENGTH"] == variable


@pytest.mark.parametrize("authorization_as", ["", "HTTP_AUTHORIZATION", "HTTP_Authorization"])
def test_header_variables_as_httpd_makes_them(authorization_as: str) -> None:
    """Repeated headers joined with ", ", proxy credentials never passed, Authorization only
    in the variable asked for (CGIPassAuth; PHP's own), names no variable can carry dropped,
    bytes kept as sent."""
    headers = [("x-tag", "a"), ("authorization", "Basic eDp5"), ("proxy-authorization", "Basic cDpx"),
               ("proxy", "http://evil"), ("x_under", "u"), ("x-tag", "b"), ("accept", "text/\xe9")]
    request = start_request(headers=headers)
    vhost = VHost(server_name="a.example", document_root="/srv/a", listen=(Address("*", 80),))
    config = ServerConfig(user=Identity("u", "g", 1000, 1000), listen=(), vhosts=(vhost,))
    for _ in range(2):  # the second time from what the first remembered
        env = cgi_environ(request, vhost, config, "/x.cgi", "/srv/a/x.cgi", "", "/srv/a",
                          authorization_as=authorization_as)
        assert env["HTTP_X_TAG"] == "a, b"
        assert [name for name in env if name.upper() == "HTTP_AUTHORIZATION"] == \
            ([authorization_as] if authorization_as else [])
        assert not any(name.startswith(("HTTP_PROXY", "HTTP_X_UNDER")) for name in env)
        assert os.fsencode(env["HTTP_ACCEPT"]) == b"text/\xe9"


def test_chunked_body_has_no_content_length() -> None:
    request = start_request("POST", headers=[("transfer-encoding", "chunked"), ("content-length", "5")],
                            chunked=True)
    vhost = VHost(server_name="a.example", document_root="/srv/a", listen=(Address("*", 80),))
    config = ServerConfig(user=Identity("u", "g", 1000, 1000), listen=(), vhosts=(vhost,))
    env = cgi_environ(request, vhost, config, "/x.cgi", "/srv/a/x.cgi", "", "/srv/a")
    assert "CONTENT_LENGTH" not in env
    assert env["HTTP_TRANSFER_ENCODING"] == "chunked"


def test_the_context_is_what_the_caller_names() -> None:
    vhost = VHost(server_name="a.example", document_root="/srv/a", listen=(Address("*", 80),),
                  script_alias=(("/cgi-bin/", "/usr/lib/cgi-bin/"),))
    config = ServerConfig(user=Identity("u", "g", 1000, 1000), listen=(), vhosts=(vhost,))
    env = cgi_environ(start_request(target="/cgi-bin/t"), vhost, config, "/cgi-bin/t",
                      "/usr/lib/cgi-bin/t", "", "/usr/lib/cgi-bin/", context_prefix="/cgi-bin/")
    assert env["CONTEXT_PREFIX"] == "/cgi-bin/"
    assert env["CONTEXT_DOCUMENT_ROOT"] == "/usr/lib/cgi-bin/"
    assert env["DOCUMENT_ROOT"] == "/srv/a"


# -- the header block ------------------------------------------------------


def test_status_header_sets_the_status() -> None:
    status, headers = parse_cgi_headers(b"Status: 404 Not Found\r\nContent-type: text/plain\r\n\r\n")
    assert status == 404
    assert headers == [("Content-Type", "text/plain")]


@pytest.mark.parametrize("line,status,named,http10", [
    (b"HTTP/1.0 404 Not Found", 404, "404 Not Found", True),
    (b"HTTP/1.1 418 I am a teapot", 418, "418 I am a teapot", False),
    (b"HTTP/1.0 500 Internal Server Error", 500, "500 Internal Server Error", True),
    # httpd keeps a line and its protocol only from "HTTP/1.x NNN reason"; else the code counts.
    (b"HTTP/2 404 Whatever", 404, None, False),
    (b"HTTP/1.0 404", 404, None, False),
])
def test_a_php_status_line_is_read_as_mod_php_hands_it_to_httpd(line: bytes, status: int, named: str | None,
                                                                 http10: bool) -> None:
    head = parse_cgi_head(line + b"\r\nContent-type: text/html\r\n\r\n", "/srv/x.php", PHP_HEAD)
    assert (head.status, head.named, head.http10, head.status_given) == (status, named, http10, True)
    assert head.headers == (("Content-Type", "text/html"),)


def test_a_status_header_names_the_line_for_cgi_and_not_for_php() -> None:
    """mod_cgi keeps a script's Status value as the status line; php-cgi's Status header is
    http_response_code(), for which mod_php names no line."""
    block = b"Status: 452 Custom\r\nContent-type: text/html\r\n\r\n"
    assert parse_cgi_head(block, "/srv/x.cgi").named == "452 Custom"
    assert (parse_cgi_head(block, "/srv/x.php", PHP_HEAD).status,
            parse_cgi_head(block, "/srv/x.php", PHP_HEAD).named) == (452, None)
    assert parse_cgi_head(b"Status: 600\r\n\r\n", "/srv/x.cgi").status == 600
    with pytest.raises(HTTPError):
        parse_cgi_head(b"Status: 100\r\n\r\n", "/srv/x.cgi")


@pytest.mark.parametrize("value", [b"abc", b"1000 Big", b"99 Too Low", b""])
def test_a_status_that_is_no_code_goes_out_under_httpd_s_500_line_with_the_script_s_output(
        value: bytes, caplog: pytest.LogCaptureFixture) -> None:
    """httpd logs it and keeps the script's headers (and body) under "500 Internal Server Error"."""
    block = b"Status: " + value + b"\r\nContent-type: text/plain\r\nX-S: 1\r\n\r\n"
    head = parse_cgi_head(block, "/srv/x.cgi")
    assert (head.status, head.named) == (500, None)
    assert head.headers == (("Content-Type", "text/plain"), ("X-S", "1"))
    assert "Invalid status line from script 'x.cgi'" in caplog.text


def test_a_block_read_again_is_read_the_same_and_what_it_logs_is_logged_again(
        caplog: pytest.LogCaptureFixture) -> None:
    good = b"Content-type: text/html; charset=UTF-8\r\nX-A: 1\r\n\r\n"
    assert parse_cgi_head(good, "/srv/a.php", PHP_HEAD) == parse_cgi_head(good, "/srv/b.php", PHP_HEAD)
    assert parse_cgi_head(good, "/srv/a.cgi") == parse_cgi_head(good, "/srv/b.cgi")
    bad = b"Status: abc\r\nContent-type: text/plain\r\n\r\n"
    for script in ("/srv/x.cgi", "/srv/y.cgi"):
        assert parse_cgi_head(bad, script).status == 500
    assert "script 'x.cgi'" in caplog.text and "script 'y.cgi'" in caplog.text


def test_a_php_header_line_without_a_colon_is_dropped_as_mod_php_drops_it() -> None:
    head = parse_cgi_head(b"Bogus\r\nX-Real: 1\r\nContent-type: text/html\r\n\r\n", "/srv/x.php", PHP_HEAD)
    assert (head.status, head.headers) == (200, (("X-Real", "1"), ("Content-Type", "text/html")))
    with pytest.raises(HTTPError) as caught:
        parse_cgi_head(b"Bogus\r\n\r\n", "/srv/x.cgi")
    assert caught.value.status == 500 and "malformed header" in str(caught.value.log)


def test_php_keeps_the_last_content_type_a_cgi_script_s_headers_are_merged_by_name() -> None:
    """mod_php hands httpd each header; mod_cgi merges a script's by name (not Set-Cookie),
    and of Content-Type and Location keeps the last, as httpd 2.4.71 answers."""
    raw = b"Content-type: text/plain\r\nX-A: 1\r\nContent-Type: text/csv\r\n\r\n"
    assert parse_cgi_head(raw, "/srv/x.php", PHP_HEAD).headers == (("X-A", "1"), ("Content-Type", "text/csv"))
    assert parse_cgi_head(raw, "/srv/x.cgi").headers == (("Content-Type", "text/csv"), ("X-A", "1"))
    many = (b"X-A: 1\r\nSet-Cookie: a=1\r\nx-a: 2\r\nSet-Cookie: b=2\r\nVary: A\r\nVary: B\r\n"
            b"Location: http://a.test/1\r\nLocation: http://a.test/2\r\nStatus: 201\r\n\r\n")
    assert parse_cgi_head(many, "/srv/x.cgi").headers == (
        ("X-A", "1, 2"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("Vary", "A, B"),
        ("Location", "http://a.test/2"))
    emptied = parse_cgi_head(b"Content-type: text/plain\r\nContent-Type:\r\n\r\n", "/srv/x.php", PHP_HEAD)
    assert emptied.headers == ()


def test_a_status_line_is_a_malformed_header_from_a_cgi_script() -> None:
    with pytest.raises(HTTPError) as caught:
        parse_cgi_head(b"HTTP/1.1 200 OK\r\n\r\n", "/srv/x.cgi")
    assert caught.value.status == 500 and "malformed header" in str(caught.value.log)


def test_plain_lf_line_ends_and_repeated_headers_kept_in_order() -> None:
    status, headers = parse_cgi_headers(b"Set-Cookie: a=1\nSet-Cookie: b=2\nX-Thing:  padded \n\n")
    assert status == 200
    assert headers == [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("X-Thing", "padded")]


def test_no_content_type_is_not_invented() -> None:
    # Apache 2.4 has no DefaultType: a script that names no type gets none.
    assert parse_cgi_headers(b"X-A: 1\n\n") == (200, [("X-A", "1")])


def test_absolute_location_without_status_is_a_302() -> None:
    status, headers = parse_cgi_headers(b"Location: http://example.org/x\n\n")
    assert status == 302
    assert ("Location", "http://example.org/x") in headers


def test_location_with_its_own_status_keeps_it() -> None:
    head = parse_cgi_head(b"Status: 301 Moved Permanently\nLocation: /new\n\n")
    assert head.status == 301 and head.redirect is None
    assert ("Location", "/new") in head.headers


def test_local_location_is_refused_with_a_reason() -> None:
    with pytest.raises(HTTPError) as caught:
        parse_cgi_headers(b"Location: /other/page\n\n", "/srv/x.cgi")
    assert caught.value.status == 500
    assert "internal redirect to /other/page" in str(caught.value.log)
    assert "/srv/x.cgi" in str(caught.value.log)


@pytest.mark.parametrize(
    "raw",
    [
        b"this is not a header\n\n",
        b"X-Evil: a\rInjected: yes\n\n",
        b"X-Evil: a\x00b\n\n",
        b"X Evil: spaces in the name\n\n",
        b": no name\n\n",
        b"Status: 102 Processing\n\n",
        b"Content-Length: 12abc\n\n",
        b"".join(b"X-H%d: v\n" % n for n in range(101)) + b"\n",
        b"X-Long: " + b"a" * 8200 + b"\n\n",
    ],
    ids=["no-colon", "cr", "nul", "space-in-name", "empty-name", "status-1xx", "bad-length",
         "101-headers", "long-line"],
)
def test_malformed_header_block_is_500(raw: bytes) -> None:
    with pytest.raises(HTTPError) as caught:
        parse_cgi_headers(raw, "/srv/bad.cgi")
    assert caught.value.status == 500
    log = str(caught.value.log)
    assert "'bad.cgi'" in log  # its name, as httpd's apr_filepath_name_get gives it
    assert "\r" not in log and "\n" not in log and "\0" not in log


def test_framing_headers_of_the_script_are_dropped() -> None:
    status, headers = parse_cgi_headers(b"Transfer-Encoding: chunked\nConnection: close\nX-A: 1\n\n")
    assert headers == [("X-A", "1")]


# -- running scripts -------------------------------------------------------


def test_output_is_streamed_as_it_comes(site: Site) -> None:
    reply = exchange(site.handler("stream.sh"))
    assert reply.status == 200 and reply.complete
    assert reply.body == b"first\nsecond\n"
    first_at, first = reply.pieces[0]
    assert first == b"first\n"
    assert reply.finished_at - first_at >= 0.2  # it came before the script's sleep ended


def test_status_from_the_script_reaches_the_client(site: Site) -> None:
    reply = exchange(site.handler("status.sh"))
    assert reply.status == 404 and reply.complete
    assert reply.header("x-script") == "yes"
    assert reply.body == b"no such thing\n"


@pytest.mark.parametrize(("query", "leak"), [("cr", b"Injected"), ("nocolon", b"this is not a header"),
                                             ("space", b"X Evil")])
def test_malformed_header_gives_500_and_nothing_of_it(site: Site, query: str, leak: bytes) -> None:
    reply = exchange(site.handler("malformed.py"), target="/cgi/malformed.py?" + query)
    assert reply.status == 500 and reply.complete
    assert leak not in reply.raw
    assert reply.body == error_page(500)  # the server's own page, none of the script's body
    assert "malformed header from script 'malformed.py'" in site.records.text()


def test_stderr_goes_to_the_error_log(site: Site) -> None:
    reply = exchange(site.handler("stderr.sh"))
    assert reply.status == 200 and reply.body == b"ok\n"
    script = site.script("stderr.sh")
    assert ("ERROR", f"AH01215: stderr from {script}: oops: something broke") in site.records.records
    assert ("ERROR", f"AH01215: stderr from {script}: partial line without newline") in site.records.records
    assert ("ERROR", f"AH01215: stderr from {script}: at the end") in site.records.records


def test_silent_script_times_out_with_504_and_its_group_is_killed(site: Site, tmp_path: Path,
                                                                  subreaper: None) -> None:
    pid_file = tmp_path / "pid"
    started = time.monotonic()
    reply = exchange(site.handler("sleep.sh", timeout=1.0, extra_env={"PID_FILE": str(pid_file)}))
    assert reply.status == 504
    assert time.monotonic() - started < 3.0
    assert f"Timeout waiting for output from CGI script {site.script('sleep.sh')}" in site.records.text()
    assert reap_group(int(pid_file.read_text())) == []


def test_client_going_away_kills_the_script(site: Site, tmp_path: Path, subreaper: None) -> None:
    pid_file = tmp_path / "pid"
    reply = exchange(site.handler("flood.sh", extra_env={"PID_FILE": str(pid_file)}), read_pieces=1)
    assert reply.status == 200 and not reply.complete
    assert isinstance(reply.error, ClientGone)
    assert reap_group(int(pid_file.read_text())) == []


@pytest.mark.parametrize("query", ["", "first"], ids=["echo-while-reading", "write-before-reading"])
def test_large_body_in_and_out_does_not_deadlock(site: Site, query: str) -> None:
    body = os.urandom(1 << 20)
    started = time.monotonic()
    reply = exchange(site.handler("echo.py"), target="/cgi/echo.py?" + query, method="POST", body=body)
    assert reply.status == 200 and reply.complete
    expected = b"x" * (1 << 20) + body if query == "first" else body
    assert hashlib.sha256(reply.body).digest() == hashlib.sha256(expected).digest()
    assert time.monotonic() - started < 5.0
    assert len(reply.pieces) > 1  # streamed, not gathered


def test_absolute_location_gets_a_302_of_our_own(site: Site) -> None:
    reply = exchange(site.handler("redirect.sh"))
    assert reply.status == 302 and reply.complete
    assert reply.header("location") == "http://example.org/elsewhere"
    assert reply.header("set-cookie") == "a=1"
    assert b"discard me" not in reply.raw


def test_local_location_asks_for_an_internal_redirect(site: Site) -> None:
    asked: list[str] = []
    run = site.handler("local-redirect.sh")

    def handler(conn: HTTPConnection, request: Request) -> None:
        try:
            run(conn, request)
        except InternalRedirect as redirect:
            asked.append(redirect.location)
            conn.send_error(404)

    reply = exchange(handler)
    assert asked == ["/elsewhere.html"] and reply.status == 404


def test_script_content_length_is_kept_to(site: Site) -> None:
    reply = exchange(site.handler("lengthy.sh"))
    assert reply.status == 200 and reply.complete
    assert reply.body == b"01234"
    assert "more than its Content-Length" in site.records.text()


@pytest.mark.parametrize(("name", "message"), [
    ("silent.sh", "End of script output before headers: "),
    ("unfinished.sh", "Premature end of script headers: "),
])
def test_no_header_block_is_500(site: Site, name: str, message: str) -> None:
    reply = exchange(site.handler(name))
    assert reply.status == 500 and reply.complete
    assert message + name in site.records.text()


@pytest.mark.parametrize(("name", "message"), [
    ("noexec.sh", "(13)Permission denied: exec of"),
    ("noshebang.cgi", "(8)Exec format error: exec of"),
    ("badinterp.cgi", "the interpreter named in its #! line does not exist"),
])
def test_script_that_cannot_run_is_500(site: Site, name: str, message: str) -> None:
    if name == "noexec.sh" and os.geteuid() == 0:
        # root may execute files without x bits only if one x bit is set; 0644 has none.
        assert not os.access(site.script(name), os.X_OK)
    reply = exchange(site.handler(name))
    assert reply.status == 500 and reply.complete
    assert message in site.records.text()
    script = site.script(name)
    # httpd's two lines (mod_cgi's child says it on stderr), then why at info.
    assert f"AH01215: stderr from {script}: " in site.records.text()
    assert f"End of script output before headers: {name}" in site.records.text()


def test_head_request_runs_the_script_but_sends_no_body(site: Site) -> None:
    reply = exchange(site.handler("status.sh"), method="HEAD")
    assert reply.status == 404 and reply.complete
    assert reply.body == b""


def test_scripts_are_told_the_server_is_apache_compatible_in_its_series() -> None:
    """WordPress's $is_apache looks for "Apache" in SERVER_SOFTWARE to know .htaccess works."""
    assert script_software("2.4") == f"Apache/2.4.62 (Debian) {SERVER_SOFTWARE}"
    assert script_software("2.2") == f"Apache/2.2.34 (Debian) {SERVER_SOFTWARE}"
