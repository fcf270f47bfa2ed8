"""Per-order quantity alerts: FILL_REGRESSION, OVERFILL, QUANTITY_MISMATCH,
NOTIONAL_MISMATCH and STATUS_FILL_MISMATCH, on every venue that can exhibit them.

Each fault is fed as the venue would send it (real parsers), and each has a benign
neighbour that must stay silent: a reorder the ordering key explains, an identical
re-send, a legitimate partial fill, a cancel that reports nothing left.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from builders import (
    Run,
    btse_frame,
    btse_item,
    by_exec,
    by_order,
    cs_tr,
    cs_up,
    one,
    quiet,
    tread_at,
    tread_frame,
    tread_order,
)

from reconciler import AlertCode, Severity

# -- FILL_REGRESSION -----------------------------------------------------------------


def test_tread_fill_regression_on_newer_update() -> None:
    """Tread.fi: executed quantity going down in a newer update is FILL_REGRESSION."""
    run = Run()
    run.feed("tread", tread_frame(tread_order("T1", executed="0.5", updated_at=tread_at(10))))
    run.feed("tread", tread_frame(tread_order("T1", executed="0.3", updated_at=tread_at(20))))
    alert = one(run, AlertCode.FILL_REGRESSION)
    assert (alert.order_id, alert.severity, alert.venue) == ("T1", Severity.CRITICAL, "tread")
    assert alert.evidence["previous_filled"] == "0.5"
    assert alert.evidence["new_filled"] == "0.3"
    state = run.rec.order("tread", "T1")
    assert state is not None
    assert state.filled == Decimal("0.5")  # the regressing report is not applied


def test_tread_fill_regression_on_equal_updated_at() -> None:
    """Tread.fi: equal ``updated_at`` is not older, so a lower fill under it regresses."""
    run = Run()
    run.feed("tread", tread_frame(tread_order("T1", executed="0.5", updated_at=tread_at(10))))
    run.feed("tread", tread_frame(tread_order("T1", executed="0.3", updated_at=tread_at(10))))
    alert = one(run, AlertCode.FILL_REGRESSION)
    assert alert.order_id == "T1"
    assert (alert.evidence["previous_filled"], alert.evidence["new_filled"]) == ("0.5", "0.3")


def test_tread_older_update_with_lower_fill_is_not_a_regression() -> None:
    """Tread.fi: a lower fill under an older ``updated_at`` is a reorder, not a regression."""
    run = Run()
    run.feed("tread", tread_frame(tread_order("T1", executed="0.5", updated_at=tread_at(20))))
    run.feed("tread", tread_frame(tread_order("T1", executed="0.3", updated_at=tread_at(10))))
    assert run.of(AlertCode.FILL_REGRESSION) == []
    assert [a.code for a in run.alerts] == [AlertCode.OUT_OF_ORDER]
    quiet(run)


def test_btse_fill_regression_on_newer_timestamp() -> None:
    """BTSE: ``totalFilledSize`` going down under a newer ``timestamp`` is FILL_REGRESSION."""
    run = Run()
    run.feed("btse", btse_frame(btse_item("B1", status=5, total=600, filled=600, ts=2000)))
    run.feed("btse", btse_frame(btse_item("B1", status=5, total=300, filled=0, ts=3000)))
    alert = one(run, AlertCode.FILL_REGRESSION)
    assert (alert.order_id, alert.severity) == ("B1", Severity.CRITICAL)
    assert (alert.evidence["previous_filled"], alert.evidence["new_filled"]) == ("600", "300")
    assert (alert.evidence["previous_key"], alert.evidence["update_key"]) == ("2000", "3000")
    state = run.rec.order("btse", "B1")
    assert state is not None
    assert state.filled == 600


def test_btse_reordered_partial_fills_are_benign() -> None:
    """BTSE: partial fills arriving in reverse ``timestamp`` order raise no regression."""
    run = Run()
    run.feed("btse", btse_frame(btse_item("B1", status=2, ts=1000)))
    run.feed("btse", btse_frame(btse_item("B1", status=5, total=600, filled=300, ts=3000)))
    run.feed("btse", btse_frame(btse_item("B1", status=5, total=300, filled=300, ts=2000)))
    assert run.of(AlertCode.FILL_REGRESSION) == []
    assert [a.code for a in run.alerts] == [AlertCode.OUT_OF_ORDER]
    quiet(run)


def test_bybit_fill_regression_in_arrival_order() -> None:
    """Bybit: ``cum_exec_qty`` going down in a later report is FILL_REGRESSION."""
    run = Run()
    run.feed("bybit", by_order("Y1", status="PartiallyFilled", cum=60))
    run.feed("bybit", by_order("Y1", status="PartiallyFilled", cum=30))
    alert = one(run, AlertCode.FILL_REGRESSION)
    assert (alert.order_id, alert.severity, alert.venue) == ("Y1", Severity.CRITICAL, "bybit")
    assert (alert.evidence["previous_filled"], alert.evidence["new_filled"]) == ("60", "30")
    state = run.rec.order("bybit", "Y1")
    assert state is not None
    assert state.filled == 60


RESENDS = [
    pytest.param(
        "tread",
        [tread_frame(tread_order("R1", updated_at=tread_at(0)))],
        tread_frame(tread_order("R1", executed="0.3", updated_at=tread_at(1))),
        id="tread",
    ),
    pytest.param(
        "btse",
        [btse_frame(btse_item("R1", status=2, ts=1000))],
        btse_frame(btse_item("R1", status=5, total=300, filled=300, ts=2000)),
        id="btse",
    ),
    pytest.param(
        "bybit",
        [by_order("R1"), by_exec("E1", "R1", 30, leaves=70)],
        by_order("R1", status="PartiallyFilled", cum=30),
        id="bybit",
    ),
]


@pytest.mark.parametrize(("venue", "before", "frame"), RESENDS)
def test_identical_resend_is_dropped(venue: str, before: list[str], frame: str) -> None:
    """The same partial-fill report sent twice is dropped silently and counted."""
    run = Run()
    for earlier in before:
        run.feed(venue, earlier)
    run.feed(venue, frame)
    run.feed(venue, frame)
    assert run.alerts == []
    assert run.rec.stats()["duplicates.order"] == 1
    assert [h.kind for h in run.rec.history(venue, "R1")][-1] == "duplicate"
    quiet(run)


def test_clearstreet_fill_regression_on_newer_version() -> None:
    """Clear Street: ``filled_quantity`` going down in a newer ``version`` is FILL_REGRESSION."""
    run = Run()
    run.feed("clearstreet", cs_up(1, "C1", version=3, status="partially-filled", filled="60"))
    run.feed("clearstreet", cs_up(2, "C1", version=4, status="partially-filled", filled="30"))
    alert = one(run, AlertCode.FILL_REGRESSION)
    assert (alert.order_id, alert.severity) == ("C1", Severity.CRITICAL)
    assert (alert.evidence["previous_filled"], alert.evidence["new_filled"]) == ("60", "30")
    assert (alert.evidence["previous_key"], alert.evidence["update_key"]) == ("3", "4")


def test_clearstreet_older_version_and_replay_are_benign() -> None:
    """Clear Street: an older version arriving late and a replay from sequence 1 are benign."""
    frames = {
        1: cs_up(1, "C1", version=1),
        2: cs_tr(2, "X1", "C1", "30"),
        4: cs_up(4, "C1", version=3, status="partially-filled", filled="60"),
        5: cs_tr(5, "X2", "C1", "30"),
        3: cs_up(3, "C1", version=2, status="partially-filled", filled="30"),
    }
    run = Run()
    for frame in frames.values():
        run.feed("clearstreet", frame)
    for seq in sorted(frames):  # a reconnect replays the day from sequence 1
        run.feed("clearstreet", frames[seq])
    assert [a.code for a in run.alerts] == [AlertCode.OUT_OF_ORDER]
    state = run.rec.order("clearstreet", "C1")
    assert state is not None
    assert (state.filled, state.executions_filled) == (Decimal(60), Decimal(60))
    quiet(run)


# -- OVERFILL ------------------------------------------------------------------------

REPORTED_OVERFILLS = [
    pytest.param(
        "tread",
        tread_frame(tread_order("O1", target="1", executed="1.2", status="COMPLETE")),
        ("1.2", "1"),
        id="tread",
    ),
    pytest.param(
        "btse",
        btse_frame(btse_item("O1", status=4, total=1000, filled=1000, remaining=0)),
        ("1000", "900"),
        id="btse",
    ),
    pytest.param(
        "bybit",
        by_order("O1", status="Filled", qty=100, cum=120),
        ("120", "100"),
        id="bybit",
    ),
    pytest.param(
        "clearstreet",
        cs_up(1, "O1", version=2, status="filled", quantity="100", filled="120"),
        ("120", "100"),
        id="clearstreet",
    ),
]


@pytest.mark.parametrize(("venue", "frame", "numbers"), REPORTED_OVERFILLS)
def test_reported_overfill(venue: str, frame: str, numbers: tuple[str, str]) -> None:
    """A report whose cumulative filled exceeds the order quantity is OVERFILL (reported)."""
    run = Run()
    run.feed(venue, frame)
    alert = one(run, AlertCode.OVERFILL)
    assert (alert.order_id, alert.severity, alert.venue) == ("O1", Severity.CRITICAL, venue)
    assert (alert.evidence["filled"], alert.evidence["quantity"]) == numbers
    assert alert.evidence["source"] == "reported"


def test_bybit_overfill_summed_from_executions() -> None:
    """Bybit: executions summing past the order's ``qty`` are OVERFILL (executions)."""
    run = Run()
    run.feed("bybit", by_order("Y1"))
    run.feed("bybit", by_exec("E1", "Y1", 60, leaves=40))
    run.feed("bybit", by_exec("E2", "Y1", 60, leaves=0))
    assert run.of(AlertCode.OVERFILL) == []  # a cross-object check waits the settle window
    run.wait(5)
    alert = one(run, AlertCode.OVERFILL)
    assert (alert.order_id, alert.severity) == ("Y1", Severity.CRITICAL)
    assert alert.evidence["executions_sum"] == "120"
    assert alert.evidence["quantity"] == "100"
    assert alert.evidence["source"] == "executions"


