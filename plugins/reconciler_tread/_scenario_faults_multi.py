"""The multi-order faults a Tread.fi script can inject, each on a fresh multi-order."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from reconciler.alerts import AlertCode
from reconciler.simulator import ExpectedAlert
from reconciler_tread._scenario import FaultResult, Timeline
from reconciler_tread._scenario_multi import (
    Multi,
    advance_leg,
    expect_multi,
    fill_leg,
    fill_rounds,
    start_multi,
)
from reconciler_tread._scenario_orders import client_order_id, dec, times

__all__ = [
    "child_set_mismatch",
    "one",
    "parent_aggregate_mismatch",
    "parent_terminal_with_active_child",
    "stuck_parent",
]


def one(code: AlertCode, order_id: str | None) -> tuple[ExpectedAlert, ...]:
    """The single alert a fault must produce."""
    return (ExpectedAlert(code.value, order_id),)


class _MultiRun:
    """A two-leg multi-order driven message by message, 0.2-1 s apart."""

    def __init__(self, tl: Timeline, t0: float) -> None:
        self.tl = tl
        opening = times(tl, t0, 3)  # the parent created, then each leg
        self.multi: Multi = start_multi(tl, iter(opening), client_id=client_order_id(tl))
        expect_multi(tl, t0, self.multi)
        self.fills = fill_rounds(self.multi, 3, tl.rng)
        self.at = opening[-1]

    def tick(self) -> float:
        """Move on to the next message."""
        self.at += self.tl.gap()
        return self.at

    def step(self, **overrides: Any) -> float:
        """The next leg fill, sent (``overrides`` alter the parent)."""
        leg, qty = self.fills.pop(0)
        at = self.tick()
        self.tl.send(at, fill_leg(self.tl, self.multi, leg, qty, at, **overrides))
        return at

    def complete(self, at: float | None = None) -> float:
        """Every remaining fill, then the parent COMPLETE (at ``at`` if given)."""
        while self.fills:
            self.step()
        self.at = at if at is not None else self.tick()
        self.multi.status = "COMPLETE"
        self.tl.send(self.at, self.multi.frame(self.tl, self.at, "order_completed"))
        return self.at


def child_set_mismatch(tl: Timeline, t0: float) -> FaultResult:
    run = _MultiRun(tl, t0)
    run.step()
    declared = [leg.id for leg in run.multi.legs] + [tl.uid()]
    at = run.step(child_order_ids=declared)
    run.complete()
    note = "the parent declares three children but carries two"
    return FaultResult(at, one(AlertCode.CHILD_SET_MISMATCH, run.multi.id), note)


def parent_aggregate_mismatch(tl: Timeline, t0: float) -> FaultResult:
    run = _MultiRun(tl, t0)
    run.step()
    leg, qty = run.fills.pop(0)
    at = run.tick()
    before = leg.notional
    kind = advance_leg(tl, leg, qty, at)
    # The parent counts the new fill's notional twice.
    doubled = Decimal(run.multi.snapshot()["executed_notional"]) + (leg.notional - before)
    tl.send(at, run.multi.frame(tl, at, kind, executed_notional=dec(doubled)))
    run.complete()
    note = "the parent's executed_notional counts a child fill twice"
    return FaultResult(at, one(AlertCode.PARENT_AGGREGATE_MISMATCH, run.multi.id), note)


def parent_terminal_with_active_child(tl: Timeline, t0: float) -> FaultResult:
    run = _MultiRun(tl, t0)
    # Fill until one leg is done and the other is not.
    while run.fills and not any(leg.done for leg in run.multi.legs):
        run.step()
    run.multi.status = "COMPLETE"
    at = run.tick()
    tl.send(at, run.multi.frame(tl, at, "order_completed"))
    # The working leg finishes only after the settle window.
    run.at = at + 8.0
    while run.fills:
        leg, qty = run.fills.pop(0)
        tl.send(run.at, fill_leg(tl, run.multi, leg, qty, run.at))
        run.at += tl.gap()
    note = "the parent is COMPLETE while one leg still works"
    return FaultResult(at, one(AlertCode.PARENT_TERMINAL_WITH_ACTIVE_CHILD, run.multi.id), note)


def stuck_parent(tl: Timeline, t0: float) -> FaultResult:
    run = _MultiRun(tl, t0)
    while run.fills:
        run.step()
    at = run.at
    run.complete(at=at + 8.0)
    note = "both legs are COMPLETE but the parent stays ACTIVE for 8 s"
    return FaultResult(at, one(AlertCode.STUCK_PARENT, run.multi.id), note)
