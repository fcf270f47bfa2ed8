"""The faults a Clear Street scenario can inject, each on its own fresh order(s).

Every episode returns exactly the alerts the core raises for it, as (code, order id)
pairs, worked out rule by rule against ``reconciler/_orders.py``, ``_fills.py``,
``_streams.py`` and ``_expectations.py``. Trades always sum to ``filled_quantity`` and
``average_price`` is always their volume-weighted price unless the fault is about them.

Sequence numbers matter here: a message lost on the live stream (``Send(lost=True)``)
keeps its number in the venue's day log, so the stream shows a gap the settle window
later (SEQUENCE_GAP) unless the message arrives meanwhile, and a later reconnect's
replay delivers it silently. A repeat of a numbered message (a duplicate, a late
delivery, a conflicting re-send, a cut-off frame) is made by the simulator under the
number it gave the message (see :mod:`reconciler_clearstreet._scenario_kit`).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from decimal import Decimal
from typing import Final, NamedTuple

from reconciler.alerts import AlertCode
from reconciler.simulator import Disconnect, ExpectedAlert, RefuseAuth, Stall

from ._scenario_kit import Writer
from ._scenario_orders import CsOrder, number

__all__ = ["FAULTS", "QUIET", "Episode"]

#: Seconds without any frame after a disconnect, stall or refused subscription, so the
#: engine can reconnect (and get the day replayed) before the script goes on.
QUIET: Final = 20.0


class Episode(NamedTuple):
    """One injected fault: when it happens, when its episode ends, what it must raise."""

    at: float
    end: float
    expects: tuple[ExpectedAlert, ...]
    note: str


Fault = Callable[[Writer, float], Episode]


def _alert(code: AlertCode, order_id: str | None = None) -> ExpectedAlert:
    return ExpectedAlert(code.value, order_id)


def _order(
    w: Writer,
    t: float,
    *,
    tif: str | None = None,
    reference: bool = True,
    symbol: str | None = None,
) -> CsOrder:
    """A fault's limit order: at least 40 shares, so every split below is positive."""
    qty = w.rng.randint(4, 60) * 10
    return w.new_order(t, tif=tif, reference=reference, symbol=symbol, qty=qty)


def _partly_filled(w: Writer, t: float, o: CsOrder) -> tuple[int, float]:
    """Place ``o`` and fill a quarter of it; the quarter and the time of the last message."""
    q = o.qty // 4
    return q, w.fill(w.place(t, o) + w.gap(), o, q, "partially-filled")


# -- transport faults ------------------------------------------------------------------


def drop(w: Writer, t: float) -> Episode:
    """A position-update lost on the live stream: its number never arrives."""
    o = _order(w, t)
    q, t = _partly_filled(w, t, o)
    at = round(t + w.gap(), 3)
    w.position(at, o.symbol, lost=True)
    end = w.fill(at + w.gap(), o, o.qty - q, "filled")
    return Episode(at, end, (_alert(AlertCode.SEQUENCE_GAP),), "a position-update lost in transit")


def duplicate(w: Writer, t: float) -> Episode:
    """A trade-notice delivered twice, byte for byte (same sequence number)."""
    o = _order(w, t)
    q = o.qty // 4
    t = w.place(t, o) + w.gap()
    trade = w.trade(t, o, q)
    at = round(t + w.tight(), 3)
    w.copy(at, trade, "resend")
    t = w.after_trade(at + w.tight(), o, "partially-filled")
    end = w.fill(t + w.gap(), o, o.qty - q, "filled")
    return Episode(at, end, (), "a trade-notice delivered twice with the same sequence number")


def reorder(w: Writer, t: float) -> Episode:
    """A trade-notice overtaken by the order-update after it (numbers n+1, then n)."""
    o = _order(w, t)
    q = o.qty // 4
    at = round(w.place(t, o) + w.gap(), 3)
    trade = w.trade(at, o, q, lost=True)  # held back in transit...
    t = w.update(at + w.tight(), o, "partially-filled", "execution-report").at
    t = round(t + w.tight(), 3)
    w.copy(t, trade, "resend")  # ...and delivered after the message that followed it
    t = w.position(t + w.tight(), o.symbol).at
    end = w.fill(t + w.gap(), o, o.qty - q, "filled")
    return Episode(at, end, (), "a trade-notice arrives after the order-update that follows it")


