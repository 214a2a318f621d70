"""The README's two commands as a user who is not root types them.

They need root. Run by a user without it, they re-run themselves through
sudo where sudo exists, and otherwise say what to do, before touching
anything. Debian's minimal images have no sudo, and CI need not install it:
a stand-in ``sudo`` on PATH records how it was called.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.itkgw_proc import REPO
from tests.sites import NOT_ROOT

COMMANDS = ("etc/run-tests", "etc/run-demo")
NOBODY_PATH = "/usr/local/bin:/usr/bin:/bin"


def as_nobody(command: str, path: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--",
                           command, *args], capture_output=True, text=True, timeout=30, cwd=REPO,
                          env={"PATH": path, "HOME": "/nonexistent"})


@pytest.fixture(autouse=True)
def root_only() -> None:
    if os.geteuid() != 0:
        pytest.skip(NOT_ROOT)


@pytest.mark.parametrize("command", COMMANDS)
def test_without_root_and_without_sudo_it_says_what_to_do(command: str) -> None:
    if any(Path(directory, "sudo").exists() for directory in NOBODY_PATH.split(":")):
        pytest.skip("sudo is installed here; this case is a machine without it")
    result = as_nobody(command, NOBODY_PATH)
    assert result.returncode == 1
    name = command.split("/")[-1]
    assert result.stderr == f"{name}: needs root, and there is no sudo here: run it as root (su - root)\n"
    assert result.stdout == ""


@pytest.mark.parametrize("command", COMMANDS)
def test_without_root_it_reruns_itself_through_sudo(command: str, readable_dir: Path) -> None:
    record = readable_dir / "sudo-argv"
    shim = readable_dir / "sudo"
    shim.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {record}\n')
    shim.chmod(0o755)
    record.touch(mode=0o666)
    record.chmod(0o666)
    result = as_nobody(command, f"{readable_dir}:{NOBODY_PATH}", "-k", "static")
    assert result.returncode == 0, result.stderr
    assert record.read_text().splitlines() == ["--", command, "-k", "static"]
