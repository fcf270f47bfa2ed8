"""Property: each fault injected into a valid lifecycle raises its code, for the right order.

A *target* order's planned steps get one fault; benign orders and heartbeats are
interleaved around it, and delivered with reorders and re-sends (the target itself is
delivered as sent, so the fault is exactly the injected one). The expected alert must be
raised for the target with the catalog's severity and the disagreeing numbers as evidence,
and every other warning or critical alert must concern the target too (faults do not leak
onto neighbours).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from builders import Run, bybit_exec, bybit_frame, bybit_order, cs_frame, cs_order
from core.lifecycles import (
    PLUGINS,
    Plan,
    Step,
    delivered,
    interleave,
    noise_plan,
    num,
    play,
    render,
    tread_multi_plan,
    venue_plan,
)
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from reconciler import AlertCode, Severity
from reconciler.lifecycle import Status

EXAMPLES = settings(max_examples=25, deadline=None)
ALL = ["tread", "btse", "bybit", "clearstreet"]
EXEC_VENUES = ["bybit", "clearstreet"]

SEVERITY = {  # the catalog (issue section 3)
    AlertCode.FILL_REGRESSION: Severity.CRITICAL,
    AlertCode.OVERFILL: Severity.CRITICAL,
    AlertCode.FILL_GAP: Severity.WARNING,
    AlertCode.EXECUTION_ORDER_MISMATCH: Severity.CRITICAL,
    AlertCode.FILL_AFTER_TERMINAL: Severity.CRITICAL,
    AlertCode.ILLEGAL_TRANSITION: Severity.WARNING,
    AlertCode.IMMUTABLE_FIELD_CHANGED: Severity.CRITICAL,
    AlertCode.DUPLICATE_CONFLICT: Severity.CRITICAL,
    AlertCode.SEQUENCE_GAP: Severity.CRITICAL,
    AlertCode.UNKNOWN_STATUS: Severity.WARNING,
    AlertCode.PARENT_AGGREGATE_MISMATCH: Severity.CRITICAL,
    AlertCode.QUANTITY_MISMATCH: Severity.WARNING,
}

# Raw statuses per venue.
ACCEPTED: dict[str, object] = {"btse": 2, "bybit": "New", "clearstreet": "new", "tread": "ACTIVE"}
PARTIAL: dict[str, object] = {
    "btse": 5,
    "bybit": "PartiallyFilled",
    "clearstreet": "partially-filled",
    "tread": "ACTIVE",
}
FILLED: dict[str, object] = {
    "btse": 4,
    "bybit": "Filled",
    "clearstreet": "filled",
    "tread": "COMPLETE",
}
OPEN: dict[str, list[object]] = {
    "btse": [2, 5, 9, 10],
    "bybit": ["Created", "New", "PartiallyFilled", "PendingCancel"],
    "clearstreet": ["pending-new", "new", "partially-filled", "pending-cancel", "suspended"],
    "tread": ["SCHEDULED", "ACTIVE", "PAUSED", "FINISHER"],
}
TERMINAL: dict[str, list[object]] = {
    "btse": [4, 6, 15],
    "bybit": ["Filled", "Cancelled", "Rejected"],
    "clearstreet": ["filled", "canceled", "rejected", "expired"],
    "tread": ["COMPLETE", "CANCELED"],
}
UNMAPPED: dict[str, list[object]] = {
    "btse": [3, 7, 12, 16, 17, 1003, 1004],
    "bybit": ["PartiallyFilledCanceled", "Expired", "new", "Untriggered "],
    "clearstreet": ["Filled", "held", "partially_filled", "done"],
    "tread": ["EXPIRED", "FAILED", "REJECTED", "PENDING"],
}


@dataclass(frozen=True)
class Expect:
    """The alert a fault must raise: code, order id and evidence items it must carry."""

    code: AlertCode
    order_id: str | None
    evidence: dict[str, str]


Injector = Callable[[st.DataObject, Plan], Expect]


def canonical(venue: str, raw: object) -> Status:
    """The canonical status the venue's mapping gives ``raw``."""
    key = str(raw).upper() if venue == "tread" else str(raw)
    return PLUGINS[venue].status_table[key]


