"""Rules for one order: applying a venue's order report, and the checks on it.

The order in which :func:`apply_order_update` judges a report: identical re-send
(dropped) -> a status-less amendment (quantity only) -> ordering key (OUT_OF_ORDER) ->
immutable fields (only on reports that will be applied) -> fill regression -> status
transition (FILL_AFTER_TERMINAL, ILLEGAL_TRANSITION, UNKNOWN_STATUS) -> the message's own
consistency (OVERFILL, QUANTITY_MISMATCH, NOTIONAL_MISMATCH, STATUS_FILL_MISMATCH) ->
scheduling of the cross-object checks.
"""

from __future__ import annotations

import sys
from decimal import Decimal

from reconciler import _expectations, _fills, _parents
from reconciler._labels import label
from reconciler._model import Coverage, HistoryEntry, OrderRecord
from reconciler._numbers import HUNDRED, ZERO, fmt, product_consistent, txt
from reconciler._state import State
from reconciler._timers import Check
from reconciler.alerts import AlertCode
from reconciler.events import OrderUpdate
from reconciler.lifecycle import Status, is_terminal, transition_allowed


def _raise(
    st: State,
    rec: OrderRecord,
    code: AlertCode,
    t: float,
    message: str,
    evidence: dict[str, str],
    *facts: object,
) -> None:
    st.alert(
        code,
        venue=rec.venue,
        account=rec.account,
        t=t,
        message=message,
        evidence=evidence,
        facts=facts,
        order=rec,
    )


def apply_order_update(
    st: State,
    venue: str,
    account: str,
    u: OrderUpdate,
    t: float,
    frame_orders: dict[str, OrderUpdate],
) -> None:
    """Apply one order report received at ``t`` on ``(venue, account)``."""
    frame_orders[u.order_id] = u
    rec = st.orders.get((venue, u.order_id))
    known = rec is not None
    if rec is None:
        rec = st.record(venue, u.order_id, account, t, retire=False)
    try:
        _apply_report(st, rec, account, u, t, frame_orders)
    finally:
        # A report makes a new record reported (it retires once terminal); only if a
        # rule failed half-way is it left unreported and in need of the usual timer.
        if not known and not rec.reported:
            st.schedule_retire(rec, t)


