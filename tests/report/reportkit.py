"""Journals for the report tests: the sample capture, journaled as a live run would."""

from __future__ import annotations

from pathlib import Path

from reconciler import Reconciler
from reconciler.capture import (
    ConnectionRecord,
    ExpectRecord,
    FrameRecord,
    ReportRecord,
    TickRecord,
    read_capture,
    replay,
)
from reconciler.journal import open_journal

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "sample-capture.jsonl"
GOLDEN = Path(__file__).resolve().parent / "golden"


def sample_journal(directory: Path) -> Path:
    """``directory/journal.db``: every record of the sample capture, in order, then every
    alert its replay raises (as a live run journals them), committed."""
    records = list(read_capture(SAMPLE.read_bytes().splitlines(), str(SAMPLE)))
    path = directory / "journal.db"
    journal = open_journal(path)
    try:
        for r in records:
            if isinstance(r, FrameRecord):
                journal.append_frame(r.t, r.venue, r.account, 1, r.frame)
            elif isinstance(r, ConnectionRecord):
                journal.append_connection_event(r.t, r.venue, r.account, r.event)
            elif isinstance(r, ExpectRecord):
                journal.append_expectation(r.t, r.expectation)
            elif isinstance(r, TickRecord):
                journal.append_tick(r.t)
            elif isinstance(r, ReportRecord):
                journal.append_report(r)
        for alert in replay([records], Reconciler()):
            journal.append_alert(alert)
        journal.commit()
    finally:
        journal.close()
    return path
