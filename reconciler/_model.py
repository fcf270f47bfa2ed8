"""The in-memory model: one record per order, its history, and fill coverage."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from reconciler._numbers import ZERO
from reconciler.events import Expectation
from reconciler.lifecycle import Status

__all__ = ["Coverage", "HistoryEntry", "OrderRecord"]

#: Up to this many earlier report digests are kept in a tuple, beyond it in a set.
_SHORT_SEEN = 8


class HistoryEntry(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One thing that happened to an order, as the reconciler saw it.

    ``kind`` is ``update`` (an order report), ``fill`` (an execution), ``duplicate``
    (an identical re-send, dropped) or ``alert``. ``applied`` is False for reports that
    were recorded but not applied (older by the ordering key, a fill regression).
    """

    t: float
    kind: str
    applied: bool = True
    status: Status | None = None
    raw_status: str | None = None
    filled: Decimal | None = None
    quantity: Decimal | None = None
    fill_id: str | None = None
    note: str = ""


class Coverage:
    """Which stretches of an order's cumulative quantity are explained by reported fills.

    Each fill report covers ``(cum - qty, cum]``; overlapping reports (re-sends) merge.
    What stays uncovered between the baseline and the reported cumulative quantity is a
    fill nobody reported.
    """

    __slots__ = ("baseline", "spans")

    def __init__(self, baseline: Decimal) -> None:
        self.baseline = baseline
        # A tuple: the empty one is shared, and most orders have one span or none.
        self.spans: tuple[tuple[Decimal, Decimal], ...] = ()

    def add(self, low: Decimal, high: Decimal) -> None:
        """Mark ``(low, high]`` as covered."""
        if high <= low:
            return
        merged: list[tuple[Decimal, Decimal]] = []
        for a, b in self.spans:
            if b < low or a > high:
                merged.append((a, b))
            else:
                low, high = min(a, low), max(b, high)
        merged.append((low, high))
        merged.sort()
        self.spans = tuple(merged)

    def uncovered(self, level: Decimal) -> list[tuple[Decimal, Decimal]]:
        """The stretches of ``(baseline, level]`` no fill report covers."""
        gaps: list[tuple[Decimal, Decimal]] = []
        cursor = self.baseline
        for a, b in self.spans:
            if cursor >= level:
                break
            if a > cursor:
                gaps.append((cursor, min(a, level)))
            cursor = max(cursor, b)
        if cursor < level:
            gaps.append((cursor, level))
        return gaps


