"""Identity and time alerts: IMMUTABLE_FIELD_CHANGED, OUT_OF_ORDER and STALE_ORDER on
every venue that can exhibit them, each next to its benign neighbour (an amendment, a
child re-reported under the same parent, equal ordering keys, an order that ends in time,
a paused order).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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
    cs_up,
    one,
    quiet,
    tread_at,
    tread_frame,
    tread_order,
    tread_parent,
)

from reconciler import AlertCode, Severity

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(seconds: float) -> int:
    """The ordering key (epoch µs) of ``tread_at(seconds)``."""
    moment = datetime.fromisoformat(tread_at(seconds))
    return (moment - _EPOCH) // timedelta(microseconds=1)


def tr(order_id: str, second: float, **fields: Any) -> str:
    """A Tread.fi single-order frame updated ``second`` seconds after the default."""
    return tread_frame(tread_order(order_id, updated_at=tread_at(second), **fields))


def bt(order_id: str, status: int, ts: int, **fields: Any) -> str:
    """A BTSE notification with one element."""
    return btse_frame(btse_item(order_id, status=status, ts=ts, **fields))


# -- IMMUTABLE_FIELD_CHANGED ---------------------------------------------------------

IMMUTABLE = [
    pytest.param(
        "tread",
        tr("I1", 1),
        tr("I1", 2, pair="ETH:PERP-USDT"),
        "symbol",
        ("BTC:PERP-USDT", "ETH:PERP-USDT"),
        id="tread-symbol",
    ),
    pytest.param(
        "tread", tr("I1", 1), tr("I1", 2, side="sell"), "side", ("buy", "sell"), id="tread-side"
    ),
    pytest.param(
        "tread",
        tr("I1", 1),
        tr("I1", 2, account_names=["other_bybit"]),
        "account",
        ("test_bybit", "other_bybit"),
        id="tread-account",
    ),
    pytest.param(
        "tread",
        tr("I1", 1, parent="P1"),
        tr("I1", 2, parent="P2"),
        "parent",
        ("P1", "P2"),
        id="tread-parent",
    ),
    pytest.param(
        "tread",
        tr("I1", 1, target="1"),
        tr("I1", 2, target="2"),
        "original_quantity",
        ("1", "2"),
        id="tread-target-quantity",
    ),
    pytest.param(
        "btse",
        bt("I1", 2, 1000),
        bt("I1", 2, 2000, symbol="ETH-PERP"),
        "symbol",
        ("BTC-PERP", "ETH-PERP"),
        id="btse-symbol",
    ),
    pytest.param(
        "btse",
        bt("I1", 2, 1000),
        bt("I1", 2, 2000, side="SELL"),
        "side",
        ("buy", "sell"),
        id="btse-side",
    ),
    pytest.param(
        "btse",
        bt("I1", 2, 1000),
        bt("I1", 123, 2000, originalOrderSize=1000, current=1000),
        "original_quantity",
        ("900", "1000"),
        id="btse-original-size-in-amendment",
    ),
    pytest.param(
        "bybit",
        by_order("I1"),
        by_order("I1", symbol="BTCUSDM25"),
        "symbol",
        ("BTCUSD", "BTCUSDM25"),
        id="bybit-symbol",
    ),
    pytest.param(
        "bybit",
        by_order("I1"),
        by_order("I1", side="Sell"),
        "side",
        ("buy", "sell"),
        id="bybit-side",
    ),
    pytest.param(
        "bybit",
        by_order("I1"),
        by_order("I1", qty=150),
        "original_quantity",
        ("100", "150"),
        id="bybit-qty",
    ),
    pytest.param(
        "clearstreet",
        cs_up(1, "I1", version=1),
        cs_up(2, "I1", version=2, symbol="MSFT"),
        "symbol",
        ("AAPL", "MSFT"),
        id="clearstreet-symbol",
    ),
    pytest.param(
        "clearstreet",
        cs_up(1, "I1", version=1),
        cs_up(2, "I1", version=2, side="sell-short"),
        "side",
        ("buy", "sell-short"),
        id="clearstreet-side",
    ),
    pytest.param(
        "clearstreet",
        cs_up(1, "I1", version=1),
        cs_up(2, "I1", version=2, account_id="100001"),
        "account",
        ("100000", "100001"),
        id="clearstreet-account",
    ),
]


@pytest.mark.parametrize(("venue", "first", "second", "field", "values"), IMMUTABLE)
def test_immutable_field_changed(
    venue: str, first: str, second: str, field: str, values: tuple[str, str]
) -> None:
    """The same order id reported with another identity field is IMMUTABLE_FIELD_CHANGED."""
    run = Run()
    run.feed(venue, first)
    run.feed(venue, second)
    alert = one(run, AlertCode.IMMUTABLE_FIELD_CHANGED)
    assert (alert.order_id, alert.severity, alert.venue) == ("I1", Severity.CRITICAL, venue)
    assert (alert.evidence[f"{field}_before"], alert.evidence[f"{field}_now"]) == values


def test_bybit_order_reported_on_another_account_connection() -> None:
    """Bybit: the same order id arriving on another account's connection is a change."""
    run = Run()
    run.feed("bybit", by_order("I1"), account="main")
    run.feed("bybit", by_order("I1", status="Cancelled"), account="hedge")
    alert = one(run, AlertCode.IMMUTABLE_FIELD_CHANGED)
    assert alert.order_id == "I1"
    assert (
        alert.evidence["connection_account_before"],
        alert.evidence["connection_account_now"],
    ) == ("main", "hedge")


