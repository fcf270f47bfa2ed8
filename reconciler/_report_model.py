"""The data of an audit report (:mod:`reconciler.report`): plain msgspec Structs.

Every renderer (HTML, Markdown, JSON, CSV) reads only these, so the formats cannot
disagree. Quantities are :class:`~decimal.Decimal` (JSON: exact strings), times are
epoch seconds (floats), and every sequence is already in its display order: building a
report sorts, rendering never does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import msgspec

__all__ = [
    "AlertEntry",
    "ConnectionHealth",
    "ConnectionInterval",
    "ExpectationEntry",
    "FillReconciliation",
    "OrderRef",
    "OrderReport",
    "Report",
    "ReportFilters",
    "Summary",
    "TimelineEntry",
    "fmt_decimal",
    "fmt_time",
]


class ReportFilters(msgspec.Struct, frozen=True, kw_only=True):
    """What the report was asked to cover (``None``: not restricted)."""

    from_t: float | None = None
    to_t: float | None = None
    venue: str | None = None
    account: str | None = None


class ConnectionInterval(msgspec.Struct, frozen=True, kw_only=True):
    """A stretch of the reported span during which a venue account was (dis)connected."""

    start: float
    end: float
    connected: bool


class ConnectionHealth(msgspec.Struct, frozen=True, kw_only=True):
    """One venue account's connection over the reported span.

    ``uptime_seconds`` counts the time between ``connected`` and ``disconnected``
    records inside the span; before the first connection record the state is inferred
    (a first ``disconnected`` means it was connected, a first ``connected`` that it was
    not; no connection record at all but frames means connected throughout).
    ``sequence_gaps`` is the number of SEQUENCE_GAP alerts on the account.
    """

    venue: str
    account: str
    first_t: float
    last_t: float
    frames: int
    connects: int
    disconnects: int
    sequence_gaps: int
    uptime_seconds: float
    #: Percentage of the report's span, one decimal, as text; None for an empty span.
    uptime_pct: str | None
    intervals: tuple[ConnectionInterval, ...]


class Summary(msgspec.Struct, frozen=True, kw_only=True):
    """The report's headline numbers."""

    venues: tuple[str, ...]
    #: ``venue/account`` pairs seen in the records or the alerts.
    accounts: tuple[str, ...]
    records: int
    frames: int
    #: Frames per ``venue/account``.
    frames_by_account: dict[str, int]
    expectations: int
    orders: int
    #: Final status -> number of orders (``unreported``: known only from fills or an
    #: expectation, never from an order report).
    orders_by_status: dict[str, int]
    alerts: int
    alerts_by_severity: dict[str, int]
    alerts_by_code: dict[str, int]
    connections: tuple[ConnectionHealth, ...]


class AlertEntry(msgspec.Struct, frozen=True, kw_only=True):
    """An alert from the journal, as raised live, with where it links to.

    ``link`` is the anchor of the order section (``order-...``) or the expectation
    (``expectation-...``) the alert concerns, when that is part of the report.
    """

    id: str
    anchor: str
    t: float
    code: str
    severity: str
    venue: str
    account: str
    order_id: str | None
    parent_id: str | None
    message: str
    evidence: dict[str, str]
    link: str | None


class TimelineEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One step of an order's lifecycle.

    ``kind``: ``update`` (an order report: ``reported_filled`` is the cumulative filled
    it stated, ``quantity`` the order quantity), ``fill`` (an execution:
    ``fill_quantity``, and ``executions_filled`` the sum of executions so far),
    ``duplicate`` (an identical re-send, dropped) or ``alert`` (an alert from the
    journal, ``alert_id``). ``applied`` is False for a report that was recorded but not
    applied (older than the state, a fill regression).
    """

    t: float
    kind: str
    applied: bool = True
    status: str | None = None
    raw_status: str | None = None
    reported_filled: Decimal | None = None
    executions_filled: Decimal | None = None
    quantity: Decimal | None = None
    fill_quantity: Decimal | None = None
    fill_id: str | None = None
    alert_id: str | None = None
    note: str = ""


class FillReconciliation(msgspec.Struct, frozen=True, kw_only=True):
    """An order's filled quantity as each source states it, and where they disagree."""

    quantity: Decimal | None
    original_quantity: Decimal | None
    expected_quantity: Decimal | None
    reported_filled: Decimal | None
    remaining: Decimal | None
    avg_price: Decimal | None
    #: Whether the venue streams executions at all (otherwise executions are not a source).
    streams_executions: bool
    executions: int
    executions_filled: Decimal
    #: For a parent: the sum of its children's reported filled quantities.
    children_filled: Decimal | None
    #: Each disagreement, as a sentence; empty when every source agrees.
    findings: tuple[str, ...]

    def rows(
        self, num: Callable[[Decimal | None], str], no_executions: str
    ) -> list[tuple[str, str]]:
        """The sources as (label, value) rows, numbers through ``num``, for a renderer."""
        rows = [
            ("Quantity", num(self.quantity)),
            ("Expected quantity", num(self.expected_quantity)),
            ("Reported filled", num(self.reported_filled)),
            (
                f"Executions ({self.executions})",
                num(self.executions_filled) if self.streams_executions else no_executions,
            ),
        ]
        if self.children_filled is not None:
            rows.append(("Children filled", num(self.children_filled)))
        return rows

    consistent: bool


class OrderRef(msgspec.Struct, frozen=True, kw_only=True):
    """A reference to another order: its anchor when it is part of the report."""

    order_id: str
    link: str | None


class OrderReport(msgspec.Struct, frozen=True, kw_only=True):
    """One order: identity, final state, fill reconciliation, lifecycle and alerts."""

    anchor: str
    venue: str
    account: str
    order_id: str
    client_order_id: str | None
    symbol: str | None
    side: str | None
    status: str | None
    raw_status: str | None
    terminal: bool
    first_seen: float
    last_update: float
    #: 0 for a top-level order, 1 for a child listed under its parent, and so on.
    depth: int
    parent: OrderRef | None
    is_parent: bool
    children: tuple[OrderRef, ...]
    reconciliation: FillReconciliation
    timeline: tuple[TimelineEntry, ...]
    alert_ids: tuple[str, ...]


class ExpectationEntry(msgspec.Struct, frozen=True, kw_only=True):
    """An order the execution system registered, and the venue order it became."""

    anchor: str
    t: float
    venue: str
    account: str
    client_order_id: str
    symbol: str
    side: str
    quantity: Decimal
    price: Decimal | None
    order: OrderRef | None


class Report(msgspec.Struct, frozen=True, kw_only=True):
    """An audit report of a journal (or a time/venue/account slice of it).

    ``span_start``/``span_end`` bound the records and alerts the report covers (None
    when it covers nothing). ``skipped`` lists why records could not be replayed.
    """

    title: str
    source: str
    filters: ReportFilters
    span_start: float | None
    span_end: float | None
    summary: Summary
    alerts: tuple[AlertEntry, ...]
    orders: tuple[OrderReport, ...]
    expectations: tuple[ExpectationEntry, ...]
    skipped: tuple[str, ...]


def fmt_time(t: float | None) -> str:
    """``2025-07-10 11:31:41.210`` (UTC, milliseconds); ``-`` for None."""
    if t is None:
        return "-"
    if not math.isfinite(t):
        return str(t)
    try:
        return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    except (OverflowError, OSError, ValueError):
        return f"{t:.3f}"


def fmt_decimal(value: Decimal | None) -> str:
    """A quantity as the venue wrote it (no exponent for ordinary numbers); ``-`` for None."""
    if value is None:
        return "-"
    text = str(value)
    if "E" in text or "e" in text:
        text = format(value, "f")
    return text
