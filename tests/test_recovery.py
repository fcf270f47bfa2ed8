"""Recovery: state rebuilt from snapshot + tail equals an uninterrupted run's, alerts are
never raised twice, exports replay to the same alerts, retention keeps state whole."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from builders import BASE_T, bybit_exec, bybit_frame, bybit_order

from reconciler import Alert, Reconciler
from reconciler._journaled_core import JournaledCore
from reconciler._messages import ConnectionEvent, ExpectIn, FrameIn, Item, LiveAlert
from reconciler._snapshot import FORMAT, SnapshotError
from reconciler._sqlite_journal import SqliteJournal
from reconciler.alerts import AlertCode
from reconciler.capture import (
    CaptureRecord,
    ConnectionRecord,
    ExpectRecord,
    FrameRecord,
    ResumeRecord,
    TickRecord,
    read_capture,
    replay,
)
from reconciler.cli import main
from reconciler.config import CoreConfig
from reconciler.journal import Journal, open_journal
from reconciler.plugin import load_plugins

SAMPLE = Path(__file__).parent.parent / "examples" / "sample-capture.jsonl"
PLUGINS = load_plugins()


def _records() -> list[CaptureRecord]:
    return list(read_capture(SAMPLE.read_bytes().splitlines()))


def _items(records: list[CaptureRecord]) -> Iterator[Item | TickRecord]:
    """The capture as the live engine's items (frames parsed as the driver parses them)."""
    for r in records:
        match r:
            case FrameRecord():
                events = PLUGINS[r.venue].protocol(r.account).receive(r.frame)
                yield FrameIn(r.venue, r.account, r.frame, list(events), r.t, 1)
            case ConnectionRecord():
                yield ConnectionEvent(r.venue, r.account, r.event, r.t)
            case ExpectRecord():
                yield ExpectIn(r.expectation, r.t)
            case TickRecord():
                yield r


class _Run:
    """A journaled core on a journal file, collecting what it would deliver."""

    def __init__(self, path: Path, *, snapshot_records: int = 100_000, retention_days: float = 0):
        self.journal: Journal = open_journal(path)
        self.queued: list[Alert] = []
        self.core = JournaledCore(
            Reconciler(PLUGINS, CoreConfig()),
            self.journal,
            on_new_alert=self.queued.append,
            snapshot_records=snapshot_records,
            retention_days=retention_days,
        )
        self.delivered: list[Alert] = []

    def feed(self, items: list[Item | TickRecord], *, commit_every: int = 1) -> None:
        for n, item in enumerate(items, start=1):
            if isinstance(item, TickRecord):
                self.core.tick(item.t)
            else:
                self.core.apply(item)
            if n % commit_every == 0:
                self.delivered += self.core.commit()
                if self.core.snapshot_due(item.t):
                    self.core.take_snapshot(item.t)

    def finish(self, t: float) -> None:
        self.core.tick(t)
        self.delivered += self.core.commit()

    def crash(self) -> None:
        """Lose the open batch, as SIGKILL would: the connection goes without a commit."""
        assert isinstance(self.journal, SqliteJournal)
        db = self.journal._db
        assert db is not None
        db.close()  # an open transaction is rolled back
        self.journal._db = None
        self.journal._unlock()


def _end(records: list[CaptureRecord]) -> float:
    return max(r.t for r in records) + 10.0


def _uninterrupted(tmp_path: Path) -> _Run:
    records = _records()
    run = _Run(tmp_path / "whole.db")
    run.feed(list(_items(records)))
    run.finish(_end(records))
    return run


