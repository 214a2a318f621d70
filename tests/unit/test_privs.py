"""Identity lookup and the two privilege switches.

The order of the calls is tested with a recording OS facade; the real
switch is tested as root in forked children, with a real unprivileged user.
"""

from __future__ import annotations

import dataclasses
import errno
import grp
import json
import logging
import os
import pwd
import subprocess
from collections.abc import Callable, Iterator

import pytest

from itkgw.config.identity import resolve_identity
from itkgw.config.model import Identity, ServerConfig
from itkgw.errors import HTTPError
from itkgw.mpm import privs
from itkgw.mpm.privs import (
    WORKER_CAPS,
    IdentityNotAllowed,
    OSFacade,
    PrivilegeError,
    apply_nice,
    capability_sets,
    enter_front_identity,
    enter_worker_identity,
    switch_identity,
)
from itkgw.mpm.sandbox import install_setid_filter

ALL_CAPS = (1 << 41) - 1
ALICE = Identity(user="alice", group="alice", uid=1000, gid=1000)
WWW = Identity(user="www-data", group="www-data", uid=33, gid=33)


def make_config(**changes: object) -> ServerConfig:
    config = ServerConfig(user=WWW, listen=(), vhosts=())
    return dataclasses.replace(config, **changes)  # type: ignore[arg-type]


class RecordingOS(OSFacade):
    """Records each call and keeps ids, groups and capabilities like a kernel would.

    ``fail_on`` makes that call fail with EPERM; ``after`` lets a test make
    the read-back disagree with what was set.
    """

    def __init__(self, fail_on: str = "", permitted: int = ALL_CAPS) -> None:
        self.calls: list[tuple[object, ...]] = []
        self.fail_on = fail_on
        self.resuid, self.resgid, self.groups = (0, 0, 0), (0, 0, 0), [0]
        self.caps = {"CapInh": 0, "CapPrm": permitted, "CapEff": permitted, "CapBnd": ALL_CAPS, "CapAmb": 0}
        self.grouplists = {("alice", 1000): [1000, 27, 100], ("www-data", 33): [33]}
        self.after: Callable[[RecordingOS], None] = lambda fake: None

    def _call(self, *call: object) -> None:
        self.calls.append(call)
        if call[0] == self.fail_on:
            raise PermissionError(errno.EPERM, "Operation not permitted")

    def names(self) -> list[object]:
        return [call[0] for call in self.calls]

    def initgroups(self, user: str, gid: int) -> None:
        self._call("initgroups", user, gid)
        self.groups = list(self.grouplists[(user, gid)])

    def setgroups(self, groups: list[int]) -> None:
        self._call("setgroups", groups)
        self.groups = list(groups)

    def getgrouplist(self, user: str, gid: int) -> list[int]:
        self._call("getgrouplist", user, gid)
        return list(self.grouplists[(user, gid)])

    def setresgid(self, rgid: int, egid: int, sgid: int) -> None:
        self._call("setresgid", rgid, egid, sgid)
        self.resgid = (rgid, egid, sgid)

    def setresuid(self, ruid: int, euid: int, suid: int) -> None:
        self._call("setresuid", ruid, euid, suid)
        self.resuid = (ruid, euid, suid)

    def getresuid(self) -> tuple[int, int, int]:
        self.after(self)
        self._call("getresuid")
        return self.resuid

    def getresgid(self) -> tuple[int, int, int]:
        self._call("getresgid")
        return self.resgid

    def getgroups(self) -> list[int]:
        self._call("getgroups")
        return list(self.groups)

    def set_keepcaps(self, keep: bool) -> None:
        self._call("set_keepcaps", keep)

    def set_capabilities(self, mask: int) -> None:
        self._call("set_capabilities", mask)
        self.caps.update(CapPrm=mask, CapEff=mask, CapInh=0)

    def limit_bounding_set(self, mask: int) -> None:
        self._call("limit_bounding_set", mask)
        self.caps["CapBnd"] &= mask

    def clear_ambient_capabilities(self) -> None:
        self._call("clear_ambient_capabilities")
        self.caps["CapAmb"] = 0

    def capability_sets(self) -> dict[str, int]:
        self._call("capability_sets")
        return dict(self.caps)

    def capabilities(self) -> dict[str, int]:
        self._call("capabilities")
        return {name: self.caps[name] for name in ("CapInh", "CapPrm", "CapEff")}

    def setpriority(self, value: int) -> None:
        self._call("setpriority", value)

    def set_no_new_privs(self) -> None:
        self._call("set_no_new_privs")


