"""The set*id seccomp filter, loaded for real in forked children (root only)."""

from __future__ import annotations

import ctypes
import errno
import json
import os
import platform
import random
import subprocess
from collections.abc import Callable

import pytest

from itkgw.config.model import DEFAULT_ID_RANGE
from itkgw.mpm.sandbox import (
    CLONE_NEWUSER,
    UNCHANGED,
    SandboxError,
    aligned_blocks,
    build_no_setid_filter,
    install_setid_filter,
)

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="loading the filter and switching ids need root")

#: x86_64 system call numbers, for calls Python cannot make with any argument.
_X86_64 = {"setuid": 105, "setresuid": 117, "setfsuid": 122}
raw_syscalls = pytest.mark.skipif(platform.machine() != "x86_64", reason="raw syscall numbers are x86_64's")

UID, GID = 41234, 42345  # no user needs to exist for these: only the filter is tested
NARROW = ((UID, UID), (GID, GID))


def run_forked(action: Callable[[], object]) -> object:
    """Run ``action`` in a forked child and return what it returned (JSON through a pipe)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(read_fd)
            result: object = {"result": action()}
            code = 0
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            result = {"error": repr(exc)}
        finally:
            os.write(write_fd, json.dumps(result).encode())
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        report = json.loads(pipe.read() or b'{"error": "no report"}')
    os.waitpid(pid, 0)
    assert "error" not in report, report["error"]
    return report["result"]


def errno_of(call: Callable[[], object]) -> int:
    """0 if ``call`` succeeds in a grandchild (so success changes nothing here), else its errno."""
    pid = os.fork()
    if pid == 0:
        code = 255
        try:
            call()
            code = 0
        except OSError as exc:
            code = exc.errno or 254
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def raw(name: str, *args: int) -> Callable[[], None]:
    """A system call with full 64-bit arguments, as glibc never sends them."""

    def call() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.syscall(ctypes.c_long(_X86_64[name]), *(ctypes.c_ulong(arg) for arg in args)) == -1:
            raise OSError(ctypes.get_errno(), name)

    return call


Probes = dict[str, Callable[[], object]]


def under_filter(uid_range: tuple[int, int], gid_range: tuple[int, int], probes: Probes,
                 allow_user_namespaces: bool = False) -> dict[str, int]:
    """Load the filter in a child, then try each probe in its own grandchild."""

    def child() -> dict[str, int]:
        install_setid_filter(uid_range, gid_range, allow_user_namespaces)
        return {name: errno_of(probe) for name, probe in probes.items()}

    result = run_forked(child)
    assert isinstance(result, dict)
    return result


@needs_root
def test_ids_outside_a_narrow_range_fail_with_eperm_even_for_root() -> None:
    results = under_filter(*NARROW, {
        # Through glibc: allowed only if glibc passes ids zero-extended.
        "setresuid in range": lambda: os.setresuid(UID, UID, UID),
        "setresuid above": lambda: os.setresuid(UID + 1, UID + 1, UID + 1),
        "setresuid below": lambda: os.setresuid(UID - 1, UID - 1, UID - 1),
        "setresuid saved uid root": lambda: os.setresuid(UID, UID, 0),
        "setresuid effective out": lambda: os.setresuid(UID, UID + 1, UID),
        "setreuid out": lambda: os.setreuid(UID, 0),
        "setuid root": lambda: os.setuid(0),
        "seteuid out": lambda: os.seteuid(UID + 7),
        "setresgid in range": lambda: os.setresgid(GID, GID, GID),
        "setresgid above": lambda: os.setresgid(GID + 1, GID, GID),
        "setregid out": lambda: os.setregid(GID, 0),
        "setgid root": lambda: os.setgid(0),
        "setegid in range": lambda: os.setegid(GID),
    })
    assert results == {
        "setresuid in range": 0,
        "setresuid above": errno.EPERM,
        "setresuid below": errno.EPERM,
        "setresuid saved uid root": errno.EPERM,
        "setresuid effective out": errno.EPERM,
        "setreuid out": errno.EPERM,
        "setuid root": errno.EPERM,
        "seteuid out": errno.EPERM,
        "setresgid in range": 0,
        "setresgid above": errno.EPERM,
        "setregid out": errno.EPERM,
        "setgid root": errno.EPERM,
        "setegid in range": 0,
    }


@needs_root
def test_minus_one_means_unchanged_and_stays_allowed() -> None:
    results = under_filter(*NARROW, {
        "setresuid all unchanged": lambda: os.setresuid(-1, -1, -1),
        "seteuid in range": lambda: os.seteuid(UID),
        "setresgid all unchanged": lambda: os.setresgid(-1, -1, -1),
        "setuid -1": lambda: os.setuid(-1),  # not "unchanged" for setuid
    })
    assert results == {
        "setresuid all unchanged": 0,
        "seteuid in range": 0,
        "setresgid all unchanged": 0,
        "setuid -1": errno.EPERM,
    }


@needs_root
@raw_syscalls
def test_minus_one_sign_extended_counts_as_unchanged() -> None:
    """glibc's set*id broadcast (any process that ever had a thread) sends -1 as 64 bits."""
    results = under_filter(*NARROW, {
        "seteuid after a thread": _after_a_thread(lambda: os.seteuid(UID)),
        "raw sign-extended -1": raw("setresuid", (1 << 64) - 1, UID, (1 << 64) - 1),
        "raw other high bits": raw("setresuid", (1 << 64) - 2, UID, UID),
    })
    assert results == {"seteuid after a thread": 0, "raw sign-extended -1": 0,
                       "raw other high bits": errno.EPERM}


