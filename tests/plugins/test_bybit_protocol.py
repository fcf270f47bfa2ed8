"""Bybit legacy inverse v2 private stream: decoding, mapping and command builders."""

from __future__ import annotations

import hashlib
import hmac
import json
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.events import (
    Event,
    Fill,
    Heartbeat,
    Ignored,
    Malformed,
    OrderUpdate,
    PositionUpdate,
    Subscribed,
    VenueError,
)
from reconciler.lifecycle import Status
from reconciler.plugin import VenuePlugin, VenueProtocol
from reconciler_bybit import (
    PING_FRAME,
    STATUS_TABLE,
    SUBSCRIBE_TOPICS,
    BybitProtocol,
    auth_frame,
    auth_query,
    plugin,
    sign,
    subscribe_frame,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bybit"
SEED_ORDER_ID = "xxxxxxxx-xxxx-xxxx-9a8f-4a973eb5c418"
PUBLIC_FIXTURES = {
    "orderbook25_snapshot": "orderBookL2_25.BTCUSDH21",
    "orderbook25_delta": "orderBookL2_25.BTCUSDH21",
    "orderbook200_snapshot": "orderBook_200.100ms.BTCUSDH21",
    "orderbook200_delta": "orderBook_200.100ms.BTCUSDH21",
    "trade": "trade.BTCUSDH21",
    "insurance": "insurance.BTC",
    "instrument_info_snapshot": "instrument_info.100ms.BTCUSDH21",
    "instrument_info_delta": "instrument_info.100ms.BTCUSDH21",
    "kline_v2": "klineV2.1.BTCUSDH21",
}
ALLOWED_EVENTS = (
    OrderUpdate,
    Fill,
    PositionUpdate,
    Heartbeat,
    Subscribed,
    VenueError,
    Malformed,
    Ignored,
)


def _fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def _seed_element(name: str) -> dict[str, object]:
    """The first ``data`` element of a seed fixture, as a dict to vary."""
    element = json.loads(_fixture(name))["data"][0]
    assert isinstance(element, dict)
    return element


def _receive(frame: str | bytes) -> list[Event]:
    return plugin.protocol("main").receive(frame)


def _frame(topic: str, *elements: object) -> str:
    return json.dumps({"topic": topic, "data": list(elements)})


def _vary(name: str, **changes: object) -> dict[str, object]:
    """A seed element with some fields changed; a change to ``...`` removes the field."""
    element = _seed_element(name)
    for key, value in changes.items():
        if value is ...:
            element.pop(key, None)
        else:
            element[key] = value
    return element


def _one(topic: str, element: object) -> Event:
    events = _receive(_frame(topic, element))
    assert len(events) == 1
    return events[0]


def _reply(op: str | None, *, success: bool, ret_msg: str = "", args: object = None) -> str:
    request = {"op": op, "args": args}
    return json.dumps({"success": success, "ret_msg": ret_msg, "conn_id": "c", "request": request})


# --- seed fixtures -------------------------------------------------------------------


def test_seed_order_decodes_to_exact_update() -> None:
    """The seed's Filled market IOC order maps every field as documented."""
    assert _receive(_fixture("order")) == [
        OrderUpdate(
            order_id=SEED_ORDER_ID,
            status=Status.FILLED,
            raw_status="Filled",
            client_order_id=None,
            symbol="BTCUSDH21",
            side="sell",
            quantity=Decimal(1),
            original_quantity=Decimal(1),
            filled=Decimal(1),
            remaining=Decimal(0),
            avg_price=None,
            notional=None,
            fees=Decimal("0.00000009"),
            limit_price=None,
            key=None,
            venue_time=None,
            time_in_force="ImmediateOrCancel",
            max_lifetime=0.0,
        )
    ]


def test_seed_execution_decodes_to_exact_fill() -> None:
    """The seed's Trade execution becomes one Fill with every mapped field."""
    assert _receive(_fixture("execution")) == [
        Fill(
            fill_id="xxxxxxxx-xxxx-xxxx-8b66-c3d2fcd352f6",
            order_id=SEED_ORDER_ID,
            quantity=Decimal(1),
            price=Decimal(8300),
            fee=Decimal("0.00000009"),
            symbol="BTCUSDH21",
            side="buy",
            client_order_id=None,
            order_quantity=Decimal(1),
            venue_time=1579010843.629,
        )
    ]


def test_seed_stop_order_decodes_to_exact_update() -> None:
    """The seed's Untriggered conditional order has no fill fields and no lifetime."""
    assert _receive(_fixture("stop_order")) == [
        OrderUpdate(
            order_id="xxxxxxxx-xxxx-xxxx-98fb-335aaa6c613b",
            status=Status.UNTRIGGERED,
            raw_status="Untriggered",
            client_order_id=None,
            symbol="BTCUSDH21",
            side="buy",
            quantity=Decimal(1),
            original_quantity=Decimal(1),
            filled=None,
            remaining=None,
            fees=None,
            limit_price=Decimal("8584.5"),
            key=None,
            venue_time=None,
            time_in_force="ImmediateOrCancel",
            max_lifetime=None,
        )
    ]


def test_seed_position_decodes_to_exact_update() -> None:
    """The seed's position maps size, side and entry price; ``action`` is ignored."""
    assert _receive(_fixture("position")) == [
        PositionUpdate(
            symbol="BTCUSDH21",
            quantity=Decimal(11),
            side="sell",
            account=None,
            average_cost=Decimal("6907.291588174717"),
        )
    ]


def test_seed_ping_reply_is_heartbeat() -> None:
    """The seed's pong reply is a Heartbeat."""
    assert _receive(_fixture("ping_reply")) == [Heartbeat()]


def test_seed_subscribe_reply_lists_channels() -> None:
    """The seed's subscribe reply is Subscribed with the echoed topics."""
    assert _receive(_fixture("subscribe_reply")) == [Subscribed(channels=("kline.BTCUSDH21.1m",))]


@pytest.mark.parametrize(("name", "topic"), sorted(PUBLIC_FIXTURES.items()))
def test_seed_public_topics_are_ignored(name: str, topic: str) -> None:
    """Every public market-data example of the seed is Ignored, naming its topic."""
    assert _receive(_fixture(name)) == [Ignored(reason=f"topic {topic!r} is not reconciled")]


def test_seed_order_and_execution_agree_on_quantities() -> None:
    """The seed's order and execution share an id and agree on filled quantity and fee."""
    (order,) = _receive(_fixture("order"))
    (fill,) = _receive(_fixture("execution"))
    assert isinstance(order, OrderUpdate)
    assert isinstance(fill, Fill)
    assert order.order_id == fill.order_id == SEED_ORDER_ID
    assert order.filled == fill.quantity == Decimal(1)
    assert order.fees == fill.fee
    assert order.quantity == fill.order_quantity


# --- status table --------------------------------------------------------------------


def test_status_table_is_exactly_the_documented_one() -> None:
    """The plugin's status table holds the eleven documented rows and nothing else."""
    assert dict(STATUS_TABLE) == {
        "Created": Status.PENDING,
        "New": Status.ACCEPTED,
        "Rejected": Status.REJECTED,
        "PartiallyFilled": Status.PARTIALLY_FILLED,
        "Filled": Status.FILLED,
        "PendingCancel": Status.PENDING_CANCEL,
        "Cancelled": Status.CANCELED,
        "Untriggered": Status.UNTRIGGERED,
        "Triggered": Status.TRIGGERED,
        "Active": Status.ACCEPTED,
        "Deactivated": Status.CANCELED,
    }
    assert plugin.status_table is STATUS_TABLE


@pytest.mark.parametrize("topic", ["order", "stop_order"])
@pytest.mark.parametrize(("raw", "status"), sorted(STATUS_TABLE.items()))
def test_every_status_maps_on_both_order_topics(topic: str, raw: str, status: Status) -> None:
    """Each raw order_status maps through the one table on order and stop_order alike."""
    event = _one(topic, _vary(topic, order_status=raw))
    assert isinstance(event, OrderUpdate)
    assert (event.status, event.raw_status) == (status, raw)


@pytest.mark.parametrize("raw", ["Expired", "cancelled", "", "PartiallyFilledCanceled"])
def test_unknown_status_becomes_unknown(raw: str) -> None:
    """An unmapped order_status becomes UNKNOWN and keeps the raw text."""
    event = _one("order", _vary("order", order_status=raw))
    assert isinstance(event, OrderUpdate)
    assert (event.status, event.raw_status) == (Status.UNKNOWN, raw)


# --- order mapping -------------------------------------------------------------------


def test_order_link_id_is_client_order_id() -> None:
    """A non-empty order_link_id becomes client_order_id."""
    event = _one("order", _vary("order", order_link_id="my-42"))
    assert isinstance(event, OrderUpdate)
    assert event.client_order_id == "my-42"


def test_limit_order_carries_limit_price() -> None:
    """A Limit order's price is the limit price; a Market order's is not."""
    event = _one("order", _vary("order", order_type="Limit", price="8500.5"))
    assert isinstance(event, OrderUpdate)
    assert event.limit_price == Decimal("8500.5")


@pytest.mark.parametrize(
    ("tif", "lifetime"),
    [
        ("ImmediateOrCancel", 0.0),
        ("FillOrKill", 0.0),
        ("GoodTillCancel", None),
        ("PostOnly", None),
    ],
)
def test_order_max_lifetime_follows_time_in_force(tif: str, lifetime: float | None) -> None:
    """IOC and FOK orders may not outlive their first report; others have no limit."""
    event = _one("order", _vary("order", time_in_force=tif))
    assert isinstance(event, OrderUpdate)
    assert (event.time_in_force, event.max_lifetime) == (tif, lifetime)


def test_order_quantities_accept_numbers_strings_and_floats_exactly() -> None:
    """Integers, numeric strings and JSON floats all become exact Decimals."""
    element = _vary("order", qty="10", cum_exec_qty=4, leaves_qty="6", cum_exec_fee=0.1)
    event = _one("order", element)
    assert isinstance(event, OrderUpdate)
    assert (event.quantity, event.filled, event.remaining) == (
        Decimal(10),
        Decimal(4),
        Decimal(6),
    )
    assert event.fees == Decimal("0.1")


def test_order_empty_numbers_mean_not_said() -> None:
    """``""`` and null in a numeric field become None, never zero."""
    event = _one("order", _vary("order", qty="", cum_exec_qty=None, leaves_qty=..., price=""))
    assert isinstance(event, OrderUpdate)
    assert (event.quantity, event.filled, event.remaining) == (None, None, None)


def test_order_negative_remaining_is_kept_for_the_core() -> None:
    """A negative leaves_qty is an inconsistency to report, not a malformed element."""
    event = _one("order", _vary("order", leaves_qty=-1))
    assert isinstance(event, OrderUpdate)
    assert event.remaining == Decimal(-1)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("qty", -1),
        ("cum_exec_qty", "-2"),
        ("qty", "NaN"),
        ("cum_exec_fee", "Infinity"),
        ("leaves_qty", "1e999"),
        ("price", "abc"),
        ("qty", True),
        ("qty", [1]),
    ],
)
def test_order_bad_number_is_malformed(field: str, value: object) -> None:
    """A negative quantity or a non-finite / non-numeric value rejects the element."""
    event = _one("order", _vary("order", **{field: value}))
    assert isinstance(event, Malformed)
    assert event.reason.startswith("order data[0]: ")


