"""Seeded Clear Street scenarios: a US-equities trading day, with named faults injected.

:func:`build_script` writes about ``duration`` seconds of one account's ``activity``
channel, deterministically from ``seed``: day limit orders filled in one to three
trades, partially filled then cancelled, cancelled unfilled, ``ioc`` orders, market
orders, short sales, and the occasional rejected order (ORDER_REJECTED, info: the one
alert clean flow may raise). Every order goes ``pending-new`` -> ``new`` -> ... with
``version`` up by one per update; every trade-notice is followed by the order-update
reflecting it (``filled_quantity`` is the sum of the trades, ``average_price`` their
volume-weighted price), a ``position-update`` and sometimes a ``buying-power-update``.
Two order lanes run side by side, a message every 0.2-1 s on each; the execution system
registers every order (an Expect step) just before the venue first reports it.

The script's messages are payloads: the simulator numbers and wraps them, stamped with
the time they are actually sent. A fault that repeats a numbered message (a duplicate, a
late delivery, a conflicting re-send, a cut-off frame) asks the simulator for it, so a
script works on any simulator and any clock.

Faults are spread evenly over the run, each in its own episode on fresh orders (see
:mod:`reconciler_clearstreet._scenario_faults`); background orders never overlap an
episode. Episodes follow each other; one that
needs quiet time afterwards pushes the next back.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Final

from reconciler.alerts import AlertCode
from reconciler.simulator import Injected, Script

from ._scenario_faults import FAULTS
from ._scenario_kit import Writer

__all__ = ["FAULT_NAMES", "MAX_FLOW", "build_script"]

VENUE: Final = "clearstreet"
#: The faults :func:`build_script` can inject: the transport faults, then alert codes.
FAULT_NAMES: Final = tuple(FAULTS)
#: The longest a background order's life may take (every flow below stays inside it).
MAX_FLOW: Final = 10.0

Flow = Callable[[Writer, float], float]


def limit_fill(w: Writer, t: float) -> float:
    """A day limit order filled in one to three trades."""
    o = w.new_order(t)
    t = w.place(t, o)
    parts = w.split(o.qty, w.rng.randint(1, 3))
    for i, qty in enumerate(parts):
        t = w.fill(t + w.gap(), o, qty, "filled" if i == len(parts) - 1 else "partially-filled")
    return t


def partial_cancel(w: Writer, t: float) -> float:
    """A day limit order partly filled, then cancelled."""
    o = w.new_order(t)
    t = w.place(t, o)
    for qty in w.split(o.qty, w.rng.randint(2, 3))[:-1]:
        t = w.fill(t + w.gap(), o, qty, "partially-filled")
    return w.cancel(t + w.gap(), o)


def cancel(w: Writer, t: float) -> float:
    """A day limit order cancelled before anything filled."""
    o = w.new_order(t)
    return w.cancel(w.place(t, o) + w.gap() + w.gap(), o)


def ioc(w: Writer, t: float) -> float:
    """An ``ioc`` limit order: filled at once, or partly filled and the rest cancelled."""
    o = w.new_order(t, tif="ioc")
    t = w.place(t, o)
    if w.rng.random() < 0.6:
        return w.fill(t + w.tight(), o, o.qty, "filled")
    t = w.fill(t + w.tight(), o, w.split(o.qty, 2)[0], "partially-filled")
    return w.update(t + w.tight(), o, "canceled", "execution-report").at


def market(w: Writer, t: float) -> float:
    """A day market order filled at once in one or two trades."""
    o = w.new_order(t, order_type="market")
    t = w.place(t, o)
    parts = w.split(o.qty, w.rng.randint(1, 2))
    for i, qty in enumerate(parts):
        t = w.fill(t + w.tight(), o, qty, "filled" if i == len(parts) - 1 else "partially-filled")
    return t


def rejected(w: Writer, t: float) -> float:
    """An order the venue rejects (ORDER_REJECTED, info)."""
    o = w.new_order(t)
    w.expect(t, o)
    t = w.update(t + w.rng.uniform(0.05, 0.3), o, "pending-new", "place").at
    return w.update(t + w.rng.uniform(0.02, 0.2), o, "rejected", "reject").at


#: The background flows and how often each is picked.
FLOWS: Final[tuple[tuple[Flow, int], ...]] = (
    (limit_fill, 40),
    (partial_cancel, 15),
    (cancel, 15),
    (ioc, 12),
    (market, 15),
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

    Raises ``ValueError`` for a fault name not in :data:`FAULT_NAMES`. The script asks for a
    strict account (``Script.strict``) when UNKNOWN_ORDER is among the faults.
    """
    unknown = [name for name in faults if name not in FAULTS]
    if unknown:
        raise ValueError(f"unknown Clear Street faults: {', '.join(map(repr, unknown))}")
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