def _apply_report(
    st: State,
    rec: OrderRecord,
    account: str,
    u: OrderUpdate,
    t: float,
    frame_orders: dict[str, OrderUpdate],
) -> None:
    digest = hash(u)
    if rec.saw(digest) and (u.key is not None or not _clean_step(rec, u, digest)):
        st.counters["duplicates.order"] += 1
        rec.note(
            HistoryEntry(
                t=t,
                kind="duplicate",
                applied=False,
                status=u.status,
                raw_status=u.raw_status,
                filled=u.filled,
            ),
            st.config.max_history,
        )
        return
    rec.see(digest)

    _note_fill_coverage(rec, u)
    if u.amended and u.status is Status.UNKNOWN:
        _apply_amendment(st, rec, u, account, t, frame_orders)
        return

    if u.key is not None and rec.key is not None and u.key < rec.key:
        st.counters["out_of_order"] += 1
        _not_applied(st, rec, u, t, "older than the applied state")
        _raise(
            st,
            rec,
            AlertCode.OUT_OF_ORDER,
            t,
            f"{_name(rec)}: an update older than the state already applied arrived late; "
            "it was recorded, not applied.",
            {
                "update_key": txt(u.key),
                "applied_key": txt(rec.key),
                "update_filled": fmt(u.filled),
                "applied_filled": fmt(rec.filled),
            },
            u.key,
            rec.key,
        )
        _schedule_fill_checks(st, rec, t)
        return

    if rec.reported:
        # Judged only on reports that will be applied: a late, older report is not news.
        _check_immutable(st, rec, account, u, t)
    prev_filled = rec.filled
    if u.filled is not None and prev_filled is not None and u.filled < prev_filled:
        _not_applied(st, rec, u, t, "fill regression")
        _raise(
            st,
            rec,
            AlertCode.FILL_REGRESSION,
            t,
            f"{_name(rec)}: cumulative filled quantity went backwards from "
            f"{fmt(prev_filled)} to {fmt(u.filled)}.",
            {
                "previous_filled": fmt(prev_filled),
                "new_filled": fmt(u.filled),
                "previous_key": txt(rec.key),
                "update_key": txt(u.key),
                "status": u.raw_status,
            },
            prev_filled,
            u.filled,
        )
        return
    new_fill = u.filled is not None and u.filled > (prev_filled if prev_filled is not None else 0)

    old_status = rec.status
    status = _judge_transition(st, rec, u, t, new_fill=new_fill)
    first_report = not rec.reported
    had_client_id = rec.client_order_id
    _apply(st, rec, u, account, t, status)
    if first_report:
        _expectations.on_order_reported(st, rec, t)
    elif not had_client_id and rec.client_order_id:
        _expectations.on_client_id(st, rec, t)

    _check_message(st, rec, u, t)
    if u.status is Status.REJECTED and old_status is not Status.REJECTED:
        _raise(
            st,
            rec,
            AlertCode.ORDER_REJECTED,
            t,
            f"{_name(rec)} was rejected by the venue.",
            {"raw_status": u.raw_status, "filled": fmt(u.filled)},
            u.raw_status,
        )
    if status is not None and is_terminal(status) and rec.terminal_at is None:
        rec.terminal_at = t
        st.schedule(t + st.config.retention, Check.RETIRE, rec.venue, rec.order_id)
    _schedule_fill_checks(st, rec, t)
    _schedule_deadline(st, rec, u, t)
    _parents.after_order_update(st, rec, u, t, frame_orders)


def _name(rec: OrderRecord) -> str:
    """How alert messages name an order (built only when an alert is raised)."""
    return f"{label(rec.venue)} order {rec.order_id}"


def _clean_step(rec: OrderRecord, u: OrderUpdate, digest: int) -> bool:
    """Whether an earlier report, seen again on a venue without an ordering key (Bybit),
    is a legal step from the current state rather than a late re-send.

    Returning to an earlier state can be news (a cancel rejected: New -> PendingCancel
    -> New); a re-send that would regress the fill or break the lifecycle is not.
    """
    if rec.last_digest == digest:
        return False
    if u.filled is not None and rec.filled is not None and u.filled < rec.filled:
        return False
    return rec.status is None or transition_allowed(rec.status, u.status)


def _apply_amendment(
    st: State,
    rec: OrderRecord,
    u: OrderUpdate,
    account: str,
    t: float,
    frame_orders: dict[str, OrderUpdate],
) -> None:
    """A status-less amendment report (BTSE 123): it changes the quantity, nothing else.

    It neither sets the status nor advances the status ordering key, so a status report
    it overtook is still applied when it arrives; but older reports no longer set the
    quantity.
    """
    if u.key is not None and rec.amend_key is not None and u.key < rec.amend_key:
        _not_applied(st, rec, u, t, "older than the applied amendment")
        return
    if rec.reported:
        _check_immutable(st, rec, account, u, t)
    first_report = not rec.reported
    _apply(st, rec, u, account, t, rec.status, quantities=False)
    if u.quantity is not None:
        rec.quantity = u.quantity
    if u.key is not None:
        rec.amend_key = u.key
    if first_report:
        _expectations.on_order_reported(st, rec, t)
    _parents.after_order_update(st, rec, u, t, frame_orders)


def _not_applied(st: State, rec: OrderRecord, u: OrderUpdate, t: float, note: str) -> None:
    rec.note(
        HistoryEntry(
            t=t,
            kind="update",
            applied=False,
            status=u.status,
            raw_status=u.raw_status,
            filled=u.filled,
            quantity=u.quantity,
            note=note,
        ),
        st.config.max_history,
    )


