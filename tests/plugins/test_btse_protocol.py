"""BTSE futures plugin: frame decoding, status mapping and command builders."""

from __future__ import annotations

import hashlib
import hmac
import json
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.events import (
    Event,
    Heartbeat,
    Ignored,
    Malformed,
    OrderUpdate,
    Subscribed,
    VenueError,
)
from reconciler.lifecycle import Status
from reconciler.plugin import VenuePlugin, VenueProtocol
from reconciler_btse import (
    PING_FRAME,
    STATUS_TABLE,
    BtseProtocol,
    auth_frame,
    plugin,
    sign,
    subscribe_frame,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "btse"
EVENT_TYPES = (
    OrderUpdate,
    Heartbeat,
    Ignored,
    Malformed,
    Subscribed,
    VenueError,
)

SEED_ORDER_ID = "45e8bb8d-d708-4a90-a428-c61583f90efe"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def receive(frame: str | bytes) -> list[Event]:
    return BtseProtocol("acct").receive(frame)


def element(**overrides: object) -> dict[str, object]:
    """The seed example's data element with some fields replaced (None removes one)."""
    base: dict[str, object] = json.loads(fixture("notification_fully_matched.json"))["data"][0]
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def notification(*elements: object) -> str:
    return json.dumps({"topic": "notificationApiV4", "data": list(elements)})


def one_update(**overrides: object) -> OrderUpdate:
    events = receive(notification(element(**overrides)))
    assert len(events) == 1
    event = events[0]
    assert isinstance(event, OrderUpdate), event
    return event


# --- plugin object -------------------------------------------------------------------


def test_plugin_is_a_venue_plugin_named_btse() -> None:
    """The exported plugin is a VenuePlugin named btse whose protocol is a VenueProtocol."""
    assert isinstance(plugin, VenuePlugin)
    assert plugin.name == "btse"
    assert plugin.status_table is STATUS_TABLE
    proto = plugin.protocol("main")
    assert isinstance(proto, BtseProtocol)
    assert isinstance(proto, VenueProtocol)
    assert proto.account == "main"


# --- the seed example ----------------------------------------------------------------


def test_seed_example_decodes_to_exact_order_update() -> None:
    """The seed page's notificationApiV4 example gives exactly one fully mapped OrderUpdate."""
    events = receive(fixture("notification_fully_matched.json"))
    assert events == [
        OrderUpdate(
            order_id=SEED_ORDER_ID,
            status=Status.FILLED,
            raw_status="4",
            client_order_id=None,
            symbol="BTC-PERP",
            side="buy",
            quantity=Decimal(900),
            original_quantity=Decimal(900),
            filled=Decimal(900),
            remaining=Decimal(0),
            avg_price=Decimal("111085.1"),
            last_fill=Decimal(900),
            limit_price=None,
            key=1752147101805,
            venue_time=1752147101.805,
            time_in_force="GTC",
            max_lifetime=None,
            fees=None,
            reason=None,
            amended=False,
        )
    ]


def test_seed_example_sizes_satisfy_current_equals_filled_plus_remaining() -> None:
    """In the seed example currentOrderSize = totalFilledSize + remainingSize."""
    update = one_update()
    assert update.quantity is not None
    assert update.filled is not None
    assert update.remaining is not None
    assert update.quantity == update.filled + update.remaining
    assert update.original_quantity == update.quantity


def test_seed_example_decodes_from_bytes_too() -> None:
    """A bytes frame decodes exactly like the same text frame."""
    text = fixture("notification_fully_matched.json")
    assert receive(text.encode()) == receive(text)


def test_seed_example_order_type_77_type_0_is_not_a_limit_order() -> None:
    """orderType 77 with type 0 (the seed's own contradiction) decodes, with no limit price."""
    update = one_update()
    assert update.limit_price is None
    assert update.avg_price == Decimal("111085.1")


# --- status mapping ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (2, Status.ACCEPTED),
        (4, Status.FILLED),
        (5, Status.PARTIALLY_FILLED),
        (6, Status.CANCELED),
        (9, Status.UNTRIGGERED),
        (10, Status.TRIGGERED),
        (15, Status.REJECTED),
    ],
)
def test_seed_status_codes_map_exactly(code: int, expected: Status) -> None:
    """Each of the seed page's seven status codes maps to its canonical status."""
    update = one_update(status=code)
    assert update.status is expected
    assert update.raw_status == str(code)


