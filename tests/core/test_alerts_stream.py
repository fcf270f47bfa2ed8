"""Stream-level alerts: Clear Street sequences (SEQUENCE_GAP, DUPLICATE_CONFLICT on a
sequence number, reconnect replays, trading-day restarts) and MALFORMED_MESSAGE on every
venue.

Clear Street numbers its sequenced messages per account and trading day (New York),
restarting at 1 each day, and replays the day from sequence 1 on every (re)subscription;
the envelope ``timestamp`` is the send time, so a replayed message differs from the
original only there.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

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
    one,
    tread_frame,
    tread_order,
)

from reconciler import Alert, AlertCode, Reconciler, Severity

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SETTLE = 5.0
DAY_MS = 86_400_000
TS = 1_711_028_712_352  # 2024-03-21 09:45 in New York
DAY = "2024-03-21"
NEXT_DAY = "2024-03-22"


def position(seq: int, quantity: str = "40", *, ts: int = TS) -> str:
    """A sequenced position-update (no order involved, so only stream rules apply)."""
    data = {"account_id": "100000", "symbol": "AAPL", "quantity": quantity, "average_cost": 171.25}
    return cs_frame("position-update", data, seq=seq, ts=ts)


def feed_positions(run: Run, *seqs: int) -> None:
    for seq in seqs:
        run.feed("clearstreet", position(seq))


def missing_numbers(alert: Alert) -> set[int]:
    """The sequence numbers an alert's ``missing`` evidence names ("3-4, 7" -> {3, 4, 7})."""
    numbers: set[int] = set()
    for part in alert.evidence["missing"].replace(" ", "").split(","):
        low, _, high = part.partition("-")
        numbers.update(range(int(low), int(high or low) + 1))
    return numbers


def trading_day() -> list[str]:
    """One account's day: two orders, their trades and positions, a buying-power update."""
    return [
        cs_frame("order-update", cs_order("A", version=1, status="pending-new"), seq=1, ts=TS),
        cs_frame("order-update", cs_order("A", version=2), seq=2, ts=TS + 10),
        cs_frame("order-update", cs_order("B", version=1, quantity="50"), seq=3, ts=TS + 20),
        cs_frame("trade-notice", cs_trade("T1", "A", quantity="40"), seq=4, ts=TS + 30),
        cs_frame(
            "order-update",
            cs_order("A", version=3, status="partially-filled", filled="40"),
            seq=5,
            ts=TS + 31,
        ),
        position(6, "40", ts=TS + 32),
        cs_frame(
            "order-update",
            cs_order("B", version=2, status="canceled", quantity="50", reason="cancel"),
            seq=7,
            ts=TS + 40,
        ),
        cs_frame("trade-notice", cs_trade("T2", "A", quantity="60"), seq=8, ts=TS + 50),
        cs_frame(
            "order-update",
            cs_order("A", version=4, status="filled", filled="100"),
            seq=9,
            ts=TS + 51,
        ),
        position(10, "100", ts=TS + 52),
        cs_frame("buying-power-update", {"account_id": "100000", "buying_power": "1"}, seq=11),
    ]


ACK = json.dumps(
    {
        "timestamp": TS + 3_600_000,
        "payload": {
            "type": "subscribe-activity-ack",
            "account_id": "100000",
            "success": True,
            "details": "Subscribed successfully",
        },
    }
)


def replayed(frame: str, delay_ms: int = 3_600_000) -> str:
    """The same message as a reconnect replays it: sent later (same day), re-serialized."""
    env: dict[str, Any] = json.loads(frame)
    env["timestamp"] += delay_ms
    return json.dumps(env, indent=1, sort_keys=True)


def reconnect(run: Run, frames: list[str]) -> list[Alert]:
    """Resubscribe: the venue acks, replays the day from sequence 1, then replay-complete."""
    new: list[Alert] = []
    new += run.feed("clearstreet", ACK, dt=2)
    for frame in frames:
        new += run.feed("clearstreet", replayed(frame), dt=0.01)
    new += run.feed("clearstreet", cs_frame("replay-complete"), dt=0.01)
    new += run.wait(30)
    return new