def _check_immutable(st: State, rec: OrderRecord, account: str, u: OrderUpdate, t: float) -> None:
    # The common case, every field unchanged or not stated, without building the list.
    if (
        (u.symbol is None or rec.symbol is None or u.symbol == rec.symbol)
        and (u.side is None or rec.side is None or u.side == rec.side)
        and (u.account is None or rec.venue_account is None or u.account == rec.venue_account)
        and account == rec.account
        and (u.parent_id is None or rec.parent_id is None or u.parent_id == rec.parent_id)
        and (
            u.original_quantity is None
            or rec.original_quantity is None
            or u.original_quantity == rec.original_quantity
        )
    ):
        return
    pairs: list[tuple[str, object, object]] = [
        ("symbol", rec.symbol, u.symbol),
        ("side", rec.side, u.side),
        ("account", rec.venue_account, u.account),
        ("connection_account", rec.account, account),
        ("parent", rec.parent_id, u.parent_id),
        ("original_quantity", rec.original_quantity, u.original_quantity),
    ]
    changed = [
        (f, old, new) for f, old, new in pairs if old is not None and new is not None and old != new
    ]
    if not changed:
        return
    evidence: dict[str, str] = {}
    for f, old, new in changed:
        evidence[f"{f}_before"] = txt(old)
        evidence[f"{f}_now"] = txt(new)
    fields = ", ".join(f for f, _, _ in changed)
    _raise(
        st,
        rec,
        AlertCode.IMMUTABLE_FIELD_CHANGED,
        t,
        f"{_name(rec)} was reported with a different {fields} than before.",
        evidence,
        *(x for c in changed for x in (c[0], txt(c[2]))),
    )


def _judge_transition(
    st: State, rec: OrderRecord, u: OrderUpdate, t: float, *, new_fill: bool
) -> Status | None:
    """The status to apply, raising the transition alerts the change deserves."""
    old = rec.status
    new = u.status
    if new is Status.UNKNOWN:
        _raise(
            st,
            rec,
            AlertCode.UNKNOWN_STATUS,
            t,
            f"{_name(rec)} reported a status the {label(rec.venue)} mapping does not know: "
            f"{u.raw_status!r}; its quantities are still tracked.",
            {"raw_status": u.raw_status, "filled": fmt(u.filled)},
            u.raw_status,
        )
        new_applied: Status | None = old if old is not None else Status.UNKNOWN
        if old is not None and is_terminal(old) and new_fill:
            _fill_after_terminal(st, rec, u, t)
        return new_applied
    if old is None:
        return new
    if is_terminal(old) and new_fill:
        _fill_after_terminal(st, rec, u, t)
        return new if is_terminal(new) else old
    if not transition_allowed(old, new) and not new_fill:
        _raise(
            st,
            rec,
            AlertCode.ILLEGAL_TRANSITION,
            t,
            f"{_name(rec)} moved from {old} ({rec.raw_status}) to {new} ({u.raw_status}), "
            "which the order lifecycle does not allow.",
            {
                "from_status": txt(old),
                "from_raw": txt(rec.raw_status),
                "to_status": txt(new),
                "to_raw": u.raw_status,
                "filled": fmt(u.filled),
            },
            old,
            new,
            fmt(u.filled),
        )
        return old
    return new


def _fill_after_terminal(st: State, rec: OrderRecord, u: OrderUpdate, t: float) -> None:
    _raise(
        st,
        rec,
        AlertCode.FILL_AFTER_TERMINAL,
        t,
        f"{_name(rec)} was already {rec.status} but reports more fills: cumulative filled "
        f"{fmt(rec.filled)} -> {fmt(u.filled)}.",
        {
            "terminal_status": txt(rec.status),
            "terminal_raw": txt(rec.raw_status),
            "previous_filled": fmt(rec.filled),
            "new_filled": fmt(u.filled),
            "new_raw_status": u.raw_status,
        },
        "update",
        fmt(rec.filled),
        fmt(u.filled),
    )


