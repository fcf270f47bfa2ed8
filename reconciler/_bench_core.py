"""Core throughput per venue: parse + reconcile against the decode-only ceiling and a
naive baseline, on the same frames, in the same run.

For each venue with a simulator, the venue's clean flow (:mod:`reconciler._bench_workload`)
is held in memory and timed three ways, each the best of a few repetitions:

* **parse + reconcile**: a fresh :class:`~reconciler.core.Reconciler` with every check on
  is fed every frame (and registered every expectation) in receive order, exactly as a
  replay does;
* **decode-only ceiling**: the plugin's :meth:`~reconciler.benchkit.BenchKit.decode`, the
  same typed msgspec decoders and nothing else;
* **naive baseline**: the plugin's :meth:`~reconciler.benchkit.BenchKit.naive`,
  ``json.loads`` into dicts plus the same per-report arithmetic.

Rates are frames per second on one core.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

from reconciler._bench_workload import Workload, venue_workload
from reconciler.bench import Bar, BenchOptions, Measurement
from reconciler.benchkit import BenchKit, NaiveBook
from reconciler.core import Reconciler
from reconciler.plugin import VenuePlugin

__all__ = ["run"]

#: Frames per venue (full run, quick run) and how many timed repetitions to keep the best of.
FRAMES = (60_000, 3_000)
REPEATS = (3, 1)
#: The bars (docs/performance.md).
CEILING_BAR = 0.5
NAIVE_BAR = 3.0


def run(options: BenchOptions) -> Measurement:
    """Measure every venue that has a simulator; see the module docstring."""
    frames = FRAMES[1] if options.quick else FRAMES[0]
    repeats = REPEATS[1] if options.quick else REPEATS[0]
    figures: dict[str, Any] = {}
    rows: list[tuple[str, str]] = []
    bars: list[Bar] = []
    for name, plugin in sorted(options.plugins.items()):
        try:
            workload = venue_workload(plugin, frames)
        except NotImplementedError:
            continue
        options.progress(f"bench: core throughput, {name} ({len(workload.frames)} frames)")
        venue = _measure_venue(options, plugin, workload, repeats)
        figures[name] = venue
        rows.append(
            (
                f"{name}: parse+reconcile",
                (
                    f"{venue['reconcile_fps']:>9,.0f} frames/s"
                    f"  ({venue['frames']:,} frames, {venue['mean_frame_bytes']} B avg)"
                ),
            )
        )
        for label, key in (("decode-only ceiling", "decode_fps"), ("naive baseline", "naive_fps")):
            value = venue.get(key)
            rows.append(
                (f"{name}: {label}", "n/a" if value is None else f"{value:>9,.0f} frames/s")
            )
        ceiling, naive = venue.get("ratio_to_ceiling"), venue.get("ratio_to_naive")
        rows.append(
            (
                f"{name}: ratios",
                f"{_ratio(ceiling)} of ceiling, {_ratio(naive)} of naive",
            )
        )
        bars.append(
            Bar(
                name=f"{name} parse+reconcile / decode-only",
                target=f">= {CEILING_BAR}x",
                actual=_ratio(ceiling),
                met=None if ceiling is None else ceiling >= CEILING_BAR,
            )
        )
        bars.append(
            Bar(
                name=f"{name} parse+reconcile / naive",
                target=f">= {NAIVE_BAR}x",
                actual=_ratio(naive),
                met=None if naive is None else naive >= NAIVE_BAR,
            )
        )
    return Measurement(
        key="core_throughput",
        title="Core throughput (one core, frames held in memory)",
        figures=figures,
        rows=rows,
        bars=bars,
    )


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _measure_venue(
    options: BenchOptions, plugin: VenuePlugin, workload: Workload, repeats: int
) -> dict[str, Any]:
    count = len(workload.frames)
    result: dict[str, Any] = {
        "frames": count,
        "mean_frame_bytes": round(workload.bytes / count),
    }
    alerts: list[int] = []

    def reconcile() -> None:
        core = Reconciler(options.plugins)
        raised = 0
        feed, expect = core.feed, core.expect
        venue, account = workload.venue, workload.account
        for t, item in workload.items:
            if isinstance(item, str):
                raised += len(feed(venue, account, item, t))
            else:
                raised += len(expect(item, t))
        alerts.append(raised)

    result["reconcile_fps"] = round(count / _best(reconcile, repeats))
    result["alerts_raised"] = alerts[-1]
    kit = _kit(plugin)
    if kit is None:
        result["decode_fps"] = result["naive_fps"] = None
        result["ratio_to_ceiling"] = result["ratio_to_naive"] = None
        return result
    frames = workload.frames

    def decode() -> None:
        decoder = kit.decode
        for frame in frames:
            decoder(frame)

    def naive() -> None:
        book: NaiveBook = {}
        apply = kit.naive
        for frame in frames:
            apply(frame, book)

    result["decode_fps"] = round(count / _best(decode, repeats))
    result["naive_fps"] = round(count / _best(naive, repeats))
    result["ratio_to_ceiling"] = round(result["reconcile_fps"] / result["decode_fps"], 3)
    result["ratio_to_naive"] = round(result["reconcile_fps"] / result["naive_fps"], 3)
    return result


def _kit(plugin: VenuePlugin) -> BenchKit | None:
    try:
        return plugin.bench_kit()
    except NotImplementedError:
        return None


def _best(action: Callable[[], None], repeats: int) -> float:
    """The shortest of ``repeats`` timed runs, in seconds (the least disturbed one)."""
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    return best
