"""Tread.fi multi-orders: a parent and its children checked together.

A parent's ``order_update`` carries its children (``child_orders``) and declares their
ids (``child_order_ids``); a child may also arrive on its own, naming its parent in
``parent_order_id``. What one message proves is reported at once; what needs several
messages waits for the settle window. ``../shared/venues.md`` lists the invariants the
seed's own multi-order messages satisfy: executed_notional = Σ children's, fee_notional =
Σ total_fee, pct_filled = mean of the children's, notional_exposure = buy - sell notional.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from builders import Run, one, tread_frame, tread_order, tread_parent

from reconciler import AlertCode, Severity

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "tread"
SETTLE = 5.0


def buy_leg(executed: str = "0.06", status: str = "ACTIVE", **kw: Any) -> dict[str, Any]:
    """Child c1 of parent P: a perpetual buy."""
    return tread_order("c1", parent="P", executed=executed, status=status, **kw)


def sell_leg(executed: str = "0.1", status: str = "ACTIVE", **kw: Any) -> dict[str, Any]:
    """Child c2 of parent P: a spot sell."""
    return tread_order(
        "c2",
        parent="P",
        side="sell",
        pair="BTC-USDT",
        avg="118792.1",
        executed=executed,
        status=status,
        **kw,
    )


def legs() -> list[dict[str, Any]]:
    return [buy_leg(), sell_leg()]


def child_frame(child: dict[str, Any]) -> str:
    """A child order reported on its own."""
    return tread_frame(child, "order_fill_received")


# -- benign multi-orders ---------------------------------------------------------------


def test_seed_multi_order_messages_are_consistent() -> None:
    """The seed's order_activated and child_order_fill_received messages raise nothing."""
    run = Run()
    for name in ("multi_order_activated.json", "multi_order_child_fill_received.json"):
        run.feed("tread", (FIXTURES / name).read_text())
    run.wait(30)
    assert run.serious() == []
    parent = run.rec.order("tread", "5092dba5-ec3c-4ae9-84ad-43aa29090bb0")
    assert parent is not None
    assert parent.is_parent
    assert parent.notional == Decimal("21779.5584552")


def test_consistent_parent_with_its_children_is_silent() -> None:
    """A parent whose totals are its children's raises nothing, even after the window."""
    run = Run()
    run.feed("tread", tread_parent("P", legs()))
    run.wait(30)
    assert run.alerts == []


def test_aggregates_within_tolerance_are_silent() -> None:
    """pct off by 0.005 points and a notional off by 5e-12 relative are rounding."""
    children = legs()
    run = Run()
    run.feed(
        "tread",
        tread_parent("P", children, pct_filled="8.005", executed_notional="18959.2100001"),
    )
    run.wait(30)
    assert run.serious() == []


# -- PARENT_AGGREGATE_MISMATCH ---------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "evidence_key", "children_key", "children_value"),
    [
        ("executed_notional", "19000", "executed_notional", "children_executed_notional",
         "18959.21"),
        ("fee_notional", "4.5", "fee_notional", "children_fees", "3.791842"),
        ("pct_filled", "10", "pct_filled", "children_mean_pct_filled", "8"),
        ("notional_exposure", "4799.21", "notional_exposure", "children_buy_minus_sell",
         "-4799.21"),
    ],
)  # fmt: skip
def test_parent_aggregate_disagreeing_with_carried_children(
    field: str, value: str, evidence_key: str, children_key: str, children_value: str
) -> None:
    """Each invariant on its own: the parent's total is not its carried children's."""
    run = Run()
    run.feed("tread", tread_parent("P", legs(), **{field: value}))
    alert = one(run, AlertCode.PARENT_AGGREGATE_MISMATCH)
    assert alert.severity is Severity.CRITICAL
    assert (alert.venue, alert.order_id, alert.parent_id) == ("tread", "P", None)
    assert alert.t == run.t
    assert alert.evidence[evidence_key] == value
    assert Decimal(alert.evidence[children_key]) == Decimal(children_value)
    others = {"executed_notional", "fee_notional", "pct_filled", "notional_exposure"} - {
        evidence_key
    }
    assert not others & alert.evidence.keys()


