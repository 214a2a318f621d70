"""The seccomp filter that bounds every set*id call to LimitUIDRange/LimitGIDRange.

A worker keeps CAP_SETUID and CAP_SETGID so its connection children can
switch to any vhost's identity; without this filter, code that ran before the
switch could just as well call setuid(0). The filter is mpm-itk's
``restrict_setuid_range`` written with libseccomp:

* setuid/setgid: an id outside the range fails with EPERM.
* setreuid/setresuid/setfsuid and their gid twins: each id argument outside
  the range fails with EPERM, except -1 (0xffffffff), which means "leave this
  id unchanged" and so cannot gain anything. mpm-itk allows it too, and
  setuid helpers a script may run (sendmail, sudo) use seteuid(), which is
  setresuid(-1, id, -1). itkgw's own switch always passes explicit ids.
* Unless AllowUserNamespaces says otherwise, creating a user namespace fails
  with EPERM (unshare or clone with CLONE_NEWUSER): inside one, a script
  holds every capability over what it then creates, the kernel surface most
  local privilege escalations went through. clone3, whose flags live in
  memory a filter cannot read, fails with ENOSYS, so libc falls back to clone.
* Any other system call, and any call in range, is allowed.
* A system call made through another ABI (i386 ``int 0x80``, x32) kills the
  process, so the rules cannot be walked around.

Ids are 32 bits but system call arguments are 64: libseccomp compares all
64 bits. glibc passes uid_t zero-extended, except -1 in a process that has
ever had a second thread: its set*id broadcast stores ids as ``long`` and
sends 0xffff_ffff_ffff_ffff, which the kernel truncates to -1, so that value
counts as "unchanged" too. Any other argument with upper bits set is refused:
the kernel would truncate 0x1_00000000 to uid 0.
Only 64-bit architectures are supported: 32-bit ones also have 16-bit
set*id calls, which these rules would not cover, so installing refuses.

The filter is installed while the worker is still root: without
PR_SET_NO_NEW_PRIVS, which we must not set (it breaks setgid sendmail for
PHP's mail()), the kernel only lets a process with CAP_SYS_ADMIN load one.
It is inherited by every child and kept across execve, so it also bounds the
scripts and any setuid program they run.
"""

from __future__ import annotations

import errno

import pyseccomp

#: Largest value an id argument can take; as an argument, it means "unchanged".
UNCHANGED = 0xFFFF_FFFF
_MASK64 = 0xFFFF_FFFF_FFFF_FFFF
_AUDIT_ARCH_64BIT = 0x8000_0000
CLONE_NEWUSER = 0x1000_0000

#: (system call, number of id arguments, whether -1 means "unchanged").
#: The list is capabilities(7)'s CAP_SETUID and CAP_SETGID calls, as in mpm-itk.
_UID_CALLS = (("setuid", 1, False), ("setreuid", 2, True), ("setresuid", 3, True), ("setfsuid", 1, True))
_GID_CALLS = (("setgid", 1, False), ("setregid", 2, True), ("setresgid", 3, True), ("setfsgid", 1, True))


class SandboxError(Exception):
    """The filter could not be built or loaded; the worker must not serve."""


def install_setid_filter(uid_range: tuple[int, int], gid_range: tuple[int, int],
                         allow_user_namespaces: bool = False) -> None:
    """Load the set*id filter into this process (and so into all its children).

    Call it while still root, before the worker drops to ``User``.
    """
    load(build_setid_filter(uid_range, gid_range, allow_user_namespaces))


def load(syscall_filter: pyseccomp.SyscallFilter) -> None:
    """Load a filter built by build_setid_filter (in this process, or before the fork)."""
    try:
        syscall_filter.load()
    except OSError as exc:
        raise SandboxError(f"cannot install the set*id seccomp filter: {exc}") from exc


