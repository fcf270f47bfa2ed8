"""The frames every benchmark measures: each venue simulator's clean flow, held in memory.

A venue's workload is its simulator's clean script (order acknowledgements, partial and
full fills, cancels, rejects, executions where the venue streams them, Tread.fi's
multi-order snapshots), published through the simulator exactly as it goes on the wire,
and repeated with fresh seeds until it holds the frames asked for. The expectations the
script registers are kept, in order, so the core runs with every check on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.events import Expectation
from reconciler.plugin import VenuePlugin
from reconciler.simulator import Expect, Send

__all__ = ["ACCOUNT", "START_MS", "Workload", "venue_workload"]

ACCOUNT = "main"
#: Epoch milliseconds at which the first script starts (2025-07-10, like the samples).
START_MS = 1_752_147_100_000
#: Seconds of scripted flow generated per seed.
_CHUNK = 3600.0


@dataclass(frozen=True, slots=True)
class Workload:
    """One venue's frames in receive order.

    ``items`` interleaves frames (``str``) and the expectations registered before them,
    each with its receive time in epoch seconds; ``frames`` is the frames alone.
    """

    venue: str
    account: str
    items: tuple[tuple[float, str | Expectation], ...]
    frames: tuple[str, ...]

    @property
    def bytes(self) -> int:
        """Total size of the frames in UTF-8 bytes."""
        return sum(len(f.encode()) for f in self.frames)


def venue_workload(plugin: VenuePlugin, frames: int, seed: int = 1) -> Workload:
    """At least ``frames`` frames of clean flow for ``plugin``'s venue (deterministic)."""
    credentials: Mapping[str, Mapping[str, str]] = {
        ACCOUNT: dict.fromkeys(plugin.credential_names, "bench")
    }
    sim = plugin.simulator(credentials)
    items: list[tuple[float, str | Expectation]] = []
    count = 0
    chunk = 0
    while count < frames:
        start_ms = START_MS + int(chunk * _CHUNK * 1000)  # chunks never overlap
        # Small workloads (smoke runs, tests) need not script a whole hour.
        duration = _CHUNK if frames >= 10_000 else _CHUNK / 6
        script = sim.script(ACCOUNT, seed=seed + chunk, start_ms=start_ms, duration=duration)
        for step in script.steps:
            t = start_ms / 1000 + step.at
            if isinstance(step, Expect):
                items.append((t, step.expectation))
            elif isinstance(step, Send) and not step.lost:
                now_ms = int(start_ms + step.at * 1000)
                wire = [step.message] if step.raw else sim.publish(ACCOUNT, step.message, now_ms)
                for frame in wire:
                    items.append((t, frame))
                    count += 1
        chunk += 1
    return Workload(
        venue=plugin.name,
        account=ACCOUNT,
        items=tuple(items),
        frames=tuple(x for _, x in items if isinstance(x, str)),
    )