def test_parent_aggregate_checked_against_children_reported_on_their_own() -> None:
    """A parent without child_orders is compared with its children's latest reports."""
    children = legs()
    run = Run()
    run.feed("tread", tread_parent("P", children, child_orders=None, executed_notional="1"))
    for child in children:
        run.feed("tread", child_frame(child))
    run.wait(30)
    alert = one(run, AlertCode.PARENT_AGGREGATE_MISMATCH)
    assert alert.order_id == "P"
    assert alert.evidence["executed_notional"] == "1"
    assert Decimal(alert.evidence["children_executed_notional"]) == Decimal("18959.21")


def test_parent_agreeing_with_children_reported_on_their_own_is_silent() -> None:
    """The same without a fault: totals match the standalone children."""
    children = legs()
    run = Run()
    run.feed("tread", tread_parent("P", children, child_orders=None))
    for child in children:
        run.feed("tread", child_frame(child))
    run.wait(30)
    assert run.serious() == []


# -- CHILD_SET_MISMATCH ----------------------------------------------------------------


def test_declared_ids_differ_from_carried_children() -> None:
    """child_order_ids names c3, which the message does not carry."""
    run = Run()
    run.feed("tread", tread_parent("P", legs(), child_order_ids=["c1", "c2", "c3"]))
    alert = one(run, AlertCode.CHILD_SET_MISMATCH)
    assert alert.severity is Severity.WARNING
    assert alert.order_id == "P"
    assert alert.t == run.t
    assert set(alert.evidence["child_order_ids"].split(",")) == {"c1", "c2", "c3"}
    assert set(alert.evidence["carried_children"].split(",")) == {"c1", "c2"}


def test_carried_child_naming_another_parent() -> None:
    """P carries c2, but c2's parent_order_id is Q."""
    children = [buy_leg(), sell_leg(parent_order_id="Q")]
    run = Run()
    run.feed("tread", tread_parent("P", children))
    alert = one(run, AlertCode.CHILD_SET_MISMATCH)
    assert alert.order_id == "P"
    assert alert.evidence["children_naming_another_parent"] == "c2->Q"


def test_standalone_child_naming_a_parent_that_never_declares_it() -> None:
    """c9 says its parent is P; P declares only c1 and c2 and says nothing more."""
    run = Run()
    run.feed("tread", tread_parent("P", legs()))
    run.feed("tread", child_frame(tread_order("c9", parent="P")))
    proving_t = run.t
    run.wait(30)
    alert = one(run, AlertCode.CHILD_SET_MISMATCH)
    assert alert.order_id == "P"
    assert alert.t == proving_t + SETTLE
    assert alert.evidence["undeclared_children"] == "c9"
    assert set(alert.evidence["child_order_ids"].split(",")) == {"c1", "c2"}


def test_new_child_declared_by_the_parent_within_the_window_is_silent() -> None:
    """A new child for the buy leg arrives first; the parent's next message declares and
    carries it 3 s later (the multi-order's pairs are unchanged)."""
    c9 = tread_order("c9", parent="P")
    run = Run()
    run.feed("tread", tread_parent("P", legs()))
    run.feed("tread", child_frame(c9))
    pairs = "BTC:PERP-USDT,BTC-USDT"
    run.feed("tread", tread_parent("P", [*legs(), c9], pairs=pairs), dt=3)
    run.wait(30)
    assert run.serious() == []


def test_declared_child_updating_on_its_own_is_silent() -> None:
    """A declared child's own fill report is no mismatch."""
    run = Run()
    run.feed("tread", tread_parent("P", legs()))
    run.feed("tread", child_frame(buy_leg(executed="0.2")))
    run.wait(30)
    assert run.serious() == []


# -- ORPHAN_CHILD ----------------------------------------------------------------------


def test_child_whose_parent_never_arrives_is_an_orphan() -> None:
    """c1 names P; P is still unknown a settle window later."""
    run = Run()
    run.feed("tread", child_frame(buy_leg()))
    proving_t = run.t
    run.wait(30)
    alert = one(run, AlertCode.ORPHAN_CHILD)
    assert alert.severity is Severity.WARNING
    assert (alert.order_id, alert.parent_id) == ("c1", "P")
    assert alert.t == proving_t + SETTLE
    assert alert.evidence["parent_order_id"] == "P"


def test_orphan_waits_for_the_settle_window() -> None:
    """Not an orphan before the window has passed."""
    run = Run()
    run.feed("tread", child_frame(buy_leg()))
    assert run.wait(SETTLE - 0.1) == []
    assert [a.code for a in run.wait(0.2)] == [AlertCode.ORPHAN_CHILD]


