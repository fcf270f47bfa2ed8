"""Tread.fi plugin: the seed's examples, the status table, bad input, and command builders."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.events import Event, Ignored, Malformed, OrderUpdate
from reconciler.lifecycle import Status
from reconciler.plugin import VenuePlugin, VenueProtocol
from reconciler_tread import (
    AUTH_REFUSED_CLOSE_CODE,
    STATUS_TABLE,
    TreadPlugin,
    TreadProtocol,
    connection_url,
    keep_alive_frame,
    plugin,
    subscribe_frame,
    unsubscribe_frame,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "tread"

SINGLE_ID = "0c31d512-f2c8-4600-9002-493bada22b39"
PARENT_ID = "5092dba5-ec3c-4ae9-84ad-43aa29090bb0"
CHILD_BUY_ID = "4c1b8f6b-a204-43f6-aac9-4ed06198fe27"
CHILD_SELL_ID = "f0a78f07-f52c-4a7f-aa32-5b80fa0ff78e"

# updated_at / time_end of the seed's examples, as epoch microseconds (computed by hand
# from the ISO strings, independently of the plugin's helpers).
SINGLE_UPDATED = 1_752_542_505_499_214  # 2025-07-15T01:21:45.499214+00:00
SINGLE_TIME_END = 1_752_542_625_448_162  # 2025-07-15T01:23:45.448162+00:00
PARENT_UPDATED = 1_752_542_587_588_700  # 2025-07-15T01:23:07.588700+00:00
PARENT_TIME_START = 1_752_542_587_567_613  # 2025-07-15T01:23:07.567613+00:00
CHILD_BUY_UPDATED = 1_752_542_587_725_840  # 2025-07-15T01:23:07.725840+00:00
CHILD_BUY_TIME_END = 1_752_542_660_639_390  # 2025-07-15T01:24:20.639390+00:00
CHILD_SELL_UPDATED = 1_752_542_587_916_364  # 2025-07-15T01:23:07.916364+00:00
CHILD_SELL_TIME_END = 1_752_542_660_643_916  # 2025-07-15T01:24:20.643916+00:00


def _text(name: str) -> str:
    return (FIXTURES / name).read_text()


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_text(name))
    return data


def _receive(frame: str | bytes | dict[str, Any]) -> list[Event]:
    if isinstance(frame, dict):
        frame = json.dumps(frame)
    return TreadProtocol("acct").receive(frame)


def _single_order() -> dict[str, Any]:
    """A mutable copy of the seed's single order frame."""
    return copy.deepcopy(_load("single_order_fill_received.json"))


def _parent_order() -> dict[str, Any]:
    """A mutable copy of the seed's multi-order (child fill) frame."""
    return copy.deepcopy(_load("multi_order_child_fill_received.json"))


def _only_update(events: list[Event]) -> OrderUpdate:
    assert len(events) == 1
    event = events[0]
    assert isinstance(event, OrderUpdate)
    return event


def _only_malformed(events: list[Event]) -> Malformed:
    assert len(events) == 1
    event = events[0]
    assert isinstance(event, Malformed)
    return event


def _updates(events: list[Event]) -> list[OrderUpdate]:
    out = [e for e in events if isinstance(e, OrderUpdate)]
    assert len(out) == len(events)
    return out


def _child_buy() -> OrderUpdate:
    """The buy child as both multi-order examples carry it (identical mapped fields)."""
    return OrderUpdate(
        order_id=CHILD_BUY_ID,
        status=Status.ACCEPTED,
        raw_status="ACTIVE",
        client_order_id=None,
        parent_id=PARENT_ID,
        account="test_bybit",
        symbol="BTC:PERP-USDT",
        side="buy",
        quantity=Decimal(1),
        original_quantity=Decimal(1),
        filled=Decimal("0.06"),
        remaining=Decimal("0.94"),
        avg_price=Decimal("118799.8"),
        notional=Decimal("7127.988"),
        notional_quantity=Decimal("0.06"),
        fees=Decimal("1.4255976"),
        pct_filled=Decimal(6),
        limit_price=None,
        key=CHILD_BUY_UPDATED,
        venue_time=CHILD_BUY_UPDATED / 1_000_000,
        ends_at=CHILD_BUY_TIME_END / 1_000_000,
        reason="carried",
    )


