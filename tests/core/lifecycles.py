"""Hypothesis strategies for valid venue lifecycles, and how their frames are delivered.

The pipeline, shared by the property tests:

1. **Plan** each order as a list of steps (:class:`Step`): what the venue emits about it, in
   emission order, following the venue's own semantics (BTSE ``filledSize`` is the fill
   of that very update; Bybit and Clear Street stream executions apart from order reports;
   Clear Street versions go up by one per order-update; a Tread.fi multi-order carries its
   children, and ``updated_at`` may stay put while fills advance). Steps that the venue
   sends together (executions and the order report reflecting them, a child's own frame
   and its parent's) form one *unit*.
2. **Interleave** the units of several orders and give them emission times.
3. **Render** every step to the raw frame the venue would send, with ``tests/builders.py``,
   assigning the ordering keys (BTSE timestamp, Tread.fi ``updated_at``, Clear Street
   version) and Clear Street's consecutive per-account sequence numbers.
4. **Deliver**: adjacent reorders that the venue's ordering key explains, identical
   re-sends, a Clear Street reconnect replaying the day, on a clock that never lets a
   delayed message arrive a settle window late.

Fault tests edit the steps of one *target* order between 1 and 2, and protect it from
reorders and re-sends, so the fault is exactly what they injected.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from builders import (
    Run,
    btse_frame,
    btse_item,
    bybit_exec,
    bybit_frame,
    bybit_order,
    cs_frame,
    cs_order,
    cs_trade,
    tread_frame,
    tread_order,
    tread_parent,
)
from hypothesis import strategies as st

from reconciler import Reconciler
from reconciler.plugin import iso_to_micros, load_plugins

__all__ = [
    "PLUGINS",
    "SETTLE",
    "VENUES",
    "Frame",
    "Plan",
    "Step",
    "btse_plan",
    "bybit_plan",
    "cs_plan",
    "delivered",
    "fills",
    "interleave",
    "may_reorder",
    "noise_plan",
    "num",
    "play",
    "render",
    "tread_multi_plan",
    "tread_plan",
    "venue_plan",
]

PLUGINS = load_plugins()
SETTLE = 5.0
VENUES = ("tread", "btse", "bybit", "clearstreet")

_MS = 1000
_MAX_UNIT_GAP_MS = 1500  # between two units: two reorders stay well inside the settle window
_MAX_INTRA_GAP_MS = 50  # between the messages of one unit (sent together)
_MAX_BATCH_S = 0.25  # a BTSE / Bybit data array holds what the venue had ready together
_TREAD_T0 = datetime(2025, 7, 15, 1, 21, 45, 499214, tzinfo=UTC)
_BTSE_T0 = 1_752_147_101_805
_CS_T0 = 1_711_028_712_352  # 2024-03-21 09:45 in New York: every frame is on one trading day


def num(value: Decimal | int) -> str:
    """A number as the core writes it in evidence (plain, no trailing zeros)."""
    text = format(Decimal(value), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def _digest(obj: object) -> str:
    return hashlib.blake2b(json.dumps(obj, sort_keys=True).encode(), digest_size=8).hexdigest()


def _thousandths(units: int) -> str:
    return num(Decimal(units) / 1000)


def _iso(micros: int) -> str:
    return (_TREAD_T0 + timedelta(microseconds=micros)).isoformat()


@dataclass
class Step:
    """One message a venue emits about an order.

    ``kind``: ``order`` (an order report), ``exec`` (Bybit execution), ``trade`` (Clear
    Street trade-notice), ``parent`` / ``child`` (Tread.fi multi-order frame / a child's
    own frame), ``noise`` (heartbeats, positions). Every order report's ``f`` holds
    ``status`` (raw) and ``cum`` (cumulative filled, in integer units of the plan).
    ``dkey`` is how far the report advances the order's ordering key (0: unchanged).
    ``joins_next``: the next step of the same plan is sent together with this one.
    """

    kind: str
    f: dict[str, Any] = field(default_factory=dict)
    dkey: int = 1
    joins_next: bool = False


@dataclass
class Plan:
    """Everything one order (or one multi-order, or the noise) emits, in order."""

    venue: str
    order_id: str
    spec: dict[str, Any]
    steps: list[Step]
    #: Every order id this plan reports (a multi-order: the parent and its children).
    ids: frozenset[str] = frozenset()

    def order_steps(self) -> list[int]:
        """Indexes of the order reports."""
        return [i for i, s in enumerate(self.steps) if s.kind == "order"]


@dataclass(frozen=True)
class Report:
    """An order report inside a frame: who, with which ordering key, with what content."""

    order_id: str
    key: int | None
    digest: str


@dataclass(frozen=True)
class Frame:
    """A rendered frame with what the delivery stage needs to know about it."""

    text: str
    emit_t: float
    orders: frozenset[str]
    reports: tuple[Report, ...] = ()
    seq: int | None = None
    #: Clear Street: the same message as a reconnect replays it (another send time).
    replay_text: str | None = None


# -- shared lifecycle shapes ---------------------------------------------------------------

ENDINGS = ("filled", "canceled", "rejected", "open")


@st.composite
def fills(draw: st.DrawFn, qty: int, *, full: bool, min_fills: int = 0) -> list[int]:
    """Positive fill sizes: summing to ``qty`` when ``full``, else to less than ``qty``."""
    cap = qty if full else qty - 1
    count = draw(st.integers(min_fills, 5))
    parts = draw(st.lists(st.integers(1, max(qty, 1)), min_size=count, max_size=count))
    out: list[int] = []
    total = 0
    for part in parts:
        size = min(part, cap - total)
        if size <= 0:
            break
        out.append(size)
        total += size
    if full and total < qty:
        out.append(qty - total)
    return out


def _ending(draw: st.DrawFn, ending: str | None, allowed: tuple[str, ...] = ENDINGS) -> str:
    return ending if ending is not None else draw(st.sampled_from(allowed))


def _min_qty(ending: str, min_fills: int) -> int:
    return 2 if ending in ("canceled", "open") and min_fills else 1


def _dkey(draw: st.DrawFn, low: int, high: int) -> int:
    return draw(st.integers(low, high))


# -- BTSE --------------------------------------------------------------------------------


@st.composite
def btse_plan(
    draw: st.DrawFn,
    oid: str,
    *,
    ending: str | None = None,
    min_fills: int = 0,
    amend: bool = False,
) -> Plan:
    """One BTSE order: inserted (or trigger inserted, activated, maybe inserted), filled
    report by report (``filledSize`` = that fill, ``remainingSize`` = current - total),
    maybe amended (status 123: a new ``currentOrderSize``, ``originalOrderSize`` kept),
    then fully matched, cancelled or rejected."""
    end = _ending(draw, ending)
    size = draw(st.integers(_min_qty(end, min_fills), 300))
    parts = (
        [] if end == "rejected" else draw(fills(size, full=end == "filled", min_fills=min_fills))
    )
    # An amendment before fill ``at`` moves the current size from ``original`` to ``size``.
    at = (
        draw(st.integers(0, len(parts) - (end == "filled")))
        if amend and draw(st.booleans())
        else None
    )
    done = sum(parts[:at]) if at is not None else 0
    original = draw(st.integers(done + 1, done + 300)) if at is not None else size
    spec = {
        "size": original,
        "side": draw(st.sampled_from(["BUY", "SELL"])),
        "symbol": draw(st.sampled_from(["BTC-PERP", "ETH-PERP"])),
        "tif": draw(st.sampled_from(["GTC", "DAY", "HOUR", "WEEK"])),
        "price": draw(st.sampled_from(["111085.1", "2950.25", "64000"])),
        "cl": draw(st.sampled_from(["", f"cl-{oid}"])),
        "ts0": _BTSE_T0 + draw(st.integers(0, 5000)),
    }
    steps: list[Step] = []
    current = original

    def report(status: int, cum: int, fill: int) -> None:
        steps.append(
            Step(
                "order",
                {"status": status, "cum": cum, "fill": fill, "cur": current},
                dkey=_dkey(draw, 0, 40),
            )
        )

    if end == "rejected":
        if draw(st.booleans()):
            report(2, 0, 0)
        report(15, 0, 0)
        return Plan("btse", oid, spec, steps, frozenset({oid}))
    if draw(st.booleans()):
        report(9, 0, 0)
        report(10, 0, 0)
        if draw(st.booleans()):
            report(2, 0, 0)
    else:
        report(2, 0, 0)
    cum = 0
    for i, part in enumerate([*parts, 0]):
        if i == at:
            current = size
            report(123, cum, 0)
        if i == len(parts):
            break
        cum += part
        report(4 if cum == current else 5, cum, part)
    if end == "canceled":
        report(6, cum, 0)
    return Plan("btse", oid, spec, steps, frozenset({oid}))


def _render_btse(plan: Plan, step: Step, key: int) -> tuple[str, tuple[Report, ...]]:
    m = plan.spec | step.f
    item = btse_item(
        plan.order_id,
        status=m["status"],
        size=m["size"],
        current=m.get("cur", m["size"]),
        total=m["cum"],
        filled=m["fill"],
        ts=key,
        tif=m["tif"],
        cl=m["cl"],
        price=m["price"],
        side=m["side"],
        symbol=m["symbol"],
        **m.get("over", {}),
    )
    return btse_frame(item), (Report(plan.order_id, key, _digest(item)),)


# -- Bybit -------------------------------------------------------------------------------

_BYBIT_EXEC_FEE = Decimal("0.00000001")


@st.composite
def bybit_plan(draw: st.DrawFn, oid: str, *, ending: str | None = None, min_fills: int = 0) -> Plan:
    """One Bybit order: (Created,) New, executions each followed -- alone or in a group --
    by the order report reflecting them, then Filled, or (PendingCancel,) Cancelled with
    ``leaves_qty`` 0, or Rejected. There is no ordering key."""
    end = _ending(draw, ending)
    size = draw(st.integers(_min_qty(end, min_fills), 300))
    spec = {
        "size": size,
        "side": draw(st.sampled_from(["Buy", "Sell"])),
        "symbol": draw(st.sampled_from(["BTCUSD", "ETHUSD"])),
        "link": draw(st.sampled_from(["", f"link-{oid}"])),
        "price": draw(st.sampled_from(["30000", "8579.5", "1850.05"])),
    }
    steps: list[Step] = []
    nexec = 0

    def report(status: str, cum: int) -> None:
        steps.append(Step("order", {"status": status, "cum": cum, "nexec": nexec}, dkey=0))

    if draw(st.booleans()):
        report("Created", 0)
    if end == "rejected":
        report("Rejected", 0)
        return Plan("bybit", oid, spec, steps, frozenset({oid}))
    report("New", 0)
    parts = draw(fills(size, full=end == "filled", min_fills=min_fills))
    cancel_at = draw(st.integers(0, len(parts))) if end == "canceled" else None
    pending = False
    cum = 0
    for i, part in enumerate(parts):
        if cancel_at == i and draw(st.booleans()):
            report("PendingCancel", cum)
            pending = True
        elif draw(st.integers(0, 7)) == 0:  # a cancel the venue rejects: back to working
            report("PendingCancel", cum)
            report("PartiallyFilled" if cum else "New", cum)
        cum += part
        nexec += 1
        steps.append(
            Step(
                "exec",
                {"id": f"{oid}-e{nexec}", "q": part, "leaves": size - cum},
                dkey=0,
                joins_next=True,
            )
        )
        if i == len(parts) - 1 or draw(st.booleans()):
            if cum == size:
                status = "Filled"
            elif pending and draw(st.booleans()):
                status = "PendingCancel"
            else:
                status = "PartiallyFilled"
            report(status, cum)
        # An execution waiting for a later report joins it; execs and report are one unit.
    if end == "canceled":
        if not pending and draw(st.booleans()):
            report("PendingCancel", cum)
        report("Cancelled", cum)
    return Plan("bybit", oid, spec, steps, frozenset({oid}))


def _render_bybit(plan: Plan, step: Step) -> tuple[str, tuple[Report, ...]]:
    m = plan.spec | step.f
    if step.kind == "exec":
        item = bybit_exec(
            m["id"],
            plan.order_id,
            qty=m["q"],
            order_qty=m["size"],
            leaves=m["leaves"],
            price=m["price"],
            side=m["side"],
            symbol=m["symbol"],
            **m.get("over", {}),
        )
        return bybit_frame("execution", item), ()
    item = bybit_order(
        plan.order_id,
        status=m["status"],
        qty=m["size"],
        cum=m["cum"],
        link=m["link"],
        side=m["side"],
        symbol=m["symbol"],
        price=m["price"],
        cum_exec_fee=str(_BYBIT_EXEC_FEE * m["nexec"]),
        **m.get("over", {}),
    )
    return bybit_frame("order", item), (Report(plan.order_id, None, _digest(item)),)


# -- Clear Street ------------------------------------------------------------------------


@st.composite
def cs_plan(
    draw: st.DrawFn,
    oid: str,
    *,
    ending: str | None = None,
    min_fills: int = 0,
    amend: bool = False,
) -> Plan:
    """One Clear Street order: (pending-new,) new, trade-notices each followed -- alone or
    in a group -- by the order-update reflecting them, suspensions, rejected cancels, maybe
    a modify (pending-replace, replaced: a new quantity), then filled, or
    (pending-cancel,) canceled / expired / done-for-day, or pending-new -> rejected.
    Versions go up by one per order-update (assigned when rendered)."""
    end = _ending(draw, ending)
    size = draw(st.integers(_min_qty(end, min_fills), 500))
    parts = (
        [] if end == "rejected" else draw(fills(size, full=end == "filled", min_fills=min_fills))
    )
    at = (
        draw(st.integers(0, len(parts) - (end == "filled")))
        if amend and draw(st.booleans())
        else None
    )
    done = sum(parts[:at]) if at is not None else 0
    original = draw(st.integers(done + 1, done + 300)) if at is not None else size
    spec = {
        "size": original,
        "side": draw(st.sampled_from(["buy", "sell", "sell-short"])),
        "symbol": draw(st.sampled_from(["AAPL", "MSFT"])),
        "ref": draw(st.sampled_from(["", f"ref-{oid}"])),
    }
    steps: list[Step] = []
    current = original

    def report(status: str, cum: int, reason: str, state: str | None = None) -> None:
        steps.append(
            Step(
                "order",
                {"status": status, "cum": cum, "reason": reason, "state": state, "qty": current},
            )
        )

    if end == "rejected":
        report("pending-new", 0, "place")
        report("rejected", 0, "reject", "rejected")
        return Plan("clearstreet", oid, spec, steps, frozenset({oid}))
    if draw(st.booleans()):
        report("pending-new", 0, "place")
    report("new", 0, "place")
    cancel_at = draw(st.integers(0, len(parts))) if end == "canceled" else None
    pending = False
    cum = 0
    for i, part in enumerate([*parts, 0]):
        working = "partially-filled" if cum else "new"
        if i == at:
            if draw(st.booleans()):
                report("pending-replace", cum, "modify")
            current = size
            report("replaced", cum, "modify")
        if i == len(parts):
            break
        if cancel_at == i and draw(st.booleans()):
            report("pending-cancel", cum, "cancel")
            pending = True
        elif (interlude := draw(st.integers(0, 9))) == 0:
            report("pending-cancel", cum, "cancel")
            report(working, cum, "cancel-reject")
        elif interlude == 1:
            report("suspended", cum, "execution-report")
            report(working, cum, "execution-report")
        cum += part
        steps.append(Step("trade", {"id": f"{oid}-t{i + 1}", "q": part}, joins_next=True))
        if i == len(parts) - 1 or draw(st.booleans()):
            if cum == current:
                status = "filled"
            elif pending and draw(st.booleans()):
                status = "pending-cancel"
            else:
                status = "partially-filled"
            report(status, cum, "execution-report")
    if end == "canceled":
        if not pending and draw(st.booleans()):
            report("pending-cancel", cum, "cancel")
        final = draw(st.sampled_from(["canceled", "canceled", "expired", "done-for-day"]))
        report(final, cum, "cancel" if final == "canceled" else "execution-report")
    return Plan("clearstreet", oid, spec, steps, frozenset({oid}))


def _render_cs(
    plan: Plan, step: Step, version: int
) -> tuple[str, dict[str, Any], tuple[Report, ...]]:
    """(payload type, data, reports) of a Clear Street step."""
    m = plan.spec | step.f
    if step.kind == "trade":
        data = cs_trade(
            m["id"], plan.order_id, quantity=str(m["q"]), side=m["side"], symbol=m["symbol"]
        )
        data.update(m.get("over", {}))
        return "trade-notice", data, ()
    data = cs_order(
        plan.order_id,
        version=version,
        status=m["status"],
        quantity=str(m.get("qty", m["size"])),
        filled=str(m["cum"]),
        reference_id=m["ref"],
        side=m["side"],
        symbol=m["symbol"],
        state=m["state"],
        reason=m["reason"],
        **m.get("over", {}),
    )
    return "order-update", data, (Report(plan.order_id, version, _digest(data)),)


# -- Tread.fi single orders --------------------------------------------------------------


def _tread_avg(draw: st.DrawFn) -> str:
    return num(Decimal(draw(st.integers(1_000_000, 1_300_000))) / 10)


@st.composite
def tread_plan(draw: st.DrawFn, oid: str, *, ending: str | None = None, min_fills: int = 0) -> Plan:
    """One Tread.fi single order: (SCHEDULED,) ACTIVE, fills reported as ACTIVE updates
    (``updated_at`` often unchanged), pauses, FINISHER, then COMPLETE or CANCELED.
    Quantities are in thousandths of the target token."""
    end = _ending(draw, ending, ("filled", "canceled", "open"))
    size = draw(st.integers(_min_qty(end, min_fills), 3000))
    side = draw(st.sampled_from(["buy", "sell"]))
    spec = {
        "size": size,
        "side": side,
        "pair": "BTC:PERP-USDT" if side == "buy" else "BTC-USDT",
        "cid": draw(st.sampled_from(["", f"co-{oid}"])),
        "k0": draw(st.integers(0, 10_000_000)),
    }
    steps: list[Step] = []
    avg = _tread_avg(draw)

    def report(status: str, cum: int, ut: str) -> None:
        steps.append(
            Step(
                "order",
                {"status": status, "cum": cum, "ut": ut, "avg": avg},
                dkey=draw(st.sampled_from([0, 0, 1, 250_000, 3_000_000])),
            )
        )

    if draw(st.booleans()):
        report("SCHEDULED", 0, "order_created")
    report("ACTIVE", 0, "order_activated")
    parts = draw(fills(size, full=end == "filled", min_fills=min_fills))
    cum = 0
    for i, part in enumerate(parts):
        if draw(st.integers(0, 5)) == 0:
            report("PAUSED", cum, "order_paused")
            report("ACTIVE", cum, "order_activated")
        cum += part
        avg = _tread_avg(draw)
        finisher = i == len(parts) - 1 and end == "filled" and draw(st.booleans())
        if finisher:
            report("FINISHER", cum - part, "order_fill_received")
        report("FINISHER" if finisher else "ACTIVE", cum, "order_fill_received")
    if end == "filled":
        report("COMPLETE", cum, "order_completed")
    elif end == "canceled":
        report("CANCELED", cum, "order_canceled")
    return Plan("tread", oid, spec, steps, frozenset({oid}))


def _tread_single(oid: str, m: dict[str, Any], key: int, parent: str | None) -> dict[str, Any]:
    return tread_order(
        oid,
        status=m["status"],
        target=_thousandths(m["size"]),
        executed=_thousandths(m["cum"]),
        side=m["side"],
        avg=m["avg"],
        pair=m["pair"],
        parent=parent,
        custom_order_id=m["cid"],
        updated_at=_iso(key),
        time_end=_iso(key + 86_400_000_000),
        **m.get("over", {}),
    )


def _render_tread(plan: Plan, step: Step, key: int) -> tuple[str, tuple[Report, ...]]:
    if step.kind == "parent":
        text = tread_parent(
            plan.order_id,
            step.f["children"],
            status=step.f["status"],
            update_type=step.f["ut"],
            updated_at=_iso(step.f["key"]),
            duration=3600,
            **step.f.get("over", {}),
        )
        order = json.loads(text)["data"]["order"]
        own = {k: v for k, v in order.items() if k != "child_orders"}
        reports = [Report(plan.order_id, step.f["key"], _digest(own))]
        reports += [_child_report(c) for c in step.f["children"]]
        return text, tuple(reports)
    if step.kind == "child":
        child = step.f["child"]
        return tread_frame(child, step.f["ut"]), (_child_report(child),)
    order = _tread_single(plan.order_id, plan.spec | step.f, key, None)
    return tread_frame(order, step.f["ut"]), (Report(plan.order_id, key, _digest(order)),)


def _child_report(child: dict[str, Any]) -> Report:
    return Report(child["id"], iso_to_micros(child["updated_at"]), _digest(child))


# -- Tread.fi multi-orders ---------------------------------------------------------------


@st.composite
def _child_states(
    draw: st.DrawFn, cid: str, k0: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A child's spec and its successive states (status, cum, avg, key)."""
    end = draw(st.sampled_from(["filled", "canceled", "open"]))
    size = draw(st.integers(2, 2000))
    side = draw(st.sampled_from(["buy", "sell"]))
    spec = {
        "size": size,
        "side": side,
        "cid": "",
        "pair": "BTC:PERP-USDT" if side == "buy" else "BTC-USDT",
    }
    key = k0
    avg = _tread_avg(draw)
    states = [
        {"status": draw(st.sampled_from(["SCHEDULED", "ACTIVE"])), "cum": 0, "avg": avg, "key": key}
    ]
    cum = 0
    for part in draw(fills(size, full=end == "filled")):
        cum += part
        key += draw(st.sampled_from([0, 0, 1, 400_000]))
        states.append({"status": "ACTIVE", "cum": cum, "avg": _tread_avg(draw), "key": key})
    if end != "open":
        key += draw(st.sampled_from([0, 1, 400_000]))
        states.append(
            {
                "status": "COMPLETE" if end == "filled" else "CANCELED",
                "cum": cum,
                "avg": states[-1]["avg"],
                "key": key,
            }
        )
    return spec, states


