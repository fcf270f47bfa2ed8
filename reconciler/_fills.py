"""Rules for executions: fill-id deduplication, overfill by sum, and the settle-window
checks that compare fills with the cumulative quantity the venue reports.

Two settle-window checks live here:

* FILL_GAP (venues whose order reports carry the fill of that very report, BTSE
  ``filledSize``): every stretch of the reported cumulative quantity must be explained
  by some report's own fill within the settle window.
* EXECUTION_ORDER_MISMATCH (venues that stream executions separately, Bybit and Clear
  Street): each reported cumulative must be matched by the sum of executions within the
  settle window, and each execution total by the reported cumulative; executions for an
  order the venue never reports are flagged too.
"""

from __future__ import annotations

from decimal import Decimal

from reconciler._labels import label
from reconciler._model import HistoryEntry, OrderRecord
from reconciler._numbers import ZERO, fmt, product_consistent, txt
from reconciler._state import State
from reconciler._timers import Check
from reconciler.alerts import AlertCode
from reconciler.events import Fill
from reconciler.lifecycle import is_terminal


def apply_fill(st: State, venue: str, account: str, f: Fill, t: float) -> None:
    """Apply one execution report received at ``t``."""
    content = (f.order_id, f.quantity, f.price, f.fee)
    seen = st.fills.get((venue, f.fill_id))
    rec = st.record(venue, f.order_id, account, t)
    name = f"{label(venue)} order {f.order_id}"
    if seen is not None:
        if seen == content:
            st.counters["duplicates.fill"] += 1
            rec.note(
                HistoryEntry(
                    t=t, kind="duplicate", applied=False, fill_id=f.fill_id, filled=f.quantity
                ),
                st.config.max_history,
            )
            return
        st.alert(
            AlertCode.DUPLICATE_CONFLICT,
            venue=venue,
            account=rec.account,
            t=t,
            order=rec,
            message=f"{name}: fill {f.fill_id} was reported again with different content.",
            evidence={
                "fill_id": f.fill_id,
                "first_order_id": seen[0],
                "first_quantity": fmt(seen[1]),
                "first_price": fmt(seen[2]),
                "first_fee": fmt(seen[3]),
                "new_order_id": f.order_id,
                "new_quantity": fmt(f.quantity),
                "new_price": fmt(f.price),
                "new_fee": fmt(f.fee),
            },
            facts=("fill", f.fill_id, f.order_id, fmt(f.quantity), fmt(f.price), fmt(f.fee)),
        )
        return
    st.fills[(venue, f.fill_id)] = content
    rec.last_t = max(rec.last_t, t)
    if rec.fill_ids is None:
        rec.fill_ids = [f.fill_id]
    else:
        rec.fill_ids.append(f.fill_id)
    rec.exec_sum += f.quantity
    if f.price is not None:
        rec.exec_value += f.quantity * f.price
    else:
        rec.exec_value_known = False
    rec.note(
        HistoryEntry(t=t, kind="fill", fill_id=f.fill_id, filled=rec.exec_sum, quantity=f.quantity),
        st.config.max_history,
    )

    if f.order_quantity is not None:
        rec.exec_order_quantity = f.order_quantity
    if (
        rec.reported
        and rec.status is not None
        and is_terminal(rec.status)
        and rec.filled is not None
        and rec.exec_sum > rec.filled
    ):
        st.alert(
            AlertCode.FILL_AFTER_TERMINAL,
            venue=venue,
            account=rec.account,
            t=t,
            order=rec,
            message=f"{name} was already {rec.status} with {fmt(rec.filled)} filled, "
            f"but execution {f.fill_id} brings executions to {fmt(rec.exec_sum)}.",
            evidence={
                "terminal_status": txt(rec.status),
                "terminal_raw": txt(rec.raw_status),
                "reported_filled": fmt(rec.filled),
                "executions_sum": fmt(rec.exec_sum),
                "fill_id": f.fill_id,
            },
            facts=("after_terminal", txt(rec.filled)),
        )
    if not _settled(rec):
        due = t + st.config.settle_window
        if rec.exec_reqs is None:
            rec.exec_reqs = [(due, rec.exec_sum)]
        else:
            rec.exec_reqs.append((due, rec.exec_sum))
        st.schedule(due, Check.EXECUTIONS, venue, f.order_id)


