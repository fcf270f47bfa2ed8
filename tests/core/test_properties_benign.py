"""Property: random *valid* venue lifecycles never raise a warning or a critical alert.

Each example plans a few orders per the venue's semantics (partial fills, cancels,
rejected cancels, rejects, pauses, triggers, amendments, multi-orders), interleaves them
with heartbeats, renders the real frames, delivers them with the reorders the venue's
ordering key explains, identical re-sends, batched arrays and (Clear Street) a reconnect
replay, on a clock that advances by small random steps, then lets the settle window
pass. Only OUT_OF_ORDER (a key-explained reorder) and ORDER_REJECTED (a business event)
may appear, both ``info``.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from builders import Run, btse_frame, btse_item, cs_frame, cs_order, cs_trade
from core.lifecycles import (
    PLUGINS,
    Plan,
    delivered,
    interleave,
    noise_plan,
    play,
    render,
    tread_multi_plan,
    venue_plan,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler import AlertCode
from reconciler.lifecycle import Status

BENIGN_INFO = {AlertCode.OUT_OF_ORDER, AlertCode.ORDER_REJECTED}
EXAMPLES = settings(max_examples=60, deadline=None)


@st.composite
def scenario(draw: st.DrawFn, venue: str, *, multi: int = 0) -> tuple[list[Plan], Run]:
    """Played benign traffic of ``venue``: 1-4 orders (+ ``multi`` Tread.fi multi-orders)."""
    count = draw(st.integers(1, 4))
    plans = [draw(venue_plan(venue, f"{venue}-{i}", amend=True)) for i in range(count)]
    plans += [draw(tread_multi_plan(f"multi-{j}")) for j in range(multi)]
    plans.append(draw(noise_plan(venue)))
    frames = render(venue, draw(interleave(plans)))
    return plans, play(venue, draw(delivered(frames)))


def assert_benign(run: Run) -> None:
    """No warning or critical alert; the info alerts are the two benign ones."""
    assert run.serious() == [], run.serious()
    assert {a.code for a in run.alerts} <= BENIGN_INFO, run.alerts
    assert run.rec.stats().get("internal_errors", 0) == 0


@EXAMPLES
@given(st.data())
def test_valid_tread_single_order_lifecycles_raise_nothing_serious(data: st.DataObject) -> None:
    """Tread.fi single orders (updated_at often unchanged across fills) stay silent."""
    _, run = data.draw(scenario("tread"))
    assert_benign(run)


@EXAMPLES
@given(st.data())
def test_valid_tread_multi_order_lifecycles_raise_nothing_serious(data: st.DataObject) -> None:
    """Tread.fi multi-orders carrying their children (next to single orders) stay silent."""
    _, run = data.draw(scenario("tread", multi=data.draw(st.integers(1, 2))))
    assert_benign(run)


@EXAMPLES
@given(st.data())
def test_valid_btse_lifecycles_raise_nothing_serious(data: st.DataObject) -> None:
    """BTSE orders reordered by timestamp and re-sent stay silent (no FILL_GAP either)."""
    _, run = data.draw(scenario("btse"))
    assert_benign(run)


@EXAMPLES
@given(st.data())
def test_valid_bybit_lifecycles_raise_nothing_serious(data: st.DataObject) -> None:
    """Bybit orders whose executions race their order reports within the window stay silent."""
    _, run = data.draw(scenario("bybit"))
    assert_benign(run)


@EXAMPLES
@given(st.data())
def test_valid_clearstreet_lifecycles_raise_nothing_serious(data: st.DataObject) -> None:
    """Clear Street orders and trades, reordered by sequence, replayed on reconnect, stay silent."""
    _, run = data.draw(scenario("clearstreet"))
    assert_benign(run)


def _last_status(plan: Plan) -> Status:
    """The canonical status of the plan's last mapped report (an amendment, BTSE 123,
    keeps the order's status)."""
    table = PLUGINS[plan.venue].status_table
    for i in reversed(plan.order_steps()):
        raw = str(plan.steps[i].f["status"])
        key = raw.upper() if plan.venue == "tread" else raw
        if key in table:
            return table[key]
    raise AssertionError(f"no mapped status in {plan}")


@settings(max_examples=30, deadline=None)
@given(st.data())
@pytest.mark.parametrize("venue", ["tread", "btse", "bybit", "clearstreet"])
def test_valid_lifecycle_leaves_each_order_as_its_last_report(
    venue: str, data: st.DataObject
) -> None:
    """Reorders and re-sends never corrupt the model: each order ends as the venue last said."""
    plans, run = data.draw(scenario(venue))
    scale = Decimal(1000) if venue == "tread" else Decimal(1)
    for plan in plans:
        if not plan.order_id:
            continue
        last = plan.steps[plan.order_steps()[-1]].f
        state = run.rec.order(venue, plan.order_id)
        assert state is not None
        assert state.filled == Decimal(last["cum"]) / scale
        assert (
            state.quantity == Decimal(last.get("cur", last.get("qty", plan.spec["size"]))) / scale
        )
        assert state.status is _last_status(plan)
        if venue in ("bybit", "clearstreet"):
            assert state.executions_filled == state.filled