# -- SEQUENCE_GAP --------------------------------------------------------------------


def test_skipped_numbers_raise_sequence_gap_with_the_missing_range() -> None:
    """1, 2, 5: messages 3 and 4 were lost."""
    run = Run()
    feed_positions(run, 1, 2, 5)
    proving_t = run.t
    run.wait(30)
    alert = one(run, AlertCode.SEQUENCE_GAP)
    assert alert.severity is Severity.CRITICAL
    assert (alert.venue, alert.account) == ("clearstreet", "main")
    assert alert.order_id is None
    assert alert.parent_id is None
    assert alert.t == proving_t + SETTLE
    assert missing_numbers(alert) == {3, 4}
    assert alert.evidence["missing_count"] == "2"
    assert alert.evidence["day"] == DAY


def test_single_missing_number_is_named() -> None:
    """1, 2, 4: message 3 was lost."""
    run = Run()
    feed_positions(run, 1, 2, 4)
    run.wait(30)
    alert = one(run, AlertCode.SEQUENCE_GAP)
    assert missing_numbers(alert) == {3}
    assert alert.evidence["missing_count"] == "1"


def test_sequence_gap_waits_for_the_settle_window() -> None:
    """A gap is only a loss once the settle window has passed without the message."""
    run = Run()
    feed_positions(run, 1, 3)
    assert run.wait(SETTLE - 0.1) == []
    assert [a.code for a in run.wait(0.2)] == [AlertCode.SEQUENCE_GAP]


def test_partly_filled_gap_reports_only_what_is_still_missing() -> None:
    """1, 5, then 3 late within the window: only 2 and 4 were lost."""
    run = Run()
    feed_positions(run, 1, 5)
    run.feed("clearstreet", position(3), dt=2)
    run.wait(30)
    alert = one(run, AlertCode.SEQUENCE_GAP)
    assert missing_numbers(alert) == {2, 4}
    assert alert.evidence["missing_count"] == "2"


def test_gap_is_reported_per_account() -> None:
    """Sequences are per account: a gap on one account names that account only."""
    run = Run()
    run.feed("clearstreet", position(1), account="acct-a")
    run.feed("clearstreet", position(1), account="acct-b")
    run.feed("clearstreet", position(2), account="acct-b")
    run.feed("clearstreet", position(3), account="acct-a")
    run.wait(30)
    alert = one(run, AlertCode.SEQUENCE_GAP)
    assert alert.account == "acct-a"
    assert missing_numbers(alert) == {2}


def test_reorder_filled_within_the_window_is_silent() -> None:
    """1, 3, 2 (2 arrives 3 s late): nothing was lost."""
    run = Run()
    feed_positions(run, 1, 3)
    run.feed("clearstreet", position(2), dt=3)
    run.wait(30)
    assert run.alerts == []


def test_gap_healed_by_a_reconnect_replay_within_the_window_is_silent() -> None:
    """A disconnect loses 8, the reconnect's replay of the day brings it back in time."""
    run = Run()
    day = trading_day()
    for frame in day[:7] + day[8:]:
        run.feed("clearstreet", frame, dt=0.2)
    assert reconnect(run, day) == []
    assert run.alerts == []


def test_whole_day_replayed_after_reconnect_raises_nothing_new() -> None:
    """Feed a whole day, then the reconnect replays all of it from 1: not one new alert."""
    run = Run()
    day = trading_day()
    for frame in day:
        run.feed("clearstreet", frame)
    run.feed("clearstreet", cs_frame("replay-complete"))
    run.wait(30)
    assert run.alerts == []
    assert reconnect(run, day) == []
    assert reconnect(run, day) == []
    assert run.rec.stats()["duplicates.sequence"] == 2 * len(day)
    state = run.rec.order("clearstreet", "A")
    assert state is not None
    assert (state.filled, state.executions_filled, state.executions) == (
        Decimal(100),
        Decimal(100),
        2,
    )