def malformed(w: Writer, t: float) -> Episode:
    """A position-update cut off in transit: unreadable, and its number is missing."""
    o = _order(w, t)
    q, t = _partly_filled(w, t, o)
    at = round(t + w.gap(), 3)
    lost = w.position(at, o.symbol, lost=True)
    w.copy(at, lost, "cut")
    end = w.fill(at + w.gap(), o, o.qty - q, "filled")
    expects = (_alert(AlertCode.MALFORMED_MESSAGE), _alert(AlertCode.SEQUENCE_GAP))
    return Episode(at, end, expects, "a position-update frame cut off mid-object")


def disconnect(w: Writer, t: float) -> Episode:
    """The venue drops the connection; the resubscription replays the day from 1."""
    at = round(t, 3)
    w.step(Disconnect(at=at))
    note = "the venue closes the connection (1011); the day is replayed on resubscribing"
    return Episode(at, at + QUIET, (), note)


def stall(w: Writer, t: float) -> Episode:
    """The connection goes silent: no frames, no heartbeats, no pongs."""
    at = round(t, 3)
    w.step(Stall(at=at))
    note = "the connection goes silent (no heartbeats, no pongs)"
    return Episode(at, at + QUIET, (_alert(AlertCode.FEED_STALE),), note)


def auth_refusal(w: Writer, t: float) -> Episode:
    """The venue drops the connection and refuses the next subscription."""
    at = round(t, 3)
    w.step(RefuseAuth(at=at))
    note = "the venue restarts and refuses the next subscription (ack success: false)"
    return Episode(at, at + QUIET, (_alert(AlertCode.AUTH_FAILED),), note)


# -- faults of the venue's own data ----------------------------------------------------


def fill_regression(w: Writer, t: float) -> Episode:
    """A newer version with less filled than the one before."""
    o = _order(w, t)
    q, t = _partly_filled(w, t, o)
    t = w.fill(t + w.gap(), o, q, "partially-filled")
    at = round(t + w.gap(), 3)
    lower = q + w.rng.randint(1, q - 1)
    w.update(at, o, "partially-filled", "execution-report", filled_quantity=str(lower))
    end = w.fill(at + w.gap(), o, o.qty - 2 * q, "filled")
    note = f"filled_quantity goes from {2 * q} back to {lower} in a newer version"
    return Episode(at, end, (_alert(AlertCode.FILL_REGRESSION, o.order_id),), note)


def overfill(w: Writer, t: float) -> Episode:
    """Trades and the order report both reach more than the order quantity."""
    o = _order(w, t)
    q, t = _partly_filled(w, t, o)
    extra = w.rng.randint(1, 5) * 10
    at = round(t + w.gap(), 3)
    end = w.fill(at, o, o.qty - q + extra, "filled")
    note = f"{o.qty + extra} shares filled on an order of {o.qty}"
    return Episode(at, end, (_alert(AlertCode.OVERFILL, o.order_id),), note)


def notional_mismatch(w: Writer, t: float) -> Episode:
    """An average_price 1% off the trades' price."""
    o = _order(w, t)
    at = round(w.place(t, o) + w.gap(), 3)
    w.trade(at, o, o.qty)
    wrong = number(o.value / o.filled * Decimal("1.01"))
    end = w.after_trade(at + w.tight(), o, "filled", average_price=wrong)
    note = f"average_price {wrong} is 1% off the trades' price"
    return Episode(at, end, (_alert(AlertCode.NOTIONAL_MISMATCH, o.order_id),), note)


def status_fill_mismatch(w: Writer, t: float) -> Episode:
    """``filled`` with part of the order unfilled."""
    o = _order(w, t)
    q = o.qty // 4
    at = round(w.place(t, o) + w.gap(), 3)
    end = w.fill(at, o, q, "filled")
    note = f"status filled with {q} of {o.qty} shares filled"
    return Episode(at, end, (_alert(AlertCode.STATUS_FILL_MISMATCH, o.order_id),), note)


def illegal_transition(w: Writer, t: float) -> Episode:
    """``canceled`` after ``filled``."""
    o = _order(w, t)
    t = w.fill(w.place(t, o) + w.gap(), o, o.qty, "filled")
    at = round(t + w.gap(), 3)
    w.update(at, o, "canceled", "cancel")
    note = "a newer version says canceled after filled"
    return Episode(at, at, (_alert(AlertCode.ILLEGAL_TRANSITION, o.order_id),), note)