def _apply(
    st: State,
    rec: OrderRecord,
    u: OrderUpdate,
    account: str,
    t: float,
    status: Status | None,
    *,
    quantities: bool = True,
) -> None:
    # Symbols, sides, statuses and accounts repeat across orders: one string each, not
    # one per order (sys.intern frees a string nothing refers to any more).
    if not rec.reported:
        rec.reported = True
        rec.account = account
        rec.symbol, rec.side = _intern(u.symbol), _intern(u.side)
        rec.parent_id = u.parent_id
        rec.venue_account, rec.client_order_id = _intern(u.account), u.client_order_id
        original = u.original_quantity
        rec.original_quantity = None if original is None else _keep(u.quantity, original)
        rec.is_parent = u.is_parent
    else:
        # Immutable fields keep their first reported value; fill in what was unknown.
        rec.symbol = rec.symbol if rec.symbol is not None else _intern(u.symbol)
        rec.side = rec.side if rec.side is not None else _intern(u.side)
        rec.parent_id = rec.parent_id if rec.parent_id is not None else u.parent_id
        if rec.venue_account is None:
            rec.venue_account = _intern(u.account)
        if rec.original_quantity is None:
            rec.original_quantity = u.original_quantity
        if rec.client_order_id is None:
            rec.client_order_id = u.client_order_id
        rec.is_parent = rec.is_parent or u.is_parent
    if not quantities:  # a status-less amendment: identity only, the caller does the rest
        rec.last_t = t
        rec.note(
            HistoryEntry(
                t=t,
                kind="update",
                status=rec.status,
                raw_status=u.raw_status,
                quantity=u.quantity,
                note="amendment",
            ),
            st.config.max_history,
        )
        return
    if status is not None:
        rec.status = status
    rec.raw_status = _intern(u.raw_status)
    # A number equal in value and exponent to one the record holds keeps the held object
    # (see _keep). Spelled out rather than a loop over field names: this runs for every
    # report.
    quantity = u.quantity
    if quantity is not None:
        if rec.amend_key is None or u.key is None or u.key >= rec.amend_key:
            rec.quantity = quantity = _keep(rec.quantity or rec.original_quantity, quantity)
        else:
            quantity = _keep(rec.quantity, quantity)
    if u.filled is not None:
        rec.filled = _keep(rec.filled or ZERO, u.filled)
    if u.remaining is not None:
        rec.remaining = _keep(rec.quantity, _keep(rec.remaining, u.remaining))
    if u.avg_price is not None:
        rec.avg_price = _keep(rec.avg_price or ZERO, u.avg_price)
    if u.notional is not None:
        rec.notional = _keep(rec.notional or ZERO, u.notional)
    if u.fees is not None:
        rec.fees = _keep(rec.fees or ZERO, u.fees)
    if u.pct_filled is not None:
        rec.pct_filled = _keep(rec.pct_filled or ZERO, u.pct_filled)
    if u.limit_price is not None:
        rec.limit_price = _keep(rec.limit_price, u.limit_price)
    if u.exposure is not None:
        rec.exposure = _keep(rec.exposure or ZERO, u.exposure)
    if u.child_ids is not None:
        rec.child_ids = u.child_ids
    if u.carried_child_ids is not None:
        rec.carried_child_ids = u.carried_child_ids
    if u.key is not None:
        rec.key = u.key if rec.key is None else max(rec.key, u.key)
    rec.last_t = t
    rec.note(
        HistoryEntry(
            t=t,
            kind="update",
            status=rec.status,
            raw_status=rec.raw_status,
            filled=None if u.filled is None else rec.filled,
            quantity=quantity,
            note=u.reason or "",
        ),
        st.config.max_history,
    )


def _intern(text: str | None) -> str | None:
    return None if text is None else sys.intern(text)


