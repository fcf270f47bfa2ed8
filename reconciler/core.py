"""The pure reconciliation core: events and time in, alerts out.

:class:`Reconciler` never reads a clock and never does I/O. The same object serves a
live engine, a replay of captured traffic and the tests: give it each received frame
with its receive time, the expectations the execution system registers, and the
passing of time; it returns the alerts each of those proves.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal, getcontext, localcontext, setcontext

import msgspec

from reconciler import _expectations, _fills, _orders, _parents, _streams
from reconciler import _snapshot as _snapshots
from reconciler._labels import label
from reconciler._model import HistoryEntry, OrderRecord
from reconciler._numbers import EXACT
from reconciler._state import State
from reconciler._timers import Check, Subject
from reconciler.alerts import Alert, AlertCode
from reconciler.config import CoreConfig
from reconciler.events import (
    Event,
    Expectation,
    Fill,
    Heartbeat,
    Ignored,
    Malformed,
    OrderUpdate,
    Passthrough,
    PositionUpdate,
    ReplayEnd,
    ReplayStart,
    Sequenced,
    Subscribed,
    VenueError,
)
from reconciler.lifecycle import Status, is_terminal
from reconciler.plugin import VenuePlugin, VenueProtocol, content_digest, excerpt, load_plugins

__all__ = ["OrderState", "Reconciler", "UnknownVenueError"]

#: The settle-window and deadline checks that re-examine one order when they come due.
_ORDER_CHECKS: dict[Check, Callable[[State, OrderRecord, float], None]] = {
    Check.EXECUTIONS: _fills.check_executions,
    Check.FILL_GAP: _fills.check_fill_gap,
    Check.PARENT: _parents.check_parent,
    Check.ORPHAN: _parents.check_orphan,
    Check.STALE: _orders.check_stale,
    Check.UNKNOWN_ORDER: _expectations.check_unknown_order,
}


#: Checks whose subject is a stream or an expectation, not an order.
_STREAM_CHECKS = frozenset({Check.SEQUENCE_GAP, Check.UNACKNOWLEDGED, Check.RETIRE_EXPECTATION})


class UnknownVenueError(KeyError):
    """A frame or expectation names a venue no plugin provides."""

    def __str__(self) -> str:
        return f"no plugin for venue {self.args[0]!r}"


class OrderState(msgspec.Struct, frozen=True, kw_only=True):
    """A read-only snapshot of one order as the reconciler currently models it."""

    venue: str
    order_id: str
    account: str
    reported: bool
    status: Status | None
    raw_status: str | None
    terminal: bool
    client_order_id: str | None
    parent_id: str | None
    symbol: str | None
    side: str | None
    quantity: Decimal | None
    original_quantity: Decimal | None
    filled: Decimal | None
    remaining: Decimal | None
    avg_price: Decimal | None
    notional: Decimal | None
    fees: Decimal | None
    executions_filled: Decimal
    executions: int
    is_parent: bool
    child_ids: tuple[str, ...] | None
    first_seen: float
    last_update: float
    expected: bool


class Reconciler:
    """Keeps an exact model of every order and reports every provable inconsistency.

    ``plugins`` maps venue names to :class:`~reconciler.plugin.VenuePlugin`s; by default
    every plugin registered in the ``reconciler.venues`` entry-point group is used.
    Every method that takes a time ``t`` (epoch seconds) first advances the clock to it,
    running the settle-window and deadline checks that came due, and returns the
    alerts raised, in order. Time never moves backwards: an earlier ``t`` is recorded
    on the event but does not rewind the clock.
    """

    def __init__(
        self,
        plugins: Mapping[str, VenuePlugin] | None = None,
        config: CoreConfig | None = None,
    ) -> None:
        self._plugins = dict(plugins) if plugins is not None else load_plugins()
        self.config = config if config is not None else CoreConfig()
        executions = frozenset(n for n, p in self._plugins.items() if p.streams_executions)
        self._st = State(self.config, executions)
        self._protocols: dict[tuple[str, str], VenueProtocol] = {}
        self._streams: dict[tuple[str, str], _streams.StreamState] = {}
        self._positions: dict[tuple[str, str, str], PositionUpdate] = {}
        #: The last bug-class exception the core contained, for the host to log.
        self.last_internal_error: str | None = None

    # -- public API ------------------------------------------------------------------

    @property
    def venues(self) -> tuple[str, ...]:
        """The venue names this reconciler has plugins for."""
        return tuple(sorted(self._plugins))

    @property
    def now(self) -> float:
        """The latest time the reconciler has been advanced to."""
        return self._st.now

    def feed(self, venue: str, account: str, frame: str | bytes, t: float) -> list[Alert]:
        """Reconcile one frame received from ``venue`` on ``account`` at time ``t``.

        Raises :class:`UnknownVenueError` if no plugin provides ``venue``; never raises
        for anything in ``frame``.
        """
        proto = self._protocol(venue, account)
        # setcontext rather than localcontext: a third of the cost, on every frame.
        host_context = getcontext()
        setcontext(EXACT)
        try:
            self._advance(t)
            self._st.counters["frames"] += 1
            try:
                events = proto.receive(frame)
            except Exception as exc:  # noqa: BLE001 - a plugin bug must not stop the feed
                events = [
                    Malformed(
                        reason=f"parser error: {type(exc).__name__}: {exc}"[:200],
                        excerpt=excerpt(frame),
                    )
                ]
            self._apply_all(venue, account, events, t, frame)
            return self._st.take_alerts()
        finally:
            setcontext(host_context)

    def feed_parsed(
        self, venue: str, account: str, frame: str | bytes, events: Sequence[Event], t: float
    ) -> list[Alert]:
        """Reconcile a frame its venue's protocol object has already parsed into ``events``.

        The live driver parses each frame once (it needs the events to see a refused
        login); the result is exactly that of :meth:`feed` with the same frame.
        """
        host_context = getcontext()
        setcontext(EXACT)
        try:
            self._advance(t)
            self._st.counters["frames"] += 1
            self._apply_all(venue, account, list(events), t, frame)
            return self._st.take_alerts()
        finally:
            setcontext(host_context)

    def report(
        self,
        code: AlertCode,
        *,
        venue: str,
        account: str,
        t: float,
        message: str,
        evidence: Mapping[str, str],
        facts: tuple[object, ...],
    ) -> list[Alert]:
        """Raise an alert found outside the core (a live connection's), with the id,
        severity override and de-duplication every alert gets. ``facts`` identify it:
        raising the same code with the same facts again returns nothing."""
        with localcontext(EXACT):
            self._advance(t)
            self._st.alert(
                code,
                venue=venue,
                account=account,
                t=t,
                message=message,
                evidence=evidence,
                facts=facts,
            )
            return self._st.take_alerts()

    def feed_events(
        self, venue: str, account: str, events: Iterable[Event], t: float
    ) -> list[Alert]:
        """Reconcile already-normalized events (for plugin-less producers and tests)."""
        with localcontext(EXACT):
            self._advance(t)
            self._apply_all(venue, account, list(events), t, b"")
            return self._st.take_alerts()

    def expect(self, expectation: Expectation, t: float) -> list[Alert]:
        """Register an order the execution system sent (drives the expectation checks)."""
        with localcontext(EXACT):
            self._advance(t)
            _expectations.register(self._st, expectation, t)
            return self._st.take_alerts()

    def advance(self, t: float) -> list[Alert]:
        """Move time forward to ``t`` and run the checks that came due."""
        with localcontext(EXACT):
            self._advance(t)
            return self._st.take_alerts()

    def resume(self, t: float) -> list[Alert]:
        """The host was down (a crash, a restart) from :attr:`now` until ``t``.

        Nothing could be received meanwhile, so the absence of a message proves nothing:
        every pending settle-window and deadline check is postponed by the downtime, as
        if the clock had stopped, and the clock moves to ``t``. Without this, a check
        that came due during the downtime would fire at restart before the venue's
        replay (or the next report) could answer it.
        """
        with localcontext(EXACT):
            st = self._st
            if math.isfinite(st.now) and t > st.now:
                delta = t - st.now
                st.timers.shift(delta)
                for rec in st.orders.values():
                    # The settle-window requirements carry their own due times.
                    if rec.cum_reqs:
                        rec.cum_reqs = [(due + delta, lvl) for due, lvl in rec.cum_reqs]
                    if rec.exec_reqs:
                        rec.exec_reqs = [(due + delta, lvl) for due, lvl in rec.exec_reqs]
                st.counters["resumes"] += 1
            st.now = max(st.now, t)
            return self._st.take_alerts()

    def connection_event(self, venue: str, account: str, event: str, t: float) -> list[Alert]:
        """Record a connection event (``connected``, ``disconnected``) on a venue account."""
        with localcontext(EXACT):
            self._advance(t)
            self._st.counters[f"connection.{event}"] += 1
            return self._st.take_alerts()

    def next_check_due(self) -> float | None:
        """When the earliest pending time-based check comes due (for a live timer)."""
        return self._st.timers.next_due()

    def order(self, venue: str, order_id: str) -> OrderState | None:
        """The current state of an order, or ``None`` if it is unknown or retired."""
        rec = self._st.orders.get((venue, order_id))
        return None if rec is None else _snapshot(rec)

    def orders(self, *, open_only: bool = False) -> list[OrderState]:
        """Every order currently tracked (optionally only open ones)."""
        recs = self._st.orders.values()
        return [
            _snapshot(r)
            for r in recs
            if not open_only or (r.status is not None and not is_terminal(r.status))
        ]

    def history(self, venue: str, order_id: str) -> list[HistoryEntry]:
        """What happened to an order, oldest first (bounded by ``max_history``)."""
        rec = self._st.orders.get((venue, order_id))
        return [] if rec is None or rec.history is None else list(rec.history)

    def position(self, venue: str, account: str, symbol: str) -> PositionUpdate | None:
        """The last position report for a symbol (kept for later checks)."""
        return self._positions.get((venue, account, symbol))

    def snapshot(self) -> bytes:
        """The whole model as bytes, for :meth:`restore` (the journal's state snapshots).

        Only restore bytes from a trusted source (the engine's own journal): they are a
        pickle.
        """
        return _snapshots.dumps(_snapshots.CoreState(self._st, self._streams, self._positions))

    def restore(self, blob: bytes) -> None:
        """Replace the model with one :meth:`snapshot` produced.

        The restored model resumes exactly: open orders, fill sets, sequence positions,
        pending checks and de-duplication memory. This reconciler's plugins and
        configuration are kept (a changed threshold applies from now on). Raises
        :class:`~reconciler._snapshot.SnapshotError` for bytes it cannot restore.
        """
        core = _snapshots.loads(blob)
        core.state.config = self.config
        core.state.execution_venues = self._st.execution_venues
        core.state.out = []
        self._st = core.state
        self._streams = core.streams
        self._positions = core.positions

    def state_digest(self) -> str:
        """A digest of the model that does not depend on receive times (see
        :func:`reconciler._snapshot.digest`): equal for two runs that saw the same frames."""
        return _snapshots.digest(_snapshots.CoreState(self._st, self._streams, self._positions))

    def stats(self) -> dict[str, int]:
        """Counters: frames, events by kind, duplicates dropped, alerts by code, ..."""
        counters = dict(self._st.counters)
        counters["orders.tracked"] = len(self._st.orders)
        counters["fills.tracked"] = len(self._st.fills)
        counters["timers.pending"] = len(self._st.timers)
        return counters

    # -- internals -------------------------------------------------------------------

    def _protocol(self, venue: str, account: str) -> VenueProtocol:
        proto = self._protocols.get((venue, account))
        if proto is None:
            plugin = self._plugins.get(venue)
            if plugin is None:
                raise UnknownVenueError(venue)
            proto = plugin.protocol(account)
            self._protocols[(venue, account)] = proto
        return proto

    def _advance(self, t: float) -> None:
        st = self._st
        st.now = max(st.now, t)
        while (item := st.timers.pop_due(st.now)) is not None:
            due, check, subject = item
            try:
                self._run_check(check, subject, due)
            except Exception as exc:  # noqa: BLE001 - see _contain
                self._contain(exc, subject[0], self._account(subject), due)

    def _account(self, subject: Subject) -> str:
        """The connection account a check's subject belongs to (for a contained error)."""
        rec = self._st.orders.get((subject[0], subject[1])) if len(subject) == 2 else None
        if rec is not None:
            return rec.account
        return subject[1] if len(subject) > 1 else ""

    def _run_check(self, check: Check, subject: Subject, due: float) -> None:
        st = self._st
        if check is Check.SEQUENCE_GAP:
            _streams.check_gap(st, self._streams, subject[0], subject[1], due)
            return
        if check is Check.UNACKNOWLEDGED:
            _expectations.check_unacknowledged(st, subject[0], subject[1], subject[2], due)
            return
        if check is Check.RETIRE_EXPECTATION:
            _expectations.retire_expectation(st, subject[0], subject[1], subject[2])
            return
        rec = st.orders.get((subject[0], subject[1]))
        if rec is None:
            return
        if check is Check.RETIRE:
            self._retire(rec, due)
        else:
            _ORDER_CHECKS[check](st, rec, due)

    def _retire(self, rec: OrderRecord, due: float) -> None:
        st = self._st
        retention = st.config.retention
        done = rec.status is not None and is_terminal(rec.status)
        if rec.reported and not done:
            return  # open orders are kept; a later terminal report reschedules retirement
        if rec.last_t + retention > due:
            st.schedule(rec.last_t + retention, Check.RETIRE, rec.venue, rec.order_id)
            return
        st.orders.pop((rec.venue, rec.order_id), None)
        for fill_id in rec.fill_ids or ():
            st.fills.pop((rec.venue, fill_id), None)
        if rec.parent_id is not None:
            siblings = st.children.get((rec.venue, rec.parent_id))
            if siblings is not None:
                siblings.discard(rec.order_id)
                if not siblings:
                    del st.children[(rec.venue, rec.parent_id)]
        if rec.client_order_id:
            st.clients.pop((rec.venue, rec.account, rec.client_order_id), None)
        st.counters["orders.retired"] += 1
        # A retired order's later checks would find nothing but wait in the queue until
        # due: a day order's STALE check (every other check comes due within the
        # retention period). Drop them in bulk once they are half the queue, so the
        # cost is amortized O(1) and a retired order soon costs nothing.
        if rec.stale_due is not None and rec.stale_due > due:
            st.dead_timers += 1
        # (With no order left, every queued order check is dead, counted or not.)
        if st.dead_timers and (st.dead_timers * 2 >= len(st.timers) or not st.orders):
            st.dead_timers = 0
            st.counters["timers.dropped"] += st.timers.compact(self._check_alive)

    def _check_alive(self, check: Check, subject: Subject) -> bool:
        """Whether a pending check can still find anything (its order is still known)."""
        if check in _STREAM_CHECKS:
            return True
        return (subject[0], subject[1]) in self._st.orders

    def _apply_all(
        self, venue: str, account: str, events: list[Event], t: float, frame: str | bytes
    ) -> None:
        frame_orders: dict[str, OrderUpdate] = {}
        for ev in events:
            try:
                self._apply(venue, account, ev, t, frame, frame_orders)
            except Exception as exc:  # noqa: BLE001 - see _contain
                self._contain(exc, venue, account, t)

    def _contain(self, exc: Exception, venue: str, account: str, t: float) -> None:
        # Anything a venue sends must never crash the engine: a bug in a rule is counted,
        # kept for the host to log, and reported as a malformed message for that frame.
        self._st.counters["internal_errors"] += 1
        self.last_internal_error = f"{type(exc).__name__}: {exc}"
        self._st.alert(
            AlertCode.MALFORMED_MESSAGE,
            venue=venue,
            account=account,
            t=t,
            message="A message could not be reconciled because of an internal "
            "error; it was skipped.",
            evidence={"reason": f"internal error: {type(exc).__name__}"},
            facts=("internal", type(exc).__name__, str(exc)[:100], t),
        )

    def _apply(
        self,
        venue: str,
        account: str,
        ev: Event,
        t: float,
        frame: str | bytes,
        frame_orders: dict[str, OrderUpdate],
    ) -> None:
        st = self._st
        match ev:
            case OrderUpdate():
                st.counters["events.order"] += 1
                _orders.apply_order_update(st, venue, account, ev, t, frame_orders)
            case Fill():
                st.counters["events.fill"] += 1
                _fills.apply_fill(st, venue, account, ev, t)
            case Sequenced():
                st.counters["events.sequenced"] += 1
                if _streams.admit(st, self._streams, venue, account, ev, t):
                    for inner in ev.events:
                        self._apply(venue, account, inner, t, frame, frame_orders)
            case Malformed():
                st.counters["malformed"] += 1
                st.alert(
                    AlertCode.MALFORMED_MESSAGE,
                    venue=venue,
                    account=account,
                    t=t,
                    message=f"A {label(venue)} message could not be understood and was skipped: "
                    f"{ev.reason}",
                    evidence={"reason": ev.reason, "excerpt": ev.excerpt},
                    facts=("malformed", account, ev.reason, content_digest(frame), ev.excerpt),
                )
            case PositionUpdate():
                st.counters["events.position"] += 1
                self._positions[(venue, account, ev.symbol)] = ev
            case VenueError():
                st.counters["events.venue_error"] += 1
            case Ignored():
                st.counters["events.ignored"] += 1
            case Heartbeat():
                st.counters["events.heartbeat"] += 1
            case Subscribed():
                st.counters["events.subscribed"] += 1
            case ReplayStart() | ReplayEnd():
                st.counters[f"events.{type(ev).__name__.lower()}"] += 1
            case Passthrough():
                st.counters["events.passthrough"] += 1


def _snapshot(rec: OrderRecord) -> OrderState:
    return OrderState(
        venue=rec.venue,
        order_id=rec.order_id,
        account=rec.account,
        reported=rec.reported,
        status=rec.status,
        raw_status=rec.raw_status,
        terminal=rec.status is not None and is_terminal(rec.status),
        client_order_id=rec.client_order_id,
        parent_id=rec.parent_id,
        symbol=rec.symbol,
        side=rec.side,
        quantity=rec.quantity,
        original_quantity=rec.original_quantity,
        filled=rec.filled,
        remaining=rec.remaining,
        avg_price=rec.avg_price,
        notional=rec.notional,
        fees=rec.fees,
        executions_filled=rec.exec_sum,
        executions=0 if rec.fill_ids is None else len(rec.fill_ids),
        is_parent=rec.is_parent,
        child_ids=rec.child_ids,
        first_seen=rec.first_seen,
        last_update=rec.last_t,
        expected=rec.expectation is not None,
    )
