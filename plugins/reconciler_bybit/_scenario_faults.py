"""The faults a Bybit scenario can inject, each on its own fresh order(s).

Every episode returns what the engine must make of it: exactly the alerts the core
raises for it (as (code, order id) pairs), worked out rule by rule against
``reconciler/_orders.py``, ``_fills.py`` and ``_expectations.py``. Quantities are chosen
so that no other rule fires: executions always sum to the cumulative fill unless the
fault is about them, terminal reports carry ``leaves_qty`` 0, open ones ``qty - cum``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Final, NamedTuple

from reconciler.alerts import AlertCode
from reconciler.simulator import Disconnect, ExpectedAlert, RefuseAuth, Stall

from ._scenario_kit import Writer
from ._scenario_orders import Order, frame

__all__ = ["FAULTS", "QUIET", "Episode"]

#: Seconds without any frame after a disconnect, stall or refused login, so that the
#: engine reconnects before the script goes on (the harness pauses a script while its
#: account has no subscriber; the quiet time keeps the venue's clock from drifting).
QUIET: Final = 20.0


class Episode(NamedTuple):
    """One injected fault: when it happens, when its episode ends, what it must raise."""

    at: float
    end: float
    expects: tuple[ExpectedAlert, ...]
    note: str


Fault = Callable[[Writer, float], Episode]


def _alert(code: AlertCode, order_id: str | None = None) -> ExpectedAlert:
    return ExpectedAlert(str(code), order_id)


def _order(
    w: Writer,
    t: float,
    *,
    order_type: str = "Limit",
    tif: str = "GoodTillCancel",
    link: bool = True,
) -> Order:
    """A fault's order: at least 100 contracts, so every split below is positive."""
    qty = w.rng.randint(4, 80) * 25
    return w.new_order(t, order_type=order_type, tif=tif, link=link, qty=qty)


def _quarter(order: Order) -> int:
    return order.qty // 4


# -- transport faults ------------------------------------------------------------------


def drop(w: Writer, t: float) -> Episode:
    """An execution lost in transit: the order report is ahead of the executions."""
    o = _order(w, t)
    q1 = _quarter(o)
    t = w.fill(w.place(t, o) + w.gap(), o, q1, "PartiallyFilled")
    at = round(t + w.gap(), 3)
    w.execution(at, o, o.qty - q1, lost=True)
    end = w.fill_report(at + w.tight(), o, "Filled")
    note = f"execution of {o.qty - q1} contracts lost in transit; order reports {o.qty} filled"
    return Episode(at, end, (_alert(AlertCode.EXECUTION_ORDER_MISMATCH, o.order_id),), note)


def duplicate(w: Writer, t: float) -> Episode:
    """An execution delivered twice, identically: dropped silently."""
    o = _order(w, t)
    q1 = _quarter(o)
    t = w.place(t, o) + w.gap()
    first = w.execution(t, o, q1)
    at = round(t + w.tight(), 3)
    assert first.text is not None
    w.send(at, first.text)
    t = w.fill_report(at + w.tight(), o, "PartiallyFilled")
    end = w.fill(t + w.gap(), o, o.qty - q1, "Filled")
    return Episode(at, end, (), "an execution frame delivered twice, byte for byte")


def reorder(w: Writer, t: float) -> Episode:
    """An order report overtakes the execution it reflects: absorbed in the settle window."""
    o = _order(w, t)
    q1 = _quarter(o)
    at = round(w.place(t, o) + w.gap(), 3)
    w.execution(at + w.tight(), o, q1)  # booked first, so the report below reflects it
    w.report(at, o, "PartiallyFilled")
    w.position(at + 0.05, o.symbol)
    end = w.fill(at + w.gap(), o, o.qty - q1, "Filled")
    return Episode(at, end, (), "a PartiallyFilled report arrives before its execution")


