"""The journal: an append-only, durable record of everything the engine saw and raised.

Every received frame, connection event and registered expectation is appended before the
core applies it, and every alert when it is raised, so that a live session can be
replayed (:func:`reconciler.capture.replay`) to the same alerts and audited afterwards.

:class:`Journal` is the backend-neutral interface; :func:`open_journal` opens the
embedded default, SQLite (:class:`reconciler._sqlite_journal.SqliteJournal`). A shared
database can replace it by implementing the same protocol.

What a crash can lose
---------------------
Appends are buffered and made durable together by :meth:`Journal.commit` (group
commit; the engine calls it once per batch window):

* a crash of the process loses **exactly the records and alerts appended since the last
  completed** ``commit()`` — the open batch — and nothing else;
* everything committed survives a process crash (``kill -9``) and is read back in the
  same order; a commit is all-or-nothing, never a torn batch;
* sequence numbers are monotonic among the records that survive; a number handed out
  for a record that a crash lost may be handed out again after the restart.

With SQLite's default ``synchronous=NORMAL`` an operating-system crash or power loss
(as opposed to a process crash) may additionally roll back the most recent commits;
open with ``synchronous="FULL"`` to make each commit survive those too, at the price
of an fsync per commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from os import PathLike
from pathlib import Path
from typing import Protocol, runtime_checkable

import msgspec

from reconciler.alerts import Alert
from reconciler.capture import CaptureRecord, ReportRecord
from reconciler.events import Expectation
from reconciler.outbox import Outbox

__all__ = ["CONNECTION_EVENTS", "Journal", "JournalError", "Snapshot", "open_journal"]

#: The connection events the capture format knows; the journal accepts no others, so
#: that everything it holds can be exported and replayed.
CONNECTION_EVENTS: frozenset[str] = frozenset({"connected", "disconnected"})


class JournalError(Exception):
    """The journal cannot be used (unknown schema version, closed, not a journal)."""


class Snapshot(msgspec.Struct, frozen=True, kw_only=True):
    """The core's state after every record up to ``seq`` (see :meth:`Journal.latest_snapshot`)."""

    seq: int
    #: The core's clock when it was taken.
    t: float
    #: Wall-clock time it was taken.
    taken: float
    #: :meth:`reconciler.Reconciler.snapshot` output.
    body: bytes


@runtime_checkable
class Journal(Protocol):
    """An append-only journal of frames, connection events, expectations and alerts.

    Records (frames, connection events, expectations) share one append order, which is
    the order :meth:`records` yields them in. Appends become durable only at
    :meth:`commit`; see the module documentation for exactly what a crash can lose.
    Reads see every append made through this journal, committed or not.
    A journal is used from one thread at a time.
    """

    @property
    def outbox(self) -> Outbox:
        """The durable alert outbox, in the same store (committed by :meth:`commit`)."""
        ...

    def append_frame(
        self, t: float, venue: str, account: str, connection_id: int, frame: str | bytes
    ) -> int:
        """Append a frame received at ``t``, exactly as received (text or bytes).

        Returns the record's sequence number, greater than that of every record
        appended before it.
        """
        ...

    def append_connection_event(self, t: float, venue: str, account: str, event: str) -> int:
        """Append a connection event (``connected`` or ``disconnected``).

        Returns its sequence number; raises :class:`ValueError` for another event.
        """
        ...

    def append_expectation(self, t: float, expectation: Expectation) -> int:
        """Append an expectation registered at ``t``; returns its sequence number."""
        ...

    def append_tick(self, t: float) -> int:
        """Append the passing of time to ``t`` (checks ran with no frame arriving)."""
        ...

    def append_resume(self, t: float) -> int:
        """Append an engine restart at ``t`` (see :meth:`reconciler.Reconciler.resume`)."""
        ...

    def append_report(self, record: ReportRecord) -> int:
        """Append an alert a connection raised outside the core, so a replay raises it too."""
        ...

    def append_alert(self, alert: Alert) -> bool:
        """Append an alert; idempotent on ``alert.id``.

        Returns True when the alert was stored now, False when an alert with the same
        id was already in the journal (that first one is kept unchanged).
        """
        ...

    def commit(self) -> None:
        """Make everything appended so far durable, as one all-or-nothing batch."""
        ...

    def records(
        self,
        from_t: float | None = None,
        to_t: float | None = None,
        venue: str | None = None,
    ) -> Iterator[CaptureRecord]:
        """The journal's records as capture records, in append order.

        ``from_t`` and ``to_t`` bound ``t`` inclusively; ``venue`` keeps one venue's
        frames, connection events and expectations. A frame received as bytes is a
        :class:`~reconciler.capture.FrameRecord` whose ``frame`` is those bytes
        (:meth:`reconciler.Reconciler.feed` takes both), so a replay feeds the core
        exactly what the live run fed it. The connection id is not part of the capture
        format and is not yielded.
        """
        ...

    def records_after(self, seq: int) -> Iterator[tuple[int, CaptureRecord]]:
        """``(seq, record)`` for every record after ``seq``, in append order."""
        ...

    def last_seq(self) -> int:
        """The newest record's sequence number (0 for an empty journal)."""
        ...

    def has_alert(self, alert_id: str) -> bool:
        """Whether an alert with this id was appended."""
        ...

    def save_snapshot(self, seq: int, t: float, taken: float, body: bytes) -> None:
        """Store the core's state after record ``seq`` (durable at the next commit)."""
        ...

    def latest_snapshot(self) -> Snapshot | None:
        """The newest snapshot, or ``None``."""
        ...

    def prune(self, before_t: float) -> int:
        """Delete records older than ``before_t`` up to the newest snapshot (never after
        it) and all older snapshots; returns how many records went."""
        ...

    def alerts(self) -> Iterator[Alert]:
        """Every alert in the journal, in the order they were first appended."""
        ...

    def checkpoint_due(self) -> bool:
        """Whether enough was written since the last :meth:`checkpoint` for one to be
        worth running (cheap; call it on the writer's thread)."""
        ...

    def checkpoint(self) -> tuple[int, int]:
        """Move committed records into the journal's main storage, off the writer's path
        (thread-safe; see :func:`open_journal`'s ``background_checkpoints``). Returns
        backend-specific progress figures; a backend with nothing to do returns (0, 0)."""
        ...

    def close(self) -> None:
        """Commit what was appended, then release the journal. Closing twice is harmless."""
        ...


def open_journal(
    path: str | PathLike[str],
    *,
    synchronous: str = "NORMAL",
    read_only: bool = False,
    background_checkpoints: bool = False,
) -> Journal:
    """Open (creating if needed) the embedded SQLite journal at ``path``.

    ``synchronous`` is SQLite's ``NORMAL`` (default) or ``FULL``; see the module
    documentation for what each can lose. ``read_only`` opens an existing journal for
    reading only (exports and reports, also while an engine writes it); a missing file
    or one that is not a journal raises :class:`JournalError`.
    ``background_checkpoints`` stops SQLite from checkpointing inside commits (a stall
    of several ms on the writer's thread every ~1,000 pages): the caller then calls
    :meth:`Journal.checkpoint` regularly, from a worker thread (the engine does).
    """
    # Imported here: the backend imports this module (an import cycle otherwise), and
    # users of another backend never load sqlite3.
    from reconciler._sqlite_journal import SqliteJournal  # noqa: PLC0415

    if read_only and not Path(path).is_file():
        raise JournalError(f"{path}: no such journal file")
    return SqliteJournal(
        path,
        synchronous=synchronous,
        read_only=read_only,
        background_checkpoints=background_checkpoints,
    )
