"""The backend manager's books: mod_fcgid's rules for lending, keeping and ending processes."""

from __future__ import annotations

import dataclasses

import pytest

from itkgw.config.model import Address, DirSection, Identity, PHPSetting, ServerConfig, VHost
from itkgw.config.modules.fcgid import FcgidSettings
from itkgw.handlers.fcgid import BackendClass, ClassRefused, backend_class, short_names
from itkgw.mpm.backends import Books, SpawnControl, State

ALICE = Identity("alice", "alice", 1001, 1001)
PHP = BackendClass("alice.test", ALICE, ("/usr/bin/php-cgi",), (), ())
OTHER = BackendClass("alice.test", ALICE, ("/srv/alice/app.fcgi",), (), ())


def test_an_idle_process_is_lent_before_a_new_one_starts() -> None:
    books = Books(1000)
    php = books.books_for(PHP, FcgidSettings())
    assert books.may_start(php, 0.0) == ""
    first = books.add(php, 10, "/s/10", 0.0)
    books.take(first, 0.0)
    assert php.idle() is None
    assert books.released(first, clean=True, served=1, now=1.0, retiring=False) == ""
    assert php.idle() is first and first.requests == 1 and first.state is State.IDLE


def test_class_and_global_limits_stop_new_processes() -> None:
    books = Books(max_processes=3)
    php = books.books_for(PHP, FcgidSettings(max_processes_per_class=2))
    other = books.books_for(OTHER, FcgidSettings())
    books.add(php, 1, "/s/1", 0.0)
    books.add(php, 2, "/s/2", 0.0)
    assert books.may_start(php, 0.0) == "FcgidMaxProcessesPerClass 2 reached"
    books.add(other, 3, "/s/3", 0.0)
    assert books.may_start(other, 0.0) == "FcgidMaxProcesses 3 reached"
    books.ending(books.by_pid[3], "test")
    assert books.may_start(other, 0.0) != ""  # an ending process counts until it has exited
    books.exited(3, 1.0)
    assert books.may_start(other, 1.0) == ""


def test_a_process_ends_at_its_request_limit_or_after_an_unclean_request() -> None:
    books = Books(1000)
    php = books.books_for(PHP, FcgidSettings(max_requests_per_process=2))
    backend = books.add(php, 1, "/s/1", 0.0)
    books.take(backend, 0.0)
    assert books.released(backend, True, 1, 1.0, retiring=False) == ""
    books.take(backend, 1.0)
    assert books.released(backend, True, 1, 2.0, retiring=False) == "FcgidMaxRequestsPerProcess 2 reached"
    second = books.add(php, 2, "/s/2", 0.0)
    books.take(second, 0.0)
    assert books.released(second, False, 0, 1.0, retiring=False) == "request did not end cleanly"
    third = books.add(php, 3, "/s/3", 0.0)
    books.take(third, 0.0)
    assert books.released(third, True, 1, 1.0, retiring=True) == "graceful restart"


def test_requests_carried_on_one_lease_count_towards_the_limit() -> None:
    books = Books(1000)
    php = books.books_for(PHP, FcgidSettings(max_requests_per_process=5))
    backend = books.add(php, 1, "/s/1", 0.0)
    books.take(backend, 0.0)
    assert books.released(backend, True, 3, 1.0, retiring=False) == ""
    assert backend.requests == 3
    books.take(backend, 1.0)
    assert books.released(backend, True, 2, 2.0, retiring=False) == "FcgidMaxRequestsPerProcess 5 reached"


def test_idle_life_and_busy_times_end_processes_but_the_minimum_stays() -> None:
    books = Books(1000)
    php = books.books_for(PHP, FcgidSettings(idle_timeout=10, min_processes_per_class=1,
                                             process_life_time=100, busy_timeout=30))
    old = books.add(php, 1, "/s/1", 0.0)
    young = books.add(php, 2, "/s/2", 5.0)
    assert books.expired(9.0) == []
    assert books.expired(20.0) == [old]  # the other stays: FcgidMinProcessesPerClass 1
    assert old.state is State.ENDING and "FcgidIdleTimeout" in old.reason
    assert books.expired(50.0) == []
    assert books.expired(106.0) == [young] and "FcgidProcessLifeTime" in young.reason
    busy = books.add(php, 3, "/s/3", 200.0)
    books.take(busy, 200.0)
    assert books.expired(231.0) == [busy] and "FcgidBusyTimeout" in busy.reason


def test_processes_that_die_young_back_the_class_off_doubling() -> None:
    books = Books(1000)
    php = books.books_for(PHP, FcgidSettings())
    for attempt, pid in enumerate((1, 2, 3)):
        books.add(php, pid, f"/s/{pid}", float(attempt))
        assert books.exited(pid, float(attempt) + 0.5) is not None  # not asked to end: reported
    assert books.may_start(php, 3.0).startswith("its processes keep failing to start")
    assert books.may_start(php, 3.6) == ""  # 1 s after the third failure
    books.start_failed(php, 10.0)
    assert books.may_start(php, 11.5) != "" and books.may_start(php, 12.1) == ""  # then 2 s
    served = books.add(php, 9, "/s/9", 20.0)
    books.take(served, 20.0)
    books.released(served, True, 1, 21.0, retiring=False)
    assert php.failures == 0  # a clean request ends the streak


def test_a_process_asked_to_end_is_not_reported_when_it_exits() -> None:
    books = Books(1000)
    php = books.books_for(PHP, FcgidSettings())
    backend = books.add(php, 1, "/s/1", 0.0)
    books.ending(backend, "server stops")
    assert books.exited(1, 0.1) is None
    assert books.by_pid == {} and books.classes[PHP] is php and php.backends == []


