"""Fills against cumulative quantities: FILL_GAP, EXECUTION_ORDER_MISMATCH, fill-id conflicts.

BTSE order reports carry their own fill (``filledSize``), so every stretch of
``totalFilledSize`` must be explained by some report's ``filledSize`` (FILL_GAP). Bybit
and Clear Street stream executions separately, so their sum must meet the reported
cumulative within the settle window (EXECUTION_ORDER_MISMATCH). Tread.fi reports no
fills at all. Every fault test has a benign neighbour that must stay silent.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from builders import (
    Run,
    btse_frame,
    btse_item,
    bybit_exec,
    bybit_frame,
    bybit_order,
    cs_frame,
    cs_order,
    cs_trade,
    one,
    tread_frame,
    tread_order,
)

from reconciler import AlertCode, Severity

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SETTLE = 5.0
D100 = Decimal(100)
EXEC_VENUES = ("bybit", "clearstreet")


def infos_only(run: Run) -> None:
    """Benign traffic: nothing above info."""
    assert run.serious() == [], run.serious()


# -- BTSE: FILL_GAP ------------------------------------------------------------------


def btse_fill(order_id: str, *, total: int, filled: int, ts: int, status: int = 5) -> str:
    """A BTSE report of a fill of ``filled`` that brings the cumulative to ``total``."""
    return btse_frame(btse_item(order_id, status=status, total=total, filled=filled, ts=ts))


def btse_inserted(run: Run, order_id: str = "o1") -> None:
    run.feed("btse", btse_frame(btse_item(order_id, ts=1_000)))


def test_btse_lost_fill_update_raises_fill_gap() -> None:
    """totalFilledSize 300 -> 700 with filledSize 200: the 300-500 fill report was lost."""
    run = Run()
    btse_inserted(run)
    run.feed("btse", btse_fill("o1", total=300, filled=300, ts=2_000))
    run.feed("btse", btse_fill("o1", total=700, filled=200, ts=4_000))
    proving_t = run.t
    run.wait(30)
    alert = one(run, AlertCode.FILL_GAP)
    assert alert.severity is Severity.WARNING
    assert (alert.venue, alert.account, alert.order_id) == ("btse", "main", "o1")
    assert alert.t == proving_t + SETTLE
    assert alert.evidence["reported_filled"] == "700"
    assert alert.evidence["missing_quantity"] == "200"
    assert alert.evidence["unreported_ranges"] == "300-500"
    assert [a.code for a in run.serious()] == [AlertCode.FILL_GAP]


def test_btse_fill_gap_waits_for_the_settle_window() -> None:
    """FILL_GAP is not raised before the settle window of the proving report has passed."""
    run = Run()
    btse_inserted(run)
    run.feed("btse", btse_fill("o1", total=700, filled=200, ts=4_000))
    assert run.wait(SETTLE - 0.1) == []
    fired = run.wait(0.2)
    assert [a.code for a in fired] == [AlertCode.FILL_GAP]
    assert fired[0].evidence["unreported_ranges"] == "0-500"


def test_btse_fill_gap_on_a_terminal_jump() -> None:
    """FULLY_MATCHED at 900 whose own filledSize is 400, after nothing was filled: 500 lost."""
    run = Run()
    btse_inserted(run)
    run.feed("btse", btse_fill("o1", total=900, filled=400, ts=5_000, status=4))
    run.wait(30)
    alert = one(run, AlertCode.FILL_GAP)
    assert alert.order_id == "o1"
    assert alert.evidence["reported_filled"] == "900"
    assert alert.evidence["missing_quantity"] == "500"
    assert alert.evidence["unreported_ranges"] == "0-500"


def test_btse_fill_gap_is_not_repeated_by_later_complete_reports() -> None:
    """One lost report is one FILL_GAP, however many correct fills follow it."""
    run = Run()
    btse_inserted(run)
    run.feed("btse", btse_fill("o1", total=300, filled=100, ts=2_000))
    run.wait(30)
    run.feed("btse", btse_fill("o1", total=500, filled=200, ts=3_000))
    run.feed("btse", btse_fill("o1", total=900, filled=400, ts=4_000, status=4))
    run.wait(30)
    alert = one(run, AlertCode.FILL_GAP)
    assert alert.evidence["missing_quantity"] == "200"
    assert alert.evidence["unreported_ranges"] == "0-200"


def test_btse_second_loss_after_a_late_explained_gap_is_reported() -> None:
    """0-300 looked lost but its report came late; later 500-700 is really lost."""
    run = Run()
    btse_inserted(run)
    run.feed("btse", btse_fill("o1", total=500, filled=200, ts=3_000))
    run.wait(30)
    run.feed("btse", btse_fill("o1", total=300, filled=300, ts=2_000))
    run.feed("btse", btse_fill("o1", total=800, filled=100, ts=5_000))
    run.wait(30)
    gaps = run.of(AlertCode.FILL_GAP)
    assert [g.evidence["unreported_ranges"] for g in gaps] == ["0-300", "500-700"]
    assert gaps[1].evidence["missing_quantity"] == "200"


def test_btse_updates_reordered_in_transit_are_explained_by_timestamp() -> None:
    """The 300 report arriving after the 500 one (older timestamp) explains the cumulative."""
    run = Run()
    btse_inserted(run)
    run.feed("btse", btse_fill("o1", total=500, filled=200, ts=3_000))
    run.feed("btse", btse_fill("o1", total=300, filled=300, ts=2_000))
    run.wait(30)
    infos_only(run)
    assert run.of(AlertCode.FILL_GAP) == []
    state = run.rec.order("btse", "o1")
    assert state is not None
    assert state.filled == Decimal(500)


def test_btse_fill_report_arriving_late_within_the_window_is_silent() -> None:
    """The missing 300-500 report arrives 4 s after the 700 one: no fill was lost."""
    run = Run()
    btse_inserted(run)
    run.feed("btse", btse_fill("o1", total=300, filled=300, ts=2_000))
    run.feed("btse", btse_fill("o1", total=700, filled=200, ts=4_000))
    run.feed("btse", btse_fill("o1", total=500, filled=200, ts=3_000), dt=SETTLE - 1)
    run.wait(30)
    infos_only(run)
    assert run.of(AlertCode.FILL_GAP) == []


def test_btse_every_fill_reported_then_cancel_is_silent() -> None:
    """Partial fills that each carry their own size, then a cancel with filledSize 0."""
    run = Run()
    btse_inserted(run)
    run.feed("btse", btse_fill("o1", total=100, filled=100, ts=2_000))
    run.feed("btse", btse_fill("o1", total=350, filled=250, ts=3_000))
    run.feed("btse", btse_fill("o1", total=350, filled=0, ts=4_000, status=6))
    run.wait(30)
    infos_only(run)


def test_btse_identical_fill_report_resent_is_dropped_without_gap() -> None:
    """A re-sent identical fill report is counted as a duplicate, not as another fill."""
    run = Run()
    btse_inserted(run)
    frame = btse_fill("o1", total=300, filled=300, ts=2_000)
    run.feed("btse", frame)
    run.feed("btse", frame)
    run.wait(30)
    assert run.alerts == []
    assert run.rec.stats()["duplicates.order"] == 1


def test_btse_seed_fully_matched_example_has_no_fill_gap() -> None:
    """The seed's FULLY_MATCHED example (900 filled, filledSize 900) is consistent."""
    run = Run()
    run.feed("btse", (FIXTURES / "btse" / "notification_fully_matched.json").read_text())
    run.wait(30)
    assert run.alerts == []


