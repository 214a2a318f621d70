"""What a tenant or a remote client must not be able to do, tried as they would.

Each test runs a real itkgw as root with real users; the tenant's moves
(symlinks in its own docroot, slow scripts holding its slots) are made with
the tenant's own files. Where Apache + mpm-itk answers otherwise, the test
says which behaviour itkgw follows and why.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from itkgw.http.connection import error_page
from tests.e2e.conftest import Put
from tests.e2e.itkgw_proc import Itkgw, processes, vhost_for
from tests.sites import ALICE, BOB, Site

#: The first bytes of /etc/shadow on Debian.
SHADOW_START = b"root:"

Plant = Callable[[Site, str, str], Path]


@pytest.fixture
def plant() -> Iterator[Plant]:
    """``plant(site, name, target)``: a symlink the tenant makes in its own docroot, removed afterwards."""
    made: list[Path] = []

    def make(site: Site, name: str, target: str) -> Path:
        link = site.htdocs / name
        link.symlink_to(target)
        os.lchown(link, site.user.pw_uid, site.user.pw_gid)
        made.append(link)
        return link

    yield make
    for link in made:
        link.unlink()


def hold_slow_request(server: Itkgw, host: str, seconds: int = 3) -> threading.Thread:
    """A request to ``host``'s slow.cgi, running once this returns."""
    before = sum(1 for proc in processes() if "slow.cgi" in proc.cmdline)
    thread = threading.Thread(target=server.request, args=(host, f"/slow.cgi?{seconds}"))
    thread.start()
    deadline = time.monotonic() + 10
    while sum(1 for proc in processes() if "slow.cgi" in proc.cmdline) <= before:
        assert time.monotonic() < deadline, "slow.cgi never ran"
        time.sleep(0.02)
    return thread


def exchange_two(server: Itkgw, first_host: str, second_host: str) -> tuple[bytes, bytes]:
    """Two requests on one keep-alive connection: the first response, then all that follows."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(f"GET /index.html HTTP/1.1\r\nHost: {first_host}\r\n\r\n".encode())
        first = b""
        while b"\r\n\r\n" not in first:
            first += sock.recv(65536)
        head, _, body = first.partition(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:")))
        while len(body) < length:
            body += sock.recv(65536)
        sock.sendall(f"GET /index.html HTTP/1.1\r\nHost: {second_host}\r\n\r\n".encode())
        rest = b""
        try:
            while chunk := sock.recv(65536):
                rest += chunk
        except ConnectionResetError:
            pass  # closed without a response, as mpm-itk does
        return first, rest


# -- 1. no ErrorDocument is opened before the switch to its tenant ------------------------------


def test_a_503_error_document_is_not_read_with_the_workers_rights(itkgw_factory, docroots, plant) -> None:
    """mpm-itk refuses over MaxClientsVHost before the switch: Apache sends its canned
    page, and so does itkgw, whatever the tenant's ErrorDocument points at."""
    alice = docroots[ALICE]
    plant(alice, "busy.html", "/etc/shadow")
    server = itkgw_factory([vhost_for(alice, "alice.test", max_clients_vhost=1,
                                      error_documents={"503": "/busy.html"})],
                           start_servers=3, min_spare_servers=3)
    holder = hold_slow_request(server, "alice.test")
    response = server.request("alice.test", "/index.html")
    holder.join(timeout=15)
    assert response.status == 503
    assert SHADOW_START not in response.body
    assert response.body == error_page(503)


def test_a_500_outside_limituidrange_is_not_read_with_the_workers_rights(itkgw_factory, docroots,
                                                                         plant) -> None:
    alice = docroots[ALICE]
    plant(alice, "oops.html", "/etc/shadow")
    vhost = vhost_for(alice, "alice.test", assign_user_id=["daemon", "daemon"],
                      error_documents={"500": "/oops.html"})
    www = docroots[ALICE].user.pw_uid  # any range that admits the workers but not daemon (uid 1)
    server = itkgw_factory([vhost], limit_uid_range=[2, max(www, 65000)], limit_gid_range=[2, 65000])
    response = server.request("alice.test", "/index.html")
    assert response.status == 500
    assert SHADOW_START not in response.body
    assert response.body == error_page(500)


