"""The faults a BTSE futures script can inject, each a story on a fresh order.

Every story writes its steps from ``t0`` and returns when the fault happens and exactly
which alerts it must produce. BTSE notices carry their own fill (``filledSize``) and an
ordering key (``timestamp``) but no notional, no fill ids, no sequence numbers and no
multi-orders, so NOTIONAL_MISMATCH, DUPLICATE_CONFLICT, EXECUTION_ORDER_MISMATCH,
SEQUENCE_GAP and the multi-order codes cannot be shown on this venue (docs/alerts.md)
and are not offered.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

from reconciler.alerts import AlertCode
from reconciler.simulator import (
    TRANSPORT_FAULTS,
    Disconnect,
    ExpectedAlert,
    RefuseAuth,
    Stall,
)
from reconciler_btse._scenario import FaultResult, FaultStory, Timeline
from reconciler_btse._scenario_orders import Order, expect_order, new_limit, portions

__all__ = ["FAULT_NAMES", "FAULT_STORIES"]


def _one(code: AlertCode, order_id: str | None) -> tuple[ExpectedAlert, ...]:
    return (ExpectedAlert(code.value, order_id),)


class _Run:
    """A GTC limit order driven notice by notice from ``t0``, 0.2-1 s apart."""

    def __init__(self, tl: Timeline, t0: float, *, expect: bool = True, **kw: Any) -> None:
        self.tl = tl
        self.at = t0 + tl.gap()
        self.order: Order = new_limit(tl, **kw)
        if expect:
            expect_order(tl, t0, self.order)
        self.fills = portions(self.order.size, 4, tl)

    def tick(self, seconds: float | None = None) -> float:
        """Move on to the next notice: ``seconds`` (default 0.2-1 s) after the last one."""
        self.at += seconds if seconds is not None else self.tl.gap()
        return self.at

    def notice(self, status: int, *, filled: int = 0, **overrides: Any) -> str:
        """The order's notice at the current time."""
        return self.order.notice(self.tl, self.at, status, filled=filled, **overrides)

    def send(self, status: int, *, filled: int = 0, lost: bool = False, **kw: Any) -> str:
        """Send the order's notice now; returns it."""
        text = self.notice(status, filled=filled, **kw)
        self.tl.send(self.at, text, lost=lost)
        return text

    def fill(self) -> tuple[int, int]:
        """The next portion fills at the next time: (status, filledSize) to report."""
        self.tick()
        qty = self.order.fill(self.tl, self.fills.pop(0))
        return (4 if self.order.remaining == 0 else 5), qty

    def fill_send(self, *, lost: bool = False, **kw: Any) -> str:
        """The next portion fills; its notice is sent (or ``lost``)."""
        status, qty = self.fill()
        return self.send(status, filled=qty, lost=lost, **kw)

    def finish(self) -> None:
        """Fill the rest (the last notice is FULLY_MATCHED)."""
        while self.fills:
            self.fill_send()


# -- transport faults ------------------------------------------------------------------


def _drop(tl: Timeline, t0: float) -> FaultResult:
    run = _Run(tl, t0)
    run.send(2)
    run.fill_send()
    run.fill_send(lost=True)
    at = run.at
    run.finish()
    note = "a PARTIAL_FILL notice is lost in transit; later notices show the jump"
    return FaultResult(at, _one(AlertCode.FILL_GAP, run.order.id), note)


def _duplicate(tl: Timeline, t0: float) -> FaultResult:
    run = _Run(tl, t0)
    run.send(2)
    text = run.fill_send()
    at = run.tick(tl.gap(0.05, 0.4))
    tl.send(at, text)
    run.finish()
    return FaultResult(at, (), "a PARTIAL_FILL notice is delivered twice, identical: dropped")


def _delayed(tl: Timeline, t0: float, *, overtaken_by: int) -> FaultResult:
    """A fill notice overtaken by ``overtaken_by`` newer ones arrives late (within the
    settle window, so its fill still explains the cumulative quantity)."""
    run = _Run(tl, t0)
    run.send(2)
    status, qty = run.fill()
    late = run.notice(status, filled=qty)
    for _ in range(overtaken_by):
        run.fill_send()
    at = run.tick(tl.gap(0.05, 0.4))
    tl.send(at, late)
    run.finish()
    return FaultResult(at, _one(AlertCode.OUT_OF_ORDER, run.order.id), "")


def _reorder(tl: Timeline, t0: float) -> FaultResult:
    result = _delayed(tl, t0, overtaken_by=1)
    note = "two PARTIAL_FILL notices arrive swapped; the older is recorded, not applied"
    return FaultResult(result.at, result.expects, note)


