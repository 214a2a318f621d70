"""The pool process model: unprivileged fronts, per-identity pools, keep-alive across identities."""

from __future__ import annotations

import http.client
import os
import pwd
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from itkgw.config.modules.fcgid import DEFAULT_IPC_DIR
from tests.e2e.itkgw_proc import Itkgw, processes, vhost_for
from tests.sites import ALICE, BOB, Site, Users, Whoami


def two_vhosts(docroots: dict[str, Site]) -> list[dict[str, object]]:
    return [vhost_for(docroots[ALICE], "alice.test"), vhost_for(docroots[BOB], "bob.test")]


def _status(pid: int) -> dict[str, str]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.strip()
    return fields


def _server_processes(server: Itkgw) -> list[tuple[int, int]]:
    """(pid, effective uid) of every process of the server's session but the master."""
    return [(proc.pid, int(_status(proc.pid)["Uid"].split()[1])) for proc in processes()
            if proc.session == server.pid and proc.pid != server.pid]


def _fronts(server: Itkgw, www: int) -> list[int]:
    """The fronts: the processes running as ``User`` (the pool model has no other)."""
    return [pid for pid, uid in _server_processes(server) if uid == www]


def _pool_workers(server: Itkgw, uid: int) -> list[int]:
    return [pid for pid, euid in _server_processes(server) if euid == uid]


def test_each_vhost_runs_as_its_own_user(itkgw_factory, docroots, test_users: Users) -> None:
    server = itkgw_factory(two_vhosts(docroots), process_model="pool")
    for host, user in (("alice.test", test_users.alice), ("bob.test", test_users.bob)):
        for script in ("whoami.cgi", "whoami.php", "cgi-bin/whoami.cgi"):
            status, _, body = server.request(host, "/" + script)
            assert status == 200, body
            assert Whoami.parse(body.decode()) == Whoami.of(user), script
        status, _, body = server.request(host, "/secret.txt")
        assert (status, body.decode().strip()) == (200, docroots[user.pw_name].secret)


def test_fronts_have_no_privilege_at_all(itkgw_factory, docroots, test_users: Users) -> None:
    """Every capability set empty, NoNewPrivs 1, Seccomp 2 (a filter)."""
    server = itkgw_factory(two_vhosts(docroots), process_model="pool")
    assert server.request("alice.test", "/whoami.cgi").status == 200
    fronts = _fronts(server, test_users.www.pw_uid)
    assert fronts
    for pid in fronts:
        status = _status(pid)
        assert {name: status[name] for name in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")} == {
            name: "0000000000000000" for name in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}, pid
        assert status["NoNewPrivs"] == "1"
        assert status["Seccomp"] == "2"
    for pid in _pool_workers(server, test_users.alice.pw_uid):
        status = _status(pid)
        assert status["Uid"].split() == [str(test_users.alice.pw_uid)] * 4
        assert (status["CapPrm"], status["CapEff"]) == ("0000000000000000", "0000000000000000")


def test_a_front_cannot_change_its_ids(itkgw_factory, docroots, monkeypatch) -> None:
    """The test hook makes the front that takes the request try set*id calls itself."""
    monkeypatch.setenv("ITKGW_TEST_HOOKS", "1")
    server = itkgw_factory(two_vhosts(docroots), process_model="pool")
    status, _, body = server.request("alice.test", "/whoami.cgi", headers={"X-Itkgw-Test-Setid": "1"})
    assert status == 200
    assert body.decode().splitlines() == ["setuid(0): EPERM", "setresuid(0, 0, 0): EPERM",
                                          "setgid(0): EPERM", "setgroups([0]): EPERM"]
    assert server.request("alice.test", "/whoami.cgi").status == 200


def test_a_connection_sent_to_the_wrong_pool_is_refused(itkgw_factory, docroots, monkeypatch) -> None:
    monkeypatch.setenv("ITKGW_TEST_HOOKS", "1")
    server = itkgw_factory(two_vhosts(docroots), process_model="pool")
    status, _, body = server.request("alice.test", "/secret.txt", headers={"X-Itkgw-Test-Route": BOB})
    assert status == 500
    assert docroots[ALICE].secret.encode() not in body
    assert "was handed to the pool of" in server.error_log_text()
    assert server.request("alice.test", "/secret.txt").status == 200