def test_tread_fill_progress_is_never_a_fill_gap() -> None:
    """Tread.fi reports no individual fills: a jump of executed quantity proves nothing lost."""
    run = Run()
    run.feed("tread", tread_frame(tread_order("t1", executed="0"), "order_activated"))
    run.feed("tread", tread_frame(tread_order("t1", executed="0.5")))
    run.feed("tread", tread_frame(tread_order("t1", executed="1", status="COMPLETE")))
    run.wait(30)
    infos_only(run)
    assert run.of(AlertCode.FILL_GAP) == run.of(AlertCode.EXECUTION_ORDER_MISMATCH) == []


# -- Bybit and Clear Street: executions against the reported cumulative ---------------


class Venue:
    """Order-report and execution frames of one execution-streaming venue.

    Clear Street frames are sequenced (one number per message) and each order report
    carries the next ``version``; Bybit has neither.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.seq = 0
        self.versions: dict[str, int] = {}

    def _next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def order(self, order_id: str, filled: int, *, qty: int = 100) -> str:
        """The order's report with cumulative ``filled`` (status from the quantities)."""
        if self.name == "bybit":
            status = "New" if filled == 0 else "Filled" if filled == qty else "PartiallyFilled"
            item = bybit_order(order_id, status=status, qty=qty, cum=filled)
            return bybit_frame("order", item)
        version = self.versions.get(order_id, 0) + 1
        self.versions[order_id] = version
        cs_status = "new" if filled == 0 else "filled" if filled == qty else "partially-filled"
        data = cs_order(
            order_id, version=version, status=cs_status, quantity=str(qty), filled=str(filled)
        )
        return cs_frame("order-update", data, seq=self._next_seq())

    def execution(
        self, exec_id: str, order_id: str, qty: int, *, price: str = "171.25", leaves: int = 0
    ) -> str:
        """One execution (Bybit ``execution``, Clear Street ``trade-notice``)."""
        if self.name == "bybit":
            item = bybit_exec(exec_id, order_id, qty=qty, price=price, leaves=leaves)
            return bybit_frame("execution", item)
        trade = cs_trade(exec_id, order_id, quantity=str(qty), price=price)
        return cs_frame("trade-notice", trade, seq=self._next_seq())


