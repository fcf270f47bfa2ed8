"""Multi-order rules: a parent and its children are checked together.

What one message proves is checked at once (a Tread.fi parent snapshot carries its
children: the declared child ids, the children's parent ids and the parent's aggregates
must agree within that message). What needs several messages waits for the settle
window: orphans, undeclared children, aggregates of a parent that does not carry its
children, a terminal parent with a working child, a parent stuck open after every child
ended.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from reconciler._labels import label
from reconciler._model import OrderRecord
from reconciler._numbers import ZERO, fmt, half_ulp, sum_consistent, txt
from reconciler._state import State
from reconciler._timers import Check
from reconciler.alerts import AlertCode
from reconciler.events import OrderUpdate
from reconciler.lifecycle import is_terminal


class _Leg:
    """The numbers of one child that the parent's aggregates are built from."""

    __slots__ = ("fees", "notional", "pct", "side")

    def __init__(
        self, side: str | None, notional: Decimal | None, fees: Decimal | None, pct: Decimal | None
    ) -> None:
        self.side, self.notional, self.fees, self.pct = side, notional, fees, pct


def after_order_update(
    st: State, rec: OrderRecord, u: OrderUpdate, t: float, frame_orders: dict[str, OrderUpdate]
) -> None:
    """Bookkeeping and checks after an order report was applied."""
    settle = st.config.settle_window
    if rec.parent_id is not None:
        st.children.setdefault((rec.venue, rec.parent_id), set()).add(rec.order_id)
        parent = st.orders.get((rec.venue, rec.parent_id))
        if (parent is None or not parent.reported) and not rec.has_flag("orphan_scheduled"):
            rec.set_flag("orphan_scheduled")
            st.schedule(t + settle, Check.ORPHAN, rec.venue, rec.order_id)
        st.schedule(t + settle, Check.PARENT, rec.venue, rec.parent_id)
    if u.is_parent:
        _check_carried(st, rec, u, t, frame_orders)
        st.schedule(t + settle, Check.PARENT, rec.venue, rec.order_id)


def _name(rec: OrderRecord) -> str:
    return f"{label(rec.venue)} multi-order {rec.order_id}"


def _check_carried(
    st: State, rec: OrderRecord, u: OrderUpdate, t: float, frame_orders: dict[str, OrderUpdate]
) -> None:
    carried = u.carried_child_ids
    if carried is None:
        return
    declared = u.child_ids
    evidence: dict[str, str] = {}
    if declared is not None and set(declared) != set(carried):
        evidence["child_order_ids"] = ",".join(declared)
        evidence["carried_children"] = ",".join(carried)
    wrong = {
        cid: str(c.parent_id)
        for cid in carried
        if (c := frame_orders.get(cid)) is not None and c.parent_id != rec.order_id
    }
    if wrong:
        evidence["children_naming_another_parent"] = ",".join(f"{k}->{v}" for k, v in wrong.items())
    if evidence:
        st.alert(
            AlertCode.CHILD_SET_MISMATCH,
            venue=rec.venue,
            account=rec.account,
            t=t,
            order=rec,
            evidence=evidence,
            message=f"{_name(rec)}: the children it declares, carries and that name it disagree.",
            facts=(
                "carried",
                tuple(sorted(declared or ())),
                tuple(sorted(carried)),
                tuple(sorted(wrong.items())),
            ),
        )
    legs = [
        _Leg(c.side, c.notional, c.fees, c.pct_filled)
        for cid in carried
        if (c := frame_orders.get(cid)) is not None
    ]
    if legs and len(legs) == len(carried):
        _check_aggregates(st, rec, u.notional, u.fees, u.pct_filled, u.exposure, legs, t, "message")


def _check_aggregates(
    st: State,
    rec: OrderRecord,
    notional: Decimal | None,
    fees: Decimal | None,
    pct: Decimal | None,
    exposure: Decimal | None,
    legs: Sequence[_Leg],
    t: float,
    source: str,
) -> None:
    cfg = st.config
    tol = cfg.notional_tolerance
    bad: dict[str, str] = {}
    notionals = _known([leg.notional for leg in legs])
    if (
        notional is not None
        and notionals is not None
        and not sum_consistent(notional, notionals, tol)
    ):
        bad["executed_notional"] = fmt(notional)
        bad["children_executed_notional"] = fmt(sum(notionals, ZERO))
    child_fees = _known([leg.fees for leg in legs])
    if fees is not None and child_fees is not None and not sum_consistent(fees, child_fees, tol):
        bad["fee_notional"] = fmt(fees)
        bad["children_fees"] = fmt(sum(child_fees, ZERO))
    pcts = _known([leg.pct for leg in legs])
    if pct is not None and pcts:
        mean = sum(pcts, ZERO) / len(pcts)
        if abs(pct - mean) > cfg.pct_tolerance:
            bad["pct_filled"] = fmt(pct)
            bad["children_mean_pct_filled"] = fmt(mean.quantize(Decimal("1e-8")))
    sides = [leg.side for leg in legs]
    if exposure is not None and notionals is not None and all(s in ("buy", "sell") for s in sides):
        expected = sum(
            (n if s == "buy" else -n for s, n in zip(sides, notionals, strict=True)), ZERO
        )
        gross = sum((abs(n) for n in notionals), ZERO)
        # Exposure is a small difference of large legs: scale the tolerance by the legs.
        if abs(exposure - expected) > tol * max(gross, abs(exposure)) + half_ulp(exposure):
            bad["notional_exposure"] = fmt(exposure)
            bad["children_buy_minus_sell"] = fmt(expected)
    if not bad:
        return
    bad["source"] = source
    bad["children"] = str(len(legs))
    what = ", ".join(
        k
        for k in ("executed_notional", "fee_notional", "pct_filled", "notional_exposure")
        if k in bad
    )
    st.alert(
        AlertCode.PARENT_AGGREGATE_MISMATCH,
        venue=rec.venue,
        account=rec.account,
        t=t,
        order=rec,
        evidence=bad,
        message=f"{_name(rec)}: parent totals disagree with its children's ({what}).",
        facts=tuple(sorted((k, v) for k, v in bad.items() if k != "source")),
    )