def test_keep_alive_across_identities(itkgw_factory, docroots, test_users: Users) -> None:
    """One connection, alice, bob, alice, bob: four answers, each from the right uid."""
    server = itkgw_factory(two_vhosts(docroots), process_model="pool")
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.connect()
        first = connection.sock
        for host, user in [("alice.test", test_users.alice), ("bob.test", test_users.bob)] * 2:
            connection.request("GET", "/whoami.cgi", headers={"Host": host})
            response = connection.getresponse()
            body = response.read()
            assert response.status == 200
            assert Whoami.parse(body.decode()) == Whoami.of(user)
            assert response.getheader("Connection", "").lower() != "close"
            assert connection.sock is first  # http.client would reconnect silently
    finally:
        connection.close()

    def logged() -> list[int]:  # a line is written after its response has gone out
        return [len(server.access_log_text(host).splitlines()) for host in ("alice.test", "bob.test")]

    deadline = time.monotonic() + 5
    while logged() != [2, 2] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert logged() == [2, 2]


def test_killed_processes_cost_only_their_connection(itkgw_factory, docroots, test_users: Users) -> None:
    server = itkgw_factory(two_vhosts(docroots), process_model="pool")
    assert server.request("alice.test", "/whoami.cgi").status == 200
    for pid in _pool_workers(server, test_users.alice.pw_uid):
        os.kill(pid, signal.SIGKILL)
    os.kill(_fronts(server, test_users.www.pw_uid)[0], signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            answers = [server.request("alice.test", "/whoami.cgi").status for _ in range(4)]
        except (ConnectionError, http.client.HTTPException):
            continue
        if answers == [200] * 4:
            break
    assert server.request("alice.test", "/whoami.cgi").status == 200
    assert server.request("bob.test", "/whoami.cgi").status == 200


def test_a_worker_or_the_manager_killed_mid_request_costs_that_request_only(itkgw_factory, docroots,
                                                                             test_users: Users) -> None:
    """kill -9 of the pool worker serving a slow request, then of the pool manager itself (every
    pool goes with it): each time the request in flight is the only failure, and the next
    requests are served by pools started again."""
    server = itkgw_factory(two_vhosts(docroots), process_model="pool")
    assert server.request("bob.test", "/whoami.cgi").status == 200
    for victim in ("worker", "manager"):
        outcome: list[object] = []
        thread = threading.Thread(target=_request_into, args=(server, "/slow.cgi?3", outcome))
        thread.start()
        deadline = time.monotonic() + 5
        # CGI scripts run in a session of their own; the one of the last round may still run,
        # orphaned (its worker was killed): the script wanted is the one whose worker lives.
        alice = test_users.alice.pw_uid
        while not (workers := [parent for parent in map(_parent, _scripts_of(alice, "slow.cgi"))
                               if parent in _pool_workers(server, alice)]):
            assert time.monotonic() < deadline, "the slow script never started"
            time.sleep(0.02)
        os.kill(workers[0] if victim == "worker" else _parent(workers[0]), signal.SIGKILL)
        thread.join(timeout=15)
        assert outcome and outcome[0] != 200, victim
        for host, user in (("alice.test", test_users.alice), ("bob.test", test_users.bob)):
            status, _, body = server.request(host, "/whoami.cgi")
            assert status == 200, (victim, body)
            assert Whoami.parse(body.decode()) == Whoami.of(user)
    assert "pool manager pid" in server.error_log_text()
    # A script whose worker was killed runs to its end, as mod_cgi's when an httpd child dies.
    deadline = time.monotonic() + 5
    while _scripts_of(test_users.alice.pw_uid, "slow.cgi") and time.monotonic() < deadline:
        time.sleep(0.1)


@pytest.mark.parametrize("model", ["itk", "pool"])
def test_process_model_from_the_command_line(start, docroots, test_users: Users, model: str) -> None:
    """--process-model wins over the file's ProcessModel."""
    alice = docroots[ALICE]

    def files(server):
        return {"itkgw.conf": f"""
Listen 127.0.0.1:{server.port}
PidFile {server.workdir}/itkgw.pid
ErrorLog {server.error_log}
User {test_users.www.pw_name}
Group {test_users.www.pw_name}
ServerName localhost
ProcessModel {"pool" if model == "itk" else "itk"}
<VirtualHost 127.0.0.1:{server.port}>
    ServerName alice.test
    DocumentRoot {alice.htdocs}
    AssignUserID {ALICE} {ALICE}
</VirtualHost>
"""}

    server = start(files, main="itkgw.conf", args=(f"--process-model={model}",))
    assert server.request("alice.test", "/secret.txt").status == 200
    # In the pool model, workers of alice outlive the request (a pool); in itk, none stays.
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and _pool_workers(server, test_users.alice.pw_uid) and model == "itk":
        time.sleep(0.05)
    assert bool(_pool_workers(server, test_users.alice.pw_uid)) == (model == "pool")


def test_dash_s_shows_the_model_and_the_running_pools(itkgw_factory, docroots, test_users: Users) -> None:
    server = itkgw_factory(two_vhosts(docroots), process_model="pool", pool_max_workers=3)
    assert server.request("alice.test", "/whoami.cgi").status == 200
    workers = _pool_workers(server, test_users.alice.pw_uid)

    def shown() -> str:
        done = subprocess.run([sys.executable, "-m", "itkgw", "-f", str(server.config_path), "-S"],
                              capture_output=True, text=True, timeout=30, check=True)
        return done.stdout

    deadline = time.monotonic() + 5
    while f"\t{workers[0]}\t" not in shown() and time.monotonic() < deadline:
        time.sleep(0.1)
    lines = shown().splitlines()
    assert "ProcessModel: pool (PoolMaxWorkers 3, PoolMinWorkers 0, PoolIdleTimeout 30)" in lines
    pools = lines[lines.index("Pools:") + 1:]
    assert pools[0] == "pool\tpid\tstate\tconnections\tidle_s"
    alice = [line.split("\t") for line in pools if line.startswith(f"{ALICE}:{ALICE} ")]
    assert [(int(fields[1]), fields[2], fields[3]) for fields in alice] == [(workers[0], "ready", "1")]
    # Stopped, the server leaves neither the table nor the socket fronts passed connections to.
    sockets = set(Path(DEFAULT_IPC_DIR).glob(f"pools-{server.pid}-*.sock"))
    assert sockets
    server.stop()
    assert not [path for path in sockets if path.exists()]
    assert "Pools:" not in shown()


def test_a_pool_stays_within_its_size_and_ends_when_idle(itkgw_factory, docroots, test_users: Users) -> None:
    """PoolMaxWorkers 2: four slow requests at once are all served, by two workers at most
    (the others wait for one); PoolIdleTimeout 1: the idle pool then ends, and the next
    request starts it again."""
    server = itkgw_factory(two_vhosts(docroots), process_model="pool", pool_max_workers=2,
                           pool_idle_timeout=1)
    alice = test_users.alice.pw_uid
    answers: list[int] = []
    seen: set[int] = set()

    def slow() -> None:
        answers.append(server.request("alice.test", "/slow.cgi?1").status)

    threads = [threading.Thread(target=slow) for _ in range(4)]
    for thread in threads:
        thread.start()
    most = 0
    while any(thread.is_alive() for thread in threads):
        # The CGI scripts run as alice too: count the workers, the children of the manager.
        workers = [pid for pid in _pool_workers(server, alice) if "slow.cgi" not in _cmdline(pid)]
        most = max(most, len(workers))
        seen.update(workers)
        time.sleep(0.02)
    assert answers == [200] * 4
    assert 1 <= most <= 2, seen
    deadline = time.monotonic() + 10
    while [pid for pid in _pool_workers(server, alice) if pid in seen] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in _pool_workers(server, alice) if pid in seen]
    assert server.request("alice.test", "/whoami.cgi").status == 200


