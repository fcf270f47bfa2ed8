"""Seeded Tread.fi scenarios: where the stories and the faults go in a script.

A script is written on a :class:`Timeline` (script seconds from 0) by *stories*: one
order's (or one multi-order's) life, from the execution system's expectation to its
last report. Clean stories (``_scenario_clean.py``) fill the run; each fault is a story
of its own on fresh orders (``_scenario_faults.py``, ``_scenario_multi.py``), so that
what it must produce is exactly known. The order models and frame builders are in
``_scenario_orders.py``.

The timeline and the placement of faults are the core's :mod:`reconciler.scripting`,
shared with every venue; this module adds Tread.fi's clock (epoch microseconds).
"""

from __future__ import annotations

from typing import TypeAlias

from reconciler import scripting
from reconciler.scripting import FaultResult, build_script

__all__ = [
    "FaultResult",
    "FaultStory",
    "Timeline",
    "build_script",
]


class Timeline(scripting.Timeline):
    """A script being written, with Tread.fi's clock (:meth:`venue_us`)."""

    def venue_us(self, at: float) -> int:
        """The venue's clock, in epoch µs, for a message received at script time ``at``.

        The venue stamps a message a few milliseconds before it arrives.
        """
        latency = self.rng.randint(2_000, 30_000)
        return self.start_ms * 1000 + round(at * 1_000_000) - latency


#: A Tread.fi fault story: writes one fault on a :class:`Timeline` from a start time.
FaultStory: TypeAlias = scripting.FaultStory[Timeline]
