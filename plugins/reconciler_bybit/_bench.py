"""Bybit's benchmark kit: the reference parsers ``reconciler bench`` measures
:class:`~reconciler_bybit.BybitProtocol` against, and a generator of open-order frames.

See :mod:`reconciler.benchkit` for what the decode ceiling and the naive baseline are.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from typing import Any, Final

import msgspec

from reconciler.benchkit import NaiveBook, naive_apply, naive_execution, naive_number

from ._decode import NOT_ORDER_FILLS, STATUS_TABLE
from ._scenario_orders import SYMBOLS, Order, frame, iso_ms, plain
from ._wire import (
    ENVELOPE,
    EXECUTION,
    FAST,
    ORDER,
    POSITION,
    PRIVATE_FRAME,
    PRIVATE_TOPICS,
    REPLY,
    STOP_ORDER,
    ExecutionFrame,
    OrderFrame,
    PositionFrame,
    StopOrderFrame,
)

__all__ = ["BybitBenchKit"]

#: 2025-07-10 in epoch ms, where the benchmark workload starts too.
_START_MS: Final = 1_752_147_100_000
_SEED: Final = 20_250_710
#: The raw statuses as the naive baseline reads them: canonical names, plain strings.
_STATUS: Final[dict[str, str]] = {raw: status.value for raw, status in STATUS_TABLE.items()}
#: The element decoder the protocol's mapper for each private frame type runs.
_ELEMENT: Final[dict[type, msgspec.json.Decoder[Any]]] = {
    OrderFrame: ORDER,
    StopOrderFrame: STOP_ORDER,
    ExecutionFrame: EXECUTION,
    PositionFrame: POSITION,
}
#: Odd multiplier: ``n * _LINK_STEP mod 2**48`` is a bijection, so link ids never repeat.
_LINK_STEP: Final = 0x9E3779B97F4B


class BybitBenchKit:
    """Bybit's :class:`~reconciler.benchkit.BenchKit`, plus :meth:`open_orders`."""

    def decode(self, frame: str | bytes) -> list[object]:
        """The frame through exactly the decoders ``BybitProtocol.receive`` runs on it.

        The one-pass private-frame decoder: for a private-topic frame whose elements all
        decode (and map, as in a clean flow), that is all. Otherwise the protocol's
        step-by-step path: the routing envelope, then the private-topic union (or the
        reply), then each ``data`` element (a :class:`msgspec.Raw`) with its topic's
        element decoder.
        """
        try:
            fast = FAST.decode(frame)
        except Exception:  # noqa: BLE001 - as the protocol does
            return self._decode_steps(frame)
        return [fast]

    @staticmethod
    def _decode_steps(frame: str | bytes) -> list[object]:
        """The decoders of the protocol's step-by-step path."""
        head = ENVELOPE.decode(frame)
        if head.topic is not None:
            if head.topic not in PRIVATE_TOPICS:
                return [head]
            message = PRIVATE_FRAME.decode(frame)
            element = _ELEMENT[type(message)]
            return [head, message, *[element.decode(raw) for raw in message.data]]
        if head.success is not msgspec.UNSET or head.request is not msgspec.UNSET:
            return [head, REPLY.decode(frame)]
        return [head]

    def naive(self, frame: str | bytes, book: NaiveBook) -> int:
        """``json.loads`` the frame and apply its ``order``/``stop_order`` elements to
        ``book``, summing ``execution`` quantities per order; returns the faults found."""
        message = json.loads(frame)
        if not isinstance(message, dict):
            return 0
        topic = message.get("topic")
        faults = 0
        if topic == "order":
            for item in message["data"]:
                faults += naive_apply(
                    book,
                    item["order_id"],
                    _STATUS.get(item["order_status"], "unknown"),
                    naive_number(item.get("qty")),
                    naive_number(item.get("cum_exec_qty")),
                    naive_number(item.get("leaves_qty")),
                )
        elif topic == "stop_order":
            for item in message["data"]:
                faults += naive_apply(
                    book,
                    item["order_id"],
                    _STATUS.get(item["order_status"], "unknown"),
                    naive_number(item.get("qty")),
                    None,
                )
        elif topic == "execution":
            for item in message["data"]:
                if item.get("exec_type") not in NOT_ORDER_FILLS:
                    faults += naive_execution(
                        book, item["order_id"], naive_number(item["exec_qty"])
                    )
        return faults

    def open_orders(self, count: int, children: int = 0) -> Iterator[str]:
        """Frames that leave ``count`` GoodTillCancel limit orders open: each reported
        ``New``, then one execution and the ``PartiallyFilled`` report reflecting it
        (three frames per order, deterministic).

        Bybit has no multi-orders: ``children`` must be 0.
        """
        if children:
            raise NotImplementedError("Bybit has no multi-orders")
        return _open_orders(count)


def _open_orders(count: int) -> Iterator[str]:
    rng = random.Random(_SEED)  # noqa: S311 - reproducible frames, not security
    symbols = sorted(SYMBOLS)
    link_base = rng.getrandbits(48)
    for n in range(count):
        ms = _START_MS + 3 * n
        symbol = rng.choice(symbols)
        ref, tick = SYMBOLS[symbol]
        price = ref + tick * rng.randint(-40, 40)
        order = Order(
            order_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            link=f"ems-{(link_base + n * _LINK_STEP) % 2**48:012x}",
            symbol=symbol,
            side=rng.choice(("Buy", "Sell")),
            order_type="Limit",
            price=price,
            qty=rng.randint(2, 200) * 25,
            tif="GoodTillCancel",
            created_ms=ms,
        )
        yield frame("order", order.element("New"))
        qty = rng.randint(1, order.qty - 1)
        maker = rng.random() < 0.6
        fee = order.fill(qty, price, maker=maker)
        execution = {
            "symbol": symbol,
            "side": order.side,
            "order_id": order.order_id,
            "exec_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "order_link_id": order.link,
            "price": plain(price),
            "order_qty": order.qty,
            "exec_type": "Trade",
            "exec_qty": qty,
            "exec_fee": plain(fee),
            "leaves_qty": order.qty - order.cum,
            "is_maker": maker,
            "trade_time": iso_ms(ms + 1),
        }
        yield frame("execution", execution)
        yield frame("order", order.element("PartiallyFilled"))
