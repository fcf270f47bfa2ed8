"""The faults a Tread.fi script can inject, each a story on fresh orders.

Every story writes its steps on the timeline from ``t0`` and returns when the fault
happens and exactly which alerts it must produce. Tread.fi sends cumulative snapshots
keyed by ``updated_at``, has no fill ids, no sequence numbers, no rejected status and no
replay, so FILL_GAP, DUPLICATE_CONFLICT, EXECUTION_ORDER_MISMATCH, ORDER_REJECTED and
SEQUENCE_GAP cannot be shown on this venue (docs/alerts.md) and are not offered.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

from reconciler.alerts import AlertCode
from reconciler.simulator import (
    TRANSPORT_FAULTS,
    Disconnect,
    RefuseAuth,
    Stall,
)
from reconciler_tread._scenario import FaultResult, FaultStory, Timeline
from reconciler_tread._scenario_faults_multi import (
    child_set_mismatch,
    one,
    parent_aggregate_mismatch,
    parent_terminal_with_active_child,
    stuck_parent,
)
from reconciler_tread._scenario_orders import (
    PAIRS,
    dec,
    expect_single,
    iso,
    message,
    new_single,
    split,
)

__all__ = ["FAULT_NAMES", "FAULT_STORIES"]


class _Run:
    """A single order driven message by message from ``t0``, 0.2-1 s apart."""

    def __init__(self, tl: Timeline, t0: float, *, expect: bool = True, **kw: Any) -> None:
        self.tl = tl
        self.at = t0 + tl.gap()
        self.order = new_single(tl, self.at, length=40.0, **kw)
        if expect:
            expect_single(tl, t0, self.order)
        self.portions = split(self.order.target, self.order.pair.lot, 4, tl.rng)

    def tick(self, seconds: float | None = None) -> float:
        """Move on to the next message: ``seconds`` (default 0.2-1 s) after the last one."""
        self.at += seconds if seconds is not None else self.tl.gap()
        return self.at

    def frame(self, update_type: str, **overrides: Any) -> str:
        """The order's message at the current time."""
        return self.order.frame(self.tl, self.at, update_type, **overrides)

    def send(self, update_type: str, *, raw: bool = False, lost: bool = False, **kw: Any) -> str:
        """Send the order's message now; returns it."""
        frame = self.frame(update_type, **kw)
        self.tl.send(self.at, frame, raw=raw, lost=lost)
        return frame

    def open(self) -> None:
        """``order_created`` (SCHEDULED) then ``order_activated`` (ACTIVE)."""
        self.send("order_created")
        self.order.status = "ACTIVE"
        self.tick()
        self.send("order_activated")

    def fill(self) -> None:
        """The next portion fills (the order is not sent)."""
        self.tick()
        self.order.fill(self.portions.pop(0), self.order.price(self.tl.rng))

    def fill_send(self, **kw: Any) -> str:
        """The next portion fills; its snapshot is sent."""
        self.fill()
        return self.send("order_fill_received", **kw)

    def finish(self) -> None:
        """Fill the rest, then COMPLETE."""
        while self.portions:
            self.fill_send()
        self.order.status = "COMPLETE"
        self.tick()
        self.send("order_completed")


# -- transport faults ------------------------------------------------------------------


def _drop(tl: Timeline, t0: float) -> FaultResult:
    run = _Run(tl, t0)
    run.open()
    run.fill_send()
    run.fill_send(lost=True)
    at = run.at
    run.finish()
    note = (
        "a fill snapshot is lost in transit; Tread.fi snapshots are cumulative, so the "
        "next one carries the lost fill: nothing to prove"
    )
    return FaultResult(at, (), note)


def _duplicate(tl: Timeline, t0: float) -> FaultResult:
    run = _Run(tl, t0)
    run.open()
    frame = run.fill_send()
    at = run.tick(tl.gap(0.05, 0.4))
    tl.send(at, frame)
    run.finish()
    return FaultResult(at, (), "a fill snapshot is delivered twice, identical: dropped")