_CHILD_UT = {
    "ACTIVE": "child_order_fill_received",
    "COMPLETE": "child_order_completed",
    "CANCELED": "child_order_canceled",
    "SCHEDULED": "child_order_created",
}


@st.composite
def tread_multi_plan(draw: st.DrawFn, pid: str) -> Plan:
    """A Tread.fi multi-order: every message carries all children (aggregates computed
    from them), children advance in random interleaving, a child sometimes also arrives
    on its own first, the parent completes or is canceled (with its open children) in the
    same message that ends the last child, or stays open."""
    count = draw(st.integers(2, 3))
    pkey = draw(st.integers(0, 10_000_000))
    kids = [draw(_child_states(f"{pid}-c{j}", pkey + 50_000 * (j + 1))) for j in range(count)]
    ids = [f"{pid}-c{j}" for j in range(count)]
    pos = [0] * count

    def child(j: int) -> dict[str, Any]:
        spec, states = kids[j]
        state = states[pos[j]]
        return _tread_single(ids[j], spec | state, state["key"], pid)

    steps: list[Step] = []

    def parent(status: str, ut: str, lone: int | None = None) -> None:
        nonlocal pkey
        pkey += draw(st.sampled_from([0, 0, 0, 1, 300_000]))
        if lone is not None and draw(st.integers(0, 3)) == 0:
            steps.append(
                Step("child", {"child": child(lone), "ut": "order_fill_received"}, joins_next=True)
            )
        steps.append(
            Step(
                "parent",
                {
                    "status": status,
                    "ut": ut,
                    "key": pkey,
                    "children": [child(j) for j in range(count)],
                },
            )
        )

    parent("ACTIVE", draw(st.sampled_from(["order_created", "order_activated"])))
    tokens = [j for j in range(count) for _ in kids[j][1][1:]]
    order = draw(st.permutations(tokens))
    cancel_after = draw(st.integers(0, len(order) + 1))
    for n, j in enumerate(order):
        if n == cancel_after:
            break
        pos[j] += 1
        ended = all(kids[k][1][pos[k]]["status"] in ("COMPLETE", "CANCELED") for k in range(count))
        status = "ACTIVE"
        if ended:
            failed = any(kids[k][1][pos[k]]["status"] == "CANCELED" for k in range(count))
            status = "CANCELED" if failed else "COMPLETE"
        ut = _CHILD_UT[kids[j][1][pos[j]]["status"]]
        parent(status, ut, lone=j)
        if ended:
            return Plan("tread", pid, {}, steps, frozenset([pid, *ids]))
    if cancel_after <= len(order) and draw(st.booleans()):
        # The parent is canceled: its open children end in the same message.
        for j in range(count):
            _, states = kids[j]
            last = states[pos[j]]
            if last["status"] not in ("COMPLETE", "CANCELED"):
                states.insert(pos[j] + 1, last | {"status": "CANCELED", "key": last["key"] + 1})
                pos[j] += 1
        parent("CANCELED", "order_canceled")
    return Plan("tread", pid, {}, steps, frozenset([pid, *ids]))


