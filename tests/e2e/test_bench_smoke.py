"""The benchmark harness in smoke mode: it still runs, measures, and cleans up.

``bench/`` takes minutes and is not part of the test command; this runs its
``--quick`` mode (a second per cell) so the harness cannot rot unnoticed.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.itkgw_proc import processes
from tests.sites import NOT_ROOT, create_users, remove_users

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"
RESULTS = BENCH / "RESULTS.md"
#: Installing the reference servers on a fresh machine takes a while; a run does not.
PROVISION_TIMEOUT = 900
RUN_TIMEOUT = 120
STATIC_CELL = "1 KiB static, keep-alive, 8 conn"
#: Two itkgw rows, one per process model (the other variants differ only in config keys).
VARIANTS = "php-fcgid,pool"
ITKGW_ROWS = ("itkgw php fcgid", "itkgw pool")
#: The harness's vhost owners (bench/itkbench/sites.py). Created here first, so
#: the harness keeps them and this test knows their uids.
BENCH_USERS = ("itkb-alice", "itkb-bob")
#: In the command line of every server the harness starts (masters, workers,
#: wrk): the prefix of its work directory.
WORKDIR_MARK = "/itkbench-"


def _bench_processes(uids: set[int]) -> set[tuple[int, str]]:
    """Processes of a benchmark run: running as a bench user (pools, PHP, CGI,
    connection children) or naming its work directory (masters, workers, wrk).
    Other tests' servers, running meanwhile, are neither."""
    return {
        (proc.pid, proc.cmdline) for proc in processes()
        if proc.uids & uids or WORKDIR_MARK in proc.cmdline
    }


def _digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def _detail_rows(markdown: str) -> dict[tuple[str, str], list[str]]:
    """The 'Every cell' table: (cell, system) -> the remaining columns."""
    section = markdown.split("## Every cell", 1)[1].split("\n## ", 1)[0]
    table: dict[tuple[str, str], list[str]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 8 and cells[0] not in ("cell", "---"):
            table[(cells[0], cells[1])] = cells[2:]
    return table


def test_quick_bench_measures_every_system_and_leaves_nothing(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip(NOT_ROOT)
    subprocess.run([BENCH / "provision"], check=True, timeout=PROVISION_TIMEOUT)
    results_before = _digest(RESULTS)
    created = create_users(BENCH_USERS)
    try:
        uids = {pwd.getpwnam(name).pw_uid for name in BENCH_USERS}
        before = _bench_processes(uids)
        output = tmp_path / "quick.md"
        done = subprocess.run(
            [sys.executable, "-m", "itkbench", "--quick", "--variants", VARIANTS, "--output", str(output)],
            cwd=BENCH, capture_output=True, text=True, timeout=RUN_TIMEOUT,
        )
        left = _bench_processes(uids) - before
    finally:
        remove_users(created)

    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    table = _detail_rows(output.read_text())
    systems = {system for _, system in table}
    assert {"Apache+mpm-itk", "Apache+mpm-itk, host PHP", "nginx+php-fpm", *ITKGW_ROWS} <= systems, table
    for (cell, system), (rps, p50, p99, errors, rss, _ratio) in table.items():
        assert float(rps.replace(",", "")) > 0, f"{system} served nothing on {cell}"
        assert float(p50) > 0 and float(p99) >= float(p50), f"{system} on {cell}: p50 {p50}, p99 {p99}"
        assert float(rss.replace(",", "")) > 0, f"{system} on {cell}: no memory sampled"
        assert errors.isdigit(), f"{system} on {cell}: errors {errors!r}"
    for row in ITKGW_ROWS:
        itkgw_static = table[(STATIC_CELL, row)]
        assert itkgw_static[3] == "0", f"{row} had errors on {STATIC_CELL}: {itkgw_static}"
        assert float(itkgw_static[5]) > 0, f"no {row} / Apache ratio: {itkgw_static}"
    assert "| " + STATIC_CELL in done.stdout, "the table was not printed"
    assert _digest(RESULTS) == results_before, "a quick run overwrote bench/RESULTS.md"
    assert not left, f"the benchmark left processes running: {left}"