def test_seed_order_life_replayed_after_reconnect_raises_nothing() -> None:
    """The fixture day of order 42817365 (sequences 1-8), then its replay."""
    day = [
        (FIXTURES / "clearstreet" / f"order_life_{i}_{name}.json").read_text()
        for i, name in enumerate(
            (
                "pending_new",
                "new",
                "trade",
                "partially_filled",
                "position",
                "trade",
                "filled",
                "position",
            ),
            start=1,
        )
    ]
    run = Run()
    for frame in day:
        run.feed("clearstreet", frame)
    run.wait(30)
    assert run.serious() == []
    before = list(run.alerts)
    assert reconnect(run, day) == []
    assert run.alerts == before


def test_faulty_day_replayed_after_reconnect_repeats_no_alert() -> None:
    """Alerts of a day are not raised again when the reconnect replays that day."""
    run = Run()
    day = trading_day()
    conflicting = cs_frame("order-update", cs_order("B", version=1, quantity="55"), seq=3)
    unreadable = position(12, "NaN")
    for frame in [*day[:3], conflicting, *day[3:7], *day[8:], unreadable]:
        run.feed("clearstreet", frame)
    run.wait(30)
    first = {a.code for a in run.alerts}
    assert {
        AlertCode.SEQUENCE_GAP,
        AlertCode.DUPLICATE_CONFLICT,
        AlertCode.MALFORMED_MESSAGE,
    } <= first
    before = list(run.alerts)
    reconnect(run, [*day, conflicting, unreadable])
    reconnect(run, [*day, conflicting, unreadable])
    assert run.alerts == before


def test_new_trading_day_restarting_at_one_is_silent() -> None:
    """Sequence numbers restart at 1 each New York day: 1..3, then 1..2 of the next day."""
    run = Run()
    feed_positions(run, 1, 2, 3)
    run.feed("clearstreet", position(1, "7", ts=TS + DAY_MS))
    run.feed("clearstreet", position(2, "8", ts=TS + DAY_MS))
    run.wait(30)
    assert run.alerts == []
    assert run.rec.stats().get("duplicates.sequence", 0) == 0


def test_gap_in_the_new_trading_day_names_that_day() -> None:
    """After the daily restart, numbering is checked afresh: day 2 skips its 2."""
    run = Run()
    feed_positions(run, 1, 2, 3)
    run.feed("clearstreet", position(1, "7", ts=TS + DAY_MS))
    run.feed("clearstreet", position(3, "8", ts=TS + DAY_MS))
    run.wait(30)
    alert = one(run, AlertCode.SEQUENCE_GAP)
    assert missing_numbers(alert) == {2}
    assert alert.evidence["day"] == NEXT_DAY


def test_gap_noticed_just_before_the_day_rolls_over_is_still_reported() -> None:
    """3-4 of day 1 are lost; day 2 starts within the window: the loss is permanent."""
    run = Run()
    feed_positions(run, 1, 2, 5)
    run.feed("clearstreet", position(1, "7", ts=TS + DAY_MS))
    run.wait(30)
    alert = one(run, AlertCode.SEQUENCE_GAP)
    assert missing_numbers(alert) == {3, 4}
    assert alert.evidence["day"] == DAY


# -- DUPLICATE_CONFLICT on a sequence number -----------------------------------------


def test_sequence_resent_with_other_content_is_a_conflict() -> None:
    """Order-update 2 re-sent with quantity 200: the first version is kept."""
    run = Run()
    run.feed("clearstreet", cs_frame("order-update", cs_order("A", version=1), seq=1))
    run.feed("clearstreet", cs_frame("order-update", cs_order("A", version=2), seq=2))
    changed = cs_order("A", version=2, quantity="200")
    run.feed("clearstreet", cs_frame("order-update", changed, seq=2))
    alert = one(run, AlertCode.DUPLICATE_CONFLICT)
    assert alert.severity is Severity.CRITICAL
    assert (alert.venue, alert.account, alert.order_id) == ("clearstreet", "main", "A")
    assert alert.t == run.t
    assert alert.evidence["sequence"] == "2"
    assert alert.evidence["day"] == DAY
    assert alert.evidence["first_digest"] != alert.evidence["new_digest"]
    state = run.rec.order("clearstreet", "A")
    assert state is not None
    assert state.quantity == 100