class OrderRecord:
    """Everything the reconciler knows about one order (a mutable, slotted record)."""

    __slots__ = (
        "account",
        "alert_ids",
        "amend_key",
        "avg_price",
        "carried_child_ids",
        "child_ids",
        "client_order_id",
        "clock_offset",
        "coverage",
        "cum_reqs",
        "deadline_ends",
        "deadline_lifetime",
        "exec_order_quantity",
        "exec_reqs",
        "exec_sum",
        "exec_value",
        "exec_value_known",
        "expectation",
        "exposure",
        "fees",
        "fill_ids",
        "filled",
        "first_seen",
        "flags",
        "gap_alerted",
        "gap_ranges",
        "history",
        "is_parent",
        "key",
        "last_digest",
        "last_t",
        "limit_price",
        "notional",
        "order_id",
        "original_quantity",
        "parent_id",
        "pct_filled",
        "quantity",
        "raw_status",
        "remaining",
        "reported",
        "seen",
        "side",
        "stale_due",
        "status",
        "symbol",
        "terminal_at",
        "venue",
        "venue_account",
    )

    def __init__(self, venue: str, order_id: str, account: str, t: float) -> None:
        self.venue = venue
        self.order_id = order_id
        self.account = account
        self.first_seen = t
        self.last_t = t
        self.reported = False
        self.status: Status | None = None
        self.raw_status: str | None = None
        self.client_order_id: str | None = None
        self.parent_id: str | None = None
        self.venue_account: str | None = None
        self.symbol: str | None = None
        self.side: str | None = None
        self.quantity: Decimal | None = None
        self.original_quantity: Decimal | None = None
        self.filled: Decimal | None = None
        self.remaining: Decimal | None = None
        self.avg_price: Decimal | None = None
        self.notional: Decimal | None = None
        self.fees: Decimal | None = None
        self.pct_filled: Decimal | None = None
        self.limit_price: Decimal | None = None
        self.key: int | None = None
        #: Ordering key of the newest status-less amendment applied (BTSE 123): older
        #: reports may still set the status, but no longer the quantity.
        self.amend_key: int | None = None
        self.is_parent = False
        self.child_ids: tuple[str, ...] | None = None
        self.carried_child_ids: tuple[str, ...] | None = None
        self.exposure: Decimal | None = None
        self.terminal_at: float | None = None
        self.deadline_ends: float | None = None
        self.deadline_lifetime: float | None = None
        #: Receive time minus venue time, the smallest seen: the venue clock's offset.
        self.clock_offset: float | None = None
        self.stale_due: float | None = None
        self.coverage: Coverage | None = None
        self.exec_sum = ZERO
        self.exec_value = ZERO
        self.exec_value_known = True
        #: The order quantity as the executions state it (Bybit ``order_qty``).
        self.exec_order_quantity: Decimal | None = None
        # Every container below is None until first needed: most open orders never get
        # an execution, a settle-window requirement, a flag or an alert, and an empty
        # set, list or dict costs more than the rest of the record together
        # (docs/performance.md, memory).
        self.fill_ids: list[str] | None = None
        # (due, level) pairs: a reported cumulative that executions must reach by ``due``,
        # and an execution total that the reported cumulative must reach by ``due``.
        # Lists, not deques: a deque allocates a 64-slot block (760 bytes) for one item.
        self.cum_reqs: list[tuple[float, Decimal]] | None = None
        self.exec_reqs: list[tuple[float, Decimal]] | None = None
        #: What was already reported, so a persisting loss is not re-reported with every
        #: later fill: FILL_GAP ranges, and the execution shortfall/excess amounts.
        self.gap_ranges: list[tuple[Decimal, Decimal]] | None = None
        self.gap_alerted: dict[str, Decimal] | None = None
        #: Digests of the reports applied: the newest in ``last_digest``, the others in
        #: ``seen``, a tuple while short (a set costs 216 bytes even for one), a set
        #: once long (see :meth:`saw`).
        self.seen: tuple[int, ...] | set[int] = ()
        self.last_digest: int | None = None
        self.flags: set[str] | None = None
        self.alert_ids: set[str] | None = None
        self.expectation: Expectation | None = None
        #: The newest ``max_history`` entries, oldest first (see :meth:`note`).
        self.history: list[HistoryEntry] | None = None

    def saw(self, digest: int) -> bool:
        """Whether a report with this digest was applied to the order before."""
        return digest == self.last_digest or digest in self.seen

    def see(self, digest: int) -> None:
        """Remember an applied report's digest as the newest."""
        last = self.last_digest
        if last is not None and last != digest and last not in self.seen:
            seen = self.seen
            if isinstance(seen, set):
                seen.add(last)
            elif len(seen) < _SHORT_SEEN:
                self.seen = (*seen, last)
            else:
                self.seen = {*seen, last}
        self.last_digest = digest

    def note(self, entry: HistoryEntry, limit: int) -> None:
        """Add ``entry`` to the history, keeping the newest ``limit`` entries."""
        history = self.history
        if history is None:
            self.history = [entry]
            return
        history.append(entry)
        if len(history) > limit:
            # At most one over, and only on orders with ``limit`` reports already.
            del history[0]

    def has_flag(self, flag: str) -> bool:
        """Whether ``flag`` was set on the order."""
        return self.flags is not None and flag in self.flags

    def set_flag(self, flag: str) -> None:
        """Set ``flag`` on the order."""
        if self.flags is None:
            self.flags = {flag}
        else:
            self.flags.add(flag)

    @property
    def deadline(self) -> float | None:
        """When the order is expected to have ended, on the receive clock."""
        ends, life = self.deadline_ends, self.deadline_lifetime
        if ends is None:
            return life
        return ends if life is None else min(ends, life)
