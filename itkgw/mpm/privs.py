"""Who a process runs as: identity lookup, the one-way switch, capabilities.

Privileges change at two moments, as in mpm-itk 2.4.7:

* A prefork worker, still root and already under the set*id seccomp filter
  (sandbox.py), becomes ``User``/``Group`` keeping only CAP_SETUID,
  CAP_SETGID, CAP_DAC_READ_SEARCH and CAP_SYS_NICE: code that runs before a
  request's switch cannot write root's files or load kernel modules, and the
  filter stops it from becoming root again. With EnableCapabilities off the
  worker stays root, as mpm-itk does.
* A connection child, once the request head says whose request it is,
  becomes that identity for good and drops every capability.

Every change goes through OSFacade, so the order (supplementary groups, then
gid, then uid, then capabilities, then verification) is unit-tested with a
recording fake; the real calls are tested in forked children. After each
switch the result is read back (getresuid, getresgid, getgroups,
/proc/self/status) and any difference raises PrivilegeError: a process that
is not exactly who it should be must not serve. Forgetting supplementary
groups is gunicorn's issues #1287 and #2770.
"""

from __future__ import annotations

import codecs
import ctypes
import logging
import os
from collections.abc import Callable, Iterable

import prctl

from itkgw.config.model import Identity, ServerConfig
from itkgw.errors import HTTPError

log = logging.getLogger("itkgw.privs")


def _mask(*caps: int) -> int:
    bits = 0
    for cap in caps:
        bits |= 1 << cap
    return bits


#: What a worker keeps: switch uid and gid, read any file to route a request
#: (mpm-itk reads .htaccess as root), and lower its nice value for NiceValue.
WORKER_CAP_NAMES = {
    prctl.CAP_SETUID: "CAP_SETUID",
    prctl.CAP_SETGID: "CAP_SETGID",
    prctl.CAP_DAC_READ_SEARCH: "CAP_DAC_READ_SEARCH",
    prctl.CAP_SYS_NICE: "CAP_SYS_NICE",
}
WORKER_CAPS = _mask(*WORKER_CAP_NAMES)
#: Without these two a worker could never switch identity.
_SWITCH_CAPS = _mask(prctl.CAP_SETUID, prctl.CAP_SETGID)

_CAP_FIELDS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4
_libc = ctypes.CDLL(None, use_errno=True)
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


class PrivilegeError(Exception):
    """A privilege change failed or did not have the expected result.

    The process must not go on: a worker exits with ExitCode.BOOT_FAILED, a
    connection child with ExitCode.IDENTITY_FAILED.
    """


class IdentityNotAllowed(HTTPError):
    """The request's identity is outside LimitUIDRange or LimitGIDRange.

    Status 500, as mpm-itk answers; nothing has been changed yet.
    """

    def __init__(self, message: str) -> None:
        super().__init__(500, message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def check_allowed(identity: Identity, config: ServerConfig) -> None:
    """Raise IdentityNotAllowed when ``identity`` is outside the configured ranges.

    The seccomp filter would refuse the switch anyway; checking first gives
    a message that names the range, for the error log and ``itkgw -t``.
    """
    if not config.uid_allowed(identity.uid):
        low, high = config.limit_uid_range
        raise IdentityNotAllowed(
            f"uid {identity.uid} ({identity.user}) is outside LimitUIDRange {low}-{high}"
        )
    if not config.gid_allowed(identity.gid):
        low, high = config.limit_gid_range
        raise IdentityNotAllowed(
            f"gid {identity.gid} ({identity.group}) is outside LimitGIDRange {low}-{high}"
        )


# -- the operating system, thinly ----------------------------------------


class OSFacade:
    """The system calls privilege changes are made of, one method each.

    Deliberately without logic: the order and the checks live in the
    functions below, and the tests replace this with a recorder.
    """

    def initgroups(self, user: str, gid: int) -> None:
        os.initgroups(user, gid)

    def setgroups(self, groups: list[int]) -> None:
        os.setgroups(groups)

    def getgrouplist(self, user: str, gid: int) -> list[int]:
        return os.getgrouplist(user, gid)

    def setresgid(self, rgid: int, egid: int, sgid: int) -> None:
        os.setresgid(rgid, egid, sgid)

    def setresuid(self, ruid: int, euid: int, suid: int) -> None:
        os.setresuid(ruid, euid, suid)

    def getresuid(self) -> tuple[int, int, int]:
        return os.getresuid()

    def getresgid(self) -> tuple[int, int, int]:
        return os.getresgid()

    def getgroups(self) -> list[int]:
        return os.getgroups()

    def set_keepcaps(self, keep: bool) -> None:
        prctl.set_keepcaps(keep)

    def set_capabilities(self, mask: int) -> None:
        """Permitted and effective become exactly ``mask``, inheritable empty.

        One capset(2) with the bit masks: python-prctl's set_caps builds and
        parses capability lists, which cost more than the rest of the switch
        in every connection child.
        """
        header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
        data = (_CapData * 2)()
        for word in (0, 1):
            data[word].effective = data[word].permitted = mask >> (32 * word) & 0xFFFFFFFF
        if _libc.capset(ctypes.byref(header), data) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))

    def capabilities(self) -> dict[str, int]:
        """CapInh, CapPrm and CapEff of this process, from one capget(2): a connection
        child's switch reads them back without parsing /proc/self/status."""
        header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
        data = (_CapData * 2)()
        if _libc.capget(ctypes.byref(header), data) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        low, high = data
        return {"CapInh": low.inheritable | high.inheritable << 32,
                "CapPrm": low.permitted | high.permitted << 32,
                "CapEff": low.effective | high.effective << 32}

    def limit_bounding_set(self, mask: int) -> None:
        """Drop every capability not in ``mask`` from the bounding set (needs CAP_SETPCAP)."""
        prctl.capbset.limit(*[cap for cap in prctl.ALL_CAPS if mask >> cap & 1])

    def clear_ambient_capabilities(self) -> None:
        args = (_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
        if _libc.prctl(*(ctypes.c_ulong(arg) for arg in args)) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))

    def capability_sets(self) -> dict[str, int]:
        return capability_sets()

    def setpriority(self, value: int) -> None:
        os.setpriority(os.PRIO_PROCESS, 0, value)

    def set_no_new_privs(self) -> None:
        prctl.set_no_new_privs(1)