@pytest.mark.parametrize(
    "changes",
    [{"order_id": ...}, {"order_id": ""}, {"order_id": 7}, {"order_status": ...}],
)
def test_order_without_id_or_status_is_malformed(changes: dict[str, object]) -> None:
    """order_id (non-empty) and order_status are required."""
    event = _one("order", _vary("order", **changes))
    assert isinstance(event, Malformed)


def test_bad_element_costs_only_itself() -> None:
    """One bad element yields a Malformed in its place; its neighbours still decode."""
    good = _seed_element("order")
    events = _receive(_frame("order", good, {"order_id": 1}, 5, good))
    assert [type(e) for e in events] == [OrderUpdate, Malformed, Malformed, OrderUpdate]
    bad = events[1]
    assert isinstance(bad, Malformed)
    assert bad.reason.startswith("order data[1]: ")
    assert bad.excerpt == '{"order_id": 1}'
    third = events[2]
    assert isinstance(third, Malformed)
    assert third.reason.startswith("order data[2]: ")


def test_action_field_is_ignored() -> None:
    """An ``action`` key on a private frame changes nothing."""
    plain = _receive(_frame("order", _seed_element("order")))
    with_action = json.dumps(
        {"topic": "order", "action": "insert", "data": [_seed_element("order")]}
    )
    assert _receive(with_action) == plain