def _keep(held: Decimal | None, new: Decimal) -> Decimal:
    """``held`` if it is identical to ``new`` (same value and exponent: compare_total),
    else ``new``: nothing a rule reads changes, while an open order keeps a few
    Decimals (104 bytes each) rather than one per field and report."""
    if held is not None and (held is new or not held.compare_total(new)):
        return held
    return new


def _check_message(st: State, rec: OrderRecord, u: OrderUpdate, t: float) -> None:
    """The report's own numbers must agree with each other (no other message needed)."""
    cfg = st.config
    qty = u.quantity if u.quantity is not None else rec.quantity
    filled = u.filled
    if filled is not None and qty is not None and filled > qty:
        _raise(
            st,
            rec,
            AlertCode.OVERFILL,
            t,
            f"{_name(rec)} reports {fmt(filled)} filled on an order of {fmt(qty)}.",
            {"filled": fmt(filled), "quantity": fmt(qty), "source": "reported"},
            "reported",
            fmt(filled),
            fmt(qty),
        )

    broken: dict[str, str] = {}
    if filled is not None and qty is not None and u.remaining is not None:
        expected = qty - filled
        open_order = not is_terminal(u.status)
        # A terminal order may report its leftover either as the unfilled part or as 0.
        if u.remaining != expected and (open_order or u.remaining != 0):
            broken["remaining"] = fmt(u.remaining)
            broken["quantity_minus_filled"] = fmt(expected)
    if u.pct_filled is not None and filled is not None and qty and not u.is_parent:
        expected_pct = HUNDRED * filled / qty
        if abs(u.pct_filled - expected_pct) > cfg.pct_tolerance:
            broken["pct_filled"] = fmt(u.pct_filled)
            broken["pct_from_quantities"] = fmt(expected_pct.quantize(Decimal("1e-8")))
    if broken:
        broken.update({"quantity": fmt(qty), "filled": fmt(filled)})
        _raise(
            st,
            rec,
            AlertCode.QUANTITY_MISMATCH,
            t,
            f"{_name(rec)}: the message's own quantities disagree "
            f"({', '.join(k for k in broken if k in ('remaining', 'pct_filled'))}).",
            broken,
            *sorted(broken.items()),
        )

    nq = u.notional_quantity if u.notional_quantity is not None else filled
    if (
        u.notional is not None
        and u.avg_price is not None
        and nq is not None
        and not product_consistent(u.notional, u.avg_price, nq, cfg.notional_tolerance)
    ):
        _raise(
            st,
            rec,
            AlertCode.NOTIONAL_MISMATCH,
            t,
            f"{_name(rec)}: executed notional {fmt(u.notional)} is not average price "
            f"{fmt(u.avg_price)} x quantity {fmt(nq)} = {fmt(u.avg_price * nq)}.",
            {
                "notional": fmt(u.notional),
                "avg_price": fmt(u.avg_price),
                "quantity": fmt(nq),
                "avg_price_times_quantity": fmt(u.avg_price * nq),
            },
            "notional",
            fmt(u.notional),
            fmt(u.avg_price),
            fmt(nq),
        )

    problem = None
    if u.status is Status.FILLED and filled is not None and qty is not None and filled < qty:
        problem = f"is {u.status} ({u.raw_status}) with {fmt(qty - filled)} of {fmt(qty)} unfilled"
    elif u.status is Status.FILLED and u.remaining is not None and u.remaining > 0:
        problem = f"is {u.status} ({u.raw_status}) with {fmt(u.remaining)} remaining"
    elif u.status is Status.REJECTED and filled is not None and filled > 0:
        problem = f"is {u.status} ({u.raw_status}) but has {fmt(filled)} filled"
    elif u.status is Status.PARTIALLY_FILLED and filled is not None and filled == 0:
        problem = f"is {u.status} ({u.raw_status}) with nothing filled"
    if problem is not None:
        _raise(
            st,
            rec,
            AlertCode.STATUS_FILL_MISMATCH,
            t,
            f"{_name(rec)} {problem}.",
            {
                "status": txt(u.status),
                "raw_status": u.raw_status,
                "filled": fmt(filled),
                "quantity": fmt(qty),
                "remaining": fmt(u.remaining),
            },
            u.status,
            fmt(filled),
            fmt(qty),
            fmt(u.remaining),
        )