REAL_OS = OSFacade()


def capability_sets() -> dict[str, int]:
    """CapInh, CapPrm, CapEff, CapBnd and CapAmb of this process, as bit masks."""
    sets: dict[str, int] = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in _CAP_FIELDS:
                sets[name] = int(value, 16)
    return sets


def load_codecs() -> None:
    """Import the codecs a process may need later, while it can still read the Python
    library (which a process that became some other user may not)."""
    for codec in ("ascii", "latin-1", "utf-8", "idna"):
        codecs.lookup(codec)


# -- the two switches -------------------------------------------------------


def enter_worker_identity(config: ServerConfig, os_: OSFacade = REAL_OS) -> None:
    """Become ``User``/``Group``, keeping only the capabilities a switch needs.

    Runs in each prefork worker while it is still root, after the seccomp
    filter is installed. With EnableCapabilities off the worker stays root
    and each connection child switches from root, as in mpm-itk.
    """
    if not config.enable_capabilities:
        return
    target = config.user
    try:
        check_allowed(target, config)
    except IdentityNotAllowed as exc:
        raise PrivilegeError(f"User/Group: {exc.message}") from None
    keep = WORKER_CAPS & _read_capabilities(os_.capability_sets).get("CapPrm", 0)
    if keep & _SWITCH_CAPS != _SWITCH_CAPS:
        raise PrivilegeError("the worker does not have CAP_SETUID and CAP_SETGID, so it could never switch")
    if keep != WORKER_CAPS:
        log.warning("the worker runs without %s: itkgw was started without them",
                    ", ".join(name for cap, name in WORKER_CAP_NAMES.items() if not keep >> cap & 1))
    groups = _expected_groups(target, os_)
    # Shrinking the bounding set needs CAP_SETPCAP, which ends with root.
    _step("shrinking the capability bounding set", os_.limit_bounding_set, WORKER_CAPS)
    _step("PR_SET_KEEPCAPS 1", os_.set_keepcaps, True)
    _become(target, os_)
    _step("limiting capabilities", os_.set_capabilities, keep)
    _step("clearing ambient capabilities", os_.clear_ambient_capabilities)
    _step("PR_SET_KEEPCAPS 0", os_.set_keepcaps, False)
    _verify(target, groups, os_, capabilities=keep, bounding=WORKER_CAPS)


def prepare_child_switches() -> None:
    """In a worker, before it forks connection children: look up the calls their switch
    reads back with (capget(2) through ctypes) once, so that no child does it again."""
    _read_capabilities(REAL_OS.capabilities)


