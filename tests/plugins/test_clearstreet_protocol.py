"""Clear Street Studio ``activity`` channel: frames -> normalized events."""

from __future__ import annotations

import json
from datetime import UTC
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.events import (
    Event,
    Fill,
    Heartbeat,
    Ignored,
    Malformed,
    OrderUpdate,
    Passthrough,
    PositionUpdate,
    ReplayEnd,
    Sequenced,
    Subscribed,
    VenueError,
)
from reconciler.lifecycle import Status
from reconciler.plugin import VenuePlugin, VenueProtocol
from reconciler_clearstreet import (
    STATUS_TABLE,
    ClearStreetProtocol,
    plugin,
    subscribe_frame,
)
from reconciler_clearstreet._mapping import day_of, load_zone

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "clearstreet"
DAY = "2024-03-21"


def _text(name: str) -> str:
    return (FIXTURES / f"{name}.json").read_text()


def _receive(frame: str | bytes) -> list[Event]:
    return ClearStreetProtocol("100000").receive(frame)


def _sequenced(frame: str | bytes) -> Sequenced:
    events = _receive(frame)
    assert len(events) == 1
    assert isinstance(events[0], Sequenced)
    return events[0]


def _frame(payload: object, *, sequence: int | None = 7, timestamp: object = 1711028700000) -> str:
    envelope: dict[str, object] = {"timestamp": timestamp, "payload": payload}
    if sequence is not None:
        envelope["sequence"] = sequence
    return json.dumps(envelope)


def _order_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "order_id": "42817365",
        "reference_id": "strat-a-1",
        "version": 2,
        "updated_at": 1711028700041,
        "account_id": "100000",
        "symbol": "AAPL",
        "side": "buy",
        "order_type": "limit",
        "quantity": "100",
        "filled_quantity": "0",
        "price": "171.25",
        "time_in_force": "day",
        "order_update_reason": "execution-report",
        "state": "open",
        "status": "new",
    }
    data.update(overrides)
    return data


def _order(**overrides: object) -> dict[str, object]:
    return {"type": "order-update", "data": _order_data(**overrides)}


def _only_event(frame: str) -> Event:
    """The single event inside a sequenced frame."""
    seq = _sequenced(frame)
    assert len(seq.events) == 1
    return seq.events[0]


# --- the seed's examples ----------------------------------------------------------------


def test_subscribe_ack_success_is_subscribed() -> None:
    """A successful subscribe-activity-ack becomes Subscribed(activity, account id)."""
    assert _receive(_text("seed_subscribe_activity_ack")) == [
        Subscribed(channels=("activity",), detail="<account-id>")
    ]


def test_subscribe_ack_failure_is_auth_error() -> None:
    """A refused subscription becomes VenueError(auth=True) carrying the venue's details."""
    assert _receive(_text("ack_failure")) == [
        VenueError(message="Not authorized for account 100000", auth=True)
    ]


def test_replay_complete_is_replay_end() -> None:
    """replay-complete becomes ReplayEnd."""
    assert _receive(_text("seed_replay_complete")) == [ReplayEnd()]


def test_heartbeat_is_heartbeat() -> None:
    """An unsequenced heartbeat becomes Heartbeat."""
    assert _receive(_text("heartbeat")) == [Heartbeat()]


def test_error_notice_is_venue_error() -> None:
    """error-notice becomes a (non-auth) VenueError with the details text."""
    assert _receive(_text("error_notice")) == [
        VenueError(message="Unable to parse request: missing payload.account_id")
    ]


