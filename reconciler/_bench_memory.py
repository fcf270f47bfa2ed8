"""Memory: bytes per tracked open order, and what a day of retired orders leaves behind.

**Open orders.** For each venue whose plugin has a bench kit, a fresh
:class:`~reconciler.core.Reconciler` (default :class:`~reconciler.config.CoreConfig`,
every plugin) is fed :meth:`~reconciler.benchkit.BenchKit.open_orders` frames at 10k
frames per second of receive time, which leaves ``N`` orders open (acknowledged, partly
filled); time then moves past the settle window, so the per-report checks have run and
what is left is what an open order keeps. The figure is the growth of the process's
*current* resident size across the feed, after a full ``gc.collect()`` on both sides,
divided by ``N``. Each case runs in a fresh child process (``python -m
reconciler._bench_memory VENUE KIND N``): a process keeps much of what it freed (pymalloc
arenas, glibc's heap), so cases run one after the other in one process would reuse each
other's memory and read low, even negative. On Linux the resident size is
``/proc/self/statm`` (resident pages x page size); elsewhere it falls back to
``getrusage``'s peak resident size (``rss_source`` says which was used). Frames are
generated lazily, so only the model is counted. Tread.fi's multi-orders are measured the
same way with parents of :data:`MULTI_CHILDREN` open children each, per order (parents
plus children) and per parent. The reconciler is then dropped and the resident size read
again (``retained_*``: what the allocators keep; after ``malloc_trim`` where glibc has
it). ``blocks_per_order``, the growth in live CPython blocks
(``sys.getallocatedblocks``), is the allocator-independent count.

**Where it goes.** On a smaller sample (:data:`BREAKDOWN_ORDERS`) the same feed runs under
``tracemalloc`` (one frame per trace); the top allocation sites that grew, as
``file:line`` with bytes and blocks per open order, are the ``breakdown``.

**Steady state.** A "day" of one venue's clean flow (:mod:`reconciler._bench_workload`:
acknowledgements, partial and full fills, cancels and rejects, with the expectations the
execution system registers; hours of flow an hour apart) is fed in receive order while
the resident size is sampled for its peak; then time is advanced past the retention of
the last update (``retention + settle_window``) and the core's indexes are counted (every
index ``len()``, no tracemalloc), as are the orders still tracked, the retirement counters
and CPython's allocated-block count (``sys.getallocatedblocks``). Retired orders should
cost nothing: no order tracked and every per-order index (orders, fills, parents'
children, client ids, expectations, timers) back to empty. Timers that outlive their
order are reported, then time is advanced past the last of them for a second count.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from reconciler._bench_workload import venue_workload
from reconciler.bench import Bar, BenchOptions, Measurement
from reconciler.benchkit import BenchKit
from reconciler.core import Reconciler
from reconciler.lifecycle import is_terminal
from reconciler.plugin import VenuePlugin, load_plugins

__all__ = ["run"]

ACCOUNT = "main"
#: Receive time of the first open-order frame, and the step between frames (10k/s).
T0 = 1_752_147_100.0
STEP = 1e-4
#: Open single orders per venue: (full run, quick run) pairs of (small, large) sizes.
SINGLE_SIZES: tuple[tuple[int, ...], tuple[int, ...]] = ((100_000, 1_000_000), (5_000, 20_000))
#: Venues measured at the large size in a full run (1M orders take minutes to feed per
#: venue); a quick run measures every venue at both of its sizes.
LARGE_VENUES = ("btse", "tread")
#: The venue with multi-orders, its children per parent, and the total open orders
#: (parents plus children) per size, as (full, quick).
MULTI_VENUE = "tread"
MULTI_CHILDREN = 3
MULTI_SIZES: tuple[tuple[int, ...], tuple[int, ...]] = ((100_000, 1_000_000), (5_000, 20_000))
#: Open orders fed under tracemalloc for the allocation-site breakdown (full, quick), and
#: the venues (and kind) it is taken for.
BREAKDOWN_ORDERS = (20_000, 5_000)
BREAKDOWN_CASES = (("btse", "single"), ("tread", "multi"))
BREAKDOWN_TOP = 12
#: The steady-state venue and its day of clean flow in frames (full, quick): the full
#: size is about 24 hours of BTSE flow.
DAY_VENUE = "btse"
DAY_FRAMES = (200_000, 4_000)
#: Resident size is sampled every this many items while the day is fed, for its peak.
_SAMPLE_EVERY = 2_000
#: The bars (docs/performance.md).
BYTES_PER_ORDER_BAR = 1536
#: The indexes that hold something per order; all must be empty once the day retired.
ORDER_INDEXES = ("orders", "fills", "children", "clients", "expectations", "timers")


def run(options: BenchOptions) -> Measurement:
    """Measure open-order memory per venue and the post-retirement steady state."""
    quick = 1 if options.quick else 0
    kits = _kits(options.plugins)
    figures: dict[str, Any] = {"rss_source": _RSS_SOURCE, "single": {}, "multi": {}}
    rows: list[tuple[str, str]] = []

    for name in kits:
        sizes = SINGLE_SIZES[quick]
        if not options.quick and name not in LARGE_VENUES:
            sizes = sizes[:1]
        venue_figures: dict[str, Any] = {}
        for count in sizes:
            options.progress(f"bench: memory, {name} {count:,} open orders")
            case = _isolated(name, "single", count)
            venue_figures[str(count)] = case
            rows.append((f"{name} single @ {count:,}", _case_row(case)))
        if venue_figures:
            figures["single"][name] = venue_figures

    multi_kit = kits.get(MULTI_VENUE)
    if multi_kit is not None:
        for total in MULTI_SIZES[quick]:
            parents = total // (MULTI_CHILDREN + 1)
            options.progress(
                f"bench: memory, {MULTI_VENUE} {parents:,} parents x {MULTI_CHILDREN} children"
            )
            case = _isolated(MULTI_VENUE, "multi", parents)
            figures["multi"][str(case["orders"])] = case
            rows.append(
                (
                    f"{MULTI_VENUE} multi @ {case['orders']:,}",
                    f"{_case_row(case)}; {case['bytes_per_parent']:,} B/parent",
                )
            )

    figures["breakdown"] = {}
    sample = BREAKDOWN_ORDERS[quick]
    for name, kind in BREAKDOWN_CASES:
        traced_kit = kits.get(name)
        if traced_kit is None:
            continue
        options.progress(f"bench: memory, tracemalloc breakdown, {name} {kind}")
        if kind == "multi":
            parents = sample // (MULTI_CHILDREN + 1)
            frames, orders = _multi(traced_kit, parents), parents * (MULTI_CHILDREN + 1)
        else:
            frames, orders = _single(traced_kit, sample), sample
        top = _breakdown(options.plugins, name, frames, orders)
        figures["breakdown"][f"{name}_{kind}"] = top
        rows.append(
            (
                f"{name} {kind}: traced per order",
                f"{top['traced_bytes_per_order']:,} B ({orders:,} orders under tracemalloc)",
            )
        )
        rows.extend(
            (f"  {site['site']}", f"{site['bytes_per_order']:>8,.1f} B/order")
            for site in top["sites"][:5]
        )

    day_plugin = options.plugins.get(DAY_VENUE)
    if day_plugin is not None:
        options.progress(f"bench: memory, a day of {DAY_VENUE} flow, then retirement")
        steady = _steady_state(options.plugins, day_plugin, DAY_FRAMES[quick])
        figures["steady_state"] = steady
        rows.extend(_steady_rows(steady))

    return Measurement(
        key="memory",
        title="Memory (resident size growth; each case in a fresh child process)",
        figures=figures,
        rows=rows,
        bars=_bars(figures),
    )


# -- resident size ---------------------------------------------------------------------

_STATM = Path("/proc/self/statm")
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_RSS_SOURCE = (
    "/proc/self/statm (current resident size)"
    if _STATM.exists()
    else "getrusage ru_maxrss (peak resident size: deltas below an earlier peak read low)"
)


def rss() -> int:
    """The process's resident size in bytes (see :data:`_RSS_SOURCE`)."""
    if _STATM.exists():
        return int(_STATM.read_text().split()[1]) * _PAGE
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux (and most BSDs) report KiB, macOS bytes.
    return peak if sys.platform == "darwin" else peak * 1024


