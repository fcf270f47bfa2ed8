"""Wire shapes of the Clear Street Studio ``activity`` channel and their decoders.

Every frame is an envelope ``{"timestamp": ms, "sequence": n, "payload": {...}}``;
``payload`` is a tagged union on its ``type`` field. The envelope is decoded first with
``payload`` kept as raw JSON, so that the payload can be decoded twice when needed: once
typed, and once generically for the sequenced-message digest.

Numeric venue fields are typed ``object`` and decoded with ``float_hook=Decimal``: the
venue sends quantities and prices as decimal strings and averages as JSON numbers, and
msgspec forbids a ``Decimal | str`` union. Either way the value arrives exact (a string,
an int or a Decimal) and is validated by ``parse_decimal`` / ``parse_quantity``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import msgspec

__all__ = [
    "CANONICAL_ENCODER",
    "ENVELOPE_DECODER",
    "GENERIC_DECODER",
    "KNOWN_TYPES",
    "PAYLOAD_DECODER",
    "TAGS",
    "TIMED_ENVELOPE_DECODER",
    "TIMESTAMP_DECODER",
    "TYPE_DECODER",
    "BuyingPowerMsg",
    "Envelope",
    "ErrorNoticeMsg",
    "HeartbeatMsg",
    "LocateInventoryMsg",
    "OrderData",
    "OrderUpdateMsg",
    "Payload",
    "PositionData",
    "PositionUpdateMsg",
    "ReplayCompleteMsg",
    "SubscribeAckMsg",
    "TimedEnvelope",
    "TradeData",
    "TradeNoticeMsg",
]

#: Sequence numbers must fit a signed 64-bit integer so any store can keep them.
MAX_SEQUENCE = 2**63 - 1
#: 9999-12-30T00:00:00Z in ms: the last instant whose New York date Python can represent.
MAX_MILLIS = 253_402_128_000_000

Sequence = Annotated[int, msgspec.Meta(ge=0, le=MAX_SEQUENCE)]
#: Epoch milliseconds; a float is tolerated, a value outside the datetime range is not.
Millis = (
    Annotated[int, msgspec.Meta(ge=0, le=MAX_MILLIS)]
    | Annotated[float, msgspec.Meta(ge=0, le=MAX_MILLIS)]
)
NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]


class Envelope(msgspec.Struct):
    """The outer frame. An empty ``Raw`` means the key was absent.

    ``sequence`` is UNSET only when the key is absent: ``"sequence": null`` is invalid.
    """

    sequence: Sequence | msgspec.UnsetType = msgspec.UNSET
    timestamp: msgspec.Raw = msgspec.Raw()
    payload: msgspec.Raw = msgspec.Raw()


class TimedEnvelope(msgspec.Struct):
    """The outer frame with its timestamp decoded in the same pass (the usual frame).

    A frame this rejects (a bad timestamp, a bad sequence, not an object, ...) is decoded
    again with :class:`Envelope`, which keeps the timestamp raw and tells those apart.
    ``timestamp`` is UNSET when the key is absent.
    """

    sequence: Sequence | msgspec.UnsetType = msgspec.UNSET
    timestamp: Millis | msgspec.UnsetType | None = msgspec.UNSET
    payload: msgspec.Raw = msgspec.Raw()


class OrderData(msgspec.Struct):
    """The order object (same shape as the REST Get Order response)."""

    order_id: NonEmpty
    status: str
    reference_id: str | None = None
    version: int | None = None
    updated_at: Millis | None = None
    account_id: str | None = None
    symbol: str | None = None
    side: str | None = None
    order_type: str | None = None
    quantity: object = None
    filled_quantity: object = None
    price: object = None
    average_price: object = None
    time_in_force: str | None = None
    order_update_reason: str | None = None


class TradeData(msgspec.Struct):
    """The trade object (same shape as the REST Get Trade response)."""

    trade_id: NonEmpty
    order_id: NonEmpty
    quantity: object = None
    price: object = None
    side: str | None = None
    symbol: str | None = None
    created_at: Millis | None = None


class PositionData(msgspec.Struct):
    """The position object (same shape as the REST Get Position response)."""

    symbol: NonEmpty
    account_id: str | None = None
    quantity: object = None
    average_cost: object = None


class _Payload(msgspec.Struct, tag_field="type"):
    pass


class SubscribeAckMsg(_Payload, tag="subscribe-activity-ack"):
    success: bool
    account_id: str | None = None
    details: str = ""


class ReplayCompleteMsg(_Payload, tag="replay-complete"):
    pass


class HeartbeatMsg(_Payload, tag="heartbeat"):
    pass


class ErrorNoticeMsg(_Payload, tag="error-notice"):
    details: str = ""


class OrderUpdateMsg(_Payload, tag="order-update"):
    data: OrderData


class TradeNoticeMsg(_Payload, tag="trade-notice"):
    data: TradeData


class PositionUpdateMsg(_Payload, tag="position-update"):
    data: PositionData


class BuyingPowerMsg(_Payload, tag="buying-power-update"):
    data: dict[str, object]


class LocateInventoryMsg(_Payload, tag="locate-inventory-update"):
    data: dict[str, object]


Payload = (
    SubscribeAckMsg
    | ReplayCompleteMsg
    | HeartbeatMsg
    | ErrorNoticeMsg
    | OrderUpdateMsg
    | TradeNoticeMsg
    | PositionUpdateMsg
    | BuyingPowerMsg
    | LocateInventoryMsg
)

#: Each payload type's ``type`` tag: msgspec only decodes a payload whose every ``type``
#: key holds its type's tag, so this is what the tag alone decodes to.
TAGS: dict[type, str] = {
    cls: str(cls.__struct_config__.tag)
    for cls in (
        SubscribeAckMsg,
        ReplayCompleteMsg,
        HeartbeatMsg,
        ErrorNoticeMsg,
        OrderUpdateMsg,
        TradeNoticeMsg,
        PositionUpdateMsg,
        BuyingPowerMsg,
        LocateInventoryMsg,
    )
}

KNOWN_TYPES: frozenset[str] = frozenset(
    {
        "subscribe-activity-ack",
        "replay-complete",
        "heartbeat",
        "error-notice",
        "order-update",
        "trade-notice",
        "position-update",
        "buying-power-update",
        "locate-inventory-update",
    }
)


class _PayloadType(msgspec.Struct):
    """Just the tag: tells an unknown payload type from a known one with bad content."""

    type: str


ENVELOPE_DECODER = msgspec.json.Decoder(Envelope)
TIMED_ENVELOPE_DECODER = msgspec.json.Decoder(TimedEnvelope)
TIMESTAMP_DECODER = msgspec.json.Decoder(Millis | None)
PAYLOAD_DECODER = msgspec.json.Decoder(Payload, float_hook=Decimal)
TYPE_DECODER = msgspec.json.Decoder(_PayloadType)
#: Generic decoding for the digest: floats stay exact, so no two numbers collide.
GENERIC_DECODER = msgspec.json.Decoder(float_hook=Decimal)
#: Canonical form: sorted keys, no whitespace, Decimals written as JSON numbers (so the
#: number 1.5 and the string "1.5" stay distinct).
CANONICAL_ENCODER = msgspec.json.Encoder(order="sorted", decimal_format="number")
