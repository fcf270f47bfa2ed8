"""``reconciler bench``: run the performance measurements (see ``docs/performance.md``)."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any, TextIO

from reconciler.bench import MEASUREMENTS, BenchOptions, render_table, run_benchmarks, to_json
from reconciler.plugin import load_plugins

__all__ = ["add_bench_parser", "bench_command"]

EXIT_OK, EXIT_USAGE = 0, 2


def add_bench_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``bench`` subcommand to the ``reconciler`` parser's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "bench",
        help="measure throughput, socket path, latency, memory and journal speed",
        description="Run the performance measurements in this process, one after the "
        "other, and print a table with each figure and the bar it is held against. "
        "Figures depend on the machine and on what else runs on it; compare runs on "
        "the same machine. Takes 15-25 minutes (1M-order memory cases); --quick takes "
        "about a minute and only shows "
        "that every measurement works.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke-test sizes (seconds, not a benchmark)"
    )
    parser.add_argument(
        "--json", metavar="FILE", help="also write the figures as one JSON object to FILE"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=tuple(MEASUREMENTS),
        metavar="NAME",
        help=f"run only this measurement (repeatable): {', '.join(MEASUREMENTS)}",
    )
    return parser


def bench_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run ``reconciler bench`` with parsed ``args``; returns the exit status.

    The exit status says whether the measurements ran, never whether a bar was met:
    benchmarks are not tests.
    """
    json_path = Path(args.json) if args.json else None
    if json_path is not None and not json_path.parent.is_dir():
        err.write(f"reconciler: error: --json: no such directory: {json_path.parent}\n")
        return EXIT_USAGE

    def progress(line: str) -> None:
        err.write(line + "\n")
        err.flush()

    with tempfile.TemporaryDirectory(prefix="reconciler-bench-") as scratch:
        options = BenchOptions(
            quick=args.quick, plugins=load_plugins(), workdir=Path(scratch), progress=progress
        )
        results = run_benchmarks(options, only=tuple(args.only or ()))
    out.write(render_table(results, args.quick))
    if json_path is not None:
        json_path.write_bytes(to_json(results, args.quick))
        progress(f"bench: figures written to {json_path}")
    return EXIT_OK