def test_bybit_overfill_from_executions_before_the_order_report() -> None:
    """Bybit: executions past their own ``order_qty`` overfill even before the order report."""
    run = Run()
    run.feed("bybit", by_exec("E1", "Y1", 70, order_qty=100, leaves=30))
    run.feed("bybit", by_exec("E2", "Y1", 70, order_qty=100, leaves=0))
    run.wait(5)
    alert = one(run, AlertCode.OVERFILL)
    assert alert.order_id == "Y1"
    assert (alert.evidence["executions_sum"], alert.evidence["quantity"]) == ("140", "100")


def test_bybit_resent_execution_does_not_overfill() -> None:
    """Bybit: an execution re-sent with the same ``exec_id`` counts once: no overfill."""
    run = Run()
    run.feed("bybit", by_order("Y1"))
    run.feed("bybit", by_exec("E1", "Y1", 60, leaves=40))
    run.feed("bybit", by_order("Y1", status="PartiallyFilled", cum=60))
    run.feed("bybit", by_exec("E1", "Y1", 60, leaves=40))
    run.feed("bybit", by_exec("E2", "Y1", 40, leaves=0))
    run.feed("bybit", by_order("Y1", status="Filled", cum=100))
    assert run.alerts == []
    assert run.rec.stats()["duplicates.fill"] == 1
    state = run.rec.order("bybit", "Y1")
    assert state is not None
    assert (state.filled, state.executions_filled) == (Decimal(100), Decimal(100))
    quiet(run)