def enter_front_identity(config: ServerConfig, os_: OSFacade = REAL_OS) -> None:
    """Become ``User``/``Group`` with no capability at all, not even in the bounding set,
    and PR_SET_NO_NEW_PRIVS: the pool model's fronts read client bytes and never switch,
    so they keep nothing a switch would need (the seccomp filter that refuses every
    set*id call comes after, sandbox.build_no_setid_filter)."""
    target = config.user
    try:
        check_allowed(target, config)
    except IdentityNotAllowed as exc:
        raise PrivilegeError(f"User/Group: {exc.message}") from None
    groups = _expected_groups(target, os_)
    _step("emptying the capability bounding set", os_.limit_bounding_set, 0)
    _become(target, os_)
    _step("dropping capabilities", os_.set_capabilities, 0)
    _step("clearing ambient capabilities", os_.clear_ambient_capabilities)
    _step("PR_SET_NO_NEW_PRIVS", os_.set_no_new_privs)
    _verify(target, groups, os_, capabilities=0, bounding=0)


def apply_nice(value: int | None, os_: OSFacade = REAL_OS) -> None:
    """Set the process's nice value (NiceValue), before the identity switch.

    Lowering it needs CAP_SYS_NICE, which the switch drops. A failure is a
    500, as in mpm-itk; the value was clamped when the config was read.
    """
    if value is None:
        return
    try:
        os_.setpriority(value)
    except OSError as exc:
        raise HTTPError(500, f"NiceValue {value}: setpriority failed: {exc}") from exc


def switch_identity(identity: Identity, config: ServerConfig, os_: OSFacade = REAL_OS) -> None:
    """Become ``identity`` for good: no way back, no capability left.

    Runs in the connection child once the request head is read. Raises
    IdentityNotAllowed (nothing changed yet: answer 500) or PrivilegeError
    (the process is in an unknown state: exit with IDENTITY_FAILED).
    """
    check_allowed(identity, config)
    listed = _expected_groups(identity, os_)
    groups = {gid for gid in listed if config.gid_allowed(gid)} | {identity.gid}
    if groups != listed:
        log.info("supplementary groups %s of %s are outside LimitGIDRange: not given to the request",
                 ",".join(str(gid) for gid in sorted(listed - groups)), identity.user)
    # The groups just listed are set as they are (initgroups would read the group database
    # again), less those outside LimitGIDRange, which the seccomp filter cannot check for setgroups.
    _become(identity, os_, only=groups)
    _step("dropping capabilities", os_.set_capabilities, 0)
    _step("clearing ambient capabilities", os_.clear_ambient_capabilities)
    if config.no_new_privs:
        _step("PR_SET_NO_NEW_PRIVS", os_.set_no_new_privs)
    _verify(identity, groups, os_, capabilities=0)


def _become(identity: Identity, os_: OSFacade, only: set[int] | None = None) -> None:
    """Groups, then gid, then uid: each step needs a right the next one gives up.

    ``only``: set exactly these groups instead of the user's own.
    """
    uid, gid = identity.uid, identity.gid
    if only is not None:
        _step(f"setgroups({sorted(only)})", os_.setgroups, sorted(only))
    elif _has_name(identity):
        _step(f"initgroups({identity.user}, {gid})", os_.initgroups, identity.user, gid)
    else:
        _step(f"setgroups([{gid}])", os_.setgroups, [gid])
    _step(f"setresgid({gid})", os_.setresgid, gid, gid, gid)
    _step(f"setresuid({uid})", os_.setresuid, uid, uid, uid)


def _has_name(identity: Identity) -> bool:
    return not identity.user.startswith("#")


def _expected_groups(identity: Identity, os_: OSFacade) -> set[int]:
    """The groups ``identity`` must end up with, read while NSS is still readable (or as
    read before the fork, while the group database is unchanged: see remember_group_lists)."""
    if not _has_name(identity):
        return {identity.gid}
    remembered = _remembered_groups.get((identity.user, identity.gid))
    if remembered is not None and _group_database_stamp() == _remembered_stamp:
        return set(remembered)
    try:
        return set(os_.getgrouplist(identity.user, identity.gid))
    except OSError as exc:
        raise PrivilegeError(f"cannot list the groups of {identity.user}: {exc}") from exc


# -- supplementary groups read before the fork ---------------------------------

#: The files the remembered lists hold for: while neither changes, neither do the lists.
_GROUP_FILE = "/etc/group"
_NSSWITCH_FILE = "/etc/nsswitch.conf"
#: (user, gid) -> groups, for the identities the configuration names, and the files' stamp.
_remembered_groups: dict[tuple[str, int], frozenset[int]] = {}
_remembered_stamp: tuple[tuple[int, int, int], ...] | None = None


