"""Real Unix users and docroots for tests that need per-user isolation.

The fixtures in ``tests/conftest.py`` build these once per session. The
scripts each docroot gets print the identity they run as, so a test can tell
from a response body which user served it.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ALICE = "itkt-alice"
BOB = "itkt-bob"
WWW = "itkt-www"
NOLOGIN = "/usr/sbin/nologin"
NOT_ROOT = "needs root: creates Unix users and switches to them"

WHOAMI_PHP = """<?php
header('Content-Type: text/plain');
printf("uid=%d gid=%d groups=%s\\n", posix_getuid(), posix_getgid(), implode(',', posix_getgroups()));
"""

# `id -G` lists the effective group first, then the supplementary groups.
WHOAMI_CGI = """#!/bin/sh
printf 'Content-Type: text/plain\\n\\n'
printf 'uid=%s gid=%s groups=%s\\n' "$(id -u)" "$(id -g)" "$(id -G | tr ' ' ',')"
"""

# Reads /proc/self/status with shell builtins, so the lines are the script's
# own capability sets, not those of a helper it started.
CAPS_CGI = """#!/bin/sh
printf 'Content-Type: text/plain\\n\\n'
while IFS= read -r line; do
    case $line in Cap*) printf '%s\\n' "$line" ;; esac
done < /proc/self/status
"""

# slow.cgi?N sleeps N seconds (at most 10) before it answers.
SLOW_CGI = """#!/bin/sh
seconds=${QUERY_STRING:-1}
case $seconds in ''|*[!0-9]*) seconds=1 ;; esac
[ "$seconds" -gt 10 ] && seconds=10
sleep "$seconds"
printf 'Content-Type: text/plain\\n\\nok\\n'
"""

IDENTITY_LINE = re.compile(r"uid=(\d+) gid=(\d+) groups=([\d,]*)")


@dataclass(frozen=True)
class Users:
    """The test users: two vhost owners and the workers' own user."""

    alice: pwd.struct_passwd
    bob: pwd.struct_passwd
    www: pwd.struct_passwd

    def all(self) -> tuple[pwd.struct_passwd, ...]:
        return (self.alice, self.bob, self.www)


@dataclass(frozen=True)
class Site:
    """One user's docroot tree: ``root/htdocs`` and ``root/cgi-bin``."""

    user: pwd.struct_passwd
    root: Path
    secret: str

    @property
    def htdocs(self) -> Path:
        return self.root / "htdocs"

    @property
    def cgi_bin(self) -> Path:
        return self.root / "cgi-bin"


@dataclass(frozen=True)
class Whoami:
    """The identity whoami.php and whoami.cgi print."""

    uid: int
    gid: int
    groups: frozenset[int]

    @classmethod
    def parse(cls, text: str) -> Whoami:
        found = IDENTITY_LINE.search(text)
        if found is None:
            raise ValueError(f"no uid=.. gid=.. groups=.. line in {text!r}")
        uid, gid, groups = found.groups()
        return cls(int(uid), int(gid), frozenset(int(g) for g in groups.split(",") if g))

    @classmethod
    def of(cls, user: pwd.struct_passwd) -> Whoami:
        """The identity a process that took on ``user`` (with initgroups) has."""
        return cls(user.pw_uid, user.pw_gid, frozenset(os.getgrouplist(user.pw_name, user.pw_gid)))


def create_users(names: Sequence[str]) -> list[str]:
    """Create the missing ones of ``names`` as system users; return those created."""
    created = []
    for name in names:
        try:
            pwd.getpwnam(name)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--user-group", "--no-create-home",
                 "--home-dir", "/nonexistent", "--shell", NOLOGIN, name],
                check=True,
            )
            created.append(name)
    return created


def remove_users(names: Sequence[str]) -> None:
    """Remove users (and their own groups, which userdel takes with them)."""
    for name in names:
        subprocess.run(["userdel", name], check=True)


def run_as(user: pwd.struct_passwd, argv: Sequence[str | os.PathLike[str]],
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` as ``user`` with its groups, capturing text output."""
    return subprocess.run(
        [os.fspath(arg) for arg in argv],
        user=user.pw_uid,
        group=user.pw_gid,
        extra_groups=os.getgrouplist(user.pw_name, user.pw_gid),
        env=env if env is not None else {"PATH": "/usr/bin:/bin"},
        cwd="/",
        capture_output=True,
        text=True,
        timeout=20,
    )


def make_site(base: Path, user: pwd.struct_passwd) -> Site:
    """Build ``base/<user>/{htdocs,cgi-bin}`` owned by ``user``, 0750, with the test files."""
    secret = f"secret of {user.pw_name}: {secrets.token_hex(8)}"
    site = Site(user=user, root=base / user.pw_name, secret=secret)
    files = {
        "whoami.php": (WHOAMI_PHP, 0o640),
        "whoami.cgi": (WHOAMI_CGI, 0o750),
        "caps.cgi": (CAPS_CGI, 0o750),
        "slow.cgi": (SLOW_CGI, 0o750),
        "index.html": (f"<h1>{user.pw_name}</h1>\n", 0o640),
        "secret.txt": (site.secret + "\n", 0o600),
    }
    for directory in (site.root, site.htdocs, site.cgi_bin):
        directory.mkdir()
        _own(directory, user, 0o750)
    for name, (text, mode) in files.items():
        _write(site.htdocs / name, text, user, mode)
    _write(site.cgi_bin / "whoami.cgi", WHOAMI_CGI, user, 0o750)
    return site


def _write(path: Path, text: str, user: pwd.struct_passwd, mode: int) -> None:
    path.write_text(text)
    _own(path, user, mode)


def _own(path: Path, user: pwd.struct_passwd, mode: int) -> None:
    os.chown(path, user.pw_uid, user.pw_gid)
    os.chmod(path, mode)
