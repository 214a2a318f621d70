"""Where an application can tell a server apart, itkgw answers as Apache 2.4 does, through a real itkgw.

Each case was compared with Apache 2.4 + mpm-itk + mod_php and mod_cgi on
the same files: the server's name and port, path info, the Authorization
header, statuses of odd requests. PHP's side of these is in php-tests/cases.
"""

from __future__ import annotations

import os
import resource
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Put
from tests.e2e.itkgw_proc import Itkgw, vhost_for
from tests.sites import ALICE, BOB, Site

ENV_CGI = """#!/bin/sh
printf 'Content-Type: text/plain\\n\\n'
for name in SERVER_NAME SERVER_PORT SCRIPT_NAME PATH_INFO HTTP_AUTHORIZATION; do
    eval "value=\\${$name-(unset)}"
    printf '%s=%s\\n' "$name" "$value"
done
"""


def env_of(body: bytes) -> dict[str, str]:
    return dict(line.split("=", 1) for line in body.decode().splitlines() if "=" in line)


def serve(itkgw_factory, site: Site, **vhost: Any) -> Itkgw:
    return itkgw_factory([vhost_for(site, "alice.test", server_alias=["www.alice.test"],
                                    cgi_extensions=[".cgi"], exec_cgi=True, **vhost)])


def test_server_name_and_port_come_from_the_host_header(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "env.cgi", ENV_CGI)
    server = serve(itkgw_factory, alice)
    aliased = env_of(server.request("www.alice.test:8080", "/env.cgi").body)
    assert (aliased["SERVER_NAME"], aliased["SERVER_PORT"]) == ("www.alice.test", "8080")
    plain = env_of(server.request("alice.test", "/env.cgi").body)
    assert (plain["SERVER_NAME"], plain["SERVER_PORT"]) == ("alice.test", "80")


def test_use_canonical_name_on_names_the_server_name(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "env.cgi", ENV_CGI)
    put(alice, "physical/env.cgi", ENV_CGI)
    server = serve(itkgw_factory, alice, use_canonical_name="on", directory=[
        {"path": f"{alice.htdocs}/physical", "use_canonical_physical_port": True}])
    named = env_of(server.request("www.alice.test:8080", "/env.cgi").body)
    assert (named["SERVER_NAME"], named["SERVER_PORT"]) == ("alice.test", "80")
    physical = env_of(server.request("www.alice.test:8080", "/physical/env.cgi").body)
    assert (physical["SERVER_NAME"], physical["SERVER_PORT"]) == ("alice.test", str(server.port))


