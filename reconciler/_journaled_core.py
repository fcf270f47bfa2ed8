"""The core behind its journal: every input recorded before it is applied, every alert
recorded before it is delivered, state snapshots, recovery and retention.

:class:`JournaledCore` is synchronous and never reads a clock (times are passed in),
so the live engine, the crash tests and the recovery tests drive the same code. The
order of work for each input is what makes "nothing lost" hold:

1. append the input (frame, connection event, expectation, tick, live report) to the
   journal's open batch;
2. apply it to the :class:`~reconciler.Reconciler`;
3. append each alert it raised; an alert whose id is already in the journal (raised
   before a restart, or re-derived from a venue's replay) is dropped here, so it is
   never delivered twice; a new one is handed to the outbox (``on_new_alert``);
4. at :meth:`commit`: the batch (inputs, alerts, outbox rows) becomes durable together;
   only then are the new alerts returned for delivery.

A crash therefore loses at most the open batch — inputs and the alerts they raised,
none of which was delivered — and never an alert that was delivered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import msgspec

from reconciler._messages import ConnectionEvent, ExpectIn, FrameIn, Item, LiveAlert
from reconciler._snapshot import SnapshotError
from reconciler.alerts import Alert
from reconciler.capture import ReportRecord, apply_record
from reconciler.core import Reconciler, UnknownVenueError
from reconciler.journal import Journal

__all__ = ["JournaledCore", "Recovery"]

_DAY = 86_400.0


class Recovery(msgspec.Struct, frozen=True, kw_only=True):
    """What a restart found in the journal and did with it."""

    #: The snapshot restored (its last record's sequence number), or None.
    snapshot_seq: int | None
    #: Records replayed after the snapshot (the tail).
    replayed: int
    #: Alerts the replay raised that the journal did not hold yet (now queued).
    new_alerts: int
    #: Alerts the replay raised again that were already journaled (not re-delivered).
    known_alerts: int
    #: Why a snapshot was not used, if one was found and refused.
    snapshot_problem: str | None = None


@dataclass(slots=True)
class _Counts:
    since_snapshot: int = 0
    snapshots: int = 0
    commits: int = 0
    pruned: int = 0


class JournaledCore:
    """A :class:`~reconciler.Reconciler` whose every input and alert goes through a journal.

    ``on_new_alert`` is called for each alert the journal did not hold yet, inside the
    open batch (the delivery outbox writes its rows there, so they commit together).
    """

    def __init__(
        self,
        reconciler: Reconciler,
        journal: Journal,
        *,
        on_new_alert: Callable[[Alert], None],
        snapshot_records: int = 100_000,
        snapshot_interval: float = 300.0,
        retention_days: float = 0.0,
    ) -> None:
        self.reconciler = reconciler
        self.journal = journal
        self._on_new_alert = on_new_alert
        self._snapshot_records = snapshot_records
        self._snapshot_interval = snapshot_interval
        self._retention = retention_days * _DAY
        self._pending: list[Alert] = []
        self._dirty = False
        self._last_snapshot_at: float | None = None
        self._counts = _Counts()

    # -- recovery ----------------------------------------------------------------------

    def recover(self, now: float) -> Recovery:
        """Rebuild the core from the newest snapshot plus the records after it.

        Alerts the replay raises are checked against the journal: those already there
        are dropped, new ones (raised by records whose alerts a crash lost — cannot
        happen with one transaction per batch, but a journal written by another tool
        may) are queued for delivery. Commits before returning.
        """
        rec, journal = self.reconciler, self.journal
        start, problem = 0, None
        snap = journal.latest_snapshot()
        if snap is not None:
            try:
                rec.restore(snap.body)
                start = snap.seq
            except SnapshotError as exc:
                problem = str(exc)
                if not _complete_from(journal, 1):
                    raise
        new = known = replayed = 0
        for _, record in journal.records_after(start):
            replayed += 1
            try:
                alerts = apply_record(rec, record)
            except UnknownVenueError:
                continue  # a venue whose plugin is gone: its records cannot be applied
            for alert in alerts:
                if journal.append_alert(alert):
                    new += 1
                    self._new(alert)
                else:
                    known += 1
        if start or replayed:
            # Downtime proves nothing: checks that came due while nobody listened wait
            # for the venue's replay. Journaled, so an export replays the same way.
            journal.append_resume(now)
            for alert in rec.resume(now):
                if journal.append_alert(alert):
                    new += 1
                    self._new(alert)
        self._counts.since_snapshot = replayed
        self._last_snapshot_at = now if snap is None else snap.taken
        self.commit()
        return Recovery(
            snapshot_seq=None if snap is None or problem else snap.seq,
            replayed=replayed,
            new_alerts=new,
            known_alerts=known,
            snapshot_problem=problem,
        )

    # -- the feed ----------------------------------------------------------------------

    def apply(self, item: Item) -> None:
        """Journal one input, apply it, and journal the alerts it raised."""
        rec, journal = self.reconciler, self.journal
        match item:
            case FrameIn():
                journal.append_frame(
                    item.t, item.venue, item.account, item.connection_id, item.frame
                )
                alerts = rec.feed_parsed(item.venue, item.account, item.frame, item.events, item.t)
            case ConnectionEvent():
                journal.append_connection_event(item.t, item.venue, item.account, item.event)
                alerts = rec.connection_event(item.venue, item.account, item.event, item.t)
            case ExpectIn():
                journal.append_expectation(item.t, item.expectation)
                alerts = rec.expect(item.expectation, item.t)
            case LiveAlert():
                report = ReportRecord(
                    t=item.t,
                    venue=item.venue,
                    account=item.account,
                    code=item.code,
                    message=item.message,
                    evidence=dict(item.evidence),
                    # An alert id hashes each fact's text, so text facts give the same id.
                    facts=tuple(str(f) for f in item.facts),
                )
                journal.append_report(report)
                alerts = apply_record(rec, report)
        self._record_alerts(alerts)

    def tick(self, t: float) -> None:
        """Advance time to ``t`` with no input (checks came due); journaled as a tick."""
        self.journal.append_tick(t)
        self._record_alerts(self.reconciler.advance(t))

    def _record_alerts(self, alerts: list[Alert]) -> None:
        self._dirty = True
        self._counts.since_snapshot += 1
        for alert in alerts:
            if self.journal.append_alert(alert):
                self._new(alert)

    def _new(self, alert: Alert) -> None:
        self._on_new_alert(alert)
        self._pending.append(alert)

    @property
    def has_new_alerts(self) -> bool:
        """Whether alerts are waiting for a commit before they may be delivered."""
        return bool(self._pending)

    @property
    def dirty(self) -> bool:
        """Whether inputs were journaled since the last commit."""
        return self._dirty or bool(self._pending)

    def commit(self) -> list[Alert]:
        """Make the open batch durable; the new alerts it holds, now safe to deliver."""
        self.journal.commit()
        self._counts.commits += 1
        self._dirty = False
        out, self._pending = self._pending, []
        return out

    # -- snapshots and retention -------------------------------------------------------

    def snapshot_due(self, now: float) -> bool:
        """Whether enough records or time went by since the last snapshot."""
        if self._counts.since_snapshot == 0:
            return False
        if self._counts.since_snapshot >= self._snapshot_records:
            return True
        if self._last_snapshot_at is None:
            self._last_snapshot_at = now  # the interval starts with the first input
        return now - self._last_snapshot_at >= self._snapshot_interval

    def take_snapshot(self, now: float) -> None:
        """Snapshot the state after the newest record, prune past retention, and commit."""
        journal = self.journal
        seq = journal.last_seq()
        if seq == 0:
            return
        journal.save_snapshot(seq, self.reconciler.now, now, self.reconciler.snapshot())
        self._counts.snapshots += 1
        self._counts.since_snapshot = 0
        self._last_snapshot_at = now
        if self._retention > 0:
            self._counts.pruned += journal.prune(now - self._retention)
            # Delivered outbox rows go with the frames; the alerts table stays (audit).
            journal.outbox.prune(now - self._retention)
        self.journal.commit()

    def stats(self) -> dict[str, int]:
        """Journal counters: commits, snapshots, records pruned."""
        c = self._counts
        return {
            "journal.commits": c.commits,
            "journal.snapshots": c.snapshots,
            "journal.pruned": c.pruned,
            "journal.since_snapshot": c.since_snapshot,
        }


def _complete_from(journal: Journal, seq: int) -> bool:
    """Whether the journal still holds every record from ``seq`` on (nothing pruned)."""
    for first, _ in journal.records_after(seq - 1):
        return first == seq
    return True