@pytest.mark.parametrize("model", ["itk", "pool"])
def test_keep_alive_to_a_busy_vhost_closes_before_its_error_document_is_opened(itkgw_factory, docroots,
                                                                               plant, model: str) -> None:
    """On a connection running as alice, bob's request closes the connection (mpm-itk's
    rule) before bob's limit is checked: bob's symlink to alice's file is never followed.
    The pool model hands the request to bob's pool, which answers the 503 as bob, who
    cannot follow the symlink either."""
    alice, bob = docroots[ALICE], docroots[BOB]
    plant(bob, "busy.html", str(alice.htdocs / "secret.txt"))
    server = itkgw_factory([vhost_for(alice, "alice.test"),
                            vhost_for(bob, "bob.test", max_clients_vhost=1,
                                      error_documents={"503": "/busy.html"})],
                           start_servers=3, min_spare_servers=3, process_model=model)
    holder = hold_slow_request(server, "bob.test")
    first, rest = exchange_two(server, "alice.test", "bob.test")
    holder.join(timeout=15)
    assert first.startswith(b"HTTP/1.1 200 ")
    assert alice.secret.encode() not in rest
    if model == "itk":
        assert rest == b""
    else:
        assert rest.startswith(b"HTTP/1.1 503 ")


# -- 2. <Files> denials hold for the file actually served ---------------------------------


ADMIN_PHP = "<?php echo 'admin panel';\n"
ADMIN_CGI = "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nadmin panel\\n'\n"


@pytest.fixture
def admin_denied(itkgw_factory, docroots, put: Put) -> Itkgw:
    """alice.test, where <Files admin.php> and <FilesMatch ^admin\\.cgi$> deny everyone."""
    alice = docroots[ALICE]
    put(alice, "admin.php", ADMIN_PHP)
    put(alice, "admin.cgi", ADMIN_CGI)
    put(alice, "panel/admin.php", ADMIN_PHP)
    put(alice, "both/admin.php", ADMIN_PHP)
    put(alice, "both/index.php", "<?php echo 'public index';\n")
    denied = {"require": ["all denied"]}
    return itkgw_factory([vhost_for(alice, "alice.test", directory_index=["admin.php", "index.php"], files=[
        {"path": "admin.php", **denied},
        {"path": r"^admin\.cgi$", "regex": True, **denied},
    ])])


@pytest.mark.parametrize("path", ["/admin.php", "/admin.php/x", "/admin.cgi/x", "/panel/"])
def test_a_denied_file_stays_denied_behind_path_info_or_an_index(admin_denied: Itkgw, path: str) -> None:
    response = admin_denied.request("alice.test", path)
    assert response.status == 403
    assert b"admin panel" not in response.body
    assert "AH01630: client denied by server configuration" in admin_denied.error_log_text()


def test_a_denied_index_file_is_passed_over_for_the_next(admin_denied: Itkgw) -> None:
    """mod_dir tries the next DirectoryIndex name when one is refused."""
    response = admin_denied.request("alice.test", "/both/")
    assert (response.status, response.body) == (200, b"public index")


# -- 3. Options FollowSymLinks and SymLinksIfOwnerMatch -------------------------------------


@pytest.fixture
def links(docroots, put: Put, plant: Plant) -> Site:
    """alice's links: to her own file, to a file of root's, and a directory link on the way."""
    alice = docroots[ALICE]
    put(alice, "real.html", "real\n")
    put(alice, "realdir/x.html", "x\n")
    plant(alice, "own.html", "real.html")
    plant(alice, "foreign.html", "/etc/hostname")
    plant(alice, "linkdir", "realdir")
    return alice