def test_scripts_get_the_server_s_own_path_and_nothing_else_of_its_environment(itkgw_factory, docroots,
                                                                               put: Put) -> None:
    """As httpd: PATH is the server's (a PHP class's processes start with it too); HOME, LANG
    and the rest of the server's environment stay out."""
    alice = docroots[ALICE]
    put(alice, "path.cgi",
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n%s|%s' \"$PATH\" \"${HOME-unset}\"\n")
    put(alice, "path.php",
        "<?php echo getenv('PATH'), '|', $_SERVER['PATH'], '|', var_export(getenv('HOME'), true);")
    server = serve(itkgw_factory, alice, php_extensions=[".php"])
    path = os.environ["PATH"]
    assert server.request("alice.test", "/path.cgi").body.decode() == f"{path}|unset"
    assert server.request("alice.test", "/path.php").body.decode() == f"{path}|{path}|false"


def test_a_bad_port_in_the_host_header_is_400(itkgw_factory, docroots) -> None:
    server = serve(itkgw_factory, docroots[ALICE])
    for host in ("alice.test:", "alice.test:http", "alice.test:99999", "alice.test:1:2"):
        assert server.request(host, "/index.html").status == 400, host
    assert server.request("alice.test:0080", "/index.html").status == 200


def test_a_trailing_slash_after_a_script_is_path_info(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "env.cgi", ENV_CGI)
    server = serve(itkgw_factory, alice)
    slash = env_of(server.request("alice.test", "/env.cgi/").body)
    assert (slash["SCRIPT_NAME"], slash["PATH_INFO"]) == ("/env.cgi", "/")
    deeper = env_of(server.request("alice.test", "/env.cgi/a/b/").body)
    assert (deeper["SCRIPT_NAME"], deeper["PATH_INFO"]) == ("/env.cgi", "/a/b/")
    assert server.request("alice.test", "/index.html/").status == 404
    assert server.request("alice.test", "/index.html/more").status == 404


def test_accept_path_info_on_and_off(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "on/page.txt", "a page\n")
    put(alice, "off/env.cgi", ENV_CGI)
    server = serve(itkgw_factory, alice, directory=[
        {"path": f"{alice.htdocs}/on", "accept_path_info": "on"},
        {"path": f"{alice.htdocs}/off", "accept_path_info": "off"}])
    served = server.request("alice.test", "/on/page.txt/extra")
    assert served.status == 200 and served.body == b"a page\n"
    assert server.request("alice.test", "/off/env.cgi/extra").status == 404
    assert server.request("alice.test", "/off/env.cgi").status == 200


def test_cgi_sees_authorization_only_with_cgi_pass_auth(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "env.cgi", ENV_CGI)
    put(alice, "auth/env.cgi", ENV_CGI)
    server = serve(itkgw_factory, alice, directory=[{"path": f"{alice.htdocs}/auth", "cgi_pass_auth": True}])
    credentials = {"Authorization": "Basic YWxpY2U6c2VjcmV0"}
    withheld = env_of(server.request("alice.test", "/env.cgi", headers=credentials).body)
    assert withheld["HTTP_AUTHORIZATION"] == "(unset)"
    passed = env_of(server.request("alice.test", "/auth/env.cgi", headers=credentials).body)
    assert passed["HTTP_AUTHORIZATION"] == "Basic YWxpY2U6c2VjcmV0"


def test_a_directory_redirect_without_host_names_the_server_name(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "docs/index.html", "docs\n")
    server = serve(itkgw_factory, alice)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET /docs HTTP/1.0\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert b"\r\nLocation: http://alice.test/docs/\r\n" in answer


def raw_exchange(port: int, request: bytes) -> bytes:
    """Send ``request`` as it is and read the whole answer (the server closes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def _header_names(answer: bytes) -> list[str]:
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    return [line.split(":", 1)[0] for line in head.split("\r\n")[1:]]


def test_headers_go_out_in_httpd_s_order(itkgw_factory, docroots, put: Put) -> None:
    """As httpd sends them: Date and Server, the "always" rules' (err_headers_out comes first),
    the handler's, the length and the range, the connection's, then the type, which its header
    filter sets last."""
    alice = docroots[ALICE]
    put(alice, "a.txt", "abc\n")
    put(alice, "dir/a.txt", "abc\n")
    put(alice, "page.php", "<?php setcookie('a', 'b'); header('X-App: 1'); echo 'php';")
    server = serve(itkgw_factory, alice, php_extensions=[".php"],
                   headers=[["always", "set", "X-Rule", "yes"]])
    ask = "Host: alice.test\r\nConnection: close\r\n"
    static = raw_exchange(server.port, f"GET /a.txt HTTP/1.1\r\n{ask}Range: bytes=0-1\r\n\r\n".encode())
    assert _header_names(static) == ["Date", "Server", "X-Rule", "Last-Modified", "ETag", "Accept-Ranges",
                                     "Content-Length", "Content-Range", "Connection", "Content-Type"]
    moved = raw_exchange(server.port, f"GET /dir HTTP/1.1\r\n{ask}\r\n".encode())
    assert _header_names(moved) == ["Date", "Server", "X-Rule", "Location", "Content-Length", "Connection",
                                    "Content-Type"]
    php = raw_exchange(server.port, f"GET /page.php HTTP/1.1\r\n{ask}\r\n".encode())
    assert _header_names(php)[2:] == ["X-Rule", "Set-Cookie", "X-App", "Content-Length", "Connection",
                                      "Content-Type"]
    unreadable = raw_exchange(server.port, b"GET /a.txt HTTP/1.1\r\nHost: alice.test\r\nX-Bad\x01: 1\r\n\r\n")
    assert unreadable.startswith(b"HTTP/1.1 400 ")
    assert _header_names(unreadable) == ["Date", "Server", "Content-Length", "Connection", "Content-Type"]


def test_bad_requests_are_logged_as_httpd_logs_them(itkgw_factory, docroots, put: Put) -> None:
    """A path that climbs above the root or has a bad escape, and a method no module knows:
    core's AH10244 and AH00135 lines, at error level."""
    alice = docroots[ALICE]
    put(alice, "a.txt", "a\n")
    server = serve(itkgw_factory, alice)
    for raw, status in ((b"GET /%2e%2e/etc/passwd HTTP/1.1", 400), (b"GET /a%zz HTTP/1.1", 400),
                        (b"FOO /a.txt HTTP/1.1", 501)):
        answer = raw_exchange(server.port, raw + b"\r\nHost: alice.test\r\nConnection: close\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 %d " % status), answer[:100]
    deadline = time.monotonic() + 5
    expected = ["AH10244: invalid URI path (/%2e%2e/etc/passwd)", "AH10244: invalid URI path (/a%zz)",
                "AH00135: Invalid method in request FOO /a.txt HTTP/1.1"]
    while True:
        lines = server.error_log_text().splitlines()
        found = [any("[core:error] [pid " in line and message in line for line in lines)
                 for message in expected]
        if all(found) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert all(found), (expected, lines)


def test_unreadable_and_missing_files_are_logged_as_httpd_logs_them(itkgw_factory, docroots,
                                                                   put: Put) -> None:
    """core's AH00132 with the system error before the client, mod_php's line for a script that
    is not there; a missing ErrorDocument says so in the page, and in the log at info alone."""
    alice = docroots[ALICE]
    put(alice, "a.txt", "a\n")
    locked = put(alice, "locked.txt", "secret\n")
    os.chown(locked, 0, 0)
    locked.chmod(0o600)
    server = serve(itkgw_factory, alice, php_extensions=[".php"],
                   error_documents={"404": "/missing-page.html"})
    assert server.request("alice.test", "/locked.txt").status == 403
    assert server.request("alice.test", "/nothing.php").status == 404
    assert server.request("alice.test", "/a.txt").status == 200  # the log lines above are written by now
    lines = server.error_log_text().splitlines()
    htdocs = alice.htdocs
    assert any("[core:error] [pid " in line and "(13)Permission denied: [client 127.0.0.1:" in line
               and f"AH00132: file permissions deny server access: {htdocs}/locked.txt" in line
               for line in lines), lines
    assert any("[php:error] [pid " in line and f"script '{htdocs}/nothing.php' not found or unable to stat"
               in line for line in lines), lines
    assert not any("missing-page.html" in line and ":error]" in line for line in lines), lines


def test_trace_echoes_the_request_unless_trace_enable_says_otherwise(itkgw_factory, docroots,
                                                                     test_users) -> None:
    alice = docroots[ALICE]
    server = itkgw_factory([vhost_for(alice, "alice.test"),
                            vhost_for(alice, "off.test", trace_enable="off"),
                            vhost_for(alice, "extended.test", trace_enable="extended")])
    request = b"TRACE /no/such/page HTTP/1.1\r\nHost: alice.test\r\nX-Probe: 1\r\nConnection: close\r\n\r\n"
    answer = raw_exchange(server.port, request)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ") and b"\r\nContent-Type: message/http" in head
    assert body == request
    with_body = b"TRACE / HTTP/1.1\r\nHost: %s\r\nContent-Length: 4\r\nConnection: close\r\n\r\nping"
    assert raw_exchange(server.port, with_body % b"alice.test").startswith(b"HTTP/1.1 413 ")
    assert raw_exchange(server.port, with_body % b"extended.test").endswith(b"\r\n\r\nping")
    refused = server.request("off.test", "/", method="TRACE")
    assert refused.status == 405 and refused.headers["Allow"]
    assert "TRACE denied by server configuration" in server.error_log_text()


def test_a_post_to_a_file_is_answered_with_the_file(itkgw_factory, docroots) -> None:
    server = serve(itkgw_factory, docroots[ALICE])
    response = server.request("alice.test", "/index.html", method="POST", body=b"a=1",
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status == 200 and response.body == f"<h1>{ALICE}</h1>\n".encode()


def test_a_script_s_own_reason_phrase_is_kept(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "tea.cgi", "#!/bin/sh\nprintf 'Status: 418 I am a teapot\\r\\n\\r\\n'\n")
    put(alice, "tea.php", "<?php header('HTTP/1.1 418 I am a teapot'); echo 'tea';\n")
    server = serve(itkgw_factory, alice, php_extensions=[".php"])
    for script in ("/tea.cgi", "/tea.php"):
        answer = raw_exchange(server.port, f"GET {script} HTTP/1.1\r\nHost: alice.test\r\n"
                                           "Connection: close\r\n\r\n".encode())
        assert answer.startswith(b"HTTP/1.1 418 I am a teapot\r\n"), answer[:200]


def test_status_lines_are_httpd_s_whatever_the_code(itkgw_factory, docroots, put: Put) -> None:
    """httpd's table of reasons decides: a code it has none for is its 500 line unless the
    script named a line (the body and headers are the script's either way); a bare Status
    code gets httpd's reason when there is one. http_response_code() names no line."""
    alice = docroots[ALICE]
    cgi = "#!/bin/sh\nprintf 'Status: %s\\r\\nContent-Type: text/plain\\r\\n\\r\\nbody'\n"
    put(alice, "bare.cgi", cgi % "452")
    put(alice, "known.cgi", cgi % "404")
    put(alice, "named.cgi", cgi % "600 Far Out")
    put(alice, "word.cgi", cgi % "abc")  # no code: httpd's 500 line over the script's answer
    put(alice, "code.php", "<?php http_response_code(452); echo 'body';\n")
    put(alice, "teapot.php", "<?php http_response_code(418); echo 'body';\n")
    put(alice, "line.php", "<?php header('HTTP/1.1 452 Custom Words'); echo 'body';\n")
    server = serve(itkgw_factory, alice, php_extensions=[".php"])
    expected = {"/bare.cgi": b"HTTP/1.1 452 \r\n", "/known.cgi": b"HTTP/1.1 404 Not Found\r\n",
                "/named.cgi": b"HTTP/1.1 600 Far Out\r\n",
                "/word.cgi": b"HTTP/1.1 500 Internal Server Error\r\n",
                "/code.php": b"HTTP/1.1 500 Internal Server Error\r\n",
                "/teapot.php": b"HTTP/1.1 500 Internal Server Error\r\n",
                "/line.php": b"HTTP/1.1 452 Custom Words\r\n"}
    for script, line in expected.items():
        answer = raw_exchange(server.port, f"GET {script} HTTP/1.1\r\nHost: alice.test\r\n"
                                           "Connection: close\r\n\r\n".encode())
        assert answer.startswith(line) and answer.endswith(b"body"), (script, answer[:300])


@pytest.mark.parametrize("handler", ["fcgid", "cgi"])
def test_a_php_http_1_0_status_line_is_answered_in_http_1_0_and_ends_the_connection(
        itkgw_factory, docroots, put: Put, handler: str) -> None:
    """As mod_php has httpd answer header("HTTP/1.0 404 Not Found"), and PHP's own 500 for a
    fatal error (which it sets the same way): an HTTP/1.0 status line, no chunks, no keep-alive."""
    alice = docroots[ALICE]
    put(alice, "gone.php", "<?php header('HTTP/1.0 404 Not Found'); echo 'gone';\n")
    put(alice, "long.php", "<?php header('HTTP/1.0 404 Not Found'); echo str_repeat('b', 200000);\n")
    put(alice, "fatal.php", "<?php no_such_function();\n")
    server = serve(itkgw_factory, alice, php_extensions=[".php"], php_handler=handler)
    for script, status in (("/gone.php", b"404 Not Found"), ("/fatal.php", b"500 Internal Server Error")):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            answer = _exchange_kept(sock, f"GET {script} HTTP/1.1\r\nHost: alice.test\r\n"
                                          "Connection: keep-alive\r\n\r\n".encode())
            assert answer.startswith(b"HTTP/1.0 " + status + b"\r\n"), answer[:200]
            assert b"\r\nConnection: close\r\n" in answer
            assert sock.recv(10) == b"", "the connection ends after the answer"
    long = raw_exchange(server.port, b"GET /long.php HTTP/1.1\r\nHost: alice.test\r\n\r\n")
    assert long.startswith(b"HTTP/1.0 404 Not Found\r\n") and b"chunked" not in long.lower()
    assert long.endswith(b"\r\n\r\n" + b"b" * 200000)


@pytest.mark.parametrize("handler", ["fcgid", "cgi"])
def test_a_small_php_response_gets_its_own_length_whatever_length_the_script_gave(
        itkgw_factory, docroots, put: Put, handler: str) -> None:
    """httpd's content-length filter, seeing the whole response, sets its real length: the
    client reads the whole body, and the connection goes on."""
    alice = docroots[ALICE]
    put(alice, "short.php", "<?php header('Content-Length: 3'); echo 'abcdef';\n")
    put(alice, "long.php", "<?php header('Content-Length: 10'); echo 'abcdef';\n")
    server = serve(itkgw_factory, alice, php_extensions=[".php"], php_handler=handler)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        for script in ("/short.php", "/long.php"):
            answer = _exchange_kept(sock, f"GET {script} HTTP/1.1\r\nHost: alice.test\r\n\r\n".encode())
            assert b"\r\nContent-Length: 6\r\n" in answer and answer.endswith(b"\r\n\r\nabcdef"), answer


def test_a_small_php_response_is_cut_to_the_range_asked_for_as_httpd_s_byterange_filter_does(
        itkgw_factory, docroots, put: Put) -> None:
    """mod_php's output that ends within httpd's first buffer is cut to a Range, as a file
    is: one range, several (multipart), none within the body (416). A response with its own
    validators keeps If-Range's rule; a 404 and a CGI script are never cut."""
    alice = docroots[ALICE]
    put(alice, "r.php", "<?php echo 'abcdef';\n")
    put(alice, "tagged.php", "<?php header('ETag: \"v1\"'); echo 'abcdef';\n")
    put(alice, "missing.php", "<?php http_response_code(404); echo 'abcdef';\n")
    put(alice, "r.cgi", "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nabcdef'\n")
    server = serve(itkgw_factory, alice, php_extensions=[".php"])

    def get(path: str, **headers: str) -> Any:
        return server.request("alice.test", path, headers=headers)

    one = get("/r.php", Range="bytes=1-3")
    assert (one.status, one.headers["Content-Range"], one.headers["Content-Length"], one.body) == \
        (206, "bytes 1-3/6", "3", b"bcd")
    several = get("/r.php", Range="bytes=0-1,4-")
    boundary = several.headers["Content-Type"].split("boundary=")[1]
    assert several.status == 206 and several.headers["Content-Type"].startswith("multipart/byteranges")
    assert several.body == (
        f"\r\n--{boundary}\r\nContent-type: text/html; charset=UTF-8\r\nContent-range: bytes 0-1/6\r\n\r\nab"
        f"\r\n--{boundary}\r\nContent-type: text/html; charset=UTF-8\r\nContent-range: bytes 4-5/6\r\n\r\nef"
        f"\r\n--{boundary}--\r\n").encode()
    assert get("/r.php", Range="bytes=90-").status == 416
    assert (get("/r.php", Range="bytes=1-3", **{"If-Range": '"v1"'}).status) == 200
    assert (get("/tagged.php", Range="bytes=1-3", **{"If-Range": '"v1"'}).body) == b"bcd"
    assert (get("/tagged.php", Range="bytes=1-3", **{"If-Range": '"v0"'}).body) == b"abcdef"
    for path, status in (("/missing.php", 404), ("/r.cgi", 200)):
        whole = get(path, Range="bytes=1-3")
        assert (whole.status, whole.body) == (status, b"abcdef")


@pytest.mark.parametrize(("handler", "model"), [("fcgid", "itk"), ("fcgid", "pool"), ("cgi", "itk")])
def test_a_php_script_its_identity_cannot_read_is_php_s_empty_500(itkgw_factory, docroots, put: Put,
                                                                   handler: str, model: str) -> None:
    """mod_php under mpm-itk fails to open the script as the vhost's user: PHP's fatal error,
    an empty 500 in HTTP/1.0 (php-cgi would answer a 403 of its own), every time; a static
    file so is httpd's 403."""
    alice = docroots[ALICE]
    put(alice, "private.php", "<?php echo 'once';\n")
    put(alice, "private.txt", "never\n")
    server = itkgw_factory([vhost_for(alice, "alice.test", php_extensions=[".php"], php_handler=handler)],
                           process_model=model)
    assert server.request("alice.test", "/private.php").body == b"once"  # its route now remembered
    for name in ("private.php", "private.txt"):
        os.chown(alice.htdocs / name, 0, 0)
        os.chmod(alice.htdocs / name, 0o600)
    for _ in range(2):
        answer = raw_exchange(server.port,
                              b"GET /private.php HTTP/1.1\r\nHost: alice.test\r\nConnection: close\r\n\r\n")
        assert answer.startswith(b"HTTP/1.0 500 Internal Server Error\r\n"), answer
        assert answer.endswith(b"\r\n\r\n") and b"\r\nContent-Length: 0\r\n" in answer
    assert server.request("alice.test", "/private.txt").status == 403
    assert "PHP Fatal error:  Failed opening required" in server.error_log_text()


@pytest.mark.parametrize("handler", ["fcgid", "cgi"])
def test_a_php_script_that_empties_its_content_type_is_sent_without_one(itkgw_factory, docroots,
                                                                       put: Put, handler: str) -> None:
    alice = docroots[ALICE]
    put(alice, "untyped.php", "<?php header('Content-Type:'); echo 'x';\n")
    server = serve(itkgw_factory, alice, php_extensions=[".php"], php_handler=handler)
    answer = server.request("alice.test", "/untyped.php")
    assert (answer.status, answer.headers["Content-Type"], answer.body) == (200, None, b"x")


def test_a_small_php_response_has_a_content_length_a_streamed_one_is_chunked(itkgw_factory, docroots,
                                                                            put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "small.php", "<?php echo 'hi';\n")
    put(alice, "stream.php", "<?php while (ob_get_level()) ob_end_flush();\n"
                             "echo 'a'; flush(); usleep(200000); echo 'b';\n")
    server = serve(itkgw_factory, alice, php_extensions=[".php"])
    small = server.request("alice.test", "/small.php")
    assert small.headers["Content-Length"] == "2" and small.body == b"hi"
    streamed = server.request("alice.test", "/stream.php")
    assert streamed.headers["Transfer-Encoding"] == "chunked" and streamed.body == b"ab"
    # httpd announces no framing at all for a HEAD whose length it does not know.
    head = server.request("alice.test", "/stream.php", method="HEAD")
    assert head.status == 200
    assert (head.headers["Transfer-Encoding"], head.headers["Content-Length"]) == (None, None)


def test_a_php_flush_ends_the_holding_whole_as_under_mod_php(itkgw_factory, docroots, put: Put) -> None:
    """Output PHP flush()es goes out at once under mod_php, so the response has no length and
    no Range is cut from it, however quickly the rest follows; a message to the error log
    between two outputs is no flush."""
    alice = docroots[ALICE]
    unbuffered = "<?php while (ob_get_level()) ob_end_flush(); echo 'abc'; "
    put(alice, "flushed.php", unbuffered + "flush(); echo 'def';\n")
    put(alice, "logged.php", unbuffered + "error_log('a note'); echo 'def';\n")
    server = serve(itkgw_factory, alice, php_extensions=[".php"])
    flushed = server.request("alice.test", "/flushed.php", headers={"Range": "bytes=0-1"})
    assert (flushed.status, flushed.headers["Transfer-Encoding"], flushed.body) == (200, "chunked", b"abcdef")
    logged = server.request("alice.test", "/logged.php")
    assert (logged.headers["Content-Length"], logged.body) == ("6", b"abcdef")


def test_a_cgi_script_s_output_read_whole_at_once_has_a_content_length(itkgw_factory, docroots,
                                                                       put: Put) -> None:
    """httpd's content-length filter measures what it reads from the script without waiting;
    a script that pauses is sent on chunked."""
    alice = docroots[ALICE]
    put(alice, "at-once.cgi",
        "#!/bin/sh\nprintf 'Status: 404 Not Found\\nContent-Type: text/plain\\n\\nnot here\\n'\n")
    put(alice, "pausing.cgi", "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\na'\nsleep 0.3\nprintf b\n")
    server = serve(itkgw_factory, alice)
    once = server.request("alice.test", "/at-once.cgi")
    assert (once.status, once.headers["Content-Length"], once.body) == (404, "9", b"not here\n")
    slow = server.request("alice.test", "/pausing.cgi")
    assert (slow.headers["Transfer-Encoding"], slow.body) == ("chunked", b"ab")


def test_an_absolute_form_target_replaces_the_host_header(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "host.php", "<?php echo $_SERVER['HTTP_HOST'], ' ', $_SERVER['SERVER_NAME'], ' ', "
                           "getallheaders()['Host'];\n")
    server = serve(itkgw_factory, alice, php_extensions=[".php"])
    answer = raw_exchange(server.port, b"GET http://www.alice.test:8080/host.php HTTP/1.1\r\n"
                                       b"Host: other.test\r\nConnection: close\r\n\r\n")
    assert answer.endswith(b"\r\n\r\nwww.alice.test:8080 www.alice.test www.alice.test:8080"), answer[-200:]



def _exchange_kept(sock: socket.socket, request: bytes) -> bytes:
    """Send one request on a kept connection; its response head and body (read by length,
    or to the end when the server closes)."""
    sock.sendall(request)
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(65536)
        if not chunk:
            return answer
        answer += chunk
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()
    lengths = [line.split(":", 1)[1] for line in head.split("\r\n") if line.startswith("content-length:")]
    if not lengths:
        while chunk := sock.recv(65536):
            answer += chunk
        return answer
    while len(answer.split(b"\r\n\r\n", 1)[1]) < int(lengths[0]):
        answer += sock.recv(65536)
    return answer


def test_an_http_1_0_client_asking_for_keep_alive_keeps_its_connection(itkgw_factory, docroots,
                                                                       put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "proto.php", "<?php echo $_SERVER['SERVER_PROTOCOL'];\n")
    put(alice, "stream.php", "<?php echo str_repeat('a', 20000); flush(); echo 'b';\n")
    server = serve(itkgw_factory, alice, php_extensions=[".php"])
    asking = b"Host: alice.test\r\nConnection: keep-alive\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        first = _exchange_kept(sock, b"GET /proto.php HTTP/1.0\r\n" + asking)
        assert b"\r\nKeep-Alive: timeout=5, max=100\r\nConnection: Keep-Alive\r\n" in first
        assert first.endswith(b"\r\n\r\nHTTP/1.0"), first
        second = _exchange_kept(sock, b"GET /index.html HTTP/1.0\r\n" + asking)
        assert b"\r\nKeep-Alive: timeout=5, max=99\r\n" in second
        # A response without a length cannot be framed for HTTP/1.0 but by closing.
        streamed = _exchange_kept(sock, b"GET /stream.php HTTP/1.0\r\n" + asking)
        assert b"\r\nConnection: close\r\n" in streamed
        assert streamed.endswith(b"\r\n\r\n" + b"a" * 20000 + b"b")
        assert b"chunked" not in streamed.lower() and sock.recv(10) == b""
    plain = raw_exchange(server.port, b"GET /index.html HTTP/1.0\r\nHost: alice.test\r\n\r\n")
    assert b"\r\nConnection: close\r\n" in plain and b"Keep-Alive:" not in plain


def test_max_keep_alive_requests_counts_the_requests_after_the_first(itkgw_factory, docroots) -> None:
    server = itkgw_factory([vhost_for(docroots[ALICE], "alice.test")], max_keep_alive_requests=3)
    served = []
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        for _ in range(6):
            answer = _exchange_kept(sock, b"GET /index.html HTTP/1.1\r\nHost: alice.test\r\n"
                                          b"Connection: keep-alive\r\n\r\n")
            if not answer:
                break
            served.append(answer)
    assert len(served) == 4, "httpd serves MaxKeepAliveRequests requests after the first"
    assert b"\r\nKeep-Alive: timeout=5, max=1\r\n" in served[2]
    assert b"\r\nConnection: close\r\n" in served[3]

def test_a_vhost_s_own_keep_alive_settings_rule_its_requests(itkgw_factory, docroots) -> None:
    """As httpd's r->server: the request's vhost says whether and how long the connection is
    kept and how many requests it takes, counted over the whole connection."""
    alice = docroots[ALICE]
    server = itkgw_factory([
        vhost_for(alice, "alice.test", keep_alive_timeout=3, max_keep_alive_requests=4),
        vhost_for(alice, "other.test", keep_alive_timeout=11, max_keep_alive_requests=9),
        vhost_for(alice, "closing.test", keep_alive=False)])
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        answers = [_exchange_kept(sock, b"GET /index.html HTTP/1.1\r\nHost: %s\r\n"
                                        b"Connection: keep-alive\r\n\r\n" % host)
                   for host in (b"alice.test", b"other.test", b"closing.test")]
        assert sock.recv(10) == b""
    assert b"\r\nKeep-Alive: timeout=3, max=4\r\n" in answers[0]
    assert b"\r\nKeep-Alive: timeout=11, max=8\r\n" in answers[1]
    assert b"\r\nConnection: close\r\n" in answers[2] and b" 200 OK\r\n" in answers[2]


def test_a_head_is_read_under_the_address_s_default_vhost_s_limits(itkgw_factory, docroots) -> None:
    """The Host header is unknown while the head is read: httpd holds it to the limits of the
    first vhost of the address, not to those of the vhost it names."""
    alice = docroots[ALICE]
    server = itkgw_factory([vhost_for(alice, "alice.test", limit_request_line=60),
                            vhost_for(alice, "other.test", limit_request_line=30)])

    def status(path: bytes) -> bytes:
        answer = raw_exchange(server.port, b"GET /%s HTTP/1.1\r\nHost: other.test\r\n"
                                           b"Connection: close\r\n\r\n" % path)
        return answer.split(b"\r\n", 1)[0]

    assert status(b"a" * 30) == b"HTTP/1.1 404 Not Found"
    assert status(b"a" * 80) == b"HTTP/1.1 414 Request-URI Too Long"


def test_allow_encoded_slashes_and_merge_slashes_say_what_a_path_s_slashes_are(itkgw_factory, docroots,
                                                                                put: Put) -> None:
    """Off (httpd's default): a path with %2F is 404. On: it is a slash. NoDecode: it stays
    %2F, a name of its own. MergeSlashes off keeps // in the path, which <Location> still
    matches merged, as httpd's location walk does."""
    alice = docroots[ALICE]
    put(alice, "a/b.html", "B\n")
    put(alice, "a%2Fb.html", "literal\n")
    denied = [{"path": "/a/b.html", "require": ["all denied"]}]
    server = itkgw_factory([
        vhost_for(alice, "off.test"),
        vhost_for(alice, "on.test", allow_encoded_slashes="on"),
        vhost_for(alice, "nodecode.test", allow_encoded_slashes="nodecode"),
        vhost_for(alice, "unmerged.test", merge_slashes=False, location=denied)])

    def answer(host: str, path: str) -> tuple[int, bytes]:
        response = server.request(host, path)
        return response.status, response.body

    assert answer("off.test", "/a%2Fb.html")[0] == 404
    assert "AH00026: found %2f (encoded '/') in URI path (/a%2Fb.html)" in server.error_log_text()
    assert answer("on.test", "/a%2Fb.html") == (200, b"B\n")
    assert answer("nodecode.test", "/a%2Fb.html") == (200, b"literal\n")
    assert answer("nodecode.test", "/a%2fb.html")[0] == 404, "a name with the escape as sent"
    assert answer("unmerged.test", "/a//b.html")[0] == 403


def test_limit_internal_recursion_bounds_a_chain_of_local_redirects(itkgw_factory, docroots,
                                                                    put: Put) -> None:
    alice = docroots[ALICE]
    for name, target in (("a", "b.cgi"), ("b", "c.cgi"), ("c", "d.html")):
        put(alice, f"{name}.cgi", f"#!/bin/sh\nprintf 'Location: /{target}\\n\\n'\n")
    put(alice, "d.html", "D\n")
    server = itkgw_factory([vhost_for(alice, "alice.test", cgi_extensions=[".cgi"], exec_cgi=True),
                            vhost_for(alice, "short.test", cgi_extensions=[".cgi"], exec_cgi=True,
                                      limit_internal_recursion=2)])
    assert server.request("alice.test", "/a.cgi").body == b"D\n"
    assert server.request("short.test", "/b.cgi").body == b"D\n"
    assert server.request("short.test", "/a.cgi").status == 500
    assert "AH00124: Request exceeded the limit of 2 internal redirects" in server.error_log_text()


LIMITS_CGI = """#!/bin/sh
printf 'Content-Type: text/plain\\n\\n'
cat /proc/self/limits
"""


def test_rlimits_bound_the_cgi_programs_of_their_sections(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "limits.cgi", LIMITS_CGI)
    put(alice, "bounded/limits.cgi", LIMITS_CGI)
    server = itkgw_factory([vhost_for(alice, "alice.test", cgi_extensions=[".cgi"], exec_cgi=True,
                                      rlimit_cpu=[30, 60], directory=[{
                                          "path": str(alice.htdocs / "bounded"), "rlimit_mem": [10**9],
                                          "rlimit_nproc": [200, "max"]}])])

    def limits(path: str) -> dict[str, list[str]]:
        lines = server.request("alice.test", path).body.decode().splitlines()[1:]
        return {line[:26].strip(): line[26:].split()[:2] for line in lines}

    hard_nproc = str(resource.getrlimit(resource.RLIMIT_NPROC)[1])
    outer, inner = limits("/limits.cgi"), limits("/bounded/limits.cgi")
    assert outer["Max cpu time"] == inner["Max cpu time"] == ["30", "60"]
    assert outer["Max address space"] == ["unlimited", "unlimited"]
    assert inner["Max address space"][0] == str(10**9) and inner["Max processes"] == ["200", hard_nproc]


ABORT_PHP = """<?php
ignore_user_abort(isset($_GET['ignore']));
$dir = __DIR__;
register_shutdown_function(function () use ($dir) {
    file_put_contents("$dir/shutdown.txt", 'aborted=' . connection_aborted());
});
while (ob_get_level()) ob_end_flush();
for ($i = 0; $i < 20; $i++) {
    echo str_repeat('x', 1000), "\\n";
    flush();
    usleep(50000);
}
file_put_contents("$dir/finished.txt", 'yes');
"""


def _leave_early(port: int, target: str) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: alice.test\r\n\r\n".encode())
        sock.recv(100)  # the first bytes are there: the script runs; then the client leaves


def _wait_for(path: Any, seconds: float = 10.0) -> str:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if time.monotonic() > deadline:
            return ""
        time.sleep(0.05)
    time.sleep(0.1)
    return path.read_text()


@pytest.mark.parametrize("handler", ["fcgid", "cgi"])
def test_a_script_runs_on_after_its_client_left_as_under_mod_php(itkgw_factory, docroots, put: Put,
                                                                 handler: str) -> None:
    """ignore_user_abort(true): the script finishes, its shutdown function sees the abort;
    without it, the script ends at its next output and the shutdown function still runs."""
    alice = docroots[ALICE]
    put(alice, "keep/abort.php", ABORT_PHP)
    put(alice, "stop/abort.php", ABORT_PHP)
    server = serve(itkgw_factory, alice, php_extensions=[".php"], php_handler=handler)
    markers = [alice.htdocs / folder / name for folder in ("keep", "stop")
               for name in ("finished.txt", "shutdown.txt")]
    try:
        _leave_early(server.port, "/keep/abort.php?ignore=1")
        assert _wait_for(alice.htdocs / "keep" / "finished.txt") == "yes", server.error_log_text()
        assert _wait_for(alice.htdocs / "keep" / "shutdown.txt") == "aborted=1"
        _leave_early(server.port, "/stop/abort.php")
        assert _wait_for(alice.htdocs / "stop" / "shutdown.txt") == "aborted=1", server.error_log_text()
        assert not (alice.htdocs / "stop" / "finished.txt").exists()
        assert server.request("alice.test", "/index.html").status == 200
    finally:
        for marker in markers:
            marker.unlink(missing_ok=True)


ETAG_CGI = """#!/bin/sh
printf 'Content-Type: text/plain\\r\\nETag: "v1"\\r\\nLast-Modified: Mon, 01 Jan 2024 00:00:00 GMT\\r\\n'
printf 'X-Other: 1\\r\\n\\r\\nbody\\n'
"""


def test_a_script_s_own_validators_answer_conditional_requests_with_304(itkgw_factory, docroots,
                                                                        put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "etag.cgi", ETAG_CGI)
    server = serve(itkgw_factory, alice)
    cached = server.request("alice.test", "/etag.cgi", headers={"If-None-Match": '"v1"'})
    assert cached.status == 304 and cached.body == b""
    assert cached.headers["ETag"] == '"v1"' and cached.headers["X-Other"] == "1"
    assert "Content-Type" not in cached.headers
    since = server.request("alice.test", "/etag.cgi",
                           headers={"If-Modified-Since": "Tue, 02 Jan 2024 00:00:00 GMT"})
    assert since.status == 304
    changed = server.request("alice.test", "/etag.cgi", headers={"If-None-Match": '"v2"'})
    assert changed.status == 200 and changed.body == b"body\n"
    posted = server.request("alice.test", "/etag.cgi", method="POST", body=b"",
                            headers={"If-None-Match": '"v1"'})
    assert posted.status == 200


def test_a_local_location_from_a_cgi_script_is_an_internal_redirect(itkgw_factory, docroots,
                                                                    put: Put) -> None:
    """RFC 3875 6.2.2, as mod_cgi: the client gets the other path's answer, as a GET without the
    body, and a script there sees REDIRECT_URL and REDIRECT_STATUS."""
    alice = docroots[ALICE]
    put(alice, "go.cgi", "#!/bin/sh\ncat >/dev/null\nprintf 'Location: /target.cgi?to=1\\r\\n\\r\\n'\n")
    put(alice, "target.cgi", "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\n"
                             "echo \"$REQUEST_METHOD $QUERY_STRING $REDIRECT_URL $REDIRECT_STATUS "
                             "$REDIRECT_QUERY_STRING ${CONTENT_LENGTH:-none}\"\n")
    put(alice, "loop.cgi", "#!/bin/sh\nprintf 'Location: /loop.cgi\\r\\n\\r\\n'\n")
    server = serve(itkgw_factory, alice)
    answer = server.request("alice.test", "/go.cgi?from=1", method="POST", body=b"a=1",
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status == 200 and answer.body == b"GET to=1 /go.cgi 200 from=1 none\n"
    looping = server.request("alice.test", "/loop.cgi")
    assert looping.status == 500
    assert "exceeded the limit of 10 internal redirects" in server.error_log_text()


def test_an_nph_script_s_output_is_the_response_as_it_is(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "nph-raw.cgi", "#!/bin/sh\nprintf 'HTTP/1.1 299 Odd\\r\\nX-Nph: yes\\r\\n\\r\\nraw body\\n'\n")
    server = serve(itkgw_factory, alice)
    answer = raw_exchange(server.port, b"GET /nph-raw.cgi HTTP/1.1\r\nHost: alice.test\r\n\r\n")
    assert answer == b"HTTP/1.1 299 Odd\r\nX-Nph: yes\r\n\r\nraw body\n"  # and the server closed
    assert '"GET /nph-raw.cgi HTTP/1.1" 299 ' in server.access_log_text("alice.test")


def test_a_php_message_is_one_error_log_line_as_under_mod_php(itkgw_factory, docroots, put: Put) -> None:
    """Each at mod_php's level for its kind; error_log()'s own text is a message of its own."""
    alice = docroots[ALICE]
    put(alice, "warn.php", "<?php trigger_error(\"first\\nsecond\", E_USER_WARNING);\n"
                           "error_log('said by the script'); trigger_error('take note', E_USER_NOTICE);\n"
                           "throw new Exception('thrown here');\n")
    server = serve(itkgw_factory, alice, php_extensions=[".php"])
    server.request("alice.test", "/warn.php")
    deadline = time.monotonic() + 5
    while "Stack trace" not in (log := server.error_log_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = log.splitlines()
    warning = f"PHP Warning:  first\\nsecond in {alice.htdocs / 'warn.php'} on line 1"
    assert any(line.endswith(warning) and "[php:warn]" in line for line in lines), log
    fatal = [line for line in lines if "PHP Fatal error:  Uncaught Exception: thrown here" in line]
    assert len(fatal) == 1 and "\\nStack trace:\\n#0 {main}\\n  thrown in " in fatal[0], log
    assert "[php:error]" in fatal[0] and not any(line.endswith("] Stack trace:") for line in lines)
    assert any(line.endswith("] said by the script") and "[php:notice]" in line for line in lines), log
    assert any(line.endswith(f"PHP Notice:  take note in {alice.htdocs / 'warn.php'} on line 2")
               and "[php:notice]" in line for line in lines), log


def test_error_pages_are_httpd_s_own_byte_for_byte(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "broken.cgi", "#!/bin/sh\necho 'not a header'\n")
    server = serve(itkgw_factory, alice, server_admin="webmaster@alice.test")
    missing = server.request("alice.test", "/nope.html")
    assert missing.body == (
        b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">\n'
        b"<html><head>\n<title>404 Not Found</title>\n</head><body>\n<h1>Not Found</h1>\n"
        b"<p>The requested URL was not found on this server.</p>\n</body></html>\n")
    refused = server.request("alice.test", "/index.html", method="PUT", body=b"x")
    assert refused.status == 405 and refused.headers["Allow"] == "OPTIONS,HEAD,GET,POST,TRACE"
    assert b"<p>The requested method PUT is not allowed for this URL.</p>\n" in refused.body
    failed = server.request("alice.test", "/broken.cgi")
    assert failed.status == 500
    contact = b"<p>Please contact the server administrator at \n webmaster@alice.test to inform them"
    assert contact in failed.body


def test_the_method_is_judged_before_the_file_is_looked_for(itkgw_factory, docroots, test_users) -> None:
    """httpd's default handler: OPTIONS, PUT and unknown methods get their answer on a path that
    does not exist, or has path info after a file, as on a file, not 404; OPTIONS names the
    content type of the file the path names or would name."""
    alice = docroots[ALICE]
    server = itkgw_factory([vhost_for(alice, "alice.test"), vhost_for(alice, "off.test", trace_enable="off")])
    for path, content_type in (("/nope", None), ("/index.html/more", "text/html"), ("/", "text/html"),
                               ("/nope.txt", "text/plain")):
        options = server.request("alice.test", path, method="OPTIONS")
        assert (options.status, options.headers["Allow"]) == (200, "OPTIONS,HEAD,GET,POST,TRACE"), path
        assert options.headers.get("Content-Type") == content_type, path  # the file's, as httpd's
        assert server.request("alice.test", path, method="DELETE").status == 405, path
        assert server.request("alice.test", path, method="BREW").status == 501, path
    assert server.request("off.test", "/nope", method="OPTIONS").headers["Allow"] == "OPTIONS,HEAD,GET,POST"
    unknown = server.request("alice.test", "/index.html", method="BREW")
    assert unknown.headers["Allow"] == "OPTIONS,HEAD,GET,POST,TRACE"  # httpd names what would do
    assert b"<p>BREW not supported for current URL.<br />\n</p>" in unknown.body
    assert server.request("off.test", "/", method="BREW").headers["Allow"] == "OPTIONS,HEAD,GET,POST"


@pytest.mark.parametrize("version", ["1.1", "1.0"])
def test_an_expectation_other_than_100_continue_is_a_417_naming_it(itkgw_factory, docroots,
                                                                   version: str) -> None:
    server = serve(itkgw_factory, docroots[ALICE])
    answer = raw_exchange(server.port, f"GET /index.html HTTP/{version}\r\nHost: alice.test\r\n"
                                       "Expect: 100-continue, <x>\r\nConnection: keep-alive\r\n\r\n"
                                       "GET /index.html HTTP/1.1\r\nHost: alice.test\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 417 Expectation Failed\r\n")
    assert (b"The client sent<pre>\n    Expect: 100-continue, &lt;x&gt;\n</pre>\n</p>"
            b"<p>Only the 100-continue expectation is supported.</p>") in answer
    assert answer.count(b"HTTP/1.1 ") == 1, "the connection ends after a 417, as httpd's does"
    fine = raw_exchange(server.port, b"POST /index.html HTTP/1.1\r\nHost: alice.test\r\n"
                                     b"Expect: 100-Continue\r\nContent-Length: 2\r\n"
                                     b"Connection: close\r\n\r\nab")
    assert fine.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"), fine[:100]


def test_a_request_target_with_a_fragment_is_a_400(itkgw_factory, docroots) -> None:
    server = serve(itkgw_factory, docroots[ALICE])
    for target in ("/index.html#top", "/index.html?a#b"):
        answer = raw_exchange(server.port, f"GET {target} HTTP/1.1\r\nHost: alice.test\r\n\r\n".encode())
        assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n"), target


def test_header_values_and_codings_are_judged_as_httpd_judges_them(itkgw_factory, docroots, put: Put) -> None:
    """A control character in a field value and an empty Host of HTTP/1.1 are 400
    (HttpProtocolOptions Strict); a body whose last coding is chunked is read by it, as
    httpd frames 'gzip, chunked' and leaves the rest to the handler."""
    alice = docroots[ALICE]
    put(alice, "len.cgi", "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nwc -c\n")
    server = serve(itkgw_factory, alice)
    for head in (b"GET /index.html HTTP/1.1\r\nHost: alice.test\r\nX-T: a\x01b\r\n",
                 b"GET /index.html HTTP/1.1\r\nHost:\r\n"):
        answer = raw_exchange(server.port, head + b"Connection: close\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n"), head
    coded = raw_exchange(server.port, b"POST /len.cgi HTTP/1.1\r\nHost: alice.test\r\nConnection: close\r\n"
                                      b"Transfer-Encoding: gzip, chunked\r\n\r\n5\r\nabcde\r\n0\r\n\r\n")
    assert coded.startswith(b"HTTP/1.1 200 OK\r\n") and coded.endswith(b"5\n"), coded


def test_a_head_answered_with_an_error_page_names_no_length_and_keeps_the_connection(itkgw_factory,
                                                                                     docroots) -> None:
    """httpd makes no page for a HEAD: its error answers have a type but no Content-Length, an
    ErrorDocument's text included."""
    server = serve(itkgw_factory, docroots[ALICE], error_documents={"403": '"No entry'},
                   directory=[{"path": str(docroots[ALICE].htdocs / "closed"), "require": ["all denied"]}])
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        for target, status in ((b"/nope", b"404 Not Found"), (b"/closed/x", b"403 Forbidden")):
            sock.sendall(b"HEAD " + target + b" HTTP/1.1\r\nHost: alice.test\r\n\r\n")
            first = sock.recv(65536)
            assert first.startswith(b"HTTP/1.1 " + status + b"\r\n") and first.endswith(b"\r\n\r\n")
            assert b"Content-Type: text/html; charset=iso-8859-1\r\n" in first
            assert b"Content-Length" not in first
        again = _exchange_kept(sock, b"GET /index.html HTTP/1.1\r\nHost: alice.test\r\n\r\n")
        assert again.startswith(b"HTTP/1.1 200 OK\r\n")


@pytest.mark.parametrize("index", ["index.html", "index.php"])
def test_options_star_asks_about_the_server_and_names_no_methods(itkgw_factory, docroots, put: Put,
                                                                 index: str) -> None:
    """Whatever "/" would serve: a DirectoryIndex script is not run for it either."""
    alice = docroots[ALICE]
    put(alice, "index.php", "<?php echo 'the index ran';\n")
    server = serve(itkgw_factory, alice, php_extensions=[".php"], directory_index=[index])
    answer = raw_exchange(server.port, b"OPTIONS * HTTP/1.1\r\nHost: alice.test\r\nConnection: close\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    head = head.lower()
    assert head.startswith(b"http/1.1 200 ok") and b"content-length: 0" in head and b"allow:" not in head
    assert b"content-type:" not in head and body == b""


@pytest.mark.parametrize("status", ["204 No Content", "304 Not Modified"])
@pytest.mark.parametrize("script,code", [
    ("none.cgi", "#!/bin/sh\nprintf 'Status: {status}\\r\\nContent-Type: text/plain\\r\\n"
                 "Content-Length: 4\\r\\nContent-Language: de\\r\\nX-Other: 1\\r\\n\\r\\nbody'\n"),
    ("none.php", "<?php http_response_code({code}); header('Content-Language: de'); header('X-Other: 1');"
                 " echo 'body';\n"),
])
def test_a_204_or_304_has_no_content_type_or_length(itkgw_factory, docroots, put: Put, script: str,
                                                    code: str, status: str) -> None:
    """httpd's header filter drops the type and length of a 204 or a 304, which have no body;
    the script's other headers stay."""
    alice = docroots[ALICE]
    put(alice, script, code.format(status=status, code=status[:3]))
    server = serve(itkgw_factory, alice, php_extensions=[".php"])
    answer = raw_exchange(server.port, f"GET /{script} HTTP/1.1\r\nHost: alice.test\r\n"
                                       "Connection: close\r\n\r\n".encode())
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status}\r\n".encode()) and body == b""
    lines = head.lower().split(b"\r\n")
    assert b"content-language: de" in lines and b"x-other: 1" in lines
    assert not any(line.startswith((b"content-type:", b"content-length:")) for line in lines), head


@pytest.mark.parametrize("handler", ["fcgid", "cgi"])
def test_a_php_location_with_status_200_is_passed_on_as_mod_php_does(itkgw_factory, docroots, put: Put,
                                                                      handler: str) -> None:
    alice = docroots[ALICE]
    put(alice, "here.php", "<?php header('Location: /elsewhere', true, 200); echo 'still here';\n")
    server = serve(itkgw_factory, alice, php_extensions=[".php"], php_handler=handler)
    response = server.request("alice.test", "/here.php")
    assert (response.status, response.headers["Location"]) == (200, "/elsewhere")
    assert response.body == b"still here"


def test_rewrite_engine_on_gives_scripts_script_url_and_script_uri(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "urls.cgi", "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n%s %s' "
                           "\"${SCRIPT_URL-unset}\" \"${SCRIPT_URI-unset}\"\n")
    server = itkgw_factory([vhost_for(alice, "alice.test", cgi_extensions=[".cgi"], exec_cgi=True,
                                      rewrite_engine=True),
                            vhost_for(alice, "plain.test", cgi_extensions=[".cgi"], exec_cgi=True)])
    on = server.request("alice.test:8080", "/urls.cgi/more")
    assert on.body == b"/urls.cgi/more http://alice.test:8080/urls.cgi/more", on.body
    assert server.request("plain.test", "/urls.cgi").body == b"unset unset"


@pytest.mark.parametrize("model", ["itk", "pool"])
def test_answers_before_the_plan_get_the_always_headers_and_error_documents(itkgw_factory, docroots,
                                                                           put: Put, model: str) -> None:
    """A Redirect or a RewriteRule's F or G answers before the request is mapped; httpd still
    adds the vhost's "Header always" lines and uses its ErrorDocuments, a local one read as the
    tenant (its internal redirect switches, as any request does)."""
    alice = docroots[ALICE]
    put(alice, "errors/gone.html", "long gone\n")
    rules = [{"pattern": "^/forbid$", "substitution": "-", "flags": ["F"], "conditions": []},
             {"pattern": "^/gone$", "substitution": "-", "flags": ["G"], "conditions": []}]
    server = itkgw_factory([vhost_for(
        alice, "alice.test", rewrite_engine=True, rewrite_rules=rules,
        redirects=[{"url_path": "/old", "target": "/errors/gone.html", "status": 301}],
        headers=[["always", "set", "X-Frame-Options", "DENY"], ["set", "X-Plain", "yes"]],
        error_documents={"403": '"No entry', "410": "/errors/gone.html"})], process_model=model)
    moved = server.request("alice.test", "/old")
    assert (moved.status, moved.headers["X-Frame-Options"], moved.headers["X-Plain"]) == (301, "DENY", None)
    forbidden = server.request("alice.test", "/forbid")
    assert (forbidden.status, forbidden.body) == (403, b"No entry")
    assert forbidden.headers["X-Frame-Options"] == "DENY"
    assert forbidden.headers["Content-Type"] == "text/html; charset=iso-8859-1"
    gone = server.request("alice.test", "/gone")
    assert (gone.status, gone.body, gone.headers["X-Frame-Options"]) == (410, b"long gone\n", "DENY")
    # A head refused as it is parsed (a bad escape) is answered with the vhost's always headers too.
    answer = raw_exchange(server.port, b"GET /%zz HTTP/1.1\r\nHost: alice.test\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ") and b"\r\nX-Frame-Options: DENY\r\n" in answer
    traced = raw_exchange(server.port, b"TRACE / HTTP/1.1\r\nHost: alice.test\r\nConnection: close\r\n\r\n")
    assert traced.startswith(b"HTTP/1.1 200 ") and b"X-Frame-Options" not in traced.split(b"\r\n\r\n")[0]


@pytest.mark.parametrize("model", ["itk", "pool"])
def test_an_http_0_9_get_is_answered_with_the_body_alone_as_httpd_allows(itkgw_factory, docroots, put: Put,
                                                                        model: str) -> None:
    """httpd's default Allow0.9: a request line without a protocol is a GET answered by the
    body alone, no status line and no header, then the end of the connection; another
    method so is a 400 in HTTP/1.1. A file, a missing one (its error page) and PHP alike."""
    alice = docroots[ALICE]
    put(alice, "simple.txt", "simple\n")
    put(alice, "simple.php", "<?php header('X-A: 1'); echo 'from php';\n")
    server = itkgw_factory([vhost_for(alice, "alice.test", php_extensions=[".php"])], process_model=model)
    assert raw_exchange(server.port, b"GET /simple.txt\r\n") == b"simple\n"
    assert raw_exchange(server.port, b"GET /simple.txt\r\nHost: alice.test\r\n\r\n") == b"simple\n"
    assert raw_exchange(server.port, b"GET /simple.php\r\n") == b"from php"
    missing = raw_exchange(server.port, b"GET /missing.txt\r\n")
    assert missing.startswith(b"<!DOCTYPE HTML") and b"<title>404 Not Found</title>" in missing
    posted = raw_exchange(server.port, b"POST /simple.txt\r\n")
    assert posted.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    # A bare LF is no HTTP/0.9 request: httpd's strict parsing refuses it.
    assert raw_exchange(server.port, b"GET /simple.txt\n\n").startswith(b"HTTP/1.1 400 ")
    assert '"GET /simple.txt" 200' in (server.workdir / "alice.test.access.log").read_text()


def test_a_rewrite_proxy_rule_is_httpds_403_without_mod_proxy(itkgw_factory, docroots, put: Put) -> None:
    """[P] asks mod_proxy, which itkgw has not: httpd without it answers 403 and logs AH00669."""
    alice = docroots[ALICE]
    put(alice, "px/.htaccess", "RewriteEngine On\nRewriteRule ^a$ http://127.0.0.1:9/$0 [P]\n")
    server = serve(itkgw_factory, alice,
                   directory=[{"path": f"{alice.htdocs}/px", "allow_override": ["All"]}])
    assert server.request("alice.test", "/px/a").status == 403
    assert server.request("alice.test", "/px/b").status == 404
    assert "AH00669: attempt to make remote request from mod_rewrite without proxy enabled: " \
           "proxy:http://127.0.0.1:9/a" in server.error_log_text()


@pytest.mark.parametrize("handler", ["fcgid", "cgi"])
def test_php_headers_without_a_colon_are_dropped_and_the_last_type_kept(itkgw_factory, docroots, put: Put,
                                                                        handler: str) -> None:
    """mod_php hands httpd no header for header('Bogus'), and one Content-Type, the last set."""
    alice = docroots[ALICE]
    put(alice, "bogus.php", "<?php header('Bogus'); header('X-Real: 1');\n"
                            "header('Content-Type: text/plain'); header('Content-Type: text/csv', false);\n"
                            "echo 'ok';\n")
    server = serve(itkgw_factory, alice, php_extensions=[".php"], php_handler=handler)
    answer = raw_exchange(server.port,
                          b"GET /bogus.php HTTP/1.1\r\nHost: alice.test\r\nConnection: close\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and body == b"ok"
    assert b"\r\nX-Real: 1" in head and b"Bogus" not in head
    assert head.count(b"Content-Type:") == 1 and b"\r\nContent-Type: text/csv;charset=UTF-8" in head


def test_an_early_answer_for_another_identity_on_a_kept_connection_closes_it(itkgw_factory, docroots,
                                                                             put: Put) -> None:
    """mpm-itk's rule holds for an early answer with a local ErrorDocument too: the connection
    running as alice ends at bob's request, without an answer and without a failure."""
    alice, bob = docroots[ALICE], docroots[BOB]
    put(bob, "errors/gone.html", "long gone\n")
    server = itkgw_factory([
        vhost_for(alice, "alice.test"),
        vhost_for(bob, "bob.test", rewrite_engine=True, error_documents={"410": "/errors/gone.html"},
                  rewrite_rules=[{"pattern": "^/gone$", "substitution": "-", "flags": ["G"],
                                  "conditions": []}])])
    answer = raw_exchange(server.port, b"GET /index.html HTTP/1.1\r\nHost: alice.test\r\n\r\n"
                                       b"GET /gone HTTP/1.1\r\nHost: bob.test\r\n\r\n")
    assert answer.count(b"HTTP/1.1 ") == 1 and answer.startswith(b"HTTP/1.1 200 ")
    assert server.request("bob.test", "/gone").body == b"long gone\n"  # on a connection of its own
    assert "failed" not in server.error_log_text()


@pytest.mark.parametrize(("extra", "notes"), [
    (b"X-Big: " + b"b" * 9000 + b"\r\n", b"Size of a request header field exceeds server limit."),
    (b"X-Many: 1\r\n" * 120, b"The number of request header fields exceeds this server's limit."),
    (b"Transfer-Encoding: gzip\r\n", b""),
])
def test_heads_over_the_limits_are_httpd_s_400_with_its_notes(itkgw_factory, docroots, extra: bytes,
                                                               notes: bytes) -> None:
    """httpd answers LimitRequestFieldSize, LimitRequestFields and an unknown Transfer-Encoding
    with 400 (not 431 or 501), saying which limit after its sentence."""
    server = serve(itkgw_factory, docroots[ALICE])
    answer = raw_exchange(server.port, b"GET / HTTP/1.1\r\nHost: alice.test\r\n" + extra + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert (b"<p>Your browser sent a request that this server could not understand.<br />\n" + notes
            + b"</p>\n</body></html>\n") in answer


def test_an_explicit_http_0_9_request_line_is_refused(itkgw_factory, docroots) -> None:
    server = serve(itkgw_factory, docroots[ALICE])
    answer = raw_exchange(server.port, b"GET /index.html HTTP/0.9\r\nHost: alice.test\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")


def test_an_http_1_0_client_without_host_keeps_its_connection_when_it_asks(itkgw_factory, docroots) -> None:
    """httpd keeps an HTTP/1.0 keep-alive connection whether or not the request names a Host,
    a request with a body too."""
    server = serve(itkgw_factory, docroots[ALICE])
    kept = b"GET /index.html HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
    posted = b"POST /index.html HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc"
    answer = raw_exchange(server.port, kept + posted + b"GET /index.html HTTP/1.0\r\n\r\n")
    assert answer.count(b"HTTP/1.1 200 OK\r\n") == 3
    assert answer.count(b"\r\nConnection: Keep-Alive\r\n") == 2


def test_connect_to_an_authority_is_answered_for_slash_as_httpd_does(itkgw_factory, docroots) -> None:
    """CONNECT host:port (no proxy here): httpd takes the host and serves "/", whose static
    index answers 405 with Allow; the connection stays open. It was a 400 and a close."""
    server = itkgw_factory([vhost_for(docroots[ALICE], "alice.test")])
    tunnel = b"CONNECT alice.test:443 HTTP/1.1\r\nHost: alice.test:443\r\n\r\n"
    then = b"GET /index.html HTTP/1.1\r\nHost: alice.test\r\nConnection: close\r\n\r\n"
    answer = raw_exchange(server.port, tunnel + then)
    assert answer.startswith(b"HTTP/1.1 405 Method Not Allowed\r\n") and b"\r\nAllow: " in answer
    assert b"The requested method CONNECT is not allowed for this URL." in answer
    assert answer.count(b"HTTP/1.1 200 OK\r\n") == 1


def test_alias_match_maps_what_its_regex_matches_and_script_alias_match_runs_it(itkgw_factory, docroots,
                                                                                  test_users) -> None:
    """As mod_alias: the whole URL is replaced by the path its groups fill in; PATH_INFO is
    what follows the script found there."""
    alice = docroots[ALICE]
    server = itkgw_factory([vhost_for(alice, "alice.test",
                                      alias_match={"^/pages/(.*)[.]htm$": f"{alice.htdocs}/$1.html",
                                                   "^/home": f"{alice.htdocs}/index.html"},
                                      script_alias_match={"^/run/([a-z]+)": f"{alice.cgi_bin}/$1.cgi"})])
    assert server.request("alice.test", "/pages/index.htm").body == b"<h1>itkt-alice</h1>\n"
    assert server.request("alice.test", "/home/anything/below").body == b"<h1>itkt-alice</h1>\n"
    assert server.request("alice.test", "/pages/missing.htm").status == 404
    ran = server.request("alice.test", "/run/whoami")
    assert (ran.status, ran.body.startswith(b"uid=")) == (200, True), ran.body
    assert server.request("alice.test", "/run/nosuch").status == 404


def test_an_alias_names_the_context_and_a_pass_through_rewrite_the_script(itkgw_factory, docroots,
                                                                          put: Put) -> None:
    """mod_alias sets CONTEXT_PREFIX and CONTEXT_DOCUMENT_ROOT for an Alias as written (not for
    AliasMatch); a [PT] rule's path is the request's URI after it, so SCRIPT_NAME is the new one,
    while a rule without PT only maps the request."""
    alice = docroots[ALICE]
    script = ("<?php echo $_SERVER['SCRIPT_NAME'], '|', $_SERVER['CONTEXT_PREFIX'], '|',"
              " $_SERVER['CONTEXT_DOCUMENT_ROOT'];\n")
    put(alice, "aliased/k.php", script)
    put(alice, "k.php", script)
    rules = [{"pattern": "^/old/(.*)$", "substitution": "/pal/$1", "flags": ["PT"], "conditions": []},
             {"pattern": "^/front/(.*)$", "substitution": "/k.php", "flags": ["L"], "conditions": []}]
    server = itkgw_factory([vhost_for(alice, "alice.test", php_extensions=[".php"], rewrite_engine=True,
                                      rewrite_rules=rules, alias={"/pal/": f"{alice.htdocs}/aliased/"},
                                      alias_match={"^/am/(.*)$": f"{alice.htdocs}/aliased/$1"})])
    aliased = f"{alice.htdocs}/aliased/"
    assert server.request("alice.test", "/pal/k.php").body.decode() == f"/pal/k.php|/pal/|{aliased}"
    assert server.request("alice.test", "/old/k.php").body.decode() == f"/pal/k.php|/pal/|{aliased}"
    assert server.request("alice.test", "/am/k.php").body.decode() == f"/am/k.php||{alice.htdocs}"
    assert server.request("alice.test", "/front/a").body.decode() == f"/front/a||{alice.htdocs}"


AUTH_PHP = ("<?php foreach (['PHP_AUTH_USER', 'PHP_AUTH_PW', 'PHP_AUTH_DIGEST', 'HTTP_AUTHORIZATION']\n"
            "         as $name)\n"
            "    echo $name, '=', $_SERVER[$name] ?? '(unset)', \"\\n\";\n"
            "echo 'header=', getallheaders()['Authorization'] ?? '(none)', \"\\n\";\n")


def test_php_gets_the_credentials_and_the_header_list_but_no_variable_as_under_mod_php(
        itkgw_factory, docroots, put: Put) -> None:
    """mod_php reads Basic and Digest credentials from Authorization itself and lists the header
    in getallheaders(), while httpd hands it on as HTTP_AUTHORIZATION only under CGIPassAuth."""
    alice = docroots[ALICE]
    put(alice, "auth.php", AUTH_PHP)
    put(alice, "passed/auth.php", AUTH_PHP)
    server = serve(itkgw_factory, alice,
                   directory=[{"path": f"{alice.htdocs}/passed", "cgi_pass_auth": True}])

    def seen(path: str, authorization: str) -> dict[str, str]:
        return env_of(server.request("alice.test", path, headers={"Authorization": authorization}).body)

    assert seen("/auth.php", "Basic YWxpY2U6c2VjcmV0") == {
        "PHP_AUTH_USER": "alice", "PHP_AUTH_PW": "secret", "PHP_AUTH_DIGEST": "(unset)",
        "HTTP_AUTHORIZATION": "(unset)", "header": "Basic YWxpY2U6c2VjcmV0"}
    # PHP's lenient base64: "basic" in any case, stray characters skipped; no password, none set.
    assert seen("/auth.php", "basic YW*xpY2U6") == {
        "PHP_AUTH_USER": "alice", "PHP_AUTH_PW": "(unset)", "PHP_AUTH_DIGEST": "(unset)",
        "HTTP_AUTHORIZATION": "(unset)", "header": "basic YW*xpY2U6"}
    assert seen("/auth.php", 'Digest username="alice"')["PHP_AUTH_DIGEST"] == 'username="alice"'
    bearer = seen("/auth.php", "Bearer abc.def")
    assert (bearer["PHP_AUTH_USER"], bearer["HTTP_AUTHORIZATION"], bearer["header"]) == (
        "(unset)", "(unset)", "Bearer abc.def")
    passed = seen("/passed/auth.php", "Basic YWxpY2U6c2VjcmV0")
    assert (passed["PHP_AUTH_USER"], passed["HTTP_AUTHORIZATION"], passed["header"]) == (
        "alice", "Basic YWxpY2U6c2VjcmV0", "Basic YWxpY2U6c2VjcmV0")


ERROR_PHP = ("<?php echo $_SERVER['REQUEST_METHOD'], ' ', $_SERVER['REDIRECT_REQUEST_METHOD'] ?? '-', ' [',"
             " file_get_contents('php://input'), ']';")


def test_an_error_document_gets_the_body_unless_the_default_handler_dropped_it(itkgw_factory, docroots,
                                                                                put: Put) -> None:
    """httpd's default handler reads and drops a request body before it answers (404 for a
    missing file, 405 for a method it does not serve), so their ErrorDocument script reads
    none; a refusal made before any handler runs leaves the body to the document."""
    alice = docroots[ALICE]
    put(alice, "errors/report.php", ERROR_PHP)
    put(alice, "page.txt", "a page\n")
    put(alice, "closed/page.txt", "closed\n")
    server = serve(itkgw_factory, alice,
                   error_documents={code: "/errors/report.php" for code in ("403", "404", "405")},
                   directory=[{"path": f"{alice.htdocs}/closed", "require": ["all denied"]}])
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    missing = server.request("alice.test", "/no-such-page", method="POST", body=b"a=1", headers=form)
    assert (missing.status, missing.body) == (404, b"GET POST []")
    refused = server.request("alice.test", "/closed/page.txt", method="POST", body=b"a=1", headers=form)
    assert (refused.status, refused.body) == (403, b"GET POST [a=1]")
    put_on_file = server.request("alice.test", "/page.txt", method="PUT", body=b"a=1", headers=form)
    assert (put_on_file.status, put_on_file.body) == (405, b"GET PUT []")
    assert put_on_file.headers["Allow"] is None  # the document's answer, not the status page's


def test_a_method_a_file_does_not_take_is_a_405_naming_the_methods(itkgw_factory, docroots, put: Put) -> None:
    put(docroots[ALICE], "page.txt", "a page\n")
    server = serve(itkgw_factory, docroots[ALICE])
    answer = server.request("alice.test", "/page.txt", method="PUT", body=b"new")
    assert answer.status == 405 and b"The requested method PUT is not allowed" in answer.body
    assert answer.headers["Allow"] == "OPTIONS,HEAD,GET,POST,TRACE"


def test_rewrite_maps_give_the_rules_their_values(itkgw_factory, docroots, put: Put,
                                                  readable_dir: Path) -> None:
    """RewriteMap as httpd reads it: a text map's first word after the key, an internal
    function, the default for a key the map lacks; the map is read again once changed."""
    alice = docroots[ALICE]
    moved = readable_dir / "moved.map"
    moved.write_text("# old page -> new page\nold-page /new-page.txt\n")
    moved.chmod(0o644)
    put(alice, "new-page.txt", "new\n")
    put(alice, "lower/page.txt", "lower\n")
    server = serve(itkgw_factory, alice, rewrite_engine=True,
                   rewrite_maps={"moved": f"txt:{moved}", "lc": "int:tolower"},
                   rewrite_rules=[{"pattern": "^/m/(.*)", "substitution": "${moved:$1|/gone.html}",
                                   "flags": ["R=301", "L"]},
                                  {"pattern": "^/LC/(.*)", "substitution": "/${lc:LOWER/$1}",
                                   "flags": ["PT"]}])
    moved_page = server.request("alice.test", "/m/old-page")
    assert (moved_page.status, moved_page.headers["Location"]) == (301, "http://alice.test/new-page.txt")
    assert server.request("alice.test", "/m/other").headers["Location"] == "http://alice.test/gone.html"
    assert server.request("alice.test", "/LC/PAGE.TXT").body == b"lower\n"
    moved.write_text("old-page /lower/page.txt\n")
    assert server.request("alice.test", "/m/old-page").headers["Location"] == "http://alice.test/lower/page.txt"


def test_a_path_sent_as_utf_8_is_served_as_httpd_serves_it(itkgw_factory, docroots, put: Put) -> None:
    """httpd takes bytes past ASCII in a request target as they come (RFC 9112's obs-text);
    a redirect escapes them again in lower-case hex, as ap_escape_uri does."""
    alice = docroots[ALICE]
    put(alice, "café/menu.txt", "menu\n")
    server = serve(itkgw_factory, alice)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET /caf\xc3\xa9/menu.txt HTTP/1.1\r\nHost: alice.test\r\n\r\n"
                     b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: alice.test\r\nConnection: close\r\n\r\n")
        answers = b""
        while chunk := sock.recv(65536):
            answers += chunk
    assert answers.startswith(b"HTTP/1.1 200 OK\r\n") and b"\r\n\r\nmenu\n" in answers
    assert b"HTTP/1.1 301 Moved Permanently\r\n" in answers
    assert b"Location: http://alice.test/caf%c3%a9/\r\n" in answers


def test_the_access_log_names_what_httpd_s_names(itkgw_factory, docroots, put: Put) -> None:
    """A refused head is logged in the address's first vhost's log, with the line as sent; bytes
    past ASCII are escaped; %X and %k tell a kept connection; %R names the handler of the
    request as it came (a directory's, a rewrite's)."""
    alice = docroots[ALICE]
    put(alice, "café.txt", "menu\n")
    put(alice, "docs/page.txt", "docs\n")
    put(alice, "old/.htaccess", "RewriteEngine on\nRewriteRule ^page$ /docs/page.txt\n")
    server = serve(itkgw_factory, alice, access_log_format='"%r" %>s %U %X %k %R %B',
                   directory=[{"path": str(alice.htdocs), "allow_override": ["All"]}])
    raw_exchange(server.port, b"GARBAGE\r\n\r\n")
    raw_exchange(server.port, b"GET /caf\xc3\xa9.txt HTTP/1.1\r\nHost: alice.test\r\n\r\n"
                              b"GET /docs HTTP/1.1\r\nHost: alice.test\r\n\r\n"
                              b"GET /old/page HTTP/1.1\r\nHost: alice.test\r\nConnection: close\r\n\r\n")
    deadline = time.monotonic() + 5
    while server.access_log_text("alice.test").count("\n") < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.access_log_text("alice.test").splitlines() == [
        '"GARBAGE" 400 / - 0 - 266',
        '"GET /caf\\xc3\\xa9.txt HTTP/1.1" 200 /caf\\xc3\\xa9.txt + 0 - 5',
        '"GET /docs HTTP/1.1" 301 /docs + 1 httpd/unix-directory 271',
        '"GET /old/page HTTP/1.1" 200 /old/page - 1 redirect-handler 5']


def test_the_variables_httpd_acts_on_change_the_answer(itkgw_factory, docroots, put: Put) -> None:
    """BrowserMatch's nokeepalive ends the connection; SetEnv no-gzip keeps DEFLATE off;
    downgrade-1.0 with force-response-1.0 answers in HTTP/1.0; ErrorDocument default gives
    httpd's own page back under a directory whose parent has a document."""
    alice = docroots[ALICE]
    put(alice, "old/.htaccess", 'BrowserMatch "^Mozilla/2" nokeepalive\n'
                                'BrowserMatch "^MSIE 4\\.0b2;" downgrade-1.0 force-response-1.0\n'
                                "SetEnv no-gzip 1\nAddOutputFilterByType DEFLATE text/plain\n"
                                "ErrorDocument 404 /old/sorry.html\n")
    put(alice, "old/a.txt", "abc " * 400)
    put(alice, "old/sorry.html", "sorry\n")
    put(alice, "old/plain/.htaccess", "ErrorDocument 404 default\n")
    server = serve(itkgw_factory, alice, directory=[{"path": str(alice.htdocs), "allow_override": ["All"]}])
    one = b"GET /old/a.txt HTTP/1.1\r\nHost: alice.test\r\nUser-Agent: %s\r\nAccept-Encoding: gzip\r\n"
    kept, last = one + b"\r\n", one + b"Connection: close\r\n\r\n"
    modern = raw_exchange(server.port, kept % b"Mozilla/5.0" + last % b"Mozilla/5.0")
    assert modern.count(b"HTTP/1.1 200 OK\r\n") == 2 and b"Content-Encoding" not in modern
    ancient = raw_exchange(server.port, kept % b"Mozilla/2.0" + last % b"Mozilla/2.0")
    assert ancient.count(b"HTTP/1.1 200 OK\r\n") == 1 and b"Connection: close\r\n" in ancient
    assert raw_exchange(server.port, kept % b"MSIE 4.0b2; x").startswith(b"HTTP/1.0 200 OK\r\n")
    assert server.request("alice.test", "/old/none").body == b"sorry\n"
    assert b"<title>404 Not Found</title>" in server.request("alice.test", "/old/plain/none").body
