"""Every venue's one-pass fast path gives exactly the events of its step-by-step path.

Each protocol first tries one typed decode of the whole frame and maps it with lookup
tables; anything unusual falls back to the original step-by-step path. Here the slow
path is forced by replacing each venue's one-pass decoder with a stub whose ``decode``
always raises (as it does for a frame it rejects) and, for Tread.fi, the fast mapping
``order_update_events`` tries first with one that always raises. The two are compared
on the benchmark workloads and on mutated frames, by ``==`` and by ``repr`` (which also
tells ``Decimal("1.0")`` from ``Decimal("1")`` and a float from an int). The bounded
caches of ``parse_decimal``, ``parse_quantity`` and ``iso_to_micros`` are checked
against the pre-cache code (kept below as a reference) warm, cold and when full.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn
from unittest import mock

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import reconciler.plugin as plugin_module
import reconciler_btse._decode as btse_decode
import reconciler_btse._protocol as btse_protocol
import reconciler_bybit._protocol as bybit_protocol
import reconciler_clearstreet._mapping as clearstreet_mapping
import reconciler_clearstreet._protocol as clearstreet_protocol
import reconciler_tread._decode as tread_decode
import reconciler_tread._protocol as tread_protocol
from reconciler._bench_workload import venue_workload
from reconciler.events import Event
from reconciler.plugin import (
    FrameError,
    VenuePlugin,
    iso_to_micros,
    load_plugins,
    parse_decimal,
    parse_quantity,
)

VENUES = ("btse", "bybit", "clearstreet", "tread")
#: Frames of each venue's workload compared whole, and how many seed the mutations.
WORKLOAD_FRAMES = 3000
MUTATION_SEEDS = 300

#: Each venue's one-pass decoders, as (owner, attribute): what the slow path stubs out.
FAST_DECODERS: dict[str, tuple[tuple[object, str], ...]] = {
    "btse": ((btse_decode, "FAST"),),
    "bybit": ((bybit_protocol, "FAST"),),
    "clearstreet": ((clearstreet_protocol, "TIMED_ENVELOPE_DECODER"),),
    "tread": ((tread_protocol, "FAST_DECODER"),),
}
#: Fast mapping functions tried after a successful step-by-step decode (stubbed too).
FAST_FALLIBLE: dict[str, tuple[tuple[object, str], ...]] = {
    "btse": (),
    "bybit": (),
    "clearstreet": (),
    "tread": ((tread_decode, "_fast_events"),),
}


# -- running either path ---------------------------------------------------------------


@functools.cache
def plugins() -> dict[str, VenuePlugin]:
    return load_plugins()


@functools.cache
def workload(venue: str) -> tuple[str, ...]:
    return venue_workload(plugins()[venue], WORKLOAD_FRAMES).frames


@functools.cache
def seeds(venue: str) -> tuple[str, ...]:
    """A spread of the workload's JSON frames (every k-th) to mutate."""
    frames = [f for f in workload(venue) if f.lstrip().startswith("{")]
    step = max(1, len(frames) // MUTATION_SEEDS)
    return tuple(frames[::step][:MUTATION_SEEDS])


class Refusing:
    """Stands in for a one-pass decoder (or fast mapping): every call fails."""

    def __init__(self) -> None:
        self.calls = 0

    def decode(self, frame: object) -> NoReturn:
        self.calls += 1
        raise msgspec.DecodeError("fast path disabled by the test")

    def __call__(self, *args: object) -> NoReturn:
        self.calls += 1
        raise FrameError("fast mapping disabled by the test")


@contextmanager
def slow_path(venue: str) -> Iterator[list[Refusing]]:
    """While open, ``venue``'s protocols take the step-by-step path for every frame.

    Yields the stubs: the decoders' first, then the fast mappings'.
    """
    stubs: list[Refusing] = []
    with ExitStack() as stack:
        for owner, name in (*FAST_DECODERS[venue], *FAST_FALLIBLE[venue]):
            stub = Refusing()
            stack.enter_context(mock.patch.object(owner, name, stub))
            stubs.append(stub)
        yield stubs


class Spies:
    """Counts calls of the functions only a successful fast decode leads to."""

    def __init__(self) -> None:
        self.calls = 0

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def spy(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return function(*args, **kwargs)

        return spy


@contextmanager
def fast_mapping_spies(venue: str) -> Iterator[Spies]:
    """While open, counts calls of ``venue``'s fast mapping functions."""
    spies = Spies()
    with ExitStack() as stack:
        if venue == "bybit":
            mappers = bybit_protocol._FAST_MAPPERS
            wrapped = {cls: spies.wrap(fn) for cls, fn in mappers.items()}
            stack.enter_context(mock.patch.dict(mappers, wrapped))
        else:
            targets: dict[str, tuple[tuple[object, str], ...]] = {
                "btse": ((btse_protocol, "_fast_order_update"),),
                "clearstreet": ((clearstreet_protocol.ClearStreetProtocol, "_timed_sequenced"),),
                "tread": ((tread_decode, "_fast_single"), (tread_decode, "_fast_parent")),
            }
            for owner, name in targets[venue]:
                original = getattr(owner, name)
                stack.enter_context(mock.patch.object(owner, name, spies.wrap(original)))
        yield spies


def clear_caches() -> None:
    """Empty every cache of accepted values the fast paths (and parsers) keep."""
    plugin_module._ACCEPTED.clear()
    plugin_module._ACCEPTED_INTS.clear()
    plugin_module._ACCEPTED_QUANTITIES.clear()
    plugin_module._TIMES.clear()
    clearstreet_mapping._DAYS.clear()
    tread_decode._STATUSES.clear()


def fast_events(venue: str, frame: str | bytes) -> list[Event]:
    return plugins()[venue].protocol("main").receive(frame)


def slow_events(venue: str, frame: str | bytes) -> list[Event]:
    with slow_path(venue):
        return plugins()[venue].protocol("main").receive(frame)


def assert_same(fast: list[Event], slow: list[Event], frame: str | bytes) -> None:
    """Equal events, and equal reprs: the same Decimal exponents, ints and floats."""
    assert repr(fast) == repr(slow), frame
    assert fast == slow, frame


# -- the slow path really is slow ------------------------------------------------------


@pytest.mark.parametrize("venue", VENUES)
def test_stubs_force_the_step_by_step_path(venue: str) -> None:
    """With the stubs in place no fast mapping runs; without them the fast one does."""
    frames = workload(venue)[:300]
    protocol = plugins()[venue].protocol("main")
    with fast_mapping_spies(venue) as spies:
        for frame in frames:
            protocol.receive(frame)
    assert spies.calls > 0  # the spies sit where the fast path goes

    json_frames = sum(1 for f in frames if f.lstrip().startswith("{"))
    with fast_mapping_spies(venue) as spies, slow_path(venue) as stubs:
        for frame in frames:
            protocol.receive(frame)
    assert spies.calls == 0
    assert stubs[0].calls == json_frames  # every JSON frame met the refusing decoder
    for stub in stubs[1:]:
        assert stub.calls > 0


# -- the workloads ---------------------------------------------------------------------


@pytest.mark.parametrize("venue", VENUES)
def test_workload_frames_give_the_same_events(venue: str) -> None:
    """Every frame of the venue's benchmark workload: fast events == slow events."""
    frames = workload(venue)
    assert len(frames) >= WORKLOAD_FRAMES
    protocol = plugins()[venue].protocol("main")
    fast = [protocol.receive(frame) for frame in frames]
    with slow_path(venue):
        slow = [protocol.receive(frame) for frame in frames]
    for frame, fast_one, slow_one in zip(frames, fast, slow, strict=True):
        assert_same(fast_one, slow_one, frame)


@pytest.mark.parametrize("venue", VENUES)
def test_workload_frames_as_bytes_give_the_same_events(venue: str) -> None:
    """The same frames as UTF-8 bytes: fast events == slow events == the str events."""
    frames = workload(venue)[:1000]
    protocol = plugins()[venue].protocol("main")
    for frame in frames:
        data = frame.encode()
        fast = protocol.receive(data)
        assert_same(fast, slow_events(venue, data), data)
        assert_same(fast, protocol.receive(frame), frame)


# -- mutated frames --------------------------------------------------------------------


class RawNumber:
    """A JSON number kept as its text (re-encoded verbatim)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


_MARK = "\x01"

#: Replacement values for one leaf or key (RawNumber: a literal JSON number).
REPLACEMENTS: tuple[object, ...] = (
    None,
    "",
    "null",
    " null ",
    "NaN",
    "Infinity",
    "1e999",
    "-1",
    "-0",
    " 5 ",
    "1.0",
    "1.000000",
    "0E+40",
    "1_000",
    0,
    -5,
    1,
    10**40,
    2**63,
    "1" * 45,
    "0." + "1" * 45,
    "abc",
    True,
    False,
    [],
    {},
    [1, "a"],
    "x" * 5000,
    "é\u2028",
    0.1,
    -0.0,
    1e300,
    "2025-07-10T11:31:41Z",
    "2025-07-10T11:31:41",
    "2025-07-10 11:31:41.5+05:30",
    RawNumber("1e999"),
    RawNumber("-1e999"),
    RawNumber("1.0"),
    RawNumber("1E+2"),
    RawNumber("-0"),
    RawNumber("0.000000000000000000000000000000001"),
    RawNumber("123456789012345678901234567890.123456789012"),
    RawNumber("18446744073709551616"),
    RawNumber("-9223372036854775809"),
    RawNumber("1752147101064.5"),
)
#: Keys a mutation may add (known elsewhere in the venues' frames, or unknown).
EXTRA_KEYS = (
    "zz_unknown",
    "type",
    "topic",
    "event",
    "data",
    "sequence",
    "timestamp",
    "payload",
    "success",
    "request",
    "severity",
    "status",
    "order_id",
    "id",
    "child_orders",
)


def _as_json(value: object, raws: list[str], order: str) -> object:
    """``value`` with its RawNumbers as placeholders and its keys in ``order``."""
    if isinstance(value, RawNumber):
        raws.append(value.text)
        return f"{_MARK}{len(raws) - 1}{_MARK}"
    if isinstance(value, list):
        return [_as_json(v, raws, order) for v in value]
    if isinstance(value, dict):
        items = list(value.items())
        if order == "reverse":
            items.reverse()
        elif order == "sort":
            items.sort(key=lambda kv: str(kv[0]))
        return {k: _as_json(v, raws, order) for k, v in items}
    return value


def encode(tree: object, order: str, style: str) -> str:
    raws: list[str] = []
    plain = _as_json(tree, raws, order)
    if style == "compact":
        text = json.dumps(plain, separators=(",", ":"), ensure_ascii=False)
    elif style == "spaced":
        text = json.dumps(plain)
    else:
        text = json.dumps(plain, indent=2, ensure_ascii=True) + "\n"
    for index, raw in enumerate(raws):
        text = text.replace(json.dumps(f"{_MARK}{index}{_MARK}"), raw)
    return text


def _slots(tree: object) -> list[tuple[dict[str, Any] | list[Any], Any]]:
    """Every (container, key or index) of the tree, depth first."""
    found: list[tuple[dict[str, Any] | list[Any], Any]] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                found.append((node, key))
                stack.append(value)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                found.append((node, index))
                stack.append(value)
    return found


def _same_as_string(value: object) -> object:
    if isinstance(value, RawNumber):
        return value.text
    if isinstance(value, str):
        return value
    return encode(value, "keep", "compact")


@st.composite
def mutated_frames(draw: st.DrawFn, venue: str) -> str | bytes:
    """A workload frame with one leaf or key changed, re-encoded one of several ways."""
    tree = json.loads(draw(st.sampled_from(seeds(venue))), parse_float=RawNumber)
    slots = _slots(tree)
    container, key = draw(st.sampled_from(slots))
    operation = draw(st.sampled_from(["replace", "replace", "replace", "same", "remove", "add"]))
    replacement = draw(
        st.one_of(
            st.sampled_from(REPLACEMENTS),
            st.floats(allow_nan=False, allow_infinity=False),
            st.integers(min_value=-(2**70), max_value=2**70),
        )
    )
    if operation == "replace":
        container[key] = replacement
    elif operation == "same":
        container[key] = _same_as_string(container[key])
    elif operation == "remove":
        del container[key]
    else:
        target = draw(st.sampled_from([tree, *(c for c, _ in slots if isinstance(c, dict))]))
        if isinstance(target, dict):
            target[draw(st.sampled_from(EXTRA_KEYS))] = replacement
    text = encode(
        tree,
        draw(st.sampled_from(["keep", "reverse", "sort"])),
        draw(st.sampled_from(["compact", "spaced", "indented"])),
    )
    return text.encode() if draw(st.booleans()) else text


@st.composite
def byte_mutated_frames(draw: st.DrawFn, venue: str) -> str | bytes:
    """A workload frame truncated, with one byte changed, or with a key duplicated."""
    data = draw(st.sampled_from(seeds(venue))).encode()
    operation = draw(st.sampled_from(["truncate", "byte", "duplicate"]))
    position = draw(st.integers(min_value=0, max_value=len(data) - 1))
    if operation == "truncate":
        data = data[:position]
    elif operation == "byte":
        data = data[:position] + bytes([draw(st.integers(0, 255))]) + data[position + 1 :]
    else:
        # A key again right after some opening brace: msgspec keeps the last value.
        braces = [i for i, b in enumerate(data) if b == ord("{")]
        at = draw(st.sampled_from(braces)) + 1
        key = draw(st.sampled_from(EXTRA_KEYS))
        value = encode(draw(st.sampled_from(REPLACEMENTS)), "keep", "compact")
        data = data[:at] + f"{json.dumps(key)}:{value},".encode() + data[at:]
    if draw(st.booleans()):
        try:
            return data.decode()
        except UnicodeDecodeError:
            return data
    return data


class _BybitObjectKeys(msgspec.Struct):
    """The keys Bybit's envelope reads as ``object``, read the same way (no float hook)."""

    success: object = None
    request: object = None


class _TreadObjectKeys(msgspec.Struct):
    """The key Tread.fi's envelope reads as ``object``, read the same way."""

    type: object = None


#: Per venue, a decoder of the envelope keys its one-pass decoder reads as ``object``
#: with ``float_hook=Decimal`` while its envelope decoder reads them without one.
_OBJECT_KEYS: dict[str, msgspec.json.Decoder[Any]] = {
    "bybit": msgspec.json.Decoder(_BybitObjectKeys),
    "tread": msgspec.json.Decoder(_TreadObjectKeys),
}


def object_key_overflows(venue: str, frame: str | bytes) -> bool:
    """A frame with a number beyond float range at one of the envelope's object keys.

    A divergence these tests found (now fixed): the one-pass decoder read such a number
    as a Decimal and mapped the frame, while the envelope decoder rejects it ("Number
    out of range") and the step-by-step path gives Malformed. For Tread.fi it takes a
    duplicated ``type`` key (the last one wins).
    """
    decoder = _OBJECT_KEYS.get(venue)
    if decoder is None:
        return False
    try:
        decoder.decode(frame)
    except msgspec.DecodeError as exc:
        return "Number out of range" in str(exc)
    except Exception:  # noqa: BLE001 - not JSON text at all
        return False
    return False


def _check_mutated(venue: str, frame: str | bytes) -> None:
    clear_caches()
    fast = fast_events(venue, frame)
    clear_caches()
    slow = slow_events(venue, frame)
    assert_same(fast, slow, frame)


@pytest.mark.parametrize("venue", VENUES)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_frames_give_the_same_events(venue: str, data: st.DataObject) -> None:
    """One leaf or key mutated (any encoding): the same events, Malformed ones included."""
    _check_mutated(venue, data.draw(mutated_frames(venue), label="frame"))


@pytest.mark.parametrize("venue", VENUES)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_byte_mutated_frames_give_the_same_events(venue: str, data: st.DataObject) -> None:
    """Truncated frames, a changed byte, a duplicated key: the same events."""
    _check_mutated(venue, data.draw(byte_mutated_frames(venue), label="frame"))


@pytest.mark.parametrize(
    ("venue", "frame"),
    [
        ("bybit", '{"topic":"order","data":[],"success":1e999}'),
        ("bybit", b'{"topic":"position","data":[],"request":-1e400}'),
        (
            "tread",
            '{"type":1e999,"type":"order_update","data":{"order":{"id":"a","status":"ACTIVE"}}}',
        ),
    ],
)
def test_envelope_object_key_beyond_float_range(venue: str, frame: str | bytes) -> None:
    """An envelope key typed ``object`` holding ``1e999``: the same events both ways
    (Malformed, as before the fast paths)."""
    assert object_key_overflows(venue, frame)
    assert_same(fast_events(venue, frame), slow_events(venue, frame), frame)


# -- the parsers' caches ---------------------------------------------------------------


def reference_parse_decimal(value: object, field: str) -> Decimal | None:
    """``parse_decimal`` as it was before its caches (kept verbatim as the oracle)."""
    if type(value) is Decimal:
        d = value
    elif value is None:
        return None
    elif isinstance(value, Decimal):
        d = value
    elif isinstance(value, bool):
        raise FrameError(f"{field}: expected a number, got a boolean")
    elif isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text or text == "null":
            return None
        try:
            d = Decimal(text)
        except InvalidOperation:
            raise FrameError(f"{field}: not a number: {text[:40]!r}") from None
    else:
        raise FrameError(f"{field}: expected a number, got {type(value).__name__}")
    if not d.is_finite():
        raise FrameError(f"{field}: not a finite number")
    if d and (abs(d.adjusted()) > 30 or (len(str(d)) > 40 and len(d.as_tuple().digits) > 40)):
        raise FrameError(f"{field}: number out of range")
    return d


def reference_parse_quantity(value: object, field: str) -> Decimal | None:
    d = reference_parse_decimal(value, field)
    if d is not None and d < 0:
        raise FrameError(f"{field}: negative quantity")
    return d


_EPOCH = datetime.fromisoformat("1970-01-01T00:00:00+00:00")


def reference_iso_to_micros(value: str | None, field: str = "time") -> int | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise FrameError(f"{field}: not an ISO-8601 time: {value[:40]!r}") from None
    if dt.tzinfo is None:
        raise FrameError(f"{field}: time without a time zone: {value[:40]!r}")
    delta = dt - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def outcome(function: Callable[[Any, str], object], value: object) -> str:
    """What a call gives: its result's repr, or its exception's type and message."""
    try:
        return repr(function(value, "field"))
    except Exception as exc:  # noqa: BLE001 - compared, whatever it is
        return f"raised {type(exc).__name__}: {exc}"


PARSERS: dict[str, tuple[Callable[[Any, str], object], Callable[[Any, str], object]]] = {
    "parse_decimal": (parse_decimal, reference_parse_decimal),
    "parse_quantity": (parse_quantity, reference_parse_quantity),
    "iso_to_micros": (iso_to_micros, reference_iso_to_micros),
}

numberish = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.decimals(places=8, min_value=-(10**12), max_value=10**12).map(str),
    st.from_regex(r"\s?-?[0-9_]{0,45}(\.[0-9]{0,45})?([eE][-+]?[0-9]{1,3})?\s?", fullmatch=True),
    st.integers().map(str),
    st.integers(min_value=-(10**45), max_value=10**45),
    st.sampled_from([v for v in REPLACEMENTS if not isinstance(v, RawNumber)]),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.floats(),
    st.text(max_size=50),
)
timeish = st.one_of(
    st.datetimes(timezones=st.timezones() | st.none()).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat() + "Z"),
    st.sampled_from([v for v in REPLACEMENTS if isinstance(v, str)]),
    st.text(max_size=40),
    st.none(),
)


