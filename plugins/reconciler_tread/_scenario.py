"""Seeded Tread.fi scenarios: where the stories and the faults go in a script.

A script is written on a :class:`Timeline` (script seconds from 0) by *stories*: one
order's (or one multi-order's) life, from the execution system's expectation to its
last report. Clean stories (``_scenario_clean.py``) fill the run; each fault is a story
of its own on fresh orders (``_scenario_faults.py``, ``_scenario_multi.py``), so that
what it must produce is exactly known. The order models and frame builders are in
``_scenario_orders.py``.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from reconciler.events import Expectation
from reconciler.simulator import Expect, ExpectedAlert, Injected, Script, Send, Step

__all__ = [
    "CONNECTION_FAULTS",
    "QUIET_AFTER",
    "FaultResult",
    "FaultStory",
    "Timeline",
    "build_script",
]

#: Faults that take the account's connection away: nothing is sent for this long after
#: them, so the engine can notice, reconnect and resubscribe before the flow resumes
#: (the harness pauses a script while its account has no subscriber, and a pause would
#: shift the receive times of frames whose venue timestamps are already written).
QUIET_AFTER: Final = 15.0
CONNECTION_FAULTS: Final = frozenset({"disconnect", "stall", "auth_refusal"})


class Timeline:
    """The steps of a script being written (script seconds) and the faults it injected."""

    def __init__(self, rng: random.Random, venue: str, account: str, start_ms: int) -> None:
        self.rng = rng
        self.venue = venue
        self.account = account
        self.start_ms = start_ms
        self.steps: list[Step] = []

    def fork(self) -> Timeline:
        """An empty timeline sharing the random source, for a story that may not fit."""
        return Timeline(self.rng, self.venue, self.account, self.start_ms)

    def merge(self, other: Timeline) -> None:
        """Take over the steps of a forked timeline."""
        self.steps.extend(other.steps)

    @property
    def end(self) -> float:
        """The time of the last step so far (0 when empty)."""
        return max((s.at for s in self.steps), default=0.0)

    def uid(self) -> str:
        """A fresh order id: a version-4 UUID drawn from the seeded random source."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def venue_us(self, at: float) -> int:
        """The venue's clock, in epoch µs, for a message received at script time ``at``.

        The venue stamps a message a few milliseconds before it arrives.
        """
        latency = self.rng.randint(2_000, 30_000)
        return self.start_ms * 1000 + round(at * 1_000_000) - latency

    def add(self, step: Step) -> None:
        """Any other step (a disconnect, a stall, a refused login)."""
        self.steps.append(step)

    def send(self, at: float, frame: str, *, raw: bool = False, lost: bool = False) -> None:
        """Publish ``frame`` at ``at`` (``raw``: exactly this text; ``lost``: never arrives)."""
        self.steps.append(Send(at=round(at, 3), message=frame, raw=raw, lost=lost))

    def expect(
        self,
        at: float,
        client_id: str,
        symbol: str,
        side: str,
        quantity: Decimal,
        price: Decimal | None = None,
    ) -> None:
        """The execution system registers the order it is about to send."""
        exp = Expectation(
            venue=self.venue,
            account=self.account,
            client_order_id=client_id,
            symbol=symbol,
            side=side,
            quantity=quantity,
            price=price,
        )
        self.steps.append(Expect(at=round(at, 3), expectation=exp))

    def gap(self, low: float = 0.2, high: float = 1.0) -> float:
        """A pause between two messages of one order."""
        return self.rng.uniform(low, high)


@dataclass(frozen=True)
class FaultResult:
    """What a fault story reports: when the fault happens and what it must produce."""

    at: float
    expects: tuple[ExpectedAlert, ...]
    note: str


FaultStory = Callable[[Timeline, float], FaultResult]


def build_script(
    tl: Timeline,
    *,
    duration: float,
    faults: Sequence[str],
    stories: Callable[[Timeline, float], None],
    fault_stories: dict[str, FaultStory],
) -> Script:
    """Place the faults evenly over ``duration`` and fill the rest with clean stories.

    A connection fault (disconnect, stall, auth refusal) owns the :data:`QUIET_AFTER`
    seconds after it: no story of any kind sends then, and none is in flight across it.
    Other faults run on their own orders alongside the clean flow. The script runs past
    ``duration`` when the faults need more room.
    """
    names = list(dict.fromkeys(faults))
    for name in names:
        if name not in fault_stories:
            raise ValueError(f"unknown fault {name!r} for venue {tl.venue!r}")
    lead = 0.5
    barriers: list[tuple[float, float]] = []
    injected: list[Injected] = []
    latest = lead  # the end of everything placed so far
    for i, name in enumerate(names):
        desired = lead + max(duration - 2 * lead, 1.0) * (i + 0.5) / len(names)
        start = max(desired, barriers[-1][1] + 0.5 if barriers else lead)
        if name in CONNECTION_FAULTS:
            start = max(start, latest + 0.5)
        sub = tl.fork()
        result = fault_stories[name](sub, start)
        tl.merge(sub)
        end = max(sub.end, result.at)
        if name in CONNECTION_FAULTS:
            end = result.at + QUIET_AFTER
            barriers.append((result.at, end))
        latest = max(latest, end)
        injected.append(
            Injected(
                fault=name,
                venue=tl.venue,
                account=tl.account,
                at=round(result.at, 3),
                expects=result.expects,
                note=result.note,
            )
        )
    finish = max(duration, latest)
    edges = [lead, *(x for b in barriers for x in b), finish]
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        _fill(tl, a + (0.5 if a > lead else 0.0), b - 0.5, stories)
    steps = sorted(tl.steps, key=lambda s: s.at)  # stable: equal times keep their order
    return Script(
        venue=tl.venue,
        account=tl.account,
        steps=tuple(steps),
        injected=tuple(injected),
        strict="UNKNOWN_ORDER" in names,
    )


def _fill(
    tl: Timeline, start: float, stop: float, stories: Callable[[Timeline, float], None]
) -> None:
    """Clean stories that start and end within ``[start, stop]``, overlapping like real flow."""
    t = start
    while t < stop:
        sub = tl.fork()
        stories(sub, t)
        if sub.end > stop:
            return
        tl.merge(sub)
        sends = sum(isinstance(s, Send) for s in sub.steps)
        # The next order starts while this one still works: ~one message every 0.2-1 s.
        t += max(0.3, sends * tl.rng.uniform(0.25, 0.6))