@pytest.mark.parametrize(("code", "expected"), [(1, Status.REJECTED), (8, Status.REJECTED)])
def test_venues_md_rejection_codes_map_to_rejected(code: int, expected: Status) -> None:
    """MARKET_UNAVAILABLE (1) and INSUFFICIENT_BALANCE (8) from venues.md are rejections."""
    assert one_update(status=code).status is expected


def test_status_table_is_exactly_the_documented_nine_codes() -> None:
    """The status table holds the seven seed codes plus 1 and 8, nothing else."""
    assert dict(STATUS_TABLE) == {
        "1": Status.REJECTED,
        "2": Status.ACCEPTED,
        "4": Status.FILLED,
        "5": Status.PARTIALLY_FILLED,
        "6": Status.CANCELED,
        "8": Status.REJECTED,
        "9": Status.UNTRIGGERED,
        "10": Status.TRIGGERED,
        "15": Status.REJECTED,
    }


@pytest.mark.parametrize("code", [0, 3, 7, 12, 16, 17, 99, 123, 1003, 1004, -1])
def test_unknown_status_codes_become_unknown_and_keep_quantities(code: int) -> None:
    """An unmapped status code gives Status.UNKNOWN with its raw code and all sizes intact."""
    update = one_update(status=code)
    assert update.status is Status.UNKNOWN
    assert update.raw_status == str(code)
    assert update.quantity == Decimal(900)
    assert update.filled == Decimal(900)


def test_amend_status_123_marks_the_update_amended() -> None:
    """Status 123 (AMEND_ORDER) sets amended=True; other codes do not."""
    assert one_update(status=123).amended is True
    assert one_update(status=2).amended is False


def test_non_integer_status_is_malformed() -> None:
    """A status sent as a string, float or boolean makes that element Malformed."""
    for bad in ("4", 4.0, True):
        [event] = receive(notification(element(status=bad)))
        assert isinstance(event, Malformed)
        assert "status" in event.reason


def test_missing_status_is_malformed() -> None:
    """An element without a status is Malformed."""
    data = element()
    del data["status"]
    [event] = receive(notification(data))
    assert isinstance(event, Malformed)
    assert "status" in event.reason


def test_out_of_range_status_is_malformed_not_raised() -> None:
    """A status integer beyond 64 bits is Malformed (never an overflow)."""
    [event] = receive(notification(element(status=10**30)))
    assert isinstance(event, Malformed)


# --- field mapping -------------------------------------------------------------------


def test_limit_order_type_76_sets_limit_price() -> None:
    """type 76 (limit) makes price the limit price."""
    update = one_update(type=76, orderType=None, price=50000.5)
    assert update.limit_price == Decimal("50000.5")


def test_limit_order_type_in_order_type_field_sets_limit_price() -> None:
    """orderType 76 alone also marks a limit order."""
    update = one_update(type=0, orderType=76, price="42000")
    assert update.limit_price == Decimal(42000)


def test_market_and_algo_orders_have_no_limit_price() -> None:
    """type 77 (market) and 80 (algo) leave limit_price None."""
    assert one_update(type=77, orderType=None).limit_price is None
    assert one_update(type=80, orderType=80).limit_price is None


def test_client_order_id_is_kept_when_sent() -> None:
    """A non-empty clOrderID becomes client_order_id; the seed's "" gives None."""
    assert one_update(clOrderID="my-42").client_order_id == "my-42"
    assert one_update().client_order_id is None


def test_side_is_lowercased() -> None:
    """SELL becomes sell."""
    assert one_update(side="SELL").side == "sell"


@pytest.mark.parametrize(
    ("tif", "lifetime"),
    [
        ("IOC", 0.0),
        ("FOK", 0.0),
        ("HALFMIN", 30.0),
        ("FIVEMIN", 300.0),
        ("HOUR", 3600.0),
        ("TWELVEHOUR", 43200.0),
        ("DAY", 86400.0),
        ("WEEK", 604800.0),
        ("MONTH", 2592000.0),
        ("GTC", None),
        ("SOMEDAY", None),
    ],
)
def test_time_in_force_gives_max_lifetime(tif: str, lifetime: float | None) -> None:
    """Each time_in_force maps to its bound in seconds; GTC and unknown ones to None."""
    update = one_update(time_in_force=tif)
    assert update.time_in_force == tif
    assert update.max_lifetime == lifetime