def test_seed_order_update_modify_is_amended_stop_limit() -> None:
    """The seed's order-update (a modify of a stop-limit) maps every field."""
    seq = _sequenced(_text("seed_order_update"))
    assert (seq.sequence, seq.day) == (123, DAY)
    assert seq.events == (
        OrderUpdate(
            order_id="42817399",
            status=Status.ACCEPTED,
            raw_status="replaced",
            client_order_id="strat-b-20240321-0007",
            account="100000",
            symbol="XYZ",
            side="sell-short",
            quantity=Decimal(300),
            original_quantity=None,
            filled=Decimal(150),
            remaining=None,
            avg_price=Decimal("38.5"),
            limit_price=Decimal("38.50"),
            key=3,
            time_in_force="day",
            venue_time=1711045800.5,
            max_lifetime=None,
            amended=True,
            reason="modify",
        ),
    )


def test_seed_trade_notice_is_fill() -> None:
    """The seed's trade-notice becomes a Fill with every mapped field."""
    seq = _sequenced(_text("seed_trade_notice"))
    assert (seq.sequence, seq.day) == (124, DAY)
    assert seq.events == (
        Fill(
            fill_id="91820411",
            order_id="42817399",
            quantity=Decimal(150),
            price=Decimal("38.50"),
            side="sell-short",
            symbol="XYZ",
            venue_time=1711047601.25,
        ),
    )


def test_seed_position_update_keeps_short_quantity() -> None:
    """position-update maps symbol, signed quantity, account and exact average cost."""
    seq = _sequenced(_text("seed_position_update"))
    assert (seq.sequence, seq.day) == (124, DAY)
    assert seq.events == (
        PositionUpdate(
            symbol="XYZ",
            quantity=Decimal(-150),
            account="100000",
            average_cost=Decimal("38.5"),
        ),
    )


def test_seed_buying_power_update_is_passthrough() -> None:
    """buying-power-update is passed through with its data object as a plain dict."""
    seq = _sequenced(_text("seed_buying_power_update"))
    assert (seq.sequence, seq.day) == (124, DAY)
    assert seq.events == (
        Passthrough(
            kind="buying-power-update",
            data={
                "account_id": "100000",
                "buying_power": "1250000.00",
                "day_trade_buying_power": "4000000.00",
                "overnight_buying_power": "500000.00",
            },
        ),
    )


def test_seed_locate_inventory_update_is_passthrough() -> None:
    """locate-inventory-update is passed through with its data object as a plain dict."""
    seq = _sequenced(_text("seed_locate_inventory_update"))
    assert seq.events == (
        Passthrough(
            kind="locate-inventory-update",
            data={
                "account_id": "100000",
                "symbol": "TSLA",
                "located_quantity": "500",
                "used_quantity": "150",
                "available_quantity": "350",
            },
        ),
    )


def test_passthrough_numbers_are_exact_decimals() -> None:
    """A JSON number inside passthrough data arrives as an exact Decimal, not a float."""
    payload = {"type": "buying-power-update", "data": {"buying_power": 1250000.10, "n": 3}}
    assert _only_event(_frame(payload)) == Passthrough(
        kind="buying-power-update", data={"buying_power": Decimal("1250000.10"), "n": 3}
    )


# --- an order's life ----------------------------------------------------------------------


def _life_order(
    *,
    version: int,
    status: Status,
    raw: str,
    at: float,
    filled: str,
    avg: str | None = None,
    reason: str = "execution-report",
) -> OrderUpdate:
    return OrderUpdate(
        order_id="42817365",
        status=status,
        raw_status=raw,
        client_order_id="strat-a-20240321-0001",
        account="100000",
        symbol="AAPL",
        side="buy",
        quantity=Decimal(100),
        filled=Decimal(filled),
        avg_price=None if avg is None else Decimal(avg),
        limit_price=Decimal("171.25"),
        key=version,
        time_in_force="day",
        venue_time=at,
        reason=reason,
    )