# --- the seed's examples, field by field -------------------------------------------


def test_single_order_example_maps_every_field() -> None:
    """The seed's single-order fill example becomes one fully mapped OrderUpdate."""
    events = _receive(_text("single_order_fill_received.json"))
    assert events == [
        OrderUpdate(
            order_id=SINGLE_ID,
            status=Status.ACCEPTED,
            raw_status="ACTIVE",
            client_order_id=None,
            parent_id=None,
            account="test_bybit",
            symbol="BTC:PERP-USDT",
            side="buy",
            quantity=Decimal(1),
            original_quantity=Decimal(1),
            filled=Decimal("0.079"),
            remaining=Decimal("0.921"),
            avg_price=Decimal("118842.0455696411"),
            notional=Decimal("9388.5216"),
            notional_quantity=Decimal("0.079"),
            fees=Decimal("3.37511478"),
            pct_filled=Decimal("7.9"),
            limit_price=None,
            last_fill=None,
            key=SINGLE_UPDATED,
            time_in_force=None,
            venue_time=SINGLE_UPDATED / 1_000_000,
            ends_at=SINGLE_TIME_END / 1_000_000,
            max_lifetime=None,
            amended=False,
            is_parent=False,
            child_ids=None,
            carried_child_ids=None,
            exposure=None,
            reason="order_fill_received",
        )
    ]


def test_multi_order_activated_example_maps_children_then_parent() -> None:
    """The seed's multi-order activation gives both children, then the parent."""
    events = _receive(_text("multi_order_activated.json"))
    sell_child = OrderUpdate(
        order_id=CHILD_SELL_ID,
        status=Status.ACCEPTED,
        raw_status="ACTIVE",
        client_order_id=None,
        parent_id=PARENT_ID,
        account="test_bybit",
        symbol="BTC-USDT",
        side="sell",
        quantity=Decimal(1),
        original_quantity=Decimal(1),
        filled=Decimal("0.06"),
        remaining=Decimal("0.94"),
        avg_price=Decimal("118792.1"),
        notional=Decimal("7127.526"),
        notional_quantity=Decimal("0.06"),
        fees=Decimal("7.127526"),
        pct_filled=Decimal(6),
        limit_price=None,
        key=CHILD_SELL_UPDATED,
        venue_time=CHILD_SELL_UPDATED / 1_000_000,
        ends_at=CHILD_SELL_TIME_END / 1_000_000,
        reason="carried",
    )
    parent = OrderUpdate(
        order_id=PARENT_ID,
        status=Status.ACCEPTED,
        raw_status="ACTIVE",
        client_order_id=None,
        parent_id=None,
        account="test_bybit",
        symbol="BTC:PERP-USDT,BTC-USDT",
        side=None,
        quantity=None,
        original_quantity=None,
        filled=None,
        remaining=None,
        avg_price=None,
        notional=Decimal("14255.514"),
        notional_quantity=None,
        fees=Decimal("8.5531236"),
        pct_filled=Decimal(6),
        limit_price=None,
        key=PARENT_UPDATED,
        venue_time=PARENT_UPDATED / 1_000_000,
        ends_at=(PARENT_TIME_START + 60_000_000) / 1_000_000,
        is_parent=True,
        child_ids=(CHILD_BUY_ID, CHILD_SELL_ID),
        carried_child_ids=(CHILD_BUY_ID, CHILD_SELL_ID),
        exposure=Decimal("0.462"),
        reason="order_activated",
    )
    assert events == [_child_buy(), sell_child, parent]