# -- noise and per-venue dispatch --------------------------------------------------------

_HEARTBEATS = {
    "btse": "pong",
    "bybit": json.dumps(
        {
            "success": True,
            "ret_msg": "pong",
            "conn_id": "c-1",
            "request": {"op": "ping", "args": None},
        }
    ),
    "tread": json.dumps({"type": "keep_alive"}),
    "clearstreet": json.dumps({"timestamp": _CS_T0, "payload": {"type": "heartbeat"}}),
}


@st.composite
def noise_plan(draw: st.DrawFn, venue: str, *, max_size: int = 3) -> Plan:
    """Heartbeats (and, on Clear Street, sequenced position updates)."""
    steps: list[Step] = []
    for _ in range(draw(st.integers(0, max_size))):
        if venue == "clearstreet" and draw(st.booleans()):
            steps.append(Step("noise", {"position": str(draw(st.integers(-500, 500)))}))
        else:
            steps.append(Step("noise", {"text": _HEARTBEATS[venue]}))
    return Plan(venue, "", {}, steps)


def venue_plan(venue: str, oid: str, **kw: Any) -> st.SearchStrategy[Plan]:
    """A single-order plan of ``venue`` (keyword arguments: ending, min_fills, amend --
    BTSE and Clear Street orders may be amended; the others ignore it)."""
    if venue in ("btse", "clearstreet"):
        return (btse_plan if venue == "btse" else cs_plan)(oid, **kw)
    kw.pop("amend", None)
    return (bybit_plan if venue == "bybit" else tread_plan)(oid, **kw)