def test_the_fake_replaces_every_system_call() -> None:
    public = {name for name in vars(OSFacade) if not name.startswith("_")}
    assert public <= set(vars(RecordingOS)), "a real call would run inside the unit tests"


# -- the connection child's switch ------------------------------------------


def test_switch_sets_groups_then_gid_then_uid_then_drops_capabilities_then_verifies() -> None:
    fake = RecordingOS()
    switch_identity(ALICE, make_config(), fake)
    assert fake.calls == [
        ("getgrouplist", "alice", 1000),
        ("setgroups", [27, 100, 1000]),
        ("setresgid", 1000, 1000, 1000),
        ("setresuid", 1000, 1000, 1000),
        ("set_capabilities", 0),
        ("clear_ambient_capabilities",),
        ("getresuid",),
        ("getresgid",),
        ("getgroups",),
        ("capabilities",),
    ]
    assert sorted(fake.groups) == [27, 100, 1000]


def test_no_new_privs_is_set_only_when_configured() -> None:
    fake = RecordingOS()
    switch_identity(ALICE, make_config(no_new_privs=True), fake)
    names = fake.names()
    assert names.index("clear_ambient_capabilities") < names.index("set_no_new_privs")
    assert names.index("set_no_new_privs") < names.index("getresuid")
    default = RecordingOS()
    switch_identity(ALICE, make_config(), default)
    assert "set_no_new_privs" not in default.names()


def test_a_numeric_user_gets_only_its_group() -> None:
    fake = RecordingOS()
    switch_identity(Identity(user="#5000", group="#5001", uid=5000, gid=5001), make_config(), fake)
    assert fake.calls[:3] == [("setgroups", [5001]), ("setresgid", 5001, 5001, 5001),
                              ("setresuid", 5000, 5000, 5000)]
    assert fake.groups == [5001]


@pytest.mark.parametrize("step", ["getgrouplist", "setgroups", "setresgid", "setresuid", "set_capabilities",
                                  "clear_ambient_capabilities", "set_no_new_privs"])
def test_a_failing_step_stops_the_switch_with_privilege_error(step: str) -> None:
    fake = RecordingOS(fail_on=step)
    with pytest.raises(PrivilegeError, match="Operation not permitted"):
        switch_identity(ALICE, make_config(no_new_privs=True), fake)
    assert fake.names()[-1] == step


@pytest.mark.parametrize("lie,problem", [
    (lambda fake: setattr(fake, "resuid", (1000, 1000, 0)), "uids are (1000, 1000, 0)"),
    (lambda fake: setattr(fake, "resgid", (1000, 0, 1000)), "gids are (1000, 0, 1000)"),
    (lambda fake: setattr(fake, "groups", [1000, 27, 100, 0]), "groups are [0, 27, 100, 1000]"),
    (lambda fake: fake.caps.update(CapEff=1 << 7), "CapEff is 0x80, not 0x0"),
    (lambda fake: fake.caps.update(CapPrm=1), "CapPrm is 0x1"),
    (lambda fake: fake.caps.update(CapInh=4), "CapInh is 0x4"),
])
def test_verification_catches_any_difference(lie: Callable[[RecordingOS], None], problem: str) -> None:
    fake = RecordingOS()
    fake.after = lie
    with pytest.raises(PrivilegeError) as raised:
        switch_identity(ALICE, make_config(), fake)
    assert problem in str(raised.value)


@pytest.mark.parametrize("identity,config,message", [
    (Identity("root", "root", 0, 0), make_config(), "uid 0 (root) is outside LimitUIDRange 1-4294967294"),
    (Identity("alice", "root", 1000, 0), make_config(), "gid 0 (root) is outside LimitGIDRange 1-4294967294"),
    (ALICE, make_config(limit_uid_range=(2000, 2999)), "uid 1000 (alice) is outside LimitUIDRange 2000-2999"),
])
def test_an_identity_outside_the_ranges_is_a_500_before_anything_changes(
    identity: Identity, config: ServerConfig, message: str
) -> None:
    fake = RecordingOS()
    with pytest.raises(IdentityNotAllowed) as raised:
        switch_identity(identity, config, fake)
    assert str(raised.value) == message
    assert isinstance(raised.value, HTTPError) and raised.value.status == 500
    assert fake.calls == []