def test_multi_order_child_fill_example_maps_children_then_parent() -> None:
    """The seed's child-fill example gives both children (one refilled), then the parent."""
    events = _receive(_text("multi_order_child_fill_received.json"))
    sell_child = OrderUpdate(
        order_id=CHILD_SELL_ID,
        status=Status.ACCEPTED,
        raw_status="ACTIVE",
        parent_id=PARENT_ID,
        account="test_bybit",
        symbol="BTC-USDT",
        side="sell",
        quantity=Decimal(1),
        original_quantity=Decimal(1),
        filled=Decimal("0.123336"),
        remaining=Decimal("0.876664"),
        avg_price=Decimal("118793.9486865149"),
        notional=Decimal("14651.5704552"),
        notional_quantity=Decimal("0.123336"),
        fees=Decimal("14.6515704552"),
        pct_filled=Decimal("12.3336"),
        key=CHILD_SELL_UPDATED,
        venue_time=CHILD_SELL_UPDATED / 1_000_000,
        ends_at=CHILD_SELL_TIME_END / 1_000_000,
        reason="carried",
    )
    parent = OrderUpdate(
        order_id=PARENT_ID,
        status=Status.ACCEPTED,
        raw_status="ACTIVE",
        account="test_bybit",
        symbol="BTC:PERP-USDT,BTC-USDT",
        notional=Decimal("21779.5584552"),
        fees=Decimal("16.0771680552"),
        pct_filled=Decimal("9.1668"),
        key=PARENT_UPDATED,
        venue_time=PARENT_UPDATED / 1_000_000,
        ends_at=(PARENT_TIME_START + 60_000_000) / 1_000_000,
        is_parent=True,
        child_ids=(CHILD_BUY_ID, CHILD_SELL_ID),
        carried_child_ids=(CHILD_BUY_ID, CHILD_SELL_ID),
        exposure=Decimal("-7523.5824552"),
        reason="child_order_fill_received",
    )
    assert events == [_child_buy(), sell_child, parent]


def test_envelope_template_without_order_fields_is_malformed() -> None:
    """The seed's envelope template (order body elided) lacks order.id: Malformed."""
    malformed = _only_malformed(_receive(_text("order_update_template.json")))
    assert "id" in malformed.reason
    assert malformed.excerpt.startswith('{ "type": "order_update"')


def test_bytes_frame_decodes_like_text() -> None:
    """A frame received as bytes gives the same events as the same frame as text."""
    text = _text("multi_order_activated.json")
    assert _receive(text.encode()) == _receive(text)


# --- the venues.md invariants hold on the seed's examples through the mapping -------

_ALL_FIXTURES = (
    "single_order_fill_received.json",
    "multi_order_activated.json",
    "multi_order_child_fill_received.json",
)


def _singles() -> list[OrderUpdate]:
    return [u for name in _ALL_FIXTURES for u in _updates(_receive(_text(name))) if not u.is_parent]


def test_seed_singles_pct_filled_is_filled_over_target() -> None:
    """For every seed order, pct_filled = 100 x filled / quantity exactly."""
    singles = _singles()
    assert len(singles) == 5
    for u in singles:
        assert u.filled is not None
        assert u.quantity is not None
        assert u.pct_filled == 100 * u.filled / u.quantity


def test_seed_singles_remaining_is_target_minus_filled() -> None:
    """For every seed order, remaining = quantity - filled exactly."""
    for u in _singles():
        assert u.quantity is not None
        assert u.filled is not None
        assert u.remaining == u.quantity - u.filled


def test_seed_singles_notional_is_avg_price_times_base_quantity() -> None:
    """For every seed order, notional = avg_price x notional_quantity within 1e-9 relative."""
    for u in _singles():
        assert u.avg_price is not None
        assert u.notional_quantity is not None
        assert u.notional is not None
        product = u.avg_price * u.notional_quantity
        assert abs(product - u.notional) <= Decimal("1e-9") * u.notional


def test_seed_parents_aggregate_their_carried_children() -> None:
    """Parent notional, fees, pct and exposure are the sums/mean/difference of children."""
    for name in _ALL_FIXTURES[1:]:
        *children, parent = _updates(_receive(_text(name)))
        assert parent.is_parent
        assert parent.carried_child_ids == tuple(c.order_id for c in children)
        assert parent.child_ids == parent.carried_child_ids
        assert all(c.parent_id == parent.order_id for c in children)
        notionals = [c.notional for c in children]
        fees = [c.fees for c in children]
        pcts = [c.pct_filled for c in children]
        assert None not in notionals
        assert None not in fees
        assert None not in pcts
        assert parent.notional == sum(n for n in notionals if n is not None)
        assert parent.fees == sum(f for f in fees if f is not None)
        assert parent.pct_filled == sum(p for p in pcts if p is not None) / len(pcts)
        buys = sum(c.notional for c in children if c.side == "buy" and c.notional is not None)
        sells = sum(c.notional for c in children if c.side == "sell" and c.notional is not None)
        assert parent.exposure == buys - sells


