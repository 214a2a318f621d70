"""The e2e fixtures themselves: users, docroots and scripts, without a server."""

from __future__ import annotations

import signal
import socket
import stat
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.itkgw_proc import Itkgw, free_port, processes, reap_leftovers, vhost_for
from tests.sites import ALICE, BOB, NOLOGIN, WWW, Site, Users, Whoami, run_as

PHP_CGI = "/usr/bin/php-cgi"


def test_users_are_distinct_system_users_without_login(test_users: Users) -> None:
    users = test_users.all()
    assert [user.pw_name for user in users] == [ALICE, BOB, WWW]
    assert len({user.pw_uid for user in users}) == 3
    assert len({user.pw_gid for user in users}) == 3
    assert all(user.pw_uid != 0 and user.pw_gid != 0 for user in users)
    assert all(user.pw_shell == NOLOGIN for user in users)


def test_docroots_belong_to_their_users(docroots: dict[str, Site]) -> None:
    base = docroots[ALICE].root.parent
    assert stat.S_IMODE(base.stat().st_mode) == 0o755
    for site in docroots.values():
        for directory in (site.root, site.htdocs, site.cgi_bin):
            info = directory.stat()
            assert (info.st_uid, info.st_gid) == (site.user.pw_uid, site.user.pw_gid)
            assert stat.S_IMODE(info.st_mode) == 0o750
        assert stat.S_IMODE((site.htdocs / "secret.txt").stat().st_mode) == 0o600
        assert stat.S_IMODE((site.htdocs / "whoami.cgi").stat().st_mode) == 0o750