def _note_fill_coverage(rec: OrderRecord, u: OrderUpdate) -> None:
    """Record which part of the cumulative quantity this report's own fill explains."""
    if u.last_fill is None or u.filled is None:
        return
    low = _keep(ZERO, u.filled - u.last_fill)
    if rec.coverage is None:
        rec.coverage = Coverage(baseline=max(ZERO, low))
    rec.coverage.add(low, u.filled)


def _schedule_fill_checks(st: State, rec: OrderRecord, t: float) -> None:
    # Coverage and execution sums only grow: a requirement met now stays met, so only an
    # unmet one is queued for the settle window (this runs for every order report).
    due = t + st.config.settle_window
    if rec.coverage is not None and rec.filled is not None:
        if rec.coverage.uncovered(rec.filled):
            if rec.cum_reqs is None:
                rec.cum_reqs = [(due, rec.filled)]
            else:
                rec.cum_reqs.append((due, rec.filled))
            st.schedule(due, Check.FILL_GAP, rec.venue, rec.order_id)
    elif rec.venue in st.execution_venues and rec.filled is not None:
        _fills.require_executions(st, rec, due)


def _schedule_deadline(st: State, rec: OrderRecord, u: OrderUpdate, t: float) -> None:
    # A lifetime counts from the first report that states one while the order is live:
    # a conditional order's time in force starts when it triggers, not when it is placed.
    if (
        u.max_lifetime is not None
        and rec.deadline_lifetime is None
        and rec.status is not Status.UNTRIGGERED
    ):
        rec.deadline_lifetime = t + u.max_lifetime
    if u.venue_time is not None:
        # Delays only add to (receive - venue) time, so the smallest is the best estimate
        # of the venue clock's offset. (Tread.fi keeps updated_at unchanged while fills
        # advance: projecting from each report would push the deadline out forever.)
        offset = t - u.venue_time
        rec.clock_offset = offset if rec.clock_offset is None else min(rec.clock_offset, offset)
    if u.ends_at is not None and rec.clock_offset is not None:
        rec.deadline_ends = u.ends_at + rec.clock_offset
    deadline = rec.deadline
    if deadline is not None and not is_terminal(rec.status or Status.UNKNOWN):
        due = max(deadline, t) + st.config.settle_window
        # A pending check that comes due early reschedules itself (check_stale), so a
        # deadline moving later needs no second timer per report; only an earlier one
        # (or none pending) does.
        if rec.stale_due is None or due < rec.stale_due or rec.stale_due <= st.now:
            rec.stale_due = due
            st.schedule(due, Check.STALE, rec.venue, rec.order_id)


def check_stale(st: State, rec: OrderRecord, due: float) -> None:
    """STALE_ORDER: still open past its expected end plus the settle window."""
    status = rec.status
    if status is None or is_terminal(status) or status in (Status.PAUSED, Status.UNTRIGGERED):
        return
    deadline = _parents.effective_deadline(st, rec)
    if deadline is None:
        return
    if due < deadline + st.config.settle_window:
        rec.stale_due = deadline + st.config.settle_window
        st.schedule(rec.stale_due, Check.STALE, rec.venue, rec.order_id)
        return
    _raise(
        st,
        rec,
        AlertCode.STALE_ORDER,
        due,
        f"{label(rec.venue)} order {rec.order_id} is still {status} "
        f"{due - deadline:.1f} s after it was expected to end.",
        {
            "status": txt(status),
            "raw_status": txt(rec.raw_status),
            "expected_end": f"{deadline:.3f}",
            "seconds_overdue": f"{due - deadline:.3f}",
            "filled": fmt(rec.filled),
            "quantity": fmt(rec.quantity),
        },
        "stale",
    )
