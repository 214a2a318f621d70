"""mod_proxy_fcgi: PHP handed to a php-fpm pool the admin runs, through a real itkgw.

alice's pool runs as alice, its socket in a directory only alice may enter;
itkgw reaches it from the connection child, which runs as alice too.
"""

from __future__ import annotations

import hashlib
import http.client
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Put
from tests.e2e.itkgw_proc import vhost_for
from tests.fastcgi_peer import late_closing_peer, wsgi_peer
from tests.fpm import PHP_FPM, fpm_pool
from tests.sites import ALICE, BOB, Site, Users

FPM_PHP = """<?php
header('Content-Type: text/plain');
header('X-Handler: fpm');
error_log('hello from fpm');
$body = file_get_contents('php://input');
printf("uid=%d sapi=%s len=%d sha=%s", posix_getuid(), php_sapi_name(), strlen($body), hash('sha256', $body));
"""


@pytest.fixture
def alice_pool(test_users: Users, docroots: dict[str, Site]) -> Iterator[Path]:
    if not os.access(PHP_FPM, os.X_OK):
        pytest.skip("needs php-fpm8.2")
    alice = docroots[ALICE]
    script = alice.htdocs / "fpm.php"
    script.write_text(FPM_PHP)
    os.chown(script, alice.user.pw_uid, alice.user.pw_gid)
    script.chmod(0o640)
    try:
        with fpm_pool(test_users.alice) as socket_path:
            yield socket_path
    finally:
        script.unlink()


def through_pool(socket_path: Path) -> list[dict[str, object]]:
    return [{"path": r"\.php$", "regex": True, "set_handler": f"proxy:unix:{socket_path}|fcgi://localhost"}]


def test_php_runs_in_the_vhost_s_php_fpm_pool(itkgw_factory, docroots, alice_pool: Path) -> None:
    alice = docroots[ALICE]
    server = itkgw_factory([vhost_for(alice, "alice.test", files=through_pool(alice_pool))])
    body = os.urandom(64 * 1024)
    for sent in (b"", body):
        response = server.request("alice.test", "/fpm.php", method="POST", body=sent,
                                  headers={"Content-Type": "application/octet-stream"})
        assert response.status == 200 and response.headers["X-Handler"] == "fpm"
        assert response.body.decode() == (f"uid={alice.user.pw_uid} sapi=fpm-fcgi len={len(sent)} "
                                          f"sha={hashlib.sha256(sent).hexdigest()}")
    assert "AH01071: Got error 'PHP message: hello from fpm'" in server.error_log_text()


def test_another_tenant_cannot_reach_the_pool(itkgw_factory, docroots, alice_pool: Path, put: Put) -> None:
    """bob's vhost names alice's socket: bob's connection child cannot enter its directory."""
    bob = docroots[BOB]
    put(bob, "fpm.php", FPM_PHP)
    server = itkgw_factory([vhost_for(bob, "bob.test", files=through_pool(alice_pool))])
    response = server.request("bob.test", "/fpm.php")
    assert response.status == 503
    assert f"cannot connect to unix:{alice_pool}: Permission denied" in server.error_log_text()


def test_a_pool_that_is_down_is_a_503_naming_it(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "gone.php", "<?php echo 1;\n")
    missing = Path("/run/itkgw-test-no-such-pool.sock")
    server = itkgw_factory([vhost_for(alice, "alice.test", files=through_pool(missing))])
    assert server.request("alice.test", "/gone.php").status == 503
    assert f"FastCGI: cannot connect to unix:{missing}" in server.error_log_text()


def test_proxytimeout_bounds_a_silent_backend(itkgw_factory, docroots, alice_pool: Path, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "slow-fpm.php", "<?php sleep(3); echo 'late';\n")
    server = itkgw_factory([vhost_for(alice, "alice.test", files=through_pool(alice_pool), proxy_timeout=1)])
    response = server.request("alice.test", "/slow-fpm.php")
    assert response.status == 504
    assert f"FastCGI backend unix:{alice_pool}: no answer for 1 seconds" in server.error_log_text()