def test_clearstreet_overfill_summed_from_trades() -> None:
    """Clear Street: trades summing past the order quantity are OVERFILL (executions)."""
    run = Run()
    run.feed("clearstreet", cs_up(1, "C1", version=1))
    run.feed("clearstreet", cs_tr(2, "X1", "C1", "70"))
    run.feed("clearstreet", cs_tr(3, "X2", "C1", "50"))
    run.wait(5)
    alert = one(run, AlertCode.OVERFILL)
    assert (alert.order_id, alert.severity, alert.venue) == ("C1", Severity.CRITICAL, "clearstreet")
    assert (alert.evidence["executions_sum"], alert.evidence["quantity"]) == ("120", "100")
    assert alert.evidence["source"] == "executions"


def test_clearstreet_fill_up_to_a_modified_quantity_is_not_overfill() -> None:
    """Clear Street: after a ``modify`` raises the quantity, filling up to it is no overfill."""
    run = Run()
    run.feed("clearstreet", cs_up(1, "C1", version=1))
    run.feed("clearstreet", cs_up(2, "C1", version=2, quantity="150", reason="modify"))
    run.feed("clearstreet", cs_tr(3, "X1", "C1", "150"))
    run.feed(
        "clearstreet", cs_up(4, "C1", version=3, status="filled", quantity="150", filled="150")
    )
    assert run.alerts == []
    quiet(run)


