"""The timeline Clear Street scenarios are written on: ids, times, prices, and playback.

A scenario is written order by order, not in time order (background orders fill the
gaps between fault episodes), so the account's running positions and buying power
(``trade-notice`` ``running_position``, ``position-update``, ``buying-power-update``),
which depend on *every* message, are worked out when the timeline is played back in
time order (:meth:`Writer.steps`).

Script messages are payloads (``{"type": ..., "data": ...}``): the simulator numbers and
wraps them. A fault that repeats a message the venue already numbered (an identical
re-send, a late delivery of a message lost in transit, a re-send with other content, a
frame cut off) asks the simulator to do it (:func:`resend`, :func:`cut`): only the
simulator knows the number it gave the message, and the frame must carry the time it
is actually sent. Times are script seconds rounded to the millisecond.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from reconciler.simulator import Expect, Send, Step

from ._scenario_orders import (
    SYMBOLS,
    TICK,
    CsOrder,
    Json,
    encode,
    number,
    plain,
)

__all__ = ["Pub", "Writer"]


Build = Callable[[], Json]


@dataclass(eq=False)
class Pub:
    """A payload the simulator publishes (or loses) at ``at``."""

    at: float
    n: int
    build: Build
    lost: bool = False
    payload: str | None = None


@dataclass(eq=False)
class _Copy:
    """A repeat of ``ref`` the simulator makes (see :func:`resend` and :func:`cut`)."""

    at: float
    n: int
    ref: Pub
    mode: Literal["resend", "cut", "conflict"]
    payload: Json | None = None


def resend(payload: str, instead: str | None = None) -> str:
    """The script message asking the simulator to send the already numbered ``payload``
    again under its number, now (with ``instead`` as the content, for a conflicting
    re-send)."""
    directive = {"resend": payload} if instead is None else {"resend": payload, "as": instead}
    return encode(directive)


def cut(payload: str) -> str:
    """The script message asking the simulator to send the already numbered ``payload``
    cut off in the middle of its frame."""
    return encode({"cut": payload})


@dataclass(eq=False)
class _Fixed:
    at: float
    n: int
    step: Step | None
    effect: Callable[[], None] | None = None


@dataclass
class _Book:
    """The account as the venue sees it: positions and buying power."""

    positions: dict[str, tuple[int, Decimal]] = field(default_factory=dict)
    buying_power: Decimal = Decimal(0)


@dataclass(eq=False)
class Writer:
    """Plans one script: ids, prices and times from one seeded RNG."""

    venue: str
    account: str
    rng: random.Random
    start_ms: int
    items: list[Pub | _Copy | _Fixed] = field(default_factory=list)
    _ids: set[str] = field(default_factory=set)
    _next_order: int = 0
    _next_trade: int = 0
    _book: _Book = field(default_factory=_Book)

    def __post_init__(self) -> None:
        self._next_order = self.rng.randrange(40_000_000, 49_000_000)
        self._next_trade = self.rng.randrange(91_000_000, 99_000_000)
        self._book.buying_power = Decimal(self.rng.randrange(500_000, 5_000_000))

    # -- ids, times, prices -----------------------------------------------------------

    def order_id(self) -> str:
        """The venue's next order id (numeric, increasing)."""
        self._next_order += self.rng.randint(1, 40)
        return str(self._next_order)

    def trade_id(self) -> str:
        """The venue's next trade id."""
        self._next_trade += self.rng.randint(1, 40)
        return str(self._next_trade)

    def reference_id(self) -> str:
        """A fresh client order id, as an execution system would make it."""
        while True:
            value = f"ems-{self.rng.getrandbits(40):010x}"
            if value not in self._ids:
                self._ids.add(value)
                return value

    def gap(self) -> float:
        """The time between two messages of a flow (0.2 to 1 s)."""
        return round(self.rng.uniform(0.2, 1.0), 3)

    def tight(self) -> float:
        """The time between messages the venue sends together."""
        return round(self.rng.uniform(0.005, 0.04), 3)

    def ms(self, at: float) -> int:
        """The venue's epoch time in ms at script time ``at``."""
        return self.start_ms + round(at * 1000)

    def new_order(
        self,
        t: float,
        *,
        order_type: str = "limit",
        tif: str | None = None,
        reference: bool = True,
        symbol: str | None = None,
        qty: int | None = None,
    ) -> CsOrder:
        """A fresh order on a random symbol and side."""
        symbol = symbol or self.rng.choice(sorted(SYMBOLS))
        side = self.rng.choices(("buy", "sell", "sell-short"), (50, 40, 10))[0]
        price = SYMBOLS[symbol] + TICK * self.rng.randint(-60, 60)
        return CsOrder(
            order_id=self.order_id(),
            ref=self.reference_id() if reference else "",
            account_id=self.account,
            symbol=symbol,
            side=side,
            order_type=order_type,
            price=price if order_type == "limit" else None,
            qty=qty if qty is not None else self.rng.randint(1, 60) * 10,
            tif=tif or self.rng.choices(("day", "day-plus"), (80, 20))[0],
            created_ms=self.ms(t),
        )

    def split(self, total: int, parts: int) -> list[int]:
        """``total`` shares in ``parts`` positive executions."""
        parts = max(1, min(parts, total))
        cuts = sorted(self.rng.sample(range(1, total), parts - 1)) if parts > 1 else []
        edges = [0, *cuts, total]
        return [b - a for a, b in itertools.pairwise(edges)]

    def exec_price(self, order: CsOrder) -> Decimal:
        """Where an execution of ``order`` trades: at or better than its limit."""
        if order.price is None:
            return SYMBOLS[order.symbol] + TICK * self.rng.randint(-20, 20)
        better = TICK * self.rng.randint(0, 3)
        return order.price - better if order.side == "buy" else order.price + better

    # -- the timeline -----------------------------------------------------------------

    def _add(self, item: Pub | _Copy | _Fixed) -> None:
        self.items.append(item)

    def step(self, step: Step) -> None:
        """A step played as is (Expect, Disconnect, Stall, RefuseAuth)."""
        self._add(_Fixed(step.at, len(self.items), step))

    def expect(self, at: float, order: CsOrder) -> None:
        """The execution system registers ``order`` just before the venue sees it."""
        at = round(at, 3)
        self.step(Expect(at=at, expectation=order.expectation(self.venue, self.account)))

    def publish(self, at: float, payload: Json | Build, *, lost: bool = False) -> Pub:
        """A payload the venue publishes at ``at`` (``lost``: never delivered)."""
        build: Build = payload if callable(payload) else (lambda: payload)
        pub = Pub(round(at, 3), len(self.items), build, lost)
        self._add(pub)
        return pub

    def copy(
        self,
        at: float,
        ref: Pub,
        mode: Literal["resend", "cut", "conflict"],
        payload: Json | None = None,
    ) -> None:
        """``ref`` sent again at ``at`` under the number the simulator gave it: as it was
        (``resend``: a duplicate, or the late delivery of a lost message), cut off in the
        middle (``cut``), or with ``payload`` as its content (``conflict``)."""
        self._add(_Copy(round(at, 3), len(self.items), ref, mode, payload))

    def effect(self, at: float, effect: Callable[[], None]) -> None:
        """Something that happens on the venue at ``at`` without a message."""
        self._add(_Fixed(round(at, 3), len(self.items), None, effect))

    def update(self, at: float, order: CsOrder, status: str, reason: str, **over: object) -> Pub:
        """The order's next ``order-update``."""
        at = round(at, 3)
        return self.publish(at, order.update(status, reason, self.ms(at), **over))

    def trade(self, at: float, order: CsOrder, qty: int, *, lost: bool = False) -> Pub:
        """A ``trade-notice`` of ``qty`` shares (booked on the order now, on the
        account's position when played back)."""
        at = round(at, 3)
        price = self.exec_price(order)
        order.book(qty, price)
        signed = -qty if order.side != "buy" else qty
        data: Json = {
            "trade_id": self.trade_id(),
            "order_id": order.order_id,
            "account_id": self.account,
            "symbol": order.symbol,
            "side": order.side,
            "quantity": str(qty),
            "price": plain(price),
            "created_at": self.ms(at),
        }

        def build() -> Json:
            running = self._move(order.symbol, signed, price)
            return {"type": "trade-notice", "data": {**data, "running_position": str(running)}}

        return self.publish(at, build, lost=lost)

    def unsent_trade(self, at: float, order: CsOrder, qty: int) -> None:
        """An execution the venue never sends a ``trade-notice`` for (the order's
        ``filled_quantity`` and the position still include it)."""
        price = self.exec_price(order)
        order.book(qty, price)
        signed = -qty if order.side != "buy" else qty

        def move() -> None:
            self._move(order.symbol, signed, price)

        self.effect(at, move)

    def position(self, at: float, symbol: str, *, lost: bool = False, **over: object) -> Pub:
        """A ``position-update`` with the account's position when played back."""

        def build() -> Json:
            qty, cost = self._book.positions.get(symbol, (0, Decimal(0)))
            data: Json = {
                "account_id": self.account,
                "symbol": symbol,
                "quantity": str(qty),
                "average_cost": number(cost, "1e-4"),
            }
            data.update(over)
            return {"type": "position-update", "data": data}

        return self.publish(at, build, lost=lost)

    def buying_power(self, at: float, *, lost: bool = False) -> Pub:
        """A ``buying-power-update`` with the account's buying power when played back."""

        def build() -> Json:
            bp = self._book.buying_power
            return {
                "type": "buying-power-update",
                "data": {
                    "account_id": self.account,
                    "buying_power": f"{bp:.2f}",
                    "day_trade_buying_power": f"{bp * 4:.2f}",
                    "overnight_buying_power": f"{bp / 2:.2f}",
                },
            }

        return self.publish(at, build, lost=lost)

    # -- the usual shapes of an order's life ------------------------------------------

    def place(self, t: float, order: CsOrder, *, expect: bool = True) -> float:
        """Registered at ``t`` (unless not ``expect``), then ``pending-new`` and ``new``
        from the venue. Returns the time of ``new``."""
        if expect:
            self.expect(t, order)
        t = round(t + self.rng.uniform(0.05, 0.3), 3)
        self.update(t, order, "pending-new", "place")
        t = round(t + self.rng.uniform(0.02, 0.2), 3)
        self.update(t, order, "new", "execution-report")
        return t

    def after_trade(self, t: float, order: CsOrder, status: str, **over: object) -> float:
        """The order-update reflecting a trade, the position and sometimes the buying
        power, sent together. Returns the time of the last."""
        t = round(t, 3)
        self.update(t, order, status, "execution-report", **over)
        t = round(t + self.tight(), 3)
        self.position(t, order.symbol)
        if self.rng.random() < 0.3:
            t = round(t + self.tight(), 3)
            self.buying_power(t)
        return t

    def fill(self, t: float, order: CsOrder, qty: int, status: str) -> float:
        """A trade at ``t`` and what follows it."""
        self.trade(t, order, qty)
        return self.after_trade(t + self.tight(), order, status)

    def cancel(self, t: float, order: CsOrder) -> float:
        """``pending-cancel`` then ``canceled``. Returns the time of the last."""
        t = self.update(t, order, "pending-cancel", "cancel").at
        return self.update(t + self.rng.uniform(0.02, 0.3), order, "canceled", "cancel").at

    # -- playback ---------------------------------------------------------------------

    def steps(self) -> tuple[Step, ...]:
        """Every planned step in time order (ties keep the order they were planned in)."""
        out: list[Step] = []
        for item in sorted(self.items, key=lambda i: (i.at, i.n)):
            if isinstance(item, _Fixed):
                if item.effect is not None:
                    item.effect()
                if item.step is not None:
                    out.append(item.step)
            elif isinstance(item, Pub):
                item.payload = encode(item.build())
                out.append(Send(at=item.at, message=item.payload, lost=item.lost))
            else:
                out.append(Send(at=item.at, message=self._copy_message(item)))
        return tuple(out)

    @staticmethod
    def _copy_message(item: _Copy) -> str:
        original = item.ref.payload
        if original is None:
            raise ValueError("a copy must come after the message it copies")
        if item.mode == "cut":
            return cut(original)
        return resend(original, None if item.payload is None else encode(item.payload))

    def _move(self, symbol: str, signed: int, price: Decimal) -> int:
        qty, cost = self._book.positions.get(symbol, (0, Decimal(0)))
        new = qty + signed
        if new == 0:
            cost = Decimal(0)
        elif qty == 0 or (qty > 0) != (new > 0):
            cost = price
        elif abs(new) > abs(qty):
            cost = (abs(qty) * cost + abs(signed) * price) / abs(new)
        self._book.positions[symbol] = (new, cost)
        self._book.buying_power -= signed * price
        return new