def test_replayed_trade_with_other_quantity_is_a_conflict_and_not_counted() -> None:
    """A replay re-sends trade-notice 2 with 50 instead of 40: flagged, not applied."""
    run = Run()
    run.feed("clearstreet", cs_frame("order-update", cs_order("A", version=1), seq=1))
    run.feed("clearstreet", cs_frame("trade-notice", cs_trade("T1", "A", quantity="40"), seq=2))
    bad = cs_frame("trade-notice", cs_trade("T1", "A", quantity="50"), seq=2, ts=TS + 60_000)
    run.feed("clearstreet", bad)
    alert = one(run, AlertCode.DUPLICATE_CONFLICT)
    assert alert.order_id == "A"
    assert alert.evidence["sequence"] == "2"
    state = run.rec.order("clearstreet", "A")
    assert state is not None
    assert (state.executions_filled, state.executions) == (Decimal(40), 1)


def test_identical_resend_with_other_send_time_and_layout_is_dropped() -> None:
    """Same number, same content, new timestamp, other key order and whitespace."""
    run = Run()
    first = cs_frame("order-update", cs_order("A", version=1), seq=1)
    run.feed("clearstreet", first)
    run.feed("clearstreet", replayed(first, delay_ms=5_000))
    run.feed("clearstreet", replayed(first, delay_ms=9_000))
    run.wait(30)
    assert run.alerts == []
    assert run.rec.stats()["duplicates.sequence"] == 2


def test_seed_examples_sharing_one_sequence_number_do_not_conflict() -> None:
    """The seed shows 124 on messages of four types: placeholders, not a conflict."""
    run = Run()
    names = (
        "seed_order_update",
        "seed_position_update",
        "seed_buying_power_update",
        "seed_locate_inventory_update",
    )
    for name in names:
        run.feed("clearstreet", (FIXTURES / "clearstreet" / f"{name}.json").read_text())
    run.wait(30)
    assert run.of(AlertCode.DUPLICATE_CONFLICT) == []
    assert run.of(AlertCode.SEQUENCE_GAP) == []


# -- MALFORMED_MESSAGE ---------------------------------------------------------------


def _btse(**fields: Any) -> str:
    item = btse_item("M1")
    item.update(fields)
    return btse_frame(item)


def _bybit(**fields: Any) -> str:
    item = bybit_order("M1")
    item.update(fields)
    return bybit_frame("order", item)


def _cs(**fields: Any) -> str:
    data = cs_order("M1", version=1)
    data.update(fields)
    return cs_frame("order-update", data, seq=1)


def _tread(**fields: Any) -> str:
    return tread_frame(tread_order("M1", **fields))


GOOD: dict[str, Callable[[], str]] = {
    "tread": lambda: tread_frame(tread_order("G1")),
    "btse": lambda: btse_frame(btse_item("G1")),
    "bybit": lambda: bybit_frame("order", bybit_order("G1")),
    "clearstreet": lambda: cs_frame("order-update", cs_order("G1", version=1), seq=2),
}

BAD: list[tuple[str, str, str]] = [
    # (venue, what is wrong, frame)
    *((v, "invalid JSON", GOOD[v]()[:-7]) for v in GOOD),
    *((v, "not an object", "[1, 2]") for v in GOOD),
    ("tread", "wrong type", _tread(target_order_qty=True)),
    ("btse", "wrong type", _btse(status="4")),
    ("bybit", "wrong type", _bybit(cum_exec_qty={"n": 1})),
    ("clearstreet", "wrong type", _cs(filled_quantity={"n": 1})),
    ("tread", "NaN", _tread(pct_filled="NaN")),
    ("btse", "NaN", _btse(totalFilledSize="NaN")),
    ("bybit", "NaN", _bybit(qty="NaN")),
    ("clearstreet", "NaN", _cs(quantity="NaN")),
    ("tread", "huge number", _tread(target_order_qty="1e999")),
    ("btse", "huge number", _btse(originalOrderSize=10**60)),
    ("bybit", "huge number", _bybit(qty=10**60)),
    ("clearstreet", "huge number", _cs(quantity="1e400")),
    ("tread", "missing id", _tread(id="")),
    ("btse", "missing id", _btse(orderID="")),
    ("bybit", "missing id", _bybit(order_id="")),
    ("clearstreet", "missing id", _cs(order_id="")),
]


