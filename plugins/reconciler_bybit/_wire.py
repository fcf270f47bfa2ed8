"""Bybit legacy inverse v2 wire shapes and the msgspec decoders built once for them.

A frame is decoded in two steps. :data:`ENVELOPE` reads only the routing keys
(``topic``, ``success``, ``request``) so that any JSON object can be routed, and a
public market-data frame ignored, without decoding its body. A private-topic frame is
then decoded again with :data:`PRIVATE_FRAME`, a tagged union on ``topic``, and a reply
with :data:`REPLY`. The elements of a ``data`` array are kept as :class:`msgspec.Raw`
and decoded one by one, so that one bad element costs only itself.

Numeric fields are typed ``object``: Bybit sends the same field as a JSON number
(``"qty": 1``) or a numeric string (``"price": "8579.5"``), and may send ``""``.
msgspec cannot type a field ``Decimal | str`` (two string-like types), and ``Decimal``
alone rejects ``""``. The element decoders are built with ``float_hook=Decimal`` so a
JSON float in such a field arrives as an exact Decimal, never a binary float; the
mapping then passes every value through ``parse_quantity``/``parse_decimal``, which
accept int, Decimal and numeric strings and reject everything else.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import msgspec

__all__ = [
    "ENVELOPE",
    "EXECUTION",
    "FAST",
    "ORDER",
    "POSITION",
    "PRIVATE_FRAME",
    "PRIVATE_TOPICS",
    "REPLY",
    "STOP_ORDER",
    "Envelope",
    "ExecutionData",
    "ExecutionFrame",
    "FastExecutionFrame",
    "FastFrame",
    "FastOrderFrame",
    "FastPositionFrame",
    "FastStopOrderFrame",
    "OrderData",
    "OrderFrame",
    "PositionData",
    "PositionFrame",
    "Reply",
    "ReplyRequest",
    "StopOrderData",
    "StopOrderFrame",
]

NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]

#: The private topics the plugin reconciles; any other ``topic`` is ignored.
PRIVATE_TOPICS: frozenset[str] = frozenset({"order", "stop_order", "execution", "position"})


class Envelope(msgspec.Struct):
    """Only the keys a frame is routed by.

    ``success`` and ``request`` are ``object`` and default to UNSET so that their mere
    presence marks a reply, whatever their value; the reply decoder judges the value.
    """

    topic: str | None = None
    success: object = msgspec.UNSET
    request: object = msgspec.UNSET


# ``action`` (the position example's ``"update"``) is not declared, so it is not read.
class OrderFrame(msgspec.Struct, tag_field="topic", tag="order"):
    """``{"topic":"order","data":[...]}``: ``data`` must be a list."""

    data: list[msgspec.Raw]


class StopOrderFrame(msgspec.Struct, tag_field="topic", tag="stop_order"):
    """``{"topic":"stop_order","data":[...]}``."""

    data: list[msgspec.Raw]


class ExecutionFrame(msgspec.Struct, tag_field="topic", tag="execution"):
    """``{"topic":"execution","data":[...]}``."""

    data: list[msgspec.Raw]


class PositionFrame(msgspec.Struct, tag_field="topic", tag="position"):
    """``{"topic":"position","action":"update","data":[...]}``."""

    data: list[msgspec.Raw]


PrivateFrame = OrderFrame | StopOrderFrame | ExecutionFrame | PositionFrame


class StopOrderData(msgspec.Struct):
    """One ``stop_order`` element (a conditional order): the fields shared with ``order``.

    Only ``order_id`` and ``order_status`` are required. Unmapped fields (``user_id``,
    ``create_type``, ``cancel_type``, ``stop_order_type``, ``trigger_by``,
    ``trigger_price``, ``close_on_trigger``, ``timestamp``, ...) are not declared and so
    not read.
    """

    order_id: NonEmpty
    order_status: str
    order_link_id: str | None = None
    symbol: str | None = None
    side: str | None = None
    order_type: str | None = None
    price: object = None
    qty: object = None
    time_in_force: str | None = None


class OrderData(StopOrderData):
    """One ``order`` element: a conditional order's fields plus the fill totals.

    ``cum_exec_value`` is deliberately not read: on an inverse contract it is the
    executed value in coin (contracts / price), not price times quantity, so it fits
    neither ``notional`` nor ``avg_price``. ``timestamp`` is not read either: it is when
    the order became New, not the time of this update.
    """

    leaves_qty: object = None
    cum_exec_qty: object = None
    cum_exec_fee: object = None


class ExecutionData(msgspec.Struct):
    """One ``execution`` element.

    Nothing is required at decode time: a ``Funding`` or ``Settle`` execution is not a
    fill of an order and is ignored whatever ids it carries; the mapping requires
    ``exec_id``, ``order_id`` and ``exec_qty`` of every other execution.
    """

    exec_type: str | None = None
    exec_id: str | None = None
    order_id: str | None = None
    order_link_id: str | None = None
    symbol: str | None = None
    side: str | None = None
    price: object = None
    order_qty: object = None
    exec_qty: object = None
    exec_fee: object = None
    trade_time: str | None = None


class PositionData(msgspec.Struct):
    """One ``position`` element; only the fields :class:`PositionUpdate` carries."""

    symbol: NonEmpty
    size: object = None
    side: str | None = None
    entry_price: object = None


class _FastFrame(msgspec.Struct, tag_field="topic", kw_only=True):
    """A private-topic frame decoded in one pass, elements and all (the usual frame).

    ``success`` and ``request`` are read as :class:`Envelope` reads them, so that a frame
    this accepts is one the step-by-step path accepts too (and routes to the same
    topic: msgspec requires every ``topic`` key to hold the tag). Any frame this rejects
    (another topic, a reply, one bad element, ...) takes that path, which keeps a bad
    element to itself; every valid element decodes to what its element decoder makes
    of it alone.
    """

    success: object = msgspec.UNSET
    request: object = msgspec.UNSET


class FastOrderFrame(_FastFrame, tag="order"):
    data: list[OrderData]


class FastStopOrderFrame(_FastFrame, tag="stop_order"):
    data: list[StopOrderData]


class FastExecutionFrame(_FastFrame, tag="execution"):
    data: list[ExecutionData]


class FastPositionFrame(_FastFrame, tag="position"):
    data: list[PositionData]


FastFrame = FastOrderFrame | FastStopOrderFrame | FastExecutionFrame | FastPositionFrame


class ReplyRequest(msgspec.Struct):
    """The request a reply echoes. ``args`` is loose: only ``subscribe`` reads it."""

    op: str | None = None
    args: object = None


class Reply(msgspec.Struct):
    """``{"success":bool,"ret_msg":str,"conn_id":str,"request":{"op":..,"args":..}}``."""

    success: bool
    ret_msg: str | None = None
    request: ReplyRequest | None = None


ENVELOPE = msgspec.json.Decoder(Envelope)
#: ``topic`` is a real tag among the private topics: a tagged union picks the frame type.
PRIVATE_FRAME = msgspec.json.Decoder(PrivateFrame)
REPLY = msgspec.json.Decoder(Reply)
ORDER = msgspec.json.Decoder(OrderData, float_hook=Decimal)
STOP_ORDER = msgspec.json.Decoder(StopOrderData, float_hook=Decimal)
EXECUTION = msgspec.json.Decoder(ExecutionData, float_hook=Decimal)
POSITION = msgspec.json.Decoder(PositionData, float_hook=Decimal)
#: One pass for the usual frame (see :class:`FastOrderFrame`).
FAST = msgspec.json.Decoder(FastFrame, float_hook=Decimal)