@pytest.fixture(params=EXEC_VENUES)
def venue(request: pytest.FixtureRequest) -> Venue:
    return Venue(str(request.param))


def test_lost_execution_raises_mismatch_missing(venue: Venue) -> None:
    """The venue reports 60 filled but only a 40 execution ever arrives."""
    run = Run()
    run.feed(venue.name, venue.order("X1", 60))
    proving_t = run.t
    run.feed(venue.name, venue.execution("E1", "X1", 40))
    run.wait(30)
    alert = one(run, AlertCode.EXECUTION_ORDER_MISMATCH)
    assert alert.severity is Severity.CRITICAL
    assert (alert.venue, alert.order_id) == (venue.name, "X1")
    assert alert.t == proving_t + SETTLE
    assert alert.evidence["direction"] == "missing"
    assert alert.evidence["reported_filled"] == "60"
    assert alert.evidence["executions_sum"] == "40"
    assert alert.evidence["difference"] == "20"


def test_executions_beyond_reported_cumulative_raise_mismatch_excess(venue: Venue) -> None:
    """Executions of 40 + 40 while the venue's cumulative stays at 40."""
    run = Run()
    run.feed(venue.name, venue.execution("E1", "X1", 40))
    run.feed(venue.name, venue.order("X1", 40))
    run.feed(venue.name, venue.execution("E2", "X1", 40))
    run.wait(30)
    alert = one(run, AlertCode.EXECUTION_ORDER_MISMATCH)
    assert alert.order_id == "X1"
    assert alert.evidence["direction"] == "excess"
    assert alert.evidence["reported_filled"] == "40"
    assert alert.evidence["executions_sum"] == "80"
    assert alert.evidence["difference"] == "40"


def test_executions_for_an_order_never_reported_raise_mismatch(venue: Venue) -> None:
    """An execution arrives for an order id the venue never reports."""
    run = Run()
    run.feed(venue.name, venue.execution("E9", "GHOST", 25))
    proving_t = run.t
    run.wait(30)
    alert = one(run, AlertCode.EXECUTION_ORDER_MISMATCH)
    assert alert.severity is Severity.CRITICAL
    assert alert.order_id == "GHOST"
    assert alert.t == proving_t + SETTLE
    assert alert.evidence["reported_filled"] == "null"
    assert alert.evidence["executions_sum"] == "25"
    assert alert.evidence["fill_ids"] == "E9"


