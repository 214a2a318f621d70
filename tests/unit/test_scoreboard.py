"""The scoreboard as the master, workers and connection children use it."""

from __future__ import annotations

import os
import time

import pytest

from itkgw.mpm.scoreboard import TEXT_BYTES, Scoreboard, SlotState


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_a_new_scoreboard_is_all_free() -> None:
    board = Scoreboard.create(4)
    assert len(board) == board.size == 4
    assert board.generation == 0
    assert [board.slot(i).state for i in range(4)] == [SlotState.DEAD] * 4
    assert board.find_free_slot() == 0
    assert board.pids() == []
    assert board.idle_count() == 0


def test_creating_it_leaves_no_file_descriptor_behind() -> None:
    before = _open_fds()
    board = Scoreboard.create(8)
    assert _open_fds() == before
    board.close()


def test_a_child_writes_and_the_parent_reads_across_fork() -> None:
    board = Scoreboard.create(4)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            slot = board.slot(3)
            slot.pid = os.getpid()
            slot.generation = 7
            slot.vhost = "www.example.org:80"
            slot.uid = 1001
            slot.request = "GET /index.php HTTP/1.1"
            slot.connections += 5
            slot.state = SlotState.BUSY_WRITE
            board.generation = 7
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    record = board.slot(3).read()
    assert record.pid == pid
    assert record.state == SlotState.BUSY_WRITE
    assert record.generation == 7
    assert record.vhost == "www.example.org:80"
    assert record.uid == 1001
    assert record.request == "GET /index.php HTTP/1.1"
    assert record.connections == 5
    assert time.time() - 60 < record.started <= record.last_used <= time.time()
    assert board.generation == 7
    assert board.pids() == [pid]
    assert board.count_busy_for_vhost("www.example.org:80") == 1


def test_setters_write_only_their_own_field() -> None:
    board = Scoreboard.create(2)
    first, second = board.slot(0), board.slot(1)
    first.request = "GET / HTTP/1.1"
    first.vhost = "a.example:80"
    first.uid = 4294967294
    first.pid = 123
    second.vhost = "b.example:80"
    assert first.read().request == "GET / HTTP/1.1"
    assert first.vhost == "a.example:80"
    assert first.uid == 4294967294
    assert first.pid == 123
    assert second.read().pid == 0
    assert second.request == ""


def test_state_stamps_last_used_and_request_stamps_started() -> None:
    slot = Scoreboard.create(1).slot(0)
    assert slot.last_used == slot.started == 0.0
    slot.state = SlotState.READY
    assert time.time() - 5 < slot.last_used <= time.time()
    slot.request = "GET / HTTP/1.1"
    assert time.time() - 5 < slot.started <= time.time()
    slot.request = ""
    assert slot.started == 0.0


def test_long_text_is_cut_without_splitting_a_character() -> None:
    slot = Scoreboard.create(1).slot(0)
    slot.vhost = "v" * 300 + ":80"
    assert slot.vhost == "v" * TEXT_BYTES
    slot.request = "a" + "é" * 100  # é is two bytes: the 128th byte would split one
    assert slot.request == "a" + "é" * 63
    slot.request = "GET /\0x HTTP/1.1"
    assert slot.request == "GET /x HTTP/1.1"


def test_count_busy_for_vhost_counts_busy_slots_with_exactly_that_key() -> None:
    board = Scoreboard.create(6)
    layout = [
        ("a.example:80", SlotState.BUSY_READ),
        ("a.example:80", SlotState.BUSY_WRITE),
        ("a.example:80", SlotState.BUSY_KEEPALIVE),
        ("a.example:80", SlotState.READY),  # served a.example before, idle now
        ("a.example:8080", SlotState.BUSY_WRITE),
        ("b.example:80", SlotState.BUSY_WRITE),
    ]
    for index, (key, state) in enumerate(layout):
        slot = board.slot(index)
        slot.vhost = key
        slot.state = state
    assert board.count_busy_for_vhost("a.example:80") == 3
    assert board.count_busy_for_vhost("a.example:8080") == 1
    assert board.count_busy_for_vhost("a.example:8") == 0
    assert board.count_busy_for_vhost("c.example:80") == 0


def test_long_keys_are_compared_as_stored() -> None:
    board = Scoreboard.create(1)
    key = "x" * 200 + ":80"
    board.slot(0).vhost = key
    board.slot(0).state = SlotState.BUSY_WRITE
    assert board.count_busy_for_vhost(key) == 1


def test_free_slots_idle_workers_and_pids() -> None:
    board = Scoreboard.create(3)
    for index, state in enumerate([SlotState.READY, SlotState.BUSY_WRITE, SlotState.READY]):
        slot = board.slot(index)
        slot.state = state
        slot.pid = 100 + index
    assert board.find_free_slot() is None
    assert board.idle_count() == 2
    assert board.pids() == [100, 101, 102]
    board.slot(1).reset()
    assert board.find_free_slot() == 1
    assert board.slot(1).read().state == SlotState.DEAD
    assert board.pids() == [100, 102]


def test_slot_indexes_are_checked() -> None:
    board = Scoreboard.create(2)
    with pytest.raises(IndexError):
        board.slot(2)
    with pytest.raises(IndexError):
        board.slot(-1)
    with pytest.raises(ValueError):
        Scoreboard.create(0)


def test_a_slot_counts_its_requests_and_bytes_and_a_generation_its_start() -> None:
    board = Scoreboard.create(2)
    slot = board.slot(1)
    slot.count_request(100)
    slot.count_request(23)
    record = slot.read()
    assert (record.requests, record.bytes) == (2, 123)
    assert board.slot(0).read().requests == 0
    before = time.time()
    board.generation = 4
    assert board.generation == 4 and before <= board.restarted <= time.time()
    slot.reset()
    assert slot.read().requests == 0