# --- statuses -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("SCHEDULED", Status.PENDING),
        ("ACTIVE", Status.ACCEPTED),
        ("FINISHER", Status.ACCEPTED),
        ("COMPLETE", Status.FILLED),
        ("COMPLETED", Status.FILLED),
        ("CANCELED", Status.CANCELED),
        ("CANCELLED", Status.CANCELED),
        ("PAUSED", Status.PAUSED),
        ("complete", Status.FILLED),
        ("Paused", Status.PAUSED),
    ],
)
def test_status_maps_through_table_case_insensitively(raw: str, expected: Status) -> None:
    """Each documented status (any case) maps to its canonical status; raw is kept as sent."""
    frame = _single_order()
    frame["data"]["order"]["status"] = raw
    update = _only_update(_receive(frame))
    assert update.status is expected
    assert update.raw_status == raw


def test_status_table_lists_exactly_the_documented_statuses() -> None:
    """The plugin's status table is the eight documented spellings and nothing else."""
    assert dict(STATUS_TABLE) == {
        "SCHEDULED": Status.PENDING,
        "ACTIVE": Status.ACCEPTED,
        "FINISHER": Status.ACCEPTED,
        "COMPLETE": Status.FILLED,
        "COMPLETED": Status.FILLED,
        "CANCELED": Status.CANCELED,
        "CANCELLED": Status.CANCELED,
        "PAUSED": Status.PAUSED,
    }


def test_unknown_status_becomes_unknown_not_malformed() -> None:
    """An undocumented status gives Status.UNKNOWN with the raw value kept."""
    frame = _single_order()
    frame["data"]["order"]["status"] = "FAILED"
    update = _only_update(_receive(frame))
    assert update.status is Status.UNKNOWN
    assert update.raw_status == "FAILED"


def test_parent_status_uses_the_same_table() -> None:
    """A multi-order parent's COMPLETE maps to FILLED like a single order's."""
    frame = _parent_order()
    frame["data"]["order"]["status"] = "COMPLETE"
    parent = _updates(_receive(frame))[-1]
    assert parent.is_parent
    assert parent.status is Status.FILLED
    assert parent.raw_status == "COMPLETE"


# --- single-order field rules -------------------------------------------------------


def test_custom_order_id_becomes_client_order_id() -> None:
    """A non-empty custom_order_id is the client order id; "" means none."""
    frame = _single_order()
    frame["data"]["order"]["custom_order_id"] = "my-42"
    assert _only_update(_receive(frame)).client_order_id == "my-42"


def test_account_falls_back_to_accounts_then_none() -> None:
    """account joins account_names, else accounts, else is None."""
    frame = _single_order()
    order = frame["data"]["order"]
    order["account_names"] = ["a", "b"]
    assert _only_update(_receive(frame)).account == "a,b"
    order["account_names"] = []
    assert _only_update(_receive(frame)).account == "f574fe0f-f188-47d0-a348-9ea8fefb9d37"
    del order["account_names"]
    order["accounts"] = None
    assert _only_update(_receive(frame)).account is None


def test_sell_single_prices_notional_on_executed_qty() -> None:
    """A sell's notional_quantity is executed_qty (sell-token = base units); side lowercased."""
    frame = _single_order()
    order = frame["data"]["order"]
    order["side"] = "SELL"
    order["executed_qty"] = "0.5"
    order["executed_buy_qty"] = "59000"
    update = _only_update(_receive(frame))
    assert update.side == "sell"
    assert update.notional_quantity == Decimal("0.5")


def test_unrecognized_side_has_no_notional_quantity() -> None:
    """With a side other than buy/sell the base quantity cannot be chosen: None."""
    frame = _single_order()
    frame["data"]["order"]["side"] = "both"
    update = _only_update(_receive(frame))
    assert update.side == "both"
    assert update.notional_quantity is None


def test_limit_price_is_mapped_when_set() -> None:
    """A non-empty limit_price becomes an exact Decimal."""
    frame = _single_order()
    frame["data"]["order"]["limit_price"] = "118000.5"
    assert _only_update(_receive(frame)).limit_price == Decimal("118000.5")