def qty(plan: Plan, units: int) -> str:
    """A quantity of the plan (Tread.fi plans count thousandths) as evidence text."""
    return num(Decimal(units) / 1000) if plan.venue == "tread" else num(units)


def restate(plan: Plan, i: int, **changes: Any) -> Step:
    """A new order report: the state of report ``i`` with ``changes`` (key advanced)."""
    f = {k: v for k, v in plan.steps[i].f.items() if k != "over"}
    if plan.venue == "btse":
        f["fill"] = 0
    if plan.venue == "clearstreet":
        f["state"] = None
    f.update(changes)
    return Step("order", f, dkey=1)


def fresh(plan: Plan, upto: int, status: object, cum: int) -> bool:
    """No earlier report had this status and cumulative (else, without an ordering key,
    the injected report would be an identical re-send, dropped by design)."""
    return all(
        (s.f["status"], s.f["cum"]) != (status, cum) for s in plan.steps[:upto] if s.kind == "order"
    )


def last_report(plan: Plan) -> int:
    """Index of the plan's last order report."""
    return plan.order_steps()[-1]


def play_fault(data: st.DataObject, venue: str, target: Plan) -> Run:
    """Interleave the target with 0-2 benign orders and heartbeats, deliver, settle."""
    plans = [target]
    plans += [
        data.draw(venue_plan(venue, f"other-{i}")) for i in range(data.draw(st.integers(0, 2)))
    ]
    plans.append(data.draw(noise_plan(venue)))
    frames = render(venue, data.draw(interleave(plans)))
    return play(venue, data.draw(delivered(frames, protect=target.ids, replay=False)))


def assert_detected(run: Run, exp: Expect) -> None:
    """The expected alert is there, for the right order, with its evidence; nothing leaks."""
    hits = [a for a in run.alerts if a.code is exp.code and a.order_id == exp.order_id]
    assert hits, (exp, run.alerts)
    assert any(exp.evidence.items() <= a.evidence.items() for a in hits), (exp, hits)
    assert all(a.severity is SEVERITY[exp.code] for a in hits)
    assert all(a.order_id == exp.order_id for a in run.serious()), (exp, run.serious())
    assert run.rec.stats().get("internal_errors", 0) == 0


def check(
    data: st.DataObject, venue: str, target: st.SearchStrategy[Plan], inject: Injector
) -> None:
    """Draw a target, inject the fault, play it among benign traffic, assert detection."""
    plan = data.draw(target)
    exp = inject(data, plan)
    assert_detected(play_fault(data, venue, plan), exp)


# -- the faults -------------------------------------------------------------------------


def inject_regression(data: st.DataObject, plan: Plan) -> Expect:
    """A report (not older by the key) whose cumulative filled is below the applied one."""
    steps = [i for i in plan.order_steps() if plan.steps[i].f["cum"] > 0]
    i = data.draw(st.sampled_from(steps))
    cum = plan.steps[i].f["cum"]
    lower = [c for c in range(cum) if fresh(plan, i + 1, PARTIAL[plan.venue], c)]
    assume(lower)
    new = data.draw(st.sampled_from(lower))
    status = PARTIAL[plan.venue] if new else ACCEPTED[plan.venue]
    assume(fresh(plan, i + 1, status, new))
    step = restate(plan, i, status=status, cum=new)
    step.dkey = data.draw(st.integers(0, 1)) if plan.venue == "tread" else 1
    plan.steps.insert(i + 1, step)
    return Expect(
        AlertCode.FILL_REGRESSION,
        plan.order_id,
        {"previous_filled": qty(plan, cum), "new_filled": qty(plan, new)},
    )