def _request_into(server: Itkgw, path: str, outcome: list[object]) -> None:
    try:
        outcome.append(server.request("alice.test", path).status)
    except (OSError, http.client.HTTPException) as exc:
        outcome.append(exc)


def _parent(pid: int) -> int:
    try:
        return int(_status(pid)["PPid"])
    except FileNotFoundError:
        return 0


def _scripts_of(uid: int, name: str) -> list[int]:
    return [proc.pid for proc in processes() if uid in proc.uids and name in proc.cmdline]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def test_new_connections_to_both_identities_at_once_reach_their_own_pools(itkgw_factory, docroots) -> None:
    """Cold pools, eight clients at once, each request on a new connection to alternating vhosts:
    every answer from the right site, and no connection refused by a pool as not its own."""
    server = itkgw_factory(two_vhosts(docroots), process_model="pool", log_level="debug")
    wrong: list[tuple[str, bytes]] = []

    def client(offset: int) -> None:
        for turn in range(30):
            host = ("alice.test", "bob.test")[(turn + offset) % 2]
            try:
                status, _, body = server.request(host, "/index.html", headers={"Connection": "close"})
            except (OSError, http.client.HTTPException) as exc:
                wrong.append((host, repr(exc).encode()))
                continue
            if status != 200 or body != f"<h1>itkt-{host.split('.')[0]}</h1>\n".encode():
                wrong.append((host, body))

    threads = [threading.Thread(target=client, args=(offset,)) for offset in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not wrong, wrong[:3]
    assert "refused, not served" not in server.error_log_text()


def _rule(pattern: str, substitution: str, flag: str) -> dict[str, object]:
    return {"pattern": pattern, "substitution": substitution, "flags": [flag], "conditions": []}


def test_a_vhost_of_one_identity_answers_its_redirects_rewrites_and_refusals_as_before(
        itkgw_factory, docroots, test_users: Users) -> None:
    """A front passes a vhost of one identity on without running its rules: the pool's worker
    runs them, and the answers are those a front gave (Redirect, RewriteRule R= and F, Require)."""
    alice = docroots[ALICE]
    vhost = vhost_for(alice, "alice.test", redirects=[{"url_path": "/old", "target": "http://alice.test/new"}],
                      rewrite_engine=True,
                      rewrite_rules=[_rule("^/moved$", "/whoami.cgi", "R=301"),
                                     _rule("^/forbidden$", "-", "F")],
                      directory=[{"path": str(alice.htdocs / "private"), "require": ["all denied"]}])
    server = itkgw_factory([vhost], process_model="pool")
    status, headers, _ = server.request("alice.test", "/old/page?x=1")
    assert (status, headers["Location"]) == (302, "http://alice.test/new/page?x=1")
    status, headers, _ = server.request("alice.test", "/moved")
    assert (status, headers["Location"]) == (301, "http://alice.test/whoami.cgi")
    assert server.request("alice.test", "/forbidden").status == 403
    assert server.request("alice.test", "/private/x.txt").status == 403
    status, _, body = server.request("alice.test", "/whoami.cgi")
    assert status == 200 and Whoami.parse(body.decode()) == Whoami.of(test_users.alice)
    assert "client denied by server configuration" in server.error_log_text()


def test_a_vhost_assigned_the_fronts_own_user_gets_500_in_the_pool_model(itkgw_factory, docroots,
                                                                        test_users: Users) -> None:
    """The itk model serves it as User with a warning from -t; a pool of User's could trace the
    fronts, so the pool model refuses it, with a 500 and the reason in the log."""
    www = test_users.www.pw_name
    server = itkgw_factory([vhost_for(docroots[ALICE], "alice.test", assign_user_id=[www, www])],
                           process_model="pool")
    status, _, body = server.request("alice.test", "/secret.txt")
    assert status == 500
    assert docroots[ALICE].secret.encode() not in body
    assert "never runs a pool as root or as User" in server.error_log_text()


def test_a_connection_no_worker_takes_within_timeout_gets_503(itkgw_factory, docroots) -> None:
    """PoolMaxWorkers 1, its worker busy with a slow script: the next connection of that
    identity waits Timeout (2 s) for it, then gets the pool manager's 503; another identity's
    pool serves meanwhile, the slow request is answered, and so is the next one."""
    vhosts = [vhost_for(docroots[ALICE], "alice.test", cgi_script_timeout=10),
              vhost_for(docroots[BOB], "bob.test")]
    server = itkgw_factory(vhosts, process_model="pool", pool_max_workers=1, timeout=2)
    slow: list[object] = []
    thread = threading.Thread(target=_request_into, args=(server, "/slow.cgi?5", slow))
    thread.start()
    try:
        _wait_for_script(ALICE, "slow.cgi")
        asked = time.monotonic()
        status, _, body = server.request("alice.test", "/secret.txt")
        waited = time.monotonic() - asked
        assert status == 503, body
        assert b"busy" in body and docroots[ALICE].secret.encode() not in body
        assert waited >= 2.0, f"answered after {waited:.1f} s, before Timeout"
        assert server.request("bob.test", "/secret.txt").status == 200
    finally:
        thread.join(timeout=15)
    assert slow == [200]
    assert server.request("alice.test", "/secret.txt").status == 200
    assert "no worker of itkt-alice" in server.error_log_text()


def test_a_front_waits_for_the_pool_manager_being_restarted(itkgw_factory, docroots,
                                                            test_users: Users) -> None:
    """kill -9 of the pool manager while the master is stopped (it cannot start another yet):
    a request meanwhile is not lost, its front waits for the manager the master starts once
    let go, and no other process kept the dead manager's socket accepting."""
    server = itkgw_factory(two_vhosts(docroots), process_model="pool")
    assert server.request("alice.test", "/secret.txt").status == 200
    manager = _parent(_pool_workers(server, test_users.alice.pw_uid)[0])
    os.kill(server.pid, signal.SIGSTOP)
    resume = threading.Timer(0.5, os.kill, (server.pid, signal.SIGCONT))
    try:
        os.kill(manager, signal.SIGKILL)
        while any(proc.pid == manager for proc in processes()):  # dead, its sockets closed
            time.sleep(0.001)
        resume.start()
        for host, user in (("bob.test", BOB), ("alice.test", ALICE)):
            status, _, body = server.request(host, "/secret.txt")
            assert (status, body.decode().strip()) == (200, docroots[user].secret)
    finally:
        resume.cancel()
        os.kill(server.pid, signal.SIGCONT)
    assert "pool manager pid" in server.error_log_text()


def _wait_for_script(user: str, name: str) -> None:
    uid = pwd.getpwnam(user).pw_uid
    deadline = time.monotonic() + 5
    while not _scripts_of(uid, name):
        assert time.monotonic() < deadline, f"{name} never started"
        time.sleep(0.02)


@pytest.mark.parametrize("signum", [signal.SIGWINCH, signal.SIGUSR1],
                         ids=["graceful-stop", "graceful-restart"])
def test_a_graceful_stop_or_restart_reaching_a_stalled_manager_loses_no_request(
        itkgw_factory, docroots, test_users: Users, signum: signal.Signals) -> None:
    """The pool manager gets the master's two signals of a graceful stop or restart (finish,
    then end once drained) while it does not run (stopped here, as a busy machine may leave it):
    handled in either order, the request its worker is serving still gets its answer."""
    server = itkgw_factory(two_vhosts(docroots), process_model="pool")
    assert server.request("alice.test", "/secret.txt").status == 200
    outcome: list[object] = []
    thread = threading.Thread(target=_request_into, args=(server, "/slow.cgi?4", outcome))
    thread.start()
    _wait_for_script(ALICE, "slow.cgi")
    alice = test_users.alice.pw_uid
    worker = next(parent for parent in map(_parent, _scripts_of(alice, "slow.cgi"))
                  if parent in _pool_workers(server, alice))
    manager = _parent(worker)
    assert manager > 1 and manager != server.pid
    os.kill(manager, signal.SIGSTOP)
    try:
        server.signal(signum)
        # Both pending, neither handled: within a few tenths of a second here; the wait stays
        # below the 5 s after which the master replaces a manager that does not beat, and
        # within the script's 4 s, which must still be running when the manager goes on.
        deadline = time.monotonic() + 3
        while bin(int(_status(manager)["ShdPnd"], 16)).count("1") < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        os.kill(manager, signal.SIGCONT)
    thread.join(timeout=15)
    assert outcome == [200]
    if signum == signal.SIGWINCH:
        assert server.wait_exit() == 0
    else:
        assert server.request("alice.test", "/secret.txt").status == 200


# The pid of the process that ran the script: the pool worker serving its connection.
PARENT_CGI = """#!/bin/sh
printf 'Content-Type: text/plain\\n\\n%s\\n' "$PPID"
"""


def _kept_connections(server: Itkgw, count: int) -> list[http.client.HTTPConnection]:
    connections = [http.client.HTTPConnection("127.0.0.1", server.port, timeout=10) for _ in range(count)]
    for connection in connections:
        connection.connect()
    return connections


def _ask(connection: http.client.HTTPConnection, path: str) -> tuple[int, bytes]:
    """One request on a kept connection: its status and body."""
    sock = connection.sock
    connection.request("GET", path, headers={"Host": "alice.test"})
    response = connection.getresponse()
    body = response.read()
    assert connection.sock is sock  # the same connection, kept: http.client would reconnect silently
    return response.status, body


def _worker_of(connection: http.client.HTTPConnection) -> int:
    """Which worker serves a kept connection: the parent of the script it runs."""
    status, body = _ask(connection, "/parent.cgi")
    assert status == 200, body
    return int(body)


def _with_parent_script(docroots: dict[str, Site]) -> None:
    site = docroots[ALICE]
    script = site.htdocs / "parent.cgi"
    script.write_text(PARENT_CGI)
    os.chown(script, site.user.pw_uid, site.user.pw_gid)
    script.chmod(0o750)


def test_one_worker_serves_several_keep_alive_connections_in_turn(itkgw_factory, docroots) -> None:
    """PoolMaxWorkers 1, three clients keeping their connections: the one worker parks each
    between its requests and answers them all in turn (one connection per worker would leave
    the second waiting until the first closed)."""
    _with_parent_script(docroots)
    server = itkgw_factory(two_vhosts(docroots), process_model="pool", pool_max_workers=1)
    connections = _kept_connections(server, 3)
    try:
        workers = {_worker_of(connection) for _ in range(3) for connection in connections}
    finally:
        for connection in connections:
            connection.close()
    assert len(workers) == 1


def test_a_long_request_does_not_hold_the_connections_parked_beside_it(itkgw_factory, docroots) -> None:
    """Two kept connections parked in one worker; one runs a 3-second script: the other's next
    request is answered by another worker of the pool meanwhile, not after the script."""
    _with_parent_script(docroots)
    server = itkgw_factory(two_vhosts(docroots), process_model="pool", pool_max_workers=2)
    connections = _kept_connections(server, 3)
    try:
        served_by = [_worker_of(connection) for connection in connections]
        # Two workers at most for three connections: two of them share one.
        pair = next((a, b) for a in range(3) for b in range(a + 1, 3) if served_by[a] == served_by[b])
        slow, other = connections[pair[0]], connections[pair[1]]
        slow_answer: list[tuple[int, bytes]] = []
        thread = threading.Thread(target=lambda: slow_answer.append(_ask(slow, "/slow.cgi?3")), daemon=True)
        started = time.monotonic()
        thread.start()
        time.sleep(0.3)
        worker = _worker_of(other)
        answered = time.monotonic() - started
        thread.join(10)
    finally:
        for connection in connections:
            connection.close()
    assert answered < 2.5, f"the parked connection waited {answered:.1f} s for the slow request"
    assert slow_answer == [(200, b"ok\n")]
    assert worker != served_by[pair[0]]


def test_a_parked_connection_closes_after_keepalivetimeout(itkgw_factory, docroots) -> None:
    """KeepAliveTimeout 1 holds for a parked connection: a request after half a second is
    served on it, then the server closes it once it has been idle for the timeout."""
    server = itkgw_factory(two_vhosts(docroots), process_model="pool", keep_alive_timeout=1)
    connection = _kept_connections(server, 1)[0]
    try:
        for _ in range(2):
            connection.request("GET", "/whoami.cgi", headers={"Host": "alice.test"})
            assert connection.getresponse().read()
            time.sleep(0.5)
        assert connection.sock is not None
        connection.sock.settimeout(5)
        started = time.monotonic()
        assert connection.sock.recv(1) == b""  # closed by the server
        assert time.monotonic() - started < 3
    finally:
        connection.close()


def test_a_graceful_restart_closes_parked_connections_and_serves_on(itkgw_factory, docroots) -> None:
    """A graceful restart closes keep-alive connections parked between requests, as httpd closes
    its idle ones; the next connection is served by the new generation."""
    server = itkgw_factory(two_vhosts(docroots), process_model="pool")
    connection = _kept_connections(server, 1)[0]
    try:
        connection.request("GET", "/whoami.cgi", headers={"Host": "alice.test"})
        assert connection.getresponse().read()
        server.signal(signal.SIGUSR1)
        assert connection.sock is not None
        connection.sock.settimeout(10)
        assert connection.sock.recv(1) == b""
    finally:
        connection.close()
    assert server.request("alice.test", "/whoami.cgi").status == 200