def test_bare_json_numbers_decode_exactly() -> None:
    """Numbers sent unquoted are read exactly, not through binary floats."""
    text = _text("single_order_fill_received.json").replace(
        '"target_executed_qty": "0.079"', '"target_executed_qty": 0.079'
    )
    update = _only_update(_receive(text))
    assert update.filled == Decimal("0.079")
    assert str(update.filled) == "0.079"


def test_absent_numbers_are_none_not_zero() -> None:
    """Missing or null number fields map to None."""
    frame = _single_order()
    order = frame["data"]["order"]
    del order["total_fee"]
    order["average_executed_price"] = None
    update = _only_update(_receive(frame))
    assert update.fees is None
    assert update.avg_price is None


def test_negative_remaining_is_reported_not_rejected() -> None:
    """A negative target_remaining_qty is kept (an inconsistency for the core to flag)."""
    frame = _single_order()
    frame["data"]["order"]["target_remaining_qty"] = "-0.5"
    assert _only_update(_receive(frame)).remaining == Decimal("-0.5")


def test_data_order_id_may_be_absent() -> None:
    """Without data.order_id the order's own id is used."""
    frame = _single_order()
    del frame["data"]["order_id"]
    assert _only_update(_receive(frame)).order_id == SINGLE_ID


def test_single_child_reported_alone_keeps_update_type_and_parent() -> None:
    """A child order sent as its own top-level order is a single order with parent_id."""
    frame = _parent_order()
    child = frame["data"]["order"]["child_orders"][0]
    frame["data"] = {"order_id": child["id"], "update_type": "child_order_created", "order": child}
    update = _only_update(_receive(frame))
    assert update.order_id == CHILD_BUY_ID
    assert update.parent_id == PARENT_ID
    assert not update.is_parent
    assert update.reason == "child_order_created"


# --- multi-order parent rules -------------------------------------------------------


def test_parent_with_empty_child_orders_is_still_a_parent() -> None:
    """An empty child_orders key marks a parent that carries no children."""
    frame = _parent_order()
    frame["data"]["order"]["child_orders"] = []
    parent = _only_update(_receive(frame))
    assert parent.is_parent
    assert parent.carried_child_ids == ()
    assert parent.child_ids == (CHILD_BUY_ID, CHILD_SELL_ID)


def test_parent_with_only_child_order_ids_carries_none() -> None:
    """Without child_orders, carried_child_ids is None (not an empty tuple)."""
    frame = _parent_order()
    del frame["data"]["order"]["child_orders"]
    parent = _only_update(_receive(frame))
    assert parent.is_parent
    assert parent.carried_child_ids is None
    assert parent.child_ids == (CHILD_BUY_ID, CHILD_SELL_ID)


def test_parent_without_child_order_ids_declares_none() -> None:
    """Without child_order_ids, child_ids is None while carried children are still mapped."""
    frame = _parent_order()
    del frame["data"]["order"]["child_order_ids"]
    events = _updates(_receive(frame))
    assert [e.order_id for e in events] == [CHILD_BUY_ID, CHILD_SELL_ID, PARENT_ID]
    assert events[-1].child_ids is None
    assert events[-1].carried_child_ids == (CHILD_BUY_ID, CHILD_SELL_ID)


def test_parent_time_end_wins_over_start_plus_duration() -> None:
    """A parent that does send time_end ends then, not at time_start + duration."""
    frame = _parent_order()
    frame["data"]["order"]["time_end"] = "2025-07-15T02:00:00+00:00"
    parent = _updates(_receive(frame))[-1]
    assert parent.ends_at == 1_752_544_800.0


def test_parent_without_duration_has_no_end() -> None:
    """Without duration (and time_end) a parent's end is unknown: None."""
    frame = _parent_order()
    del frame["data"]["order"]["duration"]
    assert _updates(_receive(frame))[-1].ends_at is None


