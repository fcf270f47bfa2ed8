"""Clear Street payloads -> normalized events, the status table and the trading day."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reconciler.events import (
    Event,
    Fill,
    Heartbeat,
    OrderUpdate,
    Passthrough,
    PositionUpdate,
    ReplayEnd,
    Subscribed,
    VenueError,
)
from reconciler.lifecycle import Status
from reconciler.plugin import FrameError, parse_decimal, parse_quantity
from reconciler_clearstreet._wire import (
    BuyingPowerMsg,
    ErrorNoticeMsg,
    HeartbeatMsg,
    LocateInventoryMsg,
    OrderData,
    OrderUpdateMsg,
    Payload,
    PositionData,
    PositionUpdateMsg,
    ReplayCompleteMsg,
    SubscribeAckMsg,
    TradeData,
    TradeNoticeMsg,
)

__all__ = [
    "CHANNEL",
    "STATUS_TABLE",
    "TRADING_ZONE",
    "day_of",
    "fill_event",
    "load_zone",
    "order_event",
    "payload_event",
    "position_event",
    "trading_day",
]

CHANNEL = "activity"

_S = Status
#: Every ``status`` value of the order object (official SDK enum). ``done-for-day`` ends
#: the order: the venue only has day-scoped time-in-force values, so nothing resumes.
STATUS_TABLE: Mapping[str, Status] = MappingProxyType(
    {
        "new": _S.ACCEPTED,
        "partially-filled": _S.PARTIALLY_FILLED,
        "filled": _S.FILLED,
        "canceled": _S.CANCELED,
        "replaced": _S.ACCEPTED,
        "pending-cancel": _S.PENDING_CANCEL,
        "stopped": _S.ACCEPTED,
        "rejected": _S.REJECTED,
        "suspended": _S.PAUSED,
        "pending-new": _S.PENDING,
        "calculated": _S.ACCEPTED,
        "expired": _S.EXPIRED,
        "accepted-for-bidding": _S.ACCEPTED,
        "pending-replace": _S.ACCEPTED,
        "done-for-day": _S.EXPIRED,
    }
)

#: Raw statuses that mean the order's quantity may legitimately have changed.
_AMENDING_STATUSES = frozenset({"replaced", "pending-replace"})
_LIMIT_ORDER_TYPES = frozenset({"limit", "stop-limit"})
_UNKNOWN = Status.UNKNOWN


def load_zone(name: str) -> tzinfo:
    """The named time zone, or UTC when the zone data is not installed."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


#: Sequence numbers restart each trading day, and the venue's day is New York's.
TRADING_ZONE = load_zone("America/New_York")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def day_of(millis: float, zone: tzinfo = TRADING_ZONE) -> str:
    """The calendar date (``YYYY-MM-DD``) of epoch ``millis`` in ``zone``.

    ``millis`` must already be range-checked (the wire decoder bounds it); timedelta
    arithmetic is used rather than ``fromtimestamp`` so no platform limit applies.
    """
    return (_EPOCH + timedelta(milliseconds=millis)).astimezone(zone).date().isoformat()


_HOUR_MS = 3_600_000
#: UTC hour (epoch ms // one hour) -> New York date, for hours wholly inside one date
#: at one UTC offset (bounded: cleared when full).
_DAYS: dict[int, str] = {}
_DAYS_SIZE = 512


def trading_day(millis: float) -> str:
    """``day_of(millis)`` in the trading zone, from a per-hour cache for integer ``millis``.

    New York's offsets are whole hours and change on the hour, so every UTC hour lies in
    one New York date. That is checked, not assumed: an hour is cached only when both
    its first and last millisecond have the same offset and the same date (a constant
    offset makes local time monotonic across the hour). Floats (whose timedelta rounds)
    and any other hour go through :func:`day_of`.
    """
    if type(millis) is not int:
        return day_of(millis)
    hour = millis // _HOUR_MS
    day = _DAYS.get(hour)
    if day is None:
        start = hour * _HOUR_MS
        first = (_EPOCH + timedelta(milliseconds=start)).astimezone(TRADING_ZONE)
        last = (_EPOCH + timedelta(milliseconds=start + _HOUR_MS - 1)).astimezone(TRADING_ZONE)
        if first.utcoffset() != last.utcoffset() or first.date() != last.date():
            return day_of(millis)
        day = first.date().isoformat()
        if len(_DAYS) >= _DAYS_SIZE:
            _DAYS.clear()
        _DAYS[hour] = day
    return day


