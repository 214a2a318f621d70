"""Each vhost's requests run as that vhost's user: the mpm-itk promise, end to end."""

from __future__ import annotations

import http.client
import os
import re
import shutil
from pathlib import Path

import pytest

from tests.e2e.itkgw_proc import vhost_for
from tests.sites import ALICE, BOB, Site, Users, Whoami, run_as


def two_vhosts(docroots: dict[str, Site], **alice_settings: object) -> list[dict[str, object]]:
    return [vhost_for(docroots[ALICE], "alice.test", **alice_settings),
            vhost_for(docroots[BOB], "bob.test")]


@pytest.mark.parametrize("mode", ["prefork", "single"])
@pytest.mark.parametrize("script", ["whoami.php", "whoami.cgi", "cgi-bin/whoami.cgi"])
def test_each_vhost_runs_as_its_own_user(itkgw_factory, docroots, test_users: Users,
                                         mode: str, script: str) -> None:
    """The seed's basic test: the same script prints each vhost's own identity."""
    server = itkgw_factory(two_vhosts(docroots), single_process=(mode == "single"))
    for host, user in (("alice.test", test_users.alice), ("bob.test", test_users.bob)):
        status, _, body = server.request(host, "/" + script)
        assert status == 200, body
        assert Whoami.parse(body.decode()) == Whoami.of(user)


def test_unknown_host_gets_the_first_vhost(itkgw_factory, docroots, test_users: Users) -> None:
    server = itkgw_factory(two_vhosts(docroots))
    status, _, body = server.request("nobody.test", "/whoami.cgi")
    assert status == 200
    assert Whoami.parse(body.decode()) == Whoami.of(test_users.alice)


def test_bob_cannot_read_alices_private_file(itkgw_factory, docroots) -> None:
    alice, bob = docroots[ALICE], docroots[BOB]
    link = bob.htdocs / "stolen.txt"
    link.symlink_to(alice.htdocs / "secret.txt")
    reader = bob.htdocs / "steal.cgi"
    reader.write_text("#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\n"
                      f"cat {alice.htdocs}/secret.txt 2>&1\n")
    os.chown(reader, bob.user.pw_uid, bob.user.pw_gid)
    reader.chmod(0o750)
    try:
        server = itkgw_factory(two_vhosts(docroots))
        assert server.request("alice.test", "/secret.txt").body.decode().strip() == alice.secret
        status, _, body = server.request("bob.test", "/stolen.txt")
        assert status in (403, 404)
        assert alice.secret.encode() not in body
        status, _, body = server.request("bob.test", "/steal.cgi")
        assert alice.secret.encode() not in body
        assert b"Permission denied" in body
    finally:
        link.unlink()
        reader.unlink()


def test_scripts_have_no_capabilities_and_cannot_become_root(itkgw_factory, docroots) -> None:
    alice = docroots[ALICE]
    script = alice.htdocs / "setuid.cgi"
    script.write_text(
        "#!/usr/bin/python3 -S\nimport os\nprint('Content-Type: text/plain\\n')\n"
        "for call in (lambda: os.setuid(0), lambda: os.setresuid(0, 0, 0), lambda: os.setgid(0)):\n"
        "    try:\n        call()\n        print('became root')\n"
        "    except OSError as exc:\n        print('refused', exc.errno)\n"
        "print('fds', sorted(os.listdir('/proc/self/fd')))\n")
    os.chown(script, alice.user.pw_uid, alice.user.pw_gid)
    script.chmod(0o750)
    try:
        server = itkgw_factory(two_vhosts(docroots))
        status, _, body = server.request("alice.test", "/caps.cgi")
        assert status == 200
        caps = dict(line.split(":\t") for line in body.decode().splitlines())
        for name in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
            assert int(caps[name], 16) == 0, caps
        status, _, body = server.request("alice.test", "/setuid.cgi")
        text = body.decode()
        assert "became root" not in text
        assert text.count("refused 1") == 3, text  # EPERM
        # Only stdin, stdout, stderr, and the descriptor listdir itself opened.
        fds = re.search(r"fds \[(.*)\]", text)
        assert fds is not None and fds.group(1) == "'0', '1', '2', '3'", text
    finally:
        script.unlink()


