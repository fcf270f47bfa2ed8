"""Clear Street's benchmark kit: the reference parsers ``reconciler bench`` measures
:class:`~reconciler_clearstreet.ClearStreetProtocol` against, and a generator of
open-order frames.

See :mod:`reconciler.benchkit` for what the decode ceiling and the naive baseline are.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from decimal import InvalidOperation
from typing import Final

import msgspec

from reconciler.benchkit import NaiveBook, naive_apply, naive_execution, naive_number
from reconciler_clearstreet._mapping import STATUS_TABLE
from reconciler_clearstreet._scenario_orders import (
    SYMBOLS,
    TICK,
    CsOrder,
    encode,
    envelope,
    plain,
)
from reconciler_clearstreet._wire import (
    ENVELOPE_DECODER,
    GENERIC_DECODER,
    PAYLOAD_DECODER,
    TIMED_ENVELOPE_DECODER,
    TIMESTAMP_DECODER,
    TYPE_DECODER,
)

__all__ = ["ClearStreetBenchKit"]

#: 2025-07-10 07:31 in New York, in epoch ms, where the benchmark workload starts too.
_START_MS: Final = 1_752_147_100_000
_SEED: Final = 20_250_710
#: The account the benchmark feeds; the venue names it in every order and trade.
_ACCOUNT: Final = "main"
#: The raw statuses as the naive baseline reads them: canonical names, plain strings.
_STATUS: Final[dict[str, str]] = {raw: status.value for raw, status in STATUS_TABLE.items()}
#: Odd multiplier: ``n * _REF_STEP mod 2**40`` is a bijection, so reference ids never repeat.
_REF_STEP: Final = 0x9E3779B97F


class ClearStreetBenchKit:
    """Clear Street's :class:`~reconciler.benchkit.BenchKit`, plus :meth:`open_orders`."""

    def decode(self, frame: str | bytes) -> list[object]:
        """The frame through exactly the decoders ``ClearStreetProtocol.receive`` runs.

        The envelope with its timestamp; for a sequenced frame then, in the protocol's
        order, the payload generically (for the content digest) and the payload typed
        (whose type gives its tag). Only a payload that does not decode typed has its tag
        decoded alone, twice (for the event, then for the sequence bookkeeping). A frame
        the one-pass envelope rejects takes the protocol's two-step path
        (:meth:`_decode_raw_timestamp`). The digest's canonical re-encoding and hash are
        not decoding and are left out.
        """
        try:
            env = TIMED_ENVELOPE_DECODER.decode(frame)
        except Exception:  # noqa: BLE001 - as the protocol does
            return self._decode_raw_timestamp(frame)
        raw = env.payload
        if env.sequence is msgspec.UNSET:
            return [env, _payload(raw)]
        generic = GENERIC_DECODER.decode(raw) if raw else None
        if not raw:
            return [env, generic]
        try:
            typed = PAYLOAD_DECODER.decode(raw)
        except (msgspec.DecodeError, InvalidOperation):
            return [env, generic, TYPE_DECODER.decode(raw), TYPE_DECODER.decode(raw)]
        return [env, generic, typed]

    @staticmethod
    def _decode_raw_timestamp(frame: str | bytes) -> list[object]:
        """The decoders of the protocol's path for a frame with a bad timestamp (say)."""
        env = ENVELOPE_DECODER.decode(frame)
        raw = env.payload
        if env.sequence is msgspec.UNSET:
            return [env, _payload(raw)]
        generic = GENERIC_DECODER.decode(raw) if raw else None
        stamp = TIMESTAMP_DECODER.decode(env.timestamp) if env.timestamp else None
        typed = _payload(raw)
        kind = TYPE_DECODER.decode(raw) if raw else None
        return [env, generic, stamp, typed, kind]

    def naive(self, frame: str | bytes, book: NaiveBook) -> int:
        """``json.loads`` the frame and apply an ``order-update`` to ``book``, or add a
        ``trade-notice`` to its order's executions; returns the faults found."""
        message = json.loads(frame)
        payload = message.get("payload") if isinstance(message, dict) else None
        if not isinstance(payload, dict):
            return 0
        kind = payload.get("type")
        if kind == "order-update":
            data = payload["data"]
            return naive_apply(
                book,
                data["order_id"],
                _STATUS.get(data["status"], "unknown"),
                naive_number(data.get("quantity")),
                naive_number(data.get("filled_quantity")),
                avg_price=naive_number(data.get("average_price")),
            )
        if kind == "trade-notice":
            data = payload["data"]
            return naive_execution(book, data["order_id"], naive_number(data.get("quantity")))
        return 0

    def open_orders(self, count: int, children: int = 0) -> Iterator[str]:
        """Frames that leave ``count`` day limit orders open: each ``new``, then one
        ``trade-notice`` and the ``partially-filled`` update reflecting it (three frames
        per order, numbered from sequence 1 within one trading day, deterministic).

        Clear Street has no multi-orders: ``children`` must be 0.
        """
        if children:
            raise NotImplementedError("Clear Street has no multi-orders")
        return _open_orders(count)


def _open_orders(count: int) -> Iterator[str]:
    rng = random.Random(_SEED)  # noqa: S311 - reproducible frames, not security
    symbols = sorted(SYMBOLS)
    next_order = rng.randrange(40_000_000, 49_000_000)
    next_trade = rng.randrange(91_000_000, 99_000_000)
    ref_base = rng.getrandbits(40)
    positions = dict.fromkeys(symbols, 0)
    sequence = 0
    for n in range(count):
        # A millisecond per frame keeps a million orders well inside one New York
        # day, so the sequence numbering never restarts.
        ms = _START_MS + 3 * n
        next_order += rng.randint(1, 40)
        next_trade += rng.randint(1, 40)
        symbol = rng.choice(symbols)
        side = rng.choices(("buy", "sell", "sell-short"), (50, 40, 10))[0]
        price = SYMBOLS[symbol] + TICK * rng.randint(-60, 60)
        order = CsOrder(
            order_id=str(next_order),
            ref=f"ems-{(ref_base + n * _REF_STEP) % 2**40:010x}",
            account_id=_ACCOUNT,
            symbol=symbol,
            side=side,
            order_type="limit",
            price=price,
            qty=rng.randint(2, 60) * 10,
            tif="day",
            created_ms=ms,
        )
        sequence += 1
        yield envelope(ms, sequence, encode(order.update("new", "execution-report", ms)))
        qty = rng.randint(1, order.qty - 1)
        order.book(qty, price)
        positions[symbol] += qty if side == "buy" else -qty
        trade = {
            "trade_id": str(next_trade),
            "order_id": order.order_id,
            "account_id": _ACCOUNT,
            "symbol": symbol,
            "side": side,
            "quantity": str(qty),
            "price": plain(price),
            "created_at": ms + 1,
            "running_position": str(positions[symbol]),
        }
        sequence += 1
        yield envelope(ms + 1, sequence, encode({"type": "trade-notice", "data": trade}))
        sequence += 1
        update = order.update("partially-filled", "execution-report", ms + 2)
        yield envelope(ms + 2, sequence, encode(update))


def _payload(raw: msgspec.Raw) -> object:
    """The typed payload, or (as the protocol does for one it cannot decode) its tag."""
    if not raw:
        return None
    try:
        return PAYLOAD_DECODER.decode(raw)
    except (msgspec.DecodeError, InvalidOperation):
        return TYPE_DECODER.decode(raw)