@pytest.mark.parametrize("data", ["null", "{}", '"x"', "1"])
def test_private_topic_without_data_list_is_malformed(data: str) -> None:
    """A private topic whose data is not a list is one Malformed."""
    events = _receive('{"topic":"execution","data":' + data + "}")
    assert len(events) == 1
    assert isinstance(events[0], Malformed)


def test_private_topic_missing_data_is_malformed() -> None:
    """A private topic with no data at all is Malformed."""
    (event,) = _receive('{"topic":"position"}')
    assert isinstance(event, Malformed)
    assert "data" in event.reason


def test_empty_data_gives_no_events() -> None:
    """An empty data list carries nothing."""
    assert _receive(_frame("order")) == []


# --- stop_order mapping --------------------------------------------------------------


def test_stop_order_ignores_fill_fields_even_if_sent() -> None:
    """A conditional order never reports filled/remaining/fees, whatever it carries."""
    element = _vary("stop_order", cum_exec_qty=1, leaves_qty=0, cum_exec_fee="0.1")
    event = _one("stop_order", element)
    assert isinstance(event, OrderUpdate)
    assert (event.filled, event.remaining, event.fees) == (None, None, None)


def test_stop_market_order_has_no_limit_price() -> None:
    """A Market conditional order has no limit price."""
    event = _one("stop_order", _vary("stop_order", order_type="Market"))
    assert isinstance(event, OrderUpdate)
    assert event.limit_price is None