@pytest.mark.parametrize("cut", [1, 40, 150, 300, 385])
def test_recovery_after_a_crash_resumes_the_uninterrupted_state(tmp_path: Path, cut: int) -> None:
    """A crash after `cut` inputs, then recovery and the rest: same state digest and the
    same alerts delivered, each exactly once."""
    whole = _uninterrupted(tmp_path)
    records = _records()
    items = list(_items(records))
    first = _Run(tmp_path / "j.db", snapshot_records=97)
    first.feed(items[:cut], commit_every=5)
    committed = cut - cut % 5
    first.crash()
    second = _Run(tmp_path / "j.db", snapshot_records=97)
    recovery = second.core.recover(now=0.0)
    assert recovery.new_alerts == 0
    second.delivered += second.core.commit()
    # The lost batch is re-sent by the venue (a replay after the reconnect), the rest follows.
    second.feed(items[committed:])
    second.finish(_end(records))
    assert second.core.reconciler.state_digest() == whole.core.reconciler.state_digest()
    delivered = [a.id for a in first.delivered + second.delivered]
    assert sorted(delivered) == sorted(a.id for a in whole.delivered)
    assert len(delivered) == len(set(delivered))


def test_recovery_uses_the_snapshot_and_replays_only_the_tail(tmp_path: Path) -> None:
    """With a snapshot every 100 records, a restart replays fewer than 100 records."""
    records = _records()
    run = _Run(tmp_path / "j.db", snapshot_records=100)
    run.feed(list(_items(records)))
    run.journal.close()
    again = _Run(tmp_path / "j.db")
    recovery = again.core.recover(now=0.0)
    assert recovery.snapshot_seq is not None
    assert 0 < recovery.replayed < 100
    assert recovery.new_alerts == 0
    assert again.core.reconciler.state_digest() == run.core.reconciler.state_digest()


def test_a_venue_replaying_the_day_after_recovery_raises_nothing_new(tmp_path: Path) -> None:
    """Everything re-sent after a restart is absorbed: no alert is queued again."""
    records = _records()
    run = _Run(tmp_path / "j.db")
    run.feed(list(_items(records)))
    run.finish(_end(records))
    run.journal.close()
    again = _Run(tmp_path / "j.db")
    again.core.recover(now=0.0)
    again.feed(list(_items(records)))
    again.finish(_end(records) + 10)
    assert again.queued == []


def test_pending_timers_survive_a_restart(tmp_path: Path) -> None:
    """A settle-window check pending at the crash fires after recovery, once."""
    records = _records()
    whole = _uninterrupted(tmp_path)
    items = list(_items(records))
    run = _Run(tmp_path / "j.db")
    run.feed(items)
    assert run.core.reconciler.next_check_due() is not None
    run.journal.close()
    again = _Run(tmp_path / "j.db")
    again.core.recover(now=0.0)
    assert again.core.reconciler.next_check_due() == run.core.reconciler.next_check_due()
    again.finish(_end(records))
    ids = sorted(a.id for a in run.delivered + again.delivered)
    assert ids == sorted(a.id for a in whole.delivered)


def test_live_reports_and_ticks_replay_to_the_same_alerts(tmp_path: Path) -> None:
    """A live connection's alert and a timer-driven alert come back from an export."""
    records = _records()
    items: list[Item | TickRecord] = list(_items(records))
    stale = LiveAlert(
        code=AlertCode.FEED_STALE,
        venue="tread",
        account="main",
        t=records[10].t,
        message="no data",
        evidence={"for": "30 s"},
        facts=("idle", 3),
    )
    items.insert(10, stale)
    run = _Run(tmp_path / "j.db")
    run.feed(items)
    run.finish(_end(records))
    run.journal.close()
    exported = tmp_path / "export.jsonl"
    assert main(["export", str(tmp_path / "j.db"), "--out", str(exported)]) == 0
    replayed = list(
        replay(
            [read_capture(exported.read_bytes().splitlines())],
            Reconciler(PLUGINS),
            flush=False,
        )
    )
    journal = open_journal(tmp_path / "j.db", read_only=True)
    assert [a.id for a in replayed] == [a.id for a in journal.alerts()]
    assert AlertCode.FEED_STALE in {a.code for a in replayed}


def test_export_filters_by_venue_and_time(tmp_path: Path) -> None:
    """--venue keeps one venue's records; --from/--to bound the times."""
    records = _records()
    run = _Run(tmp_path / "j.db")
    run.feed(list(_items(records)))
    run.journal.close()
    out = tmp_path / "btse.jsonl"
    t0 = records[100].t
    args = ["export", str(tmp_path / "j.db"), "--venue", "btse", "--from", str(t0)]
    assert main([*args, "--out", str(out)]) == 0
    got = list(read_capture(out.read_bytes().splitlines()))
    assert got
    assert all(getattr(r, "venue", "btse") == "btse" and r.t >= t0 for r in got)


