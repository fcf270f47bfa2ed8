"""A deterministic timer queue for settle-window and deadline checks.

The core never reads a clock: checks are scheduled at a due time and run when the
caller advances time past it. Ties run in scheduling order, so a replay of the same
input always runs the same checks in the same order.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from enum import IntEnum

#: Below this many pending checks the set is never rebuilt (not worth it).
_SHRINK_FROM = 1024


class Check(IntEnum):
    """What a scheduled check re-examines when it comes due."""

    EXECUTIONS = 1
    FILL_GAP = 2
    SEQUENCE_GAP = 3
    ORPHAN = 4
    PARENT = 5
    STALE = 6
    RETIRE = 7
    UNACKNOWLEDGED = 8
    UNKNOWN_ORDER = 9
    RETIRE_EXPECTATION = 10


Subject = tuple[str, ...]


class TimerQueue:
    """Checks ordered by due time; :meth:`pop_due` hands them out in order."""

    __slots__ = ("_counter", "_heap", "_peak", "_pending")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Check, Subject]] = []
        # A plain int, not itertools.count: the queue is pickled into state snapshots.
        self._counter = 0
        # Checks re-examine current state, so the same check for the same subject at the
        # same time is one check (a multi-order frame touches its parent once per child).
        self._pending: set[tuple[float, Check, Subject]] = set()
        # A set never shrinks as items leave it: after a burst it is rebuilt (below), so
        # a quiet queue does not keep the burst's table.
        self._peak = 0

    def schedule(self, due: float, check: Check, subject: Subject) -> None:
        """Run ``check`` for ``subject`` once time reaches ``due`` (once, however often asked)."""
        key = (due, check, subject)
        if key in self._pending:
            return
        self._pending.add(key)
        self._peak = max(self._peak, len(self._pending))
        self._counter += 1
        heapq.heappush(self._heap, (due, self._counter, check, subject))

    def pop_due(self, now: float) -> tuple[float, Check, Subject] | None:
        """The earliest check due at or before ``now``, removed; ``None`` if none is due."""
        if self._heap and self._heap[0][0] <= now:
            due, _, check, subject = heapq.heappop(self._heap)
            pending = self._pending
            pending.discard((due, check, subject))
            if self._peak > _SHRINK_FROM and len(pending) * 4 < self._peak:
                self._pending = set(pending)
                self._peak = len(pending)
            return due, check, subject
        return None

    def next_due(self) -> float | None:
        """When the earliest pending check is due, if any."""
        return self._heap[0][0] if self._heap else None

    def __len__(self) -> int:
        return len(self._heap)

    def shift(self, delta: float) -> None:
        """Postpone every pending check by ``delta`` seconds (order is unchanged)."""
        self._heap = [(due + delta, n, check, subject) for due, n, check, subject in self._heap]
        self._pending = {(due + delta, check, subject) for due, check, subject in self._pending}

    def compact(self, keep: Callable[[Check, Subject], bool]) -> int:
        """Drop the pending checks ``keep`` rejects (checks of forgotten orders, which
        would find nothing when they came due); returns how many were dropped. The
        others keep their order."""
        before = len(self._heap)
        self._heap = [entry for entry in self._heap if keep(entry[2], entry[3])]
        heapq.heapify(self._heap)
        self._pending = {(due, check, subject) for due, _, check, subject in self._heap}
        self._peak = len(self._pending)
        return before - len(self._heap)

    def pending(self) -> list[tuple[float, Check, Subject]]:
        """Every pending check as ``(due, check, subject)``, in the order they will run."""
        return [(due, check, subject) for due, _, check, subject in sorted(self._heap)]
