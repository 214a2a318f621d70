"""Connections passed between processes (the pool model): descriptor, identity, bytes."""

from __future__ import annotations

import array
import dataclasses
import os
import socket
import tempfile

import pytest

from itkgw.config.model import Identity, ServerConfig
from itkgw.mpm import handoff
from itkgw.mpm.handoff import Handoff, HandoffError
from itkgw.mpm.pools import pool_refusal

ROOT = Identity("root", "root", 0, 0)
WWW = Identity("www-data", "www-data", 33, 33)


def _descriptors_of(file: object) -> int:
    """How many of this process's descriptors are open on ``file`` (the garbage collector
    closing an unrelated one meanwhile does not count)."""
    target = os.readlink(f"/proc/self/fd/{file.fileno()}")  # type: ignore[attr-defined]
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}") == target
        except OSError:
            continue  # the directory's own descriptor, closed by now
    return count


def test_a_connection_arrives_whole_with_its_descriptor() -> None:
    ours, theirs = handoff.pair()
    with tempfile.TemporaryFile() as passed, ours, theirs:
        data = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n" + b"x" * 70000  # more than one read's worth
        handoff.send(ours, Handoff(WWW, 5, passed.fileno(), data))
        received = handoff.receive(theirs)
        assert received is not None
        try:
            assert (received.identity, received.nice, received.data) == (WWW, 5, data)
            assert os.fstat(received.fd).st_ino == os.fstat(passed.fileno()).st_ino
            assert received.fd != passed.fileno()
        finally:
            os.close(received.fd)


def test_a_parked_connection_handed_on_arrives_marked_as_between_requests() -> None:
    """A worker hands on a parked keep-alive connection with no byte and ``later``: the worker
    that takes it serves its next request as a later one (another identity's goes on)."""
    ours, theirs = handoff.pair()
    with tempfile.TemporaryFile() as passed, ours, theirs:
        for later in (True, False, True):
            handoff.send(ours, Handoff(WWW, None, passed.fileno(), b"", later=later))
            received = handoff.receive(theirs)
            assert received is not None
            os.close(received.fd)
            assert (received.identity, received.data, received.later) == (WWW, b"", later)


def test_a_closed_peer_reads_as_none() -> None:
    ours, theirs = handoff.pair()
    ours.close()
    with theirs:
        assert handoff.receive(theirs) is None


@pytest.mark.parametrize("meta", [b"no newline at all", b"{not json}\n", b'{"uid": 1}\n',
                                  b'{"uid": 1, "gid": 1, "user": "a", "group": "a", "nice": "high"}\n',
                                  b'{"uid": 1, "gid": 1, "user": "a", "group": "a", "nice": null,'
                                  b' "later": 1}\n',
                                  b'[1, 2]\n'])
def test_a_malformed_message_is_refused_and_its_descriptor_closed(meta: bytes) -> None:
    ours, theirs = handoff.pair()
    with tempfile.TemporaryFile() as passed, ours, theirs:
        assert _descriptors_of(passed) == 1
        ours.sendmsg([meta], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [passed.fileno()]))])
        with pytest.raises(HandoffError):
            handoff.receive(theirs)
        assert _descriptors_of(passed) == 1


def test_identities_passed_over_and_over_arrive_each_as_sent() -> None:
    """Description lines are made and read once per identity: more identities than are
    remembered still each arrive as themselves, and a bad line after them is still refused."""
    ours, theirs = handoff.pair()
    identities = [Identity(f"user{n}", f"group{n}", 10000 + n, 20000 + n) for n in range(1500)]
    with tempfile.TemporaryFile() as passed, ours, theirs:
        for round_ in range(2):
            for n, identity in enumerate(identities):
                nice = None if n % 3 else n % 20
                handoff.send(ours, Handoff(identity, nice, passed.fileno(), b"GET / HTTP/1.1\r\n\r\n"))
                received = handoff.receive(theirs)
                assert received is not None
                os.close(received.fd)
                assert (received.identity, received.nice, round_) == (identity, nice, round_)
        ours.sendmsg([b'{"uid": 1, "gid": 1, "user": "a", "group": "a", "nice": "high"}\n'],
                     [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [passed.fileno()]))])
        with pytest.raises(HandoffError, match="NiceValue"):
            handoff.receive(theirs)


def test_a_message_without_a_descriptor_is_refused() -> None:
    ours, theirs = handoff.pair()
    with ours, theirs:
        ours.send(b'{"uid": 1, "gid": 1, "user": "a", "group": "a", "nice": null}\nGET / HTTP/1.1\r\n\r\n')
        with pytest.raises(HandoffError, match="0 descriptors"):
            handoff.receive(theirs)


def test_more_than_a_message_holds_is_refused_before_sending() -> None:
    ours, theirs = handoff.pair()
    with ours, theirs, pytest.raises(HandoffError, match="more than a message holds"):
        handoff.send(ours, Handoff(WWW, None, 0, b"x" * handoff.MAX_MESSAGE))


def _config(**changes: object) -> ServerConfig:
    return dataclasses.replace(ServerConfig(user=WWW, listen=(), vhosts=()), **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(("identity", "reason"), [
    (ROOT, "never runs as root"),
    (Identity("nobody", "root", 65534, 0), "never runs as root"),
    (WWW, "the fronts' own User www-data"),
    (Identity("nobody", "nogroup", 65534, 65534), ""),
    (Identity("daemon", "nogroup", 65534, 65534), "daemon:nogroup is uid 1, gid 65534"),
    (Identity("no-such-user-here", "nogroup", 4242, 65534), "no-such-user-here"),
])
def test_a_pool_runs_only_as_an_identity_the_configuration_names(identity: Identity, reason: str) -> None:
    refusal = pool_refusal(identity, _config())
    assert (reason in refusal and bool(refusal)) if reason else refusal == ""


def test_a_pool_stays_inside_limituidrange() -> None:
    assert "outside LimitUIDRange 1000-2000" in pool_refusal(Identity("nobody", "nogroup", 65534, 65534),
                                                              _config(limit_uid_range=(1000, 2000)))