# -- the worker ---------------------------------------------------------------


def test_worker_shrinks_the_bounding_set_while_root_then_switches_keeping_four_capabilities() -> None:
    fake = RecordingOS()
    enter_worker_identity(make_config(), fake)
    assert fake.calls == [
        ("capability_sets",),
        ("getgrouplist", "www-data", 33),
        ("limit_bounding_set", WORKER_CAPS),
        ("set_keepcaps", True),
        ("initgroups", "www-data", 33),
        ("setresgid", 33, 33, 33),
        ("setresuid", 33, 33, 33),
        ("set_capabilities", WORKER_CAPS),
        ("clear_ambient_capabilities",),
        ("set_keepcaps", False),
        ("getresuid",),
        ("getresgid",),
        ("getgroups",),
        ("capability_sets",),
    ]
    assert fake.caps == {"CapInh": 0, "CapPrm": WORKER_CAPS, "CapEff": WORKER_CAPS, "CapBnd": WORKER_CAPS,
                         "CapAmb": 0}
    assert WORKER_CAPS == 1 << 2 | 1 << 6 | 1 << 7 | 1 << 23  # DAC_READ_SEARCH, SETGID, SETUID, SYS_NICE


def test_worker_stays_root_without_enable_capabilities() -> None:
    fake = RecordingOS()
    enter_worker_identity(make_config(enable_capabilities=False), fake)
    assert fake.calls == []


@pytest.mark.parametrize("step", ["limit_bounding_set", "set_keepcaps", "initgroups", "setresgid",
                                  "setresuid", "set_capabilities", "clear_ambient_capabilities"])
def test_worker_boot_fails_at_any_failing_step(step: str) -> None:
    fake = RecordingOS(fail_on=step)
    with pytest.raises(PrivilegeError, match="Operation not permitted"):
        enter_worker_identity(make_config(), fake)
    assert fake.names()[-1] == step


def test_worker_boot_fails_when_the_bounding_set_stays_wide() -> None:
    fake = RecordingOS()
    fake.after = lambda fake: fake.caps.update(CapBnd=ALL_CAPS)
    with pytest.raises(PrivilegeError, match="CapBnd is 0x1ffffffffff, more than 0x8000c4"):
        enter_worker_identity(make_config(), fake)


def test_worker_boot_fails_when_an_ambient_capability_is_left() -> None:
    """The worker keeps capabilities, so its ambient set is read back, not inferred."""
    fake = RecordingOS()
    fake.after = lambda fake: fake.caps.update(CapAmb=2)
    with pytest.raises(PrivilegeError, match="CapAmb is 0x2"):
        enter_worker_identity(make_config(), fake)


def test_the_switch_reads_capabilities_back_from_the_kernel_in_one_call() -> None:
    """capget(2) of this very process: the sets a connection child would compare."""
    read = OSFacade().capabilities()
    assert read == {name: value for name, value in capability_sets().items()
                    if name in ("CapInh", "CapPrm", "CapEff")}


def test_worker_user_outside_the_ranges_cannot_boot() -> None:
    with pytest.raises(PrivilegeError, match="uid 33 \\(www-data\\) is outside LimitUIDRange 1000-2000"):
        enter_worker_identity(make_config(limit_uid_range=(1000, 2000)), RecordingOS())


def test_worker_without_setuid_capability_cannot_boot() -> None:
    fake = RecordingOS(permitted=ALL_CAPS & ~(1 << 7))
    with pytest.raises(PrivilegeError, match="CAP_SETUID and CAP_SETGID"):
        enter_worker_identity(make_config(), fake)
    assert "setresuid" not in fake.names()


def test_worker_keeps_what_it_can_and_says_what_is_missing(caplog: pytest.LogCaptureFixture) -> None:
    fake = RecordingOS(permitted=ALL_CAPS & ~(1 << 23))  # a container without CAP_SYS_NICE
    with caplog.at_level(logging.WARNING, logger="itkgw.privs"):
        enter_worker_identity(make_config(), fake)
    assert ("set_capabilities", WORKER_CAPS & ~(1 << 23)) in fake.calls
    assert "CAP_SYS_NICE" in caplog.text


# -- nice ---------------------------------------------------------------------


