"""The sans-IO BTSE futures protocol: one received frame in, normalized events out."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import InvalidOperation
from types import MappingProxyType

import msgspec

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
from reconciler.plugin import (
    BaseProtocol,
    FrameError,
    excerpt,
    lookup_status,
    parse_decimal,
    parse_quantity,
)
from reconciler_btse import _decode

__all__ = ["LIMIT_ORDER_TYPE", "MAX_LIFETIME", "STATUS_TABLE", "TOPIC", "BtseProtocol"]

TOPIC = "notificationApiV4"
#: ``type``/``orderType`` value of a limit order; only then is ``price`` a limit price.
LIMIT_ORDER_TYPE = 76
#: ``status`` 123 (AMEND_ORDER) is an amendment, which may change ``currentOrderSize``.
_AMEND_STATUS = 123

#: Raw BTSE status code (as a string) -> canonical status. The seed page's seven codes
#: are the contract; 1 and 8 come from venues.md. Every other code is UNKNOWN on purpose
#: (see docs/venues/btse.md): the core reports UNKNOWN_STATUS and still tracks sizes.
STATUS_TABLE: Mapping[str, Status] = MappingProxyType(
    {
        "1": Status.REJECTED,  # MARKET_UNAVAILABLE
        "2": Status.ACCEPTED,  # ORDER_INSERTED
        "4": Status.FILLED,  # FULLY_MATCHED
        "5": Status.PARTIALLY_FILLED,  # PARTIAL_FILL
        "6": Status.CANCELED,  # CANCELLED
        "8": Status.REJECTED,  # INSUFFICIENT_BALANCE
        "9": Status.UNTRIGGERED,  # TRIGGER_INSERTED
        "10": Status.TRIGGERED,  # TRIGGER_ACTIVATED
        "15": Status.REJECTED,  # REJECTED
    }
)

#: ``time_in_force`` -> the longest an order may live, in seconds. GTC and anything
#: not listed have no bound (``None``).
MAX_LIFETIME: Mapping[str, float] = MappingProxyType(
    {
        "IOC": 0.0,
        "FOK": 0.0,
        "HALFMIN": 30.0,
        "FIVEMIN": 300.0,
        "HOUR": 3600.0,
        "TWELVEHOUR": 43200.0,
        "DAY": 86400.0,
        "WEEK": 604800.0,
        "MONTH": 2592000.0,
    }
)

#: The same errors BaseProtocol turns into Malformed, caught here per array element.
_ELEMENT_ERRORS = (FrameError, msgspec.MsgspecError, InvalidOperation, ValueError, TypeError)


class BtseProtocol(BaseProtocol):
    """Parses BTSE futures frames for one connection (one account).

    ``pong`` is a :class:`Heartbeat`; each element of a ``notificationApiV4`` ``data``
    array is an :class:`OrderUpdate` (or a :class:`Malformed` for that element alone);
    login and subscribe acknowledgements are :class:`Subscribed`, a refused login and
    each entry of an error frame a :class:`VenueError`. Any other JSON object is
    :class:`Ignored`; anything else is :class:`Malformed`.
    """

    def __init__(self, account: str) -> None:
        self.account = account

    def parse(self, frame: str | bytes) -> list[Event]:
        """Decode one frame into events (``receive`` wraps this and never raises)."""
        # A frame ending in a brace cannot strip to "pong".
        if isinstance(frame, bytes):
            if frame[-1:] != b"}" and frame.strip() == b"pong":
                return [Heartbeat()]
        elif frame[-1:] != "}" and frame.strip() == "pong":
            return [Heartbeat()]
        try:
            fast = _decode.FAST.decode(frame)
        except Exception:  # noqa: BLE001 - the step-by-step path reports it precisely
            return _route(_decode.ENVELOPE.decode(frame), frame)
        data = fast.data
        if data is not _UNSET and fast.topic == TOPIC:
            try:
                return [_fast_order_update(item) for item in data]
            except Exception:  # noqa: BLE001 - element by element, each with its reason
                return _notification(frame)
        return _route(fast, frame)


def _route(envelope: _decode.Envelope | _decode.FastFrame, frame: str | bytes) -> list[Event]:
    """The events of a frame by its routing keys (``pong`` already told apart)."""
    if envelope.topic is not None:
        if envelope.topic == TOPIC:
            return _notification(frame)
        return [Ignored(reason=f"topic {_show(envelope.topic)} is not reconciled")]
    if envelope.event in ("login", "subscribe"):
        return [_ack(_decode.EVENT_ACK.decode(frame))]
    if envelope.event is not None:
        return [Ignored(reason=f"event {_show(envelope.event)} is not reconciled")]
    if isinstance(envelope.severity, str) and envelope.severity.upper() == "ERROR":
        return _errors(frame)
    return [Ignored(reason="JSON object of no known BTSE message type")]


_UNSET = msgspec.UNSET


def _show(value: object) -> str:
    return repr(value)[:60]


def _element_reason(what: str, index: int, exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return f"{what}[{index}]: {text}"[:200]


def _notification(frame: str | bytes) -> list[Event]:
    events: list[Event] = []
    for index, raw in enumerate(_decode.NOTIFICATION.decode(frame).data):
        try:
            events.append(order_update(_decode.ORDER.decode(raw)))
        except _ELEMENT_ERRORS as exc:
            reason = _element_reason(f"{TOPIC} data", index, exc)
            events.append(Malformed(reason=reason, excerpt=excerpt(bytes(raw))))
    return events


def order_update(data: _decode.OrderData) -> OrderUpdate:
    """Map one decoded ``notificationApiV4`` element to an :class:`OrderUpdate`."""
    raw_status = str(data.status)
    is_limit = LIMIT_ORDER_TYPE in (data.type, data.order_type)
    price = parse_decimal(data.price, "price")
    tif = data.time_in_force or None
    return OrderUpdate(
        order_id=data.order_id,
        status=lookup_status(STATUS_TABLE, raw_status),
        raw_status=raw_status,
        client_order_id=data.cl_order_id or None,
        symbol=data.symbol or None,
        side=data.side.lower() if data.side else None,
        quantity=parse_quantity(data.current_order_size, "currentOrderSize"),
        original_quantity=parse_quantity(data.original_order_size, "originalOrderSize"),
        filled=parse_quantity(data.total_filled_size, "totalFilledSize"),
        remaining=parse_decimal(data.remaining_size, "remainingSize"),
        avg_price=parse_decimal(data.avg_filled_price, "avgFilledPrice"),
        last_fill=parse_quantity(data.filled_size, "filledSize"),
        limit_price=price if is_limit else None,
        key=data.timestamp,
        venue_time=None if data.timestamp is None else data.timestamp / 1000,
        time_in_force=tif,
        max_lifetime=None if tif is None else MAX_LIFETIME.get(tif.upper()),
        fees=None,
        reason=None,
        amended=data.status == _AMEND_STATUS,
    )


#: Status code -> (raw status, canonical status), for the codes of STATUS_TABLE.
_STATUS_BY_CODE: Mapping[int, tuple[str, Status]] = MappingProxyType(
    {int(raw): (raw, status) for raw, status in STATUS_TABLE.items()}
)
#: The usual raw sides, lower-cased.
_SIDES: Mapping[str, str] = MappingProxyType(
    {"BUY": "buy", "SELL": "sell", "buy": "buy", "sell": "sell", "Buy": "buy", "Sell": "sell"}
)
#: ``time_in_force`` as sent -> max_lifetime, for the usual spellings of MAX_LIFETIME's.
_LIFETIMES: Mapping[str, float | None] = MappingProxyType(
    {
        **{tif: MAX_LIFETIME.get(tif) for tif in ("GTC", *MAX_LIFETIME)},
        **{tif.lower(): MAX_LIFETIME.get(tif) for tif in ("GTC", *MAX_LIFETIME)},
    }
)
#: A Decimal that parse_decimal accepts as it is: finite, |adjusted| <= 30, and (for
#: the text-length shortcut) a text of at most 40 characters.
_MAX_ADJUSTED = 30
_MAX_TEXT = 40


def _fast_order_update(data: _decode.OrderData) -> OrderUpdate:
    """:func:`order_update` for an element whose numbers all pass unchanged.

    Raises (anything) for any other element, which the caller then maps step by step.
    ``parse_decimal`` returns a valid Decimal as it is, so checking each number here
    and using it directly gives the same event.
    """
    for value in (
        data.price,
        data.current_order_size,
        data.original_order_size,
        data.total_filled_size,
        data.remaining_size,
        data.avg_filled_price,
        data.filled_size,
    ):
        if value is not None and not (
            value.is_finite()
            and (not value or abs(value.adjusted()) <= _MAX_ADJUSTED)
            and len(str(value)) <= _MAX_TEXT
        ):
            raise FrameError("not a plain number")
    quantity = data.current_order_size
    original = data.original_order_size
    filled = data.total_filled_size
    last_fill = data.filled_size
    if (
        (quantity is not None and quantity < 0)
        or (original is not None and original < 0)
        or (filled is not None and filled < 0)
        or (last_fill is not None and last_fill < 0)
    ):
        raise FrameError("negative quantity")
    code = data.status
    known = _STATUS_BY_CODE.get(code)
    if known is None:
        raw_status = str(code)
        status = Status.UNKNOWN
    else:
        raw_status, status = known
    side = data.side
    tif = data.time_in_force or None
    timestamp = data.timestamp
    return OrderUpdate(
        order_id=data.order_id,
        status=status,
        raw_status=raw_status,
        client_order_id=data.cl_order_id or None,
        symbol=data.symbol or None,
        side=(_SIDES.get(side) or side.lower()) if side else None,
        quantity=quantity,
        original_quantity=original,
        filled=filled,
        remaining=data.remaining_size,
        avg_price=data.avg_filled_price,
        last_fill=last_fill,
        limit_price=data.price if LIMIT_ORDER_TYPE in (data.type, data.order_type) else None,
        key=timestamp,
        venue_time=None if timestamp is None else timestamp / 1000,
        time_in_force=tif,
        max_lifetime=(
            None
            if tif is None
            else (_LIFETIMES[tif] if tif in _LIFETIMES else MAX_LIFETIME.get(tif.upper()))
        ),
        amended=code == _AMEND_STATUS,
    )


def _ack(ack: _decode.LoginAck | _decode.SubscribeAck) -> Event:
    if isinstance(ack, _decode.SubscribeAck):
        return Subscribed(channels=tuple(ack.channel))
    if ack.success:
        return Subscribed(detail="login")
    return VenueError(message="login refused", auth=True)


def _errors(frame: str | bytes) -> list[Event]:
    items = _decode.ERROR_FRAME.decode(frame).errors
    if not items:
        return [VenueError(message="error frame without any error listed")]
    events: list[Event] = []
    for index, raw in enumerate(items):
        try:
            events.append(_venue_error(_decode.ERROR_ITEM.decode(raw)))
        except _ELEMENT_ERRORS as exc:
            reason = _element_reason("errors", index, exc)
            events.append(Malformed(reason=reason, excerpt=excerpt(bytes(raw))))
    return events


def _venue_error(item: _decode.ErrorItem) -> VenueError:
    code = None if item.error.code in (None, "") else str(item.error.code)
    message = item.error.message or f"BTSE error {code or '(no code)'}"
    if item.arg:
        message = f"{message} (arg: {item.arg})"
    return VenueError(message=message, code=code)