ORDER_LIFE: list[tuple[str, Event]] = [
    (
        "order_life_1_pending_new",
        _life_order(
            version=1,
            status=Status.PENDING,
            raw="pending-new",
            at=1711028700.0,
            filled="0",
            reason="place",
        ),
    ),
    (
        "order_life_2_new",
        _life_order(version=2, status=Status.ACCEPTED, raw="new", at=1711028700.041, filled="0"),
    ),
    (
        "order_life_3_trade",
        Fill(
            fill_id="91820017",
            order_id="42817365",
            quantity=Decimal(40),
            price=Decimal("171.25"),
            side="buy",
            symbol="AAPL",
            venue_time=1711028712.345,
        ),
    ),
    (
        "order_life_4_partially_filled",
        _life_order(
            version=3,
            status=Status.PARTIALLY_FILLED,
            raw="partially-filled",
            at=1711028712.345,
            filled="40",
            avg="171.25",
        ),
    ),
    (
        "order_life_5_position",
        PositionUpdate(
            symbol="AAPL", quantity=Decimal(40), account="100000", average_cost=Decimal("171.25")
        ),
    ),
    (
        "order_life_6_trade",
        Fill(
            fill_id="91820018",
            order_id="42817365",
            quantity=Decimal(60),
            price=Decimal("171.20"),
            side="buy",
            symbol="AAPL",
            venue_time=1711028731.9,
        ),
    ),
    (
        "order_life_7_filled",
        _life_order(
            version=4,
            status=Status.FILLED,
            raw="filled",
            at=1711028731.9,
            filled="100",
            avg="171.22",
        ),
    ),
    (
        "order_life_8_position",
        PositionUpdate(
            symbol="AAPL", quantity=Decimal(100), account="100000", average_cost=Decimal("171.22")
        ),
    ),
]


@pytest.mark.parametrize(("number", "case"), list(enumerate(ORDER_LIFE, 1)))
def test_order_life_fixture_decodes_exactly(number: int, case: tuple[str, Event]) -> None:
    """Each frame of a pending-new -> filled order life is one Sequenced with the exact event."""
    name, expected = case
    seq = _sequenced(_text(name))
    assert (seq.sequence, seq.day, seq.events) == (number, DAY, (expected,))


def test_order_life_digests_are_distinct() -> None:
    """Every message of the order life has its own digest."""
    digests = {_sequenced(_text(name)).digest for name, _ in ORDER_LIFE}
    assert len(digests) == len(ORDER_LIFE)


# --- field mapping details ------------------------------------------------------------------


def test_ioc_market_order_has_zero_lifetime_and_no_limit_price() -> None:
    """time_in_force ioc gives max_lifetime 0; a market order's price is not a limit price."""
    event = _only_event(_frame(_order(order_type="market", time_in_force="ioc")))
    assert isinstance(event, OrderUpdate)
    assert (event.max_lifetime, event.limit_price, event.time_in_force) == (0.0, None, "ioc")


def test_empty_reference_id_is_no_client_order_id() -> None:
    """An empty reference_id means the venue did not say: client_order_id is None."""
    event = _only_event(_frame(_order(reference_id="")))
    assert isinstance(event, OrderUpdate)
    assert event.client_order_id is None


def test_missing_version_gives_no_key() -> None:
    """An order-update without version has key None (never 0)."""
    data = _order_data()
    del data["version"]
    event = _only_event(_frame({"type": "order-update", "data": data}))
    assert isinstance(event, OrderUpdate)
    assert event.key is None


def test_side_is_lowercased() -> None:
    """The side is lowercased as sent (SELL-SHORT -> sell-short)."""
    event = _only_event(_frame(_order(side="SELL-SHORT")))
    assert isinstance(event, OrderUpdate)
    assert event.side == "sell-short"


def test_pending_replace_is_amended() -> None:
    """A pending-replace status marks the update as an amendment even without 'modify'."""
    event = _only_event(_frame(_order(status="pending-replace")))
    assert isinstance(event, OrderUpdate)
    assert (event.status, event.amended) == (Status.ACCEPTED, True)


