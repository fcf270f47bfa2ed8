"""Normalized, venue-neutral events: what every venue plugin turns frames into.

A plugin's protocol object maps one received frame to a list of these. They are plain
immutable msgspec Structs; quantities and prices are :class:`decimal.Decimal`, in the
venue's own units (BTSE and Bybit: contracts). ``None`` always means *the venue did not
say* — never zero.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from reconciler.lifecycle import Status

__all__ = [
    "Event",
    "Expectation",
    "Fill",
    "Heartbeat",
    "Ignored",
    "Malformed",
    "OrderUpdate",
    "Passthrough",
    "PositionUpdate",
    "ReplayEnd",
    "ReplayStart",
    "Sequenced",
    "Subscribed",
    "VenueError",
]


class OrderUpdate(msgspec.Struct, frozen=True, kw_only=True, tag="order"):
    """A snapshot of one order as the venue reported it in one message.

    Fields a venue does not carry are ``None``. ``key`` is the venue's ordering key when
    it has one (Clear Street ``version``, BTSE ``timestamp`` in ms, Tread.fi
    ``updated_at`` in µs): a strictly smaller key than the applied state is older; equal
    keys are applied in arrival order.
    """

    order_id: str
    status: Status
    raw_status: str
    client_order_id: str | None = None
    parent_id: str | None = None
    #: The account as the venue names it inside the order (Clear Street ``account_id``,
    #: Tread.fi account names); the connection's configured account is separate.
    account: str | None = None
    symbol: str | None = None
    side: str | None = None
    #: The order's current quantity (may change on an amendment where the venue allows it).
    quantity: Decimal | None = None
    #: The quantity the order was placed with, where the venue reports one that never
    #: changes (BTSE ``originalOrderSize``, Tread.fi ``target_order_qty``).
    original_quantity: Decimal | None = None
    filled: Decimal | None = None
    remaining: Decimal | None = None
    avg_price: Decimal | None = None
    notional: Decimal | None = None
    #: The quantity ``notional`` is ``avg_price`` times, when it is not ``filled``
    #: (Tread.fi: the base-asset amount executed, whatever the target token is).
    notional_quantity: Decimal | None = None
    fees: Decimal | None = None
    pct_filled: Decimal | None = None
    limit_price: Decimal | None = None
    #: Quantity filled by this very update (BTSE ``filledSize``).
    last_fill: Decimal | None = None
    key: int | None = None
    time_in_force: str | None = None
    #: The venue's own timestamp of this message, epoch seconds.
    venue_time: float | None = None
    #: When the venue says the order will end, epoch seconds on the venue's clock
    #: (Tread.fi ``time_end``).
    ends_at: float | None = None
    #: The longest the order may live from its first report, seconds (IOC/FOK: 0,
    #: BTSE HALFMIN: 30, ...).
    max_lifetime: float | None = None
    #: True when this update is an amendment that may legitimately change ``quantity``.
    amended: bool = False
    # Multi-order (parent) fields.
    is_parent: bool = False
    #: The child ids the parent declares (Tread.fi ``child_order_ids``).
    child_ids: tuple[str, ...] | None = None
    #: The ids of the children carried inside this same message, already emitted as
    #: their own OrderUpdate events just before this one.
    carried_child_ids: tuple[str, ...] | None = None
    #: Buy-side minus sell-side executed notional (Tread.fi ``notional_exposure``).
    exposure: Decimal | None = None
    #: Venue-specific event name (Tread.fi ``update_type``, Clear Street
    #: ``order_update_reason``), kept for history only.
    reason: str | None = None


class Fill(msgspec.Struct, frozen=True, kw_only=True, tag="fill"):
    """One execution/trade against an order (Bybit ``execution``, Clear Street ``trade-notice``)."""

    fill_id: str
    order_id: str
    quantity: Decimal
    price: Decimal | None = None
    fee: Decimal | None = None
    symbol: str | None = None
    side: str | None = None
    client_order_id: str | None = None
    #: The order's quantity as the execution message states it (Bybit ``order_qty``).
    order_quantity: Decimal | None = None
    venue_time: float | None = None


class PositionUpdate(msgspec.Struct, frozen=True, kw_only=True, tag="position"):
    """A position report, kept for later use; no check reads it yet."""

    symbol: str
    quantity: Decimal | None = None
    side: str | None = None
    account: str | None = None
    average_cost: Decimal | None = None


class Passthrough(msgspec.Struct, frozen=True, kw_only=True, tag="passthrough"):
    """A venue message understood but not reconciled (e.g. buying power), passed on as-is."""

    kind: str
    data: dict[str, object] = msgspec.field(default_factory=dict)


class Heartbeat(msgspec.Struct, frozen=True, kw_only=True, tag="heartbeat"):
    """A keep-alive reply or server heartbeat."""


class Subscribed(msgspec.Struct, frozen=True, kw_only=True, tag="subscribed"):
    """A subscription or login acknowledgement."""

    channels: tuple[str, ...] = ()
    detail: str = ""


class VenueError(msgspec.Struct, frozen=True, kw_only=True, tag="venue_error"):
    """An error the venue reported. ``auth`` marks a refused login or subscription."""

    message: str
    code: str | None = None
    auth: bool = False


class ReplayStart(msgspec.Struct, frozen=True, kw_only=True, tag="replay_start"):
    """The venue starts replaying history."""


class ReplayEnd(msgspec.Struct, frozen=True, kw_only=True, tag="replay_end"):
    """The venue finished replaying history (Clear Street ``replay-complete``)."""


class Malformed(msgspec.Struct, frozen=True, kw_only=True, tag="malformed"):
    """A frame that could not be decoded or validated. Becomes MALFORMED_MESSAGE."""

    reason: str
    excerpt: str = ""


class Ignored(msgspec.Struct, frozen=True, kw_only=True, tag="ignored"):
    """A well-formed frame that carries nothing to reconcile (an unknown message type,
    a topic we did not subscribe to). Counted, never alerted."""

    reason: str


class Sequenced(msgspec.Struct, frozen=True, kw_only=True, tag="sequenced"):
    """Events from one message of a sequenced stream (Clear Street).

    ``digest`` identifies the message content (everything but the send timestamp) so
    that a replayed sequence number can be told apart from a conflicting one. ``day``
    names the venue's trading day: sequence numbers restart each day. ``kind`` is the
    message type: messages are identified by (sequence, kind), since the venue's own
    documentation shows one sequence number on messages of different types.
    """

    sequence: int
    digest: int
    day: str
    kind: str = ""
    events: tuple[Event, ...] = ()


Event = (
    OrderUpdate
    | Fill
    | PositionUpdate
    | Passthrough
    | Heartbeat
    | Subscribed
    | VenueError
    | ReplayStart
    | ReplayEnd
    | Malformed
    | Ignored
    | Sequenced
)


class Expectation(msgspec.Struct, frozen=True, kw_only=True):
    """An order the embedding execution system says it sent.

    It is matched to the venue's report by ``client_order_id`` (Tread.fi
    ``custom_order_id``, BTSE ``clOrderID``, Bybit ``order_link_id``, Clear Street
    ``reference_id``). ``side`` is ``"buy"`` or ``"sell"``; ``quantity`` is in the
    venue's units.
    """

    venue: str
    account: str
    client_order_id: str
    symbol: str
    side: str
    quantity: Decimal
    price: Decimal | None = None
