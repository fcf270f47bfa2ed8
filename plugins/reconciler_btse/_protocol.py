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
        if _is_pong(frame):
            return [Heartbeat()]
        envelope = _decode.ENVELOPE.decode(frame)
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


def _is_pong(frame: str | bytes) -> bool:
    if isinstance(frame, bytes):
        return frame.strip() == b"pong"
    return frame.strip() == "pong"


def _show(value: object) -> str:
    return repr(value)[:60]


def _element_reason(what: str, index: int, exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return f"{what}[{index}]: {text}"[:200]


def _notification(frame: str | bytes) -> list[Event]:
    events: list[Event] = []
    for index, raw in enumerate(_decode.NOTIFICATION.decode(frame).data):
        element = bytes(raw)
        try:
            events.append(order_update(_decode.ORDER.decode(element)))
        except _ELEMENT_ERRORS as exc:
            reason = _element_reason(f"{TOPIC} data", index, exc)
            events.append(Malformed(reason=reason, excerpt=excerpt(element)))
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
        element = bytes(raw)
        try:
            events.append(_venue_error(_decode.ERROR_ITEM.decode(element)))
        except _ELEMENT_ERRORS as exc:
            reason = _element_reason("errors", index, exc)
            events.append(Malformed(reason=reason, excerpt=excerpt(element)))
    return events


def _venue_error(item: _decode.ErrorItem) -> VenueError:
    code = None if item.error.code in (None, "") else str(item.error.code)
    message = item.error.message or f"BTSE error {code or '(no code)'}"
    if item.arg:
        message = f"{message} (arg: {item.arg})"
    return VenueError(message=message, code=code)