def _text(value: str | None) -> str | None:
    """An optional venue string; the empty string means the venue did not say."""
    return value or None


def _seconds(millis: float | None) -> float | None:
    return None if millis is None else millis / 1000


#: The usual raw sides, lower-cased.
_SIDES: Mapping[str, str] = MappingProxyType(
    {
        side: side.lower()
        for side in ("buy", "sell", "sell-short", "BUY", "SELL", "SELL-SHORT", "Buy", "Sell")
    }
)


def _side(value: str | None) -> str | None:
    """``side`` lower-cased; empty or absent is not a side."""
    return (_SIDES.get(value) or value.lower()) if value else None


def order_event(data: OrderData) -> OrderUpdate:
    """An ``order-update`` order object as an :class:`OrderUpdate`."""
    order_type = data.order_type
    price = parse_decimal(data.price, "price")
    tif = data.time_in_force or None
    reason = data.order_update_reason or None
    status = data.status
    updated_at = data.updated_at
    return OrderUpdate(
        order_id=data.order_id,
        status=STATUS_TABLE.get(status, _UNKNOWN),
        raw_status=status,
        client_order_id=data.reference_id or None,
        account=data.account_id or None,
        symbol=data.symbol or None,
        side=_side(data.side),
        quantity=parse_quantity(data.quantity, "quantity"),
        filled=parse_quantity(data.filled_quantity, "filled_quantity"),
        avg_price=parse_decimal(data.average_price, "average_price"),
        limit_price=price if order_type and order_type.lower() in _LIMIT_ORDER_TYPES else None,
        key=data.version,
        venue_time=None if updated_at is None else updated_at / 1000,
        time_in_force=tif,
        # IOC must be done the moment it is reported; every other value is day-scoped.
        max_lifetime=0.0 if tif is not None and tif.lower() == "ioc" else None,
        amended=reason == "modify" or status in _AMENDING_STATUSES,
        reason=reason,
    )


def fill_event(data: TradeData) -> Fill:
    """A ``trade-notice`` trade object as a :class:`Fill`."""
    quantity = parse_quantity(data.quantity, "quantity")
    if quantity is None:
        raise FrameError("trade-notice: quantity is missing")
    return Fill(
        fill_id=data.trade_id,
        order_id=data.order_id,
        quantity=quantity,
        price=parse_decimal(data.price, "price"),
        side=_side(data.side),
        symbol=_text(data.symbol),
        venue_time=_seconds(data.created_at),
    )


def position_event(data: PositionData) -> PositionUpdate:
    """A ``position-update`` position object; a short position has a negative quantity."""
    return PositionUpdate(
        symbol=data.symbol,
        quantity=parse_decimal(data.quantity, "quantity"),
        account=_text(data.account_id),
        average_cost=parse_decimal(data.average_cost, "average_cost"),
    )


def payload_event(msg: Payload) -> Event:
    """The one event a decoded payload carries. Raises FrameError for bad content."""
    # The usual payloads first, by exact type (what the decoder makes); then the rest.
    if type(msg) is OrderUpdateMsg:
        return order_event(msg.data)
    if type(msg) is TradeNoticeMsg:
        return fill_event(msg.data)
    if type(msg) is PositionUpdateMsg:
        return position_event(msg.data)
    match msg:
        case OrderUpdateMsg(data=data):
            return order_event(data)
        case TradeNoticeMsg(data=data):
            return fill_event(data)
        case PositionUpdateMsg(data=data):
            return position_event(data)
        case SubscribeAckMsg(success=True, account_id=account):
            return Subscribed(channels=(CHANNEL,), detail=account or "")
        case SubscribeAckMsg(details=details):
            return VenueError(message=details or "subscription refused", auth=True)
        case ReplayCompleteMsg():
            return ReplayEnd()
        case HeartbeatMsg():
            return Heartbeat()
        case ErrorNoticeMsg(details=details):
            return VenueError(message=details or "error-notice without details")
        case BuyingPowerMsg(data=data):
            return Passthrough(kind="buying-power-update", data=data)
        case LocateInventoryMsg(data=data):
            return Passthrough(kind="locate-inventory-update", data=data)
    raise FrameError(f"unhandled payload {type(msg).__name__}")  # pragma: no cover
