"""The reconciler's mutable state, shared by the rule modules, and how alerts are raised."""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Mapping
from decimal import Decimal

from reconciler._model import HistoryEntry, OrderRecord
from reconciler._timers import Check, TimerQueue
from reconciler.alerts import DEFAULT_SEVERITY, Alert, AlertCode, alert_id
from reconciler.config import CoreConfig
from reconciler.events import Expectation

OrderKey = tuple[str, str]  # (venue, order_id)
AccountKey = tuple[str, str]  # (venue, connection account)
ClientKey = tuple[str, str, str]  # (venue, connection account, client order id)

# Ids of alerts not tied to an order (stream-level) are remembered in a bounded window:
# enough to absorb a venue's replay, never an unbounded set.
_STREAM_ALERT_MEMORY = 100_000


class PendingExpectation:
    """An expectation waiting for the venue to report its order."""

    __slots__ = ("alerted", "expectation", "order_id", "t")

    def __init__(self, expectation: Expectation, t: float) -> None:
        self.expectation = expectation
        self.t = t
        self.order_id: str | None = None
        self.alerted = False


class State:
    """All indexes the rule modules read and write, plus the outgoing alert buffer."""

    def __init__(self, config: CoreConfig, execution_venues: frozenset[str]) -> None:
        self.config = config
        #: Venues that stream executions separately from order reports.
        self.execution_venues = execution_venues
        self.orders: dict[OrderKey, OrderRecord] = {}
        self.fills: dict[tuple[str, str], tuple[str, Decimal, Decimal | None, Decimal | None]] = {}
        self.children: dict[OrderKey, set[str]] = {}
        self.clients: dict[ClientKey, str] = {}
        self.expectations: dict[ClientKey, PendingExpectation] = {}
        self.timers = TimerQueue()
        self.now = float("-inf")
        self.out: list[Alert] = []
        self.counters: Counter[str] = Counter()
        self._stream_alerts: OrderedDict[str, None] = OrderedDict()
        #: Pending checks of retired orders (see Reconciler._retire), roughly.
        self.dead_timers = 0

    # -- records -------------------------------------------------------------------

    def record(
        self, venue: str, order_id: str, account: str, t: float, *, retire: bool = True
    ) -> OrderRecord:
        """The record for an order, created (unreported) if new.

        A new record is scheduled for retirement, so an order only ever heard of
        through executions is forgotten in time; ``retire=False`` leaves that to the
        caller (an order report, after which the record is reported and retires once
        terminal: an open order needs no timer).
        """
        rec = self.orders.get((venue, order_id))
        if rec is None:
            rec = OrderRecord(venue, order_id, account, t)
            self.orders[(venue, order_id)] = rec
            if retire:
                self.schedule_retire(rec, t)
        return rec

    def schedule_retire(self, rec: OrderRecord, t: float) -> None:
        """Look at retiring ``rec`` once the retention period after ``t`` has passed."""
        self.timers.schedule(t + self.config.retention, Check.RETIRE, (rec.venue, rec.order_id))

    def schedule(self, due: float, check: Check, *subject: str) -> None:
        """Schedule a check (see :mod:`reconciler._timers`)."""
        self.timers.schedule(due, check, subject)

    # -- alerts --------------------------------------------------------------------

    def alert(
        self,
        code: AlertCode,
        *,
        venue: str,
        account: str,
        t: float,
        message: str,
        evidence: Mapping[str, str],
        facts: tuple[object, ...],
        order: OrderRecord | None = None,
        order_id: str | None = None,
        parent_id: str | None = None,
    ) -> None:
        """Raise an alert unless the same one (same deterministic id) was raised before."""
        if order is not None:
            order_id = order.order_id
            parent_id = order.parent_id
        aid = alert_id(code, venue, order_id, *facts)
        if order is not None:
            ids = order.alert_ids
            if ids is None:
                order.alert_ids = {aid}
            elif aid in ids:
                return
            else:
                ids.add(aid)
            order.note(
                HistoryEntry(t=t, kind="alert", note=f"{code}: {message}"), self.config.max_history
            )
        else:
            if aid in self._stream_alerts:
                return
            self._stream_alerts[aid] = None
            if len(self._stream_alerts) > _STREAM_ALERT_MEMORY:
                self._stream_alerts.popitem(last=False)
        severity = self.config.severity.get(code, DEFAULT_SEVERITY[code])
        self.counters[f"alerts.{code}"] += 1
        self.out.append(
            Alert(
                id=aid,
                code=code,
                severity=severity,
                venue=venue,
                account=account,
                order_id=order_id,
                parent_id=parent_id,
                t=t,
                message=message,
                evidence=dict(evidence),
            )
        )

    def take_alerts(self) -> list[Alert]:
        """The alerts raised since the last call, in the order they were raised."""
        out, self.out = self.out, []
        return out
