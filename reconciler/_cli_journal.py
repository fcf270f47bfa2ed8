"""``reconciler export``: a journal (or part of it) as a capture file, for ``replay``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from typing import Any, BinaryIO, TextIO

from reconciler import report
from reconciler.capture import CaptureRecord, encode_record
from reconciler.journal import JournalError, open_journal

__all__ = ["add_export_parser", "export_command", "parse_time"]

EXIT_OK, EXIT_USAGE = 0, 2


def parse_time(text: str) -> float:
    """:func:`reconciler.report.parse_time` for argparse (its error as a usage error)."""
    try:
        return report.parse_time(text)
    except report.ReportError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_export_parser(sub: Any) -> None:
    """Register ``export`` on the command's subparsers."""
    ex = sub.add_parser(
        "export",
        help="write a journal's records as a capture file (for replay)",
        description="Write the frames, connection events, expectations, ticks and live "
        "reports of a journal as capture lines (JSON Lines), in the order the engine "
        "applied them. `reconciler replay` of the output raises the same alerts the "
        "live session raised. Safe to run while an engine writes the journal.",
    )
    ex.add_argument("journal", metavar="JOURNAL")
    ex.add_argument("--from", dest="from_t", type=parse_time, metavar="T", help="first time")
    ex.add_argument("--to", dest="to_t", type=parse_time, metavar="T", help="last time")
    ex.add_argument("--venue", metavar="V", help="only this venue's records")
    ex.add_argument("--out", metavar="FILE", help="write here instead of stdout")


def export_command(args: argparse.Namespace, out: BinaryIO | None, err: TextIO) -> int:
    """Run ``export``; writes bytes to ``--out`` or ``out`` (stdout's buffer by default)."""
    try:
        journal = open_journal(args.journal, read_only=True)
    except JournalError as exc:
        err.write(f"reconciler: {exc}\n")
        return EXIT_USAGE
    try:
        if args.out:
            try:
                with open(args.out, "wb") as f:
                    count = _write(journal.records(args.from_t, args.to_t, args.venue), f)
            except OSError as exc:
                err.write(f"reconciler: cannot write {args.out}: {exc.strerror or exc}\n")
                return EXIT_USAGE
        else:
            count = _write(
                journal.records(args.from_t, args.to_t, args.venue),
                out if out is not None else sys.stdout.buffer,
            )
    finally:
        journal.close()
    err.write(f"reconciler: exported {count} records\n")
    return EXIT_OK


def _write(records: Iterable[CaptureRecord], out: BinaryIO) -> int:
    count = 0
    for record in records:
        out.write(encode_record(record) + b"\n")
        count += 1
    out.flush()
    return count