@pytest.mark.parametrize(
    "amendment",
    [
        pytest.param({"reason": "modify"}, id="modify"),
        pytest.param({"status": "replaced", "reason": "modify"}, id="replaced"),
        # Clear Street reports no original quantity, and a report overtaking its modify
        # carries the new quantity without saying so: quantity is not an identity field.
        pytest.param({}, id="without-modify"),
    ],
)
def test_clearstreet_quantity_change_is_benign(amendment: dict[str, str]) -> None:
    """Clear Street: the quantity may change (modify, replaced, or a report overtaking
    its modify); it is applied, never IMMUTABLE_FIELD_CHANGED."""
    run = Run()
    run.feed("clearstreet", cs_up(1, "C1", version=1))
    run.feed("clearstreet", cs_up(2, "C1", version=2, quantity="150", **amendment))
    assert run.alerts == []
    state = run.rec.order("clearstreet", "C1")
    assert state is not None
    assert state.quantity == 150
    quiet(run)


def test_btse_amendment_changing_current_size_is_benign() -> None:
    """BTSE: an amendment (123) changes ``currentOrderSize``; ``originalOrderSize`` stays."""
    run = Run()
    run.feed("btse", bt("B1", 2, 1000))
    run.feed("btse", bt("B1", 123, 2000, current=1200))
    run.feed("btse", bt("B1", 4, 3000, current=1200, total=1200, filled=1200))
    assert run.alerts == []
    state = run.rec.order("btse", "B1")
    assert state is not None
    assert (state.quantity, state.original_quantity) == (Decimal(1200), Decimal(900))
    quiet(run)


def test_tread_child_re_reported_alone_under_the_same_parent_is_benign() -> None:
    """Tread.fi: a child carried by its parent, then reported alone, keeps its identity."""
    child = tread_order("K1", parent="P1", executed="0.2", updated_at=tread_at(1))
    run = Run()
    run.feed("tread", tread_parent("P1", [child]))
    run.feed(
        "tread",
        tread_frame({**tread_order("K1", parent="P1", executed="0.5", updated_at=tread_at(2))}),
    )
    assert run.of(AlertCode.IMMUTABLE_FIELD_CHANGED) == []
    state = run.rec.order("tread", "K1")
    assert state is not None
    assert (state.parent_id, state.filled) == ("P1", Decimal("0.5"))


# -- OUT_OF_ORDER --------------------------------------------------------------------

