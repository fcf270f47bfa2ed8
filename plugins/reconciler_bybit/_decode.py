"""Map one element of a Bybit private topic to its normalized event.

Each function takes the element as :class:`msgspec.Raw` and returns exactly one event;
it raises (FrameError, msgspec or Decimal errors) for an element it cannot accept, and
the protocol turns that into a Malformed event for this element only.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType

import msgspec

from reconciler.events import Fill, Ignored, OrderUpdate, PositionUpdate
from reconciler.lifecycle import Status
from reconciler.plugin import (
    FrameError,
    iso_to_epoch,
    lookup_status,
    parse_decimal,
    parse_quantity,
)

from ._wire import (
    EXECUTION,
    ORDER,
    POSITION,
    STOP_ORDER,
    ExecutionData,
    OrderData,
    PositionData,
    StopOrderData,
)

__all__ = [
    "NOT_ORDER_FILLS",
    "STATUS_TABLE",
    "execution_event",
    "execution_fill",
    "order_event",
    "order_update",
    "position_event",
    "position_update",
    "stop_order_event",
    "stop_order_update",
]

#: Every raw ``order_status`` of ``order`` and ``stop_order``, in one table: the two
#: topics share ``Cancelled`` and ``Rejected``, and their other values do not collide.
#: Anything else becomes ``Status.UNKNOWN``.
STATUS_TABLE: Mapping[str, Status] = MappingProxyType(
    {
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
)

#: ``exec_type`` values that are account events, not executions of an order.
NOT_ORDER_FILLS: frozenset[str] = frozenset({"Funding", "Settle"})

#: Time-in-force values under which a working order may not outlive its first report.
_IMMEDIATE: frozenset[str] = frozenset({"ImmediateOrCancel", "FillOrKill"})


def _text(value: str | None) -> str | None:
    """Bybit writes "not set" as ``""`` (``order_link_id``, ``cancel_type``, ...)."""
    return value or None


def _side(value: str | None) -> str | None:
    """``Buy``/``Sell`` as ``buy``/``sell``; ``""`` and the flat position's ``None``
    are not a side."""
    if not value or value == "None":
        return None
    return value.lower()


def _order_update(
    data: StopOrderData,
    *,
    filled: Decimal | None = None,
    remaining: Decimal | None = None,
    fees: Decimal | None = None,
    max_lifetime: float | None = None,
) -> OrderUpdate:
    """The OrderUpdate of an ``order`` or ``stop_order`` element; the caller supplies
    what only ``order`` carries."""
    # The v2 stream cannot mark an amendment, so ``qty`` is also the original quantity.
    qty = parse_quantity(data.qty, "qty")
    # Always validated, mapped only for a limit order: a market order's ``price`` is a
    # protection price, not a limit.
    price = parse_decimal(data.price, "price")
    return OrderUpdate(
        order_id=data.order_id,
        status=lookup_status(STATUS_TABLE, data.order_status),
        raw_status=data.order_status,
        client_order_id=_text(data.order_link_id),
        symbol=_text(data.symbol),
        side=_side(data.side),
        quantity=qty,
        original_quantity=qty,
        filled=filled,
        remaining=remaining,
        fees=fees,
        limit_price=price if data.order_type == "Limit" else None,
        time_in_force=_text(data.time_in_force),
        max_lifetime=max_lifetime,
    )


def order_event(raw: msgspec.Raw) -> OrderUpdate:
    """An ``order`` element as an OrderUpdate.

    ``key`` and ``venue_time`` stay ``None``: the v2 ``timestamp`` is when the order
    became New, so it neither orders updates nor dates this one. ``notional`` and
    ``avg_price`` stay ``None``: ``cum_exec_value`` is coin value on an inverse contract.
    """
    return order_update(ORDER.decode(raw))


def order_update(data: OrderData) -> OrderUpdate:
    """:func:`order_event` of the decoded element."""
    return _order_update(
        data,
        filled=parse_quantity(data.cum_exec_qty, "cum_exec_qty"),
        # parse_decimal, not parse_quantity: a negative remaining is an inconsistency for
        # the core to report, not a frame to reject.
        remaining=parse_decimal(data.leaves_qty, "leaves_qty"),
        # Fees may be negative (a maker rebate).
        fees=parse_decimal(data.cum_exec_fee, "cum_exec_fee"),
        max_lifetime=0.0 if data.time_in_force in _IMMEDIATE else None,
    )


def stop_order_event(raw: msgspec.Raw) -> OrderUpdate:
    """A ``stop_order`` element (a conditional order) as an OrderUpdate.

    A conditional order carries no fill quantities, so ``filled``/``remaining`` stay
    ``None``; ``max_lifetime`` stays ``None`` because its time in force only applies
    once the trigger has fired, which may be any time later.
    """
    return stop_order_update(STOP_ORDER.decode(raw))


def stop_order_update(data: StopOrderData) -> OrderUpdate:
    """:func:`stop_order_event` of the decoded element."""
    return _order_update(data)


def execution_event(raw: msgspec.Raw) -> Fill | Ignored:
    """An ``execution`` element as a Fill, or Ignored for a Funding/Settle record."""
    return execution_fill(EXECUTION.decode(raw))


def execution_fill(data: ExecutionData) -> Fill | Ignored:
    """:func:`execution_event` of the decoded element."""
    if data.exec_type in NOT_ORDER_FILLS:
        return Ignored(reason=f"execution of type {data.exec_type}: not a fill of an order")
    if not data.exec_id:
        raise FrameError("execution: exec_id missing")
    if not data.order_id:
        raise FrameError("execution: order_id missing")
    quantity = parse_quantity(data.exec_qty, "exec_qty")
    if quantity is None:
        raise FrameError("execution: exec_qty missing")
    return Fill(
        fill_id=data.exec_id,
        order_id=data.order_id,
        quantity=quantity,
        price=parse_decimal(data.price, "price"),
        fee=parse_decimal(data.exec_fee, "exec_fee"),
        symbol=_text(data.symbol),
        side=_side(data.side),
        client_order_id=_text(data.order_link_id),
        order_quantity=parse_quantity(data.order_qty, "order_qty"),
        venue_time=iso_to_epoch(data.trade_time, "trade_time"),
    )


def position_event(raw: msgspec.Raw) -> PositionUpdate:
    """A ``position`` element as a PositionUpdate (``account`` is not in the message)."""
    return position_update(POSITION.decode(raw))


def position_update(data: PositionData) -> PositionUpdate:
    """:func:`position_event` of the decoded element."""
    return PositionUpdate(
        symbol=data.symbol,
        quantity=parse_quantity(data.size, "size"),
        side=_side(data.side),
        average_cost=parse_decimal(data.entry_price, "entry_price"),
    )