def _delayed(tl: Timeline, t0: float, *, overtaken_by: int) -> tuple[FaultResult, _Run]:
    """A fill snapshot overtaken by ``overtaken_by`` newer ones arrives late."""
    run = _Run(tl, t0)
    run.open()
    run.fill()
    late = run.frame("order_fill_received")
    for _ in range(overtaken_by):
        run.fill_send()
    at = run.tick(tl.gap(0.05, 0.4))
    tl.send(at, late)
    run.finish()
    expects = one(AlertCode.OUT_OF_ORDER, run.order.id)
    return FaultResult(at, expects, ""), run


def _reorder(tl: Timeline, t0: float) -> FaultResult:
    result, _ = _delayed(tl, t0, overtaken_by=1)
    note = "two fill snapshots of one order arrive swapped; the older is recorded, not applied"
    return FaultResult(result.at, result.expects, note)


def _malformed(tl: Timeline, t0: float) -> FaultResult:
    run = _Run(tl, t0)
    frame = run.order.frame(tl, run.at, "order_created")
    tl.send(run.at, frame[: len(frame) // 2], raw=True)
    at = run.at
    run.order.status = "ACTIVE"
    run.tick()
    run.send("order_activated")
    run.finish()
    note = "the order_created frame arrives cut off mid-object; the next snapshot heals it"
    return FaultResult(at, one(AlertCode.MALFORMED_MESSAGE, None), note)


def _disconnect(tl: Timeline, t0: float) -> FaultResult:
    tl.add(Disconnect(at=round(t0, 3), code=1011))
    note = "the server drops the socket (1011); the engine reconnects and resubscribes"
    return FaultResult(t0, (), note)


def _stall(tl: Timeline, t0: float) -> FaultResult:
    tl.add(Stall(at=round(t0, 3)))
    note = "the connection goes silent (no frames, no pongs); the engine must notice"
    return FaultResult(t0, one(AlertCode.FEED_STALE, None), note)


def _auth_refusal(tl: Timeline, t0: float) -> FaultResult:
    tl.add(RefuseAuth(at=round(t0, 3), attempts=1))
    note = "the server restarts and refuses the token once (close 4001)"
    return FaultResult(t0, one(AlertCode.AUTH_FAILED, None), note)


# -- single-order alert codes ----------------------------------------------------------


def _fill_regression(tl: Timeline, t0: float) -> FaultResult:
    run = _Run(tl, t0)
    run.open()
    run.fill_send()
    before = run.order.snapshot()
    run.fill_send()
    at = run.tick()
    run.order.touch(tl, at)
    stale = dict(before, updated_at=iso(run.order.updated_us))
    tl.send(at, message(stale, "order_fill_received"))
    run.finish()
    note = "a newer snapshot reports less executed than the one before"
    return FaultResult(at, one(AlertCode.FILL_REGRESSION, run.order.id), note)


def _overfill(tl: Timeline, t0: float) -> FaultResult:
    run = _Run(tl, t0)
    run.open()
    while run.portions:
        run.fill_send()
    lot = run.order.pair.lot
    extra = max((run.order.target * Decimal("0.02")).quantize(lot), lot)
    run.order.fill(extra, run.order.price(tl.rng))
    run.order.status = "COMPLETE"
    at = run.tick()
    run.send("order_completed")
    note = "the order completes 2% above its target quantity"
    return FaultResult(at, one(AlertCode.OVERFILL, run.order.id), note)


def _quantity_mismatch(tl: Timeline, t0: float) -> FaultResult:
    run = _Run(tl, t0)
    run.open()
    run.fill_send()
    stale_remaining = run.order.snapshot()["target_remaining_qty"]
    run.fill_send(target_remaining_qty=stale_remaining)
    at = run.at
    run.finish()
    note = "a snapshot's target_remaining_qty was not updated with its fill"
    return FaultResult(at, one(AlertCode.QUANTITY_MISMATCH, run.order.id), note)


def _notional_mismatch(tl: Timeline, t0: float) -> FaultResult:
    run = _Run(tl, t0)
    run.open()
    run.fill_send()
    run.fill()
    wrong = (run.order.notional * Decimal("1.01")).quantize(Decimal("1e-8"))
    run.send("order_fill_received", executed_notional=dec(wrong))
    at = run.at
    run.finish()
    note = "executed_notional is 1% off average price x executed quantity"
    return FaultResult(at, one(AlertCode.NOTIONAL_MISMATCH, run.order.id), note)


def _status_fill_mismatch(tl: Timeline, t0: float) -> FaultResult:
    run = _Run(tl, t0)
    run.open()
    run.fill_send()
    run.fill_send()
    run.order.status = "COMPLETE"
    at = run.tick()
    run.send("order_completed")
    note = "COMPLETE with part of the target still unexecuted"
    return FaultResult(at, one(AlertCode.STATUS_FILL_MISMATCH, run.order.id), note)


def _illegal_transition(tl: Timeline, t0: float) -> FaultResult:
    run = _Run(tl, t0)
    run.open()
    run.fill_send()
    run.order.status = "CANCELED"
    run.tick()
    run.send("order_canceled")
    run.order.status = "ACTIVE"
    at = run.tick()
    run.send("order_activated")
    note = "a CANCELED order is reported ACTIVE again (no new fill)"
    return FaultResult(at, one(AlertCode.ILLEGAL_TRANSITION, run.order.id), note)


def _fill_after_terminal(tl: Timeline, t0: float) -> FaultResult:
    run = _Run(tl, t0)
    run.open()
    run.fill_send()
    run.order.status = "CANCELED"
    run.tick()
    run.send("order_canceled")
    at = run.tick()
    run.order.fill(run.portions.pop(0), run.order.price(tl.rng))
    run.send("order_fill_received")
    note = "a fill arrives on an order already CANCELED"
    return FaultResult(at, one(AlertCode.FILL_AFTER_TERMINAL, run.order.id), note)


def _immutable_field_changed(tl: Timeline, t0: float) -> FaultResult:
    run = _Run(tl, t0, pair=PAIRS["BTC:PERP-USDT"])
    run.open()
    run.fill_send()
    run.fill_send(pair="BTC-USDT")
    at = run.at
    run.finish()
    note = "one snapshot reports the order on another pair (BTC-USDT for BTC:PERP-USDT)"
    return FaultResult(at, one(AlertCode.IMMUTABLE_FIELD_CHANGED, run.order.id), note)


def _out_of_order(tl: Timeline, t0: float) -> FaultResult:
    result, _ = _delayed(tl, t0, overtaken_by=2)
    note = "a fill snapshot arrives after two newer ones (older updated_at): not applied"
    return FaultResult(result.at, result.expects, note)


def _unknown_status(tl: Timeline, t0: float) -> FaultResult:
    run = _Run(tl, t0)
    run.open()
    run.fill_send()
    run.order.status = "PENDING_CANCEL"
    at = run.tick()
    run.send("order_canceled")
    run.order.status = "CANCELED"
    run.tick()
    run.send("order_canceled")
    note = "an undocumented status, PENDING_CANCEL, before CANCELED"
    return FaultResult(at, one(AlertCode.UNKNOWN_STATUS, run.order.id), note)


def _stale_order(tl: Timeline, t0: float) -> FaultResult:
    run = _Run(tl, t0, duration=8)
    run.open()
    run.fill_send()
    # Silent past time_end plus the settle window, then canceled by the trader.
    end_at = (run.order.created_us + 8_000_000 - tl.start_ms * 1000) / 1_000_000
    run.order.status = "CANCELED"
    run.at = max(run.at, end_at) + 12.0
    run.send("order_canceled")
    note = "an 8 s order is still ACTIVE well past its time_end"
    return FaultResult(end_at, one(AlertCode.STALE_ORDER, run.order.id), note)


def _malformed_message(tl: Timeline, t0: float) -> FaultResult:
    run = _Run(tl, t0)
    run.open()
    run.fill()
    # A timestamp without its time zone cannot be placed on any clock.
    naive = iso(run.order.updated_us + 1)[: -len("+00:00")]
    run.send("order_fill_received", updated_at=naive)
    at = run.at
    run.finish()
    note = "a snapshot's updated_at has no time zone; the next snapshot carries its fill"
    return FaultResult(at, one(AlertCode.MALFORMED_MESSAGE, None), note)


def _unacknowledged_order(tl: Timeline, t0: float) -> FaultResult:
    order = new_single(tl, t0, length=10.0)
    expect_single(tl, t0, order)
    note = "the execution system sent an order Tread.fi never reports"
    return FaultResult(t0, one(AlertCode.UNACKNOWLEDGED_ORDER, order.client_id), note)


def _expectation_mismatch(tl: Timeline, t0: float) -> FaultResult:
    run = _Run(tl, t0, expect=False)
    order = run.order
    # The venue has ten times what was sent (a fat finger between the two systems).
    expect_single(tl, t0, order, quantity=order.target / 10)
    run.open()
    at = run.at
    run.finish()
    note = "the venue reports ten times the quantity the execution system sent"
    return FaultResult(at, one(AlertCode.EXPECTATION_MISMATCH, order.id), note)


def _unknown_order(tl: Timeline, t0: float) -> FaultResult:
    run = _Run(tl, t0, expect=False)
    run.open()
    at = run.at
    run.finish()
    note = "an order nobody registered appears on the strict account"
    return FaultResult(at, one(AlertCode.UNKNOWN_ORDER, run.order.id), note)


def _orphan_child(tl: Timeline, t0: float) -> FaultResult:
    parent_id = tl.uid()  # a multi-order the venue never reports
    run = _Run(tl, t0, expect=False, parent_id=parent_id, client_id="")
    run.order.status = "ACTIVE"
    run.send("child_order_created")
    at = run.at
    while run.portions:
        run.fill_send()
    run.order.status = "COMPLETE"
    run.tick()
    run.send("child_order_completed")
    note = "a child order is reported on its own; its parent never appears"
    return FaultResult(at, one(AlertCode.ORPHAN_CHILD, run.order.id), note)


#: The alert codes a Tread.fi script can show, each with its story.
_CODE_STORIES: Final[dict[AlertCode, FaultStory]] = {
    AlertCode.FILL_REGRESSION: _fill_regression,
    AlertCode.OVERFILL: _overfill,
    AlertCode.QUANTITY_MISMATCH: _quantity_mismatch,
    AlertCode.NOTIONAL_MISMATCH: _notional_mismatch,
    AlertCode.STATUS_FILL_MISMATCH: _status_fill_mismatch,
    AlertCode.ILLEGAL_TRANSITION: _illegal_transition,
    AlertCode.FILL_AFTER_TERMINAL: _fill_after_terminal,
    AlertCode.IMMUTABLE_FIELD_CHANGED: _immutable_field_changed,
    AlertCode.OUT_OF_ORDER: _out_of_order,
    AlertCode.UNKNOWN_STATUS: _unknown_status,
    AlertCode.STALE_ORDER: _stale_order,
    AlertCode.ORPHAN_CHILD: _orphan_child,
    AlertCode.CHILD_SET_MISMATCH: child_set_mismatch,
    AlertCode.PARENT_AGGREGATE_MISMATCH: parent_aggregate_mismatch,
    AlertCode.PARENT_TERMINAL_WITH_ACTIVE_CHILD: parent_terminal_with_active_child,
    AlertCode.STUCK_PARENT: stuck_parent,
    AlertCode.MALFORMED_MESSAGE: _malformed_message,
    AlertCode.UNACKNOWLEDGED_ORDER: _unacknowledged_order,
    AlertCode.EXPECTATION_MISMATCH: _expectation_mismatch,
    AlertCode.UNKNOWN_ORDER: _unknown_order,
}

_TRANSPORT_STORIES: Final[dict[str, FaultStory]] = {
    "drop": _drop,
    "duplicate": _duplicate,
    "reorder": _reorder,
    "malformed": _malformed,
    "disconnect": _disconnect,
    "stall": _stall,
    "auth_refusal": _auth_refusal,
}

#: Every fault name, in catalog order, with its story.
FAULT_STORIES: Final[dict[str, FaultStory]] = {
    **{name: _TRANSPORT_STORIES[name] for name in TRANSPORT_FAULTS},
    **{code.value: _CODE_STORIES[code] for code in AlertCode if code in _CODE_STORIES},
}
FAULT_NAMES: Final = tuple(FAULT_STORIES)