def test_lost_execution_is_reported_once_while_later_fills_arrive(venue: Venue) -> None:
    """The 30 lost between 40 and 70 is one alert, not one per later matched fill."""
    run = Run()
    run.feed(venue.name, venue.order("X1", 0))
    run.feed(venue.name, venue.execution("E1", "X1", 40))
    run.feed(venue.name, venue.order("X1", 40))
    run.feed(venue.name, venue.order("X1", 70))
    run.wait(30)
    run.feed(venue.name, venue.execution("E3", "X1", 30))
    run.feed(venue.name, venue.order("X1", 100))
    run.wait(30)
    alert = one(run, AlertCode.EXECUTION_ORDER_MISMATCH)
    assert alert.evidence["direction"] == "missing"
    assert alert.evidence["difference"] == "30"


@pytest.mark.xfail(
    strict=True,
    reason="known limitation: execution sums cannot attribute a late execution to the loss "
    "it explains rather than to a later fill, so one loss stays one alert (see the test "
    "above) at the price of not seeing a second loss of no greater size",
)
def test_second_lost_execution_after_a_late_one_is_reported(venue: Venue) -> None:
    """E1 (30) arrives after the window; later the execution for 30-60 is really lost."""
    run = Run()
    run.feed(venue.name, venue.order("X1", 30))
    run.wait(30)
    run.feed(venue.name, venue.execution("E1", "X1", 30, leaves=70))
    run.wait(30)
    run.feed(venue.name, venue.order("X1", 60))
    run.wait(30)
    missing = run.of(AlertCode.EXECUTION_ORDER_MISMATCH)
    assert [(a.evidence["reported_filled"], a.evidence["difference"]) for a in missing] == [
        ("30", "30"),
        ("60", "30"),
    ]


def test_execution_before_its_order_report_within_window_is_silent(venue: Venue) -> None:
    """Venues send related messages in any order: the execution may come first."""
    run = Run()
    run.feed(venue.name, venue.execution("E1", "X1", 40))
    run.feed(venue.name, venue.order("X1", 40), dt=SETTLE - 1)
    run.wait(30)
    infos_only(run)


def test_execution_after_its_order_report_within_window_is_silent(venue: Venue) -> None:
    """The order report may come first; the execution follows 4 s later."""
    run = Run()
    run.feed(venue.name, venue.order("X1", 40))
    run.feed(venue.name, venue.execution("E1", "X1", 40), dt=SETTLE - 1)
    run.wait(30)
    infos_only(run)


def test_full_lifecycle_with_matching_executions_is_silent(venue: Venue) -> None:
    """New -> two partial fills -> filled, each fill streamed as an execution."""
    run = Run()
    run.feed(venue.name, venue.order("X1", 0))
    run.feed(venue.name, venue.execution("E1", "X1", 30, leaves=70))
    run.feed(venue.name, venue.order("X1", 30))
    run.feed(venue.name, venue.order("X1", 100))
    run.feed(venue.name, venue.execution("E2", "X1", 70))
    run.wait(30)
    infos_only(run)
    state = run.rec.order(venue.name, "X1")
    assert state is not None
    assert (state.filled, state.executions_filled, state.executions) == (D100, D100, 2)


def test_bybit_seed_order_and_execution_pair_is_silent() -> None:
    """The seed's order (cum_exec_qty 1) and its execution (exec_qty 1) agree."""
    run = Run()
    run.feed("bybit", (FIXTURES / "bybit" / "order.json").read_text())
    run.feed("bybit", (FIXTURES / "bybit" / "execution.json").read_text())
    run.wait(30)
    infos_only(run)


def test_bybit_seed_execution_before_its_order_is_silent() -> None:
    """The seed pair in the other order (the execution is time-stamped first)."""
    run = Run()
    run.feed("bybit", (FIXTURES / "bybit" / "execution.json").read_text())
    run.feed("bybit", (FIXTURES / "bybit" / "order.json").read_text())
    run.wait(30)
    infos_only(run)


# -- DUPLICATE_CONFLICT on execution ids ----------------------------------------------


