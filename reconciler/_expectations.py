"""Expectations registered by the embedding execution system, matched to venue reports.

An expectation is matched by ``(venue, account, client order id)``. Whichever of the
two arrives first waits for the other: an expectation waits ``ack_timeout`` for the
venue (UNACKNOWLEDGED_ORDER), an unregistered order on a strict account waits the
settle window for its expectation (UNKNOWN_ORDER).
"""

from __future__ import annotations

from reconciler._labels import label
from reconciler._model import OrderRecord
from reconciler._numbers import fmt, txt
from reconciler._state import PendingExpectation, State
from reconciler._timers import Check
from reconciler.alerts import AlertCode
from reconciler.events import Expectation


def _side(side: str | None) -> str | None:
    # Clear Street's sell-short is a sell for the purpose of matching what was sent.
    return None if side is None else side.lower().split("-")[0]


def register(st: State, exp: Expectation, t: float) -> None:
    """Record what the execution system sent; match it at once if the venue already reported it."""
    key = (exp.venue, exp.account, exp.client_order_id)
    pending = PendingExpectation(exp, t)
    order_id = st.clients.get(key)
    rec = st.orders.get((exp.venue, order_id)) if order_id is not None else None
    if rec is not None and rec.reported:
        _match(st, pending, rec, t)
        return
    st.expectations[key] = pending
    st.schedule(t + st.config.ack_timeout, Check.UNACKNOWLEDGED, *key)


def on_order_reported(st: State, rec: OrderRecord, t: float) -> None:
    """The venue reported an order for the first time."""
    if on_client_id(st, rec, t):
        return
    if st.config.is_strict(rec.venue, rec.account) and rec.parent_id is None:
        st.schedule(t + st.config.settle_window, Check.UNKNOWN_ORDER, rec.venue, rec.order_id)


def on_client_id(st: State, rec: OrderRecord, t: float) -> bool:
    """Index the order's client id (first known now); True if it matched an expectation."""
    if not rec.client_order_id:
        return False
    key = (rec.venue, rec.account, rec.client_order_id)
    st.clients[key] = rec.order_id
    pending = st.expectations.pop(key, None)
    if pending is None:
        return False
    _match(st, pending, rec, t)
    return True


def _match(st: State, pending: PendingExpectation, rec: OrderRecord, t: float) -> None:
    exp = pending.expectation
    pending.order_id = rec.order_id
    rec.expectation = exp
    qty = rec.original_quantity if rec.original_quantity is not None else rec.quantity
    diffs: dict[str, tuple[str, str]] = {}
    if rec.symbol is not None and rec.symbol != exp.symbol:
        diffs["symbol"] = (exp.symbol, rec.symbol)
    if rec.side is not None and _side(rec.side) != _side(exp.side):
        diffs["side"] = (exp.side, rec.side)
    if qty is not None and qty != exp.quantity:
        diffs["quantity"] = (fmt(exp.quantity), fmt(qty))
    if exp.price is not None and rec.limit_price is not None and rec.limit_price != exp.price:
        diffs["price"] = (fmt(exp.price), fmt(rec.limit_price))
    if not diffs:
        return
    evidence = {"client_order_id": exp.client_order_id}
    for field, (want, got) in diffs.items():
        evidence[f"expected_{field}"] = want
        evidence[f"reported_{field}"] = got
    st.alert(
        AlertCode.EXPECTATION_MISMATCH,
        venue=rec.venue,
        account=rec.account,
        t=t,
        order=rec,
        message=f"{label(rec.venue)} order {rec.order_id} ({exp.client_order_id}) differs "
        f"from what was sent: {', '.join(diffs)}.",
        evidence=evidence,
        facts=tuple(sorted(diffs.items())),
    )


def check_unacknowledged(
    st: State, venue: str, account: str, client_order_id: str, due: float
) -> None:
    """UNACKNOWLEDGED_ORDER: the venue never reported an expected order in time."""
    key = (venue, account, client_order_id)
    pending = st.expectations.get(key)
    if pending is None or pending.order_id is not None or pending.alerted:
        return
    pending.alerted = True
    exp = pending.expectation
    st.alert(
        AlertCode.UNACKNOWLEDGED_ORDER,
        venue=venue,
        account=account,
        t=due,
        order_id=client_order_id,
        message=f"{label(venue)} has not reported order {client_order_id} "
        f"({exp.side} {fmt(exp.quantity)} {exp.symbol}) {due - pending.t:.1f} s after "
        "it was sent.",
        evidence={
            "client_order_id": client_order_id,
            "symbol": exp.symbol,
            "side": exp.side,
            "quantity": fmt(exp.quantity),
            "price": fmt(exp.price),
            "waited_seconds": f"{due - pending.t:.3f}",
        },
        facts=("unacknowledged", account, client_order_id),
    )
    # Keep it a while: a late report still gets matched (and compared).
    st.schedule(due + st.config.retention, Check.RETIRE_EXPECTATION, *key)


def retire_expectation(st: State, venue: str, account: str, client_order_id: str) -> None:
    """Forget an expectation that was reported as unacknowledged long ago."""
    st.expectations.pop((venue, account, client_order_id), None)


def check_unknown_order(st: State, rec: OrderRecord, due: float) -> None:
    """UNKNOWN_ORDER: an order on a strict account that nobody registered."""
    if rec.expectation is not None:
        return
    st.alert(
        AlertCode.UNKNOWN_ORDER,
        venue=rec.venue,
        account=rec.account,
        t=due,
        order=rec,
        message=f"{label(rec.venue)} reports order {rec.order_id} "
        f"(client id {rec.client_order_id or 'none'}) that no one registered as sent.",
        evidence={
            "client_order_id": txt(rec.client_order_id),
            "symbol": txt(rec.symbol),
            "side": txt(rec.side),
            "quantity": fmt(rec.quantity),
        },
        facts=("unknown",),
    )