@EXAMPLES
@given(st.data())
@pytest.mark.parametrize("venue", ALL)
def test_fill_regression_is_flagged(venue: str, data: st.DataObject) -> None:
    """Cumulative filled going backwards raises FILL_REGRESSION for that order."""
    check(
        data,
        venue,
        venue_plan(
            venue,
            "target",
            min_fills=1,
            ending=data.draw(st.sampled_from(["filled", "canceled", "open"])),
        ),
        inject_regression,
    )


def inject_overfill(data: st.DataObject, plan: Plan) -> Expect:
    """The order reports more filled than its quantity."""
    i = last_report(plan)
    size, cum = plan.spec["size"], plan.steps[i].f["cum"]
    new = size + data.draw(st.integers(1, size))
    plan.steps.append(restate(plan, i, status=FILLED[plan.venue], cum=new, fill=new - cum))
    return Expect(
        AlertCode.OVERFILL,
        plan.order_id,
        {"filled": qty(plan, new), "quantity": qty(plan, size), "source": "reported"},
    )


@EXAMPLES
@given(st.data())
@pytest.mark.parametrize("venue", ALL)
def test_reported_overfill_is_flagged(venue: str, data: st.DataObject) -> None:
    """A report with cumulative filled above the order quantity raises OVERFILL."""
    check(data, venue, venue_plan(venue, "target", ending="open"), inject_overfill)


def _exec_kind(plan: Plan) -> str:
    return "exec" if plan.venue == "bybit" else "trade"


def inject_exec_overfill(data: st.DataObject, plan: Plan) -> Expect:
    """Executions beyond the order quantity (no order report claims them)."""
    size, cum = plan.spec["size"], plan.steps[last_report(plan)].f["cum"]
    q = size - cum + data.draw(st.integers(1, 50))
    plan.steps.append(Step(_exec_kind(plan), {"id": "target-extra", "q": q, "leaves": 0}))
    return Expect(
        AlertCode.OVERFILL,
        plan.order_id,
        {"executions_sum": num(cum + q), "quantity": num(size), "source": "executions"},
    )


@EXAMPLES
@given(st.data())
@pytest.mark.parametrize("venue", EXEC_VENUES)
def test_executions_beyond_quantity_are_an_overfill(venue: str, data: st.DataObject) -> None:
    """Executions summing above the order quantity raise OVERFILL (source: executions)."""
    ending = data.draw(st.sampled_from(["filled", "canceled", "open"]))
    check(data, venue, venue_plan(venue, "target", ending=ending), inject_exec_overfill)


def inject_lost_fill_report(data: st.DataObject, plan: Plan) -> Expect:
    """A BTSE fill report is lost: a later report's totalFilledSize jumps past it."""
    later = plan.order_steps()[1:]
    steps = [i for i in plan.order_steps() if plan.steps[i].f["fill"] > 0 and i < later[-1]]
    assume(steps)
    i = data.draw(st.sampled_from(steps))
    lost = plan.steps.pop(i).f
    low, high = lost["cum"] - lost["fill"], lost["cum"]
    return Expect(
        AlertCode.FILL_GAP,
        plan.order_id,
        {"missing_quantity": num(lost["fill"]), "unreported_ranges": f"{low}-{high}"},
    )


@EXAMPLES
@given(st.data())
def test_btse_lost_fill_report_is_a_fill_gap(data: st.DataObject) -> None:
    """A BTSE cumulative no report's own filledSize explains raises FILL_GAP."""
    check(
        data,
        "btse",
        venue_plan(
            "btse",
            "target",
            min_fills=1,
            ending=data.draw(st.sampled_from(["filled", "canceled", "open"])),
        ),
        inject_lost_fill_report,
    )