@pytest.mark.parametrize("name", sorted(PARSERS))
@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_cached_parsers_match_the_uncached_code(name: str, data: st.DataObject) -> None:
    """Cold, warm and cleared again: the same result (or error) as the pre-cache code."""
    function, reference = PARSERS[name]
    value = data.draw(timeish if name == "iso_to_micros" else numberish, label="value")
    expected = outcome(reference, value)
    clear_caches()
    assert outcome(function, value) == expected  # cold
    assert outcome(function, value) == expected  # warm (cached if accepted)
    clear_caches()
    assert outcome(function, value) == expected  # cleared


@pytest.mark.parametrize(
    ("first", "second"),
    [("1", "1.0"), ("1.0", "1"), ("1.0", "1.00"), ("1E+2", "100"), ("100", "1E+2"), ("0", "0.0")],
)
@pytest.mark.parametrize("name", ["parse_decimal", "parse_quantity"])
def test_cached_numbers_keep_their_exponent(name: str, first: str, second: str) -> None:
    """Equal values with different exponents are cached apart: each keeps its text."""
    function = PARSERS[name][0]
    clear_caches()
    for value in (first, second, first, second):
        assert str(function(value, "field")) == str(Decimal(value))
    # An int of the same value does not take a string's exponent (or the reverse).
    assert str(function(int(Decimal(first)), "field")) == str(int(Decimal(first)))
    assert str(function(first, "field")) == str(Decimal(first))