def fill_after_terminal(w: Writer, t: float) -> Episode:
    """A cancel races the last fill: canceled, then a trade and a filled version."""
    o = _order(w, t)
    q, t = _partly_filled(w, t, o)
    t = w.cancel(t + w.gap(), o)
    at = round(t + w.gap(), 3)
    end = w.fill(at, o, o.qty - q, "filled")
    note = "a trade-notice and a filled version after the order was canceled"
    return Episode(at, end, (_alert(AlertCode.FILL_AFTER_TERMINAL, o.order_id),), note)


def immutable_field_changed(w: Writer, t: float) -> Episode:
    """One version spells the symbol another way (BRK/B for BRK.B)."""
    o = _order(w, t, symbol="BRK.B")
    q = o.qty // 4
    at = round(w.place(t, o) + w.gap(), 3)
    w.trade(at, o, q)
    t = w.after_trade(at + w.tight(), o, "partially-filled", symbol="BRK/B")
    end = w.fill(t + w.gap(), o, o.qty - q, "filled")
    note = "a version reports the order's symbol as BRK/B instead of BRK.B"
    return Episode(at, end, (_alert(AlertCode.IMMUTABLE_FIELD_CHANGED, o.order_id),), note)


def duplicate_conflict(w: Writer, t: float) -> Episode:
    """An order-update's sequence number re-sent with other content."""
    o = _order(w, t)
    q = o.qty // 4
    t = w.place(t, o) + w.gap()
    w.trade(t, o, q)
    first = w.update(t + w.tight(), o, "partially-filled", "execution-report")
    t = w.position(first.at + w.tight(), o.symbol).at
    other = copy.deepcopy(first.build())
    other["data"]["filled_quantity"] = str(q + 10)
    at = round(t + w.gap(), 3)
    w.copy(at, first, "conflict", other)
    end = w.fill(at + w.gap(), o, o.qty - q, "filled")
    note = f"an order-update re-sent under its sequence number with {q + 10} filled, not {q}"
    return Episode(at, end, (_alert(AlertCode.DUPLICATE_CONFLICT, o.order_id),), note)


def out_of_order(w: Writer, t: float) -> Episode:
    """The venue sends version 2 (new) before version 1 (pending-new) (info)."""
    o = _order(w, t)
    w.expect(t, o)
    at = round(t + w.rng.uniform(0.05, 0.3), 3)
    first = o.update("pending-new", "place", w.ms(at))
    second = o.update("new", "execution-report", w.ms(at) + 30)
    w.publish(at, second)
    t = w.publish(at + w.tight(), first).at
    end = w.fill(t + w.gap(), o, o.qty, "filled")
    note = "version 2 (new) is published before version 1 (pending-new)"
    return Episode(at, end, (_alert(AlertCode.OUT_OF_ORDER, o.order_id),), note)


def execution_order_mismatch(w: Writer, t: float) -> Episode:
    """The order reports a fill the venue never sends a trade-notice for."""
    o = _order(w, t)
    q, t = _partly_filled(w, t, o)
    at = round(t + w.gap(), 3)
    w.unsent_trade(at, o, o.qty - q)
    end = w.after_trade(at + w.tight(), o, "filled")
    note = f"filled {o.qty}, but trade-notices only for {q}"
    return Episode(at, end, (_alert(AlertCode.EXECUTION_ORDER_MISMATCH, o.order_id),), note)


def unknown_status(w: Writer, t: float) -> Episode:
    """A status spelled in a way the mapping does not know (``Canceled``)."""
    o = _order(w, t)
    at = round(w.place(t, o) + w.gap(), 3)
    w.update(at, o, "Canceled", "cancel")
    note = "status Canceled (capitalised) instead of canceled"
    return Episode(at, at, (_alert(AlertCode.UNKNOWN_STATUS, o.order_id),), note)


def order_rejected(w: Writer, t: float) -> Episode:
    """The venue rejects the order (info)."""
    o = _order(w, t)
    w.expect(t, o)
    t = w.update(t + w.rng.uniform(0.05, 0.3), o, "pending-new", "place").at
    at = round(t + w.rng.uniform(0.02, 0.2), 3)
    w.update(at, o, "rejected", "reject")
    note = "the venue rejects the order: insufficient buying power"
    return Episode(at, at, (_alert(AlertCode.ORDER_REJECTED, o.order_id),), note)