def test_a_user_reads_its_own_secret(docroots: dict[str, Site]) -> None:
    alice = docroots[ALICE]
    result = run_as(alice.user, ["cat", alice.htdocs / "secret.txt"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == alice.secret


@pytest.mark.parametrize("intruder", [BOB, WWW])
def test_other_users_cannot_read_alices_tree(docroots: dict[str, Site], intruder: str) -> None:
    alice = docroots[ALICE]
    for path in (alice.htdocs / "secret.txt", alice.htdocs / "index.html"):
        result = run_as(docroots[intruder].user, ["cat", path])
        assert result.returncode != 0
        assert "Permission denied" in result.stderr
        assert alice.secret not in result.stdout


@pytest.mark.parametrize("name", [ALICE, BOB])
@pytest.mark.parametrize("script", ["htdocs/whoami.cgi", "cgi-bin/whoami.cgi"])
def test_whoami_cgi_prints_the_identity_it_runs_as(docroots: dict[str, Site], name: str, script: str) -> None:
    site = docroots[name]
    result = run_as(site.user, [site.root / script])
    assert result.returncode == 0, result.stderr
    head, _, body = result.stdout.partition("\n\n")
    assert head == "Content-Type: text/plain"
    assert Whoami.parse(body) == Whoami.of(site.user)


@pytest.mark.parametrize("name", [ALICE, BOB])
def test_whoami_php_prints_the_identity_it_runs_as(docroots: dict[str, Site], name: str) -> None:
    site = docroots[name]
    script = site.htdocs / "whoami.php"
    env = {"PATH": "/usr/bin:/bin", "REDIRECT_STATUS": "200", "GATEWAY_INTERFACE": "CGI/1.1",
           "REQUEST_METHOD": "GET", "SCRIPT_FILENAME": str(script)}
    result = run_as(site.user, [PHP_CGI], env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.lower().startswith("content-type: text/plain")
    assert Whoami.parse(result.stdout) == Whoami.of(site.user)


def test_caps_cgi_shows_no_capabilities_for_a_plain_user(docroots: dict[str, Site]) -> None:
    site = docroots[ALICE]
    result = run_as(site.user, [site.htdocs / "caps.cgi"])
    assert result.returncode == 0, result.stderr
    caps = dict(line.split(":\t") for line in result.stdout.partition("\n\n")[2].splitlines())
    assert {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} <= caps.keys()
    assert caps["CapEff"] == caps["CapPrm"] == "0000000000000000"


def test_slow_cgi_answers_ok_after_its_delay(docroots: dict[str, Site]) -> None:
    site = docroots[ALICE]
    env = {"PATH": "/usr/bin:/bin", "QUERY_STRING": "0"}
    result = run_as(site.user, [site.htdocs / "slow.cgi"], env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Content-Type: text/plain\n\nok\n"


def test_itkgw_config_is_written_as_toml(tmp_path: Path, docroots: dict[str, Site]) -> None:
    alice = docroots[ALICE]
    vhost = vhost_for(alice, "alice.test", server_alias=("www.alice.test",), document_root=alice.htdocs)
    server = Itkgw(tmp_path, [vhost], user=WWW, listen_count=2, timeout=3)
    config = tomllib.loads(server.write_config().read_text())
    assert config["user"] == config["group"] == WWW
    assert config["listen"] == [f"127.0.0.1:{port}" for port in server.ports]
    assert len(set(server.ports)) == 2
    assert config["timeout"] == 3
    [vhost] = config["vhost"]
    assert vhost["document_root"] == str(alice.htdocs)
    assert vhost["server_alias"] == ["www.alice.test"]
    assert vhost["assign_user_id"] == [ALICE, ALICE]
    assert vhost["script_alias"] == {"/cgi-bin/": f"{alice.cgi_bin}/"}
    assert server.access_log_path("alice.test") == tmp_path / "alice.test.access.log"
    argv = server.argv()
    assert argv[argv.index("-f") + 2:][:2] == ["-D", "FOREGROUND"]


def test_itkgw_vhosts_can_name_the_ports_picked(tmp_path: Path, docroots: dict[str, Site]) -> None:
    alice, bob = docroots[ALICE], docroots[BOB]

    def vhosts(ports: tuple[int, ...]) -> list[dict[str, object]]:
        return [vhost_for(alice, "a.test", listen=[f"127.0.0.1:{ports[0]}"]),
                vhost_for(bob, "b.test", listen=[f"127.0.0.1:{ports[1]}"])]

    server = Itkgw(tmp_path, vhosts, user=WWW, listen_count=2, single_process=True)
    config = tomllib.loads(server.write_config().read_text())
    assert [v["listen"] for v in config["vhost"]] == [[f"127.0.0.1:{port}"] for port in server.ports]
    assert "-X" in server.argv()


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.create_server(("127.0.0.1", port)):
        pass


class StandIn(Itkgw):
    """Runs ``command`` (with ``{port}`` filled in) in itkgw's place, to test the harness."""

    def __init__(self, workdir: Path, command: str, **kwargs: Any) -> None:
        super().__init__(workdir, [], user=WWW, **kwargs)
        self.command = command

    def argv(self) -> list[str]:
        return ["/bin/sh", "-c", self.command.format(port=self.port, python=sys.executable)]


HTTP_SERVER = "exec {python} -m http.server --bind 127.0.0.1 {port}"


def test_harness_starts_requests_and_stops_a_server(tmp_path: Path) -> None:
    server = StandIn(tmp_path, HTTP_SERVER).start()
    status, headers, body = server.request("alice.test", "/pyproject.toml")
    assert status == 200
    assert headers["Content-Length"] == str(len(body))
    assert b'name = "itkgw"' in body
    server.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1)


def test_harness_reports_a_server_that_does_not_start(tmp_path: Path) -> None:
    server = StandIn(tmp_path, "echo 'no such vhost file' >&2; exit 3")
    with pytest.raises(RuntimeError, match="exited with 3") as failure:
        server.start()
    assert "no such vhost file" in str(failure.value)


def test_harness_kills_and_reports_processes_left_behind(tmp_path: Path) -> None:
    # A background job that ignores SIGTERM, as a stuck CGI script might.
    command = "(trap '' TERM; exec sleep 30) & " + HTTP_SERVER
    server = StandIn(tmp_path, command, stop_timeout=0.5).start()
    deadline = time.monotonic() + 10  # under load the job may not have become "sleep 30" yet
    while not any(proc.session == server.pid and proc.cmdline == "sleep 30" for proc in processes()):
        assert time.monotonic() < deadline, "the background job never started"
        time.sleep(0.02)
    with pytest.raises(AssertionError, match="sleep 30"):
        server.stop()
    assert not [proc for proc in processes() if proc.session == server.pid]


def test_leftovers_are_found_by_user_even_in_a_session_of_their_own(test_users: Users) -> None:
    alice = test_users.alice
    sleeper = subprocess.Popen(["sleep", "30"], user=alice.pw_uid, group=alice.pw_gid,
                               start_new_session=True)
    try:
        left = reap_leftovers(lambda proc: alice.pw_uid in proc.uids, time.monotonic() + 0.2)
        assert left == {sleeper.pid: "sleep 30"}
        assert sleeper.wait(timeout=5) == -signal.SIGKILL
    finally:
        sleeper.kill()
        sleeper.wait()