def _settle() -> None:
    # Three passes: objects freed by one collection's finalizers go in the next.
    for _ in range(3):
        gc.collect()


def _malloc_trim() -> bool:
    """Ask glibc to hand freed heap back to the system (False where there is none)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        return False
    return True


# -- open orders -----------------------------------------------------------------------


def _kits(plugins: Mapping[str, VenuePlugin]) -> dict[str, BenchKit]:
    kits: dict[str, BenchKit] = {}
    for name, plugin in sorted(plugins.items()):
        try:
            kits[name] = plugin.bench_kit()
        except NotImplementedError:
            continue
    return kits


def _single(kit: BenchKit, count: int) -> Callable[[], Iterator[str]]:
    return lambda: kit.open_orders(count)


def _multi(kit: BenchKit, parents: int) -> Callable[[], Iterator[str]]:
    return lambda: kit.open_orders(parents, children=MULTI_CHILDREN)


def _feed(core: Reconciler, venue: str, frames: Iterator[str]) -> int:
    feed = core.feed
    n = 0
    for n, frame in enumerate(frames, 1):
        feed(venue, ACCOUNT, frame, T0 + n * STEP)
    return n


def _open_count(core: Reconciler) -> tuple[int, int]:
    """(orders tracked, of which open), without building a snapshot of each."""
    orders = core._st.orders
    open_ = sum(1 for r in orders.values() if r.status is not None and not is_terminal(r.status))
    return len(orders), open_


def _measure_open(
    plugins: Mapping[str, VenuePlugin],
    venue: str,
    frames: Callable[[], Iterator[str]],
    orders: int,
    parents: int | None,
) -> dict[str, Any]:
    """Feed one case into a fresh reconciler and measure the resident growth."""
    _settle()
    _malloc_trim()  # what earlier cases left to the allocator is not counted as free
    before = rss()
    blocks = sys.getallocatedblocks()
    core = Reconciler(plugins)
    started = time.perf_counter()
    fed = _feed(core, venue, frames())
    seconds = time.perf_counter() - started
    # Past the settle window the per-report checks have run and only what an open
    # order keeps is left (its deadline is hours away): the steady state measured.
    core.advance(T0 + (fed + 1) * STEP + core.config.settle_window + 1)
    _settle()
    after = rss()
    # Memory retained by an earlier case is reused without growing the resident size, so
    # small cases can read low (even negative); the live block count cannot.
    blocks = sys.getallocatedblocks() - blocks
    tracked, open_ = _open_count(core)
    timers = len(core._st.timers)
    del core
    _settle()
    dropped = rss()
    trimmed = rss() if _malloc_trim() else None
    grown = after - before
    case: dict[str, Any] = {
        "orders": orders,
        "frames": fed,
        "feed_seconds": round(seconds, 2),
        "frames_per_second": round(fed / seconds) if seconds else None,
        "open_orders": open_,
        "orders_tracked": tracked,
        "timers_pending": timers,
        "rss_before": before,
        "rss_grown": grown,
        "bytes_per_order": round(grown / orders),
        "blocks_per_order": round(blocks / orders, 2),
        "retained_after_drop": dropped - before,
        "retained_after_trim": None if trimmed is None else trimmed - before,
    }
    if parents is not None:
        case["parents"] = parents
        case["children_per_parent"] = MULTI_CHILDREN
        case["bytes_per_parent"] = round(grown / parents)
    return case


def _isolated(venue: str, kind: str, count: int) -> dict[str, Any]:
    """One open-order case measured in a fresh child process.

    A process's resident size keeps much of what earlier cases freed (CPython's arenas,
    the C allocator), so in the benchmark's own process a case could reuse it and read
    low, even negative; a fresh process starts from the same floor every time.
    """
    argv = [sys.executable, "-m", "reconciler._bench_memory", venue, kind, str(count)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-3:]
        raise RuntimeError(f"memory case {venue} {kind} {count} failed: {' | '.join(tail)}")
    case: dict[str, Any] = json.loads(done.stdout)
    return case


def _child(venue: str, kind: str, count: int) -> dict[str, Any]:
    """The child process's side of :func:`_isolated`."""
    plugins = load_plugins()
    kit = plugins[venue].bench_kit()
    if kind == "multi":
        orders = count * (MULTI_CHILDREN + 1)
        return _measure_open(plugins, venue, _multi(kit, count), orders, count)
    return _measure_open(plugins, venue, _single(kit, count), count, None)


