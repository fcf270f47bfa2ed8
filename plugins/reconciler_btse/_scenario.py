"""Seeded BTSE futures scenarios: where the stories and the faults go in a script.

A script is written on a :class:`Timeline` (script seconds from 0) by *stories*: one
order's life, from the execution system's expectation to its last notification. Clean
stories (``_scenario_orders.py``) fill the run; each fault is a story of its own on
fresh orders (``_scenario_faults.py``), so that what it must produce is exactly known.

The timeline and the placement of faults are the core's :mod:`reconciler.scripting`,
shared with every venue; this module adds BTSE's clock (epoch milliseconds).
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
    """A script being written, with BTSE's clock (:meth:`venue_ms`)."""

    def venue_ms(self, at: float) -> int:
        """The venue's clock, in epoch ms, for a message received at script time ``at``.

        The venue stamps a message a few milliseconds before it arrives.
        """
        return self.start_ms + round(at * 1000) - self.rng.randint(2, 30)


#: A BTSE fault story: writes one fault on a :class:`Timeline` from a start time.
FaultStory: TypeAlias = scripting.FaultStory[Timeline]