def _after_a_thread(call: Callable[[], object]) -> Callable[[], object]:
    def run() -> object:
        import threading

        thread = threading.Thread(target=lambda: None)
        thread.start()
        thread.join()
        return call()

    return run


@needs_root
def test_the_default_range_refuses_only_root() -> None:
    results = under_filter(DEFAULT_ID_RANGE, DEFAULT_ID_RANGE, {
        "setuid nobody": lambda: os.setuid(65534),
        "setuid root": lambda: os.setuid(0),
        "setgid root": lambda: os.setgid(0),
        "highest id": lambda: os.setresuid(UNCHANGED - 1, UNCHANGED - 1, UNCHANGED - 1),
    })
    assert results == {"setuid nobody": 0, "setuid root": errno.EPERM, "setgid root": errno.EPERM,
                        "highest id": 0}


@needs_root
@raw_syscalls
def test_upper_32_bits_cannot_smuggle_an_id_past_the_filter() -> None:
    results = under_filter(*NARROW, {
        # The kernel truncates to 32 bits: this is setuid(0) ...
        "setuid 2**32": raw("setuid", 1 << 32),
        # ... and this is setresuid(UID, UID, UID), which is fine, but no libc sends it.
        "setresuid high bits": raw("setresuid", (1 << 32) | UID, UID, UID),
        "setresuid zero-extended": raw("setresuid", UID, UID, UID),
        "setfsuid root": raw("setfsuid", 0),
    })
    assert results == {"setuid 2**32": errno.EPERM, "setresuid high bits": errno.EPERM,
                       "setresuid zero-extended": 0, "setfsuid root": errno.EPERM}


@needs_root
def test_the_filter_leaves_no_new_privs_off_and_other_calls_alone() -> None:
    def child() -> dict[str, str]:
        install_setid_filter(*NARROW)
        os.getpid()
        with open("/proc/self/status", encoding="ascii") as status:
            fields = dict(line.rstrip("\n").split(":\t", 1) for line in status if ":\t" in line)
        return {"Seccomp": fields["Seccomp"], "NoNewPrivs": fields["NoNewPrivs"]}

    assert run_forked(child) == {"Seccomp": "2", "NoNewPrivs": "0"}


@pytest.mark.parametrize("uid_range", [(5, 4), (-1, 10), (0, 2**32)])
def test_invalid_ranges_are_refused_before_anything_is_loaded(uid_range: tuple[int, int]) -> None:
    with pytest.raises(SandboxError, match="invalid uid range"):
        install_setid_filter(uid_range, DEFAULT_ID_RANGE)


@pytest.mark.parametrize("first,last", [
    (0, 0), (1, 1), (60001, 2**32 - 2), (1001, 2**32 - 2), (3, 17), (0, 2**32 - 1), (2**31, 2**31 + 5),
])
def test_aligned_blocks_cover_exactly_the_interval(first: int, last: int) -> None:
    blocks = aligned_blocks(first, last)
    assert len(blocks) <= 62

    def covered(value: int) -> bool:
        return sum(value & mask == start for start, mask in blocks) == 1

    samples = {first, last, (first + last) // 2}
    samples |= {random.randint(first, last) for _ in range(200)}
    assert all(covered(value) for value in samples)
    outside = {first - 1, last + 1, last + 1 + (1 << 32), first | 1 << 32}
    assert not any(covered(value) for value in outside if value >= 0)


def unshare(flags: int) -> Callable[[], None]:
    def call() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(ctypes.c_int(flags)) == -1:
            raise OSError(ctypes.get_errno(), "unshare")

    return call


@needs_root
def test_user_namespaces_are_refused_unless_allowed() -> None:
    probes: dict[str, Callable[[], object]] = {
        "unshare user": unshare(CLONE_NEWUSER),
        "unshare uts": unshare(0x0400_0000),  # CLONE_NEWUTS: other namespaces are the kernel's to judge
        "fork and exec": lambda: subprocess.run(["/bin/true"], check=True),
    }
    refused = under_filter(DEFAULT_ID_RANGE, DEFAULT_ID_RANGE, probes)
    assert refused == {"unshare user": errno.EPERM, "unshare uts": 0, "fork and exec": 0}
    allowed = under_filter(DEFAULT_ID_RANGE, DEFAULT_ID_RANGE, probes, allow_user_namespaces=True)
    assert allowed == {"unshare user": 0, "unshare uts": 0, "fork and exec": 0}


@needs_root
def test_the_fronts_filter_refuses_every_setid_call_whatever_its_arguments() -> None:
    """A front never changes ids: even root's no-op setuid(0) fails once the filter is in."""
    def child() -> dict[str, int]:
        build_no_setid_filter().load()
        probes: Probes = {
            "setuid(0)": lambda: os.setuid(0), "setuid(UID)": lambda: os.setuid(UID),
            "setresuid": lambda: os.setresuid(UID, UID, UID), "setreuid": lambda: os.setreuid(-1, UID),
            "setgid(0)": lambda: os.setgid(0), "setresgid": lambda: os.setresgid(GID, GID, GID),
            "setgroups": lambda: os.setgroups([0]), "getpid": os.getpid,
        }
        return {name: errno_of(probe) for name, probe in probes.items()}

    result = run_forked(child)
    assert result == {"setuid(0)": errno.EPERM, "setuid(UID)": errno.EPERM, "setresuid": errno.EPERM,
                      "setreuid": errno.EPERM, "setgid(0)": errno.EPERM, "setresgid": errno.EPERM,
                      "setgroups": errno.EPERM, "getpid": 0}