def test_php_admin_value_holds_against_ini_set_in_the_pool(itkgw_factory, docroots, alice_pool: Path,
                                                           put: Put) -> None:
    """As with mod_php: php_value can be changed by the script, php_admin_value cannot."""
    alice = docroots[ALICE]
    put(alice, "ini-fpm.php", "<?php ini_set('user_agent', 'mine'); ini_set('default_charset', 'mine');\n"
                              "echo ini_get('user_agent'), ' ', ini_get('default_charset');\n")
    server = itkgw_factory([vhost_for(alice, "alice.test", files=through_pool(alice_pool), php_settings=[
        {"name": "user_agent", "value": "admin-set", "admin": True},
        {"name": "default_charset", "value": "ISO-8859-1", "admin": False}])])
    assert server.request("alice.test", "/ini-fpm.php").body == b"admin-set mine"


SERVER_PHP = "<?php echo $_SERVER['SCRIPT_FILENAME'], ' ', php_sapi_name(), ' ', posix_getuid();\n"


@pytest.mark.parametrize("backend_type", [None, "GENERIC"], ids=["fpm", "generic"])
def test_proxypassmatch_hands_matching_paths_to_the_pool(itkgw_factory, docroots, alice_pool: Path, put: Put,
                                                         backend_type: str | None) -> None:
    """The php-fpm way of Apache 2.4 setups: the script's path is in the backend URL, nothing
    is mapped locally; php-fpm finds SCRIPT_FILENAME (and PATH_INFO) in what it is sent."""
    alice = docroots[ALICE]
    put(alice, "pm.php", SERVER_PHP)
    put(alice, "static/pm.php", "<?php echo php_sapi_name();\n")
    url = f"unix:{alice_pool}|fcgi://localhost{alice.htdocs}/$1"
    settings: dict[str, object] = {"proxy_pass_match": [[r"^/static/", "!"], [r"^/(.*\.php(/.*)?)$", url]]}
    if backend_type:
        settings["proxy_fcgi_backend_type"] = backend_type
    server = itkgw_factory([vhost_for(alice, "alice.test", **settings)])
    response = server.request("alice.test", "/pm.php")
    assert response.status == 200
    assert response.body.decode() == f"{alice.htdocs}/pm.php fpm-fcgi {alice.user.pw_uid}"
    # An exempted path is mapped and handled as usual: here by php-cgi, the vhost's own PHP.
    assert server.request("alice.test", "/static/pm.php").body == b"cgi-fcgi"


@pytest.mark.parametrize("body", [None, b"x" * 3000])
def test_a_kept_connection_the_pool_ended_is_not_reused(itkgw_factory, docroots, test_users: Users,
                                                        put: Put, body: bytes | None) -> None:
    """php-fpm ends a worker after pm.max_requests, and with it the connection itkgw kept
    (FCGI_KEEP_CONN): the next request goes out on a new connection, not into the closed one
    (a GET found out on the way, a POST, whose body cannot go twice, before)."""
    if not os.access(PHP_FPM, os.X_OK):
        pytest.skip("needs php-fpm8.2")
    alice = docroots[ALICE]
    put(alice, "pid.php", "<?php echo getmypid();\n")
    with fpm_pool(test_users.alice, max_requests=2) as socket_path:
        server = itkgw_factory([vhost_for(alice, "alice.test", files=through_pool(socket_path))])
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            answers = []
            for _ in range(5):
                connection.request("GET" if body is None else "POST", "/pid.php", body=body,
                                   headers={"Host": "alice.test"})
                response = connection.getresponse()
                answers.append((response.status, response.read()))
        finally:
            connection.close()
    assert [status for status, _ in answers] == [200] * 5, server.error_log_text()
    assert len({body for _, body in answers}) == 3  # workers of 2, 2 and 1 requests


def echoed(body: bytes) -> dict[str, str]:
    return dict(line.split("=", 1) for line in body.decode().splitlines())