def stale_order(w: Writer, t: float) -> Episode:
    """An ``ioc`` order still new 8 s after it was placed."""
    o = _order(w, t, tif="ioc")
    at = w.place(t, o)
    end = w.update(at + 8.0, o, "canceled", "cancel").at
    note = "an ioc order stays new for 8 s"
    return Episode(at, end, (_alert(AlertCode.STALE_ORDER, o.order_id),), note)


def sequence_gap(w: Writer, t: float) -> Episode:
    """Two consecutive messages lost on the live stream."""
    o = _order(w, t)
    q, t = _partly_filled(w, t, o)
    at = round(t + w.gap(), 3)
    w.position(at, o.symbol, lost=True)
    w.buying_power(at + w.tight(), lost=True)
    end = w.fill(at + w.gap(), o, o.qty - q, "filled")
    note = "a position-update and a buying-power-update lost in a row"
    return Episode(at, end, (_alert(AlertCode.SEQUENCE_GAP),), note)


def malformed_message(w: Writer, t: float) -> Episode:
    """A position-update whose quantity is not a number (its number still counts)."""
    o = _order(w, t)
    q, t = _partly_filled(w, t, o)
    at = round(t + w.gap(), 3)
    w.position(at, o.symbol, quantity="N/A")
    end = w.fill(at + w.gap(), o, o.qty - q, "filled")
    note = 'a position-update with quantity "N/A"'
    return Episode(at, end, (_alert(AlertCode.MALFORMED_MESSAGE),), note)


def unacknowledged_order(w: Writer, t: float) -> Episode:
    """The execution system registers an order the venue never reports."""
    o = _order(w, t)
    at = round(t, 3)
    w.expect(at, o)
    note = f"order {o.ref} was sent but the venue never reports it"
    return Episode(at, at + 6.0, (_alert(AlertCode.UNACKNOWLEDGED_ORDER, o.ref),), note)


def expectation_mismatch(w: Writer, t: float) -> Episode:
    """The venue reports the limit price a tenth of what was sent."""
    o = _order(w, t)
    assert o.price is not None
    w.expect(t, o)
    wrong = dataclasses.replace(o, price=o.price / 10)
    at = w.place(t, wrong, expect=False)
    end = w.cancel(at + w.gap(), wrong)
    note = f"limit {o.price} sent, the venue reports {wrong.price}"
    return Episode(at, end, (_alert(AlertCode.EXPECTATION_MISMATCH, o.order_id),), note)


def unknown_order(w: Writer, t: float) -> Episode:
    """An order nobody registered (entered by hand, no reference_id)."""
    o = _order(w, t, reference=False)
    at = w.place(t, o, expect=False)
    end = w.cancel(at + w.gap(), o)
    note = "an order entered by hand (no reference_id, never registered)"
    return Episode(at, end, (_alert(AlertCode.UNKNOWN_ORDER, o.order_id),), note)


#: Every fault a Clear Street scenario can inject, by name.
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
    AlertCode.NOTIONAL_MISMATCH.value: notional_mismatch,
    AlertCode.STATUS_FILL_MISMATCH.value: status_fill_mismatch,
    AlertCode.ILLEGAL_TRANSITION.value: illegal_transition,
    AlertCode.FILL_AFTER_TERMINAL.value: fill_after_terminal,
    AlertCode.IMMUTABLE_FIELD_CHANGED.value: immutable_field_changed,
    AlertCode.DUPLICATE_CONFLICT.value: duplicate_conflict,
    AlertCode.OUT_OF_ORDER.value: out_of_order,
    AlertCode.EXECUTION_ORDER_MISMATCH.value: execution_order_mismatch,
    AlertCode.UNKNOWN_STATUS.value: unknown_status,
    AlertCode.ORDER_REJECTED.value: order_rejected,
    AlertCode.STALE_ORDER.value: stale_order,
    AlertCode.SEQUENCE_GAP.value: sequence_gap,
    AlertCode.MALFORMED_MESSAGE.value: malformed_message,
    AlertCode.UNACKNOWLEDGED_ORDER.value: unacknowledged_order,
    AlertCode.EXPECTATION_MISMATCH.value: expectation_mismatch,
    AlertCode.UNKNOWN_ORDER.value: unknown_order,
}