# -- interleaving, rendering, delivery ---------------------------------------------------


def _units(plan: Plan) -> list[list[Step]]:
    units: list[list[Step]] = []
    current: list[Step] = []
    for step in plan.steps:
        current.append(step)
        if not step.joins_next:
            units.append(current)
            current = []
    if current:
        units.append(current)
    return units


@st.composite
def interleave(draw: st.DrawFn, plans: list[Plan]) -> list[tuple[Plan, Step, float]]:
    """The plans' units merged in a random order (each plan's own order kept), with
    emission times: up to 1.5 s between units, up to 50 ms inside one."""
    units = [_units(p) for p in plans]
    tokens = [i for i, u in enumerate(units) for _ in u]
    order = draw(st.permutations(tokens))
    gaps = draw(
        st.lists(st.integers(0, _MAX_UNIT_GAP_MS), min_size=len(order), max_size=len(order))
    )
    nxt = [0] * len(plans)
    out: list[tuple[Plan, Step, float]] = []
    t = 0.0
    for i, gap in zip(order, gaps, strict=True):
        t += gap / _MS
        for k, step in enumerate(units[i][nxt[i]]):
            if k:
                t += draw(st.integers(0, _MAX_INTRA_GAP_MS)) / _MS
            out.append((plans[i], step, t))
        nxt[i] += 1
    return out


