"""BTSE futures wire shapes and the msgspec decoders built once for them.

A frame is decoded in two steps. :data:`ENVELOPE` reads only the routing keys
(``topic``, ``event``, ``severity``) with loose types, so that any well-formed JSON object
can be routed (and an unfamiliar one ignored) rather than rejected. The frame is then
decoded again with the decoder of the message type it routes to. The elements of a
``data`` or ``errors`` array are kept as :class:`msgspec.Raw` and decoded one by one, so
that one bad element costs only itself.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import msgspec

__all__ = [
    "ENVELOPE",
    "ERROR_FRAME",
    "ERROR_ITEM",
    "EVENT_ACK",
    "FAST",
    "NOTIFICATION",
    "ORDER",
    "Envelope",
    "ErrorBody",
    "ErrorFrame",
    "ErrorItem",
    "FastFrame",
    "LoginAck",
    "NotificationFrame",
    "OrderData",
    "SubscribeAck",
]

#: Bounds that keep an integer safe to print and to divide into a float: msgspec decodes
#: JSON integers of any size, and ``int / 1000`` overflows (OverflowError, which
#: BaseProtocol does not catch) long before ``str(int)`` hits its digit limit.
_INT64 = msgspec.Meta(ge=-(2**63), le=2**63 - 1)
StatusCode = Annotated[int, _INT64]
EpochMillis = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]


class Envelope(msgspec.Struct):
    """Only the keys a frame is routed by; ``object`` so no value type is rejected here."""

    topic: object = None
    event: object = None
    severity: object = None


class NotificationFrame(msgspec.Struct):
    """``{"topic":"notificationApiV4","data":[...]}``: ``data`` must be a list."""

    data: list[msgspec.Raw]


class OrderData(msgspec.Struct):
    """One element of a ``notificationApiV4`` ``data`` array.

    Only ``orderID`` and ``status`` are required: everything else the reconciler can
    do without, and treats as *not said* when absent. Sizes and prices are typed
    ``Decimal`` (msgspec reads JSON numbers and numeric strings into it exactly); the
    protocol still passes each through ``parse_quantity``/``parse_decimal`` because
    msgspec lets NaN and 1e999 through. Unmapped fields (``triggerPrice``, ``maker``,
    ``postOnly``, ``positionId``, ``txType``, ...) are not declared and so not read.
    """

    order_id: NonEmpty = msgspec.field(name="orderID")
    status: StatusCode
    symbol: str | None = None
    side: str | None = None
    #: The page's table says 76 limit / 77 market / 80 algo; its own example sends
    #: ``"type":0`` with ``"orderType":77``. Both are read, neither is validated.
    type: int | None = None
    order_type: int | None = msgspec.field(default=None, name="orderType")
    price: Decimal | None = None
    original_order_size: Decimal | None = msgspec.field(default=None, name="originalOrderSize")
    current_order_size: Decimal | None = msgspec.field(default=None, name="currentOrderSize")
    filled_size: Decimal | None = msgspec.field(default=None, name="filledSize")
    total_filled_size: Decimal | None = msgspec.field(default=None, name="totalFilledSize")
    remaining_size: Decimal | None = msgspec.field(default=None, name="remainingSize")
    avg_filled_price: Decimal | None = msgspec.field(default=None, name="avgFilledPrice")
    cl_order_id: str | None = msgspec.field(default=None, name="clOrderID")
    time_in_force: str | None = None
    timestamp: EpochMillis | None = None


class FastFrame(msgspec.Struct):
    """The routing keys and, for a notification, its ``data`` decoded in the same pass.

    The usual frame decodes in one call. A frame this rejects (a ``data`` that is not a
    list of valid orders, anything :class:`Envelope` rejects) is decoded again in the
    steps above, which keep one bad element to itself; every valid element decodes to
    what :data:`ORDER` makes of it alone. ``data`` is UNSET when the key is absent.
    """

    topic: object = None
    event: object = None
    severity: object = None
    data: list[OrderData] | msgspec.UnsetType = msgspec.UNSET


class LoginAck(msgspec.Struct, tag_field="event", tag="login"):
    """``{"event":"login","success":true|false}`` (shape from an old changelog)."""

    success: bool


class SubscribeAck(msgspec.Struct, tag_field="event", tag="subscribe"):
    """``{"event":"subscribe","channel":[...]}``: a topic that failed is simply absent."""

    channel: list[str]


class ErrorFrame(msgspec.Struct):
    """``{"severity":"ERROR","errors":[...]}`` (third-party shape)."""

    errors: list[msgspec.Raw]


class ErrorBody(msgspec.Struct):
    """The ``error`` object inside one ``errors`` element."""

    code: StatusCode | str | None = None
    message: str | None = None


class ErrorItem(msgspec.Struct):
    """One ``errors`` element: the offending ``arg`` and the ``error`` itself."""

    error: ErrorBody
    arg: str | None = None


ENVELOPE = msgspec.json.Decoder(Envelope)
#: One pass for the usual frame (see :class:`FastFrame`).
FAST = msgspec.json.Decoder(FastFrame)
NOTIFICATION = msgspec.json.Decoder(NotificationFrame)
ORDER = msgspec.json.Decoder(OrderData)
#: The ``event`` key is a real tag: a tagged union picks the ack type.
EVENT_ACK = msgspec.json.Decoder(LoginAck | SubscribeAck)
ERROR_FRAME = msgspec.json.Decoder(ErrorFrame)
ERROR_ITEM = msgspec.json.Decoder(ErrorItem)