# --- other frames: Ignored ----------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        '{"type":"subscribed","data_type":"user_orders"}',
        '{"status":"ok","message":"keep_alive"}',
        "{}",
        '{"type":7,"data":[1,2]}',
        '{"type":null}',
    ],
)
def test_objects_of_other_or_no_type_are_ignored(frame: str) -> None:
    """A JSON object whose type is not order_update (or absent) is Ignored."""
    events = _receive(frame)
    assert len(events) == 1
    assert isinstance(events[0], Ignored)


def test_ignored_reason_names_the_type() -> None:
    """The Ignored reason says which type was not reconciled."""
    assert _receive('{"type":"pong"}') == [Ignored(reason="frame type 'pong' is not reconciled")]


# --- bad frames: Malformed ----------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        "",
        "not json",
        "[]",
        '[{"type":"order_update"}]',
        "42",
        "null",
        '"order_update"',
        b"\xff\xfe{",
        "[" * 5000 + "]" * 5000,
        '{"type":"order_update","data":' + "[" * 5000 + "]" * 5000 + "}",
    ],
)
def test_undecodable_frames_are_malformed(frame: str | bytes) -> None:
    """Non-JSON, non-object and absurdly nested frames give exactly one Malformed."""
    _only_malformed(_receive(frame))


def test_order_update_without_data_is_malformed() -> None:
    """An order_update frame with no data is Malformed."""
    assert _only_malformed(_receive('{"type":"order_update"}')).reason == (
        "order_update without data"
    )


def test_order_update_without_order_is_malformed() -> None:
    """An order_update whose data has no order is Malformed."""
    _only_malformed(_receive({"type": "order_update", "data": {"order_id": "x"}}))


def test_order_id_mismatch_is_malformed() -> None:
    """data.order_id differing from order.id is Malformed."""
    frame = _single_order()
    frame["data"]["order_id"] = "someone-else"
    assert "differs" in _only_malformed(_receive(frame)).reason


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", None),
        ("id", ""),
        ("id", 12),
        ("status", None),
        ("status", ""),
        ("status", "   "),
        ("target_executed_qty", "NaN"),
        ("target_executed_qty", "Infinity"),
        ("target_executed_qty", "1e999"),
        ("target_executed_qty", "-0.1"),
        ("target_order_qty", "lots"),
        ("target_order_qty", True),
        ("average_executed_price", [1]),
        ("total_fee", {"a": 1}),
        ("updated_at", "yesterday"),
        ("updated_at", "2025-07-15T01:21:45"),
        ("time_end", 5),
        ("account_names", "test_bybit"),
        ("child_orders", "none"),
    ],
)
def test_invalid_order_content_is_malformed(field: str, value: object) -> None:
    """A single order with a missing/invalid field value is one Malformed event."""
    frame = _single_order()
    frame["data"]["order"][field] = value
    _only_malformed(_receive(frame))


def test_missing_status_is_malformed() -> None:
    """An order without a status key is Malformed."""
    frame = _single_order()
    del frame["data"]["order"]["status"]
    assert "status" in _only_malformed(_receive(frame)).reason


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", None),
        ("status", ""),
        ("executed_notional", "NaN"),
        ("updated_at", "not a time"),
    ],
)
def test_bad_carried_child_makes_whole_parent_frame_malformed(field: str, value: object) -> None:
    """One invalid carried child fails the whole message: no partial parent aggregates."""
    frame = _parent_order()
    frame["data"]["order"]["child_orders"][1][field] = value
    _only_malformed(_receive(frame))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("fee_notional", "NaN"),
        ("notional_exposure", "x"),
        ("duration", -5),
        ("time_start", "soon"),
        ("child_order_ids", [1, 2]),
    ],
)
def test_invalid_parent_field_is_malformed(field: str, value: object) -> None:
    """A parent with an invalid own field is one Malformed event (children not emitted)."""
    frame = _parent_order()
    frame["data"]["order"][field] = value
    _only_malformed(_receive(frame))


def test_malformed_carries_an_excerpt_of_the_frame() -> None:
    """The Malformed event quotes the start of the offending frame."""
    malformed = _only_malformed(_receive("garbage frame"))
    assert malformed.excerpt == "garbage frame"


# --- receive() never raises -----------------------------------------------------------

_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(["order_update", "NaN", "1e999", "", "-1", "ACTIVE"]),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def _assert_events(events: object) -> None:
    assert isinstance(events, list)
    assert events
    assert all(isinstance(e, OrderUpdate | Ignored | Malformed) for e in events)


