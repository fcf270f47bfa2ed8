"""The journal's storage layer: durability at commit, order, filters, alerts, replay."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from builders import BASE_T, tread_at, tread_frame, tread_order

from reconciler import Alert, AlertCode, Expectation, Reconciler, Severity
from reconciler._sqlite_journal import SqliteJournal
from reconciler.capture import CaptureRecord, ConnectionRecord, ExpectRecord, FrameRecord, replay
from reconciler.journal import Journal, JournalError, open_journal

_EXPECT = Expectation(
    venue="tread",
    account="main",
    client_order_id="E1",
    symbol="BTC:PERP-USDT",
    side="buy",
    quantity=Decimal(1),
    price=Decimal("118000.5"),
)


def _alert(alert_id: str, message: str = "first") -> Alert:
    return Alert(
        id=alert_id,
        code=AlertCode.FILL_REGRESSION,
        severity=Severity.CRITICAL,
        venue="tread",
        account="main",
        order_id="T1",
        parent_id=None,
        t=BASE_T,
        message=message,
        evidence={"previous_filled": "0.5", "new_filled": "0.3"},
    )


def _fill_regression_frames() -> list[str]:
    """Two Tread.fi updates of one order whose executed quantity goes down."""
    return [
        tread_frame(tread_order("T1", executed="0.5", updated_at=tread_at(10))),
        tread_frame(tread_order("T1", executed="0.3", updated_at=tread_at(20))),
    ]


def test_open_journal_returns_a_journal(tmp_path: Path) -> None:
    """open_journal gives the SQLite backend, which satisfies the Journal protocol."""
    journal = open_journal(tmp_path / "j.db")
    try:
        assert isinstance(journal, SqliteJournal)
        assert isinstance(journal, Journal)
    finally:
        journal.close()


def test_committed_records_read_back_in_append_order_after_reopen(tmp_path: Path) -> None:
    """Frames, connection events and expectations come back after reopen, in append order."""
    path = tmp_path / "j.db"
    journal = open_journal(path)
    seqs = [
        journal.append_connection_event(BASE_T, "tread", "main", "connected"),
        journal.append_expectation(BASE_T + 1, _EXPECT),
        journal.append_frame(BASE_T + 2, "tread", "main", 7, "frame-a"),
        # Appended with an earlier t: append order, not time order, is what is kept.
        journal.append_frame(BASE_T + 1.5, "btse", "sub", 8, "frame-b"),
        journal.append_connection_event(BASE_T + 3, "tread", "main", "disconnected"),
    ]
    journal.commit()
    journal.close()

    assert seqs == sorted(seqs)
    assert len(set(seqs)) == len(seqs)
    reopened = open_journal(path)
    try:
        assert list(reopened.records()) == [
            ConnectionRecord(t=BASE_T, venue="tread", account="main", event="connected"),
            ExpectRecord(t=BASE_T + 1, expectation=_EXPECT),
            FrameRecord(t=BASE_T + 2, venue="tread", account="main", frame="frame-a"),
            FrameRecord(t=BASE_T + 1.5, venue="btse", account="sub", frame="frame-b"),
            ConnectionRecord(t=BASE_T + 3, venue="tread", account="main", event="disconnected"),
        ]
        # Sequence numbers keep increasing across a reopen.
        assert reopened.append_frame(BASE_T + 4, "tread", "main", 7, "frame-c") > seqs[-1]
    finally:
        reopened.close()


_CRASHING_WRITER = textwrap.dedent(
    """
    import os, signal, sys
    from reconciler.alerts import Alert, AlertCode, Severity
    from reconciler.journal import open_journal

    def alert(alert_id):
        return Alert(id=alert_id, code=AlertCode.OVERFILL, severity=Severity.CRITICAL,
                     venue="tread", account="main", order_id="T1", parent_id=None,
                     t=1.0, message="m", evidence={})

    journal = open_journal(sys.argv[1])
    journal.append_frame(1.0, "tread", "main", 1, "committed-1")
    journal.append_frame(2.0, "tread", "main", 1, b"committed-2")
    journal.append_alert(alert("committed-alert"))
    journal.commit()
    journal.append_frame(3.0, "tread", "main", 1, "open-batch")
    journal.append_alert(alert("open-batch-alert"))
    os.kill(os.getpid(), signal.SIGKILL)  # no commit, no close: a crash
    """
)


def test_crash_loses_the_open_batch_and_nothing_committed(tmp_path: Path) -> None:
    """A process killed mid-batch loses what it appended since commit(), and only that."""
    path = tmp_path / "j.db"
    proc = subprocess.run(
        [sys.executable, "-c", _CRASHING_WRITER, str(path)], check=False, capture_output=True
    )
    assert proc.returncode == -9, proc.stderr.decode()

    journal = open_journal(path)
    try:
        frames = [r.frame for r in journal.records() if isinstance(r, FrameRecord)]
        assert frames == ["committed-1", b"committed-2"]
        assert [a.id for a in journal.alerts()] == ["committed-alert"]
    finally:
        journal.close()


def test_bytes_frames_round_trip_as_bytes(tmp_path: Path) -> None:
    """A frame received as bytes is read back as the same bytes; text stays text."""
    path = tmp_path / "j.db"
    raw = b'{"op":"pong"}\x00\xff'  # not valid UTF-8: it must not be decoded on the way
    with SqliteJournal(path) as journal:
        journal.append_frame(BASE_T, "bybit", "main", 1, raw)
        journal.append_frame(BASE_T + 1, "bybit", "main", 1, b"")
        journal.append_frame(BASE_T + 2, "bybit", "main", 1, "text")
    with SqliteJournal(path) as journal:
        frames: list[str | bytes] = [
            r.frame for r in journal.records() if isinstance(r, FrameRecord)
        ]
    assert frames == [raw, b"", "text"]
    assert [type(f) for f in frames] == [bytes, bytes, str]


def test_alert_appended_twice_is_stored_once(tmp_path: Path) -> None:
    """append_alert is idempotent on the alert id, within a batch and across reopen."""
    path = tmp_path / "j.db"
    journal = open_journal(path)
    assert journal.append_alert(_alert("a1")) is True
    assert journal.append_alert(_alert("a1", message="again")) is False
    assert journal.append_alert(_alert("a2")) is True
    journal.commit()
    journal.close()

    journal = open_journal(path)
    try:
        assert journal.append_alert(_alert("a1", message="after restart")) is False
        assert list(journal.alerts()) == [_alert("a1"), _alert("a2")]
    finally:
        journal.close()


def test_records_filter_by_time_range_and_venue(tmp_path: Path) -> None:
    """records() keeps t within [from_t, to_t] (inclusive) and one venue, in append order."""
    with SqliteJournal(tmp_path / "j.db") as journal:
        for i, venue in enumerate(["tread", "btse", "tread", "btse", "tread"]):
            journal.append_frame(BASE_T + i, venue, "main", 1, f"{venue}-{i}")
        journal.append_expectation(BASE_T + 2, _EXPECT)  # venue tread
        journal.append_connection_event(BASE_T + 3, "btse", "main", "connected")

        def frames(records: list[CaptureRecord]) -> list[object]:
            return [r.frame if isinstance(r, FrameRecord) else type(r).__name__ for r in records]

        got = list(journal.records(from_t=BASE_T + 1, to_t=BASE_T + 3))
        assert frames(got) == ["btse-1", "tread-2", "btse-3", "ExpectRecord", "ConnectionRecord"]
        got = list(journal.records(venue="tread"))
        assert frames(got) == ["tread-0", "tread-2", "tread-4", "ExpectRecord"]
        got = list(journal.records(from_t=BASE_T + 3, venue="btse"))
        assert frames(got) == ["btse-3", "ConnectionRecord"]
        assert list(journal.records(venue="bybit")) == []


def test_replaying_the_journal_gives_the_alerts_of_a_direct_feed(tmp_path: Path) -> None:
    """Journal records replayed through a Reconciler raise what feeding them directly did."""
    t0 = BASE_T
    frames = _fill_regression_frames()

    direct = Reconciler()
    expected: list[Alert] = []
    expected += direct.connection_event("tread", "main", "connected", t0)
    expected += direct.expect(_EXPECT, t0 + 0.5)
    for i, frame in enumerate(frames, start=1):
        expected += direct.feed("tread", "main", frame, t0 + i)
    # What replay does after the last record: wait out the settle window / ack timeout.
    cfg = direct.config
    expected += direct.advance(t0 + len(frames) + max(cfg.settle_window, cfg.ack_timeout))
    assert AlertCode.FILL_REGRESSION in [a.code for a in expected]

    path = tmp_path / "j.db"
    with SqliteJournal(path) as journal:
        journal.append_connection_event(t0, "tread", "main", "connected")
        journal.append_expectation(t0 + 0.5, _EXPECT)
        for i, frame in enumerate(frames, start=1):
            journal.append_frame(t0 + i, "tread", "main", 1, frame)
        for alert in expected:
            journal.append_alert(alert)

    with SqliteJournal(path) as journal:
        replayed = list(replay([journal.records()], Reconciler()))
        assert replayed == expected
        assert list(journal.alerts()) == expected


def test_wal_mode_is_on(tmp_path: Path) -> None:
    """The journal file is in WAL mode (it persists in the file) with synchronous=NORMAL."""
    path = tmp_path / "j.db"
    with SqliteJournal(path) as journal:
        db = journal._conn  # the pragma is per connection
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    other = sqlite3.connect(path)
    try:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        other.close()


def test_unknown_connection_event_is_refused(tmp_path: Path) -> None:
    """Only the capture format's connection events are accepted, so exports replay."""
    with SqliteJournal(tmp_path / "j.db") as journal:
        with pytest.raises(ValueError, match="unknown connection event"):
            journal.append_connection_event(BASE_T, "tread", "main", "reconnecting")
        assert list(journal.records()) == []


def test_other_schema_version_is_refused(tmp_path: Path) -> None:
    """A journal written with another schema version is not opened (nor rewritten)."""
    path = tmp_path / "j.db"
    SqliteJournal(path).close()
    db = sqlite3.connect(path)
    with db:
        db.execute("UPDATE schema_version SET version = 99")
    db.close()
    with pytest.raises(JournalError, match="schema version 99"):
        SqliteJournal(path)


def test_use_after_close_is_an_error(tmp_path: Path) -> None:
    """A closed journal refuses appends instead of silently dropping them."""
    journal = SqliteJournal(tmp_path / "j.db")
    journal.close()
    journal.close()  # harmless
    with pytest.raises(JournalError, match="closed"):
        journal.append_frame(BASE_T, "tread", "main", 1, "x")
