"""Property: no frame, however malformed, raises out of the core or crashes one of its rules.

Three sources of bad input per venue, each fed into a reconciler that is also receiving a
valid lifecycle (so broken frames hit live orders, their timers and their parents):

* valid frames mutated structurally: fields deleted, retyped, set to NaN, huge, negative,
  empty strings, absurd timestamps or nested garbage, array elements duplicated;
* random JSON shaped like the venue's messages (its field names, random values);
* raw text and bytes: truncated frames, flipped bytes, random text, invalid UTF-8.

Besides "nothing raises", two counters must stay clean: ``internal_errors`` (a rule
crashed and was contained: a core bug) and MALFORMED alerts whose reason is
``parser error`` (a plugin raised something its BaseProtocol does not expect).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from builders import Run
from core.lifecycles import (
    VENUES,
    delivered,
    interleave,
    noise_plan,
    render,
    tread_multi_plan,
    venue_plan,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler import AlertCode, Reconciler
from reconciler.plugin import load_plugins

PLUGINS = load_plugins()
EXAMPLES = settings(max_examples=35, deadline=None)

#: JSON text spliced in verbatim where a value goes (``json.dumps`` cannot write these).
RAW = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e999",
    "-1e999",
    "1e-999",
    "-0",
    "-0.0",
    "1E+30",
    "1e31",
    "-1",
    "0",
    "0.5",
    "1.0000000000000000000000000000000000000000001",
    "123456789012345678901234567890123456789012345678901234567890",
    "-9223372036854775809",
    "9223372036854775808",
    "18446744073709551616",
    "1e-31",
    "true",
    "false",
    "null",
    "[]",
    "{}",
    '""',
    '"NaN"',
    '"Infinity"',
    '"1e999"',
    '" 12 "',
    '"-5"',
    '"abc"',
    '"\\u0663"',
    '"0x10"',
    '"1_000"',
    '"1,5"',
    '"null"',
    '"2025-13-45T99:99:99"',
    '"9999-12-31T23:59:59.999999-23:59"',
    '"0001-01-01T00:00:00+23:59"',
    '"2025-07-15T01:21:45"',
    '"\\ud800"',
    "[[[[[[[[]]]]]]]]",
    '{"a":{"b":[1,{"c":null}]}}',
    "[" * 2000 + "]" * 2000,
    '"' + "x" * 3000 + '"',
]
_RAW_MARK = re.compile(r'"@@RAW(\d+)@@"')
IDS = [
    "target",
    "other-0",
    "tread-0",
    "btse-0",
    "bybit-0",
    "clearstreet-0",
    "multi-0",
    "multi-0-c0",
    "multi-0-c1",
    "x",
]

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(IDS),
    st.integers(0, len(RAW) - 1).map(lambda i: f"@@RAW{i}@@"),
)
json_values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def to_text(obj: object) -> str:
    """JSON text with the raw tokens spliced in."""
    return _RAW_MARK.sub(lambda m: RAW[int(m.group(1))], json.dumps(obj))


# -- mutations of valid frames ------------------------------------------------------------


def _paths(obj: object, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    items: list[tuple[Any, object]] = []
    if isinstance(obj, dict):
        items = list(obj.items())
    elif isinstance(obj, list):
        items = list(enumerate(obj))
    for key, value in items:
        out.append((*prefix, key))
        out += _paths(value, (*prefix, key))
    return out


def _retyped(value: object) -> object:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return [value]
    return {"value": value}


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str | bytes:
    """``text`` broken structurally (1-3 JSON edits) or textually."""
    how = draw(st.sampled_from(["json", "json", "json", "truncate", "flip", "splice"]))
    try:
        obj = json.loads(text)
    except ValueError:
        obj = None
    if how == "json" and isinstance(obj, dict | list) and (paths := _paths(obj)):
        for _ in range(draw(st.integers(1, 3))):
            paths = _paths(obj) or [()]
            path = draw(st.sampled_from(paths))
            if not path:
                break
            parent: Any = obj
            for key in path[:-1]:
                parent = parent[key]
            key = path[-1]
            op = draw(st.sampled_from(["delete", "set", "set", "retype", "duplicate"]))
            if op == "delete":
                del parent[key]
            elif op == "retype":
                parent[key] = _retyped(parent[key])
            elif op == "duplicate" and isinstance(parent, list):
                parent.insert(key, parent[key])
            else:
                parent[key] = draw(json_values)
        return to_text(obj)
    raw = text.encode()
    if how == "truncate" or not raw:
        return text[: draw(st.integers(0, max(len(text) - 1, 0)))]
    at = draw(st.integers(0, len(raw) - 1))
    if how == "flip":
        return raw[:at] + bytes([draw(st.integers(0, 255))]) + raw[at + 1 :]
    return text[:at] + draw(st.text(max_size=6)) + text[at:]


# -- JSON shaped like each venue's messages --------------------------------------------

_BTSE_KEYS = [
    "symbol",
    "orderID",
    "side",
    "orderType",
    "type",
    "price",
    "triggerPrice",
    "status",
    "timestamp",
    "avgFilledPrice",
    "clOrderID",
    "originalOrderSize",
    "currentOrderSize",
    "filledSize",
    "totalFilledSize",
    "remainingSize",
    "time_in_force",
]
_BYBIT_KEYS = [
    "order_id",
    "order_link_id",
    "symbol",
    "side",
    "order_type",
    "price",
    "qty",
    "time_in_force",
    "order_status",
    "leaves_qty",
    "cum_exec_qty",
    "cum_exec_fee",
    "exec_id",
    "exec_qty",
    "exec_type",
    "exec_fee",
    "order_qty",
    "trade_time",
    "size",
    "entry_price",
]
_CS_KEYS = [
    "order_id",
    "trade_id",
    "reference_id",
    "version",
    "updated_at",
    "account_id",
    "symbol",
    "side",
    "order_type",
    "quantity",
    "filled_quantity",
    "price",
    "average_price",
    "time_in_force",
    "order_update_reason",
    "status",
    "created_at",
    "average_cost",
]
_TREAD_KEYS = [
    "id",
    "custom_order_id",
    "parent_order_id",
    "pair",
    "side",
    "executed_qty",
    "executed_buy_qty",
    "average_executed_price",
    "executed_notional",
    "target_order_qty",
    "target_remaining_qty",
    "target_executed_qty",
    "pct_filled",
    "total_fee",
    "status",
    "limit_price",
    "time_start",
    "time_end",
    "updated_at",
    "account_names",
    "accounts",
    "duration",
    "notional_exposure",
    "fee_notional",
    "child_order_ids",
    "pairs",
]


_STATUSES = sorted(
    {str(k) for plugin in PLUGINS.values() for k in plugin.status_table}
    | {"", " ", "UNKNOWN", "7", "123", "1003"}
)
_NUMERIC = [
    "0",
    "-0",
    "-1",
    "0.1",
    "1e30",
    "1E+30",
    "-1e30",
    "1e-30",
    "1e31",
    "1" * 40,
    "1" * 41,
    "0." + "0" * 29 + "1",
    "1e999",
    "NaN",
    "Infinity",
    "-7.5",
    "3",
]
_STRINGS = st.one_of(
    st.sampled_from(_STATUSES),
    st.sampled_from(IDS),
    st.sampled_from(_NUMERIC),
    st.sampled_from(
        [
            "buy",
            "sell",
            "BUY",
            "Sell",
            "sell-short",
            "None",
            "limit",
            "Limit",
            "ioc",
            "ImmediateOrCancel",
            "IOC",
            "HALFMIN",
            "GTC",
            "day",
            "2025-07-15T01:21:45.499214+00:00",
            "2025-07-15T01:21:45",
            "1970-01-01T00:00:00+00:00",
            "9999-12-31T23:59:59+00:00",
            "0001-01-01T00:00:00+00:00",
            "2025-07-15T01:21:45Z",
        ]
    ),
    st.text(max_size=8),
)
_NUMBERS = st.one_of(
    st.integers(-5, 5),
    st.integers(-(2**64), 2**64),
    st.floats(),
    st.sampled_from([f"@@RAW{i}@@" for i, tok in enumerate(RAW) if tok[0] in "-0123456789NI"]),
)


def _perturb(value: object) -> st.SearchStrategy[object]:
    """Another value of (mostly) the same JSON type: absurd, but well typed."""
    if isinstance(value, bool):
        return st.one_of(st.booleans(), st.none())
    if isinstance(value, int | float):
        return _NUMBERS | st.sampled_from(_NUMERIC)
    if isinstance(value, str):
        return _STRINGS | _NUMBERS
    return st.one_of(_NUMBERS, _STRINGS, st.none(), json_values)


@st.composite
def perturbed(draw: st.DrawFn, text: str) -> str:
    """``text`` with 1-3 leaf values replaced by absurd but (mostly) well-typed ones."""
    try:
        obj: Any = json.loads(text)
    except ValueError:
        return text
    leaves_at = [p for p in _paths(obj) if not isinstance(_get(obj, p), dict | list)]
    for _ in range(draw(st.integers(1, 3)) if leaves_at else 0):
        path = draw(st.sampled_from(leaves_at))
        _get(obj, path[:-1])[path[-1]] = draw(_perturb(_get(obj, path)))
    return to_text(obj)


def _get(obj: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        obj = obj[key]
    return obj


def _fields(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(keys), json_values, max_size=len(keys))


def _shaped(venue: str) -> st.SearchStrategy[dict[str, Any]]:
    if venue == "btse":
        return st.one_of(
            st.fixed_dictionaries(
                {
                    "topic": st.just("notificationApiV4"),
                    "data": st.lists(_fields(_BTSE_KEYS), max_size=3),
                }
            ),
            st.fixed_dictionaries(
                {
                    "event": st.sampled_from(["login", "subscribe"]),
                    "success": json_values,
                    "channel": json_values,
                }
            ),
            st.fixed_dictionaries(
                {
                    "severity": st.sampled_from(["ERROR", "error"]),
                    "errors": st.lists(json_values, max_size=3),
                }
            ),
        )
    if venue == "bybit":
        topics = st.sampled_from(["order", "execution", "stop_order", "position", "wallet"])
        return st.one_of(
            st.fixed_dictionaries(
                {"topic": topics, "data": st.lists(_fields(_BYBIT_KEYS), max_size=3)}
            ),
            st.fixed_dictionaries(
                {
                    "success": json_values,
                    "ret_msg": json_values,
                    "request": st.fixed_dictionaries({"op": json_values, "args": json_values}),
                }
            ),
        )
    if venue == "clearstreet":
        kinds = st.sampled_from(
            [
                "order-update",
                "trade-notice",
                "position-update",
                "buying-power-update",
                "replay-complete",
                "heartbeat",
                "subscribe-activity-ack",
                "error-notice",
                "other",
            ]
        )
        payload = st.fixed_dictionaries(
            {"type": kinds, "data": _fields(_CS_KEYS)}, optional={"success": json_values}
        )
        return st.fixed_dictionaries(
            {"payload": payload},
            optional={"timestamp": json_values, "sequence": st.integers(-2, 2**64) | json_values},
        )
    order = _fields(_TREAD_KEYS)
    with_kids = st.tuples(order, st.lists(order, max_size=3)).map(
        lambda pair: pair[0] | {"child_orders": pair[1]}
    )
    return st.fixed_dictionaries(
        {
            "type": st.sampled_from(["order_update", "order_update", "other"]),
            "data": st.fixed_dictionaries(
                {"order": order | with_kids},
                optional={"order_id": json_values, "update_type": json_values},
            ),
        }
    )


# -- feeding -------------------------------------------------------------------------------


@st.composite
def valid_frames(draw: st.DrawFn, venue: str) -> list[str]:
    """A valid lifecycle's frames, as delivered (the stream the bad frames hit)."""
    plans = [draw(venue_plan(venue, f"{venue}-{i}")) for i in range(draw(st.integers(1, 2)))]
    if venue == "tread":
        plans.append(draw(tread_multi_plan("multi-0")))
    plans.append(draw(noise_plan(venue)))
    return [text for _, text in draw(delivered(render(venue, draw(interleave(plans)))))]