def test_partial_fill_sizes_are_mapped_field_by_field() -> None:
    """Each size field lands in its own normalized field."""
    update = one_update(
        status=5,
        originalOrderSize=1000,
        currentOrderSize=900,
        filledSize=100,
        totalFilledSize=300,
        remainingSize=600,
        avgFilledPrice=100.25,
    )
    assert update.status is Status.PARTIALLY_FILLED
    assert (update.original_quantity, update.quantity) == (Decimal(1000), Decimal(900))
    assert (update.last_fill, update.filled, update.remaining) == (
        Decimal(100),
        Decimal(300),
        Decimal(600),
    )
    assert update.avg_price == Decimal("100.25")


def test_fractional_size_is_an_exact_decimal() -> None:
    """A fractional contract size does not crash: it is decoded exactly."""
    assert one_update(currentOrderSize=0.1).quantity == Decimal("0.1")


def test_negative_remaining_is_reported_not_rejected() -> None:
    """A negative remainingSize is passed on (an inconsistency for the core to report)."""
    assert one_update(remainingSize=-5).remaining == Decimal(-5)


def test_negative_filled_size_is_malformed() -> None:
    """A negative totalFilledSize is not a quantity: the element is Malformed."""
    [event] = receive(notification(element(totalFilledSize=-1)))
    assert isinstance(event, Malformed)
    assert "totalFilledSize" in event.reason


def test_absent_optional_fields_are_none_not_zero() -> None:
    """An element with only orderID and status maps every other field to None."""
    [event] = receive(notification({"orderID": "abc", "status": 2}))
    assert event == OrderUpdate(order_id="abc", status=Status.ACCEPTED, raw_status="2")
    assert isinstance(event, OrderUpdate)
    assert event.key is None
    assert event.quantity is None


@pytest.mark.parametrize("order_id", ["", None, 123])
def test_missing_or_empty_order_id_is_malformed(order_id: object) -> None:
    """orderID must be a non-empty string."""
    data = element(orderID=order_id)  # None removes the field
    [event] = receive(notification(data))
    assert isinstance(event, Malformed)
    assert "orderID" in event.reason


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "1e999", "", "abc", True])
def test_bad_numbers_make_the_element_malformed(bad: object) -> None:
    """NaN, infinities, huge exponents, empty and non-numeric sizes are Malformed."""
    [event] = receive(notification(element(currentOrderSize=bad)))
    assert isinstance(event, Malformed)


def test_non_integer_timestamp_is_malformed() -> None:
    """timestamp must be integer milliseconds."""
    [event] = receive(notification(element(timestamp=1.5)))
    assert isinstance(event, Malformed)
    assert "timestamp" in event.reason


def test_huge_timestamp_is_malformed_not_raised() -> None:
    """A timestamp too large to divide into a float is Malformed, never an OverflowError."""
    [event] = receive(notification(element(timestamp=10**400)))
    assert isinstance(event, Malformed)


# --- several elements ----------------------------------------------------------------


def test_bad_element_is_malformed_alone_and_good_ones_survive() -> None:
    """One bad data element becomes a Malformed in its place; the others still decode."""
    frame = notification(
        element(orderID="a"), element(orderID="bad", status="x"), 7, element(orderID="b", status=6)
    )
    events = receive(frame)
    assert [type(e) for e in events] == [OrderUpdate, Malformed, Malformed, OrderUpdate]
    first, second, third, fourth = events
    assert isinstance(first, OrderUpdate)
    assert first.order_id == "a"
    assert isinstance(second, Malformed)
    assert second.reason.startswith("notificationApiV4 data[1]")
    assert '"orderID": "bad"' in second.excerpt
    assert isinstance(third, Malformed)
    assert third.excerpt == "7"
    assert isinstance(fourth, OrderUpdate)
    assert (fourth.order_id, fourth.status) == ("b", Status.CANCELED)