def _known(values: Sequence[Decimal | None]) -> list[Decimal] | None:
    """The values if every one is known, else ``None``."""
    known = [v for v in values if v is not None]
    return known if len(known) == len(values) else None


def _kids(st: State, rec: OrderRecord) -> list[OrderRecord]:
    ids = set(st.children.get((rec.venue, rec.order_id), ()))
    ids.update(rec.carried_child_ids or ())
    ids.update(rec.child_ids or ())
    kids = [st.orders.get((rec.venue, cid)) for cid in sorted(ids)]
    return [k for k in kids if k is not None and k.reported]


def check_parent(st: State, rec: OrderRecord, due: float) -> None:
    """The settle-window checks of a parent and its children."""
    if not rec.reported or (not rec.is_parent and (rec.venue, rec.order_id) not in st.children):
        return
    cutoff = due - st.config.settle_window
    kids = _kids(st, rec)
    named = st.children.get((rec.venue, rec.order_id), set())

    if rec.child_ids is not None:
        undeclared = sorted(
            cid
            for cid in named - set(rec.child_ids)
            if (k := st.orders.get((rec.venue, cid))) is not None and k.first_seen <= cutoff
        )
        if undeclared:
            st.alert(
                AlertCode.CHILD_SET_MISMATCH,
                venue=rec.venue,
                account=rec.account,
                t=due,
                order=rec,
                message=f"{_name(rec)}: orders {', '.join(undeclared)} name it as their "
                "parent but it does not list them.",
                evidence={
                    "child_order_ids": ",".join(rec.child_ids),
                    "undeclared_children": ",".join(undeclared),
                },
                facts=("undeclared", tuple(undeclared)),
            )

    if (
        rec.carried_child_ids is None
        and kids
        and rec.last_t <= cutoff
        and all(k.last_t <= cutoff for k in kids)
    ):
        legs = [_Leg(k.side, k.notional, k.fees, k.pct_filled) for k in kids]
        _check_aggregates(
            st,
            rec,
            rec.notional,
            rec.fees,
            rec.pct_filled,
            rec.exposure,
            legs,
            due,
            "latest child reports",
        )

    status = rec.status
    if status is None or not kids:
        return
    if is_terminal(status):
        open_kids = [k for k in kids if k.status is None or not is_terminal(k.status)]
        if open_kids and rec.terminal_at is not None and rec.terminal_at <= cutoff:
            st.alert(
                AlertCode.PARENT_TERMINAL_WITH_ACTIVE_CHILD,
                venue=rec.venue,
                account=rec.account,
                t=due,
                order=rec,
                message=f"{_name(rec)} is {rec.raw_status} ({status}) but child "
                f"{', '.join(k.order_id for k in open_kids)} is still working.",
                evidence={
                    "parent_status": txt(rec.raw_status),
                    "open_children": ",".join(f"{k.order_id}:{k.raw_status}" for k in open_kids),
                },
                facts=("terminal_with_active", tuple(k.order_id for k in open_kids)),
            )
    elif _declared_known(st, rec) and all(
        k.status is not None and is_terminal(k.status) for k in kids
    ):
        last_end = max(k.terminal_at or k.last_t for k in kids)
        if last_end <= cutoff:
            st.alert(
                AlertCode.STUCK_PARENT,
                venue=rec.venue,
                account=rec.account,
                t=due,
                order=rec,
                message=f"{_name(rec)} is still {rec.raw_status} ({status}) although every "
                "child has ended.",
                evidence={
                    "parent_status": txt(rec.raw_status),
                    "children": ",".join(f"{k.order_id}:{k.raw_status}" for k in kids),
                },
                facts=("stuck",),
            )


def _declared_known(st: State, rec: OrderRecord) -> bool:
    """Whether every child the parent declares has been reported."""
    for cid in rec.child_ids or ():
        kid = st.orders.get((rec.venue, cid))
        if kid is None or not kid.reported:
            return False
    return True


def check_orphan(st: State, rec: OrderRecord, due: float) -> None:
    """ORPHAN_CHILD: the parent a child names is still unknown after the settle window."""
    if rec.parent_id is None:
        return
    parent = st.orders.get((rec.venue, rec.parent_id))
    if parent is not None and parent.reported:
        return
    st.alert(
        AlertCode.ORPHAN_CHILD,
        venue=rec.venue,
        account=rec.account,
        t=due,
        order=rec,
        message=f"{label(rec.venue)} order {rec.order_id} names parent {rec.parent_id}, "
        "which the venue has not reported.",
        evidence={
            "parent_order_id": rec.parent_id,
            "waited_seconds": f"{due - rec.first_seen:.3f}",
        },
        facts=("orphan", rec.parent_id),
    )


def effective_deadline(st: State, rec: OrderRecord) -> float | None:
    """When an order should have ended; a parent's never precedes its children's."""
    deadline = rec.deadline
    if deadline is None or not rec.is_parent:
        return deadline
    for kid in _kids(st, rec):
        if kid.deadline is not None:
            deadline = max(deadline, kid.deadline)
    return deadline
