"""One benchmark run: sites, servers, the cells in turn on every system, cleanup.

Every system runs for the whole benchmark; each cell is measured on each
system in turn (A, N, I, A, N, I ... with several rounds), so slow drift of a
shared machine hits every system alike. Whatever happens (an error, Ctrl-C,
SIGTERM), every server is stopped and nothing it started is left running.
"""

from __future__ import annotations

import logging
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from itkbench import preflight, wrk
from itkbench.apache import ApacheItk, ApacheItkHostPhp
from itkbench.cells import Cell
from itkbench.itkgw_server import REPO, Itkgw, Variant, export_commit, prepare_native
from itkbench.nginx_fpm import NginxFpm
from itkbench.processes import PeakRss
from itkbench.sites import USERS, Site, build_sites, create_users, remove_users
from itkbench.systems import System

log = logging.getLogger("itkbench")

SYSTEM_KINDS = ("apache", "apache-host-php", "nginx", "itkgw")


@dataclass(frozen=True)
class Plan:
    """What to measure and how long."""

    cells: list[Cell]
    systems: tuple[str, ...]
    variants: list[Variant]
    seconds: int
    warmup: int
    rounds: int
    itkgw_commit: str | None = None
    #: The interpreter itkgw runs under.
    python: str = sys.executable
    #: Profile itkgw's processes with cProfile into this directory (itkbench.forkprof).
    profile_dir: Path | None = None
    #: Measure nothing: keep the systems serving until interrupted (to attach a profiler).
    serve_only: bool = False
    #: What the run found out about what it ran, for the results' machine lines.
    notes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Measurement:
    """One system on one cell in one round; ``skipped`` says why there is no result."""

    cell: Cell
    system: str
    kind: str
    round: int
    result: wrk.WrkResult | None = None
    peak_rss: int = 0
    skipped: str | None = None


class Interrupted(Exception):
    """SIGTERM or SIGHUP reached the harness: stop everything, then exit."""


def _interrupt(signum: int, frame: object) -> None:
    raise Interrupted(signal.Signals(signum).name)


@contextmanager
def interruptible() -> Iterator[None]:
    """SIGTERM and SIGHUP unwind like Ctrl-C, so cleanup runs."""
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def uninterruptible() -> Iterator[None]:
    """Cleanup is not cut short by a second Ctrl-C or a SIGTERM (it is bounded in time)."""
    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def make_systems(plan: Plan, workdir: Path, sites: list[Site], itkgw_source: Path) -> list[System]:
    systems: list[System] = []
    if "apache" in plan.systems:
        systems.append(ApacheItk(workdir / "apache", sites))
    if "apache-host-php" in plan.systems:
        systems.append(ApacheItkHostPhp(workdir / "apache-host-php", sites))
    if "nginx" in plan.systems:
        systems.append(NginxFpm(workdir / "nginx", sites))
    if "itkgw" in plan.systems:
        systems += [Itkgw(workdir / f"itkgw-{variant.key}", sites, variant, itkgw_source,
                          profile_dir(plan, variant), plan.python)
                    for variant in plan.variants]
    return systems


def profile_dir(plan: Plan, variant: Variant) -> Path | None:
    """Where a variant's processes write their stats (world-writable: every vhost user writes)."""
    return None if plan.profile_dir is None else plan.profile_dir / variant.key


def run(plan: Plan, keep_workdir: bool = False) -> list[Measurement]:
    """Measure every cell of ``plan`` on every system; return the measurements."""
    workdir = Path(tempfile.mkdtemp(prefix="itkbench-"))
    workdir.chmod(0o755)
    created_users: list[str] = []
    systems: list[System] = []
    try:
        with interruptible():
            created_users = create_users(USERS)
            sites = build_sites(workdir / "sites")
            source = REPO if plan.itkgw_commit is None else export_commit(plan.itkgw_commit, workdir / "src")
            if "itkgw" in plan.systems:
                plan.notes["itkgw compiled"] = prepare_native(source, plan.python,
                                                              profiling=plan.profile_dir is not None)
                log.info("itkgw compiled: %s", plan.notes["itkgw compiled"])
            systems = make_systems(plan, workdir, sites, source)
            for system in systems:
                log.info("starting %s on 127.0.0.1:%s", system.name, system.port)
                system.start()
            for system in systems:
                preflight.check(system, plan.cells)
            if plan.serve_only:
                _serve_until_interrupted(systems)
                return []
            return _measure(plan, systems, workdir)
    finally:
        with uninterruptible():
            _stop_all(systems)
            remove_users(created_users)
            if keep_workdir:
                log.info("configs and logs kept in %s", workdir)
            else:
                shutil.rmtree(workdir)


def _serve_until_interrupted(systems: list[System]) -> None:
    for system in systems:
        log.info("%s: http://127.0.0.1:%s/ (Host: %s), master pid %s", system.name, system.port,
                 " or ".join(site.server_name for site in system.sites),
                 " ".join(str(process.session) for process in system.launched))
    log.info("serving until Ctrl-C")
    try:
        signal.pause()
    except (KeyboardInterrupt, Interrupted):
        log.info("stopping")


def _measure(plan: Plan, systems: list[System], workdir: Path) -> list[Measurement]:
    measurements = []
    for index, cell in enumerate(plan.cells, 1):
        for round_number in range(1, plan.rounds + 1):
            for system in systems:
                log.info("[%d/%d] %s: %s (round %d)", index, len(plan.cells), cell.label, system.name,
                         round_number)
                measurement = _measure_one(plan, system, cell, round_number, workdir)
                if measurement.result is not None:
                    log.info("    %.0f req/s, p99 %.1f ms, %d errors, peak RSS %.0f MiB",
                             measurement.result.rps, measurement.result.p99_ms, measurement.result.errors,
                             measurement.peak_rss / 2**20)
                measurements.append(measurement)
    return measurements


def _measure_one(plan: Plan, system: System, cell: Cell, round_number: int, workdir: Path) -> Measurement:
    reason = system.unsupported(cell)
    if reason is not None:
        return Measurement(cell, system.name, system.kind, round_number, skipped=reason)
    hosts = [site.server_name for site in system.sites]
    script = workdir / "cell.lua"
    if plan.warmup:
        wrk.run(cell, system.port, hosts, plan.warmup, script)
    with PeakRss(system.sessions) as rss:
        result = wrk.run(cell, system.port, hosts, plan.seconds, script)
    for process in system.launched:
        process.check_running()
    return Measurement(cell, system.name, system.kind, round_number, result=result, peak_rss=rss.peak)


def _stop_all(systems: list[System]) -> None:
    """Stop every system, even when stopping one of them fails."""
    for system in reversed(systems):
        try:
            killed = system.stop()
        except Exception:  # noqa: BLE001 - the other systems must be stopped all the same
            log.exception("stopping %s failed", system.name)
            continue
        if killed:
            log.warning("%s left processes that needed SIGKILL: %s", system.name, killed)