def require_executions(st: State, rec: OrderRecord, due: float) -> None:
    """The reported cumulative quantity must be matched by executions by ``due``."""
    assert rec.filled is not None
    if _settled(rec):
        return
    if rec.cum_reqs is None:
        rec.cum_reqs = [(due, rec.filled)]
    else:
        rec.cum_reqs.append((due, rec.filled))
    st.schedule(due, Check.EXECUTIONS, rec.venue, rec.order_id)


def _settled(rec: OrderRecord) -> bool:
    """Whether no settle-window execution check can find anything: the order is
    reported, its executions sum exactly to its reported fill within its quantity, and
    there is no reported average price to compare with them."""
    filled = rec.filled if rec.filled is not None else ZERO
    qty = rec.quantity if rec.quantity is not None else rec.exec_order_quantity
    return (
        rec.reported
        and rec.exec_sum == filled
        and (qty is None or rec.exec_sum <= qty)
        and (rec.avg_price is None or filled == 0)
    )


def _due_level(reqs: list[tuple[float, Decimal]] | None, now: float) -> Decimal | None:
    """Remove the requirements due by ``now``; the highest level among them.

    The caller sets an emptied list back to None (see :func:`_cum_level`)."""
    if not reqs:
        return None
    taken = 0
    level: Decimal | None = None
    for due, value in reqs:
        if due > now:
            break
        taken += 1
        level = value if level is None else max(level, value)
    del reqs[:taken]
    return level


def _cum_level(rec: OrderRecord, now: float) -> Decimal | None:
    level = _due_level(rec.cum_reqs, now)
    if not rec.cum_reqs:
        rec.cum_reqs = None  # an empty list still costs 56 bytes per order
    return level


def _exec_level(rec: OrderRecord, now: float) -> Decimal | None:
    level = _due_level(rec.exec_reqs, now)
    if not rec.exec_reqs:
        rec.exec_reqs = None
    return level


def check_executions(st: State, rec: OrderRecord, due: float) -> None:
    """EXECUTION_ORDER_MISMATCH once the settle window of a change has passed."""
    name = f"{label(rec.venue)} order {rec.order_id}"
    cum_level = _cum_level(rec, due)
    exec_level = _exec_level(rec, due)
    if exec_level is not None:
        _check_overfill(st, rec, due, name, exec_level)
    if not rec.reported:
        if rec.exec_sum > 0:
            st.alert(
                AlertCode.EXECUTION_ORDER_MISMATCH,
                venue=rec.venue,
                account=rec.account,
                t=due,
                order=rec,
                message=f"{name}: executions totalling {fmt(rec.exec_sum)} arrived for an "
                "order the venue never reported.",
                evidence={
                    "executions_sum": fmt(rec.exec_sum),
                    "reported_filled": "null",
                    "fill_ids": ",".join((rec.fill_ids or [])[:20]),
                },
                facts=("unreported",),
            )
        return
    filled = rec.filled if rec.filled is not None else ZERO
    if cum_level is not None and rec.exec_sum < cum_level:
        _mismatch(st, rec, due, name, "missing", cum_level, rec.exec_sum)
    if exec_level is not None and filled < exec_level:
        _mismatch(st, rec, due, name, "excess", filled, exec_level)
    if filled > 0 and rec.exec_sum == filled:
        _check_average_price(st, rec, due, name)


def _check_overfill(st: State, rec: OrderRecord, due: float, name: str, execs: Decimal) -> None:
    """OVERFILL by executions, judged once a modify still in flight has had time to land."""
    qty = rec.quantity if rec.quantity is not None else rec.exec_order_quantity
    if qty is None or execs <= qty:
        return
    st.alert(
        AlertCode.OVERFILL,
        venue=rec.venue,
        account=rec.account,
        t=due,
        order=rec,
        message=f"{name}: executions sum to {fmt(execs)} on an order of {fmt(qty)}.",
        evidence={
            "executions_sum": fmt(execs),
            "quantity": fmt(qty),
            "source": "executions",
            "executions": str(len(rec.fill_ids or ())),
        },
        facts=("executions", fmt(execs), fmt(qty)),
    )