@pytest.mark.parametrize(
    ("venue", "frame"),
    [pytest.param(v, f, id=f"{v}-{what}") for v, what, f in BAD],
)
def test_bad_frame_is_malformed_and_the_feed_continues(venue: str, frame: str) -> None:
    """A frame that cannot be decoded or validated is reported and counted; the next is used."""
    run = Run()
    run.feed(venue, frame)
    alert = one(run, AlertCode.MALFORMED_MESSAGE)
    assert alert.severity is Severity.WARNING
    assert (alert.venue, alert.account, alert.order_id) == (venue, "main", None)
    assert alert.t == run.t
    assert alert.evidence["reason"]
    assert run.rec.stats()["malformed"] == 1
    assert run.rec.order(venue, "M1") is None
    run.feed(venue, GOOD[venue]())
    run.wait(30)
    assert run.rec.order(venue, "G1") is not None
    assert [a.code for a in run.serious()] == [AlertCode.MALFORMED_MESSAGE]


def test_invalid_utf8_bytes_are_malformed_on_every_venue() -> None:
    """Bytes that are not UTF-8 never raise: one MALFORMED_MESSAGE per venue."""
    rec = Reconciler()
    alerts = [a for venue in GOOD for a in rec.feed(venue, "main", b"\xff\xfe{", BASE_T)]
    assert [(a.code, a.venue) for a in alerts] == [
        (AlertCode.MALFORMED_MESSAGE, venue) for venue in GOOD
    ]
    assert rec.stats()["malformed"] == len(GOOD)


def test_btse_bad_element_among_good_ones_spares_the_good_ones() -> None:
    """One bad notificationApiV4 element is malformed; its neighbours are reconciled."""
    bad = btse_item("M1")
    bad["totalFilledSize"] = "lots"
    run = Run()
    run.feed("btse", btse_frame(btse_item("G1"), bad, btse_item("G2", side="SELL")))
    alert = one(run, AlertCode.MALFORMED_MESSAGE)
    assert "totalFilledSize" in alert.evidence["reason"]
    assert "M1" in alert.evidence["excerpt"]
    run.wait(30)
    assert run.rec.order("btse", "G1") is not None
    assert run.rec.order("btse", "G2") is not None
    assert run.rec.order("btse", "M1") is None
    assert [a.code for a in run.serious()] == [AlertCode.MALFORMED_MESSAGE]


def test_bybit_bad_element_among_good_ones_spares_the_good_ones() -> None:
    """One bad execution between two good ones: the good ones count toward the order."""
    bad = bybit_exec("E2", "X1", qty=10)
    bad["exec_qty"] = -10
    run = Run()
    order = bybit_order("X1", status="PartiallyFilled", cum=50, leaves=50)
    run.feed("bybit", bybit_frame("order", order))
    good = (bybit_exec("E1", "X1", qty=20), bybit_exec("E3", "X1", qty=30))
    run.feed("bybit", bybit_frame("execution", good[0], bad, good[1]))
    alert = one(run, AlertCode.MALFORMED_MESSAGE)
    assert "exec_qty" in alert.evidence["reason"]
    run.wait(30)
    state = run.rec.order("bybit", "X1")
    assert state is not None
    assert (state.executions_filled, state.executions) == (Decimal(50), 2)
    assert [a.code for a in run.serious()] == [AlertCode.MALFORMED_MESSAGE]


def test_clearstreet_malformed_sequenced_message_still_accounts_for_its_number() -> None:
    """Sequence 2 is unreadable: one MALFORMED_MESSAGE, and no SEQUENCE_GAP for 2."""
    run = Run()
    run.feed("clearstreet", position(1))
    run.feed("clearstreet", _cs(quantity="NaN").replace('"sequence": 1', '"sequence": 2'))
    run.feed("clearstreet", position(3))
    run.wait(30)
    assert [a.code for a in run.alerts] == [AlertCode.MALFORMED_MESSAGE]
