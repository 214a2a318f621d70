"""Many identities: N vhosts, each its own user, a few PHP requests each, in random order.

    python3 -m itkbench.identities [--count 100] [--requests 10] [--concurrency 8] [--idle 5]

itkgw keeps php-cgi processes per identity (PHPHandler fcgid) with
FcgidMinProcessesPerClass 0, FcgidMaxProcessesPerClass 2 and FcgidMaxProcesses
--max-processes; nginx gets one php-fpm pool per identity (pm = ondemand,
max 2 children, the same idle timeout), as a host that gives every customer
a pool runs it. Both serve the same hello.php in every docroot. Reported, per
system: failed requests, the peak of PHP processes and of memory during the
load (summed RSS, every process of the server counted whole, and summed PSS,
each page shared by forked processes counted once), and the PHP processes
left after the idle timeout. Each request is on a new connection. itkgw runs
twice: in the itk process model, and in the pool model (one pool per identity,
PoolIdleTimeout the same idle timeout), whose pool workers left after the idle
timeout are counted too.
"""

from __future__ import annotations

import argparse
import http.client
import pwd
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from itkbench import nginx_fpm
from itkbench.itkgw_server import WEB_USER, Itkgw, Variant
from itkbench.processes import proportional_bytes, server_processes
from itkbench.sites import EXPECTED_BODY, build_sites, create_users, remove_users
from itkbench.systems import System

#: Every how many samples (of 100 ms) the summed PSS is read too.
_PSS_EVERY = 5

#: A pool that forks its children on demand (at most two) and ends them when idle.
ONDEMAND_PM = "pm = ondemand\npm.max_children = 2\npm.process_idle_timeout = {idle}s\n"


class NginxOndemand(nginx_fpm.NginxFpm):
    """nginx with one ondemand php-fpm pool per identity, and no CGI."""

    name = "nginx+php-fpm ondemand"

    def __init__(self, workdir: Path, sites: list, idle: int) -> None:
        super().__init__(workdir, sites)
        self.idle = idle

    def fpm_config_text(self) -> str:
        text = nginx_fpm.FPM_GLOBAL.format(root=self.workdir)
        for site in self.sites:
            pm = ONDEMAND_PM.format(idle=self.idle)
            text += nginx_fpm.FPM_POOL.format(user=site.user.pw_name, socket=self.fpm_socket(site),
                                              web_user=nginx_fpm.WEB_USER, pm=pm)
        return text

    def _launch_fcgiwraps(self, env: dict[str, str]) -> None:
        """No CGI in this test."""


def php_processes(system: System, command: str) -> int:
    """PHP processes of ``system`` now (php-cgi under itkgw; pool children under php-fpm)."""
    count = 0
    for proc in server_processes(system.sessions):
        try:
            cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if command.encode() in cmdline:
            count += 1
    return count


def pool_workers(system: System) -> int:
    """itkgw processes of ``system`` running as a site's user now (the pool model's workers)."""
    count = 0
    for proc in server_processes(system.sessions):
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
            cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError):
            continue
        uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
        if b"itkgw" in cmdline and uid not in (0, pwd.getpwnam(WEB_USER).pw_uid):
            count += 1
    return count


