"""Realistic venue frames for tests, shaped like the seeds' example payloads.

Every builder returns the raw frame text a venue would send, so tests exercise the real
parsers and the core together. Quantities are strings (Decimal-exact); defaults describe
a plain, consistent order, and keyword arguments override any field.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from reconciler import Alert, AlertCode, Reconciler, Severity

BASE_T = 1_752_147_100.0

# -- Tread.fi -----------------------------------------------------------------------


def tread_order(
    order_id: str,
    *,
    status: str = "ACTIVE",
    target: str = "1",
    executed: str = "0",
    side: str = "buy",
    avg: str = "118000",
    pair: str = "BTC:PERP-USDT",
    parent: str | None = None,
    custom_order_id: str = "",
    updated_at: str = "2025-07-15T01:21:45.499214+00:00",
    time_end: str = "2025-07-15T01:23:45.448162+00:00",
    fee_rate: str = "0.0002",
    **overrides: Any,
) -> dict[str, Any]:
    """A single (or child) Tread.fi order object whose numbers agree with each other."""
    tq, ex, px = Decimal(target), Decimal(executed), Decimal(avg)
    notional = px * ex
    base, quote = pair.split("-")
    order: dict[str, Any] = {
        "id": order_id,
        "custom_order_id": custom_order_id,
        "parent_order_id": parent,
        "pair": pair,
        "side": side,
        "buy_token": base if side == "buy" else quote,
        "sell_token": quote if side == "buy" else base,
        "executed_qty": str(notional) if side == "buy" else str(ex),
        "executed_buy_qty": str(ex) if side == "buy" else str(notional),
        "average_executed_price": str(px) if ex else "",
        "executed_notional": str(notional),
        "target_order_qty": str(tq),
        "target_remaining_qty": str(tq - ex),
        "target_token": base,
        "target_executed_qty": str(ex),
        "pct_filled": str(Decimal(100) * ex / tq),
        "total_fee": str(notional * Decimal(fee_rate)),
        "strategy": "TWAP",
        "account_names": ["test_bybit"],
        "status": status,
        "limit_price": "",
        "time_start": "2025-07-15T01:21:45.448162+00:00",
        "time_end": time_end,
        "created_at": "2025-07-15T01:21:45.481837+00:00",
        "updated_at": updated_at,
    }
    order.update(overrides)
    return order


def tread_frame(order: dict[str, Any], update_type: str = "order_fill_received") -> str:
    """An ``order_update`` message carrying ``order``."""
    return json.dumps(
        {
            "type": "order_update",
            "data": {"order_id": order["id"], "update_type": update_type, "order": order},
        }
    )


def tread_parent(
    parent_id: str,
    children: list[dict[str, Any]],
    *,
    status: str = "ACTIVE",
    update_type: str = "child_order_fill_received",
    updated_at: str = "2025-07-15T01:23:07.588700+00:00",
    **overrides: Any,
) -> str:
    """A multi-order message whose aggregates are computed from ``children`` (override to break)."""

    def d(child: dict[str, Any], key: str) -> Decimal:
        return Decimal(child[key])

    notional = sum((d(c, "executed_notional") for c in children), Decimal(0))
    fees = sum((d(c, "total_fee") for c in children), Decimal(0))
    pct = sum((d(c, "pct_filled") for c in children), Decimal(0)) / len(children)
    exposure = sum(
        (d(c, "executed_notional") * (1 if c["side"] == "buy" else -1) for c in children),
        Decimal(0),
    )
    order: dict[str, Any] = {
        "id": parent_id,
        "created_at": "2025-07-15T01:23:07.588678+00:00",
        "updated_at": updated_at,
        "time_start": "2025-07-15T01:23:07.567613+00:00",
        "duration": 60,
        "notional_exposure": str(exposure),
        "executed_notional": str(notional),
        "child_order_ids": [c["id"] for c in children],
        "account_names": ["test_bybit"],
        "strategy": "TWAP",
        "pct_filled": str(pct),
        "pairs": ",".join(c["pair"] for c in children),
        "status": status,
        "fee_notional": str(fees),
        "child_orders": children,
    }
    order.update(overrides)
    return tread_frame(order, update_type)


# -- BTSE futures --------------------------------------------------------------------


def btse_item(
    order_id: str,
    *,
    status: int = 2,
    size: int = 900,
    total: int = 0,
    filled: int = 0,
    remaining: int | None = None,
    current: int | None = None,
    ts: int = 1_752_147_101_805,
    tif: str = "GTC",
    cl: str = "",
    price: str = "111085.1",
    order_type: int = 76,
    side: str = "BUY",
    symbol: str = "BTC-PERP",
    **overrides: Any,
) -> dict[str, Any]:
    """One ``notificationApiV4`` data element; sizes consistent unless overridden."""
    cur = size if current is None else current
    item: dict[str, Any] = {
        "symbol": symbol,
        "orderID": order_id,
        "side": side,
        "orderType": order_type,
        "type": order_type,
        "price": float(price),
        "triggerPrice": 0,
        "status": status,
        "timestamp": ts,
        "avgFilledPrice": float(price) if total else 0,
        "clOrderID": cl,
        "postOnly": False,
        "maker": False,
        "positionId": f"{symbol}-USDT",
        "originalOrderSize": size,
        "currentOrderSize": cur,
        "filledSize": filled,
        "totalFilledSize": total,
        "remainingSize": cur - total if remaining is None else remaining,
        "time_in_force": tif,
    }
    item.update(overrides)
    return item


def btse_frame(*items: dict[str, Any]) -> str:
    """A ``notificationApiV4`` message."""
    return json.dumps({"topic": "notificationApiV4", "data": list(items)})


# -- Bybit inverse v2 ----------------------------------------------------------------


def bybit_order(
    order_id: str,
    *,
    status: str = "New",
    qty: int = 100,
    cum: int = 0,
    leaves: int | None = None,
    link: str = "",
    side: str = "Buy",
    symbol: str = "BTCUSD",
    order_type: str = "Limit",
    price: str = "30000",
    tif: str = "GoodTillCancel",
    **overrides: Any,
) -> dict[str, Any]:
    """One ``order`` topic element; ``leaves`` defaults to qty - cum (0 once terminal)."""
    terminal = status in ("Filled", "Cancelled", "Rejected")
    item: dict[str, Any] = {
        "order_id": order_id,
        "order_link_id": link,
        "symbol": symbol,
        "side": side,
        "order_type": order_type,
        "price": price,
        "qty": qty,
        "time_in_force": tif,
        "create_type": "CreateByUser",
        "cancel_type": "",
        "order_status": status,
        "leaves_qty": (0 if terminal else qty - cum) if leaves is None else leaves,
        "cum_exec_qty": cum,
        "cum_exec_value": "0",
        "cum_exec_fee": "0",
        "timestamp": "2020-01-14T14:09:31.778Z",
        "last_exec_price": price,
        "reduce_only": False,
        "close_on_trigger": False,
    }
    item.update(overrides)
    return item


def bybit_exec(
    exec_id: str,
    order_id: str,
    *,
    qty: int,
    order_qty: int = 100,
    leaves: int = 0,
    price: str = "30000",
    side: str = "Buy",
    symbol: str = "BTCUSD",
    exec_type: str = "Trade",
    **overrides: Any,
) -> dict[str, Any]:
    """One ``execution`` topic element."""
    item: dict[str, Any] = {
        "symbol": symbol,
        "side": side,
        "order_id": order_id,
        "exec_id": exec_id,
        "order_link_id": "",
        "price": price,
        "order_qty": order_qty,
        "exec_type": exec_type,
        "exec_qty": qty,
        "exec_fee": "0.00000001",
        "leaves_qty": leaves,
        "is_maker": False,
        "trade_time": "2020-01-14T14:07:23.629Z",
    }
    item.update(overrides)
    return item


def bybit_frame(topic: str, *items: dict[str, Any]) -> str:
    """A private-topic message."""
    return json.dumps({"topic": topic, "data": list(items)})


# -- Clear Street --------------------------------------------------------------------


def cs_order(
    order_id: str,
    *,
    version: int,
    status: str = "new",
    quantity: str = "100",
    filled: str = "0",
    avg: float | None = None,
    reference_id: str = "",
    side: str = "buy",
    symbol: str = "AAPL",
    state: str | None = None,
    reason: str = "execution-report",
    tif: str = "day",
    price: str = "171.25",
    **overrides: Any,
) -> dict[str, Any]:
    """An order object as in ``order-update``."""
    terminal = status in ("filled", "canceled", "rejected", "expired", "done-for-day")
    data: dict[str, Any] = {
        "order_id": order_id,
        "reference_id": reference_id,
        "version": version,
        "created_at": 1_711_028_700_000,
        "updated_at": 1_711_028_700_000 + version * 1000,
        "account_id": "100000",
        "symbol": symbol,
        "side": side,
        "order_type": "limit",
        "quantity": quantity,
        "filled_quantity": filled,
        "price": price,
        "average_price": avg if avg is not None else (float(price) if filled != "0" else None),
        "time_in_force": tif,
        "order_update_reason": reason,
        "state": state or ("closed" if terminal else "open"),
        "status": status,
        "text": "",
    }
    data.update(overrides)
    return data


def cs_trade(
    trade_id: str,
    order_id: str,
    *,
    quantity: str,
    price: str = "171.25",
    side: str = "buy",
    symbol: str = "AAPL",
) -> dict[str, Any]:
    """A trade object as in ``trade-notice``."""
    return {
        "trade_id": trade_id,
        "order_id": order_id,
        "symbol": symbol,
        "side": side,
        "quantity": quantity,
        "price": price,
        "running_position": quantity,
        "created_at": 1_711_028_712_345,
    }


def cs_frame(
    kind: str,
    data: dict[str, Any] | None = None,
    *,
    seq: int | None = None,
    ts: int = 1_711_028_712_352,
) -> str:
    """An activity-channel envelope (sequenced when ``seq`` is given)."""
    payload: dict[str, Any] = {"type": kind}
    if data is not None:
        payload["data"] = data
    env: dict[str, Any] = {"timestamp": ts, "payload": payload}
    if seq is not None:
        env["sequence"] = seq
    return json.dumps(env)


# -- running and asserting -----------------------------------------------------------


class Run:
    """A Reconciler with a clock: feed frames one second apart, collect every alert."""

    def __init__(self, reconciler: Reconciler | None = None, t: float = BASE_T) -> None:
        self.rec = reconciler or Reconciler()
        self.t = t
        self.alerts: list[Alert] = []

    def feed(
        self, venue: str, frame: str, *, account: str = "main", dt: float = 1.0
    ) -> list[Alert]:
        """Feed one frame ``dt`` seconds after the previous one."""
        self.t += dt
        new = self.rec.feed(venue, account, frame, self.t)
        self.alerts.extend(new)
        return new

    def wait(self, seconds: float) -> list[Alert]:
        """Let time pass (settle windows, deadlines)."""
        self.t += seconds
        new = self.rec.advance(self.t)
        self.alerts.extend(new)
        return new

    def codes(self) -> list[AlertCode]:
        """The codes of every alert so far, in order."""
        return [a.code for a in self.alerts]

    def of(self, code: AlertCode) -> list[Alert]:
        """The alerts with ``code``."""
        return [a for a in self.alerts if a.code is code]

    def serious(self) -> list[Alert]:
        """Warning and critical alerts (benign traffic must produce none)."""
        return [a for a in self.alerts if a.severity is not Severity.INFO]


# -- one-line frames and assertions shared by the alert tests ------------------------

_TREAD_T0 = datetime(2025, 7, 15, 1, 21, 45, 499214, tzinfo=UTC)


def tread_at(seconds: float) -> str:
    """A Tread.fi timestamp ``seconds`` after the builders' default ``updated_at``."""
    return (_TREAD_T0 + timedelta(seconds=seconds)).isoformat()


