"""Seeded Bybit scenarios: inverse-perpetual order flow, with named faults injected.

:func:`build_script` writes about ``duration`` seconds of one account's private stream,
deterministically from ``seed``: limit orders filled in one to three executions,
partially filled then cancelled, cancelled unfilled, market orders (ImmediateOrCancel),
stop orders (``stop_order`` Untriggered -> Triggered -> Active, then the live order on
``order`` under the same id), stop orders cancelled before they trigger, and the
occasional rejected order (ORDER_REJECTED, info: the one alert clean flow may raise).
Every execution comes with the order report reflecting it and a ``position`` update.
Two order lanes run side by side, a message every 0.2-1 s on each; the execution system
registers every order (an Expect step) just before the venue first reports it.

Faults are spread evenly over the run, each in its own episode on fresh orders (see
:mod:`reconciler_bybit._scenario_faults`); background orders never overlap an episode,
so each fault raises exactly the alerts it lists. Episodes follow each other;
one that needs quiet time afterwards pushes the next back.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Final

from reconciler.alerts import AlertCode
from reconciler.simulator import Injected, Script

from ._scenario_faults import FAULTS
from ._scenario_kit import Writer
from ._scenario_orders import Order

__all__ = ["FAULT_NAMES", "MAX_FLOW", "build_script"]

VENUE: Final = "bybit"
#: The faults :func:`build_script` can inject: the transport faults, then alert codes.
FAULT_NAMES: Final = tuple(FAULTS)
#: The longest a background order's life may take (every flow below stays inside it).
MAX_FLOW: Final = 10.0

Flow = Callable[[Writer, float], float]


def _cancel(w: Writer, t: float, o: Order) -> float:
    """The trader cancels ``o`` at ``t`` (sometimes PendingCancel first)."""
    if w.rng.random() < 0.4:
        t = w.report(t, o, "PendingCancel").at + w.tight()
    return w.report(t, o, "Cancelled", cancel_type="CancelByUser").at


def limit_fill(w: Writer, t: float) -> float:
    """A limit order filled in one to three executions."""
    o = w.new_order(t)
    t = w.place(t, o)
    parts = w.split(o.qty, w.rng.randint(1, 3))
    for i, qty in enumerate(parts):
        t = w.fill(t + w.gap(), o, qty, "Filled" if i == len(parts) - 1 else "PartiallyFilled")
    return t


def partial_cancel(w: Writer, t: float) -> float:
    """A limit order partly filled, then cancelled."""
    o = w.new_order(t)
    t = w.place(t, o)
    for qty in w.split(o.qty, w.rng.randint(2, 3))[:-1]:
        t = w.fill(t + w.gap(), o, qty, "PartiallyFilled")
    return _cancel(w, t + w.gap(), o)


def cancel(w: Writer, t: float) -> float:
    """A limit order cancelled before anything filled."""
    o = w.new_order(t)
    return _cancel(w, w.place(t, o) + w.gap() + w.gap(), o)


def market(w: Writer, t: float) -> float:
    """A market order (ImmediateOrCancel) swept in one or two executions at once."""
    o = w.new_order(t, order_type="Market", tif="ImmediateOrCancel")
    t = w.place(t, o)
    parts = w.split(o.qty, w.rng.randint(1, 2))
    for i, qty in enumerate(parts):
        t = w.fill(t + w.tight(), o, qty, "Filled" if i == len(parts) - 1 else "PartiallyFilled")
    return t


def stop(w: Writer, t: float) -> float:
    """A stop order: Untriggered, Triggered, Active on ``stop_order``, then the live
    order (same id) on ``order`` fills."""
    market_stop = w.rng.random() < 0.5
    o = w.new_order(
        t,
        order_type="Market" if market_stop else "Limit",
        tif="ImmediateOrCancel" if market_stop else "GoodTillCancel",
        stop=True,
    )
    w.expect(t, o)
    t = w.stop_report(t + w.rng.uniform(0.05, 0.3), o, "Untriggered").at
    t = w.stop_report(t + w.gap() + w.gap(), o, "Triggered").at
    t = w.stop_report(t + w.tight(), o, "Active").at
    t = w.report(t + w.tight(), o, "New").at
    parts = w.split(o.qty, 1 if market_stop else w.rng.randint(1, 2))
    for i, qty in enumerate(parts):
        step = w.tight() if market_stop else w.gap()
        t = w.fill(t + step, o, qty, "Filled" if i == len(parts) - 1 else "PartiallyFilled")
    return t


def stop_cancel(w: Writer, t: float) -> float:
    """A stop order cancelled before it triggers."""
    o = w.new_order(t, stop=True)
    w.expect(t, o)
    t = w.stop_report(t + w.rng.uniform(0.05, 0.3), o, "Untriggered").at
    return w.stop_report(t + w.gap() + w.gap(), o, "Cancelled", cancel_type="CancelByUser").at


def rejected(w: Writer, t: float) -> float:
    """An order the venue rejects (ORDER_REJECTED, info)."""
    o = w.new_order(t)
    w.expect(t, o)
    t = w.report(t + w.rng.uniform(0.05, 0.3), o, "Created").at
    return w.report(t + w.tight(), o, "Rejected").at


#: The background flows and how often each is picked.
FLOWS: Final[tuple[tuple[Flow, int], ...]] = (
    (limit_fill, 34),
    (partial_cancel, 14),
    (cancel, 14),
    (market, 14),
    (stop, 10),
    (stop_cancel, 6),
    (rejected, 3),
)


def build_script(
    account: str,
    *,
    seed: int,
    start_ms: int,
    duration: float,
    faults: Sequence[str] = (),
) -> Script:
    """About ``duration`` seconds of order flow (longer only when the faults' episodes
    need more room than that: each runs on its own, one after the other).

    Raises ``ValueError`` for a fault name not in :data:`FAULT_NAMES`. The script asks
    for a strict account (``Script.strict``) when UNKNOWN_ORDER is among the faults.
    """
    unknown = [name for name in faults if name not in FAULTS]
    if unknown:
        raise ValueError(f"unknown Bybit faults: {', '.join(map(repr, unknown))}")
    rng = random.Random(seed)  # noqa: S311 - reproducible scenarios, not secrets
    w = Writer(VENUE, account, rng, start_ms)
    # Faults are spread evenly over ``duration``; an episode that runs long (a quiet
    # stretch after a disconnect) pushes the next one back instead of overlapping it.
    spacing = duration / len(faults) if faults else duration
    free_from = 0.5
    reserved: list[tuple[float, float]] = []
    injected: list[Injected] = []
    for i, name in enumerate(faults):
        start = round(max(spacing * (i + 0.25), free_from), 3)
        episode = FAULTS[name](w, start)
        free_from = episode.end + 1.5
        reserved.append((start - 1.0, episode.end + 1.0))
        injected.append(
            Injected(
                fault=name,
                venue=VENUE,
                account=account,
                at=episode.at,
                expects=episode.expects,
                note=episode.note,
            )
        )
    total = max(duration, free_from)
    flows, weights = zip(*FLOWS, strict=True)
    for lane in range(2):
        t = round(0.3 + lane * rng.uniform(0.3, 2.0), 3)
        while t + MAX_FLOW <= total:
            clash = next((r for r in reserved if t < r[1] and r[0] < t + MAX_FLOW), None)
            if clash is not None:
                t = round(clash[1] + rng.uniform(0.2, 1.0), 3)
                continue
            flow = rng.choices(flows, weights)[0]
            end = flow(w, t)
            assert end <= t + MAX_FLOW, (flow.__name__, t, end)
            t = round(end + rng.uniform(0.2, 2.5), 3)
    return Script(
        venue=VENUE,
        account=account,
        steps=w.steps(),
        injected=tuple(injected),
        strict=AlertCode.UNKNOWN_ORDER.value in faults,
    )