def test_execution_id_resent_with_other_quantity_is_a_conflict(venue: Venue) -> None:
    """The same execution id with 50 instead of 40: the first version is kept."""
    run = Run()
    run.feed(venue.name, venue.order("X1", 40))
    run.feed(venue.name, venue.execution("E1", "X1", 40))
    run.feed(venue.name, venue.execution("E1", "X1", 50))
    alert = one(run, AlertCode.DUPLICATE_CONFLICT)
    assert alert.severity is Severity.CRITICAL
    assert (alert.venue, alert.order_id) == (venue.name, "X1")
    assert alert.t == run.t
    assert alert.evidence["fill_id"] == "E1"
    assert alert.evidence["first_quantity"] == "40"
    assert alert.evidence["new_quantity"] == "50"
    run.wait(30)
    state = run.rec.order(venue.name, "X1")
    assert state is not None
    assert (state.executions_filled, state.executions) == (Decimal(40), 1)
    assert run.of(AlertCode.EXECUTION_ORDER_MISMATCH) == []


def test_execution_id_resent_with_other_price_is_a_conflict(venue: Venue) -> None:
    """Same id and quantity, another price."""
    run = Run()
    run.feed(venue.name, venue.order("X1", 40))
    run.feed(venue.name, venue.execution("E1", "X1", 40, price="171.25"))
    run.feed(venue.name, venue.execution("E1", "X1", 40, price="172.5"))
    alert = one(run, AlertCode.DUPLICATE_CONFLICT)
    assert alert.evidence["first_price"] == "171.25"
    assert alert.evidence["new_price"] == "172.5"


def test_execution_id_resent_for_another_order_is_a_conflict(venue: Venue) -> None:
    """One execution id cannot belong to two orders."""
    run = Run()
    run.feed(venue.name, venue.order("X1", 40))
    run.feed(venue.name, venue.order("X2", 0))
    run.feed(venue.name, venue.execution("E1", "X1", 40))
    run.feed(venue.name, venue.execution("E1", "X2", 40))
    alert = one(run, AlertCode.DUPLICATE_CONFLICT)
    assert alert.evidence["first_order_id"] == "X1"
    assert alert.evidence["new_order_id"] == "X2"


def test_identical_execution_resent_is_dropped_and_counted(venue: Venue) -> None:
    """An identical re-send changes nothing: no alert, counted in stats()."""
    run = Run()
    run.feed(venue.name, venue.order("X1", 40))
    run.feed(venue.name, venue.execution("E1", "X1", 40))
    run.feed(venue.name, venue.execution("E1", "X1", 40))
    run.wait(30)
    assert run.serious() == []
    assert run.of(AlertCode.DUPLICATE_CONFLICT) == []
    assert run.rec.stats()["duplicates.fill"] == 1
    state = run.rec.order(venue.name, "X1")
    assert state is not None
    assert (state.executions_filled, state.executions) == (Decimal(40), 1)


def test_bybit_execution_resent_with_other_number_formatting_is_identical() -> None:
    """exec_qty 40 vs "40" and price "30000" vs "30000.0" are the same execution."""
    run = Run()
    run.feed("bybit", bybit_frame("order", bybit_order("X1", status="PartiallyFilled", cum=40)))
    run.feed("bybit", bybit_frame("execution", bybit_exec("E1", "X1", qty=40, price="30000")))
    resent = bybit_exec("E1", "X1", qty=40, price="30000.0", exec_qty="40")
    run.feed("bybit", bybit_frame("execution", resent))
    run.wait(30)
    assert run.serious() == []
    assert run.rec.stats()["duplicates.fill"] == 1


def test_seed_bybit_execution_resent_identically_is_dropped() -> None:
    """The seed's execution message delivered twice counts once."""
    run = Run()
    execution = (FIXTURES / "bybit" / "execution.json").read_text()
    run.feed("bybit", (FIXTURES / "bybit" / "order.json").read_text())
    run.feed("bybit", execution)
    run.feed("bybit", json.dumps(json.loads(execution)))
    run.wait(30)
    infos_only(run)
    assert run.rec.stats()["duplicates.fill"] == 1