def load(system: System, order: list[str], concurrency: int) -> Counter[int]:
    """Send one GET /hello.php per host in ``order``, ``concurrency`` at a time."""
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    queue = list(order)

    def client() -> None:
        while True:
            with lock:
                if not queue:
                    return
                host = queue.pop()
            connection = http.client.HTTPConnection("127.0.0.1", system.port, timeout=30)
            try:
                connection.request("GET", "/hello.php", headers={"Host": host, "Connection": "close"})
                response = connection.getresponse()
                ok = response.read() == EXPECTED_BODY["hello.php"]
                status = response.status if ok or response.status != 200 else 599
            except OSError:
                status = 0
            finally:
                connection.close()
            with lock:
                statuses[status] += 1

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def measure(system: System, command: str, order: list[str], concurrency: int, idle: int) -> dict[str, object]:
    peak = {"rss": 0, "pss": 0, "php": 0}
    done = threading.Event()

    def sample() -> None:
        rounds = 0
        while not done.is_set():
            processes = server_processes(system.sessions)
            rss = sum(proc.rss_bytes for proc in processes)
            # PSS costs the kernel a walk of each process's pages: read at a new peak of RSS
            # (where PSS peaks too, near enough) and every few samples, not at each.
            if rss > peak["rss"] or rounds % _PSS_EVERY == 0:
                peak["pss"] = max(peak["pss"], sum(proportional_bytes(proc.pid) for proc in processes))
            peak["rss"] = max(peak["rss"], rss)
            peak["php"] = max(peak["php"], php_processes(system, command))
            rounds += 1
            done.wait(0.1)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.monotonic()
    try:
        statuses = load(system, order, concurrency)
    finally:
        done.set()
        sampler.join()
    seconds = time.monotonic() - started
    time.sleep(idle + 3)  # the idle timeout, and the scans that act on it
    return {"system": system.name, "requests": sum(statuses.values()),
            "failed": sum(count for status, count in statuses.items() if status != 200),
            "seconds": seconds, "peak_php": peak["php"], "peak_rss_mib": peak["rss"] / 2**20,
            "peak_pss_mib": peak["pss"] / 2**20,
            "php_after_idle": php_processes(system, command),
            "workers_after_idle": pool_workers(system) if "pool" in system.name else "-"}


def _show_errors(workdir: Path) -> None:
    """The error lines of a system whose requests failed, for the reader to see why."""
    for log in sorted(workdir.glob("*error*.log")):
        lines = [line for line in log.read_text(errors="replace").splitlines()
                 if ":error]" in line or not line.startswith("[")]  # tracebacks too
        for line in lines[-20:]:
            print(f"{log.name}: {line}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="itkbench.identities", description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--requests", type=int, default=10, help="requests per vhost")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--idle", type=int, default=5, help="idle timeout of PHP processes, seconds")
    parser.add_argument("--max-processes", type=int, default=50, help="itkgw's FcgidMaxProcesses")
    parser.add_argument("--output", help="also write the table here")
    args = parser.parse_args(argv)
    names = [f"itkb-u{number:03d}" for number in range(args.count)]
    created = create_users(names)
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="itkbench-ids-") as work:
            workdir = Path(work)
            workdir.chmod(0o755)
            sites = build_sites(workdir / "sites", names)
            order = [site.server_name for site in sites] * args.requests
            random.Random(1).shuffle(order)
            vhost = {"php_extensions": [".php"], "php_handler": "fcgid", "fcgid_idle_timeout": args.idle,
                     "fcgid_min_processes_per_class": 0, "fcgid_max_processes_per_class": 2}
            variant = Variant(key="identities", label="itkgw php fcgid",
                              server={"fcgid_max_processes": args.max_processes}, vhost=vhost)
            pooled = Variant(key="identities-pool", label="itkgw pool php fcgid",
                             server={"fcgid_max_processes": args.max_processes, "process_model": "pool",
                                     "pool_idle_timeout": args.idle}, vhost=vhost)
            systems: list[tuple[System, str]] = [
                (Itkgw(workdir / "itkgw", sites, variant), "php-cgi"),
                (Itkgw(workdir / "itkgw-pool", sites, pooled), "php-cgi"),
                (NginxOndemand(workdir / "nginx", sites, args.idle), "php-fpm: pool"),
            ]
            for system, command in systems:
                system.start()
                try:
                    rows.append(measure(system, command, order, args.concurrency, args.idle))
                    if rows[-1]["failed"]:
                        _show_errors(system.workdir)
                finally:
                    system.stop()
    finally:
        remove_users(created)
    lines = [f"{args.count} vhosts, one identity each, {args.requests} requests each in random order, "
             f"{args.concurrency} at a time, each on a new connection; PHP idle timeout {args.idle} s.", "",
             "| system | requests | failed | seconds | peak PHP processes | peak RSS MiB | peak PSS MiB "
             "| PHP processes after idle | pool workers after idle |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['system']} | {row['requests']} | {row['failed']} | {row['seconds']:.1f} | "
                     f"{row['peak_php']} | {row['peak_rss_mib']:.0f} | {row['peak_pss_mib']:.0f} | "
                     f"{row['php_after_idle']} | "
                     f"{row['workers_after_idle']} |")
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if args.output:
        Path(args.output).write_text(text)
    return 0 if all(row["failed"] == 0 for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