def test_exact_fills_are_not_overfill() -> None:
    """Orders filled exactly to their quantity on every venue raise nothing."""
    run = Run()
    run.feed("tread", tread_frame(tread_order("T1", executed="1", status="COMPLETE")))
    run.feed("btse", btse_frame(btse_item("B1", status=4, total=900, filled=900)))
    run.feed("bybit", by_exec("E1", "Y1", 100))
    run.feed("bybit", by_order("Y1", status="Filled", cum=100))
    run.feed("clearstreet", cs_tr(1, "X1", "C1", "100"))
    run.feed("clearstreet", cs_up(2, "C1", version=2, status="filled", filled="100"))
    assert run.alerts == []
    quiet(run)


# -- QUANTITY_MISMATCH ---------------------------------------------------------------


def test_tread_remaining_disagrees_with_target_minus_executed() -> None:
    """Tread.fi: ``target_remaining_qty`` != target - executed on an open order."""
    run = Run()
    order = tread_order("T1", target="2", executed="0.5", target_remaining_qty="1")
    run.feed("tread", tread_frame(order))
    alert = one(run, AlertCode.QUANTITY_MISMATCH)
    assert (alert.order_id, alert.severity) == ("T1", Severity.WARNING)
    assert alert.evidence["remaining"] == "1"
    assert alert.evidence["quantity_minus_filled"] == "1.5"
    assert (alert.evidence["quantity"], alert.evidence["filled"]) == ("2", "0.5")


def test_tread_pct_filled_disagrees_with_quantities() -> None:
    """Tread.fi: ``pct_filled`` != 100 x executed / target beyond 0.01 points."""
    run = Run()
    run.feed("tread", tread_frame(tread_order("T1", target="2", executed="0.5", pct_filled="30")))
    alert = one(run, AlertCode.QUANTITY_MISMATCH)
    assert alert.order_id == "T1"
    assert alert.evidence["pct_filled"] == "30"
    assert alert.evidence["pct_from_quantities"] == "25"


def test_tread_pct_rounded_within_tolerance_is_benign() -> None:
    """Tread.fi: a rounded ``pct_filled`` (33.33 for 1/3) is within the 0.01 tolerance."""
    run = Run()
    run.feed("tread", tread_frame(tread_order("T1", target="3", executed="1", pct_filled="33.33")))
    assert run.alerts == []
    quiet(run)


def test_btse_current_size_disagrees_with_filled_plus_remaining() -> None:
    """BTSE: ``currentOrderSize`` != ``totalFilledSize`` + ``remainingSize``."""
    run = Run()
    item = btse_item("B1", status=5, total=300, filled=300, remaining=500)
    run.feed("btse", btse_frame(item))
    alert = one(run, AlertCode.QUANTITY_MISMATCH)
    assert (alert.order_id, alert.severity, alert.venue) == ("B1", Severity.WARNING, "btse")
    assert alert.evidence["remaining"] == "500"
    assert alert.evidence["quantity_minus_filled"] == "600"


def test_btse_canceled_with_a_third_remaining_is_a_mismatch() -> None:
    """BTSE: a cancel whose remaining is neither the unfilled part nor 0 is a mismatch."""
    run = Run()
    run.feed("btse", btse_frame(btse_item("B1", status=5, total=300, filled=300, ts=1000)))
    run.feed("btse", btse_frame(btse_item("B1", status=6, total=300, remaining=100, ts=2000)))
    alert = one(run, AlertCode.QUANTITY_MISMATCH)
    assert (alert.evidence["remaining"], alert.evidence["quantity_minus_filled"]) == ("100", "600")


def test_btse_partial_fill_then_cancel_is_benign() -> None:
    """BTSE: partial fill, then a cancel reporting the unfilled part as remaining."""
    run = Run()
    run.feed("btse", btse_frame(btse_item("B1", status=2, ts=1000)))
    run.feed("btse", btse_frame(btse_item("B1", status=5, total=300, filled=300, ts=2000)))
    run.feed("btse", btse_frame(btse_item("B1", status=6, total=300, ts=3000)))
    assert run.alerts == []
    quiet(run)