def render(
    venue: str, emission: list[tuple[Plan, Step, float]], *, skip_seq_before: int | None = None
) -> list[Frame]:
    """Raw frames for the emitted steps. Ordering keys accumulate per order; Clear Street
    versions count order-updates per order and sequences count messages per account
    (``skip_seq_before``: the venue loses the sequence number before that message)."""
    keys: dict[str, int] = {}
    versions: dict[str, int] = {}
    seq = 0
    frames: list[Frame] = []
    for index, (plan, step, t) in enumerate(emission):
        if step.kind == "noise" and "text" in step.f:
            frames.append(Frame(step.f["text"], t, frozenset()))
            continue
        oid = plan.order_id
        if step.kind == "order" and venue in ("btse", "tread"):
            base = plan.spec["ts0"] if venue == "btse" else plan.spec["k0"]
            keys[oid] = keys[oid] + step.dkey if oid in keys else base
        if venue == "btse":
            text, reports = _render_btse(plan, step, keys[oid])
        elif venue == "bybit":
            text, reports = _render_bybit(plan, step)
        elif venue == "tread":
            text, reports = _render_tread(plan, step, keys.get(oid, 0))
        else:
            seq += 1
            if skip_seq_before == index:
                seq += 1
            if step.kind == "noise":
                kind, data = (
                    "position-update",
                    {
                        "account_id": "100000",
                        "symbol": "AAPL",
                        "quantity": step.f["position"],
                        "average_cost": 171.25,
                    },
                )
                reports = ()
            else:
                if step.kind == "order":
                    versions[oid] = versions.get(oid, 0) + 1
                kind, data, reports = _render_cs(plan, step, versions.get(oid, 0))
            ts = _CS_T0 + round(t * _MS)
            frames.append(
                Frame(
                    cs_frame(kind, data, seq=seq, ts=ts),
                    t,
                    plan.ids,
                    reports,
                    seq,
                    cs_frame(kind, data, seq=seq, ts=ts + 90_000),
                )
            )
            continue
        frames.append(Frame(text, t, plan.ids, reports))
    return frames