@given(st.text())
def test_arbitrary_text_never_raises(frame: str) -> None:
    """Any text frame gives a non-empty list of events."""
    _assert_events(TreadProtocol("acct").receive(frame))


@given(st.binary())
def test_arbitrary_bytes_never_raise(frame: bytes) -> None:
    """Any bytes frame gives a non-empty list of events."""
    _assert_events(TreadProtocol("acct").receive(frame))


@given(_json_values)
def test_arbitrary_json_never_raises(value: object) -> None:
    """Any JSON value, and any JSON value as an order_update's data, gives events."""
    _assert_events(TreadProtocol("acct").receive(json.dumps(value)))
    frame = json.dumps({"type": "order_update", "data": value})
    _assert_events(TreadProtocol("acct").receive(frame))


_ORDER_FIELDS = sorted(_load("single_order_fill_received.json")["data"]["order"])
_PARENT_FIELDS = sorted(_load("multi_order_activated.json")["data"]["order"])


@settings(max_examples=300)
@given(
    st.sampled_from(_ALL_FIXTURES),
    st.sampled_from(sorted(set(_ORDER_FIELDS) | set(_PARENT_FIELDS))),
    _json_values,
    st.booleans(),
)
def test_mutated_seed_orders_never_raise(
    name: str, field: str, value: object, in_child: bool
) -> None:
    """A seed order with any one field replaced by any JSON value never raises."""
    frame = _load(name)
    order = frame["data"]["order"]
    target = order["child_orders"][0] if in_child and "child_orders" in order else order
    target[field] = value
    _assert_events(TreadProtocol("acct").receive(json.dumps(frame)))


# --- plugin and commands --------------------------------------------------------------


def test_plugin_is_the_tread_venue() -> None:
    """The exported plugin is a VenuePlugin named tread with the status table."""
    assert isinstance(plugin, VenuePlugin)
    assert isinstance(plugin, TreadPlugin)
    assert plugin.name == "tread"
    assert plugin.status_table is STATUS_TABLE


def test_plugin_protocol_is_fresh_sans_io_object() -> None:
    """protocol(account) returns a new VenueProtocol bound to that account."""
    first = plugin.protocol("acct-1")
    second = plugin.protocol("acct-1")
    assert isinstance(first, VenueProtocol)
    assert isinstance(first, TreadProtocol)
    assert first is not second
    assert first.account == "acct-1"


def test_connection_url_appends_encoded_token() -> None:
    """The token is added as a percent-encoded token query parameter."""
    url = connection_url("wss://app.tread.fi/ws/orders/", "a b/c+d&e")
    assert url == "wss://app.tread.fi/ws/orders/?token=a%20b%2Fc%2Bd%26e"


def test_connection_url_keeps_existing_query() -> None:
    """An existing query string is kept and the token appended with &."""
    url = connection_url("wss://h/ws/orders/?x=1", "tok")
    assert url == "wss://h/ws/orders/?x=1&token=tok"


def test_connection_url_rejects_empty_token() -> None:
    """An empty token is a configuration error, raised at once."""
    with pytest.raises(ValueError, match="empty"):
        connection_url("wss://h/ws/orders/", "")


@pytest.mark.parametrize(
    ("build", "fixture", "expected"),
    [
        (
            subscribe_frame,
            "command_subscribe.json",
            '{"command":"subscribe","data_type":"user_orders"}',
        ),
        (
            unsubscribe_frame,
            "command_unsubscribe.json",
            '{"command":"unsubscribe","data_type":"user_orders"}',
        ),
        (keep_alive_frame, "command_keep_alive.json", '{"command":"keep_alive"}'),
    ],
)
def test_command_frames_are_the_seed_messages_compact(
    build: Callable[[], str], fixture: str, expected: str
) -> None:
    """Each command frame is the seed's JSON, compact, keys in the seed's order."""
    text = build()
    assert text == expected
    assert json.loads(text) == _load(fixture)


def test_auth_refused_close_code_is_4001() -> None:
    """The server's bad-token close code is 4001."""
    assert AUTH_REFUSED_CLOSE_CODE == 4001
