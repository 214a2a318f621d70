"""Run itkgw with cProfile in every process it forks, for ``itkbench --profile``.

Sampling profilers attached to the master see mostly idle workers and miss
connection children that live a few milliseconds; this profiles each forked
process from its fork to its ``os._exit`` and writes ``PID.prof`` into a
directory every identity can write to, for :func:`summary` to add up. Times
are CPU seconds of the process itself (waits cost nothing; exec'd php-cgi
and CGI scripts are not in it).

    python3 -m itkbench.forkprof DIR -f itkgw.toml -D FOREGROUND
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import runpy
import sys
import time
from pathlib import Path
from typing import NoReturn


class ForkProfiler:
    """A fresh profiler after each fork; its stats written when the process calls os._exit."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.profile: cProfile.Profile | None = None
        self._real_exit = os._exit

    def install(self) -> None:
        os.register_at_fork(after_in_child=self._restart)
        os._exit = self._exit  # type: ignore[assignment]

    def _restart(self) -> None:
        if self.profile is not None:
            self.profile.disable()  # the parent's, inherited by the fork
        self.profile = cProfile.Profile(time.process_time)
        self.profile.enable()

    def _exit(self, code: int) -> NoReturn:
        if self.profile is not None:
            self.profile.disable()
            self.profile.dump_stats(str(self.directory / f"{os.getpid()}.prof"))
        self._real_exit(code)


def prepare(directory: Path) -> None:
    """A directory the workers and every vhost's children can write their stats into."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o1777)


def summary(directory: Path, limit: int = 25) -> str:
    """The functions that took the most time, over every process profiled."""
    files = sorted(str(path) for path in directory.glob("*.prof"))
    if not files:
        return f"no profiles in {directory}\n"
    out = io.StringIO()
    stats = pstats.Stats(files[0], stream=out)
    for name in files[1:]:
        stats.add(name)
    out.write(f"{len(files)} processes profiled, CPU seconds\n")
    stats.files = []  # type: ignore[attr-defined]  # one header line per file is noise
    stats.sort_stats("tottime").print_stats(limit)
    stats.sort_stats("cumulative").print_stats(limit)
    return out.getvalue()


def main() -> None:
    directory = Path(sys.argv[1])
    ForkProfiler(directory).install()
    sys.argv = ["itkgw", *sys.argv[2:]]
    runpy.run_module("itkgw", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