# --- execution mapping ---------------------------------------------------------------


@pytest.mark.parametrize("exec_type", ["Funding", "Settle"])
def test_funding_and_settle_are_ignored(exec_type: str) -> None:
    """Funding and Settle are account events, not fills of an order."""
    event = _one("execution", _vary("execution", exec_type=exec_type, order_id=""))
    assert event == Ignored(reason=f"execution of type {exec_type}: not a fill of an order")


@pytest.mark.parametrize("exec_type", ["Trade", "AdlTrade", "BustTrade", "SomethingNew", None])
def test_trade_like_executions_are_fills(exec_type: str | None) -> None:
    """Trade, AdlTrade, BustTrade and unknown exec types with an order_id are Fills."""
    event = _one("execution", _vary("execution", exec_type=exec_type))
    assert isinstance(event, Fill)
    assert (event.order_id, event.quantity) == (SEED_ORDER_ID, Decimal(1))


@pytest.mark.parametrize(
    "changes",
    [
        {"exec_id": ...},
        {"exec_id": ""},
        {"order_id": ""},
        {"order_id": ...},
        {"exec_qty": ...},
        {"exec_qty": -1},
        {"trade_time": "yesterday"},
        {"trade_time": "2020-01-14T14:07:23"},
    ],
)
def test_execution_missing_or_bad_fields_are_malformed(changes: dict[str, object]) -> None:
    """A trade execution needs exec_id, order_id, a non-negative exec_qty and a zoned time."""
    event = _one("execution", _vary("execution", **changes))
    assert isinstance(event, Malformed)
    assert event.reason.startswith("execution data[0]: ")


def test_execution_rebate_and_client_id_are_kept() -> None:
    """A negative exec_fee (maker rebate) and an order_link_id are carried over."""
    event = _one("execution", _vary("execution", exec_fee="-0.00000002", order_link_id="c1"))
    assert isinstance(event, Fill)
    assert (event.fee, event.client_order_id) == (Decimal("-0.00000002"), "c1")


# --- position mapping ----------------------------------------------------------------


def test_flat_position_side_none_is_no_side() -> None:
    """A flat position's side "None" is not a side; its size 0 is a real zero."""
    event = _one("position", _vary("position", size=0, side="None"))
    assert event == PositionUpdate(
        symbol="BTCUSDH21",
        quantity=Decimal(0),
        side=None,
        average_cost=Decimal("6907.291588174717"),
    )


def test_position_without_symbol_is_malformed() -> None:
    """A position element must name its symbol."""
    assert isinstance(_one("position", _vary("position", symbol=...)), Malformed)


# --- replies -------------------------------------------------------------------------


def test_auth_success_is_subscribed_auth() -> None:
    """A successful auth reply is Subscribed(detail="auth")."""
    assert _receive(_reply("auth", success=True, args=["k", "1", "s"])) == [
        Subscribed(detail="auth")
    ]


@pytest.mark.parametrize("ret_msg", ["error:verify signature fail", "error:request expired"])
def test_auth_failure_is_auth_error(ret_msg: str) -> None:
    """A refused auth is VenueError(auth=True) carrying ret_msg."""
    assert _receive(_reply("auth", success=False, ret_msg=ret_msg)) == [
        VenueError(message=ret_msg, auth=True)
    ]


def test_auth_failure_without_message_still_says_something() -> None:
    """A refused auth with an empty ret_msg still gets a message."""
    assert _receive(_reply("auth", success=False)) == [
        VenueError(message="auth refused", auth=True)
    ]