def test_cached_strings_do_not_leak_between_parsers() -> None:
    """A negative string accepted by parse_decimal is still refused by parse_quantity."""
    clear_caches()
    assert parse_decimal("-1.5", "field") == Decimal("-1.5")
    with pytest.raises(FrameError, match="field: negative quantity"):
        parse_quantity("-1.5", "field")
    assert parse_decimal(-3, "field") == Decimal(-3)
    with pytest.raises(FrameError, match="field: negative quantity"):
        parse_quantity(-3, "field")


def test_cached_values_are_not_tied_to_a_field_name() -> None:
    """An error names the field asked about, even for a value seen under another name."""
    clear_caches()
    for function in (parse_decimal, parse_quantity):
        with pytest.raises(FrameError, match=r"^price: not a finite number$"):
            function("NaN", "price")
        with pytest.raises(FrameError, match=r"^size: not a finite number$"):
            function("NaN", "size")
    with pytest.raises(FrameError, match=r"^updated_at: time without a time zone"):
        iso_to_micros("2025-07-10T11:31:41", "updated_at")
    with pytest.raises(FrameError, match=r"^time: time without a time zone"):
        iso_to_micros("2025-07-10T11:31:41")


@pytest.mark.parametrize(
    ("cache", "fill"),
    [
        ("_ACCEPTED", lambda i: parse_decimal(f"{i}.5", "field")),
        ("_ACCEPTED_INTS", lambda i: parse_decimal(i, "field")),
        ("_ACCEPTED_QUANTITIES", lambda i: parse_quantity(f"{i}.25", "field")),
        ("_TIMES", lambda i: iso_to_micros(f"2025-07-10T11:31:41.{i:06d}+00:00")),
    ],
)
def test_caches_stay_bounded(cache: str, fill: Callable[[int], object]) -> None:
    """More distinct values than a cache holds: it never grows past its maximum."""
    limit = plugin_module._CACHE_SIZE
    values: dict[str, Any] = getattr(plugin_module, cache)
    clear_caches()
    largest = 0
    for i in range(limit * 2 + 100):
        fill(i)
        largest = max(largest, len(values))
    assert largest == limit
    assert 0 < len(values) <= limit
    # What survived the clearing is still right.
    assert parse_decimal("12.5", "field") == Decimal("12.5")
    assert str(parse_quantity("7.250", "field")) == "7.250"
    assert iso_to_micros("1970-01-01T00:00:01.000002+00:00") == 1_000_002


def test_status_and_day_caches_stay_bounded() -> None:
    """Tread.fi's status cache and Clear Street's trading-day cache are bounded too."""
    clear_caches()
    for i in range(tread_decode._STATUS_CACHE_SIZE * 2 + 10):
        tread_decode._fast_status(f"status-{i}")
        assert len(tread_decode._STATUSES) <= tread_decode._STATUS_CACHE_SIZE
    hour = 3_600_000
    for i in range(clearstreet_mapping._DAYS_SIZE * 2 + 10):
        millis = 1_752_147_100_000 + i * hour
        assert clearstreet_mapping.trading_day(millis) == clearstreet_mapping.day_of(millis)
        assert len(clearstreet_mapping._DAYS) <= clearstreet_mapping._DAYS_SIZE