def test_export_of_a_missing_journal_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing journal file: exit 2 and one line naming it."""
    assert main(["export", str(tmp_path / "nope.db")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "no such journal file" in err


def test_retention_prunes_old_frames_and_recovery_still_matches(tmp_path: Path) -> None:
    """Pruning everything a snapshot covers leaves snapshot + tail: same state."""
    records = _records()
    run = _Run(tmp_path / "j.db", snapshot_records=50, retention_days=1e-9)
    run.feed(list(_items(records)))
    assert run.core.stats()["journal.pruned"] > 0
    run.journal.close()
    again = _Run(tmp_path / "j.db")
    again.core.recover(now=0.0)
    assert again.core.reconciler.state_digest() == run.core.reconciler.state_digest()


def test_a_snapshot_of_another_format_falls_back_to_the_records(tmp_path: Path) -> None:
    """An unreadable snapshot is skipped when every record is still there."""
    records = _records()
    run = _Run(tmp_path / "j.db")
    run.feed(list(_items(records)))
    run.journal.save_snapshot(run.journal.last_seq(), 0.0, 0.0, b"RCSNAP\xff\xff")
    run.journal.close()
    again = _Run(tmp_path / "j.db")
    recovery = again.core.recover(now=0.0)
    assert recovery.snapshot_problem is not None
    assert str(FORMAT) in recovery.snapshot_problem
    assert again.core.reconciler.state_digest() == run.core.reconciler.state_digest()


def test_an_unreadable_snapshot_after_pruning_is_refused(tmp_path: Path) -> None:
    """When records were pruned, a snapshot that cannot be read stops the recovery."""
    records = _records()
    run = _Run(tmp_path / "j.db", snapshot_records=50, retention_days=1e-9)
    run.feed(list(_items(records)))
    run.journal.save_snapshot(run.journal.last_seq(), 0.0, 0.0, b"garbage")
    run.journal.close()
    again = _Run(tmp_path / "j.db")
    with pytest.raises(SnapshotError):
        again.core.recover(now=0.0)


def _execution_then_downtime(*, resume: bool) -> list[Alert]:
    """A Bybit execution, a crash before its order report, an hour down, the report."""
    rec = Reconciler(PLUGINS)
    t = BASE_T
    alerts = rec.feed("bybit", "main", bybit_frame("order", bybit_order("B1")), t)
    execution = bybit_frame("execution", bybit_exec("E1", "B1", qty=40, leaves=60))
    alerts += rec.feed("bybit", "main", execution, t + 1)
    back = t + 3600
    alerts += rec.resume(back) if resume else rec.advance(back)
    report = bybit_order("B1", status="PartiallyFilled", cum=40)
    alerts += rec.feed("bybit", "main", bybit_frame("order", report), back + 1)
    alerts += rec.advance(back + 60)
    return alerts


def test_a_check_that_came_due_during_downtime_waits_for_the_report() -> None:
    """After resume, the settle window restarts: the re-sent report answers the check."""
    assert _execution_then_downtime(resume=True) == []


def test_without_resume_the_downtime_would_raise_a_false_mismatch() -> None:
    """The control: advancing over the downtime fires the check before the report."""
    codes = {a.code for a in _execution_then_downtime(resume=False)}
    assert AlertCode.EXECUTION_ORDER_MISMATCH in codes


def test_recovery_journals_the_restart_so_an_export_replays_it(tmp_path: Path) -> None:
    """A recovered engine writes a resume record; the export carries it."""
    records = _records()
    run = _Run(tmp_path / "j.db")
    run.feed(list(_items(records))[:50])
    run.journal.close()
    again = _Run(tmp_path / "j.db")
    again.core.recover(now=records[49].t + 100)
    again.journal.close()
    journal = open_journal(tmp_path / "j.db", read_only=True)
    assert ResumeRecord(t=records[49].t + 100) in list(journal.records())
