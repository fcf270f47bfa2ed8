"""BTSE futures orders for the simulator, their notifications, and the clean flow.

Each :class:`Order` keeps its sizes in integer contracts and writes
``notificationApiV4`` elements shaped like the seed's example, with the size identity
the venue documents: ``currentOrderSize = totalFilledSize + remainingSize`` on every
notice, ``filledSize`` the quantity this very notice fills, ``originalOrderSize``
unchanged by amendments (status 123, which may change ``currentOrderSize``).

Clean flow: limit orders inserted (2), partially filled (5), fully matched (4) or
cancelled (6), sometimes amended (123); market orders IOC/FOK matched at once; stop
and take-profit orders inserted as triggers (9), activated (10) and filled, or
cancelled before they trigger. Rejections (15, 8) raise ORDER_REJECTED, so they are
shown only as the ``ORDER_REJECTED`` fault.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import msgspec

from reconciler_btse._scenario import Timeline

__all__ = [
    "LIMIT",
    "MARKET",
    "MARKETS",
    "Market",
    "Order",
    "clean_story",
    "client_order_id",
    "expect_order",
    "new_limit",
    "portions",
    "times",
]

LIMIT: Final = 76
MARKET: Final = 77
_ENCODER: Final = msgspec.json.Encoder(decimal_format="number")


@dataclass(frozen=True)
class Market:
    """A BTSE perpetual: its symbol, a realistic price, tick and order sizes (contracts)."""

    symbol: str
    mid: Decimal
    tick: Decimal
    sizes: tuple[int, int]


MARKETS: Final = (
    Market("BTC-PERP", Decimal("111085.1"), Decimal("0.1"), (50, 5000)),
    Market("ETH-PERP", Decimal("2652.35"), Decimal("0.05"), (10, 2000)),
    Market("SOL-PERP", Decimal("162.412"), Decimal("0.001"), (10, 3000)),
)


def client_order_id(tl: Timeline) -> str:
    """A ``clOrderID`` as an execution system writes one."""
    return f"ems-{tl.uid()}"


def portions(total: int, parts: int, tl: Timeline) -> list[int]:
    """``total`` contracts cut into ``parts`` positive integers (fewer if too small)."""
    parts = max(1, min(parts, total))
    cuts = sorted(tl.rng.sample(range(1, total), parts - 1)) if parts > 1 else []
    bounds = [0, *cuts, total]
    return [bounds[i + 1] - bounds[i] for i in range(parts)]


def times(tl: Timeline, start: float, count: int) -> Iterator[float]:
    """``count`` increasing notice times after ``start``, 0.2-1.0 s apart."""
    t = start
    for _ in range(count):
        t += tl.gap()
        yield t


class Order:
    """One BTSE futures order and the notifications it produces."""

    def __init__(
        self,
        tl: Timeline,
        *,
        market: Market,
        side: str,
        size: int,
        order_type: int = LIMIT,
        price: Decimal | None = None,
        tif: str = "GTC",
        client_id: str | None = None,
        trigger: Decimal | None = None,
        tx_type: str = "LIMIT",
    ) -> None:
        self.id = tl.uid()
        self.market, self.side, self.size, self.order_type = market, side, size, order_type
        self.price, self.tif, self.trigger, self.tx_type = price, tif, trigger, tx_type
        self.client_id = client_id if client_id is not None else client_order_id(tl)
        self.current = size
        self.total = 0
        self.value = Decimal(0)
        self.last_price = price if price is not None else market.mid
        self.last_ms = 0

    @property
    def remaining(self) -> int:
        """Contracts still to fill."""
        return self.current - self.total

    def fill_price(self, tl: Timeline) -> Decimal:
        """A resting limit order fills at its price; a market order near the mid."""
        if self.order_type == LIMIT and self.price is not None:
            return self.price
        drift = Decimal(str(round(tl.rng.uniform(-0.001, 0.001), 6)))
        return (self.market.mid * (1 + drift)).quantize(self.market.tick)

    def fill(self, tl: Timeline, qty: int) -> int:
        """Record a fill of ``qty`` contracts; returns ``qty`` (the notice's filledSize)."""
        px = self.fill_price(tl)
        self.total += qty
        self.value += qty * px
        self.last_price = px
        return qty

    def item(self, status: int, *, filled: int = 0, **overrides: Any) -> dict[str, Any]:
        """One ``data`` element for this order now (``overrides`` replace fields)."""
        tick = self.market.tick
        avg = (self.value / self.total).quantize(tick) if self.total else Decimal(0)
        # For a market order ``price`` is "order price or transacted price".
        price = self.price if self.order_type == LIMIT else self.last_price
        item: dict[str, Any] = {
            "symbol": self.market.symbol,
            "orderID": self.id,
            "side": self.side,
            "orderType": self.order_type,
            "type": self.order_type,
            "price": price,
            "triggerPrice": self.trigger if self.trigger is not None else 0,
            "status": status,
            "timestamp": self.last_ms,
            "avgFilledPrice": avg,
            "clOrderID": self.client_id,
            "postOnly": False,
            "maker": self.order_type == LIMIT and filled > 0,
            "positionId": f"{self.market.symbol}-USDT",
            "originalOrderSize": self.size,
            "currentOrderSize": self.current,
            "filledSize": filled,
            "totalFilledSize": self.total,
            "remainingSize": self.remaining,
            "time_in_force": self.tif,
            "txType": self.tx_type,
        }
        item.update(overrides)
        return item

    def stamp(self, tl: Timeline, at: float) -> None:
        """The venue's timestamp for a notice received at ``at`` (strictly increasing)."""
        self.last_ms = max(self.last_ms + 1, tl.venue_ms(at))

    def notice(
        self, tl: Timeline, at: float, status: int, *, filled: int = 0, **overrides: Any
    ) -> str:
        """The ``notificationApiV4`` frame of a notice received at ``at``."""
        self.stamp(tl, at)
        return frame(self.item(status, filled=filled, **overrides))


def frame(*items: dict[str, Any]) -> str:
    """A ``notificationApiV4`` message (compact JSON, numbers as numbers)."""
    return _ENCODER.encode({"topic": "notificationApiV4", "data": list(items)}).decode()


def new_limit(tl: Timeline, **kw: Any) -> Order:
    """A fresh GTC limit order resting a little away from the mid, on a random market."""
    rng = tl.rng
    market = kw.pop("market", None) or rng.choice(MARKETS)
    side = kw.pop("side", None) or rng.choice(("BUY", "SELL"))
    offset = Decimal(str(round(rng.uniform(0.0002, 0.002), 6)))
    factor = 1 - offset if side == "BUY" else 1 + offset
    kw.setdefault("price", (market.mid * factor).quantize(market.tick))
    kw.setdefault("size", rng.randint(*market.sizes))
    return Order(tl, market=market, side=side, **kw)


def expect_order(tl: Timeline, at: float, order: Order, **changes: Any) -> None:
    """The expectation matching ``order`` (``changes`` alter it: ``quantity=...``)."""
    fields: dict[str, Any] = {
        "symbol": order.market.symbol,
        "side": order.side.lower(),
        "quantity": Decimal(order.size),
        # Only a limit order's price is its limit; a market order's is a fill price.
        "price": order.price if order.order_type == LIMIT else None,
    }
    fields.update(changes)
    tl.expect(at, order.client_id, **fields)


# -- clean stories ---------------------------------------------------------------------


def limit_story(tl: Timeline, t0: float) -> None:
    """A limit order: inserted, partially filled, maybe amended; matched or cancelled."""
    rng = tl.rng
    tif = rng.choices(("GTC", "DAY", "HOUR", "FIVEMIN"), weights=(6, 2, 1, 1))[0]
    order = new_limit(tl, tif=tif)
    expect_order(tl, t0, order)
    ts = times(tl, t0, 10)
    at = next(ts)
    tl.send(at, order.notice(tl, at, 2))
    cancel = rng.random() < 0.3
    if rng.random() < 0.25:
        # Amended before anything fills: a new size (originalOrderSize keeps the first).
        order.current = max(1, order.size + rng.choice((-1, 1)) * rng.randint(1, order.size // 2))
        at = next(ts)
        tl.send(at, order.notice(tl, at, 123))
    fills = portions(order.current, rng.randint(1, 4), tl)
    if cancel:
        fills = fills[: rng.randint(0, len(fills) - 1)]
    for qty in fills:
        order.fill(tl, qty)
        at = next(ts)
        tl.send(at, order.notice(tl, at, 4 if order.remaining == 0 else 5, filled=qty))
    if cancel:
        at = next(ts)
        tl.send(at, order.notice(tl, at, 6))


def market_story(tl: Timeline, t0: float) -> None:
    """A market order, IOC or FOK: matched at once, or IOC partly matched, rest cancelled."""
    rng = tl.rng
    market = rng.choice(MARKETS)
    tif = rng.choice(("IOC", "FOK"))
    order = Order(
        tl,
        market=market,
        side=rng.choice(("BUY", "SELL")),
        size=rng.randint(*market.sizes),
        order_type=MARKET,
        tif=tif,
        tx_type="LIMIT",
    )
    expect_order(tl, t0, order)
    at = t0 + tl.gap(0.05, 0.3)
    if tif == "FOK" or rng.random() < 0.6:
        # Matched in one go, as in the seed's example (status 4, filledSize = the size).
        qty = order.fill(tl, order.size)
        tl.send(at, order.notice(tl, at, 4, filled=qty))
        return
    tl.send(at, order.notice(tl, at, 2))
    qty = order.fill(tl, rng.randint(1, max(1, order.size - 1)))
    at += tl.gap(0.05, 0.3)
    tl.send(at, order.notice(tl, at, 5 if order.remaining else 4, filled=qty))
    if order.remaining:
        at += tl.gap(0.05, 0.3)
        tl.send(at, order.notice(tl, at, 6))  # IOC: the rest is cancelled at once


def trigger_story(tl: Timeline, t0: float) -> None:
    """A stop (or take-profit) order: inserted as a trigger, activated, then filled; or
    cancelled before it triggers."""
    rng = tl.rng
    market = rng.choice(MARKETS)
    side = rng.choice(("BUY", "SELL"))
    tx_type = rng.choice(("STOP", "TAKEPROFIT"))
    away = Decimal("1.002") if (side == "BUY") == (tx_type == "STOP") else Decimal("0.998")
    trigger = (market.mid * away).quantize(market.tick)
    stop_limit = rng.random() < 0.5
    order = Order(
        tl,
        market=market,
        side=side,
        size=rng.randint(*market.sizes),
        order_type=LIMIT if stop_limit else MARKET,
        price=trigger if stop_limit else None,
        trigger=trigger,
        tx_type=tx_type,
    )
    expect_order(tl, t0, order)
    ts = times(tl, t0, 8)
    at = next(ts)
    tl.send(at, order.notice(tl, at, 9))
    if rng.random() < 0.25:
        at = next(ts)
        tl.send(at, order.notice(tl, at, 6))
        return
    at = next(ts)
    tl.send(at, order.notice(tl, at, 10))
    for qty in portions(order.size, rng.randint(1, 3) if stop_limit else 1, tl):
        order.fill(tl, qty)
        at = next(ts)
        tl.send(at, order.notice(tl, at, 4 if order.remaining == 0 else 5, filled=qty))


def clean_story(tl: Timeline, t0: float) -> None:
    """One clean story: mostly limit orders, some market and trigger orders."""
    story = tl.rng.choices((limit_story, market_story, trigger_story), weights=(6, 2, 2))[0]
    story(tl, t0)
