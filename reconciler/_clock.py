"""The live clock: epoch seconds that advance with Trio's clock.

Venue timestamps are epoch times, so the engine and the simulators stamp frames with
epoch seconds; deriving them from ``trio.current_time()`` (anchored once to the wall
clock) keeps every timer of a test under Trio's autojump clock consistent.
"""

from __future__ import annotations

import time

import trio

__all__ = ["EpochClock"]


class EpochClock:
    """Epoch seconds now, moving with Trio's clock. Create it inside ``trio.run``."""

    __slots__ = ("_epoch0", "_trio0")

    def __init__(self, epoch: float | None = None) -> None:
        self._epoch0 = time.time() if epoch is None else epoch
        self._trio0 = trio.current_time()

    def now(self) -> float:
        """The current epoch time in seconds."""
        return self._epoch0 + (trio.current_time() - self._trio0)

    def now_ms(self) -> int:
        """The current epoch time in whole milliseconds."""
        return int(self.now() * 1000)