@EXAMPLES
@given(st.data())
@pytest.mark.parametrize("venue", EXEC_VENUES)
def test_lost_execution_is_an_execution_order_mismatch(venue: str, data: st.DataObject) -> None:
    """A reported cumulative no executions back (after the window) is EXECUTION_ORDER_MISMATCH.

    A later execution may partly mask the loss while an earlier report's window closes,
    so smaller differences may be reported first; the lost quantity itself must be, and
    every alert's difference must be its own reported cumulative minus executions.
    """
    plan = data.draw(
        venue_plan(
            venue,
            "target",
            min_fills=1,
            ending=data.draw(st.sampled_from(["filled", "canceled", "open"])),
        )
    )
    steps = [i for i, s in enumerate(plan.steps) if s.kind == _exec_kind(plan)]
    lost = plan.steps.pop(data.draw(st.sampled_from(steps))).f["q"]
    run = play_fault(data, venue, plan)
    exp = Expect(
        AlertCode.EXECUTION_ORDER_MISMATCH,
        "target",
        {"direction": "missing", "difference": num(lost)},
    )
    assert_detected(run, exp)
    for alert in run.of(exp.code):
        reported, execs = alert.evidence["reported_filled"], alert.evidence["executions_sum"]
        assert Decimal(alert.evidence["difference"]) == Decimal(reported) - Decimal(execs)


def test_lost_execution_masked_by_a_later_one_reports_the_full_difference() -> None:
    """Lost execution of 3; a later execution of 1 arrives inside the revealing window."""
    run = Run()
    run.feed("bybit", bybit_frame("order", bybit_order("o1", status="New", qty=10)))
    run.feed("bybit", bybit_frame("execution", bybit_exec("e2", "o1", qty=2, order_qty=10)))
    run.feed(
        "bybit", bybit_frame("order", bybit_order("o1", status="PartiallyFilled", qty=10, cum=5))
    )  # e1 (3) was lost
    run.feed("bybit", bybit_frame("execution", bybit_exec("e3", "o1", qty=1, order_qty=10)))
    run.feed(
        "bybit", bybit_frame("order", bybit_order("o1", status="PartiallyFilled", qty=10, cum=6))
    )
    run.wait(30)
    found = run.of(AlertCode.EXECUTION_ORDER_MISMATCH)
    assert [a.order_id for a in found] == ["o1"] * len(found)
    assert all(
        Decimal(a.evidence["difference"])
        == Decimal(a.evidence["reported_filled"]) - Decimal(a.evidence["executions_sum"])
        for a in found
    ), found
    assert "3" in [a.evidence["difference"] for a in found], found


def inject_fill_after_cancel(data: st.DataObject, plan: Plan) -> Expect:
    """More fill reported after the order was canceled (or expired)."""
    i = last_report(plan)
    size, cum = plan.spec["size"], plan.steps[i].f["cum"]
    new = cum + data.draw(st.integers(1, size - cum))
    status = FILLED[plan.venue] if new == size else PARTIAL[plan.venue]
    plan.steps.append(restate(plan, i, status=status, cum=new, fill=new - cum))
    return Expect(
        AlertCode.FILL_AFTER_TERMINAL,
        plan.order_id,
        {"previous_filled": qty(plan, cum), "new_filled": qty(plan, new)},
    )


@EXAMPLES
@given(st.data())
@pytest.mark.parametrize("venue", ALL)
def test_fill_after_cancel_is_flagged(venue: str, data: st.DataObject) -> None:
    """New fill quantity on a canceled order raises FILL_AFTER_TERMINAL."""
    check(data, venue, venue_plan(venue, "target", ending="canceled"), inject_fill_after_cancel)


def inject_illegal_transition(data: st.DataObject, plan: Plan) -> Expect:
    """A terminal order reported open again, or with another terminal status, no new fill."""
    i = last_report(plan)
    final, cum = plan.steps[i].f["status"], plan.steps[i].f["cum"]
    old = canonical(plan.venue, final)
    targets = [
        s
        for s in OPEN[plan.venue] + TERMINAL[plan.venue]
        if canonical(plan.venue, s) is not old and fresh(plan, i + 1, s, cum)
    ]
    new = data.draw(st.sampled_from(targets))
    plan.steps.append(restate(plan, i, status=new))
    return Expect(
        AlertCode.ILLEGAL_TRANSITION,
        plan.order_id,
        {"from_status": str(old), "to_status": str(canonical(plan.venue, new))},
    )


