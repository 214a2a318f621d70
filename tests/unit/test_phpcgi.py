"""PHP through the real /usr/bin/php-cgi and the real connection driver, parsed by h11."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pytest

from itkgw.config.model import PHPSetting
from itkgw.handlers.phpcgi import lock_section, php_environ, php_ini_text, run_php
from itkgw.http.connection import HTTPConnection, Request
from tests.unit.test_cgi import Site, make_site
from tests.unit.wire import Handler, exchange

PHP_CGI = "/usr/bin/php-cgi"

pytestmark = pytest.mark.skipif(not os.access(PHP_CGI, os.X_OK), reason="needs /usr/bin/php-cgi")


@pytest.fixture
def site(tmp_path: Path, request: pytest.FixtureRequest) -> Site:
    return make_site(tmp_path, request.node.nodeid)


def php(site: Site, name: str, path_info: str = "",
        settings: Mapping[str, PHPSetting] | None = None) -> Handler:
    """Run /cgi/<name> through php-cgi as the connection child would."""

    def handle(conn: HTTPConnection, request: Request) -> None:
        run_php(conn, request, site.vhost, site.config, site.script(name), "/cgi/" + name, path_info,
                str(site.root), site.log, settings=settings)

    return handle


def plain(values: Mapping[str, str]) -> dict[str, PHPSetting]:
    """php_value settings, none of them admin ones."""
    return {name: PHPSetting(name, value) for name, value in values.items()}


def test_query_string_reaches_get(site: Site) -> None:
    reply = exchange(php(site, "get.php"), target="/cgi/get.php?a=1&b=two%20words&c[]=x")
    assert reply.status == 200 and reply.complete
    assert json.loads(reply.body) == {"a": "1", "b": "two words", "c": ["x"]}


def test_post_body_reaches_php_input_intact(site: Site) -> None:
    body = os.urandom(200 * 1024)
    reply = exchange(php(site, "input.php"), target="/cgi/input.php", method="POST", body=body,
                     headers=[("Content-Type", "application/octet-stream")])
    assert reply.status == 200 and reply.complete
    assert reply.body.decode() == f"{hashlib.sha256(body).hexdigest()} {len(body)}"


@pytest.mark.parametrize("query", ["", "header=1"], ids=["http_response_code", "header-status"])
def test_php_status_reaches_the_client(site: Site, query: str) -> None:
    reply = exchange(php(site, "status.php"), target="/cgi/status.php?" + query)
    assert reply.status == 404 and reply.complete
    assert reply.body == b"gone"


def test_php_location_is_a_302(site: Site) -> None:
    reply = exchange(php(site, "redirect.php"))
    assert reply.status == 302 and reply.complete
    assert reply.header("location") == "http://x/"


def test_syntax_error_is_phps_own_500(site: Site) -> None:
    # php-cgi answers "Status: 500" with an empty body (display_errors is off
    # in Debian's php.ini) and writes the error to stderr, our error log.
    reply = exchange(php(site, "syntax.php"))
    assert reply.status == 500 and reply.complete
    assert reply.body == b""
    assert "PHP Parse error:" in site.records.text()
    assert site.script("syntax.php") in site.records.text()


def test_ini_settings_reach_ini_get(site: Site) -> None:
    settings = plain({"memory_limit": "77M", "default_charset": "ISO-8859-1"})
    reply = exchange(php(site, "ini.php", settings=settings), target="/cgi/ini.php?a=1")
    assert reply.status == 200
    assert reply.body == b"77M ISO-8859-1"


@pytest.mark.parametrize("query", ["-x", "%2dd+memory_limit%3d1G", "+-s"])
def test_a_query_php_cgi_takes_for_options_cannot_drop_the_settings(site: Site, query: str) -> None:
    """The settings are no command-line options, which such a query makes php-cgi skip."""
    reply = exchange(php(site, "ini.php", settings=plain({"memory_limit": "77M"})),
                     target="/cgi/ini.php?" + query)
    assert reply.status == 200
    assert reply.body.startswith(b"77M ")


def test_a_user_ini_file_is_not_read_as_mod_php_reads_none(site: Site) -> None:
    (Path(site.script("ini.php")).parent / ".user.ini").write_text("memory_limit = 1G\n")
    reply = exchange(php(site, "ini.php", settings=plain({"memory_limit": "77M"})))
    assert reply.body.startswith(b"77M ")
    assert exchange(php(site, "ini.php")).body.startswith(b"128M ")  # php.ini's, not .user.ini's


def test_no_ini_file_is_left_behind(site: Site) -> None:
    before = set(Path(tempfile.gettempdir()).glob("itkgw-php-*"))
    exchange(php(site, "ini.php", settings=plain({"memory_limit": "77M"})))
    assert set(Path(tempfile.gettempdir()).glob("itkgw-php-*")) == before


def test_path_info_and_script_name_as_php_sees_them(site: Site) -> None:
    reply = exchange(php(site, "server.php", path_info="/extra/bit"),
                     target="/cgi/server.php/extra/bit?q=1")
    assert reply.status == 200
    assert json.loads(reply.body) == {
        "SCRIPT_NAME": "/cgi/server.php",
        "PATH_INFO": "/extra/bit",
        "PHP_SELF": "/cgi/server.php/extra/bit",
        "SCRIPT_FILENAME": site.script("server.php"),
        "DOCUMENT_ROOT": str(site.root),
        "REQUEST_URI": "/cgi/server.php/extra/bit?q=1",
        "QUERY_STRING": "q=1",
    }


def test_settings_become_ini_lines_user_ini_files_are_off_and_status_lines_pass() -> None:
    assert php_ini_text() == "user_ini.filename =\ncgi.rfc2616_headers = 1\n"
    settings = {"memory_limit": PHPSetting("memory_limit", "64M"),
                "session.save_path": PHPSetting("session.save_path", "/tmp/s")}
    assert php_ini_text(settings, lock_top="/srv") == (
        'user_ini.filename =\ncgi.rfc2616_headers = 1\nmemory_limit="64M"\nsession.save_path="/tmp/s"\n')


def test_admin_values_are_repeated_in_a_path_section_that_locks_them() -> None:
    settings = {"memory_limit": PHPSetting("memory_limit", "64M", admin=True),
                "display_errors": PHPSetting("display_errors", "1")}
    assert php_ini_text(settings, lock_top=lock_section("/srv/a/www/x.php")) == (
        'user_ini.filename =\ncgi.rfc2616_headers = 1\nmemory_limit="64M"\ndisplay_errors="1"\n'
        '[PATH=/srv]\nmemory_limit="64M"\n')
    assert lock_section("/x.php") == "" and lock_section("/we]ird/x.php") == ""


def test_defaults_come_first_so_settings_change_them_and_the_section_holds_admin_values_only() -> None:
    settings = {"upload_tmp_dir": PHPSetting("upload_tmp_dir", "/srv/a/tmp"),
                "memory_limit": PHPSetting("memory_limit", "64M", admin=True)}
    defaults = {"upload_tmp_dir": "/run/x/uploads", "session.save_path": "/run/x/s"}
    text = php_ini_text(settings, defaults, "/srv")
    assert text == ("user_ini.filename =\ncgi.rfc2616_headers = 1\n"
                    'upload_tmp_dir="/run/x/uploads"\nsession.save_path="/run/x/s"\n'
                    'upload_tmp_dir="/srv/a/tmp"\nmemory_limit="64M"\n[PATH=/srv]\nmemory_limit="64M"\n')


@pytest.mark.parametrize("query", ["", "-d+memory_limit=1G"], ids=["plain", "query-as-arguments"])
def test_an_admin_value_holds_against_ini_set(site: Site, query: str) -> None:
    Path(site.script("lock.php")).write_text(
        "<?php var_dump(ini_set('memory_limit', '1G')); echo ini_get('memory_limit');"
        " ini_set('display_errors', '0'); echo ' ', ini_get('display_errors');\n")
    settings = {"memory_limit": PHPSetting("memory_limit", "77M", admin=True),
                "display_errors": PHPSetting("display_errors", "1")}
    reply = exchange(php(site, "lock.php", settings=settings), target="/cgi/lock.php?" + query)
    assert reply.status == 200
    assert reply.body.decode().endswith("bool(false)\n77M 0")


def test_values_reach_php_as_written_as_mod_php_hands_them(site: Site) -> None:
    """Constants, operators, keywords, quotes and ${VAR} are text to a php_value."""
    Path(site.script("ini.php")).write_text(
        "<?php foreach (['error_reporting', 'arg_separator.output', 'session.name', 'include_path',"
        " 'highlight.string'] as $k) echo ini_get($k), '|'; echo error_reporting();\n")
    written = {"error_reporting": "E_ALL & ~E_NOTICE", "arg_separator.output": "&amp;",
               "session.name": 'a"b;c', "include_path": ".:${HOME}\\x", "highlight.string": "On"}
    settings = {name: PHPSetting(name, value) for name, value in written.items()}
    reply = exchange(php(site, "ini.php", settings=settings), target="/cgi/ini.php")
    assert reply.body.decode().rsplit("\n", 1)[-1] == "|".join(written.values()) + "|0"


@pytest.mark.parametrize(("name", "value"), [
    ("memory_limit", "1M\nauto_prepend_file=/tmp/evil.php"),
    ("memory_limit", "1M\r"),
    ("bad name", "1"),
    ("a=b", "1"),
])
def test_settings_php_would_misread_are_refused(name: str, value: str) -> None:
    with pytest.raises(ValueError):
        php_ini_text({name: PHPSetting(name, value)})


def test_php_environ_adds_redirect_status() -> None:
    env = php_environ({"SCRIPT_FILENAME": "/srv/a/x.php", "QUERY_STRING": ""})
    assert env == {"SCRIPT_FILENAME": "/srv/a/x.php", "QUERY_STRING": "", "REDIRECT_STATUS": "200"}
    with pytest.raises(ValueError):
        php_environ({"QUERY_STRING": ""})


def test_uploads_land_in_a_directory_of_the_request_s_own(site: Site) -> None:
    """Not in a /tmp every tenant shares: a 0700 directory removed after the request."""
    body = (b"--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n"
            b"Content-Type: text/plain\r\n\r\nhello upload\r\n--b--\r\n")
    reply = exchange(php(site, "upload.php"), target="/cgi/upload.php", method="POST", body=body,
                     headers=[("Content-Type", "multipart/form-data; boundary=b")])
    directory, mode, content = reply.body.decode().split(" ", 2)
    assert directory.startswith(os.path.join(tempfile.gettempdir(), "itkgw-php-"))
    assert directory.endswith("/uploads")
    assert (mode, content) == ("700", "hello upload")
    assert not os.path.exists(os.path.dirname(directory))  # gone with the request
