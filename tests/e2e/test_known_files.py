"""A static file's route, remembered by the process that served it: the answers on a
keep-alive connection stay what the full route would give, request after request,
when the file changes or the request asks something else."""

from __future__ import annotations

import http.client
from typing import Any

from tests.e2e.conftest import Put
from tests.e2e.itkgw_proc import Itkgw, vhost_for
from tests.sites import ALICE, Site


def serve(itkgw_factory, site: Site, **vhost: Any) -> Itkgw:
    return itkgw_factory([vhost_for(site, "alice.test", **vhost)])


class Connection:
    """One keep-alive connection to the server, asked again and again."""

    def __init__(self, server: Itkgw) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)

    def get(self, path: str, method: str = "GET", body: bytes | None = None,
            **headers: str) -> tuple[int, dict[str, str], bytes]:
        self.connection.request(method, path, body=body, headers={"Host": "alice.test", **headers})
        response = self.connection.getresponse()
        body = response.read()
        assert not response.will_close, "the connection stays open between these requests"
        return response.status, dict(response.getheaders()), body

    def close(self) -> None:
        self.connection.close()


def test_a_file_changed_removed_or_made_a_directory_is_seen_at_once(itkgw_factory, docroots,
                                                                   put: Put) -> None:
    alice = docroots[ALICE]
    page = put(alice, "page.html", "first")
    server = serve(itkgw_factory, alice)
    connection = Connection(server)
    try:
        assert connection.get("/page.html")[2] == b"first"
        assert connection.get("/page.html")[2] == b"first"
        page.write_text("second, longer")
        status, headers, body = connection.get("/page.html")
        assert (status, body, headers["Content-Length"]) == (200, b"second, longer", "14")
        page.unlink()
        assert connection.get("/page.html")[0] == 404
        page.mkdir()
        status, headers, _ = connection.get("/page.html")
        assert status == 301 and headers["Location"].endswith("/page.html/")
    finally:
        connection.close()
        if page.is_dir():
            page.rmdir()
            page.touch()  # for put's own clean-up


def test_conditional_ranged_and_head_requests_are_answered_each_on_their_own(itkgw_factory, docroots,
                                                                            put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "abc.txt", "abcdefghij")
    server = serve(itkgw_factory, alice)
    connection = Connection(server)
    try:
        status, headers, body = connection.get("/abc.txt")
        assert (status, body) == (200, b"abcdefghij")
        again = connection.get("/abc.txt")[1]
        assert _but_time(again) == _but_time(headers), "the remembered route answers as the full one"
        assert connection.get("/abc.txt", **{"If-None-Match": headers["ETag"]})[0] == 304
        status, headers, body = connection.get("/abc.txt", Range="bytes=2-4")
        assert (status, body, headers["Content-Range"]) == (206, b"cde", "bytes 2-4/10")
        status, headers, body = connection.get("/abc.txt", method="HEAD")
        assert (status, body, headers["Content-Length"]) == (200, b"", "10")
        assert connection.get("/abc.txt")[2] == b"abcdefghij"
    finally:
        connection.close()


def _but_time(headers: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name not in ("Date", "Keep-Alive")}


def test_a_route_that_reads_the_request_is_worked_out_for_each_request(itkgw_factory, docroots,
                                                                       put: Put) -> None:
    """SetEnvIf on the User-Agent decides a Header rule: the first answer must not stand
    for the next request, which has another User-Agent."""
    alice = docroots[ALICE]
    put(alice, "style.css", "body {}")
    server = serve(itkgw_factory, alice, headers=[["set", "X-Robot", "yes", "env=robot"]],
                   set_env_if=[{"attribute": "User-Agent", "pattern": "^crawler", "env": ["robot"]}])
    connection = Connection(server)
    try:
        assert "X-Robot" not in connection.get("/style.css", **{"User-Agent": "browser"})[1]
        assert "X-Robot" not in connection.get("/style.css", **{"User-Agent": "browser"})[1]
        assert connection.get("/style.css", **{"User-Agent": "crawler/1.0"})[1]["X-Robot"] == "yes"
    finally:
        connection.close()


def test_an_htaccess_file_changed_removed_or_written_between_requests_counts_at_once(
        itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "open/file.txt", "open")
    access = put(alice, "open/.htaccess", "Options -Indexes\nAddType text/x-first .txt\n")
    server = serve(itkgw_factory, alice, directory=[{"path": str(alice.htdocs), "allow_override": ["All"]}])
    connection = Connection(server)
    try:
        for _ in range(2):
            status, headers, body = connection.get("/open/file.txt")
            assert (status, body, headers["Content-Type"]) == (200, b"open", "text/x-first")
        access.write_text("Options -Indexes\nAddType text/x-second-type .txt\n")
        assert connection.get("/open/file.txt")[1]["Content-Type"] == "text/x-second-type"
        access.unlink()
        assert connection.get("/open/file.txt")[1]["Content-Type"] == "text/plain"
        assert connection.get("/open/file.txt")[1]["Content-Type"] == "text/plain"
        access.write_text("Require all denied\n")
        access.chmod(0o644)
        assert connection.get("/open/file.txt")[0] == 403
    finally:
        connection.close()