def _mismatch(
    st: State,
    rec: OrderRecord,
    due: float,
    name: str,
    direction: str,
    reported: Decimal,
    execs: Decimal,
) -> None:
    """One side of EXECUTION_ORDER_MISMATCH: ``reported`` cumulative vs ``execs`` summed."""
    amount = abs(reported - execs)
    # A lost execution stays lost while later fills arrive and must not be re-reported
    # with each one: alert once per new high of the discrepancy. Sums cannot say which
    # fill an execution belongs to (one arriving after a loss may be the lost one, late,
    # or the next one, early), so a second loss of no greater size after the first was
    # explained late is not reported again: a documented limitation.
    alerted = rec.gap_alerted
    if amount <= (ZERO if alerted is None else alerted.get(direction, ZERO)):
        return
    if alerted is None:
        rec.gap_alerted = alerted = {}
    alerted[direction] = amount
    if direction == "missing":
        what = (
            f"the venue reports {fmt(reported)} filled but executions sum to "
            f"{fmt(execs)} ({fmt(amount)} without an execution)"
        )
    else:
        what = f"executions sum to {fmt(execs)} but the venue reports only {fmt(reported)} filled"
    st.alert(
        AlertCode.EXECUTION_ORDER_MISMATCH,
        venue=rec.venue,
        account=rec.account,
        t=due,
        order=rec,
        message=f"{name}: {what}.",
        evidence={
            "reported_filled": fmt(reported),
            "executions_sum": fmt(execs),
            "difference": fmt(amount),
            "direction": direction,
            "executions": str(len(rec.fill_ids or ())),
        },
        facts=(direction, fmt(reported), fmt(execs)),
    )


def _check_average_price(st: State, rec: OrderRecord, due: float, name: str) -> None:
    """NOTIONAL_MISMATCH: the reported average price against the executions' own prices."""
    avg = rec.avg_price
    if avg is None or not rec.exec_value_known:
        return
    if product_consistent(rec.exec_value, avg, rec.exec_sum, st.config.notional_tolerance):
        return
    vwap = rec.exec_value / rec.exec_sum
    st.alert(
        AlertCode.NOTIONAL_MISMATCH,
        venue=rec.venue,
        account=rec.account,
        t=due,
        order=rec,
        message=f"{name}: the reported average price {fmt(avg)} is not the executions' "
        f"average price {fmt(vwap.quantize(Decimal('1e-10')))}.",
        evidence={
            "avg_price": fmt(avg),
            "executions_avg_price": fmt(vwap),
            "executions_notional": fmt(rec.exec_value),
            "executions_sum": fmt(rec.exec_sum),
        },
        facts=("average_price", fmt(avg), fmt(rec.exec_value), fmt(rec.exec_sum)),
    )


def check_fill_gap(st: State, rec: OrderRecord, due: float) -> None:
    """FILL_GAP: part of the reported cumulative quantity no report's own fill explains."""
    level = _cum_level(rec, due)
    if level is None or rec.coverage is None:
        return
    gaps = rec.coverage.uncovered(level)
    # Only stretches not inside one already reported are new losses.
    known = rec.gap_ranges or []
    new = [(a, b) for a, b in gaps if not any(x <= a and b <= y for x, y in known)]
    if not new:
        return
    rec.gap_ranges = known + new
    missing = sum((b - a for a, b in new), ZERO)
    ranges = ", ".join(f"{fmt(a)}-{fmt(b)}" for a, b in new)
    st.alert(
        AlertCode.FILL_GAP,
        venue=rec.venue,
        account=rec.account,
        t=due,
        order=rec,
        message=f"{label(rec.venue)} order {rec.order_id}: cumulative filled reached "
        f"{fmt(level)} but {fmt(missing)} of it was never reported as a fill "
        "(a fill message was lost).",
        evidence={
            "reported_filled": fmt(level),
            "missing_quantity": fmt(missing),
            "unreported_ranges": ranges,
            "baseline": fmt(rec.coverage.baseline),
        },
        facts=("fill_gap", tuple((fmt(a), fmt(b)) for a, b in new)),
    )
