"""The venue plugin contract and the helpers plugins build their parsers from.

A venue plugin is a package that exposes a :class:`VenuePlugin` instance through the
``reconciler.venues`` entry-point group::

    [project.entry-points."reconciler.venues"]
    myvenue = "my_package:plugin"

Its :meth:`VenuePlugin.protocol` returns a sans-IO :class:`VenueProtocol`: an object
that turns each received frame into normalized :mod:`reconciler.events` and never
awaits. For live runs, :meth:`VenuePlugin.link` describes the connection
(:mod:`reconciler.link`) and :meth:`VenuePlugin.simulator` provides a simulated venue
(:mod:`reconciler.simulator`, :mod:`reconciler.scripting`). Plugins use only these
public modules plus :mod:`reconciler.events`, :mod:`reconciler.lifecycle` and
:mod:`reconciler.alerts`; the core never imports a plugin.
"""

from __future__ import annotations

import abc
import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from importlib.metadata import entry_points
from typing import Protocol, runtime_checkable

import msgspec

from reconciler.benchkit import BenchKit
from reconciler.events import Event, Malformed
from reconciler.lifecycle import Status
from reconciler.link import LinkSettings, VenueLink
from reconciler.simulator import VenueSimulator

__all__ = [
    "ENTRY_POINT_GROUP",
    "BaseProtocol",
    "FrameError",
    "PluginLoadError",
    "VenuePlugin",
    "VenueProtocol",
    "content_digest",
    "excerpt",
    "iso_to_epoch",
    "iso_to_micros",
    "load_plugins",
    "lookup_status",
    "parse_decimal",
    "parse_quantity",
]

ENTRY_POINT_GROUP = "reconciler.venues"

# Bounds that keep every later Decimal sum and product exact (see reconciler._numbers):
# a venue number outside them is a malformed frame, not a value to compute with.
_MAX_DIGITS = 40
_MAX_ADJUSTED_EXPONENT = 30


class FrameError(ValueError):
    """Raised by a parser for a frame it cannot accept; becomes a :class:`Malformed` event."""


@runtime_checkable
class VenueProtocol(Protocol):
    """Sans-IO protocol object for one venue connection (one account).

    ``receive`` maps one received frame (text or bytes) to the events it carries, in
    order. It must not raise for anything a venue can send: a frame it cannot decode
    becomes a :class:`~reconciler.events.Malformed` event, a frame it does not care
    about an :class:`~reconciler.events.Ignored` one.
    """

    def receive(self, frame: str | bytes) -> list[Event]: ...


class BaseProtocol(abc.ABC):
    """A convenient base for :class:`VenueProtocol` implementations.

    Subclasses implement :meth:`parse`; any :class:`FrameError`, msgspec decode or
    validation error, or arithmetic error (Decimal, overflow) it raises is turned into one
    :class:`~reconciler.events.Malformed` event carrying the reason and an excerpt.
    """

    def receive(self, frame: str | bytes) -> list[Event]:
        """Parse ``frame``; never raises for bad venue input."""
        try:
            return self.parse(frame)
        except (
            FrameError,
            msgspec.MsgspecError,
            ArithmeticError,
            ValueError,
            TypeError,
            RecursionError,
        ) as exc:
            return [Malformed(reason=_reason(exc), excerpt=excerpt(frame))]

    @abc.abstractmethod
    def parse(self, frame: str | bytes) -> list[Event]:
        """Decode one frame into events; raise :class:`FrameError` for a bad frame."""


class VenuePlugin(abc.ABC):
    """What a venue package provides.

    ``name`` is the venue name used in captures and configuration (``tread``, ``btse``,
    ``bybit``, ``clearstreet``); ``status_table`` maps every raw venue status the plugin
    knows to its canonical :class:`~reconciler.lifecycle.Status` (documented on the
    venue's page; anything not in it becomes ``Status.UNKNOWN``).
    """

    name: str
    status_table: Mapping[str, Status]
    #: True when the venue streams executions separately from order reports (Bybit
    #: ``execution``, Clear Street ``trade-notice``): the core then reconciles the sum of
    #: executions with each order's reported cumulative fill.
    streams_executions: bool = False

    #: The credentials a live connection needs, by name (``token``; ``api_key`` and
    #: ``api_secret``); the configuration names an environment variable for each.
    credential_names: tuple[str, ...] = ()
    #: The production WebSocket URL, used when the configuration gives none.
    default_url: str | None = None

    @abc.abstractmethod
    def protocol(self, account: str) -> VenueProtocol:
        """A fresh sans-IO protocol object for ``account``.

        The core and the live engine keep one per account, across reconnections, so a
        replay of the account's frames parses exactly as the live run did.
        """

    def link(self, settings: LinkSettings) -> VenueLink:
        """The sans-IO connection recipe for one configured account (live venues only).

        A replay-only plugin leaves this alone; configuring it for a live run is then a
        configuration error.
        """
        raise NotImplementedError(f"venue {self.name!r} has no live connection")

    def simulator(self, credentials: Mapping[str, Mapping[str, str]]) -> VenueSimulator:
        """A simulator of this venue knowing ``credentials`` per account (optional)."""
        raise NotImplementedError(f"venue {self.name!r} has no simulator")

    def bench_kit(self) -> BenchKit:
        """The reference parsers ``reconciler bench`` measures this venue against
        (:mod:`reconciler.benchkit`; optional: without one the ratios are not reported)."""
        raise NotImplementedError(f"venue {self.name!r} has no benchmark kit")


