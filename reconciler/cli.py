"""The ``reconciler`` command line."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from reconciler import _render
from reconciler._cli_bench import add_bench_parser, bench_command
from reconciler._cli_journal import add_export_parser, export_command
from reconciler._cli_live import demo_command, run_command
from reconciler._cli_report import add_report_parser, report_command
from reconciler.alerts import Severity, severity_at_least
from reconciler.capture import CaptureRecord, LineError, read_capture, replay
from reconciler.config import CoreConfig
from reconciler.config_file import ConfigError, load_settings
from reconciler.core import Reconciler
from reconciler.plugin import PluginLoadError, load_plugins

__all__ = ["main"]

EXIT_OK, EXIT_ALERTS, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"reconciler: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


def _severity(text: str) -> Severity:
    try:
        return Severity(text.lower())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid level {text!r} (choose info, warning or critical)"
        ) from None


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="reconciler", description="Order-state reconciliation engine.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    rp = sub.add_parser(
        "replay",
        help="replay captured venue traffic and print the alerts",
        description="Replay one or more captures (JSON Lines; '-' for stdin) "
        "through the reconciliation core, with each record's 't' as the clock.",
    )
    rp.add_argument("captures", nargs="+", metavar="CAPTURE")
    rp.add_argument("--config", metavar="FILE", help="TOML file with a [core] table")
    rp.add_argument("--until", type=float, metavar="T", help="stop at this time (epoch seconds)")
    rp.add_argument(
        "--min-severity",
        type=_severity,
        default=Severity.INFO,
        metavar="LEVEL",
        help="print only alerts at or above LEVEL (info, warning, critical)",
    )
    rp.add_argument(
        "--fail-on",
        type=_severity,
        metavar="LEVEL",
        help="exit 1 if an alert at or above LEVEL fired",
    )
    rp.add_argument(
        "--format",
        choices=("jsonl", "table"),
        help="output format (default: table on a terminal, jsonl otherwise)",
    )
    run = sub.add_parser(
        "run",
        help="run the live engine from a configuration file",
        description="Connect to every configured venue account and reconcile live. "
        "Alerts go to stdout as JSON lines, logs to stderr. Stops on Ctrl-C or SIGTERM.",
    )
    run.add_argument("--config", required=True, metavar="FILE", help="TOML configuration")
    run.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    demo = sub.add_parser(
        "demo",
        help="run the engine against simulated venues on loopback",
        description="Start every venue simulator on loopback with clean flow and "
        "injected faults, run the engine against them, and compare what it detected "
        "with what was injected. Needs no configuration and no network.",
    )
    demo.add_argument(
        "--duration",
        type=float,
        default=60.0,
        metavar="S",
        help="about how long to run (default 60)",
    )
    demo.add_argument(
        "--seed",
        type=int,
        default=1,
        metavar="N",
        help="seed of the simulated scenarios (default 1)",
    )
    check = sub.add_parser(
        "check-config",
        help="validate a configuration file and explain every problem",
    )
    check.add_argument("config", metavar="FILE")
    add_export_parser(sub)
    add_report_parser(sub)
    add_bench_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``reconciler`` command; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "replay":
            return _replay(args, sys.stdout, sys.stderr)
        if args.command == "run":
            return run_command(args.config, sys.stdout, sys.stderr, duration=args.duration)
        if args.command == "demo":
            if args.duration <= 0:
                return _fail(sys.stderr, "--duration must be more than 0")
            return demo_command(args.duration, args.seed, sys.stdout)
        if args.command == "report":
            return report_command(args, sys.stdout, sys.stderr)
        if args.command == "bench":
            return bench_command(args, sys.stdout, sys.stderr)
        if args.command == "export":
            return export_command(args, None, sys.stderr)
        if args.command == "check-config":
            from reconciler._check_config import main_check_config  # noqa: PLC0415

            return main_check_config(args.config, out=sys.stdout, err=sys.stderr)
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        sys.stderr.write("reconciler: interrupted\n")
        return 130
    return EXIT_USAGE  # pragma: no cover - argparse enforces the choices


def _fail(err: TextIO, message: str) -> int:
    err.write(f"reconciler: {message}\n")
    return EXIT_USAGE


def _replay(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    config = CoreConfig()
    if args.config:
        try:
            config = load_settings(args.config).core
        except ConfigError as exc:
            return _fail(err, str(exc))
    try:
        plugins = load_plugins()
    except PluginLoadError as exc:
        return _fail(err, str(exc))
    sources: list[list[CaptureRecord]] = []
    errors: list[LineError] = []
    for name in args.captures:
        try:
            if name == "-":
                lines = sys.stdin.buffer.read().splitlines()
            else:
                lines = Path(name).read_bytes().splitlines()
        except OSError as exc:
            return _fail(err, f"cannot read capture {name}: {exc.strerror or exc}")
        sources.append(list(read_capture(lines, name, errors, venues=plugins)))
    err.writelines(f"reconciler: skipped {problem}\n" for problem in errors)

    fmt = args.format or ("table" if out.isatty() else "jsonl")
    reconciler = Reconciler(plugins, config)
    worst: Severity | None = None
    shown = []
    for alert in replay(sources, reconciler, until=args.until):
        if worst is None or severity_at_least(alert.severity, worst):
            worst = alert.severity
        if severity_at_least(alert.severity, args.min_severity):
            shown.append(alert)
            if fmt == "jsonl":
                out.write(_render.jsonl(alert))
    if fmt == "table":
        out.write(_render.table(shown))
    err.write(_render.summary(reconciler.stats(), len(errors)) + "\n")
    if args.fail_on is not None and worst is not None and severity_at_least(worst, args.fail_on):
        return EXIT_ALERTS
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