@EXAMPLES
@given(st.data())
@pytest.mark.parametrize("venue", ALL)
def test_terminal_order_changing_status_is_an_illegal_transition(
    venue: str, data: st.DataObject
) -> None:
    """A filled/canceled/rejected order reported in another status raises ILLEGAL_TRANSITION."""
    endings = ["filled", "canceled"] + (["rejected"] if venue != "tread" else [])
    check(
        data,
        venue,
        venue_plan(venue, "target", ending=data.draw(st.sampled_from(endings))),
        inject_illegal_transition,
    )


_OTHER_SYMBOL = {
    "btse": "SOL-PERP",
    "bybit": "XRPUSD",
    "clearstreet": "TSLA",
    "tread": "ETH:PERP-USDT",
}
_FLIP = {
    "BUY": "SELL",
    "SELL": "BUY",
    "Buy": "Sell",
    "Sell": "Buy",
    "buy": "sell",
    "sell": "buy",
    "sell-short": "buy",
}


def inject_immutable_change(data: st.DataObject, plan: Plan) -> Expect:
    """A later report of the same order id names another symbol, side or original size."""
    i = data.draw(st.sampled_from(plan.order_steps()))
    fields = ["symbol", "side"] + (["original_quantity"] if plan.venue == "btse" else [])
    what = data.draw(st.sampled_from(fields))
    if what == "original_quantity":
        size = plan.spec["size"]
        new_size = size + data.draw(st.integers(1, 100))
        step = restate(plan, i, over={"originalOrderSize": new_size})
        before, now = num(size), num(new_size)
    elif what == "side":
        side = plan.spec["side"]
        step = restate(plan, i, side=_FLIP[side])
        before, now = side.lower(), _FLIP[side].lower()
    else:
        key = "pair" if plan.venue == "tread" else "symbol"
        step = restate(plan, i, **{key: _OTHER_SYMBOL[plan.venue]})
        before, now = plan.spec[key], _OTHER_SYMBOL[plan.venue]
    plan.steps.insert(i + 1, step)
    return Expect(
        AlertCode.IMMUTABLE_FIELD_CHANGED,
        plan.order_id,
        {f"{what}_before": before, f"{what}_now": now},
    )


@EXAMPLES
@given(st.data())
@pytest.mark.parametrize("venue", ALL)
def test_changed_immutable_field_is_flagged(venue: str, data: st.DataObject) -> None:
    """The same order id reported with another symbol/side/size raises IMMUTABLE_FIELD_CHANGED."""
    check(data, venue, venue_plan(venue, "target"), inject_immutable_change)


def inject_fill_id_conflict(data: st.DataObject, plan: Plan) -> Expect:
    """An execution id seen again later with another quantity."""
    steps = [i for i, s in enumerate(plan.steps) if s.kind == _exec_kind(plan)]
    i = data.draw(st.sampled_from(steps))
    first = plan.steps[i].f
    q = first["q"] + data.draw(st.integers(1, 20)) * data.draw(st.sampled_from([1, -1]))
    assume(q > 0)
    at = data.draw(st.integers(i + 1, len(plan.steps)))
    # Inside a unit (executions and their report), the re-send joins it.
    plan.steps.insert(
        at, Step(_exec_kind(plan), first | {"q": q}, joins_next=plan.steps[at - 1].joins_next)
    )
    return Expect(
        AlertCode.DUPLICATE_CONFLICT,
        plan.order_id,
        {"fill_id": first["id"], "first_quantity": num(first["q"]), "new_quantity": num(q)},
    )