def test_header_and_expiry_rules_of_the_file_reach_every_answer(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "logo.txt", "logo")
    server = serve(itkgw_factory, alice, headers=[["set", "X-Site", "alice"]], expires_active=True,
                   expires_default="access plus 1 hour")
    connection = Connection(server)
    try:
        for _ in range(3):
            status, headers, _ = connection.get("/logo.txt")
            assert status == 200 and headers["X-Site"] == "alice"
            assert headers["Cache-Control"] == "max-age=3600" and "Expires" in headers
    finally:
        connection.close()


def test_a_symbolic_link_is_refused_once_an_htaccess_stops_following_links(itkgw_factory, docroots,
                                                                          put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "links/target.txt", "target")
    link = alice.htdocs / "links" / "link.txt"
    link.symlink_to("target.txt")
    server = serve(itkgw_factory, alice, directory=[{"path": str(alice.htdocs), "allow_override": ["All"]}])
    connection = Connection(server)
    try:
        assert connection.get("/links/link.txt")[2] == b"target"
        assert connection.get("/links/link.txt")[2] == b"target"
        put(alice, "links/.htaccess", "Options -FollowSymLinks\n")
        assert connection.get("/links/link.txt")[0] == 403
        assert connection.get("/links/link.txt")[0] == 403
        assert connection.get("/links/target.txt")[2] == b"target"
    finally:
        connection.close()
        link.unlink()


SHOW_REQUEST = """<?php
echo $_SERVER['REQUEST_METHOD'], ' ', $_SERVER['REQUEST_URI'], ' ', $_SERVER['QUERY_STRING'], ' ',
     $_SERVER['HTTP_X_ASKED'] ?? '-', ' ', $_SERVER['SCRIPT_NAME'], ' ',
     file_get_contents('php://input'), ' ', ini_get('default_charset');
"""


def test_a_script_gets_each_request_as_it_came(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "show.php", SHOW_REQUEST)
    server = serve(itkgw_factory, alice, php_extensions=[".php"], headers=[["set", "X-Site", "alice"]])
    connection = Connection(server)
    try:
        status, headers, body = connection.get("/show.php?a=1", **{"X-Asked": "first"})
        assert (status, body) == (200, b"GET /show.php?a=1 a=1 first /show.php  UTF-8")
        assert headers["X-Site"] == "alice"
        status, headers, body = connection.get("/show.php?b=2")
        assert (status, body) == (200, b"GET /show.php?b=2 b=2 - /show.php  UTF-8")
        assert headers["X-Site"] == "alice"
        status, _, body = connection.get("/show.php", method="POST", body=b"x=y",
                                         **{"Content-Type": "application/x-www-form-urlencoded"})
        assert (status, body) == (200, b"POST /show.php  - /show.php x=y UTF-8")
        assert connection.get("/show.php", method="HEAD")[0] == 200
    finally:
        connection.close()


def test_a_script_changed_or_removed_or_given_php_values_is_seen_at_once(itkgw_factory, docroots,
                                                                          put: Put) -> None:
    alice = docroots[ALICE]
    script = put(alice, "app/show.php", SHOW_REQUEST)
    server = serve(itkgw_factory, alice, php_extensions=[".php"],
                   directory=[{"path": str(alice.htdocs), "allow_override": ["All"]}])
    connection = Connection(server)
    try:
        assert connection.get("/app/show.php")[2].endswith(b"UTF-8")
        assert connection.get("/app/show.php")[2].endswith(b"UTF-8")
        put(alice, "app/.htaccess", "php_value default_charset ISO-8859-1\n")
        assert connection.get("/app/show.php")[2].endswith(b"ISO-8859-1")
        script.write_text("<?php echo 'rewritten';\n")
        assert connection.get("/app/show.php")[2] == b"rewritten"
        script.unlink()
        assert connection.get("/app/show.php")[0] == 404
    finally:
        connection.close()
        script.touch()  # for put's own clean-up


def test_the_remembered_route_gives_a_script_the_environment_the_full_route_gives(itkgw_factory, docroots,
                                                                                   put: Put) -> None:
    """The first request takes the full route, the second the remembered one: the same request
    again must see the same $_SERVER, but for the time."""
    alice = docroots[ALICE]
    put(alice, "env.php", "<?php $s = $_SERVER; unset($s['REQUEST_TIME'], $s['REQUEST_TIME_FLOAT']);"
                          " ksort($s); echo json_encode($s);\n")
    server = serve(itkgw_factory, alice, php_extensions=[".php"], set_env={"SITE_NAME": "alice"},
                   headers=[["set", "X-Site", "alice"]])
    connection = Connection(server)
    try:
        answers = [connection.get("/env.php?x=1", **{"X-Asked": "same", "Cookie": "a=b"}) for _ in range(3)]
        assert all(status == 200 for status, _, _ in answers)
        assert answers[0][2] == answers[1][2] == answers[2][2]
        assert b'"SITE_NAME":"alice"' in answers[0][2]
        assert [headers["X-Site"] for _, headers, _ in answers] == ["alice"] * 3
    finally:
        connection.close()
