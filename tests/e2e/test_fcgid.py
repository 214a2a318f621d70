"""mod_fcgid: PHP and WSGI apps on FastCGI processes itkgw starts and keeps, through a real itkgw.

Each class (vhost, identity, command, PHP settings) gets processes running
as its identity, their sockets in a directory only that identity enters;
the backend manager lends them out one request at a time.
"""

from __future__ import annotations

import hashlib
import http.client
import itertools
import json
import os
import random
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import flup
import pytest

from tests.e2e.conftest import Put
from tests.e2e.itkgw_proc import Itkgw, processes, vhost_for, wait_channel
from tests.fastcgi_peer import one_shot_responder
from tests.sites import ALICE, BOB, Site

PHP_CGI = "/usr/bin/php-cgi"
pytestmark = pytest.mark.skipif(not os.access(PHP_CGI, os.X_OK), reason="needs /usr/bin/php-cgi")

INFO_PHP = """<?php
header('Content-Type: text/plain');
$body = file_get_contents('php://input');
printf("pid=%d uid=%d gid=%d sapi=%s len=%d sha=%s", getmypid(), posix_getuid(), posix_getgid(),
       php_sapi_name(), strlen($body), hash('sha256', $body));
"""
SLOW_PHP = "<?php usleep((int)($_GET['ms'] ?? 1500) * 1000); echo getmypid();\n"


def fcgid_php(site: Site, server_name: str, **fcgid: Any) -> dict[str, Any]:
    """A vhost whose .php files run on php-cgi processes kept by itkgw (mod_fcgid's setup)."""
    table = {"fcgid_extensions": [".php"], "exec_cgi": True,
             "fcgid_wrapper": [{"command": PHP_CGI, "suffix": ".php"}], **fcgid}
    return vhost_for(site, server_name, **table)


#: The socket directories of this module's tests, each its own, and a counter to name them.
_ipc_dirs: list[str] = []
_ipc_numbers = itertools.count()


@pytest.fixture(scope="module", autouse=True)
def _remove_ipc_dirs() -> Iterator[None]:
    """The tests' socket directories go once their servers are stopped: a test's own teardown
    comes before its server's, which may still write its status table there meanwhile."""
    yield
    while _ipc_dirs:
        shutil.rmtree(_ipc_dirs.pop(), ignore_errors=True)


@pytest.fixture
def ipc() -> str:
    """A socket directory of the test's own (FcgidIPCDir), short enough for socket paths."""
    path = f"/run/itkgw-test-{os.getpid()}-{next(_ipc_numbers)}"
    _ipc_dirs.append(path)
    return path


def start_fcgid(itkgw_factory, vhosts: list[dict[str, Any]], ipc: str, **settings: Any) -> Itkgw:
    return itkgw_factory(vhosts, fcgid_ipc_dir=ipc, **settings)


def backends_of(user_uid: int, command: str = "php-cgi") -> list[int]:
    return sorted(proc.pid for proc in processes() if user_uid in proc.uids and command in proc.cmdline)


def _wait_for_php_request(user_uid: int) -> None:
    """Until one of the user's php-cgi processes sleeps in a script (usleep), not in accept."""
    deadline = time.monotonic() + 10
    while not any("nanosleep" in wait_channel(pid) for pid in backends_of(user_uid)):
        assert time.monotonic() < deadline, "no PHP process started the script"
        time.sleep(0.02)