OLDER = [
    pytest.param(
        "tread",
        "O1",
        [tr("O1", 20, executed="0.5"), tr("O1", 10, executed="0.3")],
        (str(micros(10)), str(micros(20)), "0.3", "0.5"),
        id="tread-updated-at",
    ),
    pytest.param(
        "btse",
        "O1",
        [bt("O1", 5, 3000, total=600, filled=600), bt("O1", 2, 2000)],
        ("2000", "3000", "0", "600"),
        id="btse-timestamp",
    ),
    pytest.param(
        "clearstreet",
        "O1",
        [
            cs_up(1, "O1", version=3, status="canceled"),
            cs_up(2, "O1", version=2, status="pending-cancel"),
        ],
        ("2", "3", "0", "0"),
        id="clearstreet-version",
    ),
]


@pytest.mark.parametrize(("venue", "order_id", "frames", "keys"), OLDER)
def test_older_update_is_out_of_order_and_not_applied(
    venue: str, order_id: str, frames: list[str], keys: tuple[str, str, str, str]
) -> None:
    """An update with a strictly older ordering key is OUT_OF_ORDER (info), recorded only."""
    run = Run()
    for frame in frames:
        run.feed(venue, frame)
    alert = one(run, AlertCode.OUT_OF_ORDER)
    assert (alert.order_id, alert.severity, alert.venue) == (order_id, Severity.INFO, venue)
    evidence = alert.evidence
    got = (
        evidence["update_key"],
        evidence["applied_key"],
        evidence["update_filled"],
        evidence["applied_filled"],
    )
    assert got == keys
    state = run.rec.order(venue, order_id)
    assert state is not None
    assert state.filled == Decimal(keys[3])
    assert [h.applied for h in run.rec.history(venue, order_id) if h.kind == "update"] == [
        True,
        False,
    ]
    assert run.serious() == []


def test_tread_equal_updated_at_is_applied_in_arrival_order() -> None:
    """Tread.fi: fills advancing under an unchanged ``updated_at`` (as in the seed) apply."""
    run = Run()
    run.feed("tread", tr("T1", 0, executed="0.06", target="0.3"))
    run.feed("tread", tr("T1", 0, executed="0.123336", target="0.3"))
    assert run.alerts == []
    state = run.rec.order("tread", "T1")
    assert state is not None
    assert state.filled == Decimal("0.123336")


def test_btse_equal_timestamp_is_applied_in_arrival_order() -> None:
    """BTSE: two fills in the same millisecond both apply, in arrival order."""
    run = Run()
    run.feed("btse", bt("B1", 5, 2000, total=300, filled=300))
    run.feed("btse", bt("B1", 5, 2000, total=600, filled=300))
    assert run.alerts == []
    state = run.rec.order("btse", "B1")
    assert state is not None
    assert state.filled == 600
    quiet(run)


def test_bybit_has_no_ordering_key() -> None:
    """Bybit: reports apply in arrival order whatever their ``timestamp``; never OUT_OF_ORDER."""
    run = Run()
    run.feed("bybit", by_order("Y1", timestamp="2020-01-14T14:09:31.778Z"))
    run.feed("bybit", by_exec("E1", "Y1", 30, leaves=70))
    run.feed(
        "bybit",
        by_order("Y1", status="PartiallyFilled", cum=30, timestamp="2020-01-14T14:00:00.000Z"),
    )
    assert run.alerts == []
    state = run.rec.order("bybit", "Y1")
    assert state is not None
    assert state.filled == 30
    quiet(run)


# -- STALE_ORDER ---------------------------------------------------------------------


