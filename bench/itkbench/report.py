"""The results as Markdown: the machine, the settings, a summary and a detail table.

``bench/RESULTS.md`` is rewritten by every full run, except the hand-written
profile section (from :data:`KEPT_HEADING` to the end), which is carried over.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from itkbench import systems, wrk
from itkbench.cells import Cell
from itkbench.itkgw_server import describe_source
from itkbench.runner import Measurement, Plan

KEPT_HEADING = "## Where the time goes"
REFERENCE_KIND = "apache"


@dataclass(frozen=True)
class Row:
    """One system on one cell, over all rounds: medians, summed errors, highest RSS."""

    cell: Cell
    system: str
    kind: str
    rps: float | None
    p50_ms: float | None
    p99_ms: float | None
    errors: int
    peak_rss: int
    skipped: str | None


def rows(measurements: Sequence[Measurement]) -> list[Row]:
    """One row per (cell, system), in the order they were first measured."""
    groups: dict[tuple[Cell, str], list[Measurement]] = {}
    for measurement in measurements:
        groups.setdefault((measurement.cell, measurement.system), []).append(measurement)
    result = []
    for (cell, system), group in groups.items():
        done = [m.result for m in group if m.result is not None]
        result.append(Row(
            cell=cell, system=system, kind=group[0].kind,
            rps=statistics.median(r.rps for r in done) if done else None,
            p50_ms=statistics.median(r.p50_ms for r in done) if done else None,
            p99_ms=statistics.median(r.p99_ms for r in done) if done else None,
            errors=sum(r.errors for r in done),
            peak_rss=max((m.peak_rss for m in group), default=0),
            skipped=group[0].skipped,
        ))
    return result


def ratio(row: Row, reference: Row | None) -> str:
    if row.rps is None or reference is None or not reference.rps:
        return "n/a"
    return f"{row.rps / reference.rps:.2f}"


def _reference(all_rows: Sequence[Row], cell: Cell) -> Row | None:
    return next((r for r in all_rows if r.cell == cell and r.kind == REFERENCE_KIND), None)


def _table(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return "\n".join(lines)


def _num(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def summary_table(all_rows: Sequence[Row]) -> str:
    """req/s of every system side by side, one line per cell, then itkgw / Apache."""
    system_names = list(dict.fromkeys(r.system for r in all_rows))
    itkgw_names = list(dict.fromkeys(r.system for r in all_rows if r.kind == "itkgw"))
    header = ["cell", *(f"{name} req/s" for name in system_names),
              *(f"{name} / Apache" for name in itkgw_names)]
    body = []
    for cell in dict.fromkeys(r.cell for r in all_rows):
        by_system = {r.system: r for r in all_rows if r.cell == cell}
        reference = _reference(all_rows, cell)
        line = [cell.label]
        for name in system_names:
            row = by_system.get(name)
            line.append("n/a" if row is None else _num(row.rps))
        line += [ratio(by_system[name], reference) if name in by_system else "n/a" for name in itkgw_names]
        body.append(line)
    return _table(header, body)


def detail_table(all_rows: Sequence[Row]) -> str:
    header = ["cell", "system", "req/s", "p50 ms", "p99 ms", "errors", "peak RSS MiB", "itkgw / Apache"]
    body = []
    for row in all_rows:
        if row.skipped:
            body.append([row.cell.label, row.system, "n/a", "n/a", "n/a", "n/a", "n/a", row.skipped])
            continue
        body.append([
            row.cell.label, row.system, _num(row.rps), _num(row.p50_ms, 2), _num(row.p99_ms, 2),
            str(row.errors), _num(row.peak_rss / 2**20),
            ratio(row, _reference(all_rows, row.cell)) if row.kind == "itkgw" else "",
        ])
    return _table(header, body)


def _first_line(argv: Sequence[str]) -> str:
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=10)
    except FileNotFoundError:
        return "not installed"
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if text else "unknown"


def _package_version(package: str) -> str:
    return _first_line(["dpkg-query", "-W", "-f=${Version}", package])


def machine(itkgw_commit: str | None, python: str = sys.executable,
            notes: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """What the numbers were measured on, and which itkgw."""
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal:"))
    return [
        ("CPU", f"{cpu}, {os.cpu_count()} cores"),
        ("RAM", f"{mem_kib / 2**20:.1f} GiB"),
        ("kernel", f"{platform.system()} {platform.release()}"),
        ("OS", _first_line(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"])),
        ("apache2", _first_line(["/usr/sbin/apache2", "-v"])),
        ("mpm-itk", f"libapache2-mpm-itk {_package_version('libapache2-mpm-itk')}"),
        ("nginx", _first_line(["/usr/sbin/nginx", "-v"])),
        ("php", _first_line(["php", "-v"])),
        ("python (itkgw's)", _interpreter(python)),
        ("wrk", _first_line(["/usr/bin/wrk", "-v"])),
        ("itkgw", describe_source(itkgw_commit)),
        *(notes or {}).items(),
    ]


def _interpreter(python: str) -> str:
    """The interpreter's path and version."""
    return f"{python} {_first_line([python, '-c', 'import platform; print(platform.python_version())'])}"