def test_bybit_leaves_disagrees_on_open_order() -> None:
    """Bybit: ``leaves_qty`` != ``qty`` - ``cum_exec_qty`` on an open order."""
    run = Run()
    run.feed("bybit", by_order("Y1", status="PartiallyFilled", cum=30, leaves=50))
    alert = one(run, AlertCode.QUANTITY_MISMATCH)
    assert (alert.order_id, alert.severity, alert.venue) == ("Y1", Severity.WARNING, "bybit")
    assert (alert.evidence["remaining"], alert.evidence["quantity_minus_filled"]) == ("50", "70")


def test_bybit_cancel_with_leaves_zero_after_partial_fill_is_benign() -> None:
    """Bybit: a partially filled order cancelled with ``leaves_qty`` 0 is consistent."""
    run = Run()
    run.feed("bybit", by_order("Y1"))
    run.feed("bybit", by_exec("E1", "Y1", 30, leaves=70))
    run.feed("bybit", by_order("Y1", status="PartiallyFilled", cum=30))
    run.feed("bybit", by_order("Y1", status="Cancelled", cum=30))
    assert run.alerts == []
    state = run.rec.order("bybit", "Y1")
    assert state is not None
    assert (state.remaining, state.filled) == (Decimal(0), Decimal(30))
    quiet(run)


# -- NOTIONAL_MISMATCH (Tread.fi only: no other venue reports a notional) ----------


def test_tread_buy_notional_mismatch() -> None:
    """Tread.fi buy: ``executed_notional`` != average price x base bought (1% off)."""
    run = Run()
    order = tread_order("T1", side="buy", executed="0.5", avg="118000", executed_notional="59590")
    run.feed("tread", tread_frame(order))
    alert = one(run, AlertCode.NOTIONAL_MISMATCH)
    assert (alert.order_id, alert.severity) == ("T1", Severity.WARNING)
    assert alert.evidence["notional"] == "59590"
    assert alert.evidence["avg_price"] == "118000"
    assert alert.evidence["quantity"] == "0.5"
    assert alert.evidence["avg_price_times_quantity"] == "59000"


def test_tread_sell_notional_mismatch() -> None:
    """Tread.fi sell: ``executed_notional`` != average price x base sold (``executed_qty``)."""
    run = Run()
    order = tread_order("T1", side="sell", executed="0.25", avg="118000", executed_notional="29000")
    run.feed("tread", tread_frame(order))
    alert = one(run, AlertCode.NOTIONAL_MISMATCH)
    assert alert.order_id == "T1"
    assert (alert.evidence["quantity"], alert.evidence["avg_price_times_quantity"]) == (
        "0.25",
        "29500",
    )
    assert alert.evidence["notional"] == "29000"


def test_tread_sell_notional_priced_on_base_sold_is_benign() -> None:
    """Tread.fi sell: notional = price x ``executed_qty`` (base), not x ``executed_buy_qty``."""
    run = Run()
    order = tread_order("T1", side="sell", executed="0.25", avg="118000")
    assert order["executed_buy_qty"] == "29500.00"  # quote received: not the priced amount
    run.feed("tread", tread_frame(order))
    assert run.alerts == []
    quiet(run)


def test_tread_rounded_average_price_is_within_tolerance() -> None:
    """Tread.fi: a rounded ``average_executed_price`` (1e-9 relative) raises nothing."""
    run = Run()
    order = tread_order(
        "T1",
        executed="0.123336",
        avg="118000",
        average_executed_price="118000.0001",
        executed_notional=str(Decimal(118000) * Decimal("0.123336")),
    )
    run.feed("tread", tread_frame(order))
    assert run.alerts == []
    quiet(run)


def test_tread_quote_target_notional_is_priced_on_base() -> None:
    """Tread.fi buy with a quote ``target_token``: notional matches price x base bought."""
    run = Run()
    order = tread_order(
        "T1",
        target="1000",
        executed="500",
        avg="125000",
        target_token="USDT",
        executed_notional="500",
        executed_buy_qty="0.004",
        executed_qty="500",
        total_fee="0.1",
    )
    run.feed("tread", tread_frame(order))
    assert run.alerts == []
    quiet(run)


# -- STATUS_FILL_MISMATCH ------------------------------------------------------------