def test_tread_order_past_time_end_is_stale() -> None:
    """Tread.fi: still ACTIVE ``time_end`` + the settle window after it is STALE_ORDER."""
    run = Run()
    run.feed("tread", tr("T1", 0, time_end=tread_at(60), executed="0.4"))
    t0 = run.t
    run.wait(64)
    assert run.of(AlertCode.STALE_ORDER) == []
    run.wait(2)
    alert = one(run, AlertCode.STALE_ORDER)
    assert (alert.order_id, alert.severity, alert.venue) == ("T1", Severity.WARNING, "tread")
    assert alert.t == pytest.approx(t0 + 65)
    assert alert.evidence["expected_end"] == f"{t0 + 60:.3f}"
    assert alert.evidence["seconds_overdue"] == "5.000"
    assert (alert.evidence["status"], alert.evidence["filled"]) == ("accepted", "0.4")


def test_tread_fills_under_unchanged_updated_at_do_not_push_the_deadline() -> None:
    """Tread.fi: a fill re-sent with the same ``updated_at`` later does not delay STALE_ORDER."""
    run = Run()
    run.feed("tread", tr("T1", 0, time_end=tread_at(60)))
    t0 = run.t
    run.feed("tread", tr("T1", 0, time_end=tread_at(60), executed="0.5"), dt=40)
    run.wait(30)
    alert = one(run, AlertCode.STALE_ORDER)
    assert alert.t == pytest.approx(t0 + 65)


def test_tread_order_ending_within_the_settle_window_is_not_stale() -> None:
    """Tread.fi: COMPLETE shortly after ``time_end`` (within the settle window) is in time."""
    run = Run()
    run.feed("tread", tr("T1", 0, time_end=tread_at(60)))
    run.feed("tread", tr("T1", 62, time_end=tread_at(60), executed="1", status="COMPLETE"), dt=62)
    quiet(run, 300)


def test_tread_paused_order_is_not_stale() -> None:
    """Tread.fi: a PAUSED order past its ``time_end`` is not stale."""
    run = Run()
    run.feed("tread", tr("T1", 0, time_end=tread_at(60)))
    run.feed("tread", tr("T1", 30, time_end=tread_at(60), status="PAUSED"), dt=30)
    quiet(run, 600)


IMMEDIATE = [
    pytest.param("bybit", by_order("S1", tif="ImmediateOrCancel"), "New", id="bybit-ioc"),
    pytest.param("bybit", by_order("S1", tif="FillOrKill"), "New", id="bybit-fok"),
    pytest.param("btse", bt("S1", 2, 1000, tif="IOC"), "2", id="btse-ioc"),
    pytest.param("btse", bt("S1", 2, 1000, tif="FOK"), "2", id="btse-fok"),
    pytest.param("clearstreet", cs_up(1, "S1", version=1, tif="ioc"), "new", id="clearstreet-ioc"),
]


@pytest.mark.parametrize(("venue", "frame", "raw"), IMMEDIATE)
def test_immediate_order_still_open_is_stale(venue: str, frame: str, raw: str) -> None:
    """An IOC/FOK order still open a settle window after its report is STALE_ORDER."""
    run = Run()
    run.feed(venue, frame)
    t0 = run.t
    run.wait(4)
    assert run.of(AlertCode.STALE_ORDER) == []
    run.wait(2)
    alert = one(run, AlertCode.STALE_ORDER)
    assert (alert.order_id, alert.severity, alert.venue) == ("S1", Severity.WARNING, venue)
    assert alert.t == pytest.approx(t0 + 5)
    assert (alert.evidence["raw_status"], alert.evidence["seconds_overdue"]) == (raw, "5.000")


def test_bybit_ioc_partially_filled_then_cancelled_is_benign() -> None:
    """Bybit: an IOC order that fills partly and is cancelled at once ends in time."""
    run = Run()
    run.feed("bybit", by_order("S1", tif="ImmediateOrCancel"))
    run.feed("bybit", by_exec("E1", "S1", 30, leaves=70), dt=0.01)
    run.feed(
        "bybit", by_order("S1", tif="ImmediateOrCancel", status="PartiallyFilled", cum=30), dt=0.01
    )
    run.feed("bybit", by_order("S1", tif="ImmediateOrCancel", status="Cancelled", cum=30), dt=0.01)
    assert run.alerts == []
    quiet(run)


