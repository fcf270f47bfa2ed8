"""Helpers for writing simulator scripts: a timeline of steps and a builder that places
named faults over a run.

A venue simulator's :meth:`~reconciler.simulator.VenueSimulator.script` is easiest to
write as *stories*: functions that write one order's life (from the execution system's
expectation to the venue's last message about it) on a :class:`Timeline`, in script
seconds from 0. A *clean story* ``story(tl, t0)`` writes flow that must raise nothing; a
*fault story* ``fault(tl, t0)`` writes one named fault on orders of its own and returns
a :class:`FaultResult` saying when the fault happens and which alerts it must produce.
:func:`build_script` spreads the requested faults evenly over the run, fills the rest
with clean stories and returns the finished :class:`~reconciler.simulator.Script`::

    import json
    import random
    from decimal import Decimal

    from reconciler.scripting import FaultResult, Timeline, build_script


    def clean(tl: Timeline, t0: float) -> None:
        oid = tl.uid()
        tl.expect(t0, oid, "BTC-USD", "buy", Decimal(1))
        tl.send(t0 + tl.gap(), json.dumps({"id": oid, "status": "filled"}))


    def drop(tl: Timeline, t0: float) -> FaultResult:
        oid = tl.uid()
        tl.expect(t0, oid, "BTC-USD", "sell", Decimal(2))
        tl.send(t0 + tl.gap(), json.dumps({"id": oid, "status": "new"}), lost=True)
        return FaultResult(t0, (), "an acknowledgement lost in transit")


    tl = Timeline(random.Random(7), "acme", "main", 1_752_147_100_000)
    script = build_script(
        tl, duration=60.0, faults=["drop"], stories=clean, fault_stories={"drop": drop}
    )

Everything random is drawn from the timeline's ``rng``, so a script is a pure function
of its seed. A venue's clock (the timestamps it writes into its messages) differs from
venue to venue: subclass :class:`Timeline` to add it, as the built-in plugins do; the
builder and :meth:`Timeline.fork` keep the subclass.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Self, TypeAlias, TypeVar

from reconciler.events import Expectation
from reconciler.simulator import Expect, ExpectedAlert, Injected, Script, Send, Step

__all__ = [
    "CONNECTION_FAULTS",
    "QUIET_AFTER",
    "FaultResult",
    "FaultStory",
    "Story",
    "Timeline",
    "build_script",
]

#: Seconds after a connection fault during which :func:`build_script` lets nothing be
#: sent, so the engine can notice, reconnect and resubscribe before the flow resumes
#: (the harness pauses a script while its account has no subscriber, and a pause would
#: shift the receive times of frames whose venue timestamps are already written).
QUIET_AFTER: Final = 15.0

#: The faults that take the account's connection away (see :data:`QUIET_AFTER`).
CONNECTION_FAULTS: Final = frozenset({"disconnect", "stall", "auth_refusal"})


class Timeline:
    """The steps of a script being written, in script seconds, and its random source.

    ``rng`` is the only source of randomness a story should use; ``venue`` and
    ``account`` go into every expectation and injected fault; ``start_ms`` is the epoch
    time (ms) of script time 0, from which a subclass derives the venue's timestamps.
    :meth:`fork` builds a timeline of the same class with these four arguments, so a
    subclass keeps this constructor's signature.
    """

    def __init__(self, rng: random.Random, venue: str, account: str, start_ms: int) -> None:
        self.rng = rng
        self.venue = venue
        self.account = account
        self.start_ms = start_ms
        self.steps: list[Step] = []

    def fork(self) -> Self:
        """An empty timeline sharing the random source, for a story that may not fit."""
        return type(self)(self.rng, self.venue, self.account, self.start_ms)

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
        """A pause between two messages of one order: uniform in ``[low, high]`` seconds."""
        return self.rng.uniform(low, high)


@dataclass(frozen=True)
class FaultResult:
    """What a fault story reports: when the fault happens and what it must produce.

    ``at`` is the script time of the fault (for a connection fault, when the connection
    goes), ``expects`` the alerts the engine must raise (empty: it must absorb the fault
    silently) and ``note`` a one-line description for people reading the results.
    """

    at: float
    expects: tuple[ExpectedAlert, ...]
    note: str


TimelineT = TypeVar("TimelineT", bound=Timeline)

#: A clean story: ``story(tl, t0)`` writes one order's normal life on ``tl`` from ``t0``.
Story: TypeAlias = Callable[[TimelineT, float], None]

#: A fault story: ``fault(tl, t0)`` writes one fault on orders of its own, from ``t0``
#: (a connection fault exactly at ``t0``), and says what it must produce.
FaultStory: TypeAlias = Callable[[TimelineT, float], FaultResult]


def build_script(
    tl: TimelineT,
    *,
    duration: float,
    faults: Sequence[str],
    stories: Story[TimelineT],
    fault_stories: Mapping[str, FaultStory[TimelineT]],
) -> Script:
    """Place the faults evenly over ``duration`` and fill the rest with clean stories.

    Each name in ``faults`` (repeats ignored) is written once by its story in
    ``fault_stories``, in the order given; a name with no story raises
    :class:`ValueError`. A connection fault (:data:`CONNECTION_FAULTS`) starts after
    everything placed before it and owns the :data:`QUIET_AFTER` seconds after it: no
    story of any kind sends then, and none is in flight across it. Other faults run on
    their own orders alongside the clean flow, written by ``stories`` from 0.5 s on, a
    new story starting while the previous one still runs. The script runs past
    ``duration`` when the faults need more room. It asks for a strict account when
    ``UNKNOWN_ORDER`` is among the faults. Every step the timeline already holds is kept.
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


def _fill(tl: TimelineT, start: float, stop: float, stories: Story[TimelineT]) -> None:
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