def remember_group_lists(identities: Iterable[Identity]) -> None:
    """Read the supplementary groups of ``identities`` once, before the fork, where /etc/group
    alone decides them: a connection child then checks the files are unchanged (two stat
    calls) instead of asking NSS, whose systemd module alone walks a dozen directories a
    call. A list NSS gives otherwise (LDAP, sssd, systemd's userdb) is not kept, and a
    changed /etc/group or nsswitch.conf voids them all: those children ask NSS, as mpm-itk's
    initgroups does for every connection."""
    global _remembered_stamp
    _remembered_groups.clear()
    _remembered_stamp = _group_database_stamp()
    if _remembered_stamp is None:
        return
    members = _group_file_members()
    for identity in identities:
        if not _has_name(identity) or (identity.user, identity.gid) in _remembered_groups:
            continue
        try:
            listed = frozenset(os.getgrouplist(identity.user, identity.gid))
        except OSError:
            continue  # the child will ask, and say why it failed
        if listed == frozenset({identity.gid, *members.get(identity.user, ())}):
            _remembered_groups[(identity.user, identity.gid)] = listed


def _group_database_stamp() -> tuple[tuple[int, int, int], ...] | None:
    """Inode, modification time and size of /etc/group and nsswitch.conf (None: unreadable)."""
    try:
        return tuple((st.st_ino, st.st_mtime_ns, st.st_size)
                     for st in (os.stat(_GROUP_FILE), os.stat(_NSSWITCH_FILE)))
    except OSError:
        return None


def _group_file_members() -> dict[str, set[int]]:
    """user -> the groups /etc/group lists the user as a member of."""
    members: dict[str, set[int]] = {}
    try:
        with open(_GROUP_FILE, encoding="utf-8", errors="replace") as group_file:
            for line in group_file:
                fields = line.rstrip("\n").split(":")
                if len(fields) != 4 or not fields[2].isdigit():
                    continue
                for user in filter(None, fields[3].split(",")):
                    members.setdefault(user, set()).add(int(fields[2]))
    except OSError:
        pass
    return members


def _verify(identity: Identity, groups: set[int], os_: OSFacade, capabilities: int,
            bounding: int | None = None) -> None:
    """Read back every id and capability set; any difference is fatal.

    ``capabilities`` is what permitted and effective must be; ``bounding``,
    when given, what the bounding set may hold at most.
    """
    uid, gid = identity.uid, identity.gid
    problems = []
    try:
        resuid, resgid, actual_groups = os_.getresuid(), os_.getresgid(), set(os_.getgroups())
    except OSError as exc:
        raise PrivilegeError(f"cannot read back the ids after switching to {identity}: {exc}") from exc
    if resuid != (uid, uid, uid):
        problems.append(f"uids are {resuid}")
    if resgid != (gid, gid, gid):
        problems.append(f"gids are {resgid}")
    if actual_groups != groups:
        problems.append(f"groups are {sorted(actual_groups)}, not {sorted(groups)}")
    wanted = {"CapInh": 0, "CapPrm": capabilities, "CapEff": capabilities, "CapAmb": 0}
    if bounding is None and capabilities == 0:
        # A connection child's: the kernel keeps the ambient set within permitted and
        # inheritable, so with both read back empty it is empty too.
        sets = _read_capabilities(os_.capabilities)
        del wanted["CapAmb"]
    else:
        sets = _read_capabilities(os_.capability_sets)
    for name, value in wanted.items():
        if sets.get(name, 0) != value:
            problems.append(f"{name} is {sets.get(name, 0):#x}, not {value:#x}")
    if bounding is not None and sets.get("CapBnd", 0) & ~bounding:
        problems.append(f"CapBnd is {sets.get('CapBnd', 0):#x}, more than {bounding:#x}")
    if problems:
        raise PrivilegeError(f"after switching to {identity}: " + "; ".join(problems))


def _read_capabilities(read: Callable[[], dict[str, int]]) -> dict[str, int]:
    try:
        return read()
    except (OSError, ValueError) as exc:
        raise PrivilegeError(f"cannot read the capability sets: {exc}") from exc


def _step(what: str, action: Callable[..., None], *args: object) -> None:
    try:
        action(*args)
    except (OSError, ValueError) as exc:
        raise PrivilegeError(f"{what} failed: {exc}") from exc
