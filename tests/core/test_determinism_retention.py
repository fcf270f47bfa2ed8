"""Alert ids are deterministic, and memory is bounded by retiring terminal orders.

The same inconsistency derived again — after a restart, in a replay, at another receive
time — must get the same alert id, so that sinks can deduplicate on it. Terminal orders
are forgotten ``CoreConfig.retention`` seconds after their last report, and their
execution ids with them.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from builders import (
    BASE_T,
    Run,
    btse_frame,
    btse_item,
    bybit_exec,
    bybit_frame,
    bybit_order,
    cs_frame,
    cs_order,
    cs_trade,
    tread_frame,
    tread_order,
    tread_parent,
)

from reconciler import Alert, AlertCode, CoreConfig, Expectation, Reconciler
from reconciler.capture import CaptureRecord, ExpectRecord, FrameRecord, TickRecord, replay

SHIFT = 987_654.321
RETENTION = 60.0

# -- a capture with many different inconsistencies ---------------------------------------


def _cs_pos(seq: int) -> str:
    return cs_frame("position-update", {"symbol": "AAPL", "quantity": "1"}, seq=seq)


def faulty_capture(t0: float) -> list[CaptureRecord]:
    """Frames from all four venues, timed from ``t0``, proving a dozen different alerts."""
    legs = [
        tread_order("c1", parent="P", executed="0.06"),
        tread_order("c2", parent="P", side="sell", pair="BTC-USDT", executed="0.1"),
    ]
    frames: list[tuple[float, str, str]] = [
        # BTSE: a lost fill report (FILL_GAP), then a malformed element.
        (0.0, "btse", btse_frame(btse_item("B1", ts=1_000))),
        (1.0, "btse", btse_frame(btse_item("B1", status=5, total=700, filled=200, ts=2_000))),
        (1.5, "btse", btse_frame({**btse_item("B2"), "status": "x"})),
        # Bybit: a lost execution, an execution id conflict, an unreported order.
        (2.0, "bybit", bybit_frame("order", bybit_order("Y1", status="PartiallyFilled", cum=60))),
        (2.5, "bybit", bybit_frame("execution", bybit_exec("E1", "Y1", qty=40))),
        (3.0, "bybit", bybit_frame("execution", bybit_exec("E1", "Y1", qty=45))),
        (3.5, "bybit", bybit_frame("execution", bybit_exec("E9", "GHOST", qty=5))),
        # Clear Street: a sequence gap, a sequence conflict, an expectation mismatch.
        (4.0, "clearstreet", _cs_pos(1)),
        (4.1, "clearstreet", cs_frame("order-update", cs_order("C1", version=1), seq=2)),
        (4.2, "clearstreet", cs_frame("trade-notice", cs_trade("T1", "C1", quantity="10"), seq=3)),
        (4.3, "clearstreet", _cs_pos(6)),
        (4.4, "clearstreet", cs_frame("trade-notice", cs_trade("T1", "C1", quantity="20"), seq=3)),
        # Tread.fi: aggregates off, an orphan child, a stuck parent elsewhere.
        (5.0, "tread", tread_parent("P", legs, executed_notional="1")),
        (5.5, "tread", tread_frame(tread_order("c7", parent="NOPE"))),
        (6.0, "tread", tread_frame(tread_order("T9", custom_order_id="cid-t", target="2"))),
    ]
    records: list[CaptureRecord] = [
        FrameRecord(t=t0 + dt, venue=venue, account="main", frame=frame)
        for dt, venue, frame in frames
    ]
    mismatch = Expectation(
        venue="tread",
        account="main",
        client_order_id="cid-t",
        symbol="BTC:PERP-USDT",
        side="buy",
        quantity=Decimal(1),
    )
    records.append(ExpectRecord(t=t0 + 5.8, expectation=mismatch))
    records.append(TickRecord(t=t0 + 60))
    return sorted(records, key=lambda r: r.t)


def replay_at(t0: float, records: Callable[[float], list[CaptureRecord]]) -> list[Alert]:
    """Replay the capture timed from ``t0`` into a fresh reconciler."""
    return list(replay([records(t0)], Reconciler()))


def test_capture_proves_many_codes() -> None:
    """The determinism capture exercises a broad part of the catalog (guards the test)."""
    codes = {a.code for a in replay_at(BASE_T, faulty_capture)}
    assert codes >= {
        AlertCode.FILL_GAP,
        AlertCode.MALFORMED_MESSAGE,
        AlertCode.EXECUTION_ORDER_MISMATCH,
        AlertCode.DUPLICATE_CONFLICT,
        AlertCode.SEQUENCE_GAP,
        AlertCode.PARENT_AGGREGATE_MISMATCH,
        AlertCode.ORPHAN_CHILD,
        AlertCode.EXPECTATION_MISMATCH,
    }


def test_same_capture_at_shifted_receive_times_gives_the_same_alert_ids() -> None:
    """Replayed into a fresh Reconciler SHIFT seconds later: same alerts, same ids."""
    first = replay_at(BASE_T, faulty_capture)
    again = replay_at(BASE_T + SHIFT, faulty_capture)
    assert [(a.code, a.order_id, a.id) for a in again] == [
        (a.code, a.order_id, a.id) for a in first
    ]
    assert [a.evidence for a in again] == [a.evidence for a in first]
    assert all(b.t - a.t == pytest.approx(SHIFT) for a, b in zip(first, again, strict=True))


def test_alert_ids_are_unique_within_a_run() -> None:
    """The core never emits the same id twice."""
    ids = [a.id for a in replay_at(BASE_T, faulty_capture)]
    assert len(ids) == len(set(ids))


def test_venue_resending_a_faulty_execution_raises_no_new_alert() -> None:
    """The conflicting execution re-sent as is: the same inconsistency, not a new alert."""
    run = Run()
    run.feed("bybit", bybit_frame("order", bybit_order("Y1", status="PartiallyFilled", cum=40)))
    run.feed("bybit", bybit_frame("execution", bybit_exec("E1", "Y1", qty=40)))
    for _ in range(3):
        run.feed("bybit", bybit_frame("execution", bybit_exec("E1", "Y1", qty=45)))
    assert len(run.of(AlertCode.DUPLICATE_CONFLICT)) == 1


def _unacknowledged(t0: float) -> list[CaptureRecord]:
    exp = Expectation(
        venue="btse",
        account="main",
        client_order_id="cid-late",
        symbol="BTC-PERP",
        side="buy",
        quantity=Decimal(900),
    )
    return [ExpectRecord(t=t0, expectation=exp), TickRecord(t=t0 + 60)]


def test_unacknowledged_order_id_does_not_depend_on_receive_time() -> None:
    """The same expectation left unanswered, replayed later, gets the same alert id."""
    first = replay_at(BASE_T, _unacknowledged)
    again = replay_at(BASE_T + SHIFT, _unacknowledged)
    assert [a.code for a in first] == [AlertCode.UNACKNOWLEDGED_ORDER]
    assert [a.id for a in again] == [a.id for a in first]


# -- retention -----------------------------------------------------------------------------


def _tread_done(run: Run) -> None:
    run.feed("tread", tread_frame(tread_order("R1", executed="0.5")))
    run.feed("tread", tread_frame(tread_order("R1", executed="1", status="COMPLETE")))


def _btse_done(run: Run) -> None:
    run.feed("btse", btse_frame(btse_item("R1", ts=1_000)))
    run.feed("btse", btse_frame(btse_item("R1", status=4, total=900, filled=900, ts=2_000)))


def _bybit_done(run: Run) -> None:
    run.feed("bybit", bybit_frame("order", bybit_order("R1")))
    run.feed("bybit", bybit_frame("execution", bybit_exec("RX1", "R1", qty=100)))
    run.feed("bybit", bybit_frame("order", bybit_order("R1", status="Filled", cum=100)))


def _cs_done(run: Run) -> None:
    run.feed("clearstreet", cs_frame("order-update", cs_order("R1", version=1), seq=1))
    trade = cs_trade("RX1", "R1", quantity="100")
    run.feed("clearstreet", cs_frame("trade-notice", trade, seq=2))
    done = cs_order("R1", version=2, status="filled", filled="100")
    run.feed("clearstreet", cs_frame("order-update", done, seq=3))


LIFECYCLES: dict[str, Callable[[Run], None]] = {
    "tread": _tread_done,
    "btse": _btse_done,
    "bybit": _bybit_done,
    "clearstreet": _cs_done,
}


def retaining() -> Run:
    return Run(Reconciler(config=CoreConfig(retention=RETENTION)))


@pytest.mark.parametrize("venue", list(LIFECYCLES))
def test_terminal_order_retires_after_retention(venue: str) -> None:
    """Kept for the retention after its last report, then forgotten and counted."""
    run = retaining()
    LIFECYCLES[venue](run)
    run.wait(RETENTION - 1)
    assert run.rec.order(venue, "R1") is not None
    run.wait(2)
    assert run.rec.order(venue, "R1") is None
    assert run.rec.history(venue, "R1") == []
    stats = run.rec.stats()
    assert stats["orders.retired"] == 1
    assert stats["orders.tracked"] == 0
    assert run.serious() == []


@pytest.mark.parametrize("venue", ["bybit", "clearstreet"])
def test_execution_ids_retire_with_their_order(venue: str) -> None:
    """The fill-id index does not outlive the orders it belongs to."""
    run = retaining()
    LIFECYCLES[venue](run)
    assert run.rec.stats()["fills.tracked"] == 1
    run.wait(RETENTION + 1)
    assert run.rec.stats()["fills.tracked"] == 0


@pytest.mark.parametrize("venue", list(LIFECYCLES))
def test_open_order_is_not_retired(venue: str) -> None:
    """Only terminal orders retire: a working order is kept however long it lives."""
    frames = {
        "tread": tread_frame(tread_order("R1")),
        "btse": btse_frame(btse_item("R1")),
        "bybit": bybit_frame("order", bybit_order("R1")),
        "clearstreet": cs_frame("order-update", cs_order("R1", version=1), seq=1),
    }
    run = retaining()
    run.feed(venue, frames[venue])
    run.wait(10 * RETENTION)
    assert run.rec.order(venue, "R1") is not None
    assert run.rec.stats().get("orders.retired", 0) == 0


def test_order_ending_long_after_it_started_retires_after_its_end() -> None:
    """Retention counts from the terminal report, not from when the order was first seen."""
    run = retaining()
    run.feed("bybit", bybit_frame("order", bybit_order("R1")))
    run.wait(3 * RETENTION)
    run.feed("bybit", bybit_frame("execution", bybit_exec("RX1", "R1", qty=100)))
    run.feed("bybit", bybit_frame("order", bybit_order("R1", status="Filled", cum=100)))
    run.wait(RETENTION - 1)
    assert run.rec.order("bybit", "R1") is not None
    run.wait(2)
    assert run.rec.order("bybit", "R1") is None
    assert run.rec.stats()["orders.retired"] == 1


def test_retired_order_is_not_resurrected_by_a_reconnect_replay() -> None:
    """Clear Street replays the day on reconnect: a retired order's messages stay dropped."""
    run = retaining()
    _cs_done(run)
    run.wait(RETENTION + 1)
    assert run.rec.order("clearstreet", "R1") is None
    day = [
        cs_frame("order-update", cs_order("R1", version=1), seq=1, ts=1_711_040_000_000),
        cs_frame(
            "trade-notice", cs_trade("RX1", "R1", quantity="100"), seq=2, ts=1_711_040_000_001
        ),
        cs_frame(
            "order-update",
            cs_order("R1", version=2, status="filled", filled="100"),
            seq=3,
            ts=1_711_040_000_002,
        ),
    ]
    for frame in day:
        run.feed("clearstreet", frame)
    run.wait(30)
    assert run.rec.order("clearstreet", "R1") is None
    assert run.alerts == []
    assert run.rec.stats()["duplicates.sequence"] == 3


def test_executions_of_an_order_never_reported_retire_too() -> None:
    """An execution for an unknown order is alerted, then not kept forever."""
    run = retaining()
    run.feed("bybit", bybit_frame("execution", bybit_exec("RX1", "GHOST", qty=5)))
    run.wait(RETENTION + 1)
    assert [a.code for a in run.alerts] == [AlertCode.EXECUTION_ORDER_MISMATCH]
    assert run.rec.order("bybit", "GHOST") is None
    assert run.rec.stats()["orders.retired"] == 1
    assert run.rec.stats()["fills.tracked"] == 0


def test_children_retire_with_their_multi_order() -> None:
    """A completed Tread.fi multi-order and its children are all forgotten."""
    children = [
        tread_order("c1", parent="P", executed="1", status="COMPLETE"),
        tread_order("c2", parent="P", side="sell", pair="BTC-USDT", executed="1",
                    status="COMPLETE"),
    ]  # fmt: skip
    run = retaining()
    run.feed("tread", tread_parent("P", children, status="COMPLETE"))
    run.wait(RETENTION + 1)
    assert [run.rec.order("tread", oid) for oid in ("P", "c1", "c2")] == [None, None, None]
    assert run.rec.stats()["orders.retired"] == 3
    assert run.serious() == []
