"""Lifecycle alerts: ILLEGAL_TRANSITION, FILL_AFTER_TERMINAL, UNKNOWN_STATUS and
ORDER_REJECTED on every venue that can exhibit them, and BTSE's seven status codes
driving an order through its canonical lifecycle.

Each fault has a benign neighbour that must stay silent: a reorder the ordering key
explains, a fill racing a cancel, a cancel-reject, a pause and resume, an execution that
arrives after the terminal report already counting it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from builders import (
    Run,
    btse_frame,
    btse_item,
    by_exec,
    by_order,
    bybit_frame,
    cs_tr,
    cs_up,
    one,
    quiet,
    tread_at,
    tread_frame,
    tread_order,
)

from reconciler import AlertCode, Severity
from reconciler.lifecycle import Status


def tr(order_id: str, second: int, **fields: Any) -> str:
    """A Tread.fi single-order frame updated ``second`` seconds after the default."""
    return tread_frame(tread_order(order_id, updated_at=tread_at(second), **fields))


def bt(order_id: str, status: int, ts: int, **fields: Any) -> str:
    """A BTSE notification with one element."""
    return btse_frame(btse_item(order_id, status=status, ts=ts, **fields))


def by_stop(order_id: str, status: str, **fields: Any) -> str:
    """A Bybit ``stop_order`` frame with one conditional order."""
    item: dict[str, Any] = {
        "order_id": order_id,
        "order_link_id": "",
        "user_id": 1,
        "symbol": "BTCUSD",
        "side": "Buy",
        "order_type": "Limit",
        "price": "8584.5",
        "qty": 1,
        "time_in_force": "ImmediateOrCancel",
        "order_status": status,
        "stop_order_type": "Stop",
        "trigger_by": "LastPrice",
        "trigger_price": "8584.5",
        "close_on_trigger": False,
        "timestamp": "2020-01-14T14:11:22.062Z",
    }
    item.update(fields)
    return bybit_frame("stop_order", item)


def feed_all(run: Run, venue: str, frames: list[str]) -> None:
    """Feed ``frames`` from ``venue`` one second apart."""
    for frame in frames:
        run.feed(venue, frame)


def status_of(run: Run, venue: str, order_id: str) -> Status | None:
    """The canonical status the reconciler holds for an order."""
    state = run.rec.order(venue, order_id)
    assert state is not None
    return state.status


# -- ILLEGAL_TRANSITION --------------------------------------------------------------

ILLEGAL = [
    # terminal -> open
    pytest.param(
        "tread",
        [tr("O1", 1, status="CANCELED"), tr("O1", 2)],
        ("canceled", "accepted"),
        id="tread-canceled-to-active",
    ),
    pytest.param(
        "btse",
        [bt("O1", 6, 1000), bt("O1", 2, 2000)],
        ("canceled", "accepted"),
        id="btse-cancelled-to-inserted",
    ),
    pytest.param(
        "bybit",
        [by_order("O1", status="Cancelled"), by_order("O1")],
        ("canceled", "accepted"),
        id="bybit-cancelled-to-new",
    ),
    pytest.param(
        "clearstreet",
        [cs_up(1, "O1", version=2, status="canceled"), cs_up(2, "O1", version=3)],
        ("canceled", "accepted"),
        id="clearstreet-canceled-to-new",
    ),
    # filled -> canceled
    pytest.param(
        "tread",
        [
            tr("O1", 1, status="COMPLETE", executed="1"),
            tr("O1", 2, status="CANCELED", executed="1"),
        ],
        ("filled", "canceled"),
        id="tread-complete-to-canceled",
    ),
    pytest.param(
        "btse",
        [bt("O1", 4, 1000, total=900, filled=900), bt("O1", 6, 2000, total=900)],
        ("filled", "canceled"),
        id="btse-matched-to-cancelled",
    ),
    pytest.param(
        "bybit",
        [by_order("O1", status="Filled", cum=100), by_order("O1", status="Cancelled", cum=100)],
        ("filled", "canceled"),
        id="bybit-filled-to-cancelled",
    ),
    pytest.param(
        "clearstreet",
        [
            cs_up(1, "O1", version=2, status="filled", filled="100"),
            cs_up(2, "O1", version=3, status="canceled", filled="100"),
        ],
        ("filled", "canceled"),
        id="clearstreet-filled-to-canceled",
    ),
    # canceled -> filled without new fill quantity
    pytest.param(
        "tread",
        [
            tr("O1", 1, status="CANCELED", executed="0.5"),
            tr("O1", 2, status="COMPLETE", executed="0.5"),
        ],
        ("canceled", "filled"),
        id="tread-canceled-to-complete",
    ),
    pytest.param(
        "btse",
        [bt("O1", 6, 1000, total=300), bt("O1", 4, 2000, total=300)],
        ("canceled", "filled"),
        id="btse-cancelled-to-matched",
    ),
    pytest.param(
        "bybit",
        [by_order("O1", status="Cancelled", cum=30), by_order("O1", status="Filled", cum=30)],
        ("canceled", "filled"),
        id="bybit-cancelled-to-filled",
    ),
    pytest.param(
        "clearstreet",
        [
            cs_up(1, "O1", version=2, status="canceled", filled="30"),
            cs_up(2, "O1", version=3, status="filled", filled="30"),
        ],
        ("canceled", "filled"),
        id="clearstreet-canceled-to-filled",
    ),
    # rejected -> anything, and backwards moves inside the open states
    pytest.param(
        "clearstreet",
        [
            cs_up(1, "O1", version=1, status="rejected"),
            cs_up(2, "O1", version=2, status="canceled"),
        ],
        ("rejected", "canceled"),
        id="clearstreet-rejected-to-canceled",
    ),
    pytest.param(
        "btse",
        [bt("O1", 10, 1000), bt("O1", 9, 2000)],
        ("triggered", "untriggered"),
        id="btse-activated-to-trigger-inserted",
    ),
    pytest.param(
        "bybit",
        [by_order("O1"), by_order("O1", status="Created")],
        ("accepted", "pending"),
        id="bybit-new-to-created",
    ),
    pytest.param(
        "clearstreet",
        [cs_up(1, "O1", version=2), cs_up(2, "O1", version=3, status="pending-new")],
        ("accepted", "pending"),
        id="clearstreet-new-to-pending-new",
    ),
    pytest.param(
        "tread",
        [tr("O1", 1), tr("O1", 2, status="SCHEDULED")],
        ("accepted", "pending"),
        id="tread-active-to-scheduled",
    ),
]


@pytest.mark.parametrize(("venue", "frames", "change"), ILLEGAL)
def test_illegal_transition(venue: str, frames: list[str], change: tuple[str, str]) -> None:
    """A status change the table forbids, without new fill, is ILLEGAL_TRANSITION; the
    old status is kept."""
    run = Run()
    feed_all(run, venue, frames)
    alert = one(run, AlertCode.ILLEGAL_TRANSITION)
    assert (alert.order_id, alert.severity, alert.venue) == ("O1", Severity.WARNING, venue)
    assert (alert.evidence["from_status"], alert.evidence["to_status"]) == change
    assert status_of(run, venue, "O1") == Status(change[0])


REORDERED_CANCELS = [
    pytest.param("tread", [tr("O1", 1), tr("O1", 3, status="CANCELED"), tr("O1", 2)], id="tread"),
    pytest.param(
        "btse", [bt("O1", 2, 1000), bt("O1", 6, 3000), bt("O1", 2, 2000, price="111000")], id="btse"
    ),
    pytest.param(
        "clearstreet",
        [
            cs_up(1, "O1", version=1),
            cs_up(3, "O1", version=3, status="canceled"),
            cs_up(2, "O1", version=2, reason="cancel-reject"),
        ],
        id="clearstreet",
    ),
]


@pytest.mark.parametrize(("venue", "frames"), REORDERED_CANCELS)
def test_open_report_older_than_the_cancel_is_not_illegal(venue: str, frames: list[str]) -> None:
    """An open report older (by the ordering key) than the cancel is OUT_OF_ORDER only."""
    run = Run()
    feed_all(run, venue, frames)
    assert [a.code for a in run.alerts] == [AlertCode.OUT_OF_ORDER]
    assert status_of(run, venue, "O1") is Status.CANCELED
    quiet(run)


def test_bybit_fill_racing_a_cancel_is_benign() -> None:
    """Bybit: New -> PendingCancel -> a fill -> Cancelled with leaves 0 raises nothing."""
    run = Run()
    run.feed("bybit", by_order("Y1"))
    run.feed("bybit", by_order("Y1", status="PendingCancel"))
    run.feed("bybit", by_exec("E1", "Y1", 30, leaves=70))
    run.feed("bybit", by_order("Y1", status="PartiallyFilled", cum=30))
    run.feed("bybit", by_order("Y1", status="Cancelled", cum=30))
    run.feed("bybit", by_order("Y1", status="Cancelled", cum=30))  # identical re-send
    assert run.alerts == []
    assert status_of(run, "bybit", "Y1") is Status.CANCELED
    quiet(run)


def test_clearstreet_cancel_reject_back_to_new_is_benign() -> None:
    """Clear Street: pending-cancel, a cancel-reject back to new, then filled is legal."""
    run = Run()
    run.feed("clearstreet", cs_up(1, "C1", version=1, status="pending-new", reason="place"))
    run.feed("clearstreet", cs_up(2, "C1", version=2, reason="place"))
    run.feed("clearstreet", cs_up(3, "C1", version=3, status="pending-cancel", reason="cancel"))
    run.feed("clearstreet", cs_up(4, "C1", version=4, reason="cancel-reject"))
    run.feed("clearstreet", cs_tr(5, "X1", "C1", "100"))
    run.feed("clearstreet", cs_up(6, "C1", version=5, status="filled", filled="100"))
    assert run.alerts == []
    assert status_of(run, "clearstreet", "C1") is Status.FILLED
    quiet(run)


def test_tread_pause_and_resume_is_benign() -> None:
    """Tread.fi: ACTIVE -> PAUSED -> ACTIVE -> COMPLETE raises nothing."""
    run = Run()
    feed_all(
        run,
        "tread",
        [
            tr("T1", 1, executed="0.2"),
            tr("T1", 2, executed="0.2", status="PAUSED"),
            tr("T1", 3, executed="0.2"),
            tr("T1", 4, executed="1", status="COMPLETE"),
        ],
    )
    assert run.alerts == []
    assert status_of(run, "tread", "T1") is Status.FILLED
    quiet(run)


# -- FILL_AFTER_TERMINAL -------------------------------------------------------------

LATE_FILL_REPORTS = [
    pytest.param(
        "tread",
        [
            tr("O1", 1, status="CANCELED", executed="0.5"),
            tr("O1", 2, status="CANCELED", executed="0.6"),
        ],
        ("0.5", "0.6"),
        id="tread",
    ),
    pytest.param(
        "btse",
        [bt("O1", 6, 1000, total=300, filled=300), bt("O1", 5, 2000, total=400, filled=100)],
        ("300", "400"),
        id="btse",
    ),
    pytest.param(
        "bybit",
        [
            by_order("O1", status="Cancelled", cum=30),
            by_order("O1", status="PartiallyFilled", cum=40),
        ],
        ("30", "40"),
        id="bybit",
    ),
    pytest.param(
        "clearstreet",
        [
            cs_up(1, "O1", version=3, status="canceled", filled="30"),
            cs_up(2, "O1", version=4, status="partially-filled", filled="40"),
        ],
        ("30", "40"),
        id="clearstreet",
    ),
]


@pytest.mark.parametrize(("venue", "frames", "fills"), LATE_FILL_REPORTS)
def test_fill_after_terminal_by_order_report(
    venue: str, frames: list[str], fills: tuple[str, str]
) -> None:
    """A report with more fill on a canceled order is FILL_AFTER_TERMINAL; it is recorded."""
    run = Run()
    feed_all(run, venue, frames)
    alert = one(run, AlertCode.FILL_AFTER_TERMINAL)
    assert (alert.order_id, alert.severity, alert.venue) == ("O1", Severity.CRITICAL, venue)
    assert alert.evidence["terminal_status"] == "canceled"
    assert (alert.evidence["previous_filled"], alert.evidence["new_filled"]) == fills
    assert run.of(AlertCode.ILLEGAL_TRANSITION) == []
    state = run.rec.order(venue, "O1")
    assert state is not None
    assert state.filled == Decimal(fills[1])
    assert state.terminal


def test_fill_after_terminal_into_filled_is_not_an_illegal_transition() -> None:
    """Bybit: Cancelled (30) then Filled (100) is a late fill, not an illegal transition."""
    run = Run()
    run.feed("bybit", by_order("Y1", status="Cancelled", cum=30))
    run.feed("bybit", by_order("Y1", status="Filled", cum=100))
    alert = one(run, AlertCode.FILL_AFTER_TERMINAL)
    assert (alert.evidence["previous_filled"], alert.evidence["new_filled"]) == ("30", "100")
    assert run.of(AlertCode.ILLEGAL_TRANSITION) == []
    state = run.rec.order("bybit", "Y1")
    assert state is not None
    assert state.filled == 100


def test_bybit_fill_after_terminal_by_execution() -> None:
    """Bybit: an execution beyond the cumulative of a cancelled order is FILL_AFTER_TERMINAL."""
    run = Run()
    run.feed("bybit", by_order("Y1"))
    run.feed("bybit", by_exec("E1", "Y1", 30, leaves=70))
    run.feed("bybit", by_order("Y1", status="PartiallyFilled", cum=30))
    run.feed("bybit", by_order("Y1", status="Cancelled", cum=30))
    run.feed("bybit", by_exec("E2", "Y1", 10, leaves=60))
    alert = one(run, AlertCode.FILL_AFTER_TERMINAL)
    assert (alert.order_id, alert.severity) == ("Y1", Severity.CRITICAL)
    assert (alert.evidence["reported_filled"], alert.evidence["executions_sum"]) == ("30", "40")
    assert alert.evidence["fill_id"] == "E2"
    assert alert.evidence["terminal_status"] == "canceled"


def test_clearstreet_fill_after_terminal_by_trade() -> None:
    """Clear Street: a trade beyond the filled quantity of a canceled order."""
    run = Run()
    run.feed("clearstreet", cs_up(1, "C1", version=1))
    run.feed("clearstreet", cs_tr(2, "X1", "C1", "30"))
    run.feed("clearstreet", cs_up(3, "C1", version=2, status="partially-filled", filled="30"))
    run.feed("clearstreet", cs_up(4, "C1", version=3, status="canceled", filled="30"))
    run.feed("clearstreet", cs_tr(5, "X2", "C1", "10"))
    alert = one(run, AlertCode.FILL_AFTER_TERMINAL)
    assert (alert.order_id, alert.severity) == ("C1", Severity.CRITICAL)
    assert (alert.evidence["reported_filled"], alert.evidence["executions_sum"]) == ("30", "40")
    assert alert.evidence["fill_id"] == "X2"


def test_bybit_execution_after_the_filled_report_is_benign() -> None:
    """Bybit: the execution arriving after the Filled report that counts it is no late fill."""
    run = Run()
    run.feed("bybit", by_order("Y1"))
    run.feed("bybit", by_order("Y1", status="Filled", cum=100))
    run.feed("bybit", by_exec("E1", "Y1", 100))
    run.feed("bybit", by_exec("E1", "Y1", 100))  # re-sent
    assert run.alerts == []
    quiet(run)


def test_clearstreet_trade_after_the_cancel_that_counts_it_is_benign() -> None:
    """Clear Street: a trade arriving after the cancel report already counting it."""
    run = Run()
    run.feed("clearstreet", cs_up(1, "C1", version=1))
    run.feed("clearstreet", cs_up(2, "C1", version=2, status="partially-filled", filled="30"))
    run.feed("clearstreet", cs_up(3, "C1", version=3, status="canceled", filled="30"))
    run.feed("clearstreet", cs_tr(4, "X1", "C1", "30"))
    assert run.alerts == []
    quiet(run)


# -- UNKNOWN_STATUS ------------------------------------------------------------------

UNKNOWN = [
    pytest.param(
        "tread",
        [tr("U1", 1), tr("U1", 2, status="FAILED", executed="0.4")],
        "FAILED",
        "0.4",
        id="tread",
    ),
    pytest.param(
        "btse",
        [bt("U1", 2, 1000), bt("U1", 7, 2000, total=300, filled=300)],
        "7",
        "300",
        id="btse-7",
    ),
    pytest.param(
        "btse",
        [bt("U1", 2, 1000), bt("U1", 99, 2000, total=300, filled=300)],
        "99",
        "300",
        id="btse-99",
    ),
    pytest.param(
        "bybit",
        [by_order("U1"), by_order("U1", status="PartiallyFilledCanceled", cum=30, leaves=0)],
        "PartiallyFilledCanceled",
        "30",
        id="bybit",
    ),
    pytest.param(
        "clearstreet",
        [cs_up(1, "U1", version=1), cs_up(2, "U1", version=2, status="Filled", filled="100")],
        "Filled",
        "100",
        id="clearstreet",
    ),
]


@pytest.mark.parametrize(("venue", "frames", "raw", "filled"), UNKNOWN)
def test_unknown_status_keeps_tracking_quantities(
    venue: str, frames: list[str], raw: str, filled: str
) -> None:
    """An unmapped status is UNKNOWN_STATUS; the status is kept, the quantities applied."""
    run = Run()
    feed_all(run, venue, frames)
    alert = one(run, AlertCode.UNKNOWN_STATUS)
    assert (alert.order_id, alert.severity, alert.venue) == ("U1", Severity.WARNING, venue)
    assert (alert.evidence["raw_status"], alert.evidence["filled"]) == (raw, filled)
    state = run.rec.order(venue, "U1")
    assert state is not None
    assert (state.status, state.raw_status, state.filled) == (
        Status.ACCEPTED,
        raw,
        Decimal(filled),
    )


def test_btse_unknown_code_on_first_report_then_known_lifecycle() -> None:
    """BTSE: an order first seen with code 99 is unknown; a later fill is judged normally."""
    run = Run()
    run.feed("btse", bt("U1", 99, 1000))
    assert status_of(run, "btse", "U1") is Status.UNKNOWN
    run.feed("btse", bt("U1", 4, 2000, total=900, filled=900))
    assert [a.code for a in run.alerts] == [AlertCode.UNKNOWN_STATUS]
    assert status_of(run, "btse", "U1") is Status.FILLED


def test_btse_amendment_code_is_not_an_unknown_status() -> None:
    """BTSE: 123 (AMEND_ORDER) on a live order keeps its status and raises nothing."""
    run = Run()
    run.feed("btse", bt("U1", 2, 1000))
    run.feed("btse", bt("U1", 123, 2000, current=600))
    assert run.alerts == []
    state = run.rec.order("btse", "U1")
    assert state is not None
    assert (state.status, state.quantity) == (Status.ACCEPTED, Decimal(600))
    quiet(run)


# -- ORDER_REJECTED ------------------------------------------------------------------

REJECTIONS = [
    pytest.param("btse", [bt("R1", 15, 1000)], "15", id="btse-15"),
    pytest.param("btse", [bt("R1", 1, 1000)], "1", id="btse-1-market-unavailable"),
    pytest.param("btse", [bt("R1", 8, 1000)], "8", id="btse-8-insufficient-balance"),
    pytest.param(
        "bybit",
        [by_order("R1", status="Created"), by_order("R1", status="Rejected")],
        "Rejected",
        id="bybit",
    ),
    pytest.param("bybit", [by_stop("R1", "Rejected")], "Rejected", id="bybit-stop-order"),
    pytest.param(
        "clearstreet",
        [
            cs_up(1, "R1", version=1, status="pending-new", reason="place"),
            cs_up(
                2,
                "R1",
                version=2,
                status="rejected",
                reason="reject",
                text="insufficient buying power",
            ),
        ],
        "rejected",
        id="clearstreet",
    ),
]


@pytest.mark.parametrize(("venue", "frames", "raw"), REJECTIONS)
def test_order_rejected_is_info(venue: str, frames: list[str], raw: str) -> None:
    """A rejection is ORDER_REJECTED (info), once, even when re-sent; nothing serious."""
    run = Run()
    feed_all(run, venue, [*frames, frames[-1]])
    alert = one(run, AlertCode.ORDER_REJECTED)
    assert (alert.order_id, alert.severity, alert.venue) == ("R1", Severity.INFO, venue)
    assert alert.evidence["raw_status"] == raw
    assert status_of(run, venue, "R1") is Status.REJECTED
    quiet(run)


def test_btse_terminal_report_resent_with_a_newer_timestamp_is_benign() -> None:
    """BTSE: FULLY_MATCHED sent again under a newer timestamp changes nothing, alerts nothing."""
    run = Run()
    run.feed("btse", bt("B1", 2, 1000))
    run.feed("btse", bt("B1", 4, 2000, total=900, filled=900))
    run.feed("btse", bt("B1", 4, 2500, total=900, filled=900))
    assert run.alerts == []
    assert status_of(run, "btse", "B1") is Status.FILLED
    quiet(run)


def test_cancel_is_not_a_rejection() -> None:
    """A canceled order on each venue raises no ORDER_REJECTED."""
    run = Run()
    run.feed("tread", tr("T1", 1, status="CANCELED"))
    run.feed("btse", bt("B1", 6, 1000))
    run.feed("bybit", by_order("Y1", status="Cancelled"))
    run.feed("bybit", by_stop("Y2", "Deactivated"))
    run.feed("clearstreet", cs_up(1, "C1", version=2, status="canceled", reason="cancel"))
    assert run.alerts == []
    quiet(run)


# -- BTSE status codes through a normal lifecycle ------------------------------------

BTSE_LIFECYCLES = [
    pytest.param([bt("L1", 2, 1000)], Status.ACCEPTED, "2", id="2-order-inserted"),
    pytest.param(
        [
            bt("L1", 2, 1000),
            bt("L1", 5, 2000, total=300, filled=300),
            bt("L1", 4, 3000, total=900, filled=600),
        ],
        Status.FILLED,
        "4",
        id="4-fully-matched",
    ),
    pytest.param(
        [bt("L1", 2, 1000), bt("L1", 5, 2000, total=300, filled=300)],
        Status.PARTIALLY_FILLED,
        "5",
        id="5-partial-fill",
    ),
    pytest.param(
        [bt("L1", 2, 1000), bt("L1", 5, 2000, total=300, filled=300), bt("L1", 6, 3000, total=300)],
        Status.CANCELED,
        "6",
        id="6-cancelled",
    ),
    pytest.param(
        [bt("L1", 9, 1000, order_type=80)], Status.UNTRIGGERED, "9", id="9-trigger-inserted"
    ),
    pytest.param(
        [bt("L1", 9, 1000, order_type=80), bt("L1", 10, 2000, order_type=80)],
        Status.TRIGGERED,
        "10",
        id="10-trigger-activated",
    ),
    pytest.param([bt("L1", 15, 1000)], Status.REJECTED, "15", id="15-rejected"),
]


@pytest.mark.parametrize(("frames", "status", "raw"), BTSE_LIFECYCLES)
def test_btse_status_code_drives_canonical_status(
    frames: list[str], status: Status, raw: str
) -> None:
    """Each of the seed's BTSE codes leads the order to its canonical status, benignly."""
    run = Run()
    feed_all(run, "btse", frames)
    state = run.rec.order("btse", "L1")
    assert state is not None
    assert (state.status, state.raw_status) == (status, raw)
    assert all(a.code is AlertCode.ORDER_REJECTED for a in run.alerts)
    quiet(run)


