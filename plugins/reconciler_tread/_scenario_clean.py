"""Clean Tread.fi flow: single orders and multi-orders living their documented lives.

Nothing here may raise an alert: every report is consistent, every order is expected,
ends before its ``time_end``, and a multi-order ends with (or just after) its last leg.
"""

from __future__ import annotations

from reconciler_tread._scenario import Timeline
from reconciler_tread._scenario_multi import expect_multi, fill_leg, fill_rounds, start_multi
from reconciler_tread._scenario_orders import expect_single, new_single, split, times

__all__ = ["clean_story", "multi_story", "single_story"]


def single_story(tl: Timeline, t0: float) -> None:
    """One order: created, activated, filled in portions; completed, canceled or paused."""
    rng = tl.rng
    kind = rng.choices(("complete", "cancel", "pause", "unfilled"), weights=(6, 2, 1, 1))[0]
    ts = iter(times(tl, t0, 12))
    at = next(ts)
    order = new_single(tl, at, length=12.0)
    expect_single(tl, t0, order)
    tl.send(at, order.frame(tl, at, "order_created"))
    order.status = "ACTIVE"
    at = next(ts)
    tl.send(at, order.frame(tl, at, "order_activated"))
    portions = split(order.target, order.pair.lot, rng.randint(2, 5), rng)
    if kind == "cancel":
        portions = portions[: rng.randint(1, len(portions) - 1)] if len(portions) > 1 else []
    elif kind == "unfilled":
        portions = []
    for n, qty in enumerate(portions):
        if kind == "pause" and n == 1:
            for status, update in (("PAUSED", "order_paused"), ("ACTIVE", "order_activated")):
                order.status = status
                at = next(ts)
                tl.send(at, order.frame(tl, at, update))
        order.fill(qty, order.price(rng))
        if order.done and rng.random() < 0.5:
            order.status = "FINISHER"  # the last portion is executing
        at = next(ts)
        tl.send(at, order.frame(tl, at, "order_fill_received"))
    order.status = "COMPLETE" if order.done else "CANCELED"
    at = next(ts)
    tl.send(at, order.frame(tl, at, "order_completed" if order.done else "order_canceled"))


def multi_story(tl: Timeline, t0: float) -> None:
    """A multi-order: created, its two legs created and filled in turns, then COMPLETE
    (or CANCELED together with its unfinished legs)."""
    rng = tl.rng
    ts = iter(times(tl, t0, 16))
    multi = start_multi(tl, ts)
    expect_multi(tl, t0, multi)
    fills = fill_rounds(multi, rng.randint(2, 4), rng)
    cancel = rng.random() < 0.25
    if cancel:
        fills = fills[: rng.randint(1, len(fills) - 1)]
    for leg, qty in fills:
        at = next(ts)
        tl.send(at, fill_leg(tl, multi, leg, qty, at))
    at = next(ts)
    if cancel:
        for leg in multi.legs:
            if not leg.done:
                leg.status = "CANCELED"
                leg.touch(tl, at)
        multi.status = "CANCELED"
        tl.send(at, multi.frame(tl, at, "order_canceled"))
        return
    multi.status = "COMPLETE"
    tl.send(at, multi.frame(tl, at, "order_completed"))


def clean_story(tl: Timeline, t0: float) -> None:
    """One clean story: mostly single orders, sometimes a multi-order."""
    if tl.rng.random() < 0.3:
        multi_story(tl, t0)
    else:
        single_story(tl, t0)