def test_place_is_not_amended() -> None:
    """An ordinary status report is not an amendment."""
    event = _only_event(_frame(_order(status="new", order_update_reason="place")))
    assert isinstance(event, OrderUpdate)
    assert event.amended is False


def test_unknown_order_fields_are_tolerated() -> None:
    """Fields the plugin does not read (stop_price, text, new ones) do not break decoding."""
    event = _only_event(_frame(_order(stop_price="1", text="hi", brand_new={"x": [1]})))
    assert isinstance(event, OrderUpdate)
    assert event.order_id == "42817365"


def test_unsequenced_order_update_is_not_wrapped() -> None:
    """An order-update without a sequence field is returned as a bare OrderUpdate."""
    events = _receive(_frame(_order(), sequence=None))
    assert len(events) == 1
    assert isinstance(events[0], OrderUpdate)


EXPECTED_STATUSES = {
    "new": Status.ACCEPTED,
    "partially-filled": Status.PARTIALLY_FILLED,
    "filled": Status.FILLED,
    "canceled": Status.CANCELED,
    "replaced": Status.ACCEPTED,
    "pending-cancel": Status.PENDING_CANCEL,
    "stopped": Status.ACCEPTED,
    "rejected": Status.REJECTED,
    "suspended": Status.PAUSED,
    "pending-new": Status.PENDING,
    "calculated": Status.ACCEPTED,
    "expired": Status.EXPIRED,
    "accepted-for-bidding": Status.ACCEPTED,
    "pending-replace": Status.ACCEPTED,
    "done-for-day": Status.EXPIRED,
}


def test_status_table_is_exactly_the_documented_one() -> None:
    """The plugin's status table has exactly the 15 documented rows."""
    assert dict(STATUS_TABLE) == EXPECTED_STATUSES


@pytest.mark.parametrize(("raw", "status"), sorted(EXPECTED_STATUSES.items()))
def test_each_status_maps_through_the_table(raw: str, status: Status) -> None:
    """Each raw status in an order-update maps to its canonical status, raw kept."""
    event = _only_event(_frame(_order(status=raw)))
    assert isinstance(event, OrderUpdate)
    assert (event.status, event.raw_status) == (status, raw)


def test_unmapped_status_is_unknown() -> None:
    """A status outside the table becomes Status.UNKNOWN with raw_status preserved."""
    event = _only_event(_frame(_order(status="Filled")))
    assert isinstance(event, OrderUpdate)
    assert (event.status, event.raw_status) == (Status.UNKNOWN, "Filled")


# --- digest and day ------------------------------------------------------------------------


REORDERED = (
    '{"payload": {"data": {"status": "new", "quantity": "100", "order_id": "1"},'
    ' "type": "order-update"},\n  "sequence": 9, "timestamp": 1711030000000}'
)
ORIGINAL = (
    '{"timestamp":1711028700000,"sequence":9,"payload":{"type":"order-update",'
    '"data":{"order_id":"1","quantity":"100","status":"new"}}}'
)


def test_digest_ignores_timestamp_key_order_and_whitespace() -> None:
    """A replayed message (other send time, other key order/spacing) has the same digest."""
    assert _sequenced(ORIGINAL).digest == _sequenced(REORDERED).digest


def test_digest_differs_for_different_content() -> None:
    """The same sequence number with different content has a different digest."""
    other = ORIGINAL.replace('"quantity":"100"', '"quantity":"101"')
    assert _sequenced(ORIGINAL).digest != _sequenced(other).digest


def test_digest_differs_for_different_sequence() -> None:
    """The same content under another sequence number has a different digest."""
    other = ORIGINAL.replace('"sequence":9', '"sequence":10')
    assert _sequenced(ORIGINAL).digest != _sequenced(other).digest


def test_digest_tells_number_from_string() -> None:
    """A JSON number and the same digits as a string are different content."""
    as_number = _frame({"type": "buying-power-update", "data": {"bp": 1.5}})
    as_string = _frame({"type": "buying-power-update", "data": {"bp": "1.5"}})
    assert _sequenced(as_number).digest != _sequenced(as_string).digest