def malformed(w: Writer, t: float) -> Episode:
    """The order's New report arrives cut off; the order fills right after."""
    o = _order(w, t)
    w.expect(t, o)
    at = round(t + w.rng.uniform(0.05, 0.3), 3)
    text = frame("order", o.element("New"))
    w.send(at, text[: len(text) // 2], raw=True)
    end = w.fill(at + w.gap(), o, o.qty, "Filled")
    return Episode(
        at, end, (_alert(AlertCode.MALFORMED_MESSAGE),), "an order frame cut off mid-object"
    )


def disconnect(w: Writer, t: float) -> Episode:
    """The venue drops the connection; the client reconnects and resubscribes."""
    at = round(t, 3)
    w.step(Disconnect(at=at))
    return Episode(at, at + QUIET, (), "the venue closes the connection (1011)")


def stall(w: Writer, t: float) -> Episode:
    """The connection goes silent: no frames, no pongs."""
    at = round(t, 3)
    w.step(Stall(at=at))
    return Episode(
        at, at + QUIET, (_alert(AlertCode.FEED_STALE),), "the connection goes silent (no pongs)"
    )


def auth_refusal(w: Writer, t: float) -> Episode:
    """The venue drops the connection and refuses the next login."""
    at = round(t, 3)
    w.step(RefuseAuth(at=at))
    return Episode(
        at,
        at + QUIET,
        (_alert(AlertCode.AUTH_FAILED),),
        "the venue restarts the session and refuses the next login (verify signature fail)",
    )


# -- faults of the venue's own data ----------------------------------------------------


def fill_regression(w: Writer, t: float) -> Episode:
    """A report with less filled than the one before (Bybit has no ordering key)."""
    o = _order(w, t)
    q = _quarter(o)
    t = w.fill(w.place(t, o) + w.gap(), o, q, "PartiallyFilled")
    t = w.fill(t + w.gap(), o, q, "PartiallyFilled")
    at = round(t + w.gap(), 3)
    lower = q + w.rng.randint(1, q - 1)
    w.report(at, o, "PartiallyFilled", cum_exec_qty=lower, leaves_qty=o.qty - lower)
    end = w.fill(at + w.gap(), o, o.qty - 2 * q, "Filled")
    note = f"cum_exec_qty goes from {2 * q} back to {lower}"
    return Episode(at, end, (_alert(AlertCode.FILL_REGRESSION, o.order_id),), note)


def overfill(w: Writer, t: float) -> Episode:
    """Executions and the order report both reach more than the order quantity."""
    o = _order(w, t)
    q1 = _quarter(o)
    extra = w.rng.randint(1, 8) * 25
    t = w.fill(w.place(t, o) + w.gap(), o, q1, "PartiallyFilled")
    at = round(t + w.gap(), 3)
    end = w.fill(at, o, o.qty - q1 + extra, "Filled")
    note = f"{o.qty + extra} contracts filled on an order of {o.qty}"
    return Episode(at, end, (_alert(AlertCode.OVERFILL, o.order_id),), note)


def quantity_mismatch(w: Writer, t: float) -> Episode:
    """An open order whose leaves_qty is not qty - cum_exec_qty."""
    o = _order(w, t)
    q1 = _quarter(o)
    at = round(w.place(t, o) + w.gap(), 3)
    w.execution(at, o, q1)
    off = w.rng.randint(1, 10)
    t = w.report(at + w.tight(), o, "PartiallyFilled", leaves_qty=o.qty - q1 - off).at
    end = w.fill(t + w.gap(), o, o.qty - q1, "Filled")
    note = f"leaves_qty {o.qty - q1 - off} with {q1} of {o.qty} filled"
    return Episode(at, end, (_alert(AlertCode.QUANTITY_MISMATCH, o.order_id),), note)


def status_fill_mismatch(w: Writer, t: float) -> Episode:
    """``Filled`` with part of the order unfilled."""
    o = _order(w, t)
    q1 = _quarter(o)
    at = round(w.place(t, o) + w.gap(), 3)
    end = w.fill(at, o, q1, "Filled")
    note = f"Filled with {q1} of {o.qty} contracts filled"
    return Episode(at, end, (_alert(AlertCode.STATUS_FILL_MISMATCH, o.order_id),), note)


def illegal_transition(w: Writer, t: float) -> Episode:
    """``Cancelled`` after ``Filled``."""
    o = _order(w, t)
    t = w.fill(w.place(t, o) + w.gap(), o, o.qty, "Filled")
    at = round(t + w.gap(), 3)
    w.report(at, o, "Cancelled", cancel_type="CancelByUser")
    return Episode(
        at, at, (_alert(AlertCode.ILLEGAL_TRANSITION, o.order_id),), "Cancelled after Filled"
    )


def fill_after_terminal(w: Writer, t: float) -> Episode:
    """A cancel races the last fill: Cancelled, then an execution, then Filled."""
    o = _order(w, t)
    q1 = _quarter(o)
    t = w.fill(w.place(t, o) + w.gap(), o, q1, "PartiallyFilled")
    t = w.report(t + w.gap(), o, "Cancelled", cancel_type="CancelByUser").at
    at = round(t + w.gap(), 3)
    end = w.fill(at, o, o.qty - q1, "Filled")
    note = "an execution and a Filled report after the order was Cancelled"
    return Episode(at, end, (_alert(AlertCode.FILL_AFTER_TERMINAL, o.order_id),), note)


def immutable_field_changed(w: Writer, t: float) -> Episode:
    """A report of the order with the other side."""
    o = _order(w, t)
    q1 = _quarter(o)
    at = round(w.place(t, o) + w.gap(), 3)
    w.execution(at, o, q1)
    flipped = "Sell" if o.side == "Buy" else "Buy"
    t = w.report(at + w.tight(), o, "PartiallyFilled", side=flipped).at
    end = w.fill(t + w.gap(), o, o.qty - q1, "Filled")
    note = f"a PartiallyFilled report says {flipped} on a {o.side} order"
    return Episode(at, end, (_alert(AlertCode.IMMUTABLE_FIELD_CHANGED, o.order_id),), note)


def duplicate_conflict(w: Writer, t: float) -> Episode:
    """An exec_id re-sent with another quantity."""
    o = _order(w, t)
    q1 = _quarter(o)
    exec_id = w.uid()
    t = w.place(t, o) + w.gap()
    w.execution(t, o, q1, exec_id=exec_id)
    t = w.fill_report(t + w.tight(), o, "PartiallyFilled")
    at = round(t + w.gap(), 3)
    w.execution(at, o, q1 + 25, exec_id=exec_id, book=False, moves=False)
    end = w.fill(at + w.gap(), o, o.qty - q1, "Filled")
    note = f"execution {exec_id} re-sent with {q1 + 25} contracts instead of {q1}"
    return Episode(at, end, (_alert(AlertCode.DUPLICATE_CONFLICT, o.order_id),), note)


def execution_order_mismatch(w: Writer, t: float) -> Episode:
    """An execution the order reports never account for (executions exceed cum)."""
    o = _order(w, t)
    q1 = _quarter(o)
    t = w.fill(w.place(t, o) + w.gap(), o, q1, "PartiallyFilled")
    at = round(t + w.gap(), 3)
    w.execution(at, o, q1, book=False)
    end = w.report(at + w.gap(), o, "Cancelled", cancel_type="CancelByUser").at
    note = f"executions sum to {2 * q1}, the order ends Cancelled with {q1} filled"
    return Episode(at, end, (_alert(AlertCode.EXECUTION_ORDER_MISMATCH, o.order_id),), note)


def unknown_status(w: Writer, t: float) -> Episode:
    """A status the v2 mapping does not know (a v5 value), then Cancelled."""
    o = _order(w, t)
    q1 = _quarter(o)
    t = w.fill(w.place(t, o) + w.gap(), o, q1, "PartiallyFilled")
    at = round(t + w.gap(), 3)
    w.report(at, o, "PartiallyFilledCanceled")
    end = w.report(at + w.tight(), o, "Cancelled", cancel_type="CancelByUser").at
    note = "order_status PartiallyFilledCanceled (a v5 status) on the v2 stream"
    return Episode(at, end, (_alert(AlertCode.UNKNOWN_STATUS, o.order_id),), note)


def order_rejected(w: Writer, t: float) -> Episode:
    """The venue rejects the order (info)."""
    o = _order(w, t)
    w.expect(t, o)
    t = w.report(t + w.rng.uniform(0.05, 0.3), o, "Created").at
    at = round(t + w.tight(), 3)
    w.report(at, o, "Rejected")
    return Episode(
        at, at, (_alert(AlertCode.ORDER_REJECTED, o.order_id),), "the venue rejects the order"
    )


def stale_order(w: Writer, t: float) -> Episode:
    """An ImmediateOrCancel market order still New 8 s after it was placed."""
    o = _order(w, t, order_type="Market", tif="ImmediateOrCancel")
    at = w.place(t, o)
    end = w.fill(at + 8.0, o, o.qty, "Filled")
    note = "an ImmediateOrCancel order stays New for 8 s"
    return Episode(at, end, (_alert(AlertCode.STALE_ORDER, o.order_id),), note)


def malformed_message(w: Writer, t: float) -> Episode:
    """An order element whose cum_exec_qty is NaN (the element is skipped)."""
    o = _order(w, t)
    q1 = _quarter(o)
    t = w.fill(w.place(t, o) + w.gap(), o, q1, "PartiallyFilled")
    at = round(t + w.gap(), 3)
    w.send(at, frame("order", o.element("PartiallyFilled", cum_exec_qty="NaN")))
    end = w.fill(at + w.gap(), o, o.qty - q1, "Filled")
    return Episode(
        at, end, (_alert(AlertCode.MALFORMED_MESSAGE),), "an order element with cum_exec_qty NaN"
    )


def unacknowledged_order(w: Writer, t: float) -> Episode:
    """The execution system registers an order the venue never reports."""
    o = _order(w, t)
    at = round(t, 3)
    w.expect(at, o)
    note = f"order {o.link} was sent but the venue never reports it"
    return Episode(at, at + 6.0, (_alert(AlertCode.UNACKNOWLEDGED_ORDER, o.link),), note)


def expectation_mismatch(w: Writer, t: float) -> Episode:
    """The venue reports ten times the quantity that was sent."""
    o = _order(w, t)
    w.expect(t, o)
    fat = dataclasses.replace(o, qty=o.qty * 10)
    at = round(t + w.rng.uniform(0.05, 0.3), 3)
    w.report(at, fat, "New")
    end = w.report(at + w.gap(), fat, "Cancelled", cancel_type="CancelByUser").at
    note = f"{o.qty} contracts sent, the venue reports {fat.qty}"
    return Episode(at, end, (_alert(AlertCode.EXPECTATION_MISMATCH, o.order_id),), note)


def unknown_order(w: Writer, t: float) -> Episode:
    """An order nobody registered (placed by hand, no order_link_id)."""
    o = _order(w, t, link=False)
    at = w.place(t, o, expect=False)
    end = w.report(at + w.gap(), o, "Cancelled", cancel_type="CancelByUser").at
    note = "an order placed by hand on the website (no order_link_id, never registered)"
    return Episode(at, end, (_alert(AlertCode.UNKNOWN_ORDER, o.order_id),), note)


#: Every fault a Bybit scenario can inject, by name.
FAULTS: Final[dict[str, Fault]] = {
    "drop": drop,
    "duplicate": duplicate,
    "reorder": reorder,
    "malformed": malformed,
    "disconnect": disconnect,
    "stall": stall,
    "auth_refusal": auth_refusal,
    AlertCode.FILL_REGRESSION.value: fill_regression,
    AlertCode.OVERFILL.value: overfill,
    AlertCode.QUANTITY_MISMATCH.value: quantity_mismatch,
    AlertCode.STATUS_FILL_MISMATCH.value: status_fill_mismatch,
    AlertCode.ILLEGAL_TRANSITION.value: illegal_transition,
    AlertCode.FILL_AFTER_TERMINAL.value: fill_after_terminal,
    AlertCode.IMMUTABLE_FIELD_CHANGED.value: immutable_field_changed,
    AlertCode.DUPLICATE_CONFLICT.value: duplicate_conflict,
    AlertCode.EXECUTION_ORDER_MISMATCH.value: execution_order_mismatch,
    AlertCode.UNKNOWN_STATUS.value: unknown_status,
    AlertCode.ORDER_REJECTED.value: order_rejected,
    AlertCode.STALE_ORDER.value: stale_order,
    AlertCode.MALFORMED_MESSAGE.value: malformed_message,
    AlertCode.UNACKNOWLEDGED_ORDER.value: unacknowledged_order,
    AlertCode.EXPECTATION_MISMATCH.value: expectation_mismatch,
    AlertCode.UNKNOWN_ORDER.value: unknown_order,
}