def test_bybit_rejected_cancel_returns_the_order_to_new() -> None:
    """Bybit New -> PendingCancel -> New (the cancel was rejected): the model follows the
    venue back to accepted, although the last report repeats the first one."""
    run = Run()
    run.feed("bybit", by_order("Y1"))
    run.feed("bybit", by_order("Y1", status="PendingCancel"))
    run.feed("bybit", by_order("Y1"))
    quiet(run)
    state = run.rec.order("bybit", "Y1")
    assert state is not None
    assert state.status is Status.ACCEPTED
    assert run.rec.stats().get("duplicates.order", 0) == 0


def test_bybit_late_resend_of_an_older_report_is_dropped() -> None:
    """Bybit re-sends PartiallyFilled after Filled: without an ordering key a report that
    would regress is a late re-send, dropped and counted, not a FILL_REGRESSION."""
    run = Run()
    run.feed("bybit", by_order("Y1"))
    run.feed("bybit", by_exec("E1", "Y1", 40, leaves=60))
    run.feed("bybit", by_order("Y1", status="PartiallyFilled", cum=40))
    run.feed("bybit", by_exec("E2", "Y1", 60))
    run.feed("bybit", by_order("Y1", status="Filled", cum=100))
    run.feed("bybit", by_order("Y1", status="PartiallyFilled", cum=40))
    quiet(run)
    assert run.alerts == []
    assert run.rec.stats()["duplicates.order"] == 1
