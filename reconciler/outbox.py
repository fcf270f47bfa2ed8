"""The alert outbox: what waits to be delivered to each sink, durably, in the journal.

The outbox holds one row per (item, sink), where an item is an :class:`~reconciler.Alert`
or a :class:`Notice` (a storm-control message: "N more FILL_GAP on order 42", a digest,
"switching to digest mode"). Rows are written in the journal's open write transaction,
so an alert and its outbox rows become durable together, at the journal's commit.

A row moves through these states:

* ``pending``: to be delivered (``next_attempt`` says when it may be tried);
* ``delivered``: the sink accepted it; never sent again;
* ``dead``: a permanent failure, or ``max_attempts`` used up (the dead letters);
* ``folded``: held back by storm control as a repeat inside a fold window, waiting for
  the follow-up notice that will report it;
* ``digest``: held back in digest mode, waiting for the next digest;
* ``covered``: reported by a notice (``covered_by`` is the notice's id).

:class:`Outbox` is the backend-neutral interface; the embedded SQLite journal's
implementation is :class:`reconciler._sqlite_outbox.SqliteOutbox`, reachable as
``journal.outbox``. Every method is synchronous and is called from the engine's Trio
thread; writes join the journal's open transaction and become durable at the journal's
``commit()``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Final, Literal, Protocol, runtime_checkable

import msgspec

from reconciler.alerts import Alert, AlertCode, Severity

__all__ = [
    "HELD_STATES",
    "STATES",
    "Notice",
    "NoticeKind",
    "Outbox",
    "OutboxItem",
    "OutboxRow",
    "RowState",
    "decode_item",
    "notice_id",
]

RowState = Literal["pending", "delivered", "dead", "folded", "digest", "covered"]
#: Every state a row can be in.
STATES: Final[tuple[RowState, ...]] = (
    "pending",
    "delivered",
    "dead",
    "folded",
    "digest",
    "covered",
)
#: The states of rows that storm control holds back until a notice reports them.
HELD_STATES: Final[frozenset[RowState]] = frozenset({"folded", "digest"})

NoticeKind = Literal["fold", "digest", "digest_on", "digest_off"]


class Notice(msgspec.Struct, frozen=True, kw_only=True):
    """A message storm control sends instead of (or about) individual alerts.

    * ``fold``: ``count`` more alerts with the same code on the same order (or venue
      and account, for alerts without an order) arrived inside the fold window after
      the first one, which was sent on its own; ``alert_ids`` lists them.
    * ``digest``: the alerts of one digest interval: ``by_code``, ``by_venue`` and the
      most severe ones in full (``top``).
    * ``digest_on`` / ``digest_off``: the sink switched to digest mode, or back.

    ``id`` is derived from the ids of the alerts it covers, so a notice sent again after
    a restart has the same id (and the webhook's ``Idempotency-Key`` deduplicates it).
    ``alert_ids`` holds at most 1000 ids (``count`` is always exact); the outbox keeps
    every covered row with ``covered_by`` set to this id.
    """

    id: str
    kind: NoticeKind
    severity: Severity
    #: Epoch seconds when the notice was made.
    t: float
    message: str
    count: int = 0
    code: AlertCode | None = None
    venue: str | None = None
    account: str | None = None
    order_id: str | None = None
    #: The time span (epoch seconds) of the alerts it covers.
    first_t: float | None = None
    last_t: float | None = None
    alert_ids: list[str] = msgspec.field(default_factory=list)
    by_code: dict[str, int] = msgspec.field(default_factory=dict)
    by_venue: dict[str, int] = msgspec.field(default_factory=dict)
    top: list[Alert] = msgspec.field(default_factory=list)


OutboxItem = Alert | Notice

_ALERT = msgspec.json.Decoder(Alert)
_NOTICE = msgspec.json.Decoder(Notice)


def decode_item(kind: str, body: bytes) -> OutboxItem:
    """The alert or notice stored in a row of ``kind`` with ``body``."""
    return _ALERT.decode(body) if kind == "alert" else _NOTICE.decode(body)


def notice_id(kind: str, covered: Iterable[str]) -> str:
    """A notice's deterministic id: a digest of its kind and the ids it covers, in order."""
    h = hashlib.blake2b(digest_size=10)
    h.update(kind.encode())
    for item in covered:
        h.update(b"\x1f")
        h.update(item.encode())
    return h.hexdigest()


class OutboxRow(msgspec.Struct, frozen=True, kw_only=True):
    """One row of the outbox: one item for one sink."""

    #: Monotonic sequence number: rows of a sink are delivered in this order.
    seq: int
    sink: str
    #: The alert's id, or the notice's.
    item_id: str
    #: ``alert``, or the notice's kind.
    kind: str
    state: RowState
    severity: Severity
    code: str | None
    venue: str | None
    #: msgspec JSON of the :class:`~reconciler.Alert` or :class:`Notice`.
    body: bytes
    attempts: int
    #: Epoch seconds from when it may be (re)tried.
    next_attempt: float
    last_error: str | None
    created: float
    updated: float
    #: Storm control: the fold key of an alert row, and until when its window runs.
    fold_key: str | None = None
    fold_until: float | None = None
    covered_by: str | None = None

    def item(self) -> OutboxItem:
        """The alert or notice this row delivers."""
        return decode_item(self.kind, self.body)


@runtime_checkable
class Outbox(Protocol):
    """Durable per-sink delivery state, kept in the journal's database.

    Writes join the journal's open write transaction (they are durable after the
    journal's ``commit()``), reads see every write made through this journal. Rows of
    one sink are identified by ``(sink, item_id)``; adding the same pair twice keeps the
    first row.
    """

    def add(
        self,
        *,
        sink: str,
        item_id: str,
        kind: str,
        state: RowState,
        severity: Severity,
        body: bytes,
        now: float,
        code: str | None = None,
        venue: str | None = None,
        fold_key: str | None = None,
        fold_until: float | None = None,
    ) -> int | None:
        """Add a row (``next_attempt`` = ``now``); its ``seq``, or None if it existed."""
        ...

    def last_seq(self) -> int:
        """The highest ``seq`` of any row (0 when empty)."""
        ...

    def committed_seq(self) -> int:
        """The highest ``seq`` known to be durable: rows above it may still be in the
        journal's open transaction. It may lag behind the last commit, never lead."""
        ...

    def due(self, sink: str, *, now: float, upto: int, limit: int) -> list[OutboxRow]:
        """Up to ``limit`` pending rows of ``sink`` with ``seq <= upto`` that may be tried
        at ``now``, in ``seq`` order."""
        ...

    def next_attempt_at(self, sink: str, *, upto: int) -> float | None:
        """The earliest ``next_attempt`` of a pending row of ``sink`` (``seq <= upto``)."""
        ...

    def mark_delivered(self, seqs: Sequence[int], *, now: float) -> None:
        """The sink accepted these rows."""
        ...

    def mark_delivered_ids(self, sink: str, item_ids: Iterable[str], *, now: float) -> int:
        """Mark pending rows of ``sink`` with these item ids delivered; how many were."""
        ...

    def mark_retry(
        self, seq: int, *, attempts: int, next_attempt: float, error: str, now: float
    ) -> None:
        """A failed attempt that will be retried from ``next_attempt``."""
        ...

    def mark_dead(self, seq: int, *, attempts: int, error: str, now: float) -> None:
        """Give up on a row: a permanent failure or the last allowed attempt."""
        ...

    def held(
        self, sink: str, state: RowState, *, fold_key: str | None = None, upto: int | None = None
    ) -> Iterator[OutboxRow]:
        """The rows of ``sink`` in a held state (``folded``, ``digest``), in ``seq``
        order, optionally of one fold key and up to one ``seq``."""
        ...

    def move_held(
        self,
        sink: str,
        state: RowState,
        to: RowState,
        *,
        now: float,
        fold_key: str | None = None,
        upto: int | None = None,
        covered_by: str | None = None,
    ) -> int:
        """Move held rows (as selected by :meth:`held`) to state ``to``; how many."""
        ...

    def fold_windows(self, sink: str, *, since: float) -> list[tuple[str, float, int]]:
        """``(fold_key, fold_until, folded rows)`` for every fold key of ``sink`` with
        ``fold_until > since`` or with rows still folded."""
        ...

    def recent_sent(self, sink: str, *, since: float, limit: int) -> list[float]:
        """Creation times (newest first, at most ``limit``) of alert rows of ``sink``
        created after ``since`` that were not added as ``folded``: storm control's rate."""
        ...

    def last_notice(self, sink: str, kinds: Sequence[str]) -> OutboxRow | None:
        """The newest notice row of ``sink`` of one of ``kinds``."""
        ...

    def counts(self, states: Sequence[RowState]) -> dict[tuple[str, str], int]:
        """``(sink, state) -> rows`` for the given states."""
        ...

    def dead_letters(self, sink: str | None = None, *, limit: int = 1000) -> list[OutboxRow]:
        """Dead rows (of one sink, or all), newest first."""
        ...

    def prune(self, before: float) -> int:
        """Delete delivered and covered rows last updated before ``before``; how many."""
        ...
