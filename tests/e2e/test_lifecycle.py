"""Signals, reloads and dying processes: the server keeps serving through them."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import Put
from tests.e2e.itkgw_proc import Itkgw, vhost_for
from tests.sites import ALICE, BOB, Site, Users, Whoami


def two_vhosts(docroots: dict[str, Site]) -> list[dict[str, object]]:
    return [vhost_for(docroots[ALICE], "alice.test"), vhost_for(docroots[BOB], "bob.test")]


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(child) for child in text.split()]


def wait_for(condition, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def request_loop(server: Itkgw, count: int, results: list[int], host: str = "alice.test") -> None:
    for _ in range(count):
        try:
            results.append(server.request(host, "/index.html", timeout=10).status)
        except OSError as exc:
            results.append(-1)
            print("request failed:", exc)


def test_graceful_restart_under_load_loses_no_request(itkgw_factory, docroots) -> None:
    server = itkgw_factory(two_vhosts(docroots))
    results: list[int] = []
    loop = threading.Thread(target=request_loop, args=(server, 300, results))
    loop.start()
    for _ in range(3):
        time.sleep(0.3)
        server.signal(signal.SIGUSR1)
    loop.join(timeout=60)
    assert len(results) == 300
    assert results.count(200) == 300, {status: results.count(status) for status in set(results)}
    # The requests may all be answered before the last restart (the pool model serves them fast).
    wait_for(lambda: server.error_log_text().count("Doing graceful restart") == 3, what="three restarts")


def test_graceful_restart_lets_a_running_request_finish(itkgw_factory, docroots) -> None:
    server = itkgw_factory(two_vhosts(docroots))
    answer: list[object] = []
    slow = threading.Thread(target=lambda: answer.append(server.request("alice.test", "/slow.cgi?2")))
    slow.start()
    time.sleep(0.5)
    server.signal(signal.SIGUSR1)
    slow.join(timeout=15)
    assert answer and answer[0].status == 200 and answer[0].body == b"ok\n"  # type: ignore[attr-defined]
    assert server.request("bob.test", "/index.html").status == 200


def test_reload_with_a_broken_config_keeps_the_old_one(itkgw_factory, docroots, test_users: Users) -> None:
    server = itkgw_factory(two_vhosts(docroots))
    good = server.config_path.read_text()
    server.config_path.write_text(good + "\nthis is not toml\n")
    try:
        server.signal(signal.SIGUSR1)
        wait_for(lambda: "keeping the running configuration" in server.error_log_text(), what="reload error")
        assert str(server.config_path) in server.error_log_text()
        _, _, body = server.request("bob.test", "/whoami.cgi")
        assert Whoami.parse(body.decode()) == Whoami.of(test_users.bob)
    finally:
        server.config_path.write_text(good)


def test_graceful_restart_reads_the_new_config(itkgw_factory, docroots) -> None:
    server = itkgw_factory(two_vhosts(docroots))
    assert server.request("carol.test", "/index.html").body == b"<h1>itkt-alice</h1>\n"
    server.config["vhost"][1]["server_alias"] = ["carol.test"]
    server.write_config()
    server.signal(signal.SIGUSR1)
    wait_for(lambda: server.request("carol.test", "/index.html").body == b"<h1>itkt-bob</h1>\n",
             what="the new alias to take effect")


def slow_request_in_background(server: Itkgw, seconds: int, outcome: list[object]) -> threading.Thread:
    """alice's slow.cgi, running for ``seconds``; its status or error lands in ``outcome``."""

    def slow_request() -> None:
        try:
            outcome.append(server.request("alice.test", f"/slow.cgi?{seconds}").status)
        except OSError as exc:
            outcome.append(exc)

    slow = threading.Thread(target=slow_request)
    slow.start()
    return slow


