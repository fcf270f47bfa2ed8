"""``reconciler report``: an audit report of a journal (see ``docs/reports.md``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO

from reconciler.report import FORMATS, ReportError, build_report, open_report_journal, render
from reconciler.report import parse_time as _parse_time

__all__ = ["add_report_parser", "report_command"]

EXIT_OK, EXIT_USAGE = 0, 2


def add_report_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``report`` subcommand to the ``reconciler`` parser's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "report",
        help="write an audit report (html, md, json or csv) of a journal",
        description="Replay a journal's records to rebuild every order's lifecycle and "
        "write a report: summary and connection health, every alert raised with its "
        "evidence, and each order's timeline and fill reconciliation. Times are epoch "
        "seconds or ISO-8601 UTC (2025-07-10T11:31:41Z).",
    )
    parser.add_argument("journal", metavar="JOURNAL", help="the journal (SQLite) file")
    parser.add_argument(
        "--from", dest="from_t", metavar="T", help="only records and alerts at or after T"
    )
    parser.add_argument("--to", dest="to_t", metavar="T", help="only records and alerts up to T")
    parser.add_argument("--venue", metavar="V", help="only this venue")
    parser.add_argument("--account", metavar="A", help="only this account name")
    parser.add_argument("--format", required=True, choices=FORMATS, help="output format")
    parser.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")
    return parser


def report_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run ``reconciler report`` with parsed ``args``; returns the exit status.

    A problem the user can fix (a missing or foreign file, a bad time, an unwritable
    ``--out``) is one line on ``err`` and status 2.
    """
    try:
        from_t = None if args.from_t is None else _parse_time(args.from_t)
        to_t = None if args.to_t is None else _parse_time(args.to_t)
        if from_t is not None and to_t is not None and from_t > to_t:
            raise ReportError(f"--from {args.from_t} is after --to {args.to_t}")
        journal = open_report_journal(args.journal)
        try:
            report = build_report(
                journal,
                from_t=from_t,
                to_t=to_t,
                venue=args.venue,
                account=args.account,
                source=Path(args.journal).name,
            )
        finally:
            journal.close()
        text = render(report, args.format)
        if args.out is None:
            out.write(text)
        else:
            _write(Path(args.out), text)
    except ReportError as exc:
        err.write(f"reconciler: {exc}\n")
        return EXIT_USAGE
    return EXIT_OK


def _write(path: Path, text: str) -> None:
    try:
        with path.open("w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    except OSError as exc:
        raise ReportError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
