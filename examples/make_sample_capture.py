"""Write ``examples/sample-capture.jsonl``: about two minutes of traffic from four venues.

Run it from anywhere with the project's interpreter (``--check`` then replays the
capture and compares the alerts with the faults listed in :data:`INJECTED`)::

    python examples/make_sample_capture.py [--check]

The output is deterministic (no randomness, no clock): the same script always writes the
same bytes. The capture holds, in time order:

1. Connections (account ``main`` on every venue, ``hedge`` on BTSE and Bybit), then every
   message the four venue documents show a venue sending, verbatim
   (``tests/fixtures/<venue>/``), in the documents' order; they produce no warning or
   critical alert.
   Clear Street's examples carry sequence numbers 123 and 124, so its subscription
   first replays the day's messages 1-122 (a morning of fills), then
   ``replay-complete``, then the examples arrive live.
2. Clean flow: orders created, partially filled, filled and canceled on every venue; the
   Tread.fi multi-order of the seed page with its two children progressing to COMPLETE;
   Clear Street orders sequenced with their trade-notices; Bybit orders with their
   executions; BTSE updates including an identical re-send (dropped silently); Bybit
   pings; clock ticks; a Clear Street reconnect that replays the day from sequence 1
   (dropped silently, except the two messages the live stream had lost).
3. Three expectations from the execution system: one matched, one mismatched, one never
   acknowledged by the venue.
4. Faults a trader would recognise, listed in :data:`INJECTED` with the alert each must
   produce. ``reconciler replay`` on the capture must report exactly these.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from reconciler import Reconciler
from reconciler.capture import LineError, read_capture, replay

HERE: Final = Path(__file__).resolve().parent
FIXTURES: Final = HERE.parent / "tests" / "fixtures"
OUTPUT: Final = HERE / "sample-capture.jsonl"

#: Receive time of the capture's start, epoch milliseconds (2025-07-10 11:31:40 UTC): the
#: BTSE seed example, whose venue timestamp is 1752147101805, is received 1.805 s later.
T0_MS: Final = 1_752_147_100_000
#: Clear Street's send clock: the seed's envelope timestamp (2024-03-21 23:07:27 in New
#: York, the venue's trading day) for the message received 3 s into the capture.
CS_T0_MS: Final = 1_711_076_847_030 - 3_000

#: The Clear Street sequence numbers lost on the live stream (the reconnect's replay has them).
GAP: Final = (137, 138)

#: Every alert the capture must produce: (code, venue, order id or None, what happened).
# fmt: off
INJECTED: Final[tuple[tuple[str, str, str | None, str], ...]] = (
    ("ORDER_REJECTED", "bybit", "b7d1e0c4-5f3a-4d8e-9c21-6a0f4e2b9d13",
     "info: the hedge account's oversized sell is rejected by Bybit"),
    ("EXPECTATION_MISMATCH", "bybit", "0e6a7c3d-2b94-4f1e-8d57-c9a1b2e3f405",
     "the execution system sent 200 contracts; Bybit acknowledges 2000"),
    ("FILL_AFTER_TERMINAL", "bybit", "5c2f9a18-7e43-4b6d-a0c9-3d8e1f2a7b64",
     "a 100-contract execution arrives after the order was reported Cancelled"),
    ("EXECUTION_ORDER_MISMATCH", "bybit", "5c2f9a18-7e43-4b6d-a0c9-3d8e1f2a7b64",
     "the same late execution: executions now exceed the reported cumulative fill"),
    ("OUT_OF_ORDER", "btse", "6a1d2c3b-4e5f-4a7b-8c9d-0e1f2a3b4c5d",
     "info: BTSE's insert notice arrives after the partial fill that followed it"),
    ("MALFORMED_MESSAGE", "bybit", None, "a Bybit order frame cut off mid-object"),
    ("SEQUENCE_GAP", "clearstreet", None,
     "Clear Street's live stream loses sequence numbers 137-138"),
    ("UNACKNOWLEDGED_ORDER", "clearstreet", "ema-0003",
     "an NVDA order the execution system sent is never reported by Clear Street"),
    ("FILL_REGRESSION", "btse", "f4e3d2c1-b0a9-4876-9543-210fedcba987",
     "BTSE reports 200 filled after it had reported 300"),
    ("FILL_GAP", "btse", "2b7e1c9d-8a6f-4e35-b2d4-7c1a9e8f3b50",
     "BTSE's partial-fill notice for 300 contracts (200 -> 500) is lost"),
    ("PARENT_TERMINAL_WITH_ACTIVE_CHILD", "tread", "7f3c9d2e-1a4b-4c8d-9e6f-5a2b3c4d5e6f",
     "Tread.fi reports the ETH multi-order COMPLETE while its sell leg still works"),
)
# fmt: on

Json = dict[str, Any]


# -- the capture ---------------------------------------------------------------------


class Capture:
    """Capture records, kept with their receive time in ms and written in time order."""

    def __init__(self) -> None:
        self._records: list[tuple[int, int, Json]] = []

    def _add(self, ms: int, record: Json) -> None:
        self._records.append((T0_MS + ms, len(self._records), record))

    def frame(self, ms: int, venue: str, account: str, text: str) -> None:
        """A frame received ``ms`` milliseconds after the start of the capture."""
        self._add(ms, {"venue": venue, "account": account, "frame": text})

    def connection(self, ms: int, venue: str, account: str, event: str) -> None:
        """A ``connected`` / ``disconnected`` event."""
        self._add(ms, {"venue": venue, "account": account, "event": event})

    def expect(
        self,
        ms: int,
        venue: str,
        account: str,
        client_order_id: str,
        symbol: str,
        side: str,
        quantity: str,
        price: str | None = None,
    ) -> None:
        """An order the execution system says it sent."""
        # fmt: off
        record: Json = {
            "event": "expect", "venue": venue, "account": account,
            "client_order_id": client_order_id, "symbol": symbol, "side": side,
            "quantity": quantity,
        }
        # fmt: on
        if price is not None:
            record["price"] = price
        self._add(ms, record)

    def tick(self, ms: int) -> None:
        """Time passing, nothing else."""
        self._add(ms, {"event": "tick"})

    def lines(self) -> list[str]:
        """The capture's lines, sorted by time (ties keep the order they were added in)."""
        out = []
        for t_ms, _, record in sorted(self._records, key=lambda r: (r[0], r[1])):
            out.append(json.dumps({"t": t_ms / 1000, **record}, ensure_ascii=False))
        return out