def feed_all(venue: str, frames: list[str | bytes]) -> Run:
    """Feed every frame a moment apart, run every timer, query the model; nothing raises."""
    run = Run(Reconciler(plugins=PLUGINS))
    for frame in frames:
        run.t += 0.25
        run.alerts += run.rec.feed(venue, "main", frame, run.t)
    run.wait(3 * 86_400)  # every settle window, deadline and retention passes
    for state in run.rec.orders():
        run.rec.history(venue, state.order_id)
    return run


def assert_contained(run: Run) -> None:
    """No rule crashed and no plugin raised an exception its BaseProtocol does not expect."""
    assert run.rec.stats().get("internal_errors", 0) == 0, run.rec.last_internal_error
    reasons = [a.evidence.get("reason", "") for a in run.of(AlertCode.MALFORMED_MESSAGE)]
    assert not [r for r in reasons if r.startswith(("parser error", "internal error"))], reasons


@EXAMPLES
@given(st.data())
@pytest.mark.parametrize("venue", VENUES)
def test_mutated_frames_in_a_live_stream_never_escape_the_core(
    venue: str, data: st.DataObject
) -> None:
    """Valid frames broken field by field, amid a valid lifecycle, are contained."""
    frames: list[str | bytes] = []
    for text in data.draw(valid_frames(venue)):
        frames.append(text)
        if data.draw(st.integers(0, 2)) == 0:
            frames.append(data.draw(mutated(text)))
    assert_contained(feed_all(venue, frames))