def test_subscribe_needing_auth_is_auth_error() -> None:
    """A subscribe refused because the socket is not authenticated is an auth error."""
    msg = "error:topic:order needs auth first"
    assert _receive(_reply("subscribe", success=False, ret_msg=msg, args=["order"])) == [
        VenueError(message=msg, auth=True)
    ]


def test_other_subscribe_failure_is_plain_error() -> None:
    """A subscribe refused for another reason is a non-auth VenueError."""
    msg = "error:handler not found,topic:nope"
    assert _receive(_reply("subscribe", success=False, ret_msg=msg, args=["nope"])) == [
        VenueError(message=msg, auth=False)
    ]


def test_subscribe_success_lists_all_topics() -> None:
    """A successful subscribe echoes every requested topic as a channel."""
    frame = _reply("subscribe", success=True, args=list(SUBSCRIBE_TOPICS))
    assert _receive(frame) == [Subscribed(channels=SUBSCRIBE_TOPICS)]


def test_subscribe_reply_with_non_topic_args_is_malformed() -> None:
    """A subscribe echo whose args are not topic names is Malformed."""
    (event,) = _receive(_reply("subscribe", success=True, args=[1, 2]))
    assert isinstance(event, Malformed)


def test_other_successful_reply_is_ignored() -> None:
    """A successful reply to another op (unsubscribe) is Ignored."""
    assert _receive(_reply("unsubscribe", success=True, args=["trade"])) == [
        Ignored(reason="successful reply to op 'unsubscribe'")
    ]


@pytest.mark.parametrize("op", ["ping", "unsubscribe", None])
def test_other_failed_reply_is_venue_error(op: str | None) -> None:
    """A failed reply to any other op (or none) is a non-auth VenueError."""
    assert _receive(_reply(op, success=False, ret_msg="error:boom")) == [
        VenueError(message="error:boom", auth=False)
    ]


def test_failed_reply_without_request_is_venue_error() -> None:
    """A failure reply that echoes no request is still a VenueError."""
    frame = '{"success":false,"ret_msg":"error:invalid op","conn_id":"c"}'
    assert _receive(frame) == [VenueError(message="error:invalid op")]


@pytest.mark.parametrize(
    "frame",
    ['{"success":"yes","request":{"op":"ping"}}', '{"request":{"op":"ping"}}', '{"success":null}'],
)
def test_reply_with_bad_success_is_malformed(frame: str) -> None:
    """A reply-shaped object without a boolean success is Malformed."""
    (event,) = _receive(frame)
    assert isinstance(event, Malformed)


# --- frames --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [b"\xff\xfe", "not json", "[1, 2]", "42", "null", '"order"', "", "{", '{"topic":5}'],
)
def test_undecodable_frames_are_malformed(frame: str | bytes) -> None:
    """Non-JSON, non-object JSON and a non-string topic are one Malformed each."""
    (event,) = _receive(frame)
    assert isinstance(event, Malformed)


def test_lone_surrogate_text_is_malformed() -> None:
    """A str frame that cannot be UTF-8 encoded is Malformed, not an exception."""
    (event,) = _receive('{"topic":"\ud800"}')
    assert isinstance(event, Malformed)


@pytest.mark.parametrize("frame", ["{}", '{"conn_id":"c"}', '{"topic":null}'])
def test_object_without_topic_or_reply_is_ignored(frame: str) -> None:
    """A JSON object that is neither a topic message nor a reply is Ignored."""
    assert _receive(frame) == [Ignored(reason="a JSON object with neither a topic nor a reply")]


def test_unsubscribed_private_topic_is_ignored() -> None:
    """A private topic we do not reconcile (wallet) is Ignored."""
    frame = '{"topic":"wallet","data":[{"wallet_balance":1}]}'
    assert _receive(frame) == [Ignored(reason="topic 'wallet' is not reconciled")]


def test_text_and_bytes_frames_decode_alike() -> None:
    """A frame gives the same events as text and as bytes."""
    raw = _fixture("order")
    assert _receive(raw.decode()) == _receive(raw)


# --- plugin --------------------------------------------------------------------------


def test_plugin_is_the_bybit_venue() -> None:
    """The exported plugin is a VenuePlugin named bybit giving fresh protocol objects."""
    assert isinstance(plugin, VenuePlugin)
    assert plugin.name == "bybit"
    first, second = plugin.protocol("a"), plugin.protocol("b")
    assert isinstance(first, BybitProtocol)
    assert isinstance(first, VenueProtocol)
    assert first is not second
    assert (first.account, second.account) == ("a", "b")


