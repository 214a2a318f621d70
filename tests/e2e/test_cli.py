"""The httpd-like command line: -V, -t, config errors, -k against a daemon."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import toml

from tests.e2e.itkgw_proc import REPO, free_port, vhost_for
from tests.sites import ALICE, Site

ETC = REPO / "etc"


def itkgw(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "itkgw", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


def test_version_names_the_mpm_and_compat_mode() -> None:
    result = itkgw("-V", "--compat=2.2", "-f", str(ETC / "itkgw.toml"))
    assert result.returncode == 0
    assert "Server MPM:     ITK" in result.stdout
    assert "mpm-itk 2.2" in result.stdout
    assert str(ETC / "itkgw.toml") in result.stdout


@pytest.fixture(scope="module")
def demo_setup() -> None:
    """The configs in etc/ name the demo users and docroots: create them as the README does."""
    subprocess.run([str(ETC / "demo-setup")], check=True, capture_output=True, timeout=120)


@pytest.mark.parametrize("config", sorted(p.name for p in ETC.glob("*.toml")))
def test_every_config_in_etc_is_syntax_ok(demo_setup: None, config: str) -> None:
    result = itkgw("-t", "-f", str(ETC / config))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Syntax OK"


def test_embedded_default_config_is_syntax_ok(demo_setup: None) -> None:
    if os.path.exists("/etc/itkgw/itkgw.toml"):
        pytest.skip("/etc/itkgw/itkgw.toml exists and would be read instead of the embedded config")
    result = itkgw("-t")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Syntax OK"


def write(tmp_path: Path, data: dict[str, object]) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(toml.dumps(data))
    return path


def base_config(site: Site) -> dict[str, object]:
    return {"user": "itkt-www", "group": "itkt-www", "listen": [f"127.0.0.1:{free_port()}"],
            "vhost": [vhost_for(site, "alice.test")]}


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        (lambda c: c.update(max_spare_servrs=3), "max_spare_servrs", "did you mean max_spare_servers"),
        (lambda c: c.update(timeout="soon"), "timeout", "expected a number"),
        (lambda c: c["vhost"][0].update(assign_user_id=["no-such-user", "no-such-user"]),
         "vhost[1].assign_user_id", "no-such-user"),
        (lambda c: c["vhost"][0].update(document_root="no/such/dir"),
         "vhost[1].document_root", "no/such/dir"),
    ],
    ids=["unknown-key", "wrong-type", "missing-user", "relative-docroot"],
)
def test_config_errors_name_file_key_and_hint(tmp_path: Path, docroots, change, key: str, words: str) -> None:
    config = base_config(docroots[ALICE])
    change(config)
    path = write(tmp_path, config)
    for args in (["-t"], ["-D", "FOREGROUND"]):
        result = itkgw(*args, "-f", str(path))
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert f"{path}: {key}" in result.stderr
        assert words in result.stderr
        assert "(" in result.stderr and ")" in result.stderr  # the hint


def test_a_missing_document_root_is_a_warning_and_the_other_vhosts_are_served(tmp_path: Path,
                                                                               docroots) -> None:
    """As httpd's AH00112: one tenant's deleted site does not keep the server from starting."""
    config = base_config(docroots[ALICE])
    config["vhost"].append(vhost_for(docroots[ALICE], "gone.test", document_root="/no/such/dir"))  # type: ignore[attr-defined]
    result = itkgw("-t", "-f", str(write(tmp_path, config)))
    assert result.returncode == 0, result.stderr
    assert "warning:" in result.stderr and "/no/such/dir does not exist" in result.stderr


def test_compat_22_refuses_24_only_settings(tmp_path: Path, docroots) -> None:
    config = base_config(docroots[ALICE])
    config["limit_uid_range"] = [1, 60000]
    path = write(tmp_path, config)
    result = itkgw("--compat=2.2", "-t", "-f", str(path))
    assert result.returncode == 1
    assert "not available with --compat=2.2" in result.stderr
    assert itkgw("--compat=2.4", "-t", "-f", str(path)).returncode == 0


def alive(pid: int) -> bool:
    """Running and not a zombie (a daemon's reaper may be slow, or absent in a container)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_k_commands_drive_a_daemon_through_its_pid_file(tmp_path: Path, docroots) -> None:
    config = base_config(docroots[ALICE])
    pid_file = tmp_path / "itkgw.pid"
    config.update(pid_file=str(pid_file), error_log=str(tmp_path / "error.log"), start_servers=1)
    path = write(tmp_path, config)
    port = int(str(config["listen"][0]).rsplit(":", 1)[1])  # type: ignore[index]
    started = itkgw("-f", str(path), "-k", "start")
    assert started.returncode == 0, started.stderr
    try:
        deadline = time.monotonic() + 10
        while not pid_file.exists():
            assert time.monotonic() < deadline, "no pid file"
            time.sleep(0.05)
        pid = int(pid_file.read_text())
        assert os.getsid(pid) != os.getsid(0)  # detached into its own session
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/index.html", headers={"Host": "alice.test"})
        assert connection.getresponse().status == 200
        connection.close()
        assert itkgw("-f", str(path), "-k", "start").returncode == 1  # already running
        assert itkgw("-f", str(path), "-k", "graceful").returncode == 0
        deadline = time.monotonic() + 10
        while "Doing graceful restart" not in (tmp_path / "error.log").read_text():
            assert time.monotonic() < deadline, "graceful restart not logged"
            time.sleep(0.05)
        stopped = itkgw("-f", str(path), "-k", "stop")
        assert stopped.returncode == 0, stopped.stderr
        assert not pid_file.exists()
        assert not alive(pid)
    finally:
        if pid_file.exists() and pid_file.read_text().strip():
            os.killpg(int(pid_file.read_text()), 9)