def test_a_location_s_handler_takes_every_path_under_it(itkgw_factory, docroots, test_users: Users,
                                                        put: Put) -> None:
    """As Apache 2.4 + mod_proxy_fcgi answers the same config (compared on this machine): the
    path need not exist; the file is the existing part and the first name missing, the rest is
    PATH_INFO; FPM's SCRIPT_FILENAME carries the handler's fcgi:// URL, GENERIC's does not."""
    alice = docroots[ALICE]
    put(alice, "app/real.txt", "a file\n")
    with wsgi_peer(test_users.alice) as socket_path:
        handler = f"proxy:unix:{socket_path}|fcgi://localhost"
        server = itkgw_factory([vhost_for(alice, "alice.test", location=[
            {"path": "/app", "set_handler": handler},
            {"path": "/generic", "set_handler": handler, "proxy_fcgi_backend_type": "generic"}])])
        missing = server.request("alice.test", "/app/nope.php/x/y")
        assert missing.status == 200, server.error_log_text()
        assert echoed(missing.body) == {"SCRIPT_FILENAME": f"proxy:fcgi://localhost{alice.htdocs}/app/nope.php",
                                        "SCRIPT_NAME": "/app/nope.php", "PATH_INFO": "/x/y",
                                        "REQUEST_URI": "/app/nope.php/x/y"}
        real = echoed(server.request("alice.test", "/app/real.txt/p").body)
        assert (real["SCRIPT_NAME"], real["PATH_INFO"]) == ("/app/real.txt", "/p")
        directory = echoed(server.request("alice.test", "/app/").body)
        assert directory["SCRIPT_FILENAME"] == f"proxy:fcgi://localhost{alice.htdocs}/app/"
        generic = echoed(server.request("alice.test", "/generic/a/b").body)
        assert (generic["SCRIPT_FILENAME"], generic["SCRIPT_NAME"], generic["PATH_INFO"]) == (
            f"{alice.htdocs}/generic", "/generic", "/a/b")
        # mod_proxy_fcgi passes a Location on as the application gave it.
        moved = server.request("alice.test", "/app/go")
        assert (moved.status, moved.headers["Location"], moved.body) == (200, "/moved", b"the app's own body")


def test_a_missing_script_goes_to_the_pool_which_says_file_not_found(itkgw_factory, docroots,
                                                                      alice_pool: Path) -> None:
    alice = docroots[ALICE]
    server = itkgw_factory([vhost_for(alice, "alice.test", files=through_pool(alice_pool))])
    response = server.request("alice.test", "/nope.php")
    assert (response.status, response.body) == (404, b"File not found.\n")
    assert "AH01071: Got error 'Primary script unknown'" in server.error_log_text()


def test_a_chunked_body_reaches_the_pool_with_its_length(itkgw_factory, docroots, alice_pool: Path) -> None:
    """php-fpm reads a body by CONTENT_LENGTH only: a chunked one is read whole first, as
    mod_proxy_fcgi does, and goes on with its length."""
    alice = docroots[ALICE]
    server = itkgw_factory([vhost_for(alice, "alice.test", files=through_pool(alice_pool))])
    body = os.urandom(200 * 1024)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("POST", "/fpm.php", body=iter([body[:1000], body[1000:]]), encode_chunked=True,
                           headers={"Host": "alice.test", "Content-Type": "application/octet-stream"})
        response = connection.getresponse()
        answer = response.read().decode()
    finally:
        connection.close()
    assert (response.status, answer) == (200, f"uid={alice.user.pw_uid} sapi=fpm-fcgi len={len(body)} "
                                              f"sha={hashlib.sha256(body).hexdigest()}")


def test_a_server_that_closes_late_after_its_answer_loses_no_request(itkgw_factory, docroots,
                                                                     test_users: Users) -> None:
    """As a php-fpm child that ends after its last request (pm.max_requests) closes the kept
    connection a moment after its answer: the next request of the client's keep-alive
    connection, written on that connection meanwhile, gets nothing back there and goes once
    more on a new one; the client sees three answers."""
    alice = docroots[ALICE]
    with late_closing_peer(test_users.alice) as socket_path:
        server = itkgw_factory([vhost_for(alice, "alice.test", location=[
            {"path": "/app", "set_handler": f"proxy:unix:{socket_path}|fcgi://localhost"}])])
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            for _ in range(3):
                connection.request("GET", "/app/x", headers={"Host": "alice.test"})
                response = connection.getresponse()
                assert response.status == 200, server.error_log_text()
                assert response.read().startswith(b"late closer pid=")
        finally:
            connection.close()
