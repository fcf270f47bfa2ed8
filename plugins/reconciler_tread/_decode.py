"""Tread.fi order objects -> normalized :class:`~reconciler.events.OrderUpdate` events.

A single order maps to one event. A multi-order parent maps to one event per carried
child (in the order sent), then one for the parent, so that the core has applied every
child before it checks the parent's aggregates against them.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType

import msgspec

from reconciler.events import Event, OrderUpdate
from reconciler.lifecycle import Status
from reconciler.plugin import (
    FrameError,
    iso_to_epoch,
    iso_to_micros,
    lookup_status,
    parse_decimal,
    parse_quantity,
)
from reconciler_tread._wire import WireOrder, WireOrderUpdate, WireSingle

__all__ = ["CARRIED_REASON", "STATUS_TABLE", "order_update_events"]

#: Upper-cased raw Tread.fi status -> canonical status. ``FINISHER`` is an order whose
#: last portion is executing: still live. ``COMPLETED`` appears in one REST example.
STATUS_TABLE: Mapping[str, Status] = MappingProxyType(
    {
        "SCHEDULED": Status.PENDING,
        "ACTIVE": Status.ACCEPTED,
        "FINISHER": Status.ACCEPTED,
        "COMPLETE": Status.FILLED,
        "COMPLETED": Status.FILLED,
        "CANCELED": Status.CANCELED,
        "CANCELLED": Status.CANCELED,
        "PAUSED": Status.PAUSED,
    }
)

#: ``reason`` of a child order carried inside its parent's message: the message's
#: ``update_type`` describes the parent (or names some other child), not this child.
CARRIED_REASON = "carried"

_MICROS = 1_000_000


def order_update_events(update: WireOrderUpdate) -> list[Event]:
    """The events of one decoded ``order_update`` body; raises FrameError if invalid."""
    try:
        return _fast_events(update)
    except Exception:  # noqa: BLE001 - the checked mapping below raises the precise error
        return _checked_events(update)


def _checked_events(update: WireOrderUpdate) -> list[Event]:
    """The mapping, step by step, naming the field at fault in any error it raises."""
    order = update.order
    if update.order_id and update.order_id != order.id:
        raise FrameError(
            f"data.order_id {update.order_id[:40]!r} differs from order.id {order.id[:40]!r}"
        )
    reason = update.update_type or None
    if not order.is_parent:
        return [_single(order, reason, "order")]
    events: list[Event] = []
    children = order.child_orders if isinstance(order.child_orders, list) else None
    for index, child in enumerate(children or ()):
        events.append(_single(child, CARRIED_REASON, f"order.child_orders[{index}]"))
    events.append(_parent(order, reason, children))
    return events


# The fast mapping: the same events as the checked one for every valid order, without
# building the field names an error would need. On any error it raises something (not
# necessarily the precise FrameError), and order_update_events then reruns the checked
# mapping, so every rejection reads exactly as before.

#: Raw status -> canonical status, for raw statuses already seen (bounded).
_STATUSES: dict[str, Status] = {}
_STATUS_CACHE_SIZE = 256
#: The usual raw sides and their normalized forms.
_SIDES: Mapping[str, str] = MappingProxyType(
    {"buy": "buy", "sell": "sell", "BUY": "buy", "SELL": "sell", "Buy": "buy", "Sell": "sell"}
)
_UNSET = msgspec.UNSET


def _fast_status(raw: str) -> Status:
    status = _STATUSES.get(raw)
    if status is None:
        text = raw.strip()
        if not text:
            raise FrameError("status is empty")
        status = STATUS_TABLE.get(text.upper(), Status.UNKNOWN)
        if len(_STATUSES) >= _STATUS_CACHE_SIZE:
            _STATUSES.clear()
        _STATUSES[raw] = status
    return status


def _fast_events(update: WireOrderUpdate) -> list[Event]:
    order = update.order
    order_id = update.order_id
    if order_id and order_id != order.id:
        raise FrameError("order ids differ")
    reason = update.update_type or None
    children = order.child_orders
    if children is _UNSET and order.child_order_ids is _UNSET:
        return [_fast_single(order, reason)]
    carried = children if isinstance(children, list) else None
    events: list[Event] = [_fast_single(child, CARRIED_REASON) for child in carried or ()]
    events.append(_fast_parent(order, reason, carried))
    return events


def _fast_single(order: WireSingle, reason: str | None) -> OrderUpdate:
    pd = parse_decimal
    pq = parse_quantity
    status = _fast_status(order.status)
    side = order.side
    side = (_SIDES.get(side) or side.lower()) if side else None
    if side == "buy":
        base = pq(order.executed_buy_qty, "")
    elif side == "sell":
        base = pq(order.executed_qty, "")
    else:
        base = None
    quantity = pq(order.target_order_qty, "")
    key = iso_to_micros(order.updated_at)
    order_id = order.id
    if not order_id:
        raise FrameError("id is empty")
    names = order.account_names or order.accounts
    time_end = order.time_end
    return OrderUpdate(
        order_id=order_id,
        status=status,
        raw_status=order.status,
        client_order_id=order.custom_order_id or None,
        parent_id=order.parent_order_id or None,
        account=",".join(names) if names else None,
        symbol=order.pair or None,
        side=side,
        quantity=quantity,
        original_quantity=quantity,
        filled=pq(order.target_executed_qty, ""),
        remaining=pd(order.target_remaining_qty, ""),
        avg_price=pd(order.average_executed_price, ""),
        notional=pq(order.executed_notional, ""),
        notional_quantity=base,
        fees=pd(order.total_fee, ""),
        pct_filled=pd(order.pct_filled, ""),
        limit_price=pd(order.limit_price, ""),
        key=key,
        venue_time=None if key is None else key / _MICROS,
        ends_at=iso_to_epoch(time_end) if time_end else None,
        reason=reason,
    )


def _fast_parent(
    order: WireOrder, reason: str | None, children: list[WireSingle] | None
) -> OrderUpdate:
    pd = parse_decimal
    status = _fast_status(order.status)
    order_id = order.id
    if not order_id:
        raise FrameError("id is empty")
    child_ids = order.child_order_ids
    names = order.account_names or order.accounts
    key = iso_to_micros(order.updated_at)
    return OrderUpdate(
        order_id=order_id,
        status=status,
        raw_status=order.status,
        client_order_id=order.custom_order_id or None,
        account=",".join(names) if names else None,
        symbol=order.pairs or None,
        notional=parse_quantity(order.executed_notional, ""),
        fees=pd(order.fee_notional, ""),
        pct_filled=pd(order.pct_filled, ""),
        key=key,
        venue_time=None if key is None else key / _MICROS,
        ends_at=_parent_ends_at(order),
        is_parent=True,
        child_ids=tuple(child_ids) if isinstance(child_ids, list) else None,
        carried_child_ids=(tuple(child.id for child in children) if children is not None else None),
        exposure=pd(order.notional_exposure, ""),
        reason=reason,
    )


def _single(order: WireSingle, reason: str | None, where: str) -> OrderUpdate:
    status, raw_status = _status(order, where)
    side = _text(order.side)
    side = side.lower() if side is not None else None
    quantity = parse_quantity(order.target_order_qty, f"{where}.target_order_qty")
    return OrderUpdate(
        order_id=_order_id(order, where),
        status=status,
        raw_status=raw_status,
        client_order_id=_text(order.custom_order_id),
        parent_id=_text(order.parent_order_id),
        account=_account(order),
        symbol=_text(order.pair),
        side=side,
        quantity=quantity,
        original_quantity=quantity,
        filled=parse_quantity(order.target_executed_qty, f"{where}.target_executed_qty"),
        remaining=parse_decimal(order.target_remaining_qty, f"{where}.target_remaining_qty"),
        avg_price=parse_decimal(order.average_executed_price, f"{where}.average_executed_price"),
        notional=parse_quantity(order.executed_notional, f"{where}.executed_notional"),
        notional_quantity=_base_executed(order, side, where),
        fees=parse_decimal(order.total_fee, f"{where}.total_fee"),
        pct_filled=parse_decimal(order.pct_filled, f"{where}.pct_filled"),
        limit_price=parse_decimal(order.limit_price, f"{where}.limit_price"),
        key=iso_to_micros(order.updated_at, f"{where}.updated_at"),
        venue_time=iso_to_epoch(order.updated_at, f"{where}.updated_at"),
        ends_at=iso_to_epoch(order.time_end, f"{where}.time_end"),
        reason=reason,
    )


def _parent(order: WireOrder, reason: str | None, children: list[WireSingle] | None) -> OrderUpdate:
    status, raw_status = _status(order, "order")
    child_ids = order.child_order_ids if isinstance(order.child_order_ids, list) else None
    return OrderUpdate(
        order_id=_order_id(order, "order"),
        status=status,
        raw_status=raw_status,
        # Not in the seed's parent example, but a multi-order placed with one can then be
        # matched to the execution system's expectation like a single order.
        client_order_id=_text(order.custom_order_id),
        account=_account(order),
        symbol=_text(order.pairs),
        notional=parse_quantity(order.executed_notional, "order.executed_notional"),
        fees=parse_decimal(order.fee_notional, "order.fee_notional"),
        pct_filled=parse_decimal(order.pct_filled, "order.pct_filled"),
        key=iso_to_micros(order.updated_at, "order.updated_at"),
        venue_time=iso_to_epoch(order.updated_at, "order.updated_at"),
        ends_at=_parent_ends_at(order),
        is_parent=True,
        child_ids=tuple(child_ids) if child_ids is not None else None,
        carried_child_ids=(tuple(child.id for child in children) if children is not None else None),
        exposure=parse_decimal(order.notional_exposure, "order.notional_exposure"),
        reason=reason,
    )


def _order_id(order: WireSingle, where: str) -> str:
    if not order.id:
        raise FrameError(f"{where}.id is empty")
    return order.id


def _status(order: WireSingle, where: str) -> tuple[Status, str]:
    if not order.status.strip():
        raise FrameError(f"{where}.status is empty")
    return lookup_status(STATUS_TABLE, order.status.strip().upper()), order.status


def _text(value: str | None) -> str | None:
    """A text field, with ``""`` read as *not said*."""
    return value or None


def _account(order: WireSingle) -> str | None:
    # Names first: in the seed, a child's ``accounts`` holds ids while its parent's holds
    # names, so only the names are comparable across parent and children.
    for values in (order.account_names, order.accounts):
        if values:
            return ",".join(values)
    return None


def _base_executed(order: WireSingle, side: str | None, where: str) -> Decimal | None:
    """The base-asset amount executed, the quantity ``executed_notional`` is priced on.

    ``executed_qty`` is in sell-token units and ``executed_buy_qty`` in buy-token units,
    so the base asset is the buy token of a buy and the sell token of a sell.
    """
    if side == "buy":
        return parse_quantity(order.executed_buy_qty, f"{where}.executed_buy_qty")
    if side == "sell":
        return parse_quantity(order.executed_qty, f"{where}.executed_qty")
    return None


def _parent_ends_at(order: WireOrder) -> float | None:
    """``time_end`` when sent; else ``time_start + duration`` (parents carry no time_end)."""
    if order.time_end:
        return iso_to_epoch(order.time_end, "order.time_end")
    start = iso_to_micros(order.time_start, "order.time_start")
    duration = parse_quantity(order.duration, "order.duration")
    if start is None or duration is None:
        return None
    # Whole microseconds, added as integers, so the result is as exact as iso_to_epoch's.
    return (start + int(duration * _MICROS)) / _MICROS