def test_bybit_untriggered_conditional_ioc_is_not_stale() -> None:
    """Bybit: a conditional IOC order waiting for its trigger is not stale."""
    item: dict[str, Any] = {
        "order_id": "S1",
        "order_link_id": "",
        "symbol": "BTCUSD",
        "side": "Buy",
        "order_type": "Limit",
        "price": "8584.5",
        "qty": 1,
        "order_status": "Untriggered",
        "time_in_force": "ImmediateOrCancel",
        "stop_order_type": "Stop",
        "trigger_price": "8584.5",
        "timestamp": "2020-01-14T14:11:22.062Z",
    }
    run = Run()
    run.feed("bybit", bybit_frame("stop_order", item))
    quiet(run, 600)


def test_btse_ioc_filled_at_once_is_benign() -> None:
    """BTSE: an IOC order inserted and fully matched a moment later ends in time."""
    run = Run()
    run.feed("btse", bt("S1", 2, 1000, tif="IOC"))
    run.feed("btse", bt("S1", 4, 1050, tif="IOC", total=900, filled=900), dt=0.05)
    quiet(run)


def test_btse_untriggered_ioc_trigger_order_is_not_stale() -> None:
    """BTSE: an IOC trigger order waiting for its trigger (9) is not stale."""
    run = Run()
    run.feed("btse", bt("S1", 9, 1000, tif="IOC", order_type=80))
    quiet(run, 600)


def test_clearstreet_ioc_canceled_at_once_and_day_order_are_not_stale() -> None:
    """Clear Street: an IOC canceled at once, and a day order left open, are not stale."""
    run = Run()
    run.feed("clearstreet", cs_up(1, "S1", version=1, tif="ioc"))
    run.feed("clearstreet", cs_up(2, "S1", version=2, tif="ioc", status="canceled"), dt=0.2)
    run.feed("clearstreet", cs_up(3, "S2", version=1, tif="day"))
    quiet(run, 3000)


@pytest.mark.parametrize(
    ("tif", "lifetime"),
    [("HALFMIN", 30), ("FIVEMIN", 300), ("HOUR", 3600)],
)
def test_btse_time_in_force_deadline(tif: str, lifetime: int) -> None:
    """BTSE: an order still open past its time-in-force bound plus the settle window."""
    run = Run()
    run.feed("btse", bt("S1", 2, 1000, tif=tif))
    t0 = run.t
    run.wait(lifetime + 4)
    assert run.of(AlertCode.STALE_ORDER) == []
    run.wait(2)
    alert = one(run, AlertCode.STALE_ORDER)
    assert (alert.order_id, alert.severity) == ("S1", Severity.WARNING)
    assert alert.t == pytest.approx(t0 + lifetime + 5)
    assert alert.evidence["expected_end"] == f"{t0 + lifetime:.3f}"


def test_btse_halfmin_order_canceled_in_time_is_not_stale() -> None:
    """BTSE: a HALFMIN order partly filled and canceled after 20 s ends in time."""
    run = Run()
    run.feed("btse", bt("S1", 2, 1000, tif="HALFMIN"))
    run.feed("btse", bt("S1", 5, 11_000, tif="HALFMIN", total=300, filled=300), dt=10)
    run.feed("btse", bt("S1", 6, 21_000, tif="HALFMIN", total=300), dt=10)
    quiet(run, 120)


def test_btse_halfmin_trigger_order_counts_from_activation() -> None:
    """BTSE: a HALFMIN trigger order's 30 s start when it activates, not while it waits."""
    run = Run()
    run.feed("btse", bt("S1", 9, 1000, tif="HALFMIN", order_type=80))
    run.feed("btse", bt("S1", 10, 61_000, tif="HALFMIN", order_type=80), dt=60)
    activated = run.t
    run.wait(30)
    assert run.of(AlertCode.STALE_ORDER) == []
    run.wait(10)
    alert = one(run, AlertCode.STALE_ORDER)
    assert alert.t == pytest.approx(activated + 35)