@EXAMPLES
@given(st.data())
@pytest.mark.parametrize("venue", VENUES)
def test_random_json_shaped_like_the_venue_never_escapes_the_core(
    venue: str, data: st.DataObject
) -> None:
    """The venue's message shapes with absurd but well-typed values are contained."""
    valid = data.draw(valid_frames(venue))
    frames: list[str | bytes] = list(valid)
    orders = [text for text in valid if "order" in text] or valid
    bad = st.one_of(_shaped(venue).map(to_text), st.sampled_from(orders).flatmap(perturbed))
    for _ in range(data.draw(st.integers(1, 8))):
        frames.insert(data.draw(st.integers(0, len(frames))), data.draw(bad))
    assert_contained(feed_all(venue, frames))


@EXAMPLES
@given(st.data())
@pytest.mark.parametrize("venue", VENUES)
def test_random_text_and_bytes_never_escape_the_core(venue: str, data: st.DataObject) -> None:
    """Arbitrary text, bytes, JSON values and truncated frames are contained."""
    frames: list[str | bytes] = list(data.draw(valid_frames(venue)))
    garbage = st.one_of(
        st.binary(max_size=64),
        st.text(max_size=64),
        json_values.map(to_text),
        st.sampled_from(frames).flatmap(lambda f: st.integers(0, len(f)).map(lambda n: f[:n])),
    )
    for _ in range(data.draw(st.integers(1, 6))):
        frames.insert(data.draw(st.integers(0, len(frames))), data.draw(garbage))
    assert_contained(feed_all(venue, frames))