@pytest.mark.parametrize("model", ["itk"])
def test_keep_alive_request_for_another_identity_closes_the_connection(itkgw_factory, docroots,
                                                                       test_users: Users, model: str) -> None:
    """mpm-itk's rule, kept by the itk model (the pool model hands the connection on instead:
    test_pool_model.py)."""
    server = itkgw_factory(two_vhosts(docroots), process_model=model)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        for _ in range(2):  # the same identity twice: served on one connection
            connection.request("GET", "/whoami.cgi", headers={"Host": "alice.test"})
            response = connection.getresponse()
            assert Whoami.parse(response.read().decode()) == Whoami.of(test_users.alice)
        first_socket = connection.sock
        assert first_socket is not None
        connection.request("GET", "/whoami.cgi", headers={"Host": "bob.test"})
        with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
            connection.getresponse()
    finally:
        connection.close()
    status, _, body = server.request("bob.test", "/whoami.cgi")
    assert Whoami.parse(body.decode()) == Whoami.of(test_users.bob)


def test_directory_section_assigns_another_user(itkgw_factory, docroots, test_users: Users) -> None:
    """<Directory>-level AssignUserID: a shared tree where one subdirectory is bob's."""
    base = Path(f"/srv/itkgw-test-shared-{os.getpid()}")
    (base / "bob").mkdir(parents=True)
    base.chmod(0o755)
    shutil.copy(docroots[BOB].htdocs / "whoami.cgi", base / "bob" / "whoami.cgi")
    shutil.copy(docroots[ALICE].htdocs / "whoami.cgi", base / "whoami.cgi")
    for path in (base / "bob", base / "bob" / "whoami.cgi"):
        os.chown(path, test_users.bob.pw_uid, test_users.bob.pw_gid)
    os.chown(base / "whoami.cgi", test_users.alice.pw_uid, test_users.alice.pw_gid)
    (base / "bob").chmod(0o750)
    try:
        vhost = {"server_name": "shared.test", "document_root": str(base),
                 "assign_user_id": [ALICE, ALICE],
                 "directory": [{"path": str(base / "bob"), "assign_user_id": [BOB, BOB], "nice_value": 7}]}
        server = itkgw_factory([vhost])
        _, _, body = server.request("shared.test", "/whoami.cgi")
        assert Whoami.parse(body.decode()) == Whoami.of(test_users.alice)
        _, _, body = server.request("shared.test", "/bob/whoami.cgi")
        assert Whoami.parse(body.decode()) == Whoami.of(test_users.bob)
    finally:
        shutil.rmtree(base)


def test_nice_value_applies_to_scripts(itkgw_factory, docroots) -> None:
    alice = docroots[ALICE]
    script = alice.htdocs / "nice.cgi"
    script.write_text("#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\n"
                      "read -r line < /proc/self/stat\nset -- ${line##*) }\nshift 16\necho \"nice=$1\"\n")
    os.chown(script, alice.user.pw_uid, alice.user.pw_gid)
    script.chmod(0o750)
    try:
        server = itkgw_factory(two_vhosts(docroots, nice_value=5))
        _, _, body = server.request("alice.test", "/nice.cgi")
        assert body.decode().strip() == "nice=5"
        _, _, body = server.request("bob.test", "/whoami.cgi")
        assert Whoami.parse(body.decode()).uid == docroots[BOB].user.pw_uid
    finally:
        script.unlink()


def test_identity_outside_limit_uid_range_gets_500(itkgw_factory, docroots, test_users: Users) -> None:
    # Only the workers' own uid is allowed: enough to boot, not enough for alice.
    low = high = test_users.www.pw_uid
    server = itkgw_factory(two_vhosts(docroots), limit_uid_range=[low, high])
    status, _, body = server.request("alice.test", "/whoami.cgi")
    assert status == 500
    assert b"uid=" not in body
    assert f"outside LimitUIDRange {low}-{high}" in server.error_log_text()


