"""Tread.fi wire shapes, and the msgspec decoders built once from them.

Only the fields the reconciler maps are declared; msgspec skips the many others an
order carries (``strategy_params``, ``exchanges``, ...). Decoding happens in two steps:
the envelope reads the ``type`` tag and keeps ``data`` as raw bytes, and only an
``order_update`` body is decoded against the typed order shapes. A tagged union cannot
do the first step: any other (or no) ``type`` must become ``Ignored``, not a
validation error.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

__all__ = [
    "ENVELOPE_DECODER",
    "FAST_DECODER",
    "ORDER_UPDATE_DECODER",
    "Envelope",
    "FastFrame",
    "WireOrder",
    "WireOrderUpdate",
    "WireSingle",
]

#: A venue number as received. The seed sends decimal strings, ``""`` and ``null``;
#: msgspec cannot type a field ``Decimal | str`` (two string-like types), so number
#: fields take any JSON value and every one goes through ``parse_decimal`` /
#: ``parse_quantity``, which accept only numbers and numeric strings. Bare JSON numbers
#: arrive as exact ``Decimal`` through the decoders' ``float_hook``.
Number = object


class Envelope(msgspec.Struct):
    """Any frame: the ``type`` tag, and ``data`` left undecoded until the tag is known."""

    # Typed ``object`` so a non-string tag is an unknown type (Ignored), not a bad frame.
    type: object = None
    data: msgspec.Raw = msgspec.Raw()


class WireSingle(msgspec.Struct):
    """A single order, top-level or carried as a child inside a multi-order."""

    id: str
    status: str
    custom_order_id: str | None = None
    parent_order_id: str | None = None
    pair: str | None = None
    side: str | None = None
    accounts: list[str] | None = None
    account_names: list[str] | None = None
    target_order_qty: Number = None
    target_executed_qty: Number = None
    target_remaining_qty: Number = None
    executed_qty: Number = None
    executed_buy_qty: Number = None
    average_executed_price: Number = None
    executed_notional: Number = None
    total_fee: Number = None
    pct_filled: Number = None
    limit_price: Number = None
    time_start: str | None = None
    time_end: str | None = None
    updated_at: str | None = None


class WireOrder(WireSingle):
    """A top-level order: a single order, or a multi-order parent.

    The parent-only keys default to ``UNSET`` so that a key sent empty or ``null`` (still
    a parent) can be told apart from a key not sent at all (a single order).
    """

    pairs: str | None = None
    duration: Number = None
    notional_exposure: Number = None
    fee_notional: Number = None
    child_order_ids: list[str] | msgspec.UnsetType | None = msgspec.UNSET
    child_orders: list[WireSingle] | msgspec.UnsetType | None = msgspec.UNSET

    @property
    def is_parent(self) -> bool:
        """Whether the order carries either multi-order key, even empty."""
        return self.child_orders is not msgspec.UNSET or self.child_order_ids is not msgspec.UNSET


class WireOrderUpdate(msgspec.Struct):
    """The ``data`` of an ``order_update`` frame."""

    order: WireOrder
    order_id: str | None = None
    update_type: str | None = None


class FastFrame(msgspec.Struct):
    """Any frame with its ``data`` decoded as an ``order_update`` body in the same pass.

    The usual frame decodes in one call. Used only when it decodes and ``type`` is
    ``order_update`` with ``data`` present: any other frame is decoded again in the two
    steps above, which tell the cases apart (``data`` is UNSET when the key is absent).
    """

    # ``str``, not ``object`` as in :class:`Envelope`: a number here (even one beyond a
    # float, which ``float_hook`` would accept) must take the two-step path, which
    # judges it exactly as before.
    type: str | None = None
    data: WireOrderUpdate | msgspec.UnsetType = msgspec.UNSET


ENVELOPE_DECODER: msgspec.json.Decoder[Envelope] = msgspec.json.Decoder(Envelope)
ORDER_UPDATE_DECODER: msgspec.json.Decoder[WireOrderUpdate] = msgspec.json.Decoder(
    WireOrderUpdate, float_hook=Decimal
)
FAST_DECODER: msgspec.json.Decoder[FastFrame] = msgspec.json.Decoder(FastFrame, float_hook=Decimal)
