"""Tread.fi single orders for the simulator (top-level, or legs of a multi-order).

Every number a frame carries is computed from the order's fills with exact Decimals, so
the invariants of venues.md hold exactly: ``target_remaining_qty = target_order_qty -
target_executed_qty``, ``pct_filled = 100 x executed / target``, ``executed_notional =
average_executed_price x executed`` (the average rounded to 10 decimals, well inside the
core's tolerance), and a parent's totals are the sums (and mean) of the children it
carries, with ``notional_exposure`` = buy legs - sell legs (``_scenario_multi.py``).
The frames are shaped like the seed page's examples.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext
from typing import Any, Final

import msgspec

from reconciler_tread._scenario import Timeline

__all__ = [
    "EXCHANGES",
    "LEG_COUPLES",
    "PAIRS",
    "STRATEGIES",
    "Exchange",
    "Pair",
    "Single",
    "client_order_id",
    "dec",
    "exchange_account",
    "expect_single",
    "iso",
    "message",
    "new_single",
    "split",
    "times",
]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ENCODER: Final = msgspec.json.Encoder()


@dataclass(frozen=True)
class Pair:
    """A tradable pair as Tread.fi names it, with a realistic price and lot size."""

    name: str
    mid: Decimal
    tick: Decimal
    lot: Decimal

    @property
    def base(self) -> str:
        """The base token (``BTC:PERP`` of ``BTC:PERP-USDT``)."""
        return self.name.split("-")[0]

    @property
    def quote(self) -> str:
        """The quote token."""
        return self.name.split("-")[1]


#: Pairs for single orders, and the (perp, spot) couples multi-orders trade as legs.
PAIRS: Final = {
    p.name: p
    for p in (
        Pair("BTC:PERP-USDT", Decimal(118000), Decimal("0.1"), Decimal("0.001")),
        Pair("BTC-USDT", Decimal(117990), Decimal("0.01"), Decimal("0.00001")),
        Pair("ETH:PERP-USDT", Decimal(2980), Decimal("0.01"), Decimal("0.01")),
        Pair("ETH-USDT", Decimal("2979.5"), Decimal("0.01"), Decimal("0.0001")),
        Pair("SOL-USDT", Decimal("162.5"), Decimal("0.01"), Decimal("0.1")),
    )
}
LEG_COUPLES: Final = (("BTC:PERP-USDT", "BTC-USDT"), ("ETH:PERP-USDT", "ETH-USDT"))
#: Exchange accounts orders run on: (exchange, account-name suffix, taker fee rate).
EXCHANGES: Final = (
    ("Bybit", "bybit", Decimal("0.0002")),
    ("Binance", "binance", Decimal("0.001")),
    ("OKX", "okx", Decimal("0.0005")),
)
STRATEGIES: Final = ("TWAP", "VWAP", "Iceberg")


def dec(value: Decimal) -> str:
    """A Decimal as Tread.fi writes numbers: plain, no exponent, no trailing zeros."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def iso(us: int) -> str:
    """Epoch microseconds as Tread.fi's ISO-8601 timestamp."""
    return (_EPOCH + timedelta(microseconds=us)).isoformat(timespec="microseconds")


def message(order: dict[str, Any], update_type: str) -> str:
    """An ``order_update`` frame carrying ``order`` (compact JSON, like the venue)."""
    data = {"order_id": order["id"], "update_type": update_type, "order": order}
    return _ENCODER.encode({"type": "order_update", "data": data}).decode()


def split(total: Decimal, lot: Decimal, parts: int, rng: random.Random) -> list[Decimal]:
    """``total`` cut into ``parts`` positive multiples of ``lot`` (fewer if too small)."""
    units = int(total / lot)
    parts = max(1, min(parts, units))
    cuts = sorted(rng.sample(range(1, units), parts - 1)) if parts > 1 else []
    bounds = [0, *cuts, units]
    return [(bounds[i + 1] - bounds[i]) * lot for i in range(parts)]


Exchange = tuple[str, str, Decimal, str]


def exchange_account(account: str, rng: random.Random) -> Exchange:
    """An exchange account for an order: (exchange, account name, fee rate, account uuid)."""
    exchange, suffix, fee = rng.choice(EXCHANGES)
    name = f"{account}_{suffix}"
    # The same account name always gets the same id, as on the venue.
    ident = str(uuid.uuid5(uuid.NAMESPACE_URL, f"tread:{name}"))
    return exchange, name, fee, ident