@pytest.mark.parametrize(
    ("millis", "day"),
    [
        (1711079999999, "2024-03-21"),  # 2024-03-21 23:59:59.999 EDT (03:59:59.999Z)
        (1711080000000, "2024-03-22"),  # 2024-03-22 00:00:00.000 EDT (04:00:00Z)
        (1705381199999, "2024-01-15"),  # 2024-01-15 23:59:59.999 EST (04:59:59.999Z)
        (1705381200000, "2024-01-16"),  # 2024-01-16 00:00:00.000 EST (05:00:00Z)
        (1711076847030, "2024-03-21"),  # the seed's timestamp: already the 22nd in UTC
    ],
)
def test_day_is_new_york_date_around_midnight(millis: int, day: str) -> None:
    """The Sequenced day is the New York calendar date of the envelope timestamp."""
    assert _sequenced(_frame({"type": "heartbeat"}, timestamp=millis)).day == day


def test_missing_timestamp_gives_empty_day() -> None:
    """A sequenced frame without timestamp has day "" and its event intact."""
    frame = '{"sequence": 5, "payload": {"type": "heartbeat"}}'
    assert _receive(frame) == [
        Sequenced(
            sequence=5,
            digest=_sequenced(frame).digest,
            day="",
            kind="heartbeat",
            events=(Heartbeat(),),
        )
    ]


def test_null_timestamp_gives_empty_day() -> None:
    """A null timestamp is treated as a missing one."""
    assert _sequenced(_frame({"type": "heartbeat"}, timestamp=None)).day == ""


def test_bad_timestamp_in_sequenced_frame_is_wrapped_malformed() -> None:
    """A non-numeric timestamp keeps the sequence accounted: Sequenced(day="", Malformed)."""
    seq = _sequenced(_frame({"type": "heartbeat"}, timestamp="yesterday"))
    assert (seq.sequence, seq.day, len(seq.events)) == (7, "", 1)
    assert isinstance(seq.events[0], Malformed)
    assert seq.events[0].reason.startswith("timestamp:")


def test_zone_falls_back_to_utc_without_zone_data() -> None:
    """When a zone cannot be loaded, UTC is used, and days are then UTC dates."""
    zone = load_zone("Nowhere/Atlantis")
    assert zone is UTC
    assert day_of(1711076847030, zone) == "2024-03-22"


# --- malformed and ignored ----------------------------------------------------------------


def test_malformed_content_in_sequenced_frame_is_wrapped() -> None:
    """A known type with bad content still yields Sequenced (with its day) holding Malformed."""
    seq = _sequenced(_frame(_order(quantity="abc")))
    assert (seq.sequence, seq.day, len(seq.events)) == (7, DAY, 1)
    event = seq.events[0]
    assert isinstance(event, Malformed)
    assert event.reason == "quantity: not a number: 'abc'"
    assert event.excerpt.startswith('{"timestamp": 1711028700000')


def test_missing_data_in_sequenced_frame_is_wrapped_malformed() -> None:
    """An order-update without data is Malformed inside Sequenced, naming the type."""
    event = _only_event(_frame({"type": "order-update"}))
    assert isinstance(event, Malformed)
    assert event.reason == "order-update: Object missing required field `data`"


def test_sequenced_frame_without_payload_is_wrapped_malformed() -> None:
    """A sequence number with no payload is still accounted for, as Malformed."""
    seq = _sequenced('{"timestamp": 1711028700000, "sequence": 3}')
    assert (seq.sequence, seq.day) == (3, DAY)
    assert seq.events == (
        Malformed(
            reason="frame has no payload", excerpt='{"timestamp": 1711028700000, "sequence": 3}'
        ),
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("quantity", "NaN"),
        ("quantity", "-5"),
        ("filled_quantity", "1e999"),
        ("average_price", 1e300),
        ("price", "Infinity"),
        ("order_id", ""),
        ("order_id", 42),
        ("version", "3"),
        ("updated_at", -1),
        ("side", 1),
    ],
)
def test_bad_order_field_is_malformed(field: str, value: object) -> None:
    """An order-update field that fails validation makes the message Malformed."""
    event = _only_event(_frame(_order(**{field: value})))
    assert isinstance(event, Malformed)
    assert field in event.reason or "order-update" in event.reason