def test_workers_outside_limit_uid_range_are_a_config_error(itkgw_factory, docroots,
                                                             test_users: Users) -> None:
    """Workers that could never boot are refused before anything starts."""
    www = test_users.www.pw_uid
    with pytest.raises(RuntimeError) as failed:
        itkgw_factory(two_vhosts(docroots), limit_uid_range=[www + 1, www + 2])
    message = str(failed.value)
    assert f"the workers' own identity itkt-www ({www}) is outside limit_uid_range" in message
    assert "exited with 1" in message


def test_run_as_helper_sees_the_same_files(docroots, test_users: Users) -> None:
    """The fixtures' permissions are what the isolation tests rely on."""
    result = run_as(test_users.bob, ["cat", docroots[ALICE].htdocs / "secret.txt"])
    assert result.returncode != 0


@pytest.mark.parametrize("model", ["itk", "pool"])
def test_eacces_on_a_later_keep_alive_request_closes_the_connection(itkgw_factory, docroots,
                                                                    model: str) -> None:
    """mpm-itk: not a 403 the client might cache, a close it retries after (on a new
    connection, which a process not yet switched serves). A pool has no other process to
    retry in: there the answer is the 403 at once."""
    alice = docroots[ALICE]
    private = alice.htdocs / "root-only.txt"
    private.write_text("root only\n")
    private.chmod(0o600)  # owned by root: alice cannot open it
    try:
        server = itkgw_factory(two_vhosts(docroots), process_model=model)
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            connection.request("GET", "/index.html", headers={"Host": "alice.test"})
            assert connection.getresponse().read() == b"<h1>itkt-alice</h1>\n"
            connection.request("GET", "/root-only.txt", headers={"Host": "alice.test"})
            if model == "itk":
                with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
                    connection.getresponse()
            else:
                response = connection.getresponse()
                assert (response.status, b"root only" in response.read()) == (403, False)
        finally:
            connection.close()
        status, _, body = server.request("alice.test", "/root-only.txt")
        assert status == 403
        assert b"root only" not in body
    finally:
        private.unlink()


def test_vhosts_are_chosen_by_local_port_before_host(itkgw_factory, docroots, test_users: Users) -> None:
    def vhosts(ports: tuple[int, ...]) -> list[dict[str, object]]:
        return [vhost_for(docroots[ALICE], "alice.test", listen=[f"127.0.0.1:{ports[0]}"]),
                vhost_for(docroots[BOB], "bob.test", listen=[f"127.0.0.1:{ports[1]}"])]

    server = itkgw_factory(vhosts, listen_count=2)
    first, second = server.ports
    _, _, body = server.request("alice.test", "/whoami.cgi", port=second)
    assert Whoami.parse(body.decode()) == Whoami.of(test_users.bob)
    _, _, body = server.request("bob.test", "/whoami.cgi", port=first)
    assert Whoami.parse(body.decode()) == Whoami.of(test_users.alice)


def test_one_vhost_cannot_signal_or_inspect_anothers_processes(itkgw_factory, docroots) -> None:
    import threading
    import time

    alice = docroots[ALICE]
    probe = alice.htdocs / "probe.cgi"
    probe.write_text("#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\n"
                     "pid=$(pgrep -f 'sleep 3' | head -n 1)\necho \"pid=$pid\"\n"
                     "kill -TERM \"$pid\" 2>&1 || echo kill-refused\n"
                     "cat /proc/$pid/environ >/dev/null 2>&1 || echo environ-refused\n")
    os.chown(probe, alice.user.pw_uid, alice.user.pw_gid)
    probe.chmod(0o750)
    try:
        server = itkgw_factory(two_vhosts(docroots))
        slow_status: list[int] = []
        slow = threading.Thread(
            target=lambda: slow_status.append(server.request("bob.test", "/slow.cgi?3").status))
        slow.start()
        time.sleep(0.7)  # bob's slow.cgi is sleeping now
        _, _, body = server.request("alice.test", "/probe.cgi")
        text = body.decode()
        assert re.search(r"pid=\d+", text), text
        assert "kill-refused" in text and "environ-refused" in text
        slow.join(timeout=10)
        assert slow_status == [200]  # bob's request was not disturbed
    finally:
        probe.unlink()