@pytest.mark.parametrize("model", ["itk"])
def test_killing_a_busy_worker_leaves_the_server_serving(itkgw_factory, docroots, model: str) -> None:
    """The itk model's workers (the pool model's faults: test_pool_model.py)."""
    server = itkgw_factory(two_vhosts(docroots), process_model=model)
    outcome: list[object] = []
    slow = slow_request_in_background(server, 3, outcome)
    wait_for(lambda: any(children(worker) for worker in children(server.pid)), what="a busy worker")
    busy = next(worker for worker in children(server.pid) if children(worker))
    os.kill(busy, signal.SIGKILL)
    slow.join(timeout=15)
    assert outcome, "the request on the killed worker never ended"
    for _ in range(20):
        assert server.request("bob.test", "/index.html").status == 200
    wait_for(lambda: f"child pid {busy} exit signal SIGKILL" in server.error_log_text(), what="log line")
    assert busy not in children(server.pid)


@pytest.mark.parametrize("model", ["itk"])
def test_a_crashed_connection_child_is_logged_and_costs_its_connection_only(itkgw_factory, docroots,
                                                                               model: str) -> None:
    """A child that dies of a signal nobody sent it (SIGSEGV here) leaves its client a reset
    connection; its worker logs it, as httpd's parent logs a crashed child, and serves on."""
    server = itkgw_factory(two_vhosts(docroots), process_model=model)
    outcome: list[object] = []
    slow = slow_request_in_background(server, 1, outcome)
    wait_for(lambda: any(children(child) for worker in children(server.pid) for child in children(worker)),
             what="a connection child running the script")
    worker = next(worker for worker in children(server.pid) if children(worker))
    child = children(worker)[0]
    script = children(child)
    os.kill(child, signal.SIGSEGV)
    slow.join(timeout=15)
    assert outcome and isinstance(outcome[0], OSError)
    wait_for(lambda: f"connection child pid {child} exit signal SIGSEGV (11)" in server.error_log_text(),
             what="the crash's log line")
    # Before it died, the child wrote where it was (Python's faulthandler) to the same log.
    crash = server.error_log_text().split("Fatal Python error: Segmentation fault", 1)
    assert len(crash) == 2 and "most recent call first" in crash[1]
    for _ in range(5):
        assert server.request("bob.test", "/index.html").status == 200
    # As under httpd, the orphaned script runs to its end (its next write fails).
    wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in script), what="the script's end")


def test_usr1_reopens_the_logs_for_logrotate(itkgw_factory, docroots) -> None:
    server = itkgw_factory(two_vhosts(docroots))
    assert server.request("alice.test", "/index.html").status == 200
    access = server.access_log_path("alice.test")
    wait_for(lambda: access.exists() and "GET /index.html" in access.read_text(), what="access log line")
    rotated = access.with_suffix(".1")
    access.rename(rotated)
    server.error_log.rename(server.error_log.with_suffix(".1"))
    server.signal(signal.SIGUSR1)
    wait_for(lambda: server.error_log.exists(), what="a new error log")
    # Until the old workers have seen the restart, one of them may still log to the rotated
    # file; the request that reaches the new log must be in it alone.
    attempts = iter(range(1000))

    def logged_anew() -> bool:
        query = f"after{next(attempts)}"
        logged[0] = query
        return (server.request("alice.test", f"/index.html?{query}").status == 200 and access.exists()
                and f"?{query} " in access.read_text())

    logged = [""]
    wait_for(logged_anew, what="a new access log")
    assert f"?{logged[0]} " not in rotated.read_text()


def test_access_log_is_in_combined_format(itkgw_factory, docroots) -> None:
    server = itkgw_factory(two_vhosts(docroots))
    server.request("alice.test", "/index.html", headers={"Referer": "http://r.test/", "User-Agent": "ua/1"})
    access = server.access_log_path("alice.test")
    wait_for(lambda: access.exists() and access.read_text(), what="access log line")
    line = access.read_text().splitlines()[0]
    assert line.startswith("127.0.0.1 - - [")
    assert line.endswith('] "GET /index.html HTTP/1.1" 200 20 "http://r.test/" "ua/1"')