def test_apply_nice() -> None:
    fake = RecordingOS()
    apply_nice(None, fake)
    apply_nice(-5, fake)
    assert fake.calls == [("setpriority", -5)]
    with pytest.raises(HTTPError) as raised:
        apply_nice(10, RecordingOS(fail_on="setpriority"))
    assert raised.value.status == 500


# -- lookup -------------------------------------------------------------------


def test_resolve_identity_by_name_and_by_number() -> None:
    assert resolve_identity("root", "root") == Identity("root", "root", 0, 0)
    nobody = pwd.getpwnam("nobody")
    group = grp.getgrgid(nobody.pw_gid).gr_name
    assert resolve_identity("nobody", group) == Identity("nobody", group, nobody.pw_uid, nobody.pw_gid)
    assert resolve_identity("#4000000", "#4000001") == Identity("#4000000", "#4000001", 4000000, 4000001)


@pytest.mark.parametrize("user,group,message", [
    ("itkt-no-such-user", "root", "user 'itkt-no-such-user' does not exist"),
    ("root", "itkt-no-such-group", "group 'itkt-no-such-group' does not exist"),
    ("#x12", "root", "user '#x12' is not a valid id"),
    ("#4294967295", "root", "user '#4294967295' is not a valid id"),
    ("root", "#", "group '#' is not a valid id"),
    ("root", "#-1", "group '#-1' is not a valid id"),
])
def test_resolve_identity_says_what_is_missing(user: str, group: str, message: str) -> None:
    with pytest.raises(LookupError, match=message):
        resolve_identity(user, group)


def test_capability_sets_reads_all_five_sets() -> None:
    sets = capability_sets()
    assert set(sets) == {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}
    assert sets["CapEff"] & ~sets["CapPrm"] == 0


# -- the real thing, as root ----------------------------------------------------

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="switching identity needs root")

TEST_USER, EXTRA_GROUP = "itkt-privs", "itkt-privs-extra"


@pytest.fixture(scope="module")
def test_user() -> Iterator[Identity]:
    """An unprivileged system user with one supplementary group, removed afterwards."""
    created_user = created_group = False
    try:
        try:
            grp.getgrnam(EXTRA_GROUP)
        except KeyError:
            subprocess.run(["groupadd", "--system", EXTRA_GROUP], check=True)
            created_group = True
        try:
            pwd.getpwnam(TEST_USER)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                            "--groups", EXTRA_GROUP, TEST_USER], check=True)
            created_user = True
        yield resolve_identity(TEST_USER, grp.getgrgid(pwd.getpwnam(TEST_USER).pw_gid).gr_name)
    finally:
        if created_user:
            subprocess.run(["userdel", TEST_USER], check=True)
        if created_group:
            subprocess.run(["groupdel", EXTRA_GROUP], check=True)