@EXAMPLES
@given(st.data())
@pytest.mark.parametrize("venue", EXEC_VENUES)
def test_reused_fill_id_with_other_content_is_a_duplicate_conflict(
    venue: str, data: st.DataObject
) -> None:
    """An exec_id / trade_id re-sent with another quantity raises DUPLICATE_CONFLICT."""
    ending = data.draw(st.sampled_from(["filled", "canceled", "open"]))
    check(
        data,
        venue,
        venue_plan(venue, "target", ending=ending, min_fills=1),
        inject_fill_id_conflict,
    )


@EXAMPLES
@given(st.data())
def test_clearstreet_reused_sequence_with_other_content_is_a_duplicate_conflict(
    data: st.DataObject,
) -> None:
    """A Clear Street sequence number re-sent with other content raises DUPLICATE_CONFLICT."""
    plan = data.draw(venue_plan("clearstreet", "target"))
    plans = [plan, data.draw(noise_plan("clearstreet"))]
    frames = render("clearstreet", data.draw(interleave(plans)))
    arrivals = data.draw(delivered(frames, protect=plan.ids, replay=False))
    mine = [f for f in frames if f.orders == plan.ids]
    original = data.draw(st.sampled_from(mine))
    envelope = json.loads(original.text)
    body = envelope["payload"]["data"]
    if "trade_id" in body:
        body["quantity"] = str(int(body["quantity"]) + 1)
    else:
        body["text"] = "re-sent with other content"
    arrivals.append((arrivals[-1][0] + 0.5, json.dumps(envelope)))
    run = play("clearstreet", arrivals)
    assert_detected(
        run, Expect(AlertCode.DUPLICATE_CONFLICT, "target", {"sequence": str(original.seq)})
    )


@EXAMPLES
@given(st.data())
def test_clearstreet_skipped_sequence_is_a_sequence_gap(data: st.DataObject) -> None:
    """A Clear Street sequence number that never arrives raises SEQUENCE_GAP naming it."""
    plans = [
        data.draw(venue_plan("clearstreet", f"o-{i}")) for i in range(data.draw(st.integers(1, 3)))
    ]
    plans.append(data.draw(noise_plan("clearstreet")))
    emission = data.draw(interleave(plans))
    sequenced = [i for i, (_, step, _) in enumerate(emission) if "text" not in step.f]
    assume(len(sequenced) >= 2)
    at = data.draw(st.sampled_from(sequenced[1:]))
    missing = sequenced.index(at) + 1
    frames = render("clearstreet", emission, skip_seq_before=at)
    run = play("clearstreet", data.draw(delivered(frames, replay=False)))
    assert_detected(
        run, Expect(AlertCode.SEQUENCE_GAP, None, {"missing": str(missing), "missing_count": "1"})
    )


def test_sequence_below_the_first_seen_reveals_the_numbers_between() -> None:
    """Sequence 3 arrives first, then 1; 2 never arrives: SEQUENCE_GAP names 2."""
    run = Run()
    run.feed("clearstreet", cs_frame("order-update", cs_order("a", version=1), seq=3))
    run.feed("clearstreet", cs_frame("order-update", cs_order("b", version=1), seq=1))
    run.wait(30)
    gaps = run.of(AlertCode.SEQUENCE_GAP)
    assert [(a.order_id, a.evidence["missing"]) for a in gaps] == [(None, "2")]


def inject_unknown_status(data: st.DataObject, plan: Plan) -> Expect:
    """A report with a status the venue's mapping does not know."""
    i = data.draw(st.sampled_from(plan.order_steps()))
    raw = data.draw(st.sampled_from(UNMAPPED[plan.venue]))
    plan.steps.insert(i + 1, restate(plan, i, status=raw))
    return Expect(AlertCode.UNKNOWN_STATUS, plan.order_id, {"raw_status": str(raw)})


