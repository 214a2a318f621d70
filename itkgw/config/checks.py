"""Checks both config readers run on what they read, and what they return.

The TOML reader and the Apache-syntax reader fill the same model and must
refuse and adjust the same things: what Apache and mpm-itk quietly adjust
(prefork sizing, NiceValue out of range) is adjusted with a warning, what
they refuse only per request (an identity outside LimitUIDRange gets 500) is
a warning, and what can never work (an address both a wildcard and a listen
of its own, a missing DocumentRoot) is an error. Each reader says where a
setting was written (``FILE: key.path`` or ``FILE:LINE``) and how it names
settings in messages (TOML keys or directive names).
"""

from __future__ import annotations

import itertools
import os
import pwd
import re
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from itkgw.config.model import ANY_HOST, NOBODY, Address, Identity, ServerConfig, VHost
from itkgw.errors import ConfigError

NICE_RANGE = (-20, 19)
WILDCARDS = (ANY_HOST, "0.0.0.0", "::")


@dataclass(frozen=True)
class Loaded:
    """A configuration that can be served, and what the admin should know about it."""

    config: ServerConfig
    warnings: list[str]


@dataclass
class Findings:
    """The problems and warnings found so far in one configuration."""

    errors: list[ConfigError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def error(self, where: str, message: str, hint: str) -> None:
        self.errors.append(ConfigError(where, message, hint))

    def warn(self, where: str, message: str) -> None:
        self.warnings.append(f"{where}: {message}")


@dataclass(frozen=True)
class Limits:
    """What vhosts are checked against, read from the server level first."""

    user: Identity | None
    listen: tuple[Address, ...]
    uid_range: tuple[int, int]
    gid_range: tuple[int, int]
    #: Who requests run as where no AssignUserID says, when DefaultIdentity is set.
    default: Identity | None = None


def overlap(one: Address, other: Address) -> bool:
    """Whether binding both fails: a wildcard and another address of its family, same port."""
    if one.port != other.port or one == other:
        return False
    if one.host not in WILDCARDS and other.host not in WILDCARDS:
        return False
    dual_stack = "::" in (one.host, other.host)
    return dual_stack or (":" in one.host) == (":" in other.host)


def covers(server: Address, vhost: Address) -> bool:
    """Whether connections to ``vhost`` can arrive on the listener ``server``."""
    if server.port != vhost.port:
        return False
    if vhost.host == ANY_HOST or server.host in (vhost.host, "::"):
        return True
    return server.host in (ANY_HOST, "0.0.0.0") and ":" not in vhost.host


def check_listen(listen: Sequence[Address], findings: Findings, where_of: Callable[[Address], str]) -> None:
    """Each address once, and no two that cannot both be bound."""
    for address in dict.fromkeys(listen):
        if listen.count(address) > 1:
            findings.error(where_of(address), f"{address} is listed twice", "remove one of them")
    for one, other in itertools.combinations(dict.fromkeys(listen), 2):
        if overlap(one, other):
            wide = one if one.host in WILDCARDS else other
            findings.error(where_of(other), f"{one} and {other} overlap: binding both fails",
                           f"keep {wide} alone, or list each address instead of it")


def check_vhost_listen(listen: Sequence[Address], server: Sequence[Address], where: str, findings: Findings,
                       add_hint: Callable[[Address], str]) -> None:
    """A vhost's addresses: each once, each one the server listens on."""
    for address in dict.fromkeys(listen):
        if listen.count(address) > 1:
            findings.error(where, f"{address} is listed twice", "remove one of them")
        if server and not any(covers(bound, address) for bound in server):
            findings.error(where, f"{address} is not an address the server listens on", add_hint(address))


def check_directory(path: str, where: str, findings: Findings) -> None:
    """A DocumentRoot that is not a directory is a warning, as httpd's AH00112: one tenant's
    missing site must not keep the server from starting; its requests are answered 404."""
    try:
        mode = os.stat(path).st_mode
    except PermissionError:
        findings.warn(where, f"cannot check {path}: permission denied for uid {os.geteuid()} "
                      "(root can stat it: run itkgw -t as root)")
        return
    except FileNotFoundError:
        findings.warn(where, f"{path} does not exist: its requests are answered 404 until the directory "
                      "is created")
        return
    except OSError as exc:
        findings.error(where, f"cannot check {path}: {exc.strerror}", "fix the path")
        return
    if not stat.S_ISDIR(mode):
        findings.warn(where, f"{path} is not a directory: its requests are answered 404 until it is one")


def clamp_nice(value: int, where: str, findings: Findings, name: str) -> int:
    """NiceValue out of -20..19 is clamped, as mpm-itk does."""
    low, high = NICE_RANGE
    clamped = min(max(value, low), high)
    if clamped != value:
        findings.warn(where, f"{name} {value} clamped to {clamped}")
    return clamped


def check_identity(identity: Identity | None, subject: str, where: str, limits: Limits,
                   findings: Findings, values: dict[str, Any] | None = None) -> None:
    """An identity outside the ranges is refused per request (500), as in mpm-itk: warn now.
    A uid or gid an AssignUserIDExpr or AssignGroupIDExpr in ``values`` chooses is not checked."""
    if identity is None:
        return
    values = values or {}
    worker = limits.user
    if worker is not None and identity.uid == worker.uid and values.get("assign_user_id_expr") is None:
        findings.warn(where, f"{subject} runs as the workers' own user {identity.user} (uid {identity.uid}): "
                      "its scripts could stop or trace every worker; give it a user of its own")
    checks = (
        ("uid", identity.uid, identity.user, "LimitUIDRange", limits.uid_range, "assign_user_id_expr"),
        ("gid", identity.gid, identity.group, "LimitGIDRange", limits.gid_range, "assign_group_id_expr"))
    for kind, number, name, directive, (low, high), expr in checks:
        if values.get(expr) is None and not low <= number <= high:
            findings.warn(where, f"{subject} runs as {kind} {number} ({name}), outside {directive} "
                          f"{low}-{high}: its requests will get 500")


def check_vhost_identity(assigned: Identity | None, subject: str, where: str, limits: Limits,
                         findings: Findings, values: dict[str, Any]) -> None:
    """check_identity for a vhost: its AssignUserID, else DefaultIdentity. Where the
    implicit default applies, a warning says so (setting DefaultIdentity silences it)."""
    default = limits.default or NOBODY
    if assigned is None and values.get("assign_user_id_expr") is None and limits.default is None:
        worker = limits.user
        findings.warn(where, f"{subject} has no AssignUserID: its requests run as {default.user}:"
                      f"{default.group} (DefaultIdentity), not as the workers' own "
                      f"{worker.user if worker else 'User'}")
    check_identity(assigned or default, subject, where, limits, findings, values)


def check_worker_identity(limits: Limits, where: str, findings: Findings, names: tuple[str, str]) -> None:
    """With EnableCapabilities the workers switch to User/Group under the set*id filter:
    outside the ranges they cannot boot (without it they stay root and can)."""
    user = limits.user
    if user is None:
        return
    for number, name, (low, high), directive in ((user.uid, user.user, limits.uid_range, names[0]),
                                                 (user.gid, user.group, limits.gid_range, names[1])):
        if not low <= number <= high:
            findings.error(where, f"the workers' own identity {name} ({number}) is outside {directive} "
                           f"{low}-{high}, so no worker could start",
                           f"widen {directive} to include {number}, or run the workers as another user")


def adjust_prefork(settings: dict[str, Any], defaults: Callable[[str], int], findings: Findings,
                   where_of: Callable[[str], str], name_of: Callable[[str], str]) -> None:
    """Correct the prefork sizing in ``settings`` (model field -> value) as Apache does,
    with a warning each; ``defaults`` gives a field's value when it was not set."""

    def get(key: str) -> int:
        value: int = settings.get(key, defaults(key))
        return value

    def adjust(key: str, value: int, why: str) -> None:
        direction = "raised" if value > get(key) else "lowered"
        findings.warn(where_of(key), f"{name_of(key)} {get(key)} {direction} to {value} ({why})")
        settings[key] = value

    if get("max_request_workers") < 1:
        adjust("max_request_workers", 1, "at least one worker is needed")
    if get("min_spare_servers") < 1:
        adjust("min_spare_servers", 1, "at least one idle worker is kept")
    if get("max_spare_servers") <= get("min_spare_servers"):
        adjust("max_spare_servers", get("min_spare_servers") + 1,
               f"must exceed {name_of('min_spare_servers')}")
    if get("start_servers") > get("max_request_workers"):
        adjust("start_servers", get("max_request_workers"), f"no more than {name_of('max_request_workers')}")


def check_php_cgi(php_cgi: str, vhosts: Sequence[VHost], where: str, findings: Findings, hint: str) -> None:
    """php-cgi must be runnable if a vhost hands .php files to it."""
    users = [vhost.server_name for vhost in vhosts if vhost.php_extensions]
    if users and not (os.path.isfile(php_cgi) and os.access(php_cgi, os.X_OK)):
        findings.error(where, f"{php_cgi} is not an executable file, and vhost {users[0]} runs PHP with it",
                       hint)


def check_names(vhosts: Sequence[VHost], findings: Findings, label: Callable[[VHost], str]) -> None:
    """A name a vhost shares with an earlier one on an address never reaches it."""
    first: dict[tuple[Address, str], int] = {}
    for number, vhost in enumerate(vhosts):
        clashes: dict[tuple[str, int], list[str]] = {}
        names = dict.fromkeys(name.lower() for name in vhost.names)
        for address, name in itertools.product(vhost.listen, names):
            earlier = first.setdefault((address, name), number)
            if earlier != number:
                clashes.setdefault((name, earlier), []).append(str(address))
        for (name, earlier), addresses in clashes.items():
            other = vhosts[earlier]
            findings.warn(vhost.where, f"{name} on {', '.join(addresses)} is also a name of "
                          f"{label(other)} ({other.server_name}), which gets its requests")


_REQENV = re.compile(r"%\{reqenv:([^}]+)\}", re.IGNORECASE)


def check_identity_sources(vhosts: Sequence[VHost], uid_range: tuple[int, int], findings: Findings) -> None:
    """Warn where AssignUserIDExpr lets one user's files choose another user's identity.

    mpm-itk's own example maps /~NAME/ to the user NAME; it is safe only with
    a rule anchored at the start of the path and a DocumentRoot that holds no
    user's files (each user's tree reached through Alias or UserDir): else a
    user who can create ``~other/x.php`` in their own tree runs it as other.
    """
    for vhost in vhosts:
        texts = [vhost.assign_user_id_expr, vhost.assign_group_id_expr]
        texts += [text for s in vhost.directories for text in (s.assign_user_id_expr, s.assign_group_id_expr)]
        variables = {name.lower() for text in texts if text for name in _REQENV.findall(text)}
        if not variables:
            continue
        for rule in vhost.rewrite_rules:
            sets = {flag.split("=", 1)[1].split(":", 1)[0].lower() for flag in rule.flags
                    if flag.upper().startswith("E=")}
            if sets & variables and not rule.pattern.startswith("^"):
                findings.warn(rule.where or vhost.where,
                              f"RewriteRule {rule.pattern} sets the identity of AssignUserIDExpr but is not "
                              "anchored: any path holding that text, in any user's tree, picks the "
                              "identity; anchor it with ^")
        if _writable_by_all(vhost.document_root):
            findings.warn(vhost.where, f"DocumentRoot {vhost.document_root} is writable by every user and "
                          "AssignUserIDExpr picks the identity from the path: anyone's files can run as "
                          "another; give the vhost a DocumentRoot no user writes to")
            continue
        owners = _tenant_owners(vhost.document_root, uid_range)
        if len(owners) > 1:
            names = ", ".join(sorted(owners.values()))
            findings.warn(vhost.where, f"DocumentRoot {vhost.document_root} holds the files of several users "
                          f"({names}) and AssignUserIDExpr picks the identity from the path: one user's "
                          "files can run as another; give the vhost a DocumentRoot no user writes to and "
                          "reach each user's tree through Alias or UserDir")


def _writable_by_all(directory: str) -> bool:
    try:
        return bool(os.stat(directory).st_mode & stat.S_IWOTH)
    except OSError:
        return False  # check_directory reports a DocumentRoot that cannot be read


def _tenant_owners(directory: str, uid_range: tuple[int, int]) -> dict[int, str]:
    """The owners (uid -> name) of the entries right below ``directory`` whose uid
    requests may run as."""
    owners: dict[int, str] = {}
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return owners  # check_directory reports a DocumentRoot that cannot be read
    low, high = uid_range
    for entry in entries:
        try:
            uid = entry.stat(follow_symlinks=False).st_uid
        except OSError:
            continue
        if low <= uid <= high and uid not in owners:
            try:
                owners[uid] = pwd.getpwuid(uid).pw_name
            except KeyError:
                owners[uid] = f"#{uid}"
    return owners