def build_setid_filter(uid_range: tuple[int, int], gid_range: tuple[int, int],
                       allow_user_namespaces: bool = False) -> pyseccomp.SyscallFilter:
    """The filter, not yet loaded. Its thousand-odd rules take libseccomp tens of
    milliseconds to add, so the master builds it once and every worker loads it."""
    _check_range("uid", uid_range)
    _check_range("gid", gid_range)
    arch = pyseccomp.system_arch()
    if not arch & _AUDIT_ARCH_64BIT:
        raise SandboxError(f"seccomp filter needs a 64-bit architecture (this one is 0x{arch:x})")
    try:
        syscall_filter = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
        # libseccomp sets PR_SET_NO_NEW_PRIVS by default; that would stop
        # setgid and setuid programs (sendmail) for every script.
        syscall_filter.set_attr(pyseccomp.Attr.CTL_NNP, 0)
        syscall_filter.set_attr(pyseccomp.Attr.ACT_BADARCH, pyseccomp.KILL_PROCESS)
        syscall_filter.set_attr(pyseccomp.Attr.CTL_TSYNC, 1)
        _add_rules(syscall_filter, _UID_CALLS, uid_range)
        _add_rules(syscall_filter, _GID_CALLS, gid_range)
        if not allow_user_namespaces:
            _deny_user_namespaces(syscall_filter)
    except OSError as exc:
        raise SandboxError(f"cannot build the set*id seccomp filter: {exc}") from exc
    return syscall_filter


def build_no_setid_filter() -> pyseccomp.SyscallFilter:
    """The pool model's fronts' filter: every set*id and setgroups call fails with EPERM,
    whatever its arguments, and no user namespace can be made. A front parses client
    bytes and never changes its ids, so nothing there needs one; it sets
    PR_SET_NO_NEW_PRIVS first (so this filter can be loaded without CAP_SYS_ADMIN)."""
    arch = pyseccomp.system_arch()
    if not arch & _AUDIT_ARCH_64BIT:
        raise SandboxError(f"seccomp filter needs a 64-bit architecture (this one is 0x{arch:x})")
    try:
        syscall_filter = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
        syscall_filter.set_attr(pyseccomp.Attr.ACT_BADARCH, pyseccomp.KILL_PROCESS)
        syscall_filter.set_attr(pyseccomp.Attr.CTL_TSYNC, 1)
        for name, _, _ in (*_UID_CALLS, *_GID_CALLS, ("setgroups", 1, False)):
            syscall_filter.add_rule(pyseccomp.ERRNO(errno.EPERM), name)
        _deny_user_namespaces(syscall_filter)
    except OSError as exc:
        raise SandboxError(f"cannot build the no-set*id seccomp filter: {exc}") from exc
    return syscall_filter


def _deny_user_namespaces(syscall_filter: pyseccomp.SyscallFilter) -> None:
    new_user = pyseccomp.Arg(0, pyseccomp.MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER)
    for name in ("unshare", "clone"):
        syscall_filter.add_rule(pyseccomp.ERRNO(errno.EPERM), name, new_user)
    syscall_filter.add_rule(pyseccomp.ERRNO(errno.ENOSYS), "clone3")


def _check_range(kind: str, id_range: tuple[int, int]) -> None:
    low, high = id_range
    if not 0 <= low <= high <= UNCHANGED:
        raise SandboxError(f"invalid {kind} range {low}-{high}")


def _add_rules(
    syscall_filter: pyseccomp.SyscallFilter,
    calls: tuple[tuple[str, int, bool], ...],
    id_range: tuple[int, int],
) -> None:
    """EPERM for each id argument outside ``id_range``.

    libseccomp allows one comparison per argument in a rule, and a rule's
    comparisons must all hold, so "outside the range" is several rules, each
    testing one argument: below the range; above it; and, where -1 must
    stay allowed, above it but not -1, written as aligned blocks of values.
    """
    low, high = id_range
    deny = pyseccomp.ERRNO(errno.EPERM)
    for name, arg_count, unchanged_allowed in calls:
        for arg in range(arg_count):
            if low > 0:
                syscall_filter.add_rule(deny, name, pyseccomp.Arg(arg, pyseccomp.LT, low))
            if not unchanged_allowed:
                syscall_filter.add_rule(deny, name, pyseccomp.Arg(arg, pyseccomp.GT, high))
                continue
            wide = aligned_blocks(UNCHANGED + 1, _MASK64 - 1)
            for value, mask in aligned_blocks(high + 1, UNCHANGED - 1) + wide:
                syscall_filter.add_rule(deny, name, pyseccomp.Arg(arg, pyseccomp.MASKED_EQ, mask, value))


def aligned_blocks(first: int, last: int) -> list[tuple[int, int]]:
    """Cover first..last (64-bit values) with (value, mask) pairs.

    Each pair matches ``arg & mask == value`` for a power-of-two sized,
    aligned block. At most 126 blocks cover any 64-bit interval.
    """
    blocks = []
    while first <= last:
        size = first & -first if first else 1 << 64
        while first + size - 1 > last:
            size >>= 1
        blocks.append((first, ~(size - 1) & _MASK64))
        first += size
    return blocks
