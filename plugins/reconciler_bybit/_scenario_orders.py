"""Bybit scenario payloads: orders with their cumulative numbers, and frame builders.

Quantities are integer contracts (1 contract = 1 USD on an inverse contract); values and
fees are in coin, rounded to 1e-8 as the venue writes them. Prices are Decimals written
as strings, as the seed page's payloads write them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

import msgspec

from reconciler.events import Expectation

__all__ = ["SYMBOLS", "TERMINAL", "Json", "Order", "fee_of", "frame", "iso_ms", "plain"]

Json = dict[str, Any]

#: Inverse perpetuals the scenarios trade: (reference price, tick size).
SYMBOLS: Final[dict[str, tuple[Decimal, Decimal]]] = {
    "BTCUSD": (Decimal(61250), Decimal("0.5")),
    "ETHUSD": (Decimal(3050), Decimal("0.05")),
    "XRPUSD": (Decimal("0.5212"), Decimal("0.0001")),
}
_COIN_PLACES: Final = Decimal("1e-8")
_TAKER_FEE: Final = Decimal("0.00075")
_MAKER_FEE: Final = Decimal("-0.00025")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ENCODER: Final = msgspec.json.Encoder()
TERMINAL: Final = frozenset({"Filled", "Cancelled", "Rejected"})


def iso_ms(ms: int) -> str:
    """Bybit's ISO time with milliseconds and ``Z`` (``2020-01-14T14:07:23.629Z``)."""
    moment = _EPOCH + timedelta(milliseconds=ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def plain(value: Decimal) -> str:
    """A Decimal as Bybit writes numbers in strings: no exponent, no trailing zeros."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def frame(topic: str, *items: Json, action: str | None = None) -> str:
    """A private-topic message, compact as the venue sends it."""
    body: Json = {"topic": topic}
    if action is not None:
        body["action"] = action
    body["data"] = list(items)
    return _ENCODER.encode(body).decode()


@dataclass(eq=False)
class Order:
    """One order (or conditional order) and its cumulative numbers so far."""

    order_id: str
    link: str
    symbol: str
    side: str  # "Buy" / "Sell"
    order_type: str  # "Limit" / "Market"
    price: Decimal
    qty: int
    tif: str
    created_ms: int
    stop: bool = False
    trigger: Decimal | None = None
    cum: int = 0
    value: Decimal = Decimal(0)
    fee: Decimal = Decimal(0)
    last_price: Decimal | None = None

    def expectation(self, venue: str, account: str) -> Expectation:
        """What the execution system sent: the order as the venue will report it."""
        return Expectation(
            venue=venue,
            account=account,
            client_order_id=self.link,
            symbol=self.symbol,
            side=self.side.lower(),
            quantity=Decimal(self.qty),
            price=self.price if self.order_type == "Limit" else None,
        )

    def element(self, status: str, **overrides: object) -> Json:
        """An ``order`` element with the current cumulative numbers (``overrides`` win,
        e.g. ``cancel_type="CancelByUser"``)."""
        item: Json = {
            "order_id": self.order_id,
            "order_link_id": self.link,
            "symbol": self.symbol,
            "side": self.side,
            "order_type": self.order_type,
            "price": plain(self.price),
            "qty": self.qty,
            "time_in_force": self.tif,
            "create_type": "CreateByStopOrder" if self.stop else "CreateByUser",
            "cancel_type": "",
            "order_status": status,
            # A terminal order reports leaves_qty 0 (venues.md).
            "leaves_qty": 0 if status in TERMINAL else self.qty - self.cum,
            "cum_exec_qty": self.cum,
            "cum_exec_value": plain(self.value),
            "cum_exec_fee": plain(self.fee),
            "timestamp": iso_ms(self.created_ms),
            "take_profit": "0",
            "stop_loss": "0",
            "trailing_stop": "0",
            "trailing_active": "0",
            "last_exec_price": plain(self.last_price or self.price),
            "reduce_only": False,
            "close_on_trigger": False,
        }
        item.update(overrides)
        return item

    def stop_element(self, status: str, user_id: int, *, cancel_type: str = "") -> Json:
        """A ``stop_order`` element (the conditional order before it went live)."""
        return {
            "order_id": self.order_id,
            "order_link_id": self.link,
            "user_id": user_id,
            "symbol": self.symbol,
            "side": self.side,
            "order_type": self.order_type,
            "price": plain(self.price),
            "qty": self.qty,
            "time_in_force": self.tif,
            "create_type": "CreateByStopOrder",
            "cancel_type": cancel_type,
            "order_status": status,
            "stop_order_type": "Stop",
            "trigger_by": "LastPrice",
            "trigger_price": plain(self.trigger or self.price),
            "close_on_trigger": False,
            "timestamp": iso_ms(self.created_ms),
        }

    def fill(self, qty: int, price: Decimal, *, maker: bool) -> Decimal:
        """Book an execution of ``qty`` at ``price``; returns its fee."""
        fee = fee_of(qty, price, maker=maker)
        self.cum += qty
        self.value += (Decimal(qty) / price).quantize(_COIN_PLACES)
        self.fee += fee
        self.last_price = price
        return fee


def fee_of(qty: int, price: Decimal, *, maker: bool) -> Decimal:
    """The fee in coin of an execution (inverse: contracts are USD; a maker gets a
    rebate, a negative fee)."""
    value = (Decimal(qty) / price).quantize(_COIN_PLACES)
    return (value * (_MAKER_FEE if maker else _TAKER_FEE)).quantize(_COIN_PLACES)
