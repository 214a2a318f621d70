"""What ``itkgw -t``, ``-S`` and ``convert`` print for every config in etc/
and tests/corpus/conf/, pinned byte for byte.

The outputs are an admin's interface: a refactoring must not change a word
of them. Each (config, command) pair has a file under tests/corpus/cli/
holding the exit status, standard output and standard error, with the
checkout's path and the demo users' numeric ids replaced by placeholders so
the pin holds on any machine.

After a deliberate change to an output, rewrite the files and read the diff:
``python3 -m tests.e2e.test_cli_pinned`` (as root: it runs etc/demo-setup).
"""

from __future__ import annotations

import grp
import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.itkgw_proc import REPO
from tests.sites import NOT_ROOT

ETC = REPO / "etc"
CORPUS = REPO / "tests" / "corpus" / "conf"
PINNED = REPO / "tests" / "corpus" / "cli"
COMMANDS = {"t": ("-t",), "S": ("-S",), "convert": ("convert",)}
DEMO_USERS = ("itkdemo-alice", "itkdemo-bob")


def configs() -> list[Path]:
    """Every example config and every corpus config, as paths relative to the checkout."""
    examples = [*sorted(ETC.glob("*.toml")), ETC / "apache22-freebsd" / "httpd.conf",
                ETC / "apache24" / "apache2.conf"]
    corpus = sorted(p for p in CORPUS.iterdir() if p.suffix in (".toml", ".conf"))
    return [path.relative_to(REPO) for path in (*examples, *corpus)]


def options(config: Path) -> list[str]:
    """The command-line options a config is read with: a corpus file's ``# test:``
    line, and --compat=2.2 for the 2.2 example."""
    if "apache22" in config.parts:
        return ["--compat=2.2"]
    found: list[str] = []
    for line in (REPO / config).read_text().splitlines():
        if line.startswith("# test:"):
            found += line.removeprefix("# test:").split()
    return found


def argv(config: Path, command: str) -> list[str]:
    if command == "convert":
        compat = [option for option in options(config) if option.startswith("--compat")]
        return ["convert", *compat, str(config)]
    return [*options(config), *COMMANDS[command], "-f", str(config)]


def machine_neutral(text: str) -> str:
    """``text`` with the checkout's path and the demo users' ids as placeholders."""
    text = text.replace(str(REPO), "<checkout>")
    for name in DEMO_USERS:
        uid, gid = pwd.getpwnam(name).pw_uid, grp.getgrnam(name).gr_gid
        text = text.replace(f"{name}:{name} (uid {uid}, gid {gid})",
                            f"{name}:{name} (uid <{name}>, gid <{name}>)")
    return text


def run(config: Path, command: str) -> str:
    """What one command prints for one config, in the pinned file's form."""
    result = subprocess.run([sys.executable, "-m", "itkgw", *argv(config, command)], capture_output=True,
                            text=True, timeout=60, cwd=REPO, env={**os.environ, "LC_ALL": "C.UTF-8"})
    return machine_neutral(f"$ itkgw {' '.join(argv(config, command))}\nexit {result.returncode}\n"
                           f"-- stdout\n{result.stdout}-- stderr\n{result.stderr}")


def pinned_file(config: Path, command: str) -> Path:
    return PINNED / f"{'_'.join(config.parts)}.{command}.out"


def demo_setup() -> None:
    """The configs in etc/ name the demo users and docroots: create them as the README does."""
    subprocess.run([str(ETC / "demo-setup")], check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def demo() -> None:
    if os.geteuid() != 0:
        pytest.skip(NOT_ROOT)
    demo_setup()


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("config", configs(), ids=str)
def test_output_is_unchanged(demo: None, config: Path, command: str) -> None:
    expected = pinned_file(config, command).read_text()
    assert run(config, command) == expected


def test_every_pinned_file_belongs_to_a_config() -> None:
    wanted = {pinned_file(config, command) for config in configs() for command in COMMANDS}
    assert set(PINNED.iterdir()) == wanted


if __name__ == "__main__":
    demo_setup()
    PINNED.mkdir(exist_ok=True)
    for stale in PINNED.iterdir():
        stale.unlink()
    for config in configs():
        for command in COMMANDS:
            pinned_file(config, command).write_text(run(config, command))
    print(f"wrote {len(list(PINNED.iterdir()))} files to {PINNED.relative_to(REPO)}")