@pytest.mark.parametrize(("options", "expected"), [
    (None, {"/own.html": 200, "/foreign.html": 200, "/linkdir/x.html": 200}),  # 2.4's default
    (["None"], {"/own.html": 403, "/foreign.html": 403, "/linkdir/x.html": 403}),
    (["-FollowSymLinks"], {"/own.html": 403, "/foreign.html": 403, "/linkdir/x.html": 403}),
    (["SymLinksIfOwnerMatch"], {"/own.html": 200, "/foreign.html": 403, "/linkdir/x.html": 200}),
    (["FollowSymLinks", "SymLinksIfOwnerMatch"],  # the owner check applies (httpd 2.4.71 agrees)
     {"/own.html": 200, "/foreign.html": 403, "/linkdir/x.html": 200}),
], ids=["default", "none", "minus-followsymlinks", "ifownermatch", "both"])
def test_symlinks_are_followed_only_as_options_say(itkgw_factory, links: Site, options: list[str] | None,
                                                   expected: dict[str, int]) -> None:
    sections = [] if options is None else [{"path": str(links.htdocs), "options": options}]
    server = itkgw_factory([vhost_for(links, "alice.test", directory=sections)])
    got = {path: server.request("alice.test", path).status for path in expected}
    assert got == expected
    assert server.request("alice.test", "/real.html").body == b"real\n"
    if 403 in expected.values():
        assert "AH00037: Symbolic link not allowed or link target not accessible" in server.error_log_text()


def test_an_error_document_is_walked_as_any_file(itkgw_factory, links: Site, plant: Plant) -> None:
    """With Options None a tenant's ErrorDocument that is a symlink is not followed either:
    the canned page is sent (and the failure logged) instead."""
    plant(links, "missing.html", "/etc/hostname")
    server = itkgw_factory([vhost_for(links, "alice.test", error_documents={"404": "/missing.html"},
                                      directory=[{"path": str(links.htdocs), "options": ["None"]}])])
    response = server.request("alice.test", "/no-such-page")
    assert response.status == 404
    assert Path("/etc/hostname").read_bytes() not in response.body


# -- 4. lingering close is bounded, and counted against the vhost ------------------------------


def test_a_connection_in_lingering_close_counts_against_max_clients_vhost(itkgw_factory, docroots) -> None:
    """After a response that closes a connection the client wanted kept (KeepAlive Off), a
    client dribbling a byte every 0.5 s keeps the connection's process in lingering close;
    it is one of the vhost's connections."""
    server = itkgw_factory([vhost_for(docroots[ALICE], "alice.test", max_clients_vhost=1),
                            vhost_for(docroots[BOB], "bob.test")], start_servers=3, min_spare_servers=3,
                           keep_alive=False)
    stop = threading.Event()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: alice.test\r\n\r\n")
        answer = b""
        while not answer.endswith(f"<h1>{ALICE}</h1>\n".encode()):
            answer += sock.recv(65536)

        def dribble() -> None:
            while not stop.is_set():
                sock.send(b"x")
                time.sleep(0.5)

        dribbler = threading.Thread(target=dribble)
        dribbler.start()
        try:
            time.sleep(1.0)
            assert server.request("alice.test", "/index.html").status == 503
            assert server.request("bob.test", "/index.html").status == 200
        finally:
            stop.set()
            dribbler.join(timeout=5)
        assert sock.recv(65536) == b""  # quiet now: the server ends the linger and closes
    assert server.request("alice.test", "/index.html").status == 200


def test_a_client_that_said_close_and_sent_it_all_is_not_lingered_over(itkgw_factory, docroots) -> None:
    """A client that asked to close, whose request was read whole, cannot reset the response
    by sending more: its connection closes at once and no longer holds one of the vhost's
    connections while the client stays connected (nginx's lingering_close auto)."""
    server = itkgw_factory([vhost_for(docroots[ALICE], "alice.test", max_clients_vhost=1)],
                           start_servers=3, min_spare_servers=3)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: alice.test\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(f"<h1>{ALICE}</h1>\n".encode())
        assert server.request("alice.test", "/index.html").status == 200


# -- 5. php_admin_value reaches PHP unseen by other tenants; .user.ini and ini_set() cannot change it


SLOW_INI_PHP = "<?php sleep(2); ini_set('user_agent', 'set-by-the-script'); echo ini_get('user_agent');\n"