# -- helpers -------------------------------------------------------------------------


def minify(text: str) -> str:
    """JSON text without the whitespace between tokens; every value kept exactly as written."""
    out: list[str] = []
    in_string = escaped = False
    for ch in text:
        if in_string:
            out.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
            out.append(ch)
        elif not ch.isspace():
            out.append(ch)
    return "".join(out)


def fixture(venue: str, name: str) -> str:
    """A seed example payload, as a venue would send it (one line)."""
    return minify((FIXTURES / venue / f"{name}.json").read_text(encoding="utf-8"))


def compact(obj: Json) -> str:
    """A frame the way the venues send theirs: compact JSON."""
    return json.dumps(obj, separators=(",", ":"))


def dec(value: Decimal) -> str:
    """A Decimal as a plain venue number string (no exponent, no trailing zeros)."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def iso_after(iso: str, seconds: float) -> str:
    """An ISO-8601 time ``seconds`` after ``iso``, in Tread.fi's format."""
    return (datetime.fromisoformat(iso) + timedelta(seconds=seconds)).isoformat()


def bybit_time(ms: int) -> str:
    """Bybit's ISO time (milliseconds, ``Z``) for a capture offset."""
    moment = datetime.fromtimestamp((T0_MS + ms) / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# -- Tread.fi ------------------------------------------------------------------------


def tread_message(order: Json, update_type: str) -> str:
    """An ``order_update`` frame."""
    return compact(
        {
            "type": "order_update",
            "data": {"order_id": order["id"], "update_type": update_type, "order": order},
        }
    )


def tread_fill(
    order: Json, qty: str, price: str, *, fee_rate: str, updated_at: str, status: str = "ACTIVE"
) -> Json:
    """A copy of a Tread.fi order after a fill of ``qty`` at ``price`` (all numbers agree)."""
    o = dict(order)
    executed = Decimal(o["target_executed_qty"]) + Decimal(qty)
    notional = Decimal(o["executed_notional"]) + Decimal(qty) * Decimal(price)
    target = Decimal(o["target_order_qty"])
    avg = (notional / executed).quantize(Decimal("1e-10"))
    o["executed_notional"] = dec(notional)
    o["average_executed_price"] = dec(avg)
    if o["side"] == "buy":  # executed_qty is in the sell token, executed_buy_qty in the buy token
        o["executed_qty"], o["executed_buy_qty"] = dec(notional), dec(executed)
    else:
        o["executed_qty"], o["executed_buy_qty"] = dec(executed), dec(notional)
    o["target_executed_qty"] = dec(executed)
    o["target_remaining_qty"] = dec(target - executed)
    o["pct_filled"] = dec(Decimal(100) * executed / target)
    fee = Decimal(o["total_fee"]) + Decimal(qty) * Decimal(price) * Decimal(fee_rate)
    o["total_fee"] = dec(fee)
    o["status"] = status
    o["active"] = status == "ACTIVE"
    o["updated_at"] = updated_at
    return o


def tread_parent(parent: Json, children: list[Json], *, status: str, updated_at: str) -> Json:
    """A copy of a multi-order carrying ``children``, its aggregates computed from them."""
    p = dict(parent)
    notional = sum((Decimal(c["executed_notional"]) for c in children), Decimal(0))
    fees = sum((Decimal(c["total_fee"]) for c in children), Decimal(0))
    pct = sum((Decimal(c["pct_filled"]) for c in children), Decimal(0)) / len(children)
    exposure = sum(
        (Decimal(c["executed_notional"]) * (1 if c["side"] == "buy" else -1) for c in children),
        Decimal(0),
    )
    p.update(
        executed_notional=dec(notional),
        fee_notional=dec(fees),
        pct_filled=dec(pct),
        notional_exposure=dec(exposure),
        status=status,
        updated_at=updated_at,
        is_active=status == "ACTIVE",
        child_orders=children,
        child_order_ids=[c["id"] for c in children],
    )
    return p


def tread_new_child(
    order_id: str, parent_id: str, pair: str, side: str, target: str, created: str
) -> Json:
    """A fresh TWAP child leg, shaped like the seed page's children."""
    base, quote = pair.split("-")
    # fmt: off
    return {
        "id": order_id, "custom_order_id": "", "parent_order_id": parent_id, "notes": "",
        "pair": pair, "side": side, "exchanges": ["Bybit"],
        "buy_token": base if side == "buy" else quote,
        "buy_token_amount": target if side == "buy" else None,
        "sell_token": quote if side == "buy" else base,
        "sell_token_amount": None if side == "buy" else target, "executed_qty": "0",
        "executed_buy_qty": "0", "average_executed_price": "", "executed_notional": "0",
        "target_order_qty": target, "target_remaining_qty": target, "target_token": base,
        "target_executed_qty": "0", "pct_filled": "0", "total_fee": "0", "strategy": "TWAP",
        "super_strategy": None, "duration": 300,
        "accounts": ["f574fe0f-f188-47d0-a348-9ea8fefb9d37"], "account_names": ["test_bybit"],
        "user": "2", "status": "ACTIVE", "active": True, "is_simple": False, "failure_reason": "",
        "limit_price": "", "is_reverse_limit_price": False, "time_start": created,
        "time_end": iso_after(created, 300), "created_at": created, "updated_at": created,
    }
    # fmt: on


def tread_traffic(cap: Capture) -> None:
    """The seed page's three payloads, their orders run to COMPLETE, and a second multi-order."""
    single = json.loads(fixture("tread", "single_order_fill_received"))["data"]["order"]
    activated = json.loads(fixture("tread", "multi_order_activated"))["data"]["order"]
    parent = json.loads(fixture("tread", "multi_order_child_fill_received"))["data"]["order"]
    cap.frame(1000, "tread", "main", fixture("tread", "single_order_fill_received"))
    cap.frame(2500, "tread", "main", fixture("tread", "multi_order_activated"))
    cap.frame(4000, "tread", "main", fixture("tread", "multi_order_child_fill_received"))
    assert activated["id"] == parent["id"]

    # The VWAP single order: 7.9% filled in the seed, COMPLETE 39 s later (before time_end).
    at = single["updated_at"]
    order = single
    for ms, qty, price, status in (
        (14_000, "0.271", "118850.5", "ACTIVE"),
        (27_000, "0.36", "118861.2", "ACTIVE"),
        (40_000, "0.29", "118858.9", "COMPLETE"),
    ):
        order = tread_fill(
            order,
            qty,
            price,
            fee_rate="0.00036",
            updated_at=iso_after(at, (ms - 1000) / 1000),
            status=status,
        )
        cap.frame(ms, "tread", "main", tread_message(order, "order_fill_received"))

    # The seed's TWAP multi-order: both legs fill to 100%, then the parent is COMPLETE.
    buy, sell = parent["child_orders"]
    p_at, c_at = parent["updated_at"], buy["updated_at"]
    for ms, buy_fill, sell_fill, status in (
        (17_000, ("0.39", "118805.3"), ("0.376664", "118790.4"), "ACTIVE"),
        (31_000, ("0.55", "118812.6"), ("0.3", "118801.7"), "ACTIVE"),
        (45_000, None, ("0.2", "118809.9"), "COMPLETE"),
    ):
        since = (ms - 2500) / 1000
        if buy_fill is not None:
            done = Decimal(buy["target_executed_qty"]) + Decimal(buy_fill[0]) == 1
            buy = tread_fill(
                buy,
                *buy_fill,
                fee_rate="0.0002",
                updated_at=iso_after(c_at, since),
                status="COMPLETE" if done else "ACTIVE",
            )
        done = Decimal(sell["target_executed_qty"]) + Decimal(sell_fill[0]) == 1
        sell = tread_fill(
            sell,
            *sell_fill,
            fee_rate="0.001",
            updated_at=iso_after(c_at, since),
            status="COMPLETE" if done else "ACTIVE",
        )
        msg = tread_parent(parent, [buy, sell], status=status, updated_at=iso_after(p_at, since))
        cap.frame(ms, "tread", "main", tread_message(msg, "child_order_fill_received"))

    # Fault: an ETH TWAP multi-order reported COMPLETE while its sell leg is still working.
    pid = "7f3c9d2e-1a4b-4c8d-9e6f-5a2b3c4d5e6f"
    start = "2025-07-15T01:26:02.114520+00:00"
    eth_buy = tread_new_child(
        "a1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9",
        pid,
        "ETH:PERP-USDT",
        "buy",
        "10",
        iso_after(start, 0.13),
    )
    eth_sell = tread_new_child(
        "c9b8a7f6-e5d4-4c3b-a291-80f7e6d5c4b3",
        pid,
        "ETH-USDT",
        "sell",
        "10",
        iso_after(start, 0.29),
    )
    eth_parent: Json = {
        "id": pid,
        "created_at": start,
        "updated_at": start,
        "time_start": start,
        "duration": 300,
        "exposure_tolerance": "0.1",
        "accounts": ["test_bybit"],
        "strategy": "TWAP",
        "account_names": ["test_bybit"],
        "pairs": "ETH:PERP-USDT,ETH-USDT",
        "is_paused": False,
        "order_condition": "",
    }
    msg = tread_parent(eth_parent, [eth_buy, eth_sell], status="ACTIVE", updated_at=start)
    cap.frame(50_000, "tread", "main", tread_message(msg, "order_activated"))
    eth_buy = tread_fill(
        eth_buy,
        "10",
        "2981.35",
        fee_rate="0.0002",
        updated_at=iso_after(start, 12),
        status="COMPLETE",
    )
    eth_sell = tread_fill(
        eth_sell, "6", "2980.9", fee_rate="0.001", updated_at=iso_after(start, 12)
    )
    msg = tread_parent(
        eth_parent, [eth_buy, eth_sell], status="ACTIVE", updated_at=iso_after(start, 12)
    )
    cap.frame(62_000, "tread", "main", tread_message(msg, "child_order_fill_received"))
    msg = tread_parent(
        eth_parent, [eth_buy, eth_sell], status="COMPLETE", updated_at=iso_after(start, 25)
    )
    cap.frame(75_000, "tread", "main", tread_message(msg, "child_order_fill_received"))


# -- BTSE futures --------------------------------------------------------------------


class BtseOrder:
    """One BTSE futures order; each call to :meth:`notice` is a ``notificationApiV4`` frame."""

    def __init__(
        self,
        order_id: str,
        side: str,
        size: int,
        price: str,
        *,
        cl: str = "",
        symbol: str = "BTC-PERP",
    ) -> None:
        self.order_id, self.side, self.size, self.price = order_id, side, size, price
        self.cl, self.symbol = cl, symbol
        self.total = 0
        self.value = Decimal(0)

    def notice(
        self,
        ms: int,
        status: int,
        *,
        filled: int = 0,
        fill_price: str | None = None,
        total: int | None = None,
    ) -> str:
        """The notification sent ``ms`` into the capture (venue timestamp 3 ms earlier)."""
        if total is None:
            self.total += filled
            self.value += filled * Decimal(fill_price or self.price)
            total = self.total
        avg = (self.value / self.total).quantize(Decimal("0.1")) if self.total else Decimal(0)
        remaining = 0 if status == 4 else self.size - total
        # fmt: off
        item: Json = {
            "symbol": self.symbol, "orderID": self.order_id, "side": self.side, "orderType": 76,
            "type": 76, "price": float(self.price), "triggerPrice": 0, "status": status,
            "timestamp": T0_MS + ms - 3, "avgFilledPrice": float(avg), "clOrderID": self.cl,
            "postOnly": False, "maker": False, "positionId": f"{self.symbol}-USDT",
            "originalOrderSize": self.size, "currentOrderSize": self.size, "filledSize": filled,
            "totalFilledSize": total, "remainingSize": remaining, "time_in_force": "GTC",
        }
        # fmt: on
        return compact({"topic": "notificationApiV4", "data": [item]})


def btse_traffic(cap: Capture) -> None:
    """Logins, the seed's example, clean orders on two accounts, and three faults."""
    for account, ms in (("main", 210), ("hedge", 230)):
        cap.frame(ms, "btse", account, fixture("btse", "login_ack"))
        cap.frame(ms + 210, "btse", account, fixture("btse", "subscribe_ack"))
    cap.frame(1805, "btse", "main", fixture("btse", "notification_fully_matched"))
    for ms in (15_000, 30_000, 45_000, 60_000, 75_000, 90_000, 105_000):
        for account in ("main", "hedge"):
            cap.frame(ms + 120, "btse", account, "pong")

    # Expected and matched: a limit buy of 1000 contracts, filled in three notices.
    cap.expect(5000, "btse", "main", "ema-0001", "BTC-PERP", "buy", "1000", "111050.0")
    b1 = BtseOrder("d3b0c9e2-7a14-4f6b-9e8d-2c5a1f0b3e77", "BUY", 1000, "111050.0", cl="ema-0001")
    cap.frame(5312, "btse", "main", b1.notice(5312, 2))
    partial = b1.notice(9104, 5, filled=300, fill_price="111049.5")
    cap.frame(9104, "btse", "main", partial)
    cap.frame(9611, "btse", "main", partial)  # an identical re-send: dropped silently
    cap.frame(13_402, "btse", "main", b1.notice(13_402, 5, filled=200, fill_price="111050.0"))
    cap.frame(20_706, "btse", "main", b1.notice(20_706, 4, filled=500, fill_price="111048.0"))

    # A limit sell on the hedge account, partially filled, then canceled.
    b2 = BtseOrder("9c8b7a6f-5e4d-4c3b-a2f1-0e9d8c7b6a54", "SELL", 400, "111200.0")
    cap.frame(7911, "btse", "hedge", b2.notice(7911, 2))
    cap.frame(15_233, "btse", "hedge", b2.notice(15_233, 5, filled=150))
    cap.frame(29_517, "btse", "hedge", b2.notice(29_517, 6))

    # Info: the insert notice (older timestamp) arrives after the first partial fill.
    b5 = BtseOrder("6a1d2c3b-4e5f-4a7b-8c9d-0e1f2a3b4c5d", "BUY", 200, "110900.0")
    inserted = b5.notice(32_850, 2)
    cap.frame(33_004, "btse", "hedge", b5.notice(33_001, 5, filled=80))
    cap.frame(33_212, "btse", "hedge", inserted)
    cap.frame(48_090, "btse", "hedge", b5.notice(48_090, 4, filled=120))

    # Fault: the cumulative fill goes back from 300 to 200 in a newer notice.
    b4 = BtseOrder("f4e3d2c1-b0a9-4876-9543-210fedcba987", "SELL", 1000, "111300.0")
    cap.frame(36_020, "btse", "hedge", b4.notice(36_020, 2))
    cap.frame(38_514, "btse", "hedge", b4.notice(38_514, 5, filled=200))
    cap.frame(41_008, "btse", "hedge", b4.notice(41_008, 5, filled=100))
    cap.frame(43_011, "btse", "hedge", b4.notice(43_011, 5, filled=200, total=200))
    cap.frame(47_230, "btse", "hedge", b4.notice(47_230, 5, filled=100))
    cap.frame(60_142, "btse", "hedge", b4.notice(60_142, 6))

    # Fault: the partial-fill notice taking the order from 200 to 500 never arrives.
    b3 = BtseOrder("2b7e1c9d-8a6f-4e35-b2d4-7c1a9e8f3b50", "BUY", 1000, "111020.0")
    cap.frame(52_003, "btse", "main", b3.notice(52_003, 2))
    cap.frame(55_118, "btse", "main", b3.notice(55_118, 5, filled=200))
    b3.notice(57_020, 5, filled=300)  # lost on the way
    cap.frame(59_341, "btse", "main", b3.notice(59_341, 5, filled=100))
    cap.frame(66_452, "btse", "main", b3.notice(66_452, 4, filled=400))


# -- Bybit inverse v2 ----------------------------------------------------------------


class BybitOrder:
    """One Bybit inverse order on the ``order`` topic, with its ``execution`` records."""

    def __init__(
        self,
        order_id: str,
        side: str,
        qty: int,
        price: str,
        created_ms: int,
        *,
        link: str = "",
        symbol: str = "BTCUSD",
    ) -> None:
        self.order_id, self.side, self.qty, self.price = order_id, side, qty, price
        self.link, self.symbol, self.created = link, symbol, bybit_time(created_ms)
        self.cum = 0
        self.value = Decimal(0)
        self.fee = Decimal(0)

    def report(self, status: str, *, cancel_type: str = "") -> str:
        """An ``order`` frame with the order's current cumulative numbers."""
        terminal = status in ("Filled", "Cancelled", "Rejected")
        # fmt: off
        item: Json = {
            "order_id": self.order_id, "order_link_id": self.link, "symbol": self.symbol,
            "side": self.side, "order_type": "Limit", "price": self.price, "qty": self.qty,
            "time_in_force": "GoodTillCancel", "create_type": "CreateByUser",
            "cancel_type": cancel_type, "order_status": status,
            "leaves_qty": 0 if terminal else self.qty - self.cum, "cum_exec_qty": self.cum,
            "cum_exec_value": dec(self.value), "cum_exec_fee": dec(self.fee),
            "timestamp": self.created, "take_profit": "0", "stop_loss": "0", "trailing_stop": "0",
            "trailing_active": "0", "last_exec_price": self.price, "reduce_only": False,
            "close_on_trigger": False,
        }
        # fmt: on
        return compact({"topic": "order", "data": [item]})

    def execution(self, exec_id: str, qty: int, ms: int, price: str | None = None) -> str:
        """An ``execution`` frame for a trade of ``qty`` contracts."""
        px = Decimal(price or self.price)
        value = (qty / px).quantize(Decimal("1e-8"))  # inverse: contracts are USD
        fee = (value * Decimal("0.00075")).quantize(Decimal("1e-8"))
        self.cum += qty
        self.value += value
        self.fee += fee
        # fmt: off
        item: Json = {
            "symbol": self.symbol, "side": self.side, "order_id": self.order_id,
            "exec_id": exec_id, "order_link_id": self.link, "price": dec(px),
            "order_qty": self.qty, "exec_type": "Trade", "exec_qty": qty, "exec_fee": dec(fee),
            "leaves_qty": max(self.qty - self.cum, 0), "is_maker": False,
            "trade_time": bybit_time(ms),
        }
        # fmt: on
        return compact({"topic": "execution", "data": [item]})


def bybit_traffic(cap: Capture) -> None:
    """The seed page's payloads in its order, clean orders, and three faults."""
    seed = (
        "ping_reply",
        "subscribe_reply",
        "orderbook25_snapshot",
        "orderbook25_delta",
        "orderbook200_snapshot",
        "orderbook200_delta",
        "trade",
        "insurance",
        "instrument_info_snapshot",
        "instrument_info_delta",
        "kline_v2",
        "position",
        "execution",
        "order",
        "stop_order",
    )
    for i, name in enumerate(seed):
        cap.frame(600 + 50 * i, "bybit", "main", fixture("bybit", name))
    for ms in (20_000, 40_000, 60_000, 80_000, 100_000):
        for account in ("main", "hedge"):
            cap.frame(ms + 610, "bybit", account, fixture("bybit", "ping_reply"))

    # A limit buy of 300 contracts filled by two executions.
    y1 = BybitOrder("3f9e8d7c-6b5a-4493-8281-7f6e5d4c3b2a", "Buy", 300, "58000", 6500)
    cap.frame(6500, "bybit", "main", y1.report("New"))
    cap.frame(
        10_811,
        "bybit",
        "main",
        y1.execution("8e1b7a2c-0d4f-4c6e-9a3b-5f2d1c0e9b8a", 100, 10_809, "57998.5"),
    )
    cap.frame(10_850, "bybit", "main", y1.report("PartiallyFilled"))
    cap.frame(
        18_306, "bybit", "main", y1.execution("1c3e5a7b-9d2f-4e6a-8b0c-2e4f6a8c0e1d", 200, 18_301)
    )
    cap.frame(18_352, "bybit", "main", y1.report("Filled"))

    # Info: the hedge account's oversized sell is rejected.
    y4 = BybitOrder("b7d1e0c4-5f3a-4d8e-9c21-6a0f4e2b9d13", "Sell", 250_000, "58200", 12_010)
    cap.frame(12_010, "bybit", "hedge", y4.report("Rejected"))

    # Fault: an execution of 100 contracts arrives after the order was reported Cancelled.
    y3 = BybitOrder("5c2f9a18-7e43-4b6d-a0c9-3d8e1f2a7b64", "Buy", 500, "57900", 11_020)
    cap.frame(11_020, "bybit", "hedge", y3.report("New"))
    cap.frame(
        16_604, "bybit", "hedge", y3.execution("d2a4c6e8-0b1d-4f3a-9c5e-7a9b1d3f5e70", 200, 16_600)
    )
    cap.frame(16_651, "bybit", "hedge", y3.report("PartiallyFilled"))
    cap.frame(25_003, "bybit", "hedge", y3.report("Cancelled", cancel_type="CancelByUser"))
    cap.frame(
        25_411, "bybit", "hedge", y3.execution("e4f6a8b0-2c4e-4a6c-8e0a-2c4e6a8b0d12", 100, 24_998)
    )

    # Fault: the execution system sent 200 contracts; Bybit acknowledges 2000. The trader
    # cancels it before anything fills.
    cap.expect(22_000, "bybit", "main", "ema-0002", "BTCUSD", "sell", "200", "58100")
    y2 = BybitOrder(
        "0e6a7c3d-2b94-4f1e-8d57-c9a1b2e3f405", "Sell", 2000, "58100", 22_380, link="ema-0002"
    )
    cap.frame(22_380, "bybit", "main", y2.report("New"))
    cap.frame(27_940, "bybit", "main", y2.report("Cancelled", cancel_type="CancelByUser"))

    # Fault: an order frame cut off mid-object (the socket delivered half a message).
    y5 = BybitOrder("4d3c2b1a-0f9e-4d8c-b7a6-5f4e3d2c1b0a", "Buy", 120, "57950", 34_000)
    cut = y5.report("New")
    cap.frame(34_000, "bybit", "main", cut[: len(cut) // 2])


# -- Clear Street --------------------------------------------------------------------

#: The morning's fills on the Clear Street account, replayed when the engine subscribes:
#: (symbol, side, quantity, price). With a position-update after each and two
#: buying-power updates, they are the day's sequence numbers 1-122.
# fmt: off
_MORNING_SYMBOLS = (
    ("AMZN", "178.15"), ("GOOGL", "148.74"), ("META", "505.52"), ("JPM", "198.61"),
    ("XOM", "116.32"), ("KO", "61.18"), ("PEP", "168.40"), ("WMT", "60.21"),
    ("V", "282.49"), ("UNH", "490.05"),
)
# fmt: on
MORNING: Final = tuple(
    (symbol, side, qty, price)
    for symbol, price in _MORNING_SYMBOLS
    for side, qty in (("buy", 300), ("buy", 200), ("sell", 100))
)


class CsOrder:
    """One Clear Street order; :meth:`report` is its next ``order-update`` payload."""

    def __init__(
        self, order_id: str, ref: str, symbol: str, side: str, qty: int, price: str, created: int
    ) -> None:
        self.order_id, self.ref, self.symbol, self.side = order_id, ref, symbol, side
        self.qty, self.price, self.created = qty, price, created
        self.version = self.filled = 0
        self.value = Decimal(0)

    def report(self, status: str, reason: str, updated: int) -> Json:
        """The next version, with the fills so far (times are venue epoch ms)."""
        self.version += 1
        avg = float(self.value / self.filled) if self.filled else None
        closed = status in ("filled", "canceled", "rejected", "expired", "done-for-day")
        # fmt: off
        return {"type": "order-update", "data": {
            "created_at": self.created, "updated_at": updated, "order_id": self.order_id,
            "reference_id": self.ref, "version": self.version, "account_id": "100000",
            "state": "closed" if closed else "open", "status": status, "order_type": "limit",
            "side": self.side, "quantity": str(self.qty), "price": self.price,
            "time_in_force": "day-plus", "average_price": avg,
            "filled_quantity": str(self.filled), "order_update_reason": reason, "text": "",
            "symbol": self.symbol,
        }}
        # fmt: on


class ClearStreetDay:
    """The sequenced ``activity`` stream of one account for one trading day."""

    def __init__(self, cap: Capture) -> None:
        self.cap = cap
        self.sequence = 0
        #: Every sequenced payload of the day with its number: a reconnect replays them all.
        self.sent: list[tuple[int, Json]] = []
        self.positions: dict[str, int] = {}

    def send(self, ms: int, payload: Json, *, lost: bool = False, stamp: int | None = None) -> None:
        """The next sequenced message, sent at capture offset ``ms`` (unless ``lost``)."""
        self.sequence += 1
        self.sent.append((self.sequence, payload))
        if not lost:
            text = self.envelope(CS_T0_MS + ms if stamp is None else stamp, self.sequence, payload)
            self.cap.frame(ms, "clearstreet", "main", text)

    def seed(self, ms: int, name: str) -> None:
        """A seed page example, verbatim (with the page's own sequence number)."""
        text = fixture("clearstreet", name)
        raw = json.loads(text)
        self.sequence = raw["sequence"]
        self.sent.append((raw["sequence"], raw["payload"]))
        self.cap.frame(ms, "clearstreet", "main", text)

    @staticmethod
    def envelope(stamp: int, sequence: int, payload: Json) -> str:
        """The frame as sent at venue time ``stamp`` (ms)."""
        return compact({"timestamp": stamp, "sequence": sequence, "payload": payload})

    def unsequenced(self, ms: int, payload: Json) -> None:
        """An unsequenced message (ack, replay-complete, heartbeat)."""
        self.cap.frame(
            ms, "clearstreet", "main", compact({"timestamp": CS_T0_MS + ms, "payload": payload})
        )

    def replay(self, ms: int) -> int:
        """The venue replays every sequenced message of the day, 4 ms apart."""
        for i, (sequence, payload) in enumerate(self.sent):
            at = ms + 4 * i
            frame = self.envelope(CS_T0_MS + at, sequence, payload)
            self.cap.frame(at, "clearstreet", "main", frame)
        return ms + 4 * len(self.sent)

    def trade(self, order: CsOrder, trade_id: str, qty: int, price: str, at: int) -> Json:
        """A ``trade-notice`` payload; the order and the running position follow it."""
        order.filled += qty
        order.value += qty * Decimal(price)
        signed = qty if order.side == "buy" else -qty
        self.positions[order.symbol] = self.positions.get(order.symbol, 0) + signed
        # fmt: off
        return {"type": "trade-notice", "data": {
            "trade_id": trade_id, "order_id": order.order_id, "symbol": order.symbol,
            "side": order.side, "quantity": str(qty), "price": price,
            "running_position": str(self.positions[order.symbol]), "created_at": at,
        }}
        # fmt: on

    def position(self, symbol: str, cost: float) -> Json:
        """A ``position-update`` payload with the running position."""
        quantity = str(self.positions[symbol])
        data = {"account_id": "100000", "symbol": symbol, "quantity": quantity}
        return {"type": "position-update", "data": {**data, "average_cost": cost}}


def buying_power(amount: int) -> Json:
    """A ``buying-power-update`` payload."""
    # fmt: off
    return {"type": "buying-power-update", "data": {
        "account_id": "100000", "buying_power": f"{amount}.00",
        "day_trade_buying_power": f"{amount * 16 // 5}.00",
        "overnight_buying_power": f"{amount * 2 // 5}.00",
    }}
    # fmt: on


def morning(day: ClearStreetDay, ms: int) -> int:
    """The replay after subscribing: the day's messages 1-122, sent in one burst."""
    stamp = 1_711_076_847_030  # the seed's send time, for the whole burst
    for i, (symbol, side, qty, price) in enumerate(MORNING):
        placed = 1_711_027_800_000 + 600_000 * i  # from 09:30 New York, every 10 minutes
        o = CsOrder(str(42_817_301 + i), f"strat-a-20240321-{i + 1:04d}", symbol, side, qty,
                    price, placed)  # fmt: skip
        day.send(ms, o.report("new", "place", placed), stamp=stamp)
        day.send(ms + 2, day.trade(o, str(91_820_301 + i), qty, price, placed + 4100), stamp=stamp)
        day.send(ms + 4, o.report("filled", "execution-report", placed + 4100), stamp=stamp)
        day.send(ms + 6, day.position(symbol, float(price)), stamp=stamp)
        ms += 8
        if i in (9, 19):
            day.send(ms, buying_power(1_250_000 - 40_000 * i), stamp=stamp)
            ms += 2
    assert day.sequence == 122
    return ms


def clearstreet_traffic(cap: Capture) -> None:
    """The seed page's examples, a day of sequenced orders, a gap, and a reconnect."""
    day = ClearStreetDay(cap)
    cap.frame(3000, "clearstreet", "main", fixture("clearstreet", "seed_subscribe_activity_ack"))
    done = morning(day, 3010)
    cap.frame(done + 10, "clearstreet", "main", fixture("clearstreet", "seed_replay_complete"))
    seeds = ("order_update", "trade_notice", "position_update", "buying_power_update",
             "locate_inventory_update")  # fmt: skip
    for i, name in enumerate(seeds):
        day.seed(done + 100 + 50 * i, f"seed_{name}")
    day.positions["XYZ"] = -150
    at = CS_T0_MS  # venue time of capture offset 0

    # AAPL buy 100: pending-new, new, trade 40, partially-filled, trade 60, filled.
    o = CsOrder("42817501", "strat-a-20240321-0041", "AAPL", "buy", 100, "171.25", at + 7990)
    day.send(8000, o.report("pending-new", "place", at + 7990))
    day.send(8050, o.report("new", "execution-report", at + 8040))
    day.send(12_500, day.trade(o, "91820501", 40, "171.25", at + 12_490))
    day.send(12_520, o.report("partially-filled", "execution-report", at + 12_490))
    day.send(12_550, day.position("AAPL", 171.25))
    day.send(19_000, day.trade(o, "91820502", 60, "171.20", at + 18_990))
    day.send(19_020, o.report("filled", "execution-report", at + 18_990))
    day.send(19_050, day.position("AAPL", 171.22))

    # MSFT sell 50: 20 filled, then canceled. The two messages after the partial fill
    # (a position and a buying-power update) are lost on the live stream.
    o = CsOrder("42817502", "strat-a-20240321-0042", "MSFT", "sell", 50, "421.10", at + 20_990)
    day.send(21_000, o.report("pending-new", "place", at + 20_990))
    day.send(21_050, o.report("new", "execution-report", at + 21_040))
    day.send(24_000, day.trade(o, "91820503", 20, "421.10", at + 23_990))
    day.send(24_020, o.report("partially-filled", "execution-report", at + 23_990))
    day.send(24_050, day.position("MSFT", 421.10), lost=True)
    day.send(24_080, buying_power(1_258_422), lost=True)
    assert day.sequence == GAP[1]
    day.send(30_000, o.report("pending-cancel", "cancel", at + 29_990))
    day.send(30_200, o.report("canceled", "cancel", at + 30_190))

    # Fault: an NVDA order the execution system sent; Clear Street never reports it.
    cap.expect(32_000, "clearstreet", "main", "ema-0003", "NVDA", "buy", "25", "903.50")

    # The socket drops; on reconnect the venue replays the day from sequence 1. Everything
    # already seen is dropped silently; the two lost messages fill the gap.
    cap.connection(44_000, "clearstreet", "main", "disconnected")
    cap.connection(46_000, "clearstreet", "main", "connected")
    ack = {"type": "subscribe-activity-ack", "account_id": "100000", "success": True,
           "details": "Subscribed successfully"}  # fmt: skip
    day.unsequenced(46_300, ack)
    done = day.replay(46_350)
    day.unsequenced(done + 20, {"type": "replay-complete"})

    # Live again: AAPL sell 100, one trade, filled.
    o = CsOrder("42817503", "strat-a-20240321-0043", "AAPL", "sell", 100, "171.40", at + 49_990)
    day.send(50_000, o.report("new", "place", at + 49_990))
    day.send(54_000, day.trade(o, "91820504", 100, "171.40", at + 53_990))
    day.send(54_030, o.report("filled", "execution-report", at + 53_990))
    day.send(54_060, day.position("AAPL", 0.0))
    for ms in (40_000, 70_000, 100_000):
        day.unsequenced(ms, {"type": "heartbeat"})


# -- putting it together -------------------------------------------------------------


def build() -> list[str]:
    """Every line of the sample capture, in time order."""
    cap = Capture()
    for venue, accounts in (
        ("tread", ("main",)),
        ("btse", ("main", "hedge")),
        ("bybit", ("main", "hedge")),
        ("clearstreet", ("main",)),
    ):
        for account in accounts:
            cap.connection(0, venue, account, "connected")
    tread_traffic(cap)
    btse_traffic(cap)
    bybit_traffic(cap)
    clearstreet_traffic(cap)
    for ms in range(65_000, 125_000, 15_000):
        cap.tick(ms)
    return cap.lines()


def check(path: Path = OUTPUT) -> list[str]:
    """Replay the capture through a fresh core; every difference from :data:`INJECTED`.

    An alert that was not injected is a false alert; an injected fault without its alert
    went undetected. Skipped capture lines are problems too.
    """
    errors: list[LineError] = []
    records = list(read_capture(path.read_bytes().splitlines(), str(path), errors))
    got = Counter((a.code.value, a.venue, a.order_id) for a in replay([records], Reconciler()))
    want = Counter((code, venue, order_id) for code, venue, order_id, _ in INJECTED)
    problems = [f"skipped {e}" for e in errors]
    problems += [f"false alert: {k}" for k in sorted((got - want).elements(), key=str)]
    problems += [f"not detected: {k}" for k in sorted((want - got).elements(), key=str)]
    return problems


def main(argv: list[str]) -> int:
    """Write the capture next to this script; with ``--check``, replay it and compare."""
    lines = build()
    OUTPUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} records to {OUTPUT}")
    if "--check" not in argv:
        return 0
    problems = check()
    for problem in problems:
        print(problem)
    print(
        f"{len(INJECTED)} injected alerts expected: "
        + ("all found" if not problems else f"{len(problems)} problems")
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