def test_an_access_log_s_condition_and_its_fields_are_mod_log_config_s(itkgw_factory, docroots,
                                                                        put: Put) -> None:
    """CustomLog env=!NAME leaves out what SetEnvIf marked; %O counts the head, %q has its "?",
    %p is the canonical port, %{Name}o a response header, %f and %R the file and its handler."""
    alice = docroots[ALICE]
    put(alice, "logged/.htaccess", 'SetEnvIf Request_URI "\\.png$" dontlog\n')
    put(alice, "logged/p.php", "<?php header('X-Test: t'); echo 'x';\n")
    put(alice, "logged/a.png", "png\n")
    server = itkgw_factory([vhost_for(alice, "alice.test", php_extensions=[".php"],
                                      access_log_condition="!dontlog",
                                      access_log_format="%U|%q|%p|%{X-Test}o|%f|%R|%b|%O",
                                      directory=[{"path": str(alice.htdocs), "allow_override": ["All"]}])])
    assert server.request("alice.test", "/logged/a.png").status == 200
    answer = server.request("alice.test", "/logged/p.php?x=1")
    access = server.access_log_path("alice.test")
    wait_for(lambda: access.exists() and access.read_text(), what="access log line")
    lines = access.read_text().splitlines()
    assert len(lines) == 1, lines
    path, query, port, header, filename, handler, body, sent = lines[0].split("|")
    assert (path, query, port, header, handler, body) == (
        "/logged/p.php", "?x=1", "80", "t", "application/x-httpd-php", "1")
    assert filename == str(alice.htdocs / "logged" / "p.php")
    assert int(sent) > int(body) + 100 and answer.body == b"x"


def test_sigterm_stops_everything(itkgw_factory, docroots) -> None:
    server = itkgw_factory(two_vhosts(docroots))
    slow = threading.Thread(
        target=lambda: _ignore_errors(lambda: server.request("alice.test", "/slow.cgi?5")))
    slow.start()
    time.sleep(0.5)
    started = time.monotonic()
    server.stop()  # asserts that nothing of the server's session is left
    assert time.monotonic() - started < 5
    slow.join(timeout=10)


def test_graceful_stop_finishes_the_running_request(itkgw_factory, docroots) -> None:
    server = itkgw_factory(two_vhosts(docroots))
    answer: list[object] = []
    slow = threading.Thread(target=lambda: answer.append(server.request("alice.test", "/slow.cgi?1")))
    slow.start()
    time.sleep(0.4)
    server.signal(signal.SIGWINCH)
    slow.join(timeout=15)
    assert answer and answer[0].status == 200  # type: ignore[attr-defined]
    assert server.wait_exit() == 0


def _ignore_errors(call) -> None:
    try:
        call()
    except OSError:
        return  # the server was stopped under it, which is the point


def test_hup_restart_reads_the_new_config(itkgw_factory, docroots) -> None:
    server = itkgw_factory(two_vhosts(docroots))
    server.config["vhost"][1]["server_alias"] = ["dave.test"]
    server.write_config()
    server.signal(signal.SIGHUP)
    wait_for(lambda: "Attempting to restart" in server.error_log_text(), what="restart")
    wait_for(lambda: _status_or_none(server, "dave.test") == b"<h1>itkt-bob</h1>\n", what="new alias")


def _status_or_none(server: Itkgw, host: str) -> bytes | None:
    try:
        return server.request(host, "/index.html").body
    except OSError:
        return None  # between the old workers and the new ones


def test_each_process_model_of_the_run_serves(itkgw_factory, docroots,
                                               request: pytest.FixtureRequest) -> None:
    """The parametrization of this file reaches the server: [pool] runs pools, [itk] none
    (the model named by the test's id, not by a fixture it asks for)."""
    serving_model = request.node.callspec.params["serving_model"]
    server = itkgw_factory(two_vhosts(docroots))
    assert server.request("alice.test", "/index.html").status == 200
    if serving_model == "pool":
        wait_for(lambda: "pool of itkt-alice:itkt-alice" in server.error_log_text(), what="alice's pool")
    else:
        assert "pool manager" not in server.error_log_text()