# --- command builders ----------------------------------------------------------------


def test_sign_matches_independent_hmac() -> None:
    """The signature is hex HMAC-SHA256(secret, "GET/realtime" + expires)."""
    expected = hmac.new(b"s3cret", b"GET/realtime1662350400000", hashlib.sha256).hexdigest()
    assert sign("s3cret", 1662350400000) == expected
    assert len(expected) == 64


def test_sign_rejects_negative_expiry() -> None:
    """A negative expiry is a caller bug."""
    with pytest.raises(ValueError, match="expires_ms"):
        sign("s", -1)


def test_auth_frame_carries_key_expiry_and_signature() -> None:
    """The auth frame is {"op":"auth","args":[key, expires, signature]}."""
    frame = json.loads(auth_frame("KEY", "s3cret", 1662350400000))
    assert frame == {
        "op": "auth",
        "args": ["KEY", "1662350400000", sign("s3cret", 1662350400000)],
    }


def test_auth_query_is_url_parameters() -> None:
    """The URL form is api_key=..&expires=..&signature=.. in that order."""
    query = auth_query("KEY", "s3cret", 1662350400000)
    assert parse_qsl(query) == [
        ("api_key", "KEY"),
        ("expires", "1662350400000"),
        ("signature", sign("s3cret", 1662350400000)),
    ]
    assert query.startswith("api_key=KEY&expires=1662350400000&signature=")


def test_subscribe_frame_defaults_to_private_topics() -> None:
    """By default the four private topics are subscribed in one frame."""
    assert json.loads(subscribe_frame()) == {
        "op": "subscribe",
        "args": ["order", "execution", "stop_order", "position"],
    }


def test_subscribe_frame_takes_custom_topics() -> None:
    """Custom topics are sent as given; none at all is refused."""
    assert json.loads(subscribe_frame(["order"])) == {"op": "subscribe", "args": ["order"]}
    with pytest.raises(ValueError, match="at least one topic"):
        subscribe_frame(())


def test_ping_frame_is_op_ping() -> None:
    """The keep-alive frame is {"op":"ping"}."""
    assert json.loads(PING_FRAME) == {"op": "ping"}


# --- properties ----------------------------------------------------------------------

_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_field_names = st.sampled_from(
    [
        "order_id", "order_status", "order_link_id", "symbol", "side", "order_type", "price",
        "qty", "time_in_force", "leaves_qty", "cum_exec_qty", "cum_exec_fee", "exec_type",
        "exec_id", "exec_qty", "exec_fee", "order_qty", "trade_time", "size", "entry_price",
    ]
)  # fmt: skip
_elements = st.dictionaries(_field_names, _json_values, max_size=8) | _json_values


def _all_events(events: object) -> bool:
    return isinstance(events, list) and all(isinstance(e, ALLOWED_EVENTS) for e in events)


@given(st.text())
def test_any_text_never_raises(frame: str) -> None:
    """Arbitrary text always gives a list of events."""
    assert _all_events(_receive(frame))


@given(st.binary())
def test_any_bytes_never_raise(frame: bytes) -> None:
    """Arbitrary bytes always give a list of events."""
    assert _all_events(_receive(frame))


@given(_json_values)
def test_any_json_never_raises(value: object) -> None:
    """Arbitrary JSON values give exactly one event unless they are a private frame."""
    events = _receive(json.dumps(value))
    assert _all_events(events)
    private = isinstance(value, dict) and value.get("topic") in SUBSCRIBE_TOPICS
    assert private or len(events) == 1


@given(st.sampled_from(sorted(SUBSCRIBE_TOPICS)), st.lists(_elements, max_size=5))
def test_private_frames_give_one_event_per_element(topic: str, elements: list[object]) -> None:
    """Whatever the elements hold, a private frame gives exactly one event per element."""
    events = _receive(_frame(topic, *elements))
    assert _all_events(events)
    assert len(events) == len(elements)


@given(
    st.sampled_from(["ping", "auth", "subscribe", "unsubscribe", "", None]),
    st.booleans(),
    st.one_of(st.none(), st.text(max_size=40)),
    _json_values,
)
def test_replies_give_exactly_one_event(
    op: str | None, success: bool, ret_msg: str | None, args: object
) -> None:
    """Any reply, whatever its args and message, gives exactly one event."""
    frame = json.dumps(
        {"success": success, "ret_msg": ret_msg, "request": {"op": op, "args": args}}
    )
    events = _receive(frame)
    assert _all_events(events)
    assert len(events) == 1