def test_php_runs_on_a_kept_process_of_the_vhost_s_identity(itkgw_factory, docroots, put: Put,
                                                             ipc: str) -> None:
    alice = docroots[ALICE]
    put(alice, "info.php", INFO_PHP)
    server = start_fcgid(itkgw_factory, [fcgid_php(alice, "alice.test")], ipc)
    body = os.urandom(64 * 1024)
    answers = []
    for sent in (b"", body, b"x"):
        response = server.request("alice.test", "/info.php", method="POST", body=sent,
                                  headers={"Content-Type": "application/octet-stream"})
        assert response.status == 200, server.error_log_text()
        answers.append(dict(item.split("=", 1) for item in response.body.decode().split()))
        assert answers[-1]["len"] == str(len(sent)) and answers[-1]["sha"] == hashlib.sha256(sent).hexdigest()
    assert {answer["pid"] for answer in answers} == {answers[0]["pid"]}  # one process, kept
    assert answers[0]["uid"] == str(alice.user.pw_uid) and answers[0]["gid"] == str(alice.user.pw_gid)
    assert answers[0]["sapi"] == "cgi-fcgi"
    status = Path(f"/proc/{answers[0]['pid']}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines())
    assert fields["Uid"].split() == [str(alice.user.pw_uid)] * 4
    assert fields["Gid"].split() == [str(alice.user.pw_gid)] * 4
    assert set(fields["Groups"].split()) == {str(gid) for gid in os.getgrouplist(alice.user.pw_name,
                                                                                 alice.user.pw_gid)}
    for name in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
        assert int(fields[name], 16) == 0
    home = Path(ipc) / f"{alice.user.pw_uid}.{alice.user.pw_gid}"
    st = home.stat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (alice.user.pw_uid, 0o700)
    deadline = time.monotonic() + 5  # the manager writes its table once a second
    while f"{answers[0]['pid']}\tidle\t3\t" not in (table := backends_table(server)):
        assert time.monotonic() < deadline, table
        time.sleep(0.1)
    assert f"\t{alice.user.pw_name}(" in table and "\talice.test\t/usr/bin/php-cgi" in table


def backends_table(server: Itkgw) -> str:
    """What ``itkgw backends`` prints for the server's config."""
    result = subprocess.run([sys.executable, "-m", "itkgw", "backends", "-f", str(server.config_path)],
                            capture_output=True, text=True, check=False, timeout=30)
    return result.stdout


BOB_PROBE = """#!/usr/bin/python3
import json, os, socket
print("Content-Type: text/plain")
print()
ipc, alice_uid, alice_gid, manager = os.environ["QUERY_STRING"].split(",")
home = os.path.join(ipc, alice_uid + "." + alice_gid)
try:
    os.listdir(home)
    print("listed alice's sockets")
except PermissionError:
    print("socket dir closed")
sock = socket.socket(socket.AF_UNIX)
sock.connect(os.path.join(ipc, manager))
sock.sendall(json.dumps({"vhost": 0, "url": "/info.php", "file": os.environ["ALICE_INFO"]}).encode() + b"\\n")
print(sock.recv(4096).decode().strip())
"""


def test_bob_can_neither_reach_alice_s_sockets_nor_ask_the_manager_for_them(
        itkgw_factory, docroots, put: Put, ipc: str) -> None:
    alice, bob = docroots[ALICE], docroots[BOB]
    put(alice, "info.php", INFO_PHP)
    put(bob, "probe.cgi", BOB_PROBE)
    info = str(alice.htdocs / "info.php")
    server = start_fcgid(itkgw_factory, [fcgid_php(alice, "alice.test"),
                                         vhost_for(bob, "bob.test", exec_cgi=True,
                                                   set_env={"ALICE_INFO": info})], ipc)
    assert server.request("alice.test", "/info.php").status == 200
    manager = f"manager-{server.pid}-1.sock"
    assert os.path.exists(os.path.join(ipc, manager))
    response = server.request("bob.test",
                              f"/probe.cgi?{ipc},{alice.user.pw_uid},{alice.user.pw_gid},{manager}")
    lines = response.body.decode().splitlines()
    assert lines[0] == "socket dir closed"
    answer = json.loads(lines[1])
    assert answer["status"] == 403 and "socket" not in answer
    assert "the asker is not that identity" in server.error_log_text()


def test_php_admin_value_holds_and_sessions_are_private(itkgw_factory, docroots, put: Put, ipc: str) -> None:
    alice = docroots[ALICE]
    put(alice, "ini.php", "<?php ini_set('user_agent', 'mine'); ini_set('default_charset', 'mine');"
                          " echo ini_get('user_agent'), ' ', ini_get('default_charset'), ' ',"
                          " ini_get('session.save_path'), ' ', ini_get('upload_tmp_dir'), ' ',"
                          " var_export(ini_set('session.save_path', '/tmp') !== false, true);\n")
    server = start_fcgid(itkgw_factory, [fcgid_php(alice, "alice.test", php_settings=[
        {"name": "user_agent", "value": "admin-set", "admin": True},
        {"name": "default_charset", "value": "ISO-8859-1"}])], ipc)
    answer = server.request("alice.test", "/ini.php").body.decode()
    agent, charset, sessions, uploads, changeable = answer.split(" ")
    assert (agent, charset) == ("admin-set", "mine")
    assert changeable == "true"  # itkgw's own defaults stay the script's to change, as under mod_php
    home = Path(ipc) / f"{alice.user.pw_uid}.{alice.user.pw_gid}"
    assert (sessions, uploads) == (str(home / "sessions"), str(home / "uploads"))
    for private in (home / "sessions", home / "uploads"):
        st = private.stat()
        assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (alice.user.pw_uid, 0o700)


def test_php_writes_files_under_the_umask_itkgw_started_with(itkgw_factory, docroots, put: Put,
                                                             ipc: str) -> None:
    """As httpd's children, which keep the umask httpd started with (022 from a shell or
    systemd): a file PHP writes is 0644, not private to its owner; the process's socket
    stays 0700 in its 0700 directory."""
    alice = docroots[ALICE]
    put(alice, "write.php", "<?php file_put_contents(__DIR__ . '/made.txt', 'x');"
                            " printf('%04o %o', umask(), fileperms(__DIR__ . '/made.txt') & 0777);"
                            " unlink(__DIR__ . '/made.txt');\n")
    started_with = os.umask(0o022)
    os.umask(started_with)
    server = start_fcgid(itkgw_factory, [fcgid_php(alice, "alice.test")], ipc)
    assert server.request("alice.test", "/write.php").body.decode() == (
        f"{started_with:04o} {0o666 & ~started_with:o}")
    home = Path(ipc) / f"{alice.user.pw_uid}.{alice.user.pw_gid}"
    sockets = list(home.glob("*.sock"))
    assert sockets and all(stat.S_IMODE(path.stat().st_mode) == 0o700 for path in sockets)


OPCACHE_PHP = """<?php
$status = function_exists('opcache_get_status') ? opcache_get_status(true) : false;
echo json_encode($status ? array_keys($status['scripts']) : []);
"""


def test_one_tenant_s_opcode_cache_never_lists_another_s_scripts(itkgw_factory, docroots, put: Put,
                                                                  ipc: str) -> None:
    alice, bob = docroots[ALICE], docroots[BOB]
    put(alice, "cache.php", OPCACHE_PHP)
    put(bob, "secret.php", "<?php echo 'bob';\n")
    server = start_fcgid(itkgw_factory, [fcgid_php(alice, "alice.test"), fcgid_php(bob, "bob.test")], ipc)
    assert server.request("bob.test", "/secret.php").body == b"bob"
    scripts = json.loads(server.request("alice.test", "/cache.php").body)
    assert not [name for name in scripts if "secret.php" in name]


def test_requests_over_the_class_limit_wait_then_get_503(itkgw_factory, docroots, put: Put, ipc: str) -> None:
    alice = docroots[ALICE]
    put(alice, "slow.php", SLOW_PHP)
    server = start_fcgid(itkgw_factory, [fcgid_php(alice, "alice.test", fcgid_max_processes_per_class=1,
                                                   fcgid_busy_timeout=2)], ipc)
    results: list[tuple[int, bytes]] = []

    def fetch(ms: int) -> None:
        response = server.request("alice.test", f"/slow.php?ms={ms}")
        results.append((response.status, response.body))

    threads = [threading.Thread(target=fetch, args=(600,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert [status for status, _ in results] == [200, 200]
    assert len({body for _, body in results}) == 1  # the second waited for the one process
    assert len(backends_of(alice.user.pw_uid)) == 1
    slow = threading.Thread(target=fetch, args=(4000,))
    slow.start()
    time.sleep(0.5)
    waited = server.request("alice.test", "/slow.php?ms=10")
    slow.join(timeout=20)
    assert waited.status == 503
    assert "mod_fcgid: can't apply process slot for" in server.error_log_text()


def test_a_burst_starts_processes_up_to_the_spawn_score_limit_and_the_rest_wait(itkgw_factory, docroots,
                                                                                put: Put, ipc: str) -> None:
    """mod_fcgid's spawn control: eight requests at once on a cold class start three processes at
    FcgidSpawnScoreUpLimit 2 (the first start counts nothing, each other one 1); the other
    requests wait for those, and every one is answered."""
    alice = docroots[ALICE]
    put(alice, "slow.php", SLOW_PHP)
    server = start_fcgid(itkgw_factory, [fcgid_php(alice, "alice.test")], ipc, fcgid_spawn_score_up_limit=2,
                         fcgid_time_score=0)
    results: list[tuple[int, bytes]] = []

    def fetch() -> None:
        response = server.request("alice.test", "/slow.php?ms=300")
        results.append((response.status, response.body))

    threads = [threading.Thread(target=fetch) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert [status for status, _ in results] == [200] * 8
    assert len({body for _, body in results}) == 3  # the pids that answered
    assert len(backends_of(alice.user.pw_uid)) == 3
    assert "spawn score 2 >= FcgidSpawnScoreUpLimit 2, skip the spawn request" in server.error_log_text()


def test_a_pool_worker_keeps_its_process_for_the_next_connection_and_gives_it_back_when_idle(
        itkgw_factory, docroots, put: Put, ipc: str) -> None:
    """The pool model: one FastCGI process (FcgidMaxProcessesPerClass 1) serves connection after
    connection of the pool, and is idle at the manager once the pool worker has nothing to do."""
    alice = docroots[ALICE]
    put(alice, "slow.php", SLOW_PHP)
    server = start_fcgid(itkgw_factory, [fcgid_php(alice, "alice.test", fcgid_max_processes_per_class=1,
                                                   fcgid_busy_timeout=5)], ipc, process_model="pool")
    pids = {server.request("alice.test", "/slow.php?ms=0").body for _ in range(5)}
    assert len(pids) == 1
    first = int(pids.pop())
    deadline = time.monotonic() + 5
    while f"{first}\tidle\t" not in backends_table(server) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert f"{first}\tidle\t" in backends_table(server)
    # Two at once: the second pool worker gets the one process once the first lets it go.
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(server.request("alice.test", "/slow.php?ms=300")
                                                             .status)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert results == [200, 200]
    assert backends_of(alice.user.pw_uid) == [first]


#: The FastCGI connection a request came on, as the PHP process sees it: its socket
#: descriptors other than the listening one (0), by inode.
FASTCGI_LINK_PHP = """<?php
$links = [];
foreach (scandir('/proc/self/fd') as $fd) {
    $target = ctype_digit($fd) && $fd !== '0' ? (string) @readlink("/proc/self/fd/$fd") : '';
    if (str_starts_with($target, 'socket:')) {
        $links[] = $target;
    }
}
echo implode(' ', $links);
"""


def test_a_pool_worker_keeps_its_fastcgi_connection_under_keepalive_off(
        itkgw_factory, docroots, put: Put, ipc: str) -> None:
    """The pool model under KeepAlive Off (one request per connection, as many shared hosts
    run mpm-itk): the requests of connection after connection reach the PHP process on one
    FastCGI connection, not on a new one each, as they do with keep-alive."""
    alice = docroots[ALICE]
    put(alice, "link.php", FASTCGI_LINK_PHP)
    server = start_fcgid(itkgw_factory, [fcgid_php(alice, "alice.test", fcgid_max_processes_per_class=1)],
                         ipc, process_model="pool", pool_max_workers=1, keep_alive=False)
    links = [server.request("alice.test", "/link.php") for _ in range(4)]
    assert [response.status for response in links] == [200] * 4
    assert links[0].body.startswith(b"socket:")
    assert len({response.body for response in links}) == 1


def test_idle_processes_end_and_crashed_ones_are_replaced(itkgw_factory, docroots, put: Put,
                                                          ipc: str) -> None:
    alice = docroots[ALICE]
    put(alice, "slow.php", SLOW_PHP)
    server = start_fcgid(itkgw_factory, [fcgid_php(alice, "alice.test", fcgid_idle_timeout=1,
                                                   fcgid_min_processes_per_class=0)], ipc)
    first = int(server.request("alice.test", "/slow.php?ms=0").body)
    deadline = time.monotonic() + 5  # back with the manager: the connection child has let it go
    while f"{first}\tidle\t" not in backends_table(server) and time.monotonic() < deadline:
        time.sleep(0.1)
    os.kill(first, signal.SIGKILL)
    time.sleep(0.3)
    second = int(server.request("alice.test", "/slow.php?ms=0").body)
    assert second != first
    assert "while idle" in server.error_log_text()
    deadline = time.monotonic() + 8
    while backends_of(alice.user.pw_uid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert backends_of(alice.user.pw_uid) == []
    assert "idle for FcgidIdleTimeout 1 s" in server.error_log_text()


@pytest.mark.parametrize("model", ["itk", "pool"])
def test_a_graceful_restart_loses_no_request_in_flight(itkgw_factory, docroots, put: Put, ipc: str,
                                                       model: str) -> None:
    """The script in flight runs to its end on its process, which the old generation's manager
    ends only after (in the pool model, once the old pools, which borrow its processes, are gone)."""
    alice = docroots[ALICE]
    put(alice, "slow.php", SLOW_PHP)
    put(alice, "nap.php", "<?php $t = microtime(true); usleep(1500000);\n"
                          "echo round((microtime(true) - $t) * 1000);\n")
    server = start_fcgid(itkgw_factory, [fcgid_php(alice, "alice.test")], ipc, process_model=model)
    before = server.request("alice.test", "/slow.php?ms=0").body
    results: list[tuple[int, bytes]] = []

    def nap() -> None:
        status, _, body = server.request("alice.test", "/nap.php")
        results.append((status, body))

    thread = threading.Thread(target=nap)
    thread.start()
    _wait_for_php_request(alice.user.pw_uid)
    server.signal(signal.SIGUSR1)
    thread.join(timeout=20)
    assert len(results) == 1 and results[0][0] == 200
    assert int(results[0][1]) >= 1500, "the script's sleep was cut short: its process was signalled"
    deadline = time.monotonic() + 10
    after = before
    while after == before and time.monotonic() < deadline:
        after = server.request("alice.test", "/slow.php?ms=0").body
        time.sleep(0.1)
    assert after != before  # the new generation's process serves now


def test_body_over_fcgid_max_request_len_is_refused_before_php(itkgw_factory, docroots, put: Put,
                                                               ipc: str) -> None:
    alice = docroots[ALICE]
    put(alice, "info.php", INFO_PHP)
    server = start_fcgid(itkgw_factory, [fcgid_php(alice, "alice.test", fcgid_max_request_len=1000)], ipc)
    assert server.request("alice.test", "/info.php", method="POST", body=b"x" * 1000).status == 200
    assert server.request("alice.test", "/info.php", method="POST", body=b"x" * 1001).status == 500
    message = "mod_fcgid: HTTP request length 1001 (so far) exceeds MaxRequestLen (1000)"
    assert "[fcgid:warn]" in next(line for line in server.error_log_text().splitlines() if message in line)


def test_an_fcgid_script_needs_execcgi_as_under_mod_fcgid(itkgw_factory, docroots, put: Put,
                                                          ipc: str) -> None:
    alice = docroots[ALICE]
    put(alice, "info.php", INFO_PHP)
    server = start_fcgid(itkgw_factory, [fcgid_php(alice, "alice.test", exec_cgi=False)], ipc)
    assert server.request("alice.test", "/info.php").status == 403
    assert ("[fcgid:error]" in server.error_log_text() and f"mod_fcgid: location of script "
            f"{alice.htdocs}/info.php does not have ExecCGI enabled" in server.error_log_text())


def test_pass_header_gives_php_the_authorization(itkgw_factory, docroots, put: Put, ipc: str) -> None:
    alice = docroots[ALICE]
    put(alice, "auth.php", "<?php echo $_SERVER['PHP_AUTH_USER'] ?? '-', ' ',"
                           " $_SERVER['HTTP_AUTHORIZATION'] ?? '-';\n")
    server = start_fcgid(itkgw_factory, [fcgid_php(alice, "alice.test", fcgid_pass_header=["Authorization"])],
                         ipc)
    response = server.request("alice.test", "/auth.php", headers={"Authorization": "Basic dXNlcjpwdw=="})
    assert response.body == b"user Basic dXNlcjpwdw=="


#: A Python every user may run (the one this test runs under may live in root's home).
SYSTEM_PYTHON = "/usr/bin/python3"
needs_system_python = pytest.mark.skipif(not os.access(SYSTEM_PYTHON, os.X_OK),
                                         reason=f"needs {SYSTEM_PYTHON}")


def put_wsgi_program(site: Site, name: str, source: str) -> Path:
    """A flup WSGI program in ``site``, run by SYSTEM_PYTHON with a copy of the flup this
    test imports beside it, so it runs whether or not that Python has flup installed."""
    library = site.root / "pylib"
    if not library.exists():
        shutil.copytree(Path(flup.__file__).parent, library / "flup",
                        ignore=shutil.ignore_patterns("__pycache__"))
        for path in [library, *library.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
    program = site.htdocs / name
    program.write_text(f"#!{SYSTEM_PYTHON}\nimport sys\nsys.path.insert(0, {str(library)!r})\n{source}")
    os.chown(program, site.user.pw_uid, site.user.pw_gid)
    program.chmod(0o750)
    return program


WSGI_APP = """import os
import random
from flup.server.fcgi import WSGIServer

def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    text = "wsgi pid=%d uid=%d path=%s" % (os.getpid(), os.getuid(), environ.get("PATH_INFO", ""))
    return [text.encode()]

WSGIServer(app).run()
"""


@needs_system_python
def test_a_wsgi_app_is_its_own_fastcgi_program(itkgw_factory, docroots, put: Put, ipc: str) -> None:
    alice = docroots[ALICE]
    put_wsgi_program(alice, "app.fcgi", WSGI_APP)
    server = start_fcgid(itkgw_factory, [vhost_for(alice, "alice.test", fcgid_extensions=[".fcgi"],
                                                   exec_cgi=True)], ipc)
    first = server.request("alice.test", "/app.fcgi/hello")
    second = server.request("alice.test", "/app.fcgi/again")
    assert first.status == 200 and first.body.startswith(b"wsgi pid="), server.error_log_text()
    assert first.body.split()[1] == second.body.split()[1]
    assert f"uid={alice.user.pw_uid} path=/hello".encode() in first.body


APACHE_FCGID = """Listen 127.0.0.1:{port}
ServerRoot {workdir}
PidFile {workdir}/itkgw.pid
ErrorLog {error_log}
User itkt-www
Group itkt-www
FcgidIPCDir {ipc}
<IfModule mod_fcgid.c>
  FcgidMaxProcessesPerClass 2
  FcgidIOTimeout 20
</IfModule>
<VirtualHost 127.0.0.1:{port}>
  ServerName alice.test
  DocumentRoot {root}
  AssignUserID {user} {user}
  AddHandler fcgid-script .php
  FcgidWrapper {php_cgi} .php
  <Directory {root}>
    Options +ExecCGI
  </Directory>
</VirtualHost>
"""


@pytest.mark.parametrize("compat", ["2.2", "2.4"])
def test_apache_syntax_in_both_series(start, docroots, put: Put, ipc: str, compat: str) -> None:
    alice = docroots[ALICE]
    put(alice, "info.php", INFO_PHP)
    server = start(lambda s: {"httpd.conf": APACHE_FCGID.format(
        port=s.port, workdir=s.workdir, error_log=s.error_log, ipc=ipc, root=alice.htdocs,
        user=alice.user.pw_name, php_cgi=PHP_CGI)}, main="httpd.conf", args=(f"--compat={compat}",))
    response = server.request("alice.test", "/info.php")
    assert response.status == 200 and b"sapi=cgi-fcgi" in response.body


def test_a_process_killed_mid_request_gives_500_and_is_never_lent_again(itkgw_factory, docroots, put: Put,
                                                                        ipc: str) -> None:
    alice = docroots[ALICE]
    put(alice, "slow.php", SLOW_PHP)
    server = start_fcgid(itkgw_factory, [fcgid_php(alice, "alice.test")], ipc)
    results: list[int] = []
    thread = threading.Thread(target=lambda: results.append(
        server.request("alice.test", "/slow.php?ms=3000").status))
    thread.start()
    deadline = time.monotonic() + 5
    while not backends_of(alice.user.pw_uid):
        assert time.monotonic() < deadline, "php-cgi never started"
        time.sleep(0.05)
    time.sleep(0.3)
    victim = backends_of(alice.user.pw_uid)[0]
    os.kill(victim, signal.SIGKILL)
    thread.join(timeout=10)
    assert results == [500]  # Apache 2.4 + mod_fcgid 2.3.9's answer (compared on this machine)
    assert "mod_fcgid: error reading data from FastCGI server" in server.error_log_text()
    assert "End of script output before headers: slow.php" in server.error_log_text()
    assert int(server.request("alice.test", "/slow.php?ms=0").body) != victim


STREAM_PHP = """<?php
for ($i = 0; $i < 100; $i++) { echo str_repeat('x', 1000), "\\n"; flush(); usleep(50000); }
"""


def test_a_client_gone_mid_response_ends_the_process_and_leaks_nothing(itkgw_factory, docroots, put: Put,
                                                                       ipc: str) -> None:
    alice = docroots[ALICE]
    put(alice, "stream.php", STREAM_PHP)
    put(alice, "slow.php", SLOW_PHP)
    server = start_fcgid(itkgw_factory, [fcgid_php(alice, "alice.test")], ipc)
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"GET /stream.php HTTP/1.1\r\nHost: alice.test\r\n\r\n")
        assert b"xxxx" in sock.recv(65536) + sock.recv(65536)  # the first pieces arrive as flushed
        streaming = backends_of(alice.user.pw_uid)
    deadline = time.monotonic() + 8
    while set(backends_of(alice.user.pw_uid)) & set(streaming):
        assert time.monotonic() < deadline, "the process of the abandoned request is still there"
        time.sleep(0.1)
    assert "request did not end cleanly" in server.error_log_text()
    assert server.request("alice.test", "/slow.php?ms=0").status == 200


def test_a_program_that_keeps_dying_is_backed_off(itkgw_factory, docroots, put: Put, ipc: str) -> None:
    alice = docroots[ALICE]
    put(alice, "info.php", INFO_PHP)
    dying = vhost_for(alice, "alice.test", fcgid_extensions=[".php"], exec_cgi=True,
                      fcgid_wrapper=[{"command": "/bin/false", "suffix": ".php"}])
    server = start_fcgid(itkgw_factory, [dying], ipc)
    statuses = []
    for _ in range(6):
        try:
            statuses.append(server.request("alice.test", "/info.php").status)
        except TimeoutError:
            raise AssertionError(server.error_log_text()) from None
    assert set(statuses) <= {500, 503} and 503 in statuses, server.error_log_text()
    log = server.error_log_text()
    assert "exit(status 1)" in log and "its processes keep failing to start" in log


def test_php_handler_cgi_starts_php_per_request(itkgw_factory, docroots, put: Put, ipc: str) -> None:
    alice = docroots[ALICE]
    put(alice, "info.php", INFO_PHP)
    server = start_fcgid(itkgw_factory, [vhost_for(alice, "alice.test", php_handler="cgi")], ipc)
    pids = {server.request("alice.test", "/info.php").body.split()[0] for _ in range(3)}
    assert len(pids) == 3
    assert backends_of(alice.user.pw_uid) == []


def test_many_classes_stay_within_fcgid_max_processes_and_all_end_when_idle(itkgw_factory, docroots,
                                                                             put: Put, ipc: str) -> None:
    alice, bob = docroots[ALICE], docroots[BOB]
    for site in (alice, bob):
        put(site, "slow.php", SLOW_PHP)
    vhosts = [fcgid_php(site, f"{name}{number}.test", fcgid_idle_timeout=1, fcgid_min_processes_per_class=0)
              for site, name in ((alice, "a"), (bob, "b")) for number in range(3)]
    server = start_fcgid(itkgw_factory, vhosts, ipc, fcgid_max_processes=3)
    uids = {alice.user.pw_uid, bob.user.pw_uid}
    most, done = [0], threading.Event()
    seen: list[str] = []

    def count() -> None:
        while not done.is_set():
            running = [f"{proc.pid} {sorted(proc.uids)} {proc.cmdline}" for proc in processes()
                       if proc.uids & uids and "php-cgi" in proc.cmdline]
            if len(running) > most[0]:
                most[0], seen[:] = len(running), running
            time.sleep(0.01)

    counter = threading.Thread(target=count)
    counter.start()
    order = [vhost["server_name"] for vhost in vhosts] * 5
    random.Random(7).shuffle(order)
    try:
        statuses = [server.request(name, "/slow.php?ms=0").status for name in order]
    finally:
        done.set()
        counter.join()
    assert statuses == [200] * len(order)
    assert 1 <= most[0] <= 3, f"{seen}\n{server.error_log_text()}"
    assert "making room for" in server.error_log_text()  # an idle class yields to a new one
    deadline = time.monotonic() + 10
    while any(backends_of(uid) for uid in uids):
        assert time.monotonic() < deadline, "idle processes were not ended"
        time.sleep(0.2)


def test_a_restarted_manager_is_asked_again_on_a_kept_alive_connection(itkgw_factory, docroots, put: Put,
                                                                       ipc: str) -> None:
    """A connection child keeps its connection to the manager for its client's next request;
    when the manager is gone (killed, and restarted by the master) it asks the new one."""
    alice = docroots[ALICE]
    put(alice, "slow.php", SLOW_PHP)
    server = start_fcgid(itkgw_factory, [fcgid_php(alice, "alice.test")], ipc)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        first = []
        for _ in range(3):
            connection.request("GET", "/slow.php?ms=0", headers={"Host": "alice.test"})
            first.append(connection.getresponse().read())
        assert len(set(first)) == 1
        managers = [proc.pid for proc in processes()
                    if proc.uids == {0} and f"manager-{server.pid}-" in _open_sockets(proc.pid)]
        assert len(managers) == 1
        os.kill(managers[0], signal.SIGKILL)
        deadline = time.monotonic() + 10
        while not os.path.exists(os.path.join(ipc, f"manager-{server.pid}-1.sock")) or \
                "starting a new one" not in server.error_log_text():
            assert time.monotonic() < deadline, "the manager was not restarted"
            time.sleep(0.1)
        connection.request("GET", "/slow.php?ms=0", headers={"Host": "alice.test"})
        response = connection.getresponse()
        assert response.status == 200 and response.read() not in first  # a new process, same connection
    finally:
        connection.close()


def _open_sockets(pid: int) -> str:
    """The Unix socket paths a process has bound, from /proc/net/unix and its fds."""
    try:
        inodes = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
    except (FileNotFoundError, PermissionError):
        return ""
    paths = []
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8 and f"socket:[{fields[6]}]" in inodes:
            paths.append(fields[7])
    return " ".join(paths)


@pytest.mark.parametrize("nice", [5, -5])
def test_nice_value_applies_to_the_kept_php_processes(itkgw_factory, docroots, put: Put, ipc: str,
                                                      nice: int) -> None:
    alice = docroots[ALICE]
    put(alice, "nice.php", "<?php $stat = file_get_contents('/proc/self/stat');"
                           " echo explode(' ', substr(strrchr($stat, ')'), 2))[16];\n")
    server = start_fcgid(itkgw_factory, [fcgid_php(alice, "alice.test", nice_value=nice)], ipc)
    response = server.request("alice.test", "/nice.php")
    assert (response.status, response.body) == (200, str(nice).encode()), server.error_log_text()


HOARD_CGI = """#!/usr/bin/python3
import json, os, select, socket, time
print("Content-Type: text/plain")
print()
path = os.environ["QUERY_STRING"]
held, answered = [], set()
for _ in range(40):
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(path)
    held.append(sock)
while True:  # the refusals, until a second passes without one (a busy manager is slow)
    ready = select.select([sock for sock in held if sock not in answered], [], [], 1.0)[0]
    if not ready:
        break
    answered.update(ready)
refused = sum(b'"status": 503' in sock.recv(4096) for sock in answered)
time.sleep(1)
print(f"held={len(held) - refused} refused={refused}")
"""


def test_one_identity_hoarding_manager_connections_does_not_crowd_out_another(itkgw_factory, docroots,
                                                                              put: Put, ipc: str) -> None:
    alice, bob = docroots[ALICE], docroots[BOB]
    put(alice, "info.php", INFO_PHP)
    put(bob, "hoard.cgi", HOARD_CGI)
    vhosts = [fcgid_php(alice, "alice.test"), vhost_for(bob, "bob.test", exec_cgi=True)]
    server = start_fcgid(itkgw_factory, vhosts, ipc, max_request_workers=16)
    manager = os.path.join(ipc, f"manager-{server.pid}-1.sock")
    hoarded: list[bytes] = []
    thread = threading.Thread(target=lambda: hoarded.append(
        server.request("bob.test", f"/hoard.cgi?{manager}").body))
    thread.start()
    time.sleep(1.0)
    assert server.request("alice.test", "/info.php").status == 200  # alice is served meanwhile
    thread.join(timeout=20)
    assert hoarded == [b"held=32 refused=8\n"]  # MaxRequestWorkers 16, plus 16 spare
    assert f"uid {bob.user.pw_uid} holds 32 connections to the backend manager" in server.error_log_text()


CLOSE_AT_ONCE_CGI = """#!/usr/bin/python3
import os, socket
for _ in range(40):
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(os.environ["QUERY_STRING"])
    sock.close()
print("Content-Type: text/plain")
print()
print("closed")
"""


def test_connections_of_ended_children_do_not_count_against_their_identity(itkgw_factory, docroots,
                                                                          put: Put, ipc: str) -> None:
    """A burst of short connections reaches the manager while it is busy (here: stopped):
    those already closed when it gets to them must not fill the identity's share."""
    bob = docroots[BOB]
    put(bob, "info.php", INFO_PHP)
    put(bob, "close.cgi", CLOSE_AT_ONCE_CGI)
    server = start_fcgid(itkgw_factory, [fcgid_php(bob, "bob.test")], ipc,
                         max_request_workers=16)
    manager_socket = os.path.join(ipc, f"manager-{server.pid}-1.sock")
    assert server.request("bob.test", "/info.php").status == 200
    manager = next(proc.pid for proc in processes()
                   if proc.uids == {0} and manager_socket in _open_sockets(proc.pid))
    answers: list[int] = []
    os.kill(manager, signal.SIGSTOP)
    try:
        assert server.request("bob.test", f"/close.cgi?{manager_socket}").body == b"closed\n"
        thread = threading.Thread(target=lambda: answers.append(
            server.request("bob.test", "/info.php", timeout=20).status))
        thread.start()
        time.sleep(0.5)  # its connection child has asked, behind the 40 closed connections
    finally:
        os.kill(manager, signal.SIGCONT)
    thread.join(timeout=20)
    assert answers == [200], server.error_log_text()
    assert "connections to the backend manager" not in server.error_log_text()


def test_a_manager_that_stops_answering_is_replaced(itkgw_factory, docroots, put: Put, ipc: str) -> None:
    alice = docroots[ALICE]
    put(alice, "slow.php", SLOW_PHP)
    server = start_fcgid(itkgw_factory, [fcgid_php(alice, "alice.test")], ipc)
    before = server.request("alice.test", "/slow.php?ms=0").body
    managers = [proc.pid for proc in processes()
                if proc.uids == {0} and f"manager-{server.pid}-" in _open_sockets(proc.pid)]
    os.kill(managers[0], signal.SIGSTOP)
    deadline = time.monotonic() + 15
    while "has not answered for" not in server.error_log_text():
        assert time.monotonic() < deadline, "the stopped manager was not replaced"
        time.sleep(0.2)
    response = server.request("alice.test", "/slow.php?ms=0", timeout=20)
    assert response.status == 200 and response.body != before


def test_php_s_own_messages_reach_the_error_log_as_mod_php_s_do(itkgw_factory, docroots, put: Put,
                                                                ipc: str) -> None:
    alice = docroots[ALICE]
    put(alice, "warn.php", "<?php trigger_error('itkt-warning', E_USER_WARNING); echo 'done';\n")
    server = start_fcgid(itkgw_factory, [vhost_for(alice, "alice.test"), fcgid_php(alice, "fcgid.test")], ipc)
    for host, tag in (("alice.test", "[php:warn]"), ("fcgid.test", "[fcgid:warn]")):
        assert server.request(host, "/warn.php").body == b"done"
        log = server.error_log_text()
        assert [line for line in log.splitlines() if "itkt-warning" in line and tag in line], log
    assert "] PHP Warning:  itkt-warning in " in "\n".join(  # as mod_php logs it
        line for line in server.error_log_text().splitlines() if "[php:warn]" in line)
    assert "mod_fcgid: stderr: PHP Warning:  itkt-warning" in server.error_log_text()  # as mod_fcgid does


VIRTUAL_WRAPPER = """from flup.server.fcgi import WSGIServer

def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    names = ("SCRIPT_NAME", "PATH_INFO", "SCRIPT_FILENAME")
    return [" ".join(f"{name}={environ.get(name, '')}" for name in names).encode()]

WSGIServer(app).run()
"""


@needs_system_python
def test_a_virtual_wrapper_serves_paths_with_no_file(itkgw_factory, docroots, put: Put, ipc: str) -> None:
    """As Apache 2.4 + mod_fcgid 2.3.9 answers the same config (compared on this machine)."""
    alice = docroots[ALICE]
    wrapper = put_wsgi_program(alice, "wrapper.fcgi", VIRTUAL_WRAPPER)
    virtual = {"command": str(wrapper), "suffix": ".virt", "virtual": True}
    vhost = vhost_for(alice, "alice.test", fcgid_extensions=[".virt"], exec_cgi=True, fcgid_wrapper=[virtual])
    server = start_fcgid(itkgw_factory, [vhost], ipc)
    response = server.request("alice.test", "/app.virt")
    assert (response.status, response.body.decode()) == (
        200, f"SCRIPT_NAME=/app.virt PATH_INFO= SCRIPT_FILENAME={alice.htdocs}/app.virt")
    assert server.request("alice.test", "/no/such/dir/app.virt/x").status == 404
    assert server.request("alice.test", "/nothing.txt").status == 404


def test_no_output_within_fcgid_io_timeout_is_a_500_as_under_mod_fcgid(itkgw_factory, docroots, put: Put,
                                                                      ipc: str) -> None:
    """Apache 2.4 + mod_fcgid 2.3.9 answers 500 and logs these two lines (compared on this machine)."""
    alice = docroots[ALICE]
    put(alice, "slow.php", SLOW_PHP)
    server = start_fcgid(itkgw_factory, [fcgid_php(alice, "alice.test", fcgid_io_timeout=1)], ipc)
    assert server.request("alice.test", "/slow.php?ms=2500").status == 500
    log = server.error_log_text()
    assert "[fcgid:warn]" in log and "mod_fcgid: read data timeout in 1 seconds" in log
    assert "[core:error]" in log and "End of script output before headers: slow.php" in log
    assert server.request("alice.test", "/slow.php?ms=0").status == 200  # a new process serves the next


@pytest.mark.parametrize("handler", ["fcgid-script", "php default"])
def test_a_chunked_body_reaches_php_with_its_length(itkgw_factory, docroots, put: Put, ipc: str,
                                                     handler: str) -> None:
    """mod_fcgid reads a chunked body first and hands it on with CONTENT_LENGTH; so does itkgw."""
    alice = docroots[ALICE]
    put(alice, "info.php", INFO_PHP)
    vhost = fcgid_php(alice, "alice.test") if handler == "fcgid-script" else vhost_for(alice, "alice.test")
    server = start_fcgid(itkgw_factory, [vhost], ipc)
    body = os.urandom(120 * 1024)  # within FcgidMaxRequestLen's default
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
    try:
        connection.request("POST", "/info.php", body=iter([body[:50_000], body[50_000:]]),
                           headers={"Host": "alice.test", "Content-Type": "application/octet-stream"},
                           encode_chunked=True)
        response = connection.getresponse()
        answer = dict(item.split("=", 1) for item in response.read().decode().split())
    finally:
        connection.close()
    assert response.status == 200
    assert (answer["len"], answer["sha"]) == (str(len(body)), hashlib.sha256(body).hexdigest())


def test_what_was_kept_for_a_removed_user_is_removed(itkgw_factory, docroots, put: Put, ipc: str) -> None:
    """A user given the same uid later must not find the sessions of the one removed."""
    gone = Path(ipc) / "424242.424242"
    (gone / "sessions").mkdir(parents=True)
    (gone / "sessions" / "sess_abc").write_text("secret")
    alice = docroots[ALICE]
    put(alice, "slow.php", SLOW_PHP)
    server = start_fcgid(itkgw_factory, [fcgid_php(alice, "alice.test")], ipc)
    assert server.request("alice.test", "/slow.php?ms=0").status == 200
    assert not gone.exists()
    assert (Path(ipc) / f"{alice.user.pw_uid}.{alice.user.pw_gid}").is_dir()


def test_php_below_a_userdir_runs_on_kept_processes(itkgw_factory, docroots, put: Put, ipc: str) -> None:
    """/~user/ is a view of the vhost rooted elsewhere; the manager must see the same view."""
    alice = docroots[ALICE]
    put(alice, "info.php", INFO_PHP)
    pattern = str(alice.root.parent / "*" / "htdocs")
    server = start_fcgid(itkgw_factory, [vhost_for(alice, "alice.test", user_dir=pattern)], ipc)
    response = server.request("alice.test", f"/~{alice.user.pw_name}/info.php")
    assert response.status == 200, server.error_log_text()
    assert f"uid={alice.user.pw_uid}" in response.body.decode()


def test_userdir_names_its_context_and_debian_s_disabled_users_are_not_served(itkgw_factory, docroots,
                                                                              put: Put, ipc: str) -> None:
    """As mod_userdir: CONTEXT_PREFIX /~user and CONTEXT_DOCUMENT_ROOT the user's directory, while
    DOCUMENT_ROOT stays the vhost's; a user of UserDir disabled NAME maps as any other path."""
    alice, bob = docroots[ALICE], docroots[BOB]
    put(alice, "ctx.php", "<?php echo $_SERVER['DOCUMENT_ROOT'], '|', $_SERVER['CONTEXT_PREFIX'], '|',"
                          " $_SERVER['CONTEXT_DOCUMENT_ROOT'];\n")
    pattern = str(alice.root.parent / "*" / "htdocs")
    site = vhost_for(alice, "alice.test", document_root=str(alice.cgi_bin), user_dir=pattern,
                     user_dir_disabled=["root", bob.user.pw_name])
    server = start_fcgid(itkgw_factory, [site], ipc)
    name = alice.user.pw_name
    response = server.request("alice.test", f"/~{name}/ctx.php")
    assert response.body.decode() == f"{alice.cgi_bin}|/~{name}|{alice.htdocs}", server.error_log_text()
    assert server.request("alice.test", "/~root/").status == 404
    assert server.request("alice.test", f"/~{bob.user.pw_name}/index.html").status == 404
    assert server.request("alice.test", f"/~{name}/index.html").status == 200


PID_PHP = "<?php echo getmypid();\n"


def _pids_on_one_connection(server: Itkgw, path: str, count: int, body: bytes | None = None) -> list[bytes]:
    """The bodies of ``count`` requests on one keep-alive connection (POSTs of ``body``, if given)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        bodies = []
        for _ in range(count):
            connection.request("GET" if body is None else "POST", path, body=body,
                               headers={"Host": "alice.test"})
            response = connection.getresponse()
            assert response.status == 200, server.error_log_text()
            bodies.append(response.read())
        return bodies
    finally:
        connection.close()


def test_a_keep_alive_connection_carries_its_requests_on_one_process_within_its_limit(
        itkgw_factory, docroots, put: Put, ipc: str) -> None:
    """As mod_php's interpreter stays in its Apache child, the process lent to a keep-alive
    connection serves its next requests too, and FcgidMaxRequestsPerProcess still holds."""
    alice = docroots[ALICE]
    put(alice, "pid.php", PID_PHP)
    server = start_fcgid(itkgw_factory, [fcgid_php(alice, "alice.test", fcgid_max_requests_per_process=3)],
                         ipc)
    pids = _pids_on_one_connection(server, "/pid.php", 7)
    assert [len(list(run)) for _, run in itertools.groupby(pids)] == [3, 3, 1]
    assert len(set(pids)) == 3


def test_a_held_process_goes_back_for_another_connection(itkgw_factory, docroots, put: Put,
                                                        ipc: str) -> None:
    """With one process for the class, a second connection is served while the first stays
    open: the first gives the process back when its client goes quiet."""
    alice = docroots[ALICE]
    put(alice, "pid.php", PID_PHP)
    server = start_fcgid(itkgw_factory, [fcgid_php(alice, "alice.test", fcgid_max_processes_per_class=1,
                                                   fcgid_busy_timeout=30)], ipc)
    first = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        first.request("GET", "/pid.php", headers={"Host": "alice.test"})
        held = first.getresponse().read()
        other = server.request("alice.test", "/pid.php")
        assert other.status == 200 and other.body == held
        first.request("GET", "/pid.php", headers={"Host": "alice.test"})
        again = first.getresponse()
        assert again.status == 200 and again.read() == held
    finally:
        first.close()
    assert len(backends_of(alice.user.pw_uid)) == 1


def test_a_held_process_that_died_between_requests_is_replaced_unseen(itkgw_factory, docroots, put: Put,
                                                                       ipc: str) -> None:
    """The next request of a keep-alive connection goes to the process held for it, unchecked
    when it has no body: killed meanwhile, it fails that request's exchange, and a new process
    answers it, the client seeing nothing of it."""
    alice = docroots[ALICE]
    put(alice, "pid.php", PID_PHP)
    server = start_fcgid(itkgw_factory, [fcgid_php(alice, "alice.test")], ipc)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", "/pid.php", headers={"Host": "alice.test"})
        first = int(connection.getresponse().read())
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while first in backends_of(alice.user.pw_uid):
            assert time.monotonic() < deadline, "the killed process did not go"
            time.sleep(0.02)
        connection.request("GET", "/pid.php", headers={"Host": "alice.test"})
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert response.status == 200, server.error_log_text()
    assert int(body) != first


def test_a_busy_connection_gives_its_process_back_when_another_asks(itkgw_factory, docroots, put: Put,
                                                                   ipc: str) -> None:
    """With one process for the class, a keep-alive connection that never pauses still lets
    another connection in: the manager recalls the process, which goes back after the
    request in hand, long before the hold's own second is up."""
    alice = docroots[ALICE]
    put(alice, "pid.php", PID_PHP)
    server = start_fcgid(itkgw_factory, [fcgid_php(alice, "alice.test", fcgid_max_processes_per_class=1,
                                                   fcgid_busy_timeout=30)], ipc,
                         max_keep_alive_requests=0)  # the busy connection never ends
    stop = threading.Event()
    busy = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    busy.request("GET", "/pid.php", headers={"Host": "alice.test"})
    held = busy.getresponse().read()

    def keep_asking() -> None:
        while not stop.is_set():
            busy.request("GET", "/pid.php", headers={"Host": "alice.test"})
            busy.getresponse().read()

    asker = threading.Thread(target=keep_asking)
    asker.start()
    try:
        time.sleep(0.1)
        started = time.monotonic()
        other = server.request("alice.test", "/pid.php")
        waited = time.monotonic() - started
    finally:
        stop.set()
        asker.join()
        busy.close()
    assert other.status == 200 and other.body == held
    assert waited < 0.5, f"the other connection waited {waited:.2f} s for the process"


#: A FastCGI responder that ignores FCGI_KEEP_CONN: one request per connection, then close.
ONE_SHOT_FCGI = "#!/usr/bin/python3" + one_shot_responder("one-shot")
#: The same, closing each connection 0.3 s after its answer.
LATE_CLOSING_FCGI = "#!/usr/bin/python3" + one_shot_responder("one-shot", close_after=0.3)


@pytest.mark.parametrize(("name", "source"), [("once.fcgi", ONE_SHOT_FCGI), ("late.fcgi", LATE_CLOSING_FCGI)])
def test_a_program_that_closes_after_each_request_serves_a_keep_alive_connection(
        itkgw_factory, docroots, put: Put, ipc: str, name: str, source: str) -> None:
    """Whether the program closes at once or a moment after its answer: in the second case the
    next request of the keep-alive connection finds the kept FastCGI connection still open, is
    written on it and gets nothing back; it goes again on a new connection, unseen by the client."""
    alice = docroots[ALICE]
    put(alice, name, source).chmod(0o750)
    server = start_fcgid(itkgw_factory, [vhost_for(alice, "alice.test", fcgid_extensions=[".fcgi"],
                                                   exec_cgi=True)], ipc)
    bodies = _pids_on_one_connection(server, f"/{name}", 4)
    assert len(set(bodies)) == 1 and bodies[0].startswith(b"one-shot pid=")
    if source is LATE_CLOSING_FCGI:
        assert "had closed its kept connection: the request goes on a new one" in server.error_log_text()


def test_a_request_with_a_body_never_goes_into_a_connection_the_program_closed(
        itkgw_factory, docroots, put: Put, ipc: str) -> None:
    """A request without a body may go again when its kept connection turns out closed; one with
    a body cannot (its body is read as it goes), so the kept connection is looked at first."""
    alice = docroots[ALICE]
    put(alice, "once.fcgi", ONE_SHOT_FCGI).chmod(0o750)
    server = start_fcgid(itkgw_factory, [vhost_for(alice, "alice.test", fcgid_extensions=[".fcgi"],
                                                   exec_cgi=True)], ipc)
    bodies = _pids_on_one_connection(server, "/once.fcgi", 4, body=b"x" * 5000)
    assert len(set(bodies)) == 1 and bodies[0].startswith(b"one-shot pid=")
    assert "goes on a new one" not in server.error_log_text()


REDIRECTING_APP = """from flup.server.fcgi import WSGIServer

def app(environ, start_response):
    if environ.get("PATH_INFO") == "/go":
        start_response("200 OK", [("Location", "/app.fcgi/there?x=1")])
        return [b"not for the client"]
    start_response("200 OK", [("Content-Type", "text/plain")])
    names = ("REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "REDIRECT_URL")
    return [" ".join(str(environ.get(name)) for name in names).encode()]

WSGIServer(app).run()
"""


@needs_system_python
def test_a_local_location_from_a_fastcgi_program_is_an_internal_redirect(itkgw_factory, docroots, put: Put,
                                                                          ipc: str) -> None:
    """mod_fcgid's internal redirect: the rest of the first answer is read and dropped, the
    process is kept, and the client gets the other path's answer."""
    alice = docroots[ALICE]
    put_wsgi_program(alice, "app.fcgi", REDIRECTING_APP)
    server = start_fcgid(itkgw_factory, [vhost_for(alice, "alice.test", fcgid_extensions=[".fcgi"],
                                                   exec_cgi=True)], ipc)
    answer = server.request("alice.test", "/app.fcgi/go", method="POST", body=b"a=1")
    assert answer.status == 200 and answer.body == b"GET /there x=1 /app.fcgi/go", server.error_log_text()
    assert len(backends_of(alice.user.pw_uid, "app.fcgi")) == 1