def test_at_the_global_limit_the_oldest_idle_process_of_another_class_makes_room() -> None:
    books = Books(max_processes=2)
    php = books.books_for(PHP, FcgidSettings())
    other = books.books_for(OTHER, FcgidSettings())
    older = books.add(php, 1, "/s/1", 0.0)
    books.add(php, 2, "/s/2", 5.0)
    assert books.may_start(other, 6.0) == "FcgidMaxProcesses 2 reached"
    assert books.idle_elsewhere(other) is older
    assert books.idle_elsewhere(php) is None


def _php_config(allow_override: tuple[str, ...]) -> tuple[ServerConfig, VHost]:
    vhost = VHost(server_name="a.test", document_root="/srv/a", listen=(Address("*", 80),),
                  assign_user_id=ALICE, php_extensions=(".php",), directories=(
                      DirSection(path="/srv/a", allow_override=allow_override, php_settings=(
                          PHPSetting("open_basedir", "/srv/a", admin=True), PHPSetting("precision", "14"))),))
    return ServerConfig(user=Identity("www-data", "www-data", 33, 33), listen=(Address("*", 80),),
                        vhosts=(vhost,)), vhost


def test_htaccess_php_values_make_a_class_only_where_allowoverride_lets_them() -> None:
    """The manager cannot read the tenant's .htaccess: it takes the php_value settings the
    asker merged, where an AllowOverride lets .htaccess set them, never over an admin value."""
    config, vhost = _php_config(("Options",))
    asked = (("precision", "7"), ("open_basedir", "/"), ("memory_limit", "64M"))
    cls = backend_class(config, vhost, "/x.php", "/srv/a/x.php", ALICE, asked)
    assert {(s.name, s.value, s.admin) for s in cls.php} == {
        ("open_basedir", "/srv/a", True), ("precision", "7", False), ("memory_limit", "64M", False)}
    config, vhost = _php_config(("None",))
    assert backend_class(config, vhost, "/x.php", "/srv/a/x.php", ALICE, (("precision", "14"),)).php
    with pytest.raises(ClassRefused):
        backend_class(config, vhost, "/x.php", "/srv/a/x.php", ALICE, (("precision", "7"),))


def test_setenv_s_three_letter_variables_go_into_a_php_class_s_environment() -> None:
    """So getenv() finds them (PHP's FastCGI table cannot); other names and bad ones stay out."""
    assert short_names({"FOO": "bar", "LONGER": "x", "A-B": "y", "NUL": "a\0b", "GON": "z"}, {"GON"}) == [
        ["FOO", "bar"]]
    config, vhost = _php_config(("None",))
    asked = (("FOO", "bar"), ("BAD NAME", "x"))
    assert backend_class(config, vhost, "/x.php", "/srv/a/x.php", ALICE, (), None, asked).env == (
        ("FOO", "bar"),)


def _without_exec_cgi(allow_override: tuple[str, ...]) -> tuple[ServerConfig, VHost]:
    config, vhost = _php_config(allow_override)
    vhost = dataclasses.replace(vhost, exec_cgi=False)
    return dataclasses.replace(config, vhosts=(vhost,)), vhost


def test_a_handler_an_htaccess_chose_makes_a_class_only_where_allowoverride_lets_it_choose() -> None:
    """AddHandler, SetHandler or RewriteRule H= in an .htaccess may make a .txt PHP, as under
    mod_php: the manager takes the asker's kind where FileInfo is granted on the way."""
    config, vhost = _without_exec_cgi(("FileInfo",))
    assert backend_class(config, vhost, "/x.txt", "/srv/a/x.txt", ALICE, (), "php").command == (
        config.php_cgi,)
    with pytest.raises(ClassRefused, match="ExecCGI"):
        backend_class(config, vhost, "/x.fcgi", "/srv/a/x.fcgi", ALICE, (), "fcgid")
    config, vhost = _without_exec_cgi(("None",))
    with pytest.raises(ClassRefused, match="choose its handler"):
        backend_class(config, vhost, "/x.txt", "/srv/a/x.txt", ALICE, (), "php")
    config, vhost = _without_exec_cgi(("FileInfo", "Options"))
    assert backend_class(config, vhost, "/x.fcgi", "/srv/a/x.fcgi", ALICE, (), "fcgid").command == (
        "/srv/a/x.fcgi",)


def test_a_burst_starts_processes_up_to_the_spawn_score_limit_then_waits() -> None:
    """mod_fcgid's spawn control: the first start counts nothing, each further one its spawn
    score; at the up limit no process starts until seconds have taken the score down."""
    books = Books(1000, SpawnControl(spawn=1, termination=2, time=1, up_limit=3))
    php = books.books_for(PHP, FcgidSettings())
    started = 0
    while not books.may_start(php, 100.2):
        books.take(books.add(php, started + 1, f"/s/{started}", 100.2), 100.2)
        started += 1
    assert started == 4
    assert books.may_start(php, 100.9) == "spawn score 3 >= FcgidSpawnScoreUpLimit 3"
    assert books.may_start(php, 101.0) == ""  # one second took one off


def test_exits_raise_the_spawn_score_and_a_class_without_processes_may_always_start() -> None:
    books = Books(1000, SpawnControl(spawn=1, termination=2, time=1, up_limit=3))
    php = books.books_for(PHP, FcgidSettings())
    for pid in (1, 2):
        books.take(books.add(php, pid, f"/s/{pid}", 0.0), 0.0)
    books.ending(books.by_pid[1], "test")
    books.exited(1, 0.5)  # 1 (second start) + 2 (exit)
    assert php.score == 3 and books.may_start(php, 0.5).startswith("spawn score 3")
    books.ending(books.by_pid[2], "test")
    books.exited(2, 0.6)
    assert php.score == 5 and books.may_start(php, 0.6) == ""  # none left to wait for

