"""Tread.fi's benchmark kit: the reference parsers ``reconciler bench`` measures
:class:`~reconciler_tread.TreadProtocol` against, and a generator of open-order frames
(single orders, or multi-orders with their children).

See :mod:`reconciler.benchkit` for what the decode ceiling and the naive baseline are.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any, Final

import msgspec

from reconciler.benchkit import NaiveBook, naive_apply, naive_number
from reconciler_tread._decode import STATUS_TABLE
from reconciler_tread._scenario import Timeline
from reconciler_tread._scenario_multi import Multi
from reconciler_tread._scenario_orders import (
    PAIRS,
    STRATEGIES,
    Single,
    client_order_id,
    exchange_account,
    message,
)
from reconciler_tread._wire import ENVELOPE_DECODER, FAST_DECODER, ORDER_UPDATE_DECODER

__all__ = ["TreadBenchKit"]

#: 2025-07-10 in epoch ms, where the benchmark workload starts too.
_START_MS: Final = 1_752_147_100_000
_SEED: Final = 20_250_710
_ACCOUNT: Final = "main"
#: Six hours: an open order's ``time_end`` stays hours ahead of any benchmark run, so
#: no STALE_ORDER check comes due, whatever receive times the frames are fed at.
_DURATION: Final = 6 * 3600
#: The raw statuses as the naive baseline reads them: canonical names, plain strings.
_STATUS: Final[dict[str, str]] = {raw: status.value for raw, status in STATUS_TABLE.items()}
_PAIRS: Final = tuple(PAIRS.values())


class TreadBenchKit:
    """Tread.fi's :class:`~reconciler.benchkit.BenchKit`, plus :meth:`open_orders`."""

    def decode(self, frame: str | bytes) -> list[object]:
        """The frame through exactly the decoders ``TreadProtocol.receive`` runs on it:
        the one-pass frame decoder, which for an ``order_update`` with ``data`` is all;
        for any other frame then the envelope and an ``order_update``'s ``data`` with the
        typed order shapes."""
        try:
            fast = FAST_DECODER.decode(frame)
        except Exception:  # noqa: BLE001 - as the protocol does
            return self._decode_steps(frame)
        if fast.data is msgspec.UNSET or fast.type != "order_update":
            return [fast, *self._decode_steps(frame)]
        return [fast]

    @staticmethod
    def _decode_steps(frame: str | bytes) -> list[object]:
        """The decoders of the protocol's two-step path."""
        envelope = ENVELOPE_DECODER.decode(frame)
        if envelope.type != "order_update" or not envelope.data:
            return [envelope]
        return [envelope, ORDER_UPDATE_DECODER.decode(envelope.data)]

    def naive(self, frame: str | bytes, book: NaiveBook) -> int:
        """``json.loads`` the frame and apply the order it carries to ``book`` (for a
        multi-order: each carried child, then the parent); returns the faults found."""
        msg = json.loads(frame)
        if not isinstance(msg, dict) or msg.get("type") != "order_update":
            return 0
        order = msg["data"]["order"]
        if "child_orders" not in order and "child_order_ids" not in order:
            return _single(book, order)
        faults = 0
        for child in order.get("child_orders") or ():
            faults += _single(book, child)
        # A parent reports no quantities of its own, only its children's totals.
        faults += naive_apply(
            book,
            order["id"],
            _STATUS.get(order["status"].strip().upper(), "unknown"),
            None,
            None,
            notional=naive_number(order.get("executed_notional")),
        )
        return faults

    def open_orders(self, count: int, children: int = 0) -> Iterator[str]:
        """Frames that leave ``count`` orders open, deterministic.

        With ``children == 0``: single orders, each created (``SCHEDULED``) and then
        partially filled (``ACTIVE``): two frames per order. With ``children > 0``:
        multi-orders, each created without legs, then one snapshot carrying all its
        ``children`` legs (alternately buy and sell, on different pairs), every leg
        partially filled and the parent's totals computed from them, as the venue sends
        them: two frames per multi-order.
        """
        if children < 0:
            raise ValueError(f"children must not be negative, got {children}")
        return _open_orders(count, children)


def _open_orders(count: int, children: int) -> Iterator[str]:
    rng = random.Random(_SEED)  # noqa: S311 - reproducible frames, not security
    tl = Timeline(rng, "tread", _ACCOUNT, _START_MS)
    for n in range(count):
        created_us = (_START_MS + 2 * n) * 1000
        if children > 0:
            yield from _multi(tl, created_us, children)
        else:
            yield from _open_single(tl, created_us)


def _open_single(tl: Timeline, created_us: int) -> Iterator[str]:
    rng = tl.rng
    pair = rng.choice(_PAIRS)
    order = Single(
        tl,
        pair=pair,
        side=rng.choice(("buy", "sell")),
        target=pair.lot * rng.randint(20, 2000),
        created_us=created_us,
        duration=_DURATION,
        client_id=client_order_id(tl),
        strategy=rng.choice(STRATEGIES),
    )
    yield message(order.snapshot(), "order_created")
    order.status = "ACTIVE"
    _part_fill(order, rng)
    order.updated_us += 1000
    yield message(order.snapshot(), "order_fill_received")


def _multi(tl: Timeline, created_us: int, legs: int) -> Iterator[str]:
    rng = tl.rng
    pairs = rng.sample(_PAIRS, legs) if legs <= len(_PAIRS) else rng.choices(_PAIRS, k=legs)
    exchange = exchange_account(tl.account, rng)
    multi = Multi(
        tl,
        client_id=client_order_id(tl),
        created_us=created_us,
        duration=_DURATION,
        strategy=rng.choice(("TWAP", "VWAP")),
        pairs=",".join(pair.name for pair in pairs),
        account_name=exchange[1],
    )
    yield message(multi.snapshot(), "order_created")
    first = rng.choice(("buy", "sell"))
    other = "sell" if first == "buy" else "buy"
    for index, pair in enumerate(pairs):
        leg = Single(
            tl,
            pair=pair,
            side=first if index % 2 == 0 else other,
            target=pair.lot * rng.randint(20, 2000),
            created_us=created_us,
            # As in the seed, a multi-order's children outlive it a little.
            duration=_DURATION + 13,
            parent_id=multi.id,
            strategy=multi.strategy,
            exchange=exchange,
        )
        leg.status = "ACTIVE"
        _part_fill(leg, rng)
        leg.updated_us += 1000
        multi.legs.append(leg)
    multi.updated_us += 1000
    yield message(multi.snapshot(), "child_order_fill_received")


def _part_fill(order: Single, rng: random.Random) -> None:
    """Fill ``order`` part of the way (at least one lot, never all of it)."""
    lots = int(order.target / order.pair.lot)
    order.fill(order.pair.lot * rng.randint(1, lots - 1), order.price(rng))


def _single(book: NaiveBook, order: dict[str, Any]) -> int:
    """One single (or child) order report."""
    return naive_apply(
        book,
        order["id"],
        _STATUS.get(order["status"].strip().upper(), "unknown"),
        naive_number(order.get("target_order_qty")),
        naive_number(order.get("target_executed_qty")),
        naive_number(order.get("target_remaining_qty")),
        naive_number(order.get("average_executed_price")),
        naive_number(order.get("executed_notional")),
    )