@EXAMPLES
@given(st.data())
@pytest.mark.parametrize("venue", ALL)
def test_unknown_status_is_flagged(venue: str, data: st.DataObject) -> None:
    """An unmapped venue status raises UNKNOWN_STATUS with the raw status."""
    check(data, venue, venue_plan(venue, "target"), inject_unknown_status)


def _aggregates(children: list[dict[str, Any]]) -> dict[str, Decimal]:
    def total(key: str) -> Decimal:
        return sum((Decimal(c[key]) for c in children), Decimal(0))

    signed = (Decimal(c["executed_notional"]) * (1 if c["side"] == "buy" else -1) for c in children)
    return {
        "executed_notional": total("executed_notional"),
        "fee_notional": total("total_fee"),
        "pct_filled": total("pct_filled") / len(children),
        "notional_exposure": sum(signed, Decimal(0)),
    }


def inject_parent_aggregate(data: st.DataObject, plan: Plan) -> Expect:
    """One multi-order message whose parent total disagrees with its carried children."""
    i = data.draw(st.sampled_from([i for i, s in enumerate(plan.steps) if s.kind == "parent"]))
    name = data.draw(
        st.sampled_from(["executed_notional", "fee_notional", "pct_filled", "notional_exposure"])
    )
    right = _aggregates(plan.steps[i].f["children"])[name]
    wrong = right + 1 + abs(right) / 100
    plan.steps[i].f["over"] = {name: str(wrong)}
    return Expect(AlertCode.PARENT_AGGREGATE_MISMATCH, plan.order_id, {name: num(wrong)})


@EXAMPLES
@given(st.data())
def test_tread_parent_aggregate_mismatch_is_flagged(data: st.DataObject) -> None:
    """A multi-order whose totals disagree with its children raises PARENT_AGGREGATE_MISMATCH."""
    check(data, "tread", tread_multi_plan("target"), inject_parent_aggregate)


def inject_quantity_mismatch(data: st.DataObject, plan: Plan) -> Expect:
    """An open order's own numbers disagree: remaining != quantity - filled (or pct)."""
    i = data.draw(
        st.sampled_from(
            [i for i in plan.order_steps() if plan.steps[i].f["status"] in OPEN[plan.venue]]
        )
    )
    size, cum = plan.spec["size"], plan.steps[i].f["cum"]
    delta = data.draw(st.sampled_from([-3, -2, -1, 1, 2, 3]))
    if plan.venue == "tread":
        scale = Decimal(1000)
        if data.draw(st.booleans()):
            pct = Decimal(100) * (Decimal(cum) / scale) / (Decimal(size) / scale) + delta
            plan.steps[i].f["over"] = {"pct_filled": str(pct)}
            return Expect(AlertCode.QUANTITY_MISMATCH, plan.order_id, {"pct_filled": num(pct)})
        right = Decimal(size - cum) / scale
        wrong = right + Decimal(delta) / 10
        plan.steps[i].f["over"] = {"target_remaining_qty": str(wrong)}
        return Expect(
            AlertCode.QUANTITY_MISMATCH,
            plan.order_id,
            {"remaining": num(wrong), "quantity_minus_filled": num(right)},
        )
    field = "remainingSize" if plan.venue == "btse" else "leaves_qty"
    plan.steps[i].f["over"] = {field: size - cum + delta}
    return Expect(
        AlertCode.QUANTITY_MISMATCH,
        plan.order_id,
        {"remaining": num(size - cum + delta), "quantity_minus_filled": num(size - cum)},
    )


@EXAMPLES
@given(st.data())
@pytest.mark.parametrize("venue", ["tread", "btse", "bybit"])
def test_inconsistent_message_quantities_are_a_quantity_mismatch(
    venue: str, data: st.DataObject
) -> None:
    """An open order whose remaining (or pct filled) disagrees with its quantities is flagged."""
    ending = data.draw(st.sampled_from(["filled", "canceled", "open"]))
    check(data, venue, venue_plan(venue, "target", ending=ending), inject_quantity_mismatch)
