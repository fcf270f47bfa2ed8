"""Tread.fi multi-orders for the simulator: a parent carrying its legs in every message.

The parent's totals are computed from the children it carries in that very message:
``executed_notional`` and ``fee_notional`` are their sums, ``pct_filled`` their mean,
``notional_exposure`` buy legs - sell legs, ``child_order_ids`` their ids.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from decimal import Decimal, localcontext
from typing import Any

from reconciler_tread._scenario import Timeline
from reconciler_tread._scenario_orders import (
    LEG_COUPLES,
    PAIRS,
    Single,
    client_order_id,
    dec,
    exchange_account,
    iso,
    message,
    split,
)

__all__ = [
    "Multi",
    "advance_leg",
    "expect_multi",
    "fill_leg",
    "fill_rounds",
    "new_multi",
    "start_multi",
]


class Multi:
    """A Tread.fi multi-order: a parent whose legs are :class:`Single` children.

    ``legs`` are the children created so far (the parent carries exactly those);
    ``pairs`` is fixed when the multi-order is placed.
    """

    def __init__(
        self,
        tl: Timeline,
        *,
        client_id: str,
        created_us: int,
        duration: int,
        strategy: str,
        pairs: str,
        account_name: str,
    ) -> None:
        self.id = tl.uid()
        self.client_id, self.duration, self.strategy = client_id, duration, strategy
        self.pairs, self.account_name = pairs, account_name
        self.created_us = self.updated_us = created_us
        self.status = "ACTIVE"
        self.legs: list[Single] = []

    def snapshot(
        self, children: Sequence[dict[str, Any]] | None = None, **overrides: Any
    ) -> dict[str, Any]:
        """The parent carrying ``children`` (default: every leg now), totals computed from them."""
        kids = [leg.snapshot() for leg in self.legs] if children is None else list(children)
        with localcontext() as ctx:
            ctx.prec = 60
            notional = sum((Decimal(c["executed_notional"]) for c in kids), Decimal(0))
            fees = sum((Decimal(c["total_fee"]) for c in kids), Decimal(0))
            pcts = [Decimal(c["pct_filled"]) for c in kids]
            pct = sum(pcts, Decimal(0)) / len(pcts) if pcts else Decimal(0)
            exposure = sum(
                (Decimal(c["executed_notional"]) * (1 if c["side"] == "buy" else -1) for c in kids),
                Decimal(0),
            )
        order: dict[str, Any] = {
            "id": self.id,
            "custom_order_id": self.client_id,
            "created_at": iso(self.created_us),
            "updated_at": iso(self.updated_us),
            "time_start": iso(self.created_us),
            "duration": self.duration,
            "exposure_tolerance": "0.1",
            "notional_exposure": dec(exposure),
            "executed_notional": dec(notional),
            "child_order_ids": [c["id"] for c in kids],
            # As in the seed: a parent's ``accounts`` holds names, a child's holds ids.
            "accounts": [self.account_name],
            "strategy": self.strategy,
            "strategy_params": {"max_clip_size": 10000},
            "engine_passiveness": "0.02",
            "schedule_discretion": "0.06",
            "alpha_tilt": "0",
            "limit_price_spread": None,
            "failure_reason": "",
            "pct_filled": dec(pct.quantize(Decimal("1e-10"))),
            "account_names": [self.account_name],
            "pairs": self.pairs,
            "status": self.status,
            "is_active": self.status == "ACTIVE",
            "is_paused": self.status == "PAUSED",
            "fee_notional": dec(fees),
            "order_condition": "",
            "child_orders": kids,
        }
        order.update(overrides)
        return order

    def frame(
        self,
        tl: Timeline,
        at: float,
        update_type: str,
        children: Sequence[dict[str, Any]] | None = None,
        **overrides: Any,
    ) -> str:
        """Stamp the parent with the venue time of ``at`` and build its message."""
        self.updated_us = max(self.updated_us + 1, tl.venue_us(at))
        return message(self.snapshot(children, **overrides), update_type)


def new_multi(tl: Timeline, at: float, *, length: float, client_id: str | None = None) -> Multi:
    """A fresh two-leg multi-order (a perp and its spot on opposite sides, equal targets)."""
    rng = tl.rng
    perp, spot = (PAIRS[name] for name in rng.choice(LEG_COUPLES))
    exchange = exchange_account(tl.account, rng)
    multi = Multi(
        tl,
        client_id=client_id if client_id is not None else client_order_id(tl),
        created_us=tl.venue_us(at),
        duration=int(length) + rng.choice((60, 120, 300)),
        strategy=rng.choice(("TWAP", "VWAP")),
        pairs=f"{perp.name},{spot.name}",
        account_name=exchange[1],
    )
    first = rng.choice(("buy", "sell"))
    target = perp.lot * rng.randint(10, 300)
    for pair, side in ((perp, first), (spot, "sell" if first == "buy" else "buy")):
        leg = Single(
            tl,
            pair=pair,
            side=side,
            target=target,
            created_us=multi.created_us,
            duration=multi.duration + 13,  # the seed's children outlive their parent a little
            parent_id=multi.id,
            strategy=multi.strategy,
            exchange=exchange,
        )
        leg.status = "ACTIVE"
        multi.legs.append(leg)
    return multi


def expect_multi(tl: Timeline, at: float, multi: Multi, **changes: Any) -> None:
    """The parent's expectation, registered under its ``custom_order_id``.

    A parent reports its pairs but no side or quantity (it spans several), so the first
    leg's side and quantity stand in for them: the core compares only what the venue
    reports, here the symbol (``pairs``).
    """
    leg = multi.legs[0]
    fields: dict[str, Any] = {"symbol": multi.pairs, "side": leg.side, "quantity": leg.target}
    fields.update(changes)
    tl.expect(at, multi.client_id, **fields)


def start_multi(tl: Timeline, ts: Iterator[float], **kw: Any) -> Multi:
    """Create a fresh multi-order and announce both legs, at the next times of ``ts``."""
    at = next(ts)
    multi = new_multi(tl, at, length=20.0, **kw)
    legs = multi.legs
    multi.legs = []
    tl.send(at, multi.frame(tl, at, "order_created"))
    for leg in legs:
        at = next(ts)
        multi.legs.append(leg)
        leg.touch(tl, at)
        tl.send(at, multi.frame(tl, at, "child_order_created"))
    return multi


def fill_rounds(multi: Multi, rounds: int, rng: random.Random) -> list[tuple[Single, Decimal]]:
    """The legs' fills, taking turns: every leg is filled completely by the last one."""
    portions = [split(leg.target, leg.pair.lot, rounds, rng) for leg in multi.legs]
    return [
        (leg, parts[n])
        for n in range(rounds)
        for leg, parts in zip(multi.legs, portions, strict=True)
        if n < len(parts)
    ]


def advance_leg(tl: Timeline, leg: Single, qty: Decimal, at: float) -> str:
    """``leg`` fills ``qty`` at ``at``; the update type that says so."""
    leg.fill(qty, leg.price(tl.rng))
    kind = "child_order_fill_received"
    if leg.done:
        leg.status, kind = "COMPLETE", "child_order_completed"
    leg.touch(tl, at)
    return kind


def fill_leg(
    tl: Timeline, multi: Multi, leg: Single, qty: Decimal, at: float, **overrides: Any
) -> str:
    """``leg`` fills ``qty``; the parent's message saying so (``overrides`` alter the parent)."""
    return multi.frame(tl, at, advance_leg(tl, leg, qty, at), **overrides)