def test_php_settings_are_not_on_a_command_line_others_can_read(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "slow-ini.php", SLOW_INI_PHP)
    put(alice, ".user.ini", "user_agent = chosen-by-the-script-owner\n")
    secret = "itkt-secret-4b7e"
    server = itkgw_factory([vhost_for(alice, "alice.test", php_settings=[
        {"name": "user_agent", "value": secret, "admin": True}])])
    seen: list[str] = []
    thread = threading.Thread(target=lambda: seen.append(server.request("alice.test", "/slow-ini.php").body
                                                         .decode()))
    thread.start()
    deadline = time.monotonic() + 10
    while not any("php-cgi" in proc.cmdline for proc in processes()):
        assert time.monotonic() < deadline, "php-cgi never ran"
        time.sleep(0.02)
    cmdlines = [proc.cmdline for proc in processes()]  # /proc/PID/cmdline is readable by every user
    thread.join(timeout=15)
    assert seen == [secret]  # the setting holds: neither the tenant's .user.ini nor ini_set() changes it
    assert not [line for line in cmdlines if secret in line]


# -- 6. no request runs as the workers' user, and stopped workers are replaced -----------------


WHOAMI = "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nuid=%s\\n' \"$(id -u)\"\n"


@pytest.fixture
def open_site(docroots) -> Iterator[Path]:
    """A docroot anyone may read (root's, 0755), with whoami.cgi: a vhost without AssignUserID."""
    root = docroots[ALICE].root.parent / "open"
    root.mkdir(mode=0o755)
    (root / "whoami.cgi").write_text(WHOAMI)
    (root / "whoami.cgi").chmod(0o755)
    yield root
    (root / "whoami.cgi").unlink()
    root.rmdir()


def test_a_vhost_without_assignuserid_runs_as_nobody_not_as_the_workers(itkgw_factory, test_users,
                                                                         open_site: Path) -> None:
    """Apache + mpm-itk runs it as User, whose scripts can SIGSTOP every worker; itkgw
    runs it as DefaultIdentity (nobody:nogroup unless set)."""
    server = itkgw_factory([{"server_name": "open.test", "document_root": str(open_site)}])
    response = server.request("open.test", "/whoami.cgi")
    assert (response.status, response.body) == (200, b"uid=65534\n")
    assert response.body != f"uid={test_users.www.pw_uid}\n".encode()


def test_an_identity_expression_never_yields_the_workers_user(itkgw_factory, test_users,
                                                              open_site: Path) -> None:
    vhost = {"server_name": "open.test", "document_root": str(open_site),
             "assign_user_id_expr": f"{test_users.www.pw_name}"}
    server = itkgw_factory([vhost])
    response = server.request("open.test", "/whoami.cgi")
    assert response.status == 500
    assert "the workers' own user" in server.error_log_text()


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
            if ppid == pid:
                found.append(int(entry.name))
    return found


def workers_of(master: int, workers_uid: int) -> list[int]:
    """The master's children that run as the workers' user (not the backend manager, root's)."""
    found = []
    for pid in children_of(master):
        try:
            if os.stat(f"/proc/{pid}").st_uid == workers_uid:
                found.append(pid)
        except FileNotFoundError:
            continue  # it ended while we looked
    return found


def test_stopped_workers_are_replaced(itkgw_factory, docroots, test_users) -> None:
    """A worker that stops answering (SIGSTOP, as a script of the workers' user could send
    under Apache) keeps its slot idle forever in prefork; itkgw's master replaces it."""
    server = itkgw_factory([vhost_for(docroots[ALICE], "alice.test")], start_servers=2, min_spare_servers=2,
                           max_spare_servers=2)
    deadline = time.monotonic() + 10
    while len(stopped := workers_of(server.pid, test_users.www.pw_uid)) < 2:
        assert time.monotonic() < deadline, "the workers never started"
        time.sleep(0.05)
    time.sleep(1.5)  # both have beaten once
    for pid in stopped:
        os.kill(pid, signal.SIGSTOP)
    deadline = time.monotonic() + 15
    while set(children_of(server.pid)) & set(stopped):
        assert time.monotonic() < deadline, "the stopped workers were never replaced"
        time.sleep(0.2)
    assert server.request("alice.test", "/index.html", timeout=10).status == 200
    assert "has not answered for" in server.error_log_text()


# -- 7. request routing and framing ---------------------------------------------------------