def markdown(measurements: Sequence[Measurement], *, command: str, date: str, plan: Plan, quick: bool) -> str:
    all_rows = rows(measurements)
    seconds, warmup, rounds = plan.seconds, plan.warmup, plan.rounds
    machine_lines = "\n".join(f"- {name}: {value}"
                              for name, value in machine(plan.itkgw_commit, plan.python, plan.notes))
    matrix = ("the reduced smoke matrix (`--quick`)" if quick
              else "the full matrix: {1 KiB, 100 KiB static, hello.php, CGI} x {keep-alive, close} "
                   "x {8, 64} connections, plus hello.php on alternating vhosts")
    return f"""# itkgw benchmark results

Measured {date} with

    {command}

Cells: {matrix}; {seconds} s per cell and system after a {warmup} s warm-up,
{rounds} round(s), the systems interleaved within each cell.

## Machine

{machine_lines}

## Requests per second

{summary_table(all_rows)}

## Every cell

{detail_table(all_rows)}

## How to read this

- req/s, p50 and p99 latency are wrk's ({wrk.REQUEST_TIMEOUT} s timeout, 2 threads), medians over the
  rounds. The load generator runs on the same machine and shares its cores with the server.
- errors = socket errors (connect, read, write, timeout) + responses whose status is not 200,
  counted by wrk's Lua script on every response (on the 100 KiB cells, where that hook would
  cost wrk a fifth of its throughput, wrk's own count of statuses >= 400). Before any load each
  file is fetched from each vhost of each system and its status and body compared.
- peak RSS = the highest sum, sampled every 100 ms during the cell, of the resident size of every
  process of the server (master, workers, connection children, PHP and CGI processes). Shared
  pages count once per process, so prefork servers (Apache, itkgw) look heavier than they are.
- Apache and itkgw: prefork with StartServers {systems.START_SERVERS}, MinSpareServers {systems.MIN_SPARE},
  MaxSpareServers {systems.MAX_SPARE}, MaxRequestWorkers {systems.MAX_WORKERS}; mpm-itk and itkgw fork
  a child per connection and switch it to the vhost's user. Apache runs PHP in mod_php, itkgw execs
  php-cgi per request (one row per itkgw handler, from `bench/variants/`).
- nginx: 2 workers; php-fpm one static pool of 16 children per user; CGI through one fcgiwrap
  (8 children) per user, run as that user.
- All three: keep-alive timeout {systems.KEEP_ALIVE_TIMEOUT} s, at most
  {systems.MAX_KEEP_ALIVE_REQUESTS} requests per connection, access logs off, error logs at warn.
- "alternating vhosts": consecutive requests of each wrk thread go to the two vhosts in turn,
  each on a new connection.
"""


def write(path: Path, text: str) -> None:
    """Write ``text``, carrying over the kept section of the file it replaces."""
    kept = ""
    if path.exists():
        old = path.read_text()
        start = old.find(KEPT_HEADING)
        if start >= 0:
            kept = "\n" + old[start:]
    path.write_text(text + kept)
