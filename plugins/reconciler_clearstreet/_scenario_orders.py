"""Clear Street scenario payloads: orders with their numbers so far, and envelopes.

Quantities and prices are strings, ``average_price`` and ``average_cost`` JSON numbers,
times epoch milliseconds, as ``venues.md`` describes the official SDK's objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import msgspec

from reconciler.events import Expectation

__all__ = [
    "SEQUENCED_TYPES",
    "SYMBOLS",
    "TERMINAL",
    "TICK",
    "CsOrder",
    "Json",
    "encode",
    "envelope",
    "number",
    "plain",
]

Json = dict[str, Any]

#: Payload types the venue numbers (and replays); everything else is unsequenced.
SEQUENCED_TYPES: Final = frozenset(
    {
        "order-update",
        "trade-notice",
        "position-update",
        "buying-power-update",
        "locate-inventory-update",
    }
)
#: US equities the scenarios trade, with a reference price.
SYMBOLS: Final[dict[str, Decimal]] = {
    "AAPL": Decimal("171.25"),
    "MSFT": Decimal("421.10"),
    "NVDA": Decimal("903.50"),
    "AMZN": Decimal("178.15"),
    "JPM": Decimal("198.61"),
    "KO": Decimal("61.18"),
    "XOM": Decimal("116.32"),
    "BRK.B": Decimal("408.95"),
}
TICK: Final = Decimal("0.01")
TERMINAL: Final = frozenset({"filled", "canceled", "rejected", "expired", "done-for-day"})
# Average prices and costs are JSON numbers on this venue; quantities and prices strings.
_ENCODER: Final = msgspec.json.Encoder(decimal_format="number")


def plain(value: Decimal) -> str:
    """A Decimal as the venue writes it in a string: no exponent, no trailing zeros."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def number(value: Decimal, places: str = "1e-6") -> Decimal:
    """A value rounded for a JSON number field, trailing zeros dropped."""
    return Decimal(plain(value.quantize(Decimal(places))))


def encode(payload: Json) -> str:
    """A payload as compact JSON text."""
    return _ENCODER.encode(payload).decode()


def envelope(timestamp_ms: int, sequence: int | None, payload: str) -> str:
    """The frame carrying ``payload`` (JSON text, kept byte for byte)."""
    if sequence is None:
        return f'{{"timestamp":{timestamp_ms},"payload":{payload}}}'
    return f'{{"timestamp":{timestamp_ms},"sequence":{sequence},"payload":{payload}}}'


@dataclass(eq=False)
class CsOrder:
    """One order and its numbers so far; :meth:`update` is its next ``order-update``."""

    order_id: str
    ref: str
    account_id: str
    symbol: str
    side: str  # buy / sell / sell-short
    order_type: str  # limit / market
    price: Decimal | None
    qty: int
    tif: str
    created_ms: int
    version: int = 0
    filled: int = 0
    value: Decimal = Decimal(0)

    def expectation(self, venue: str, account: str) -> Expectation:
        """What the execution system sent (a short sale is a sell)."""
        return Expectation(
            venue=venue,
            account=account,
            client_order_id=self.ref,
            symbol=self.symbol,
            side="buy" if self.side == "buy" else "sell",
            quantity=Decimal(self.qty),
            price=self.price if self.order_type == "limit" else None,
        )

    def book(self, qty: int, price: Decimal) -> None:
        """An execution of ``qty`` at ``price``."""
        self.filled += qty
        self.value += qty * price

    def update(self, status: str, reason: str, updated_ms: int, **overrides: object) -> Json:
        """The next version's ``order-update`` payload (``overrides`` replace fields)."""
        self.version += 1
        data: Json = {
            "created_at": self.created_ms,
            "updated_at": updated_ms,
            "order_id": self.order_id,
            "reference_id": self.ref,
            "version": self.version,
            "account_id": self.account_id,
            "state": "rejected"
            if status == "rejected"
            else "closed"
            if status in TERMINAL
            else "open",
            "status": status,
            "order_type": self.order_type,
            "side": self.side,
            "quantity": str(self.qty),
            "price": None if self.price is None else plain(self.price),
            "time_in_force": self.tif,
            "average_price": number(self.value / self.filled) if self.filled else None,
            "filled_quantity": str(self.filled),
            "order_update_reason": reason,
            "text": "Insufficient buying power" if status == "rejected" else "",
            "symbol": self.symbol,
        }
        data.update(overrides)
        return {"type": "order-update", "data": data}