def test_parent_arriving_within_the_window_is_no_orphan() -> None:
    """The child first, the parent carrying it 4 s later."""
    run = Run()
    run.feed("tread", child_frame(buy_leg()))
    run.feed("tread", tread_parent("P", legs()), dt=SETTLE - 1)
    run.wait(30)
    assert run.serious() == []


# -- PARENT_TERMINAL_WITH_ACTIVE_CHILD -------------------------------------------------


@pytest.mark.parametrize("parent_status", ["COMPLETE", "CANCELED"])
def test_terminal_parent_with_a_working_child(parent_status: str) -> None:
    """The parent ended while c1 is still ACTIVE, and nothing changes within the window."""
    children = [buy_leg(executed="0.5"), sell_leg(executed="1", status="COMPLETE")]
    run = Run()
    run.feed("tread", tread_parent("P", children, status=parent_status))
    proving_t = run.t
    run.wait(30)
    alert = one(run, AlertCode.PARENT_TERMINAL_WITH_ACTIVE_CHILD)
    assert alert.severity is Severity.CRITICAL
    assert alert.order_id == "P"
    assert alert.t == proving_t + SETTLE
    assert alert.evidence["parent_status"] == parent_status
    assert "c1" in alert.evidence["open_children"]
    assert "c2" not in alert.evidence["open_children"]


def test_child_completing_within_the_window_after_its_parent_is_silent() -> None:
    """The parent's COMPLETE races the child's own final report by 3 s."""
    children = [buy_leg(executed="0.5"), sell_leg(executed="1", status="COMPLETE")]
    run = Run()
    run.feed("tread", tread_parent("P", children, status="COMPLETE"))
    run.feed("tread", child_frame(buy_leg(executed="1", status="COMPLETE")), dt=3)
    run.wait(30)
    assert run.of(AlertCode.PARENT_TERMINAL_WITH_ACTIVE_CHILD) == []
    assert run.serious() == []


def test_children_canceled_by_the_parents_next_message_within_the_window_is_silent() -> None:
    """CANCELED parent, then its next message carries the children CANCELED too."""
    working = [buy_leg(executed="0.5"), sell_leg(executed="0.2")]
    ended = [
        buy_leg(executed="0.5", status="CANCELED"),
        sell_leg(executed="0.2", status="CANCELED"),
    ]
    run = Run()
    run.feed("tread", tread_parent("P", working, status="CANCELED"))
    run.feed("tread", tread_parent("P", ended, status="CANCELED"), dt=2)
    run.wait(30)
    assert run.serious() == []


# -- STUCK_PARENT ----------------------------------------------------------------------


def test_open_parent_after_every_child_ended_is_stuck() -> None:
    """Both children COMPLETE, the parent still ACTIVE a settle window later."""
    children = [
        buy_leg(executed="1", status="COMPLETE"),
        sell_leg(executed="1", status="COMPLETE"),
    ]
    run = Run()
    run.feed("tread", tread_parent("P", children))
    proving_t = run.t
    run.wait(30)
    alert = one(run, AlertCode.STUCK_PARENT)
    assert alert.severity is Severity.WARNING
    assert alert.order_id == "P"
    assert alert.t == proving_t + SETTLE
    assert alert.evidence["parent_status"] == "ACTIVE"
    assert {"c1", "c2"} <= set(alert.evidence["children"].replace(":", ",").split(","))


def test_parent_completing_within_the_window_is_not_stuck() -> None:
    """The children end first; the parent's COMPLETE follows 3 s later."""
    children = [
        buy_leg(executed="1", status="COMPLETE"),
        sell_leg(executed="0.4", status="CANCELED"),
    ]
    run = Run()
    run.feed("tread", tread_parent("P", children))
    run.feed("tread", tread_parent("P", children, status="COMPLETE"), dt=3)
    run.wait(30)
    assert run.serious() == []


def test_open_parent_with_a_working_child_is_not_stuck() -> None:
    """One child ended, the other still works: the parent is rightly open."""
    children = [buy_leg(executed="1", status="COMPLETE"), sell_leg()]
    run = Run()
    run.feed("tread", tread_parent("P", children))
    run.wait(30)
    assert run.serious() == []