STATUS_FILL_FAULTS = [
    pytest.param(
        "tread",
        tread_frame(tread_order("S1", target="1", executed="0.5", status="COMPLETE")),
        ("filled", "COMPLETE", "0.5", "1"),
        id="tread-complete-with-quantity-left",
    ),
    pytest.param(
        "btse",
        btse_frame(btse_item("S1", status=4, total=600, filled=600, remaining=0)),
        ("filled", "4", "600", "900"),
        id="btse-fully-matched-with-quantity-left",
    ),
    pytest.param(
        "bybit",
        by_order("S1", status="Filled", cum=60),
        ("filled", "Filled", "60", "100"),
        id="bybit-filled-with-quantity-left",
    ),
    pytest.param(
        "clearstreet",
        cs_up(1, "S1", version=3, status="filled", filled="60"),
        ("filled", "filled", "60", "100"),
        id="clearstreet-filled-with-quantity-left",
    ),
    pytest.param(
        "btse",
        btse_frame(btse_item("S1", status=15, total=100, filled=100)),
        ("rejected", "15", "100", "900"),
        id="btse-rejected-with-fills",
    ),
    pytest.param(
        "bybit",
        by_order("S1", status="Rejected", cum=10),
        ("rejected", "Rejected", "10", "100"),
        id="bybit-rejected-with-fills",
    ),
    pytest.param(
        "clearstreet",
        cs_up(1, "S1", version=2, status="rejected", filled="10", reason="reject"),
        ("rejected", "rejected", "10", "100"),
        id="clearstreet-rejected-with-fills",
    ),
    pytest.param(
        "btse",
        btse_frame(btse_item("S1", status=5, total=0, filled=0)),
        ("partially_filled", "5", "0", "900"),
        id="btse-partial-fill-with-nothing-filled",
    ),
    pytest.param(
        "bybit",
        by_order("S1", status="PartiallyFilled", cum=0),
        ("partially_filled", "PartiallyFilled", "0", "100"),
        id="bybit-partially-filled-with-nothing-filled",
    ),
    pytest.param(
        "clearstreet",
        cs_up(1, "S1", version=2, status="partially-filled", filled="0"),
        ("partially_filled", "partially-filled", "0", "100"),
        id="clearstreet-partially-filled-with-nothing-filled",
    ),
]


@pytest.mark.parametrize(("venue", "frame", "numbers"), STATUS_FILL_FAULTS)
def test_status_contradicts_quantities(
    venue: str, frame: str, numbers: tuple[str, str, str, str]
) -> None:
    """A status that contradicts the reported quantities is STATUS_FILL_MISMATCH."""
    run = Run()
    run.feed(venue, frame)
    alert = one(run, AlertCode.STATUS_FILL_MISMATCH)
    assert (alert.order_id, alert.severity, alert.venue) == ("S1", Severity.CRITICAL, venue)
    evidence = alert.evidence
    got = (evidence["status"], evidence["raw_status"], evidence["filled"], evidence["quantity"])
    assert got == numbers


def test_full_lifecycles_with_consistent_statuses_are_benign() -> None:
    """Partial fills under a partial status, then complete fills, raise nothing anywhere."""
    run = Run()
    run.feed("tread", tread_frame(tread_order("T1", executed="0.4", updated_at=tread_at(1))))
    run.feed(
        "tread",
        tread_frame(tread_order("T1", executed="1", status="COMPLETE", updated_at=tread_at(2))),
    )
    run.feed("btse", btse_frame(btse_item("B1", status=5, total=300, filled=300, ts=1000)))
    run.feed("btse", btse_frame(btse_item("B1", status=4, total=900, filled=600, ts=2000)))
    run.feed("bybit", by_exec("E1", "Y1", 40, leaves=60))
    run.feed("bybit", by_order("Y1", status="PartiallyFilled", cum=40))
    run.feed("bybit", by_exec("E2", "Y1", 60))
    run.feed("bybit", by_order("Y1", status="Filled", cum=100))
    run.feed("clearstreet", cs_tr(1, "X1", "C1", "40"))
    run.feed("clearstreet", cs_up(2, "C1", version=2, status="partially-filled", filled="40"))
    run.feed("clearstreet", cs_tr(3, "X2", "C1", "60"))
    run.feed("clearstreet", cs_up(4, "C1", version=3, status="filled", filled="100"))
    assert run.alerts == []
    quiet(run)
