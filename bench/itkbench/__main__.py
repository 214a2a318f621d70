"""``python3 -m itkbench``: run the benchmark, print the tables, write the results.

Run as root from ``bench/`` (``make bench`` does, after installing what it
needs with ``bench/provision``).
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
import time
from pathlib import Path

from itkbench import cells, forkprof, report, runner
from itkbench.itkgw_server import VARIANTS_DIR, load_variants

RESULTS = Path(__file__).resolve().parents[1] / "RESULTS.md"
FULL_SECONDS = 5
FULL_WARMUP = 1
QUICK_SECONDS = 1
DEFAULT_SYSTEMS = ",".join(runner.SYSTEM_KINDS)
log = logging.getLogger("itkbench")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="itkbench", description="itkgw side by side with Apache+mpm-itk and nginx+php-fpm")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke mode: the reduced matrix, {QUICK_SECONDS} s per cell, no warm-up")
    parser.add_argument("--seconds", type=int, help=f"seconds per cell and system (default {FULL_SECONDS})")
    parser.add_argument("--warmup", type=int, help=f"warm-up seconds before each (default {FULL_WARMUP})")
    parser.add_argument("--rounds", type=int, default=1, help="measure each cell this many times (medians)")
    parser.add_argument("--systems", default=DEFAULT_SYSTEMS,
                        help=f"comma-separated: {', '.join(runner.SYSTEM_KINDS)} (default all)")
    parser.add_argument("--variants", help=f"itkgw variants (file stems in {VARIANTS_DIR}), default all")
    parser.add_argument("--itkgw-commit", metavar="REV",
                        help="run itkgw as of this git revision (exported with git archive) "
                             "instead of the working tree")
    parser.add_argument("--python", metavar="PATH", default=sys.executable,
                        help="the interpreter itkgw runs under (default: this one); it must import "
                             "itkgw's dependencies, as etc/provision installs them into the python3 "
                             "it finds (/usr/bin/python3 on a plain Debian)")
    parser.add_argument("--cells", help="comma-separated cell keys, e.g. php-ka-64,1k-close-8,php-mixed-64")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="run itkgw under cProfile in every forked process; stats and a summary "
                             "per variant go to DIR (use with --systems itkgw and one or two --cells)")
    parser.add_argument("--serve", action="store_true",
                        help="measure nothing: start the systems, print their ports and pids, and keep "
                             "them serving until Ctrl-C (to load and profile them by hand)")
    parser.add_argument("--output", type=Path,
                        help=f"results file (default {RESULTS} for a full run of every system, "
                             "else a file in /tmp)")
    parser.add_argument("--keep-workdir", action="store_true", help="keep the configs and logs")
    return parser.parse_args(argv)


def make_plan(args: argparse.Namespace) -> runner.Plan:
    systems = tuple(name.strip() for name in args.systems.split(",") if name.strip())
    unknown = set(systems) - set(runner.SYSTEM_KINDS)
    if unknown:
        known = ", ".join(runner.SYSTEM_KINDS)
        raise SystemExit(f"itkbench: unknown systems {sorted(unknown)}; known: {known}")
    variants = load_variants()
    if args.variants:
        wanted = [name.strip() for name in args.variants.split(",")]
        by_key = {variant.key: variant for variant in variants}
        missing = [name for name in wanted if name not in by_key]
        if missing:
            raise SystemExit(f"itkbench: unknown variants {missing}; known: {', '.join(by_key)}")
        variants = [by_key[name] for name in wanted]
    matrix = cells.quick_matrix() if args.quick else cells.full_matrix()
    if args.cells:
        try:
            matrix = cells.select(matrix, [key.strip() for key in args.cells.split(",")])
        except ValueError as exc:
            raise SystemExit(f"itkbench: {exc}") from None
    seconds = args.seconds or (QUICK_SECONDS if args.quick else FULL_SECONDS)
    warmup = args.warmup if args.warmup is not None else (0 if args.quick else FULL_WARMUP)
    return runner.Plan(cells=matrix, systems=systems, variants=variants, seconds=seconds, warmup=warmup,
                       rounds=args.rounds, itkgw_commit=args.itkgw_commit, python=args.python,
                       profile_dir=args.profile.resolve() if args.profile else None,
                       serve_only=args.serve)


def output_path(args: argparse.Namespace) -> Path:
    """RESULTS.md for full runs of every system; quick, partial and profiled runs
    never overwrite it unless --output says so."""
    if args.output is not None:
        return Path(args.output)
    partial = args.cells or args.variants or args.profile or args.systems != DEFAULT_SYSTEMS
    if args.quick or partial:
        return Path(f"/tmp/itkbench-{'quick' if args.quick else 'partial'}-{os.getpid()}.md")
    return RESULTS


def _write_profiles(plan: runner.Plan) -> None:
    """Each variant's profile summary, printed and written next to its stats."""
    for variant in plan.variants:
        directory = runner.profile_dir(plan, variant)
        if directory is None or not directory.exists():
            continue
        text = forkprof.summary(directory)
        summary_path = directory.with_suffix(".txt")
        summary_path.write_text(text)
        print(f"\n== {variant.label}: where the time went (cProfile, every forked process) ==\n")
        print(text)
        print(f"itkbench: profile summary in {summary_path}, stats in {directory}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="itkbench: %(message)s")
    if os.geteuid() != 0:
        print("itkbench: run me as root (it creates users and starts servers that switch to them)",
              file=sys.stderr)
        return 1
    plan = make_plan(args)
    given = sys.argv[1:] if argv is None else argv
    command = "cd bench && " + shlex.join(["python3", "-m", "itkbench", *given])
    date = time.strftime("%Y-%m-%d %H:%M %Z")
    started = time.monotonic()
    try:
        measurements = runner.run(plan, keep_workdir=args.keep_workdir)
    except KeyboardInterrupt:
        print("itkbench: interrupted; every server was stopped", file=sys.stderr)
        return 130
    except runner.Interrupted as exc:
        print(f"itkbench: {exc}; every server was stopped", file=sys.stderr)
        return 143
    if plan.serve_only:
        return 0
    text = report.markdown(measurements, command=command, date=date, plan=plan, quick=args.quick)
    path = output_path(args)
    report.write(path, text)
    all_rows = report.rows(measurements)
    print(report.summary_table(all_rows))
    print()
    print(report.detail_table(all_rows))
    if plan.profile_dir is not None:
        _write_profiles(plan)
    print(f"\nitkbench: {len(measurements)} measurements in {time.monotonic() - started:.0f} s; "
          f"results written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