def raw(server: Itkgw, data: bytes) -> bytes:
    """Everything the server sends for ``data`` until it closes (or goes quiet for 3 s)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=3) as sock:
        sock.sendall(data)
        out = b""
        try:
            while chunk := sock.recv(65536):
                out += chunk
        except (TimeoutError, ConnectionResetError):
            pass  # a kept-open connection, or a reset after the answer
        return out


def statuses(response: bytes) -> list[int]:
    return [int(line.split()[1]) for line in response.split(b"\r\n") if line.startswith(b"HTTP/1.")]


@pytest.fixture
def two_tenants(itkgw_factory, docroots) -> Itkgw:
    return itkgw_factory([vhost_for(docroots[ALICE], "alice.test"), vhost_for(docroots[BOB], "bob.test")])


def test_a_path_with_a_scheme_inside_is_not_an_absolute_form_target(two_tenants: Itkgw) -> None:
    response = raw(two_tenants, b"GET /x://bob.test/index.html HTTP/1.1\r\nHost: alice.test\r\n"
                                b"Connection: close\r\n\r\n")
    assert statuses(response) == [404]
    assert BOB.encode() not in response
    absolute = raw(two_tenants, b"GET http://bob.test/index.html HTTP/1.1\r\nHost: alice.test\r\n"
                                b"Connection: close\r\n\r\n")
    assert statuses(absolute) == [200] and f"<h1>{BOB}</h1>".encode() in absolute


def test_content_length_with_transfer_encoding_is_answered_then_closed(two_tenants: Itkgw) -> None:
    """RFC 9112 6.1; Apache reads the chunked body, answers, and closes: the bytes a
    Content-Length reader would take for a second request are never served."""
    smuggled = b"GET /secret.txt HTTP/1.1\r\nHost: alice.test\r\n\r\n"
    response = raw(two_tenants, b"POST /whoami.cgi HTTP/1.1\r\nHost: alice.test\r\nContent-Length: 3\r\n"
                                b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + smuggled)
    assert statuses(response) == [200]
    assert b"Connection: close" in response


@pytest.mark.parametrize("head", [
    b"GET /index.html HTTP/1.1\nHost: alice.test\n\n",
    b"POST /whoami.cgi HTTP/1.1\r\nHost: alice.test\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
], ids=["bare-lf", "equal-content-lengths"])
def test_heads_httpd_refuses_get_400_and_a_close(two_tenants: Itkgw, head: bytes) -> None:
    response = raw(two_tenants, head)
    assert statuses(response) == [400]
    assert b"Connection: close" in response


@pytest.mark.parametrize("spec", [b"9" * 5000 + b"-", b"0-" + b"9" * 5000, b"99999999999999999999-"],
                         ids=["5000-digit-start", "5000-digit-end", "past-off_t"])
def test_a_range_of_endless_digits_sends_the_whole_file(two_tenants: Itkgw, spec: bytes) -> None:
    response = raw(two_tenants, b"GET /index.html HTTP/1.1\r\nHost: alice.test\r\nConnection: close\r\n"
                                b"Range: bytes=" + spec + b"\r\n\r\n")
    assert statuses(response) == [200] and response.endswith(f"<h1>{ALICE}</h1>\n".encode())
    assert "Traceback" not in two_tenants.error_log_text()


# -- 8. AssignUserIDExpr from the path, in the safe form the examples show -------------------


@pytest.fixture
def users_root(docroots) -> Iterator[Path]:
    """An empty DocumentRoot no user writes to, beside the tenants' trees."""
    root = docroots[ALICE].root.parent / "users"
    root.mkdir(mode=0o755)
    yield root
    root.rmdir()


def test_no_tenant_can_name_another_in_a_path_of_its_own(itkgw_factory, docroots, users_root: Path,
                                                         put: Put) -> None:
    """mpm-itk's /~NAME/ example with an anchored rule and an empty DocumentRoot
    (etc/itkgw-full.toml): alice's ~itkt-bob/ directory runs as alice, or not at all."""
    alice, bob = docroots[ALICE], docroots[BOB]
    put(alice, "~itkt-bob/whoami.cgi", (alice.htdocs / "whoami.cgi").read_text())
    vhost = {
        "server_name": "users.test", "document_root": str(users_root),
        "assign_user_id_expr": "%{reqenv:ITKUID}", "assign_group_id_expr": "%{reqenv:ITKUID}",
        "rewrite_engine": True,
        "rewrite_rules": [{"pattern": "^/~(itkt-[a-z]+)/", "substitution": "-", "flags": ["E=ITKUID:$1"]}],
        "alias": {"/~itkt-alice/": f"{alice.htdocs}/", "/~itkt-bob/": f"{bob.htdocs}/"},
    }
    server = itkgw_factory([vhost])
    own = server.request("users.test", "/~itkt-bob/whoami.cgi")
    assert own.status == 200 and f"uid={bob.user.pw_uid} ".encode() in own.body
    nested = server.request("users.test", "/~itkt-alice/~itkt-bob/whoami.cgi")
    assert nested.status == 200 and f"uid={alice.user.pw_uid} ".encode() in nested.body
    through_root = server.request("users.test", f"/{alice.root.name}/htdocs/~itkt-bob/whoami.cgi")
    assert through_root.status in (404, 500)
    assert f"uid={bob.user.pw_uid} ".encode() not in through_root.body