def run_forked(action: Callable[[], dict[str, object]]) -> dict[str, object]:
    """Run ``action`` in a forked child; its result comes back as JSON through a pipe."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(read_fd)
            report: dict[str, object] = {"result": action()}
            code = 0
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            report = {"error": repr(exc)}
        finally:
            os.write(write_fd, json.dumps(report).encode())
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        report = json.loads(pipe.read() or b'{"error": "no report"}')
    os.waitpid(pid, 0)
    assert "error" not in report, report["error"]
    result = report["result"]
    assert isinstance(result, dict)
    return result


def setuid_errno(uid: int) -> int:
    try:
        os.setresuid(uid, uid, uid)
    except OSError as exc:
        return exc.errno or -1
    return 0


def state() -> dict[str, object]:
    return {"resuid": list(os.getresuid()), "resgid": list(os.getresgid()), "groups": sorted(os.getgroups()),
            "caps": capability_sets()}


@needs_root
def test_worker_then_connection_child_end_unprivileged_for_good(test_user: Identity) -> None:
    nobody = resolve_identity("nobody", grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name)
    config = make_config(user=nobody)

    def child() -> dict[str, object]:
        install_setid_filter(config.limit_uid_range, config.limit_gid_range)
        enter_worker_identity(config)
        worker = state()
        worker_setuid_root = setuid_errno(0)  # holds CAP_SETUID: only the filter stops it
        apply_nice(-3)  # lowering needs CAP_SYS_NICE, which the worker keeps
        worker_nice = os.getpriority(os.PRIO_PROCESS, 0)
        switch_identity(test_user, config)
        try:
            apply_nice(-6)
            child_nice_status = 0
        except HTTPError as exc:
            child_nice_status = exc.status
        return {"worker": worker, "worker_setuid_root": worker_setuid_root, "worker_nice": worker_nice,
                "child": state(), "child_setuid_root": setuid_errno(0),
                "child_setuid_nobody": setuid_errno(nobody.uid), "child_nice_status": child_nice_status}

    result = run_forked(child)
    u, g = test_user.uid, test_user.gid
    worker, child_state = result["worker"], result["child"]
    assert isinstance(worker, dict) and isinstance(child_state, dict)
    assert worker["resuid"] == [nobody.uid] * 3
    assert worker["resgid"] == [nobody.gid] * 3
    assert worker["caps"] == {"CapInh": 0, "CapPrm": WORKER_CAPS, "CapEff": WORKER_CAPS,
                              "CapBnd": WORKER_CAPS, "CapAmb": 0}
    assert result["worker_setuid_root"] == errno.EPERM
    assert result["worker_nice"] == -3
    assert result["child_nice_status"] == 500
    assert child_state["resuid"] == [u, u, u]
    assert child_state["resgid"] == [g, g, g]
    assert child_state["groups"] == sorted({g, grp.getgrnam(EXTRA_GROUP).gr_gid})
    assert child_state["caps"] == {"CapInh": 0, "CapPrm": 0, "CapEff": 0, "CapBnd": WORKER_CAPS, "CapAmb": 0}
    assert result["child_setuid_root"] == errno.EPERM
    assert result["child_setuid_nobody"] == errno.EPERM


@needs_root
def test_without_capabilities_the_child_switches_from_root(test_user: Identity) -> None:
    config = make_config(enable_capabilities=False, no_new_privs=True)

    def child() -> dict[str, object]:
        install_setid_filter(config.limit_uid_range, config.limit_gid_range)
        enter_worker_identity(config)
        worker_uid = os.getuid()
        switch_identity(test_user, config)
        with open("/proc/self/status", encoding="ascii") as status:
            no_new_privs = [line.split()[1] for line in status if line.startswith("NoNewPrivs:")]
        return {"worker_uid": worker_uid, "child": state(), "setuid_root": setuid_errno(0),
                "no_new_privs": no_new_privs}

    result = run_forked(child)
    child_state = result["child"]
    assert isinstance(child_state, dict)
    assert result["worker_uid"] == 0
    assert child_state["resuid"] == [test_user.uid] * 3
    caps = child_state["caps"]
    assert isinstance(caps, dict)
    assert (caps["CapInh"], caps["CapPrm"], caps["CapEff"], caps["CapAmb"]) == (0, 0, 0, 0)
    assert result["setuid_root"] == errno.EPERM
    assert result["no_new_privs"] == ["1"]


@needs_root
def test_a_narrow_range_binds_even_a_process_with_cap_setuid(test_user: Identity) -> None:
    u, g = test_user.uid, test_user.gid
    config = make_config(limit_uid_range=(u, u), limit_gid_range=(g, g))

    def child() -> dict[str, object]:
        install_setid_filter(config.limit_uid_range, config.limit_gid_range)
        refused = setuid_errno(u + 1)  # still root, with every capability
        try:
            switch_identity(Identity("root", "root", 0, 0), config)
            not_allowed = ""
        except IdentityNotAllowed as exc:
            not_allowed = str(exc)
        untouched = os.getresuid()
        switch_identity(test_user, config)
        return {"refused": refused, "not_allowed": not_allowed, "untouched": list(untouched),
                "after": list(os.getresuid())}

    result = run_forked(child)
    assert result == {"refused": errno.EPERM, "not_allowed": f"uid 0 (root) is outside LimitUIDRange {u}-{u}",
                      "untouched": [0, 0, 0], "after": [u, u, u]}



def test_groups_outside_limitgidrange_are_not_given() -> None:
    """alice is in groups 27 and 100; with LimitGIDRange 100-2000 she keeps 100, loses 27."""
    fake = RecordingOS()
    switch_identity(ALICE, make_config(limit_gid_range=(100, 2000)), fake)
    assert ("setgroups", [100, 1000]) in fake.calls
    assert "initgroups" not in fake.names()
    assert sorted(fake.groups) == [100, 1000]


# -- the pool model's front ---------------------------------------------------


def test_front_empties_every_capability_set_and_sets_no_new_privs() -> None:
    fake = RecordingOS()
    enter_front_identity(make_config(), fake)
    assert fake.names() == ["getgrouplist", "limit_bounding_set", "initgroups", "setresgid", "setresuid",
                            "set_capabilities", "clear_ambient_capabilities", "set_no_new_privs",
                            "getresuid", "getresgid", "getgroups", "capability_sets"]
    assert ("limit_bounding_set", 0) in fake.calls and ("set_capabilities", 0) in fake.calls
    assert fake.caps == {"CapInh": 0, "CapPrm": 0, "CapEff": 0, "CapBnd": 0, "CapAmb": 0}
    assert (fake.resuid, fake.resgid) == ((33, 33, 33), (33, 33, 33))


@pytest.mark.parametrize("step", ["limit_bounding_set", "initgroups", "setresuid", "set_capabilities",
                                  "set_no_new_privs"])
def test_front_boot_fails_at_any_failing_step(step: str) -> None:
    fake = RecordingOS(fail_on=step)
    with pytest.raises(PrivilegeError, match="Operation not permitted"):
        enter_front_identity(make_config(), fake)


def test_front_boot_fails_when_any_capability_is_left() -> None:
    fake = RecordingOS()
    fake.after = lambda fake: fake.caps.update(CapBnd=1 << 6)
    with pytest.raises(PrivilegeError, match="CapBnd is 0x40, more than 0x0"):
        enter_front_identity(make_config(), fake)


# -- group lists read before the fork ----------------------------------------------


@pytest.fixture
def group_files(tmp_path, monkeypatch) -> Iterator[tuple[str, str]]:
    """/etc/group and nsswitch.conf copied where a test may change them; nothing remembered
    after the test."""
    group, nsswitch = tmp_path / "group", tmp_path / "nsswitch.conf"
    group.write_text("root:x:0:\nadm:x:4:alice\nusers:x:100:alice,bob\nalice:x:1000:\n")
    nsswitch.write_text("group: files\n")
    monkeypatch.setattr(privs, "_GROUP_FILE", str(group))
    monkeypatch.setattr(privs, "_NSSWITCH_FILE", str(nsswitch))
    yield str(group), str(nsswitch)
    privs._remembered_groups.clear()


def nss_listing(groups: dict[tuple[str, int], list[int]]) -> Callable[[str, int], list[int]]:
    return lambda user, gid: list(groups[(user, gid)])


def test_a_child_switches_with_the_groups_read_before_the_fork(group_files, monkeypatch) -> None:
    monkeypatch.setattr(privs.os, "getgrouplist", nss_listing({("alice", 1000): [1000, 4, 100]}))
    privs.remember_group_lists([ALICE])
    fake = RecordingOS()  # whose NSS would say otherwise: it is not asked
    switch_identity(ALICE, make_config(), fake)
    assert "getgrouplist" not in fake.names()
    assert ("setgroups", [4, 100, 1000]) in fake.calls


def test_a_changed_group_file_makes_the_child_ask_nss_again(group_files, monkeypatch) -> None:
    group, _ = group_files
    monkeypatch.setattr(privs.os, "getgrouplist", nss_listing({("alice", 1000): [1000, 4, 100]}))
    privs.remember_group_lists([ALICE])
    with open(group, "a") as changed:  # usermod -aG: alice joins a group
        changed.write("sudo:x:27:alice\n")
    fake = RecordingOS()
    switch_identity(ALICE, make_config(), fake)
    assert ("getgrouplist", "alice", 1000) in fake.calls
    assert ("setgroups", [27, 100, 1000]) in fake.calls  # the fake NSS's answer, read now


def test_groups_that_come_from_elsewhere_than_the_group_file_are_not_remembered(group_files,
                                                                                 monkeypatch) -> None:
    # An LDAP or sssd group, which /etc/group does not list: its membership may change unseen.
    monkeypatch.setattr(privs.os, "getgrouplist", nss_listing({("alice", 1000): [1000, 4, 100, 5000]}))
    privs.remember_group_lists([ALICE])
    fake = RecordingOS()
    switch_identity(ALICE, make_config(), fake)
    assert ("getgrouplist", "alice", 1000) in fake.calls