def test_empty_data_gives_no_events() -> None:
    """A notification with an empty data list carries nothing."""
    assert receive(notification()) == []


@pytest.mark.parametrize("data", [{}, "x", None, 5])
def test_data_that_is_not_a_list_is_malformed(data: object) -> None:
    """A notificationApiV4 frame whose data is not a list is one Malformed."""
    [event] = receive(json.dumps({"topic": "notificationApiV4", "data": data}))
    assert isinstance(event, Malformed)


def test_missing_data_is_malformed() -> None:
    """A notificationApiV4 frame without data is Malformed."""
    [event] = receive('{"topic":"notificationApiV4"}')
    assert isinstance(event, Malformed)


# --- other frames --------------------------------------------------------------------


@pytest.mark.parametrize("frame", ["pong", b"pong", "pong\n"])
def test_pong_is_a_heartbeat(frame: str | bytes) -> None:
    """The plain-text keep-alive reply pong is a Heartbeat."""
    assert receive(frame) == [Heartbeat()]


def test_other_topic_is_ignored() -> None:
    """A frame of another topic is Ignored."""
    [event] = receive('{"topic":"tradeHistoryApiV2","data":[{"x":1}]}')
    assert isinstance(event, Ignored)
    assert "tradeHistoryApiV2" in event.reason


def test_subscribe_ack_fixture_is_subscribed_with_channels() -> None:
    """The subscribe ack gives Subscribed with the channels the venue confirmed."""
    assert receive(fixture("subscribe_ack.json")) == [
        Subscribed(channels=("notificationApiV4",), detail="")
    ]


def test_subscribe_ack_without_the_topic_keeps_the_empty_channel_list() -> None:
    """A failed topic is just absent from channel: the ack says so with no channels."""
    assert receive('{"event":"subscribe","channel":[]}') == [Subscribed(channels=())]


def test_login_success_fixture_is_subscribed_login() -> None:
    """A successful login ack is Subscribed(detail="login")."""
    assert receive(fixture("login_ack.json")) == [Subscribed(detail="login")]


def test_login_failure_is_an_auth_venue_error() -> None:
    """A refused login is a VenueError with auth=True."""
    assert receive('{"event":"login","success":false}') == [
        VenueError(message="login refused", code=None, auth=True)
    ]


@pytest.mark.parametrize(
    "frame",
    ['{"event":"login"}', '{"event":"login","success":"yes"}', '{"event":"subscribe"}'],
)
def test_ack_with_invalid_content_is_malformed(frame: str) -> None:
    """A login or subscribe ack missing or mistyping its field is Malformed."""
    [event] = receive(frame)
    assert isinstance(event, Malformed)


def test_error_frame_fixture_is_one_venue_error_with_string_code() -> None:
    """The documented error frame gives a VenueError with the code as a string."""
    assert receive(fixture("error_frame.json")) == [
        VenueError(message="... (arg: ...)", code="1000", auth=False)
    ]


def test_error_frame_gives_one_venue_error_per_error() -> None:
    """Each errors element is its own VenueError, in order; a bad one is Malformed alone."""
    frame = json.dumps(
        {
            "severity": "ERROR",
            "errors": [
                {"arg": "foo", "error": {"code": 1005, "message": "unknown topic"}},
                {"nope": 1},
                {"error": {"code": 1008}},
            ],
        }
    )
    events = receive(frame)
    assert events[0] == VenueError(message="unknown topic (arg: foo)", code="1005")
    assert isinstance(events[1], Malformed)
    assert events[2] == VenueError(message="BTSE error 1008", code="1008")
    assert len(events) == 3


def test_error_frame_with_no_errors_still_reports_an_error() -> None:
    """An ERROR frame with an empty errors list is one VenueError, not silence."""
    [event] = receive('{"severity":"ERROR","errors":[]}')
    assert isinstance(event, VenueError)
    assert event.code is None


@pytest.mark.parametrize(
    "frame",
    ["{}", '{"event":"unsubscribe"}', '{"severity":"INFO"}', '{"topic":5}', '{"hello":[1]}'],
)
def test_other_json_objects_are_ignored(frame: str) -> None:
    """A well-formed JSON object of no known type is Ignored."""
    [event] = receive(frame)
    assert isinstance(event, Ignored)