# -- 9. an .htaccess Apache would read is obeyed, and read as the tenant ------------------------


WIKI_HTACCESS = "Require all denied\n"
PAGE = "the page source, with a password hash\n"


@pytest.fixture
def wiki(docroots, put: Put) -> Site:
    """alice's docroot with wiki/, whose .htaccess denies wiki/data/ (as DokuWiki's does)."""
    alice = docroots[ALICE]
    put(alice, "wiki/data/.htaccess", WIKI_HTACCESS)
    put(alice, "wiki/data/page.txt", PAGE)
    put(alice, "wiki/index.html", "<h1>wiki</h1>\n")
    return alice


def test_an_htaccess_that_denies_is_obeyed(itkgw_factory, wiki: Site) -> None:
    server = itkgw_factory([vhost_for(wiki, "alice.test", directory=[
        {"path": str(wiki.htdocs / "wiki"), "allow_override": ["All"]}])])
    for path in ("/wiki/data/page.txt", "/wiki/data/.htaccess", "/wiki/data/", "/wiki/data/missing"):
        response = server.request("alice.test", path)
        assert response.status == 403, path
        assert PAGE.encode() not in response.body and WIKI_HTACCESS.encode() not in response.body
    assert server.request("alice.test", "/wiki/index.html").body == b"<h1>wiki</h1>\n"


def test_with_allowoverride_none_an_htaccess_is_ignored_as_apache_ignores_it(itkgw_factory,
                                                                             wiki: Site) -> None:
    server = itkgw_factory([vhost_for(wiki, "alice.test")])  # 2.4's default: AllowOverride None
    response = server.request("alice.test", "/wiki/data/page.txt")
    assert (response.status, response.body) == (200, PAGE.encode())


def test_in_22_every_directory_reads_htaccess_unless_told_not_to(itkgw_factory, wiki: Site, put: Put) -> None:
    """Apache 2.2's default is AllowOverride All; its access rules are Order/Deny."""
    (wiki.htdocs / "wiki" / "data" / ".htaccess").write_text("Order allow,deny\nDeny from all\n")
    server = itkgw_factory([vhost_for(wiki, "alice.test")], compat="2.2")
    assert server.request("alice.test", "/wiki/data/page.txt").status == 403
    assert server.request("alice.test", "/wiki/index.html").status == 200


def test_accessfilename_names_the_files_looked_for(itkgw_factory, docroots, put: Put) -> None:
    alice = docroots[ALICE]
    put(alice, "conf/.config", WIKI_HTACCESS)
    put(alice, "conf/users.txt", PAGE)
    put(alice, "open/.htaccess", WIKI_HTACCESS)
    put(alice, "open/page.txt", PAGE)
    server = itkgw_factory([vhost_for(alice, "alice.test", access_file_name=[".config"], directory=[
        {"path": str(alice.htdocs), "allow_override": ["AuthConfig", "Limit"]}])])
    assert server.request("alice.test", "/conf/users.txt").status == 403
    assert server.request("alice.test", "/open/page.txt").status == 200