class PluginLoadError(RuntimeError):
    """A plugin registered in the entry-point group could not be loaded."""


def load_plugins(
    *, group: str = ENTRY_POINT_GROUP, on_error: Callable[[str, Exception], None] | None = None
) -> dict[str, VenuePlugin]:
    """Load every venue plugin registered in ``group``, keyed by venue name.

    A plugin that fails to import, is not a :class:`VenuePlugin`, or names a venue
    another plugin already provides is reported through ``on_error`` (name, exception)
    and skipped; without ``on_error`` it raises :class:`PluginLoadError`.
    """
    found: dict[str, VenuePlugin] = {}
    for ep in entry_points(group=group):
        try:
            obj = ep.load()
            if not isinstance(obj, VenuePlugin):
                msg = f"entry point {ep.name!r} ({ep.value}) is not a VenuePlugin"
                raise PluginLoadError(msg)
        except Exception as exc:
            if on_error is None:
                raise PluginLoadError(f"venue plugin {ep.name!r} failed to load: {exc}") from exc
            on_error(ep.name, exc)
            continue
        if obj.name in found and found[obj.name] is not obj:
            # Two packages claiming one venue name: keeping either silently would make
            # the engine's behaviour depend on installation order.
            clash = PluginLoadError(
                f"venue plugin {ep.name!r} ({ep.value}) names venue {obj.name!r}, "
                "which another installed plugin already provides"
            )
            if on_error is None:
                raise clash
            on_error(ep.name, clash)
            continue
        found[obj.name] = obj
    return found


def parse_decimal(value: object, field: str) -> Decimal | None:
    """A venue number as an exact Decimal; ``None``, ``""`` and ``"null"`` give ``None``.

    Accepts Decimal, int and numeric strings. Raises :class:`FrameError` for anything
    else, for NaN/Infinity and for numbers too large or too precise to reconcile exactly.
    """
    # Decimal first: msgspec's typed decoders hand over Decimals, several per report.
    if type(value) is Decimal:
        d = value
    elif type(value) is str:
        # Venues repeat the same numeric strings (prices, sizes, "0") over and over: a
        # string already accepted maps to its (immutable) Decimal without re-checking.
        cached = _ACCEPTED.get(value)
        if cached is not None:
            return cached
        try:
            # Decimal() strips the same whitespace str.strip() does, so this is the
            # value of the stripped text; blanks, "null" and errors take the long way.
            d = Decimal(value)
        except Exception:  # noqa: BLE001 - _text_decimal raises the precise error
            parsed = _text_decimal(value, field)
            if parsed is None:
                return None
            d = parsed
        # A text of at most _MAX_DIGITS characters cannot hold more coefficient digits.
        if not d.is_finite() or (
            d
            and (
                abs(d.adjusted()) > _MAX_ADJUSTED_EXPONENT
                or (len(value) > _MAX_DIGITS and len(str(d)) > _MAX_DIGITS)
            )
        ):
            _check_range(d, field)
        if len(_ACCEPTED) >= _CACHE_SIZE:
            _ACCEPTED.clear()
        _ACCEPTED[value] = d
        return d
    elif value is None:
        return None
    elif type(value) is int:
        # JSON integers (sizes, quantities): the same few values again and again.
        cached = _ACCEPTED_INTS.get(value)
        if cached is not None:
            return cached
        d = Decimal(value)
        if d and (
            abs(d.adjusted()) > _MAX_ADJUSTED_EXPONENT
            or (len(str(d)) > _MAX_DIGITS and len(d.as_tuple().digits) > _MAX_DIGITS)
        ):
            raise FrameError(f"{field}: number out of range")
        if len(_ACCEPTED_INTS) >= _CACHE_SIZE:
            _ACCEPTED_INTS.clear()
        _ACCEPTED_INTS[value] = d
        return d
    elif isinstance(value, Decimal):
        d = value
    elif isinstance(value, bool):
        raise FrameError(f"{field}: expected a number, got a boolean")
    elif isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, str):
        parsed = _text_decimal(value, field)
        if parsed is None:
            return None
        d = parsed
    else:
        raise FrameError(f"{field}: expected a number, got {type(value).__name__}")
    # Its text holds every digit of the coefficient, so a short text needs no digit count
    # (as_tuple builds a tuple of digits: three times the cost of str).
    if not d.is_finite() or (
        d
        and (
            abs(d.adjusted()) > _MAX_ADJUSTED_EXPONENT
            or (len(str(d)) > _MAX_DIGITS and len(d.as_tuple().digits) > _MAX_DIGITS)
        )
    ):
        _check_range(d, field)
    return d