# -- minimal regressions of what these properties once found in the core -----------------


def test_btse_identical_resend_of_an_amendment_is_dropped_silently() -> None:
    """BTSE re-sends an amendment report identically after a later fill: dropped, counted."""
    run = Run()
    amendment = btse_frame(btse_item("o1", status=123, size=10, current=8, ts=1_000))
    run.feed("btse", btse_frame(btse_item("o1", status=2, size=10, ts=1_000)))
    run.feed("btse", amendment)
    run.feed(
        "btse",
        btse_frame(btse_item("o1", status=5, size=10, current=8, total=5, filled=5, ts=1_000)),
    )
    run.feed("btse", amendment)
    run.wait(30)
    assert run.alerts == []
    assert run.rec.stats()["duplicates.order"] == 1


def test_btse_amendment_overtaking_the_insertion_is_not_an_unknown_status() -> None:
    """The amendment (ts 2000) arrives before the insertion it amends (ts 1000)."""
    run = Run()
    run.feed("btse", btse_frame(btse_item("o1", status=123, size=10, current=8, ts=2_000)))
    run.feed("btse", btse_frame(btse_item("o1", status=2, size=10, ts=1_000)))
    run.wait(30)
    assert run.serious() == []


def test_btse_amendment_overtaking_a_status_report_keeps_the_reported_status() -> None:
    """Trigger inserted (ts 1000), activated (ts 2000), amended (ts 3000, arrives first)."""
    run = Run()
    run.feed("btse", btse_frame(btse_item("o1", status=9, size=10, ts=1_000)))
    run.feed("btse", btse_frame(btse_item("o1", status=123, size=10, current=8, ts=3_000)))
    run.feed("btse", btse_frame(btse_item("o1", status=10, size=10, ts=2_000)))
    run.wait(30)
    state = run.rec.order("btse", "o1")
    assert state is not None
    assert (state.status, state.quantity) == (Status.TRIGGERED, Decimal(8))


def test_clearstreet_trade_overtaking_a_modify_is_not_an_overfill() -> None:
    """A trade (seq 3) arrives before the modify (seq 2) that raised the quantity to cover it."""
    run = Run()
    run.feed(
        "clearstreet", cs_frame("order-update", cs_order("o1", version=1, quantity="2"), seq=1)
    )
    run.feed("clearstreet", cs_frame("trade-notice", cs_trade("t1", "o1", quantity="3"), seq=3))
    run.feed(
        "clearstreet",
        cs_frame(
            "order-update",
            cs_order("o1", version=2, status="replaced", reason="modify", quantity="3"),
            seq=2,
        ),
    )
    run.feed(
        "clearstreet",
        cs_frame(
            "order-update",
            cs_order("o1", version=3, status="filled", quantity="3", filled="3"),
            seq=4,
        ),
    )
    run.wait(30)
    assert run.serious() == []


def test_clearstreet_version_overtaking_a_modify_is_not_an_immutable_change() -> None:
    """Version 3 (quantity 3) arrives before version 2, the modify from 2 to 3."""
    run = Run()
    run.feed(
        "clearstreet", cs_frame("order-update", cs_order("o1", version=1, quantity="2"), seq=1)
    )
    run.feed(
        "clearstreet",
        cs_frame(
            "order-update",
            cs_order("o1", version=3, status="partially-filled", quantity="3", filled="1"),
            seq=4,
        ),
    )
    run.feed(
        "clearstreet",
        cs_frame(
            "order-update",
            cs_order("o1", version=2, status="replaced", reason="modify", quantity="3"),
            seq=2,
        ),
    )
    run.feed("clearstreet", cs_frame("trade-notice", cs_trade("t1", "o1", quantity="1"), seq=3))
    run.wait(30)
    assert run.serious() == []
    assert run.of(AlertCode.OUT_OF_ORDER)[0].evidence["update_key"] == "2"


def test_clearstreet_modify_overtaking_an_older_version_is_not_an_immutable_change() -> None:
    """The modify (version 3, quantity 2) arrives before version 2 (quantity 3)."""
    run = Run()
    run.feed(
        "clearstreet", cs_frame("order-update", cs_order("o1", version=1, quantity="3"), seq=1)
    )
    run.feed(
        "clearstreet",
        cs_frame(
            "order-update",
            cs_order("o1", version=3, status="replaced", reason="modify", quantity="2"),
            seq=3,
        ),
    )
    run.feed(
        "clearstreet",
        cs_frame(
            "order-update",
            cs_order("o1", version=2, status="pending-cancel", reason="cancel", quantity="3"),
            seq=2,
        ),
    )
    run.wait(30)
    assert run.serious() == []
    assert run.of(AlertCode.OUT_OF_ORDER)[0].evidence["update_key"] == "2"