class Single:
    """One Tread.fi order (top-level, or a child leg of a multi-order) and its fills."""

    def __init__(
        self,
        tl: Timeline,
        *,
        pair: Pair,
        side: str,
        target: Decimal,
        created_us: int,
        duration: int,
        client_id: str = "",
        parent_id: str | None = None,
        limit_price: Decimal | None = None,
        strategy: str = "TWAP",
        exchange: Exchange | None = None,
    ) -> None:
        self.id = tl.uid()
        self.pair, self.side, self.target = pair, side, target
        self.client_id, self.parent_id, self.limit_price = client_id, parent_id, limit_price
        self.strategy, self.duration = strategy, duration
        self.exchange, self.account_name, self.fee_rate, self.account_id = exchange or (
            exchange_account(tl.account, tl.rng)
        )
        self.created_us = self.updated_us = created_us
        self.status = "SCHEDULED"
        self.filled = Decimal(0)
        self.notional = Decimal(0)
        self.fees = Decimal(0)

    @property
    def done(self) -> bool:
        """Whether everything was filled."""
        return self.filled >= self.target

    def fill(self, qty: Decimal, price: Decimal) -> None:
        """Record an execution of ``qty`` (base units) at ``price``."""
        with localcontext() as ctx:
            ctx.prec = 60
            self.filled += qty
            self.notional += qty * price
            self.fees += qty * price * self.fee_rate

    def price(self, rng: random.Random) -> Decimal:
        """A fill price near the pair's mid, on its tick, never through the limit."""
        drift = Decimal(str(round(rng.uniform(-0.0015, 0.0015), 6)))
        px = (self.pair.mid * (1 + drift)).quantize(self.pair.tick)
        if self.limit_price is not None:
            px = min(px, self.limit_price) if self.side == "buy" else max(px, self.limit_price)
        return px

    def snapshot(self, **overrides: Any) -> dict[str, Any]:
        """The order object as the venue sends it now (``overrides`` replace fields)."""
        with localcontext() as ctx:
            ctx.prec = 60
            executed, notional = self.filled, self.notional
            avg = dec((notional / executed).quantize(Decimal("1e-10"))) if executed else ""
            pct = dec((100 * executed / self.target).quantize(Decimal("1e-10")))
            estimate = dec((self.target * self.pair.mid).quantize(Decimal("0.0001")))
        buy = self.side == "buy"
        base, quote = self.pair.base, self.pair.quote
        order: dict[str, Any] = {
            "id": self.id,
            "custom_order_id": self.client_id,
            "parent_order_id": self.parent_id,
            "notes": "",
            "pair": self.pair.name,
            "side": self.side,
            "exchanges": [self.exchange],
            "buy_token": base if buy else quote,
            "buy_token_amount": dec(self.target) if buy else None,
            "sell_token": quote if buy else base,
            "sell_token_amount": estimate if buy else dec(self.target),
            # executed_qty is in the sell token, executed_buy_qty in the buy token.
            "executed_qty": dec(notional) if buy else dec(executed),
            "executed_buy_qty": dec(executed) if buy else dec(notional),
            "average_executed_price": avg,
            "executed_notional": dec(notional),
            "target_order_qty": dec(self.target),
            "target_remaining_qty": dec(self.target - executed),
            "target_token": base,
            "target_executed_qty": dec(executed),
            "pct_filled": pct,
            "total_fee": dec(self.fees),
            "strategy": self.strategy,
            "super_strategy": None,
            "duration": self.duration,
            "accounts": [self.account_id],
            "account_names": [self.account_name],
            "engine_passiveness": "0.02",
            "schedule_discretion": "0.06",
            "pov_limit": None,
            "pov_target": None,
            "alpha_tilt": "0",
            "strategy_params": {"ool_pause": False, "max_clip_size": None},
            "user": "2",
            "status": self.status,
            "active": self.status in ("ACTIVE", "FINISHER"),
            "is_simple": False,
            "failure_reason": "",
            "limit_price": dec(self.limit_price) if self.limit_price is not None else "",
            "is_reverse_limit_price": False,
            "time_start": iso(self.created_us),
            "time_end": iso(self.created_us + self.duration * 1_000_000),
            "created_at": iso(self.created_us),
            "updated_at": iso(self.updated_us),
        }
        order.update(overrides)
        return order

    def touch(self, tl: Timeline, at: float) -> None:
        """The order changed at script time ``at``: its ``updated_at`` moves on."""
        self.updated_us = max(self.updated_us + 1, tl.venue_us(at))

    def frame(self, tl: Timeline, at: float, update_type: str, **overrides: Any) -> str:
        """Stamp the order with the venue time of ``at`` and build its message."""
        self.touch(tl, at)
        return message(self.snapshot(**overrides), update_type)


def new_single(
    tl: Timeline,
    at: float,
    *,
    length: float,
    duration: int | None = None,
    client_id: str | None = None,
    parent_id: str | None = None,
    pair: Pair | None = None,
    side: str | None = None,
) -> Single:
    """A fresh order created at ``at``; its ``time_end`` leaves room for ``length`` s of life."""
    rng = tl.rng
    pair = pair or PAIRS[rng.choice(("BTC:PERP-USDT", "ETH:PERP-USDT", "SOL-USDT", "BTC-USDT"))]
    side = side or rng.choice(("buy", "sell"))
    limit = None
    if parent_id is None and rng.random() < 0.3:
        factor = Decimal("1.003") if side == "buy" else Decimal("0.997")
        limit = (pair.mid * factor).quantize(pair.tick)
    if duration is None:
        # Algorithmic orders run for minutes; these finish early, well before time_end.
        duration = int(length) + rng.choice((30, 60, 120, 300))
    return Single(
        tl,
        pair=pair,
        side=side,
        target=pair.lot * rng.randint(20, 2000),
        created_us=tl.venue_us(at),
        duration=duration,
        client_id=client_id if client_id is not None else client_order_id(tl),
        parent_id=parent_id,
        limit_price=limit,
        strategy=rng.choice(STRATEGIES),
    )


def client_order_id(tl: Timeline) -> str:
    """A client order id as an execution system writes one."""
    return f"ems-{tl.uid()}"


def expect_single(tl: Timeline, at: float, order: Single, **changes: Any) -> None:
    """The expectation matching ``order`` (``changes`` alter it: ``quantity=...``)."""
    fields: dict[str, Any] = {
        "symbol": order.pair.name,
        "side": order.side,
        "quantity": order.target,
        "price": order.limit_price,
    }
    fields.update(changes)
    tl.expect(at, order.client_id, **fields)


def times(tl: Timeline, start: float, count: int) -> list[float]:
    """``count`` increasing message times after ``start``, 0.2-1.0 s apart."""
    out = []
    t = start
    for _ in range(count):
        t += tl.gap()
        out.append(t)
    return out