def test_huge_exponent_number_is_malformed() -> None:
    """A number Decimal cannot even hold (1e99999999999999999999) is Malformed, not a crash."""
    frame = _frame(_order()).replace(
        '"filled_quantity": "0"', '"filled_quantity": 1e99999999999999999999'
    )
    event = _only_event(frame)
    assert isinstance(event, Malformed)


def test_trade_without_quantity_is_malformed() -> None:
    """A trade-notice must carry a quantity."""
    payload = {"type": "trade-notice", "data": {"trade_id": "1", "order_id": "2", "price": "3"}}
    event = _only_event(_frame(payload))
    assert isinstance(event, Malformed)
    assert event.reason == "trade-notice: quantity is missing"


def test_position_without_symbol_is_malformed() -> None:
    """A position-update must name its symbol."""
    event = _only_event(_frame({"type": "position-update", "data": {"quantity": "1"}}))
    assert isinstance(event, Malformed)
    assert "symbol" in event.reason


def test_passthrough_data_must_be_an_object() -> None:
    """A buying-power-update whose data is not an object is Malformed."""
    event = _only_event(_frame({"type": "buying-power-update", "data": [1, 2]}))
    assert isinstance(event, Malformed)
    assert event.reason.startswith("buying-power-update:")


def test_unknown_payload_type_is_ignored() -> None:
    """An unsequenced payload of an unknown type is Ignored, naming the type."""
    assert _receive(_frame({"type": "market-data", "x": 1}, sequence=None)) == [
        Ignored(reason="unknown payload type 'market-data'")
    ]


def test_unknown_payload_type_in_sequenced_frame_is_wrapped_ignored() -> None:
    """A sequenced unknown type still accounts for its sequence number, as Ignored."""
    seq = _sequenced(_frame({"type": "future-thing", "data": {}}, sequence=11))
    assert (seq.sequence, seq.day, seq.events) == (
        11,
        DAY,
        (Ignored(reason="unknown payload type 'future-thing'"),),
    )


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        b"\xff\xfe",
        "[1, 2]",
        "42",
        "null",
        '"text"',
        "{}",
        '{"timestamp": 1}',
        '{"payload": null}',
        '{"payload": 5}',
        '{"payload": {}}',
        '{"payload": {"type": 5}}',
    ],
)
def test_undecodable_unsequenced_frame_is_malformed(frame: str | bytes) -> None:
    """Non-JSON, non-objects, no payload or a payload without a string type: one Malformed."""
    events = _receive(frame)
    assert len(events) == 1
    assert isinstance(events[0], Malformed)


@pytest.mark.parametrize("sequence", ["12", 1.5, 1e3, True, -1, 2**63, None])
def test_invalid_sequence_is_unwrapped_malformed(sequence: object) -> None:
    """A sequence that is not a non-negative 64-bit integer (or is null) makes it Malformed."""
    frame = json.dumps({"timestamp": 1, "sequence": sequence, "payload": {"type": "heartbeat"}})
    events = _receive(frame)
    assert len(events) == 1
    assert isinstance(events[0], Malformed)
    assert "sequence" in events[0].reason