def may_reorder(early: Frame, late: Frame, protect: frozenset[str]) -> bool:
    """Whether ``late`` (emitted after ``early``) may arrive first: the venue's ordering
    key must explain it for every order both report with different content."""
    if (early.orders | late.orders) & protect:
        return False
    for b in late.reports:
        for a in early.reports:
            if a.order_id != b.order_id or a.digest == b.digest:
                continue
            if a.key is None or b.key is None or b.key <= a.key:
                return False
    return True


def _batched(frames: list[Frame], joins: list[bool], protect: frozenset[str]) -> list[Frame]:
    """Merge frame ``i + 1`` into the batch before it where ``joins[i]``, both are arrays of
    one topic and the batch started at most 250 ms earlier (a venue batches what is ready
    together; the batch leaves when its last element is ready)."""
    out = [frames[0]]
    started = frames[0].emit_t
    for join, frame in zip(joins, frames[1:], strict=True):
        last = out[-1]
        merged = None
        if (
            join
            and frame.emit_t - started <= _MAX_BATCH_S
            and not (last.orders | frame.orders) & protect
        ):
            merged = _merge(last, frame)
        if merged is None:
            out.append(frame)
            started = frame.emit_t
        else:
            out[-1] = merged
    return out


def _merge(a: Frame, b: Frame) -> Frame | None:
    try:
        ja, jb = json.loads(a.text), json.loads(b.text)
    except ValueError:
        return None
    if not (
        isinstance(ja, dict)
        and isinstance(jb, dict)
        and ja.get("topic")
        and ja.get("topic") == jb.get("topic")
        and isinstance(ja.get("data"), list)
        and isinstance(jb.get("data"), list)
    ):
        return None
    text = json.dumps({"topic": ja["topic"], "data": ja["data"] + jb["data"]})
    return Frame(text, b.emit_t, a.orders | b.orders, a.reports + b.reports)


