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
from typing import Protocol, runtime_checkable

from reconciler.alerts import Alert
from reconciler.capture import CaptureRecord
from reconciler.events import Expectation

__all__ = ["CONNECTION_EVENTS", "Journal", "JournalError", "open_journal"]

#: The connection events the capture format knows; the journal accepts no others, so
#: that everything it holds can be exported and replayed.
CONNECTION_EVENTS: frozenset[str] = frozenset({"connected", "disconnected"})


class JournalError(Exception):
    """The journal cannot be used (unknown schema version, closed, not a journal)."""


@runtime_checkable
class Journal(Protocol):
    """An append-only journal of frames, connection events, expectations and alerts.

    Records (frames, connection events, expectations) share one append order, which is
    the order :meth:`records` yields them in. Appends become durable only at
    :meth:`commit`; see the module documentation for exactly what a crash can lose.
    Reads see every append made through this journal, committed or not.
    A journal is used from one thread at a time.
    """

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

    def alerts(self) -> Iterator[Alert]:
        """Every alert in the journal, in the order they were first appended."""
        ...

    def close(self) -> None:
        """Commit what was appended, then release the journal. Closing twice is harmless."""
        ...


def open_journal(path: str | PathLike[str], *, synchronous: str = "NORMAL") -> Journal:
    """Open (creating if needed) the embedded SQLite journal at ``path``.

    ``synchronous`` is SQLite's ``NORMAL`` (default) or ``FULL``; see the module
    documentation for what each can lose.
    """
    # Imported here: the backend imports this module (an import cycle otherwise), and
    # users of another backend never load sqlite3.
    from reconciler._sqlite_journal import SqliteJournal  # noqa: PLC0415

    return SqliteJournal(path, synchronous=synchronous)