def _case_row(case: dict[str, Any]) -> str:
    trimmed = case["retained_after_trim"]
    kept = case["retained_after_drop"] if trimmed is None else trimmed
    return (
        f"{case['bytes_per_order']:>6,} B/order  ({case['open_orders']:,} open, "
        f"fed in {case['feed_seconds']:.1f} s; {_mib(kept)} kept after drop)"
    )


def _mib(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB"


# -- tracemalloc breakdown -------------------------------------------------------------

_ROOT = Path(__file__).resolve().parents[1]


def _site(filename: str, lineno: int) -> str:
    path = Path(filename)
    try:
        shown = str(path.resolve().relative_to(_ROOT))
    except ValueError:
        shown = "/".join(path.parts[-2:])
    return f"{shown}:{lineno}"


def _breakdown(
    plugins: Mapping[str, VenuePlugin],
    venue: str,
    frames: Callable[[], Iterator[str]],
    orders: int,
) -> dict[str, Any]:
    """The allocation sites that grew while ``orders`` open orders were fed."""
    _settle()
    core = Reconciler(plugins)
    tracemalloc.start(1)
    try:
        before = tracemalloc.take_snapshot()
        _feed(core, venue, frames())
        _settle()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    # The snapshots themselves are allocated while tracing; they are not the model's.
    ignore = [tracemalloc.Filter(inclusive=False, filename_pattern=tracemalloc.__file__)]
    diff = after.filter_traces(ignore).compare_to(before.filter_traces(ignore), "lineno")
    grown = [d for d in diff if d.size_diff > 0]
    grown.sort(key=lambda d: d.size_diff, reverse=True)
    total = sum(d.size_diff for d in diff)
    del core
    _settle()
    return {
        "orders": orders,
        "traced_bytes_per_order": round(total / orders),
        "sites": [
            {
                "site": _site(d.traceback[0].filename, d.traceback[0].lineno),
                "bytes_per_order": round(d.size_diff / orders, 1),
                "blocks_per_order": round(d.count_diff / orders, 3),
            }
            for d in grown[:BREAKDOWN_TOP]
        ],
    }


# -- steady state ----------------------------------------------------------------------


def _indexes(core: Reconciler) -> dict[str, int]:
    """How many entries each of the core's indexes holds."""
    st = core._st
    return {
        "orders": len(st.orders),
        "fills": len(st.fills),
        "children": len(st.children),
        "clients": len(st.clients),
        "expectations": len(st.expectations),
        "timers": len(st.timers),
        "stream_alert_ids": len(st._stream_alerts),
        "streams": len(core._streams),
        "positions": len(core._positions),
    }


def _steady_state(
    plugins: Mapping[str, VenuePlugin], plugin: VenuePlugin, frames: int
) -> dict[str, Any]:
    workload = venue_workload(plugin, frames)
    first_t, end_t = workload.items[0][0], workload.items[-1][0]
    _settle()
    rss_start = rss()
    blocks_start = sys.getallocatedblocks()
    core = Reconciler(plugins)
    indexes_start = _indexes(core)
    feed, expect = core.feed, core.expect
    venue, account = workload.venue, workload.account
    peak, peak_tracked = rss_start, 0
    started = time.perf_counter()
    for n, (t, item) in enumerate(workload.items):
        if isinstance(item, str):
            feed(venue, account, item, t)
        else:
            expect(item, t)
        if n % _SAMPLE_EVERY == 0:
            peak = max(peak, rss())
            peak_tracked = max(peak_tracked, len(core._st.orders))
    seconds = time.perf_counter() - started
    _settle()
    rss_end = rss()
    peak = max(peak, rss_end)
    indexes_end = _indexes(core)
    blocks_end = sys.getallocatedblocks()

    # Past the retention of the newest update: every terminal order is due to retire.
    retired_at = end_t + core.config.retention + core.config.settle_window
    core.advance(retired_at)
    _settle()
    rss_retired = rss()
    indexes_retired = _indexes(core)
    blocks_retired = sys.getallocatedblocks()
    tracked, open_ = _open_count(core)
    stats = core.stats()

    # Checks scheduled for orders that have since retired run (as no-ops) when due.
    last_due = max((due for due, _, _ in core._st.timers.pending()), default=retired_at)
    core.advance(last_due)
    _settle()
    indexes_drained = _indexes(core)
    blocks_drained = sys.getallocatedblocks()
    rss_drained = rss()
    del core, feed, expect
    _settle()
    rss_dropped = rss()
    fed = len(workload.frames)
    del workload
    _settle()
    seen = stats.get("orders.retired", 0) + tracked
    return {
        "venue": venue,
        "frames": fed,
        "orders": seen,
        "hours": round((end_t - first_t) / 3600, 1),
        "feed_seconds": round(seconds, 2),
        "rss_start": rss_start,
        "rss_peak_grown": peak - rss_start,
        "rss_end_grown": rss_end - rss_start,
        "rss_retired_grown": rss_retired - rss_start,
        "rss_drained_grown": rss_drained - rss_start,
        "rss_dropped_grown": rss_dropped - rss_start,
        "peak_orders_tracked": peak_tracked,
        "orders_tracked_after_retirement": tracked,
        "open_orders_after_retirement": open_,
        "orders_retired": stats.get("orders.retired", 0),
        "blocks_grown_end": blocks_end - blocks_start,
        "blocks_grown_retired": blocks_retired - blocks_start,
        "blocks_grown_drained": blocks_drained - blocks_start,
        "indexes_start": indexes_start,
        "indexes_end_of_day": indexes_end,
        "indexes_after_retirement": indexes_retired,
        "indexes_after_pending_checks": indexes_drained,
        "retired_at_hours_after_day": round((retired_at - end_t) / 3600, 2),
        "pending_checks_ran_at_hours_after_day": round((last_due - end_t) / 3600, 2),
    }


def _steady_rows(steady: dict[str, Any]) -> list[tuple[str, str]]:
    retired = steady["indexes_after_retirement"]
    lingering = {k: v for k, v in retired.items() if k in ORDER_INDEXES and v}
    return [
        (
            "day fed",
            (
                f"{steady['orders']:,} {steady['venue']} orders, {steady['frames']:,} frames over "
                f"{steady['hours']} h (fed in {steady['feed_seconds']:.1f} s)"
            ),
        ),
        (
            "resident growth",
            (
                f"peak {_mib(steady['rss_peak_grown'])} "
                f"({steady['peak_orders_tracked']:,} tracked), "
                f"end of day {_mib(steady['rss_end_grown'])}, "
                f"after retirement {_mib(steady['rss_retired_grown'])}, "
                f"core dropped {_mib(steady['rss_dropped_grown'])}"
            ),
        ),
        (
            "after retirement",
            f"{steady['orders_tracked_after_retirement']:,} orders tracked, "
            f"{steady['orders_retired']:,} retired; "
            + (
                "per-order indexes empty"
                if not lingering
                else "still held: " + ", ".join(f"{k} {v:,}" for k, v in lingering.items())
            ),
        ),
        (
            "allocated blocks grown",
            (
                f"end of day {steady['blocks_grown_end']:+,}, "
                f"after retirement {steady['blocks_grown_retired']:+,}, "
                f"after pending checks ran {steady['blocks_grown_drained']:+,}"
            ),
        ),
    ]


def _bars(figures: dict[str, Any]) -> list[Bar]:
    worst: tuple[int, str] | None = None
    for venue, sizes in figures["single"].items():
        if not sizes:
            continue
        # The largest size measured for the venue is the figure held against the bar.
        largest = max(sizes, key=int)
        value = sizes[largest]["bytes_per_order"]
        if worst is None or value > worst[0]:
            worst = (value, f"{venue} @ {int(largest):,}")
    bars = [
        Bar(
            name="bytes per open single order (worst venue)",
            target=f"<= {BYTES_PER_ORDER_BAR:,} B",
            actual="n/a" if worst is None else f"{worst[0]:,} B ({worst[1]})",
            met=None if worst is None else worst[0] <= BYTES_PER_ORDER_BAR,
        )
    ]
    steady = figures.get("steady_state")
    if steady is None:
        bars.append(Bar(name="retired orders cost nothing", target="", actual="n/a", met=None))
        return bars
    retired = steady["indexes_after_retirement"]
    held = {k: retired[k] for k in ORDER_INDEXES if retired[k]}
    tracked = steady["orders_tracked_after_retirement"]
    bars.append(
        Bar(
            name="retired orders cost nothing (after retention)",
            target="0 orders tracked, per-order indexes empty",
            actual=f"{tracked:,} orders tracked"
            + ("" if not held else "; " + ", ".join(f"{k} {v:,}" for k, v in held.items())),
            met=tracked == 0 and not held,
        )
    )
    return bars


if __name__ == "__main__":
    _venue, _kind, _count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    sys.stdout.write(json.dumps(_child(_venue, _kind, _count)) + "\n")
