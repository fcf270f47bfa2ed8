"""The timeline Bybit scenarios are written on: ids, times, prices, and playback.

A scenario is written order by order, not in time order (background orders fill the
gaps between the fault episodes), so anything that depends on *every* order — the
account's positions — is rendered later, when the timeline is played back in time order
(:meth:`Writer.steps`). Everything else (an order's own cumulative numbers) is computed
while the order is written, in the order's own time order.

Times are script seconds rounded to the millisecond, so venue timestamps
(``start_ms`` + the step time) are exact.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from reconciler.simulator import Expect, Send, Step

from ._scenario_orders import (
    SYMBOLS,
    Json,
    Order,
    fee_of,
    frame,
    iso_ms,
    plain,
)

__all__ = ["Writer"]

_COIN_PLACES: Final = Decimal("1e-8")


@dataclass(eq=False)
class _Item:
    """One planned step; ``render`` is called in time order to produce it."""

    at: float
    n: int
    render: Callable[[], Step]
    text: str | None = None


@dataclass
class _Position:
    size: int = 0  # signed contracts
    entry: Decimal = Decimal(0)


@dataclass(eq=False)
class Writer:
    """Plans one script: ids, prices and times from one seeded RNG."""

    venue: str
    account: str
    rng: random.Random
    start_ms: int
    strict: bool = False
    items: list[_Item] = field(default_factory=list)
    user_id: int = 0
    _ids: set[str] = field(default_factory=set)
    _positions: dict[str, _Position] = field(default_factory=dict)
    _position_seq: int = 0

    def __post_init__(self) -> None:
        self.user_id = self.rng.randrange(100_000, 9_999_999)

    # -- ids, times, prices -----------------------------------------------------------

    def uid(self) -> str:
        """A fresh UUID (order and execution ids)."""
        while True:
            value = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
            if value not in self._ids:
                self._ids.add(value)
                return value

    def link_id(self) -> str:
        """A fresh ``order_link_id`` as an execution system would make it."""
        while True:
            value = f"ems-{self.rng.getrandbits(48):012x}"
            if value not in self._ids:
                self._ids.add(value)
                return value

    def gap(self) -> float:
        """The time between two messages of the flow (0.2 to 1 s)."""
        return round(self.rng.uniform(0.2, 1.0), 3)

    def tight(self) -> float:
        """The time between messages the venue pushes together (an execution and its
        order report)."""
        return round(self.rng.uniform(0.005, 0.04), 3)

    def ms(self, at: float) -> int:
        """The venue's epoch time in ms at script time ``at``."""
        return self.start_ms + round(at * 1000)

    def price_near(self, symbol: str, ticks: int = 40) -> Decimal:
        """A price within ``ticks`` ticks of the symbol's reference price."""
        ref, tick = SYMBOLS[symbol]
        return ref + tick * self.rng.randint(-ticks, ticks)

    def new_order(
        self,
        t: float,
        *,
        order_type: str = "Limit",
        tif: str = "GoodTillCancel",
        stop: bool = False,
        link: bool = True,
        qty: int | None = None,
    ) -> Order:
        """A fresh order on a random symbol and side."""
        symbol = self.rng.choice(sorted(SYMBOLS))
        side = self.rng.choice(("Buy", "Sell"))
        price = self.price_near(symbol)
        tick = SYMBOLS[symbol][1]
        if order_type == "Market":
            # A market order's price is the venue's protection bound, not a limit.
            price = price * (Decimal("1.05") if side == "Buy" else Decimal("0.95"))
            price = (price / tick).to_integral_value() * tick
        trigger = price + tick * self.rng.randint(5, 30) * (1 if side == "Buy" else -1)
        return Order(
            order_id=self.uid(),
            link=self.link_id() if link else "",
            symbol=symbol,
            side=side,
            order_type=order_type,
            price=price,
            qty=qty if qty is not None else self.rng.randint(1, 200) * 25,
            tif=tif,
            created_ms=self.ms(t),
            stop=stop,
            trigger=trigger if stop else None,
        )

    def split(self, total: int, parts: int) -> list[int]:
        """``total`` contracts in ``parts`` positive integer executions."""
        parts = max(1, min(parts, total))
        cuts = sorted(self.rng.sample(range(1, total), parts - 1)) if parts > 1 else []
        edges = [0, *cuts, total]
        return [b - a for a, b in itertools.pairwise(edges)]

    def exec_price(self, order: Order) -> Decimal:
        """Where an execution of ``order`` trades: at or better than its limit."""
        if order.order_type == "Limit":
            tick = SYMBOLS[order.symbol][1]
            better = tick * self.rng.randint(0, 2)
            return order.price - better if order.side == "Buy" else order.price + better
        return self.price_near(order.symbol, 10)

    # -- steps ------------------------------------------------------------------------

    def step(self, step: Step) -> None:
        """A step that needs no rendering (Expect, Disconnect, Stall, RefuseAuth); its
        time should already be rounded to the millisecond."""
        self.items.append(_Item(step.at, len(self.items), lambda: step))

    def expect(self, at: float, order: Order) -> None:
        """The execution system registers ``order`` just before the venue sees it."""
        at = round(at, 3)
        self.step(Expect(at=at, expectation=order.expectation(self.venue, self.account)))

    def send(self, at: float, text: str, *, lost: bool = False, raw: bool = False) -> _Item:
        """A frame sent at ``at`` (``lost``: never delivered; ``raw``: sent as is)."""
        at = round(at, 3)
        item = _Item(at, len(self.items), lambda: Send(at=at, message=text, raw=raw, lost=lost))
        item.text = text
        self.items.append(item)
        return item

    def report(self, at: float, order: Order, status: str, **overrides: object) -> _Item:
        """An ``order`` frame with the order's numbers as they are now."""
        return self.send(at, frame("order", order.element(status, **overrides)))

    def stop_report(self, at: float, order: Order, status: str, cancel_type: str = "") -> _Item:
        """A ``stop_order`` frame."""
        element = order.stop_element(status, self.user_id, cancel_type=cancel_type)
        return self.send(at, frame("stop_order", element))

    def execution(
        self,
        at: float,
        order: Order,
        qty: int,
        *,
        exec_id: str | None = None,
        lost: bool = False,
        book: bool = True,
        moves: bool = True,
    ) -> _Item:
        """An ``execution`` frame for ``qty`` contracts of ``order``.

        ``book`` adds it to the order's cumulative numbers (a later report reflects it);
        ``moves`` moves the account's position when the timeline is played back (even
        when the frame is ``lost``: the trade happened, only its message did not arrive).
        """
        at = round(at, 3)
        price = self.exec_price(order)
        maker = order.order_type == "Limit" and self.rng.random() < 0.6
        fee = order.fill(qty, price, maker=maker) if book else fee_of(qty, price, maker=maker)
        element: Json = {
            "symbol": order.symbol,
            "side": order.side,
            "order_id": order.order_id,
            "exec_id": exec_id or self.uid(),
            "order_link_id": order.link,
            "price": plain(price),
            "order_qty": order.qty,
            "exec_type": "Trade",
            "exec_qty": qty,
            "exec_fee": plain(fee),
            "leaves_qty": max(order.qty - order.cum, 0),
            "is_maker": maker,
            "trade_time": iso_ms(self.ms(at)),
        }
        text = frame("execution", element)
        signed = qty if order.side == "Buy" else -qty
        symbol = order.symbol

        def render() -> Step:
            if moves:
                self._trade(symbol, signed, price)
            return Send(at=at, message=text, lost=lost)

        item = _Item(at, len(self.items), render, text)
        self.items.append(item)
        return item

    # -- the usual shapes of an order's life ------------------------------------------

    def place(self, t: float, order: Order, *, expect: bool = True) -> float:
        """The execution system registers the order at ``t`` (unless not ``expect``);
        the venue reports it (sometimes ``Created`` first) a moment later. Returns the
        time of the ``New`` report."""
        if expect:
            self.expect(t, order)
        t = round(t + self.rng.uniform(0.05, 0.3), 3)
        if self.rng.random() < 0.3:
            self.report(t, order, "Created")
            t = round(t + self.tight(), 3)
        self.report(t, order, "New")
        return t

    def fill_report(self, t: float, order: Order, status: str) -> float:
        """An order report and the position after it; returns the time of the last."""
        t = round(t, 3)
        self.report(t, order, status)
        t = round(t + self.tight(), 3)
        self.position(t, order.symbol)
        return t

    def fill(self, t: float, order: Order, qty: int, status: str) -> float:
        """An execution at ``t``, the order report reflecting it and the position,
        pushed together. Returns the time of the last of them."""
        t = round(t, 3)
        self.execution(t, order, qty)
        return self.fill_report(t + self.tight(), order, status)

    def position(self, at: float, symbol: str) -> None:
        """A ``position`` frame with the account's position when it is played back."""
        at = round(at, 3)
        self.items.append(_Item(at, len(self.items), lambda: self._position_step(at, symbol)))

    def steps(self) -> tuple[Step, ...]:
        """Every planned step in time order (ties keep the order they were planned in)."""
        ordered = sorted(self.items, key=lambda i: (i.at, i.n))
        return tuple(item.render() for item in ordered)

    # -- positions (rendered in time order) -------------------------------------------

    def _trade(self, symbol: str, signed: int, price: Decimal) -> None:
        pos = self._positions.setdefault(symbol, _Position())
        new = pos.size + signed
        if pos.size == 0 or (pos.size > 0) != (new > 0) or new == 0:
            pos.entry = price if new else Decimal(0)
        elif abs(new) > abs(pos.size):
            # Inverse contracts average their entry price harmonically.
            coins = Decimal(abs(pos.size)) / pos.entry + Decimal(abs(signed)) / price
            pos.entry = (Decimal(abs(new)) / coins).quantize(Decimal("1e-8"))
        pos.size = new

    def _position_step(self, at: float, symbol: str) -> Step:
        pos = self._positions.get(symbol, _Position())
        self._position_seq += 1
        size = abs(pos.size)
        value = (Decimal(size) / pos.entry).quantize(_COIN_PLACES) if size else Decimal(0)
        element: Json = {
            "user_id": self.user_id,
            "symbol": symbol,
            "position_idx": 0,
            "size": size,
            "side": "None" if size == 0 else ("Buy" if pos.size > 0 else "Sell"),
            "mode": 0,
            "isolated": False,
            "position_value": plain(value),
            "entry_price": plain(pos.entry),
            "leverage": "10",
            "position_margin": plain((value / 10).quantize(_COIN_PLACES)),
            "position_status": "Normal",
            "position_seq": self._position_seq,
        }
        return Send(at=at, message=frame("position", element, action="update"))
