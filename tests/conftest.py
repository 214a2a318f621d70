"""Fixtures shared by all tests: real Unix users and their docroots (root only)."""

from __future__ import annotations

import os
import pwd
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from itkgw.config.modules.fcgid import DEFAULT_IPC_DIR
from tests.sites import ALICE, BOB, NOT_ROOT, WWW, Site, Users, create_users, make_site, remove_users


@pytest.fixture(scope="session")
def test_users() -> Iterator[Users]:
    """``itkt-alice``, ``itkt-bob`` (vhost owners) and ``itkt-www`` (the workers' user).

    Created if missing and removed at the end, unless they were there before.
    """
    if os.geteuid() != 0:
        pytest.skip(NOT_ROOT)
    created = create_users([ALICE, BOB, WWW])
    users = Users(alice=pwd.getpwnam(ALICE), bob=pwd.getpwnam(BOB), www=pwd.getpwnam(WWW))
    try:
        yield users
    finally:
        for user in users.all():  # their FastCGI sockets, sessions and uploads in the default FcgidIPCDir
            for kept in Path(DEFAULT_IPC_DIR).glob(f"{user.pw_uid}.*"):  # with any group
                shutil.rmtree(kept, ignore_errors=True)
        remove_users(created)


@pytest.fixture(scope="session")
def docroots(test_users: Users) -> Iterator[dict[str, Site]]:
    """Each test user's site, keyed by user name, under ``/srv/itkgw-test-<pid>``.

    Not under pytest's temporary directory: that is 0700 root, so no vhost
    user could reach its own files there.
    """
    base = Path(f"/srv/itkgw-test-{os.getpid()}")
    base.mkdir(mode=0o755, parents=True)
    base.chmod(0o755)
    try:
        yield {user.pw_name: make_site(base, user) for user in test_users.all()}
    finally:
        shutil.rmtree(base)