_SUBSCRIBED = json.dumps(
    {
        "timestamp": _CS_T0,
        "payload": {
            "type": "subscribe-activity-ack",
            "account_id": "100000",
            "success": True,
            "details": "Subscribed successfully",
        },
    }
)
_REPLAY_DONE = cs_frame("replay-complete", ts=_CS_T0 + 90_000)


@st.composite
def delivered(
    draw: st.DrawFn,
    frames: list[Frame],
    *,
    protect: frozenset[str] = frozenset(),
    batch: bool = True,
    reorder: bool = True,
    resend: bool = True,
    replay: bool = True,
) -> list[tuple[float, str]]:
    """Arrival times and texts: two passes of adjacent reorders allowed by
    :func:`may_reorder`, identical re-sends up to two messages later, and (Clear Street)
    a reconnect that replays every sequenced message sent so far. A message arrives no
    earlier than it was sent, so a delay is at most a few unit gaps (< settle window).
    Frames of the ``protect`` orders are neither reordered, re-sent nor batched. With
    ``batch``, consecutive BTSE or Bybit frames of one topic may first be merged into
    one ``data`` array."""
    if batch and len(frames) > 1:
        frames = _batched(
            frames,
            draw(st.lists(st.booleans(), min_size=len(frames) - 1, max_size=len(frames) - 1)),
            protect,
        )
    order = list(range(len(frames)))
    for _ in range(2 if reorder and len(order) > 1 else 0):
        flips = draw(
            st.lists(
                st.sampled_from([False, False, True]),
                min_size=len(order) - 1,
                max_size=len(order) - 1,
            )
        )
        i = 0
        while i < len(order) - 1:
            a, b = order[i], order[i + 1]
            if flips[i] and (a > b or may_reorder(frames[a], frames[b], protect)):
                order[i], order[i + 1] = b, a
                i += 2
            else:
                i += 1
    # (emission index, text): re-sends and replays are copies of earlier emissions.
    seq_out: list[tuple[int, str]] = [(i, frames[i].text) for i in order]
    if resend and order:
        marks = draw(st.lists(st.integers(0, 8), min_size=len(order), max_size=len(order)))
        for pos in range(len(order) - 1, -1, -1):
            src = order[pos]
            if marks[pos] < 3 and not frames[src].orders & protect:
                seq_out.insert(min(pos + 1 + marks[pos], len(seq_out)), (src, frames[src].text))
    sequenced = [i for i, f in enumerate(frames) if f.replay_text is not None]
    if replay and sequenced and draw(st.booleans()):
        cut = draw(st.integers(0, len(seq_out)))
        sent = max((i for i, _ in seq_out[:cut]), default=-1)
        burst = [(i, frames[i].replay_text or "") for i in sequenced if i <= sent]
        burst.sort(key=lambda item: frames[item[0]].seq or 0)
        seq_out[cut:cut] = [(sent, _SUBSCRIBED), *burst, (sent, _REPLAY_DONE)]
    arrivals: list[tuple[float, str]] = []
    now = 0.0
    for src, text in seq_out:
        now = max(now, frames[src].emit_t if src >= 0 else 0.0)
        arrivals.append((now, text))
    return arrivals


def play(venue: str, arrivals: list[tuple[float, str]], *, tail: float = SETTLE + 1) -> Run:
    """Feed the arrivals to a fresh reconciler, then let ``tail`` seconds pass."""
    run = Run(Reconciler(plugins=PLUGINS))
    start = run.t
    for t, text in arrivals:
        run.feed(venue, text, dt=start + t - run.t)
    run.wait(tail)
    return run