#: Numeric strings parse_decimal has accepted, and their values (bounded: cleared when
#: full). Only accepted strings are kept, so every rejection still raises as before.
_ACCEPTED: dict[str, Decimal] = {}
#: The same for integers.
_ACCEPTED_INTS: dict[int, Decimal] = {}
#: The same for parse_quantity: accepted strings whose value is not negative.
_ACCEPTED_QUANTITIES: dict[str, Decimal] = {}
_CACHE_SIZE = 4096


def _text_decimal(value: str, field: str) -> Decimal | None:
    """A numeric string as a Decimal (not yet range-checked); blank and "null" give None."""
    text = value.strip()
    if not text or text == "null":
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise FrameError(f"{field}: not a number: {text[:40]!r}") from None


def _check_range(d: Decimal, field: str) -> None:
    """Raise FrameError for a Decimal that is not finite or not exactly reconcilable."""
    if not d.is_finite():
        raise FrameError(f"{field}: not a finite number")
    if d and (
        abs(d.adjusted()) > _MAX_ADJUSTED_EXPONENT
        or (len(str(d)) > _MAX_DIGITS and len(d.as_tuple().digits) > _MAX_DIGITS)
    ):
        raise FrameError(f"{field}: number out of range")


def parse_quantity(value: object, field: str) -> Decimal | None:
    """Like :func:`parse_decimal`, and the number must not be negative."""
    if type(value) is str:
        cached = _ACCEPTED_QUANTITIES.get(value)
        if cached is not None:
            return cached
        d = parse_decimal(value, field)
        if d is None:
            return None
        if d < 0:
            raise FrameError(f"{field}: negative quantity")
        if len(_ACCEPTED_QUANTITIES) >= _CACHE_SIZE:
            _ACCEPTED_QUANTITIES.clear()
        _ACCEPTED_QUANTITIES[value] = d
        return d
    d = parse_decimal(value, field)
    if d is not None and d < 0:
        raise FrameError(f"{field}: negative quantity")
    return d


def iso_to_epoch(value: str | None, field: str = "time") -> float | None:
    """An ISO-8601 timestamp (``Z`` or offset) as epoch seconds; ``None``/``""`` give ``None``."""
    micros = iso_to_micros(value, field)
    return None if micros is None else micros / 1_000_000


def iso_to_micros(value: str | None, field: str = "time") -> int | None:
    """An ISO-8601 timestamp as integer epoch microseconds (exact, for ordering keys)."""
    if not value:
        return None
    # Venues repeat timestamps (an order's start and end in every report of it).
    if type(value) is str:
        cached = _TIMES.get(value)
        if cached is not None:
            return cached
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise FrameError(f"{field}: not an ISO-8601 time: {value[:40]!r}") from None
    if dt.tzinfo is None:
        raise FrameError(f"{field}: time without a time zone: {value[:40]!r}")
    # timedelta // timedelta is integer arithmetic: exact.
    micros = (dt - _EPOCH) // _MICROSECOND
    if type(value) is str:
        if len(_TIMES) >= _CACHE_SIZE:
            _TIMES.clear()
        _TIMES[value] = micros
    return micros


_EPOCH = datetime.fromisoformat("1970-01-01T00:00:00+00:00")
_MICROSECOND = timedelta(microseconds=1)
#: Timestamps iso_to_micros has accepted, and their values (bounded: cleared when full).
_TIMES: dict[str, int] = {}


def content_digest(data: bytes | str) -> int:
    """A stable 64-bit digest of some content (for telling replays from conflicts)."""
    raw = data.encode() if isinstance(data, str) else data
    return int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "big")


def excerpt(frame: str | bytes, limit: int = 160) -> str:
    """The start of a frame, on one line, for an alert's evidence."""
    text = frame.decode("utf-8", "replace") if isinstance(frame, bytes) else frame
    # Lone surrogates would break any later UTF-8 encoding of the alert.
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"


def lookup_status(table: Mapping[str, Status], raw: str) -> Status:
    """The canonical status for ``raw``, or ``Status.UNKNOWN``."""
    return table.get(raw, Status.UNKNOWN)