def _malformed(tl: Timeline, t0: float) -> FaultResult:
    run = _Run(tl, t0)
    text = run.notice(2)
    tl.send(run.at, text[: len(text) // 2], raw=True)
    at = run.at
    run.finish()
    note = "the ORDER_INSERTED notice arrives cut off mid-object; it carried no fill"
    return FaultResult(at, _one(AlertCode.MALFORMED_MESSAGE, None), note)


def _disconnect(tl: Timeline, t0: float) -> FaultResult:
    tl.add(Disconnect(at=round(t0, 3), code=1011))
    note = "the server drops the socket (1011); the engine logs in and subscribes again"
    return FaultResult(t0, (), note)


def _stall(tl: Timeline, t0: float) -> FaultResult:
    tl.add(Stall(at=round(t0, 3)))
    note = "the connection goes silent, pongs included; the engine must notice"
    return FaultResult(t0, _one(AlertCode.FEED_STALE, None), note)


def _auth_refusal(tl: Timeline, t0: float) -> FaultResult:
    tl.add(RefuseAuth(at=round(t0, 3), attempts=1))
    note = 'the server restarts and answers the next login {"event":"login","success":false}'
    return FaultResult(t0, _one(AlertCode.AUTH_FAILED, None), note)


# -- alert codes -----------------------------------------------------------------------


def _fill_regression(tl: Timeline, t0: float) -> FaultResult:
    run = _Run(tl, t0)
    run.send(2)
    run.fill_send()
    before = run.order.total
    run.fill_send()
    at = run.tick()
    run.send(5, totalFilledSize=before, remainingSize=run.order.current - before)
    run.finish()
    note = "a newer notice reports less totalFilledSize than the one before"
    return FaultResult(at, _one(AlertCode.FILL_REGRESSION, run.order.id), note)


def _overfill(tl: Timeline, t0: float) -> FaultResult:
    run = _Run(tl, t0)
    run.send(2)
    while len(run.fills) > 1:
        run.fill_send()
    extra = max(1, run.order.size // 50)
    run.fills[0] += extra
    _, qty = run.fill()
    run.send(4, filled=qty, remainingSize=0)
    note = f"FULLY_MATCHED with {extra} contracts more than the order's size"
    return FaultResult(run.at, _one(AlertCode.OVERFILL, run.order.id), note)


def _fill_gap(tl: Timeline, t0: float) -> FaultResult:
    run = _Run(tl, t0)
    run.send(2)
    run.fill_send()
    run.fill()
    status, qty = run.fill()
    # Both portions are in totalFilledSize; filledSize names only the last one.
    run.send(status, filled=qty)
    at = run.at
    run.finish()
    note = "a notice's totalFilledSize jumps by two fills but its filledSize names one"
    return FaultResult(at, _one(AlertCode.FILL_GAP, run.order.id), note)


def _quantity_mismatch(tl: Timeline, t0: float) -> FaultResult:
    run = _Run(tl, t0)
    run.send(2)
    run.fill_send()
    stale = run.order.remaining
    run.fill_send(remainingSize=stale)
    at = run.at
    run.finish()
    note = "a notice's remainingSize was not updated with its fill"
    return FaultResult(at, _one(AlertCode.QUANTITY_MISMATCH, run.order.id), note)


def _status_fill_mismatch(tl: Timeline, t0: float) -> FaultResult:
    run = _Run(tl, t0)
    run.send(2)
    run.fill_send()
    run.fill_send()
    at = run.tick()
    run.send(4, remainingSize=0)
    note = "FULLY_MATCHED (4) with part of the size never filled"
    return FaultResult(at, _one(AlertCode.STATUS_FILL_MISMATCH, run.order.id), note)


def _illegal_transition(tl: Timeline, t0: float) -> FaultResult:
    run = _Run(tl, t0)
    run.send(2)
    run.finish()
    at = run.tick()
    run.send(6)
    note = "a cancel racing the last fill: CANCELLED after FULLY_MATCHED, nothing new filled"
    return FaultResult(at, _one(AlertCode.ILLEGAL_TRANSITION, run.order.id), note)


def _fill_after_terminal(tl: Timeline, t0: float) -> FaultResult:
    run = _Run(tl, t0)
    run.send(2)
    run.fill_send()
    run.tick()
    run.send(6)
    at = run.tick()
    qty = run.order.fill(tl, run.fills.pop(0))
    run.send(5, filled=qty)
    note = "a PARTIAL_FILL notice arrives for an order already CANCELLED"
    return FaultResult(at, _one(AlertCode.FILL_AFTER_TERMINAL, run.order.id), note)


def _immutable_field_changed(tl: Timeline, t0: float) -> FaultResult:
    run = _Run(tl, t0)
    run.send(2)
    flipped = "SELL" if run.order.side == "BUY" else "BUY"
    run.fill_send(side=flipped)
    at = run.at
    run.finish()
    note = f"one notice reports the order as a {flipped}"
    return FaultResult(at, _one(AlertCode.IMMUTABLE_FIELD_CHANGED, run.order.id), note)


def _out_of_order(tl: Timeline, t0: float) -> FaultResult:
    result = _delayed(tl, t0, overtaken_by=2)
    note = "a PARTIAL_FILL notice arrives after two newer ones (older timestamp): not applied"
    return FaultResult(result.at, result.expects, note)


def _unknown_status(tl: Timeline, t0: float) -> FaultResult:
    run = _Run(tl, t0)
    run.send(2)
    run.fill_send()
    at = run.tick()
    run.send(7)  # ORDER_REFUNDED: documented, but not what an order's state is
    run.tick()
    run.send(6)
    note = "status 7 (ORDER_REFUNDED), outside the seed's status list, before CANCELLED"
    return FaultResult(at, _one(AlertCode.UNKNOWN_STATUS, run.order.id), note)


def _order_rejected(tl: Timeline, t0: float) -> FaultResult:
    run = _Run(tl, t0)
    status = tl.rng.choice((15, 8))  # REJECTED, INSUFFICIENT_BALANCE
    run.send(status)
    name = "REJECTED" if status == 15 else "INSUFFICIENT_BALANCE"
    note = f"the venue rejects the order at once ({status} {name}); info, not a fault"
    return FaultResult(run.at, _one(AlertCode.ORDER_REJECTED, run.order.id), note)


def _stale_order(tl: Timeline, t0: float) -> FaultResult:
    run = _Run(tl, t0, tif="IOC")
    run.send(2)
    at = run.at
    # An immediate-or-cancel order left working: cancelled only 9 s later.
    run.tick(9.0)
    run.send(6)
    note = "an IOC limit order stays ORDER_INSERTED for 9 s"
    return FaultResult(at, _one(AlertCode.STALE_ORDER, run.order.id), note)


def _malformed_message(tl: Timeline, t0: float) -> FaultResult:
    run = _Run(tl, t0)
    run.send(2, remainingSize="n/a")
    at = run.at
    run.finish()
    note = 'the ORDER_INSERTED notice says "remainingSize":"n/a"; it carried no fill'
    return FaultResult(at, _one(AlertCode.MALFORMED_MESSAGE, None), note)


def _unacknowledged_order(tl: Timeline, t0: float) -> FaultResult:
    order = new_limit(tl)
    expect_order(tl, t0, order)
    note = "the execution system sent an order BTSE never reports"
    return FaultResult(t0, _one(AlertCode.UNACKNOWLEDGED_ORDER, order.client_id), note)


def _expectation_mismatch(tl: Timeline, t0: float) -> FaultResult:
    run = _Run(tl, t0, expect=False)
    sent = Decimal(max(1, run.order.size // 10))
    expect_order(tl, t0, run.order, quantity=sent)
    run.send(2)
    at = run.at
    run.finish()
    note = f"the execution system sent {sent} contracts; BTSE acknowledges {run.order.size}"
    return FaultResult(at, _one(AlertCode.EXPECTATION_MISMATCH, run.order.id), note)


def _unknown_order(tl: Timeline, t0: float) -> FaultResult:
    run = _Run(tl, t0, expect=False)
    run.send(2)
    at = run.at
    run.finish()
    note = "an order nobody registered appears on the strict account"
    return FaultResult(at, _one(AlertCode.UNKNOWN_ORDER, run.order.id), note)


#: The alert codes a BTSE script can show, each with its story.
_CODE_STORIES: Final[dict[AlertCode, FaultStory]] = {
    AlertCode.FILL_REGRESSION: _fill_regression,
    AlertCode.OVERFILL: _overfill,
    AlertCode.FILL_GAP: _fill_gap,
    AlertCode.QUANTITY_MISMATCH: _quantity_mismatch,
    AlertCode.STATUS_FILL_MISMATCH: _status_fill_mismatch,
    AlertCode.ILLEGAL_TRANSITION: _illegal_transition,
    AlertCode.FILL_AFTER_TERMINAL: _fill_after_terminal,
    AlertCode.IMMUTABLE_FIELD_CHANGED: _immutable_field_changed,
    AlertCode.OUT_OF_ORDER: _out_of_order,
    AlertCode.UNKNOWN_STATUS: _unknown_status,
    AlertCode.ORDER_REJECTED: _order_rejected,
    AlertCode.STALE_ORDER: _stale_order,
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
