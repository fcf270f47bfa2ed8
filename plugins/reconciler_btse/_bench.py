"""BTSE's benchmark kit: the reference parsers ``reconciler bench`` measures
:class:`~reconciler_btse.BtseProtocol` against, and a generator of open-order frames.

See :mod:`reconciler.benchkit` for what the decode ceiling and the naive baseline are.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Final

import msgspec

from reconciler.benchkit import NaiveBook, naive_apply, naive_number
from reconciler_btse import _decode
from reconciler_btse._protocol import STATUS_TABLE, TOPIC
from reconciler_btse._scenario import Timeline
from reconciler_btse._scenario_orders import new_limit

__all__ = ["BtseBenchKit"]

#: 2025-07-10 in epoch ms, where the benchmark workload starts too.
_START_MS: Final = 1_752_147_100_000
_SEED: Final = 20_250_710
#: The raw status codes as the naive baseline reads them: canonical names, plain strings.
_STATUS: Final[dict[str, str]] = {raw: status.value for raw, status in STATUS_TABLE.items()}


def _is_pong(frame: str | bytes) -> bool:
    # The same test BtseProtocol.parse makes before any decoding.
    if isinstance(frame, bytes):
        return frame.strip() == b"pong"
    return frame.strip() == "pong"


class BtseBenchKit:
    """BTSE's :class:`~reconciler.benchkit.BenchKit`, plus :meth:`open_orders`."""

    def decode(self, frame: str | bytes) -> list[object]:
        """The frame through exactly the decoders ``BtseProtocol.receive`` runs on it.

        The one-pass frame decoder first: for a notification whose ``data`` decodes, that
        is all (when every element maps, as in a clean flow). Otherwise the routed
        message's decoder; each ``data`` or ``errors`` element is decoded on its own
        from its :class:`msgspec.Raw`, as the protocol does. A frame the one-pass decoder
        rejects is routed by the envelope decoder instead.
        """
        if _is_pong(frame):
            return []
        envelope: _decode.FastFrame | _decode.Envelope
        try:
            fast = _decode.FAST.decode(frame)
        except Exception:  # noqa: BLE001 - as the protocol does
            envelope = _decode.ENVELOPE.decode(frame)
        else:
            if fast.data is not msgspec.UNSET and fast.topic == TOPIC:
                return [fast]
            envelope = fast
        if envelope.topic is not None:
            if envelope.topic != TOPIC:
                return [envelope]
            data = _decode.NOTIFICATION.decode(frame).data
            return [envelope, *[_decode.ORDER.decode(raw) for raw in data]]
        if envelope.event in ("login", "subscribe"):
            return [envelope, _decode.EVENT_ACK.decode(frame)]
        if envelope.event is not None:
            return [envelope]
        if isinstance(envelope.severity, str) and envelope.severity.upper() == "ERROR":
            items = _decode.ERROR_FRAME.decode(frame).errors
            return [envelope, *[_decode.ERROR_ITEM.decode(raw) for raw in items]]
        return [envelope]

    def naive(self, frame: str | bytes, book: NaiveBook) -> int:
        """``json.loads`` the frame and apply each ``notificationApiV4`` element to
        ``book``; returns the number of faults found."""
        if _is_pong(frame):
            return 0
        message = json.loads(frame)
        if not isinstance(message, dict) or message.get("topic") != TOPIC:
            return 0
        faults = 0
        for item in message["data"]:
            faults += naive_apply(
                book,
                item["orderID"],
                _STATUS.get(str(item["status"]), "unknown"),
                naive_number(item.get("currentOrderSize")),
                naive_number(item.get("totalFilledSize")),
                naive_number(item.get("remainingSize")),
                naive_number(item.get("avgFilledPrice")),
            )
        return faults

    def open_orders(self, count: int, children: int = 0) -> Iterator[str]:
        """Frames that leave ``count`` GTC limit orders open, each inserted (status 2)
        and then partially filled (status 5): two frames per order, deterministic.

        BTSE has no multi-orders: ``children`` must be 0.
        """
        if children:
            raise NotImplementedError("BTSE has no multi-orders")
        return _open_orders(count)


def _open_orders(count: int) -> Iterator[str]:
    rng = random.Random(_SEED)  # noqa: S311 - reproducible frames, not security
    tl = Timeline(rng, "btse", "main", _START_MS)
    for n in range(count):
        at = n * 0.002
        # GTC: no lifetime, so no deadline check can come due while they stay open.
        order = new_limit(tl, tif="GTC")
        yield order.notice(tl, at, 2)
        filled = order.fill(tl, rng.randint(1, order.size - 1))
        yield order.notice(tl, at + 0.001, 5, filled=filled)