@pytest.mark.parametrize(
    "frame",
    ["ping", "", "not json", "[]", "[1,2]", "null", "42", '"pong"', b"\xff\xfe", "{", "\ud800"],
)
def test_non_json_and_non_objects_are_malformed(frame: str | bytes) -> None:
    """Non-JSON text (other than pong), invalid UTF-8 and JSON non-objects are Malformed."""
    [event] = receive(frame)
    assert isinstance(event, Malformed)
    assert event.reason


# --- never raises --------------------------------------------------------------------

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.decimals(allow_nan=True).map(str),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
_field_values = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(["NaN", "-Infinity", "1e999", "", "76", "GTC", "IOC"])
)
_order_like = st.dictionaries(
    st.sampled_from(
        [
            "orderID",
            "status",
            "symbol",
            "side",
            "type",
            "orderType",
            "price",
            "originalOrderSize",
            "currentOrderSize",
            "filledSize",
            "totalFilledSize",
            "remainingSize",
            "avgFilledPrice",
            "clOrderID",
            "time_in_force",
            "timestamp",
        ]
    ),
    _field_values,
)


def _check(events: object) -> None:
    assert isinstance(events, list)
    assert all(isinstance(e, EVENT_TYPES) for e in events)


@given(st.text())
def test_arbitrary_text_never_raises(frame: str) -> None:
    """Any text frame gives a list of events."""
    _check(receive(frame))


@given(st.binary())
def test_arbitrary_bytes_never_raise(frame: bytes) -> None:
    """Any bytes frame gives a list of events."""
    _check(receive(frame))


@given(_json)
def test_arbitrary_json_never_raises(value: object) -> None:
    """Any JSON value, bare or as a notificationApiV4 data list, gives a list of events."""
    _check(receive(json.dumps(value)))
    _check(receive(json.dumps({"topic": "notificationApiV4", "data": value})))
    _check(receive(json.dumps({"severity": "ERROR", "errors": value})))


@given(st.lists(_order_like, max_size=4))
def test_order_like_elements_give_one_event_each(elements: list[dict[str, object]]) -> None:
    """Each data element, however broken, yields exactly one OrderUpdate or Malformed."""
    events = receive(msgspec.json.encode({"topic": "notificationApiV4", "data": elements}))
    assert len(events) == len(elements)
    assert all(isinstance(e, OrderUpdate | Malformed) for e in events)


# --- commands ------------------------------------------------------------------------


def test_sign_is_hex_hmac_sha384_over_path_and_nonce() -> None:
    """sign() is hex HMAC-SHA384(secret, "/ws/futures" + nonce)."""
    expected = hmac.new(b"s3cret", b"/ws/futures1752147101805", hashlib.sha384).hexdigest()
    assert sign("s3cret", 1752147101805) == expected
    assert len(expected) == 96


def test_auth_frame_carries_key_nonce_and_signature() -> None:
    """auth_frame() is the authKeyExpires op with key, nonce as a string and signature."""
    frame = json.loads(auth_frame("KEY", "s3cret", 1752147101805))
    expected = hmac.new(b"s3cret", b"/ws/futures1752147101805", hashlib.sha384).hexdigest()
    assert frame == {"op": "authKeyExpires", "args": ["KEY", "1752147101805", expected]}


def test_auth_frame_does_not_contain_the_secret() -> None:
    """The secret itself never appears in the auth frame."""
    assert "very-private" not in auth_frame("KEY", "very-private", 1)


@pytest.mark.parametrize("nonce", [-1, True, 1.5, "1"])
def test_sign_rejects_a_nonce_that_is_not_epoch_millis(nonce: object) -> None:
    """A negative, boolean or non-integer nonce is refused with ValueError."""
    with pytest.raises(ValueError, match="nonce_ms"):
        sign("s", nonce)  # type: ignore[arg-type]


def test_subscribe_frame_subscribes_to_notifications() -> None:
    """subscribe_frame() asks for notificationApiV4."""
    assert json.loads(subscribe_frame()) == {"op": "subscribe", "args": ["notificationApiV4"]}


def test_ping_frame_is_plain_text_ping() -> None:
    """The keep-alive frame is the plain text ping, which the protocol answers as pong."""
    assert PING_FRAME == "ping"