def test_deeply_nested_frame_is_malformed() -> None:
    """JSON nested beyond msgspec's recursion limit is Malformed, not a RecursionError."""
    deep = "[" * 100_000 + "]" * 100_000
    for frame in (deep, f'{{"sequence": 1, "payload": {deep}}}', f'{{"x": {deep}}}'):
        events = _receive(frame)
        assert len(events) == 1
        inner = events[0].events[0] if isinstance(events[0], Sequenced) else events[0]
        assert isinstance(inner, Malformed)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children),
    max_leaves=20,
)
TYPES = st.sampled_from(
    [
        "order-update",
        "trade-notice",
        "position-update",
        "buying-power-update",
        "subscribe-activity-ack",
        "error-notice",
        "heartbeat",
        "whatever",
    ]
)


@settings(max_examples=300)
@given(st.text() | st.binary())
def test_receive_never_raises_on_arbitrary_input(frame: str | bytes) -> None:
    """Arbitrary text or bytes always give a list of events, never an exception."""
    events = _receive(frame)
    assert isinstance(events, list)
    assert len(events) == 1


@settings(max_examples=300)
@given(JSON)
def test_receive_never_raises_on_arbitrary_json(value: object) -> None:
    """Any JSON document gives exactly one event."""
    events = _receive(json.dumps(value))
    assert len(events) == 1


@settings(max_examples=500)
@given(
    kind=TYPES,
    data=st.dictionaries(
        st.sampled_from(
            ["order_id", "trade_id", "status", "quantity", "price", "symbol", "version", "x"]
        ),
        JSON,
    ),
    sequence=st.none() | st.integers(min_value=0, max_value=2**63 - 1),
    timestamp=JSON,
)
def test_receive_never_raises_on_envelope_shaped_json(
    kind: str, data: dict[str, object], sequence: int | None, timestamp: object
) -> None:
    """Envelopes of known and unknown types with random data give one well-formed event."""
    events = _receive(_frame({"type": kind, "data": data}, sequence=sequence, timestamp=timestamp))
    assert len(events) == 1
    if sequence is not None:
        assert isinstance(events[0], Sequenced)
        assert events[0].sequence == sequence
        assert len(events[0].events) == 1


# --- commands and plugin --------------------------------------------------------------------


def test_subscribe_frame_matches_seed_message() -> None:
    """subscribe_frame builds the seed's subscribe-activity message, compact."""
    frame = subscribe_frame("<access-token>", "<account-id>")
    assert json.loads(frame) == json.loads(_text("seed_subscribe_activity"))
    assert frame == (
        '{"authorization":"<access-token>",'
        '"payload":{"type":"subscribe-activity","account_id":"<account-id>"}}'
    )


@pytest.mark.parametrize(("token", "account"), [("", "100000"), ("jwt", "")])
def test_subscribe_frame_rejects_empty_arguments(token: str, account: str) -> None:
    """An empty token or account id is a caller error, not a frame to send."""
    with pytest.raises(ValueError, match="empty"):
        subscribe_frame(token, account)


def test_plugin_identity_and_protocol() -> None:
    """The exported plugin is the clearstreet VenuePlugin and builds sans-IO protocols."""
    assert isinstance(plugin, VenuePlugin)
    assert (plugin.name, plugin.status_table) == ("clearstreet", STATUS_TABLE)
    proto = plugin.protocol("100000")
    assert isinstance(proto, ClearStreetProtocol)
    assert isinstance(proto, VenueProtocol)
    assert proto.account == "100000"


def test_events_are_encodable() -> None:
    """Every fixture's events encode with msgspec (the core records them)."""
    for path in sorted(FIXTURES.glob("*.json")):
        if path.stem == "seed_subscribe_activity":
            continue
        assert msgspec.json.encode(_receive(path.read_text()))


def test_sequenced_message_carries_its_payload_type() -> None:
    """kind names the payload type, so (sequence, kind) identifies a message."""
    frame = json.dumps(
        {"timestamp": 1711076847030, "sequence": 9, "payload": {"type": "replay-complete"}}
    )
    assert _sequenced(frame).kind == "replay-complete"