def cs_up(seq: int, order_id: str, **fields: Any) -> str:
    """A sequenced Clear Street ``order-update``."""
    return cs_frame("order-update", cs_order(order_id, **fields), seq=seq)


def cs_tr(seq: int, trade_id: str, order_id: str, quantity: str) -> str:
    """A sequenced Clear Street ``trade-notice``."""
    return cs_frame("trade-notice", cs_trade(trade_id, order_id, quantity=quantity), seq=seq)


def by_order(order_id: str, **fields: Any) -> str:
    """A Bybit ``order`` frame with one element."""
    return bybit_frame("order", bybit_order(order_id, **fields))


def by_exec(exec_id: str, order_id: str, qty: int, **fields: Any) -> str:
    """A Bybit ``execution`` frame with one element."""
    return bybit_frame("execution", bybit_exec(exec_id, order_id, qty=qty, **fields))


def one(run: Run, code: AlertCode) -> Alert:
    """The single alert with ``code`` (fails if there are none or several)."""
    found = run.of(code)
    assert len(found) == 1, [(a.code, a.evidence) for a in run.alerts]
    return found[0]


def quiet(run: Run, seconds: float = 30) -> None:
    """After ``seconds``, benign traffic has produced no warning or critical alert."""
    run.wait(seconds)
    assert run.serious() == [], [(a.code, a.evidence) for a in run.serious()]