def test_an_htaccess_the_tenant_cannot_read_is_refused_as_for_the_tenant(itkgw_factory, docroots,
                                                                          put: Put) -> None:
    """A symlinked .htaccess into bob's tree is opened as alice: EACCES, the first request's
    403 (mpm-itk's rule), never read with the worker's rights."""
    alice, bob = docroots[ALICE], docroots[BOB]
    secret = put(bob, "private/.htaccess", "php_value auto_prepend_file /etc/shadow\n")
    secret.chmod(0o600)
    secret.parent.chmod(0o700)
    put(alice, "linked/page.txt", PAGE)
    link = alice.htdocs / "linked" / ".htaccess"
    link.symlink_to(secret)
    try:
        server = itkgw_factory([vhost_for(alice, "alice.test", directory=[
            {"path": str(alice.htdocs), "allow_override": ["All"], "options": ["FollowSymLinks"]}])])
        response = server.request("alice.test", "/linked/page.txt")
        assert response.status == 403 and PAGE.encode() not in response.body
        assert f"{link} pcfg_openfile: unable to check htaccess file" in server.error_log_text()
    finally:
        link.unlink()


# -- groups outside LimitGIDRange, and user namespaces ---------------------------------------


GROUPS_CGI = "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\ngroups=%s\\n' \"$(id -G | tr ' ' ',')\"\n"
UNSHARE_CGI = ("#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\n"
               "unshare -U true 2>&1; echo rc=$?\n")
#: A group id no test range admits.
FAR_GID = 3_999_999


@pytest.fixture
def far_group(docroots) -> Iterator[int]:
    """alice is also a member of a group whose gid lies outside the server's LimitGIDRange."""
    subprocess.run(["groupadd", "--gid", str(FAR_GID), "itkt-far"], check=True)
    subprocess.run(["usermod", "--append", "--groups", "itkt-far", ALICE], check=True)
    yield FAR_GID
    subprocess.run(["groupdel", "itkt-far"], check=True)


def test_a_supplementary_group_outside_limitgidrange_is_not_given(itkgw_factory, docroots, put: Put,
                                                                  far_group: int) -> None:
    alice = docroots[ALICE]
    put(alice, "groups.cgi", GROUPS_CGI)
    server = itkgw_factory([vhost_for(alice, "alice.test")], limit_gid_range=[1, FAR_GID - 1])
    response = server.request("alice.test", "/groups.cgi")
    assert response.status == 200
    groups = {int(gid) for gid in response.body.decode().strip().removeprefix("groups=").split(",")}
    assert alice.user.pw_gid in groups and far_group not in groups


@pytest.mark.parametrize("allowed", [False, True], ids=["default", "allow_user_namespaces"])
def test_scripts_cannot_create_user_namespaces_unless_allowed(itkgw_factory, docroots, put: Put,
                                                              allowed: bool) -> None:
    alice = docroots[ALICE]
    put(alice, "unshare.cgi", UNSHARE_CGI)
    server = itkgw_factory([vhost_for(alice, "alice.test")], allow_user_namespaces=allowed)
    body = server.request("alice.test", "/unshare.cgi").body.decode()
    if allowed:
        assert body.endswith("rc=0\n")
    else:
        assert "Operation not permitted" in body and not body.endswith("rc=0\n")


def test_a_files_identity_behind_path_info_is_refused_not_served_as_another(itkgw_factory, docroots,
                                                                             put: Put) -> None:
    """<Files tool.cgi> runs as bob; /tool.cgi/x maps, before the file is found, to a path
    whose identity is alice's. mpm-itk would walk the tree as root first; itkgw, which opens
    nothing before the switch, refuses rather than run bob's tool as alice."""
    alice, bob = docroots[ALICE], docroots[BOB]
    put(alice, "tool.cgi", (alice.htdocs / "whoami.cgi").read_text())
    (alice.htdocs / "tool.cgi").chmod(0o755)
    for directory in (alice.root, alice.htdocs):  # bob must reach the tool to run it
        directory.chmod(0o755)
    try:
        server = itkgw_factory([vhost_for(alice, "alice.test", files=[
            {"path": "tool.cgi", "assign_user_id": [bob.user.pw_name, bob.user.pw_name]}])])
        direct = server.request("alice.test", "/tool.cgi")
        assert direct.status == 200 and f"uid={bob.user.pw_uid} ".encode() in direct.body
        behind = server.request("alice.test", "/tool.cgi/x")
        assert behind.status == 500
        assert f"uid={alice.user.pw_uid} ".encode() not in behind.body
        assert "is assigned another identity" in server.error_log_text()
    finally:
        for directory in (alice.root, alice.htdocs):
            directory.chmod(0o750)
