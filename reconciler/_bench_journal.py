"""Journal: frames/s appended with the engine's default durability and commit policy, and
recovery (replay) frames/s from a journal of a million frames, against the core's
throughput on the same frames.

Every venue's clean flow (:mod:`reconciler._bench_workload`) is merged by receive time,
as one multi-venue engine would receive it, and measured in four steps on the same
items (frames plus the expectations registered before them):

1. **core**: a fresh :class:`~reconciler.core.Reconciler` is fed every item from memory,
   no journal. This is the core's throughput the recovery bar compares with, and it
   also yields the alerts each item raised and the core's snapshot at the point the
   engine would last have taken one (both outside the timed spans).
2. **append, grouped**: the items are written to a new journal in ``workdir`` with the
   default ``[journal]`` settings (``synchronous = NORMAL``) exactly as the engine's core
   task writes them: each input, then the alerts it raised and their outbox rows (the
   engine's :class:`~reconciler.delivery.Delivery` with the default log sink), committed
   at once after an item that raised an alert, otherwise after ``K`` items. ``K`` is
   what the default ``batch_window`` holds when frames arrive as fast as the core
   takes them (``batch_window`` x the core's rate): the engine under full load, the
   case where append throughput matters. The append figures time the journal's work
   only (the core's is step 1), expectations' records included, per frame. This
   journal, without snapshots (they are the core's cost), is the one recovery reads.
3. **append, one commit per frame**: the first items again, into a second journal,
   committed after every item: the engine at a light load, where each frame's window
   closes before the next arrives.
4. **recovery**, as :meth:`Engine._recover <reconciler.engine.Engine>` does it at start
   (:meth:`~reconciler._journaled_core.JournaledCore.recover` on a fresh core):
   (a) with no snapshot, replaying every record; (b) on a copy of the journal holding
   the snapshot the engine would have taken last (``snapshot_records`` records before
   the end, the longest tail the default policy leaves; half the journal when it is
   smaller), restoring it and replaying the tail. Both recovered states must have the
   live core's :meth:`~reconciler.core.Reconciler.state_digest`.

The garbage collector is frozen over the items held in memory before each timed span,
so that the million frames the benchmark keeps do not slow the core's full collections
(an engine never holds them; recovery streams them from disk). The bar, recovery at
least as fast as the core, is judged on CPU time (``time.process_time``): both sides are
one thread's CPU-bound work, and wall time also counts whatever else ran on the machine;
the wall-clock ratio is reported next to it. The journals are deleted at the end.
"""

from __future__ import annotations

import gc
import heapq
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from reconciler._bench_workload import ACCOUNT, Workload, venue_workload
from reconciler._journaled_core import JournaledCore
from reconciler.alerts import Alert
from reconciler.bench import Bar, BenchOptions, Measurement
from reconciler.core import Reconciler
from reconciler.delivery import Delivery
from reconciler.engine import DEFAULT_SINKS
from reconciler.events import Expectation
from reconciler.journal import Journal, open_journal
from reconciler.plugin import VenuePlugin
from reconciler.settings import Settings

__all__ = ["FRAMES", "PER_FRAME_COMMIT_FRAMES", "measure", "run"]

#: Frames in the recovery journal (full run, quick run).
FRAMES = (1_000_000, 20_000)
#: Frames appended with one commit each (full run, quick run).
PER_FRAME_COMMIT_FRAMES = (20_000, 2_000)
#: The connection id every frame is journaled with (one connection per account).
_CONNECTION = 1


@dataclass(frozen=True, slots=True)
class _Item:
    """One input as the core task receives it: a frame (``str``) or an expectation."""

    t: float
    venue: str
    account: str
    payload: str | Expectation


@dataclass(slots=True)
class _CoreRun:
    seconds: float
    cpu_seconds: float
    #: Item index -> the alerts that item raised (the few items that raised any).
    alerts: dict[int, list[Alert]]
    #: The core's snapshot after ``snapshot_items`` items, and its clock then.
    snapshot: bytes
    snapshot_t: float
    digest: str
    frames: int


def run(options: BenchOptions) -> Measurement:
    """The full (or ``--quick``) measurement; see the module docstring."""
    i = 1 if options.quick else 0
    return measure(options, frames=FRAMES[i], per_frame_commit_frames=PER_FRAME_COMMIT_FRAMES[i])


def measure(options: BenchOptions, *, frames: int, per_frame_commit_frames: int) -> Measurement:
    """Measure with a recovery journal of at least ``frames`` frames and a per-frame
    commit run over the first ``per_frame_commit_frames`` of them."""
    cfg = Settings().journal
    phases: dict[str, float] = {}
    clock = _Phases(phases)

    with clock("workload"):
        options.progress(f"bench: journal, generating {frames:,} frames")
        items = _items(options.plugins, frames)
    frame_count = sum(1 for it in items if isinstance(it.payload, str))
    frame_bytes = sum(len(it.payload.encode()) for it in items if isinstance(it.payload, str))
    # The snapshot the engine would have taken last: snapshot_records before the end.
    tail = min(cfg.snapshot_records, len(items) // 2)
    snapshot_seq = len(items) - tail

    with clock("core"):
        options.progress(f"bench: journal, core on {frame_count:,} frames from memory")
        core = _core_run(options.plugins, items, snapshot_seq)
    core_fps = core.frames / core.seconds
    core_cpu_us = core.cpu_seconds / core.frames * 1e6
    group = max(1, round(cfg.batch_window * core_fps))

    path = options.workdir / "bench-journal.db"
    single_path = options.workdir / "bench-journal-per-frame.db"
    snap_path = options.workdir / "bench-journal-snapshot.db"
    paths = (path, single_path, snap_path)
    try:
        _remove(paths)
        with clock("append_grouped"):
            options.progress(
                f"bench: journal, appending {len(items):,} records, commit per {group}"
            )
            grouped = _append(path, items, core.alerts, group=group)
        db_bytes = path.stat().st_size

        single_items = _frames_prefix(items, per_frame_commit_frames)
        with clock("append_per_frame"):
            options.progress(f"bench: journal, appending {len(single_items):,} records one by one")
            single = _append(single_path, single_items, core.alerts, group=1)
        _remove((single_path,))
        del items, single_items
        gc.collect()

        with clock("copy_for_snapshot"):
            shutil.copyfile(path, snap_path)
            journal = open_journal(snap_path, synchronous=cfg.synchronous)
            journal.save_snapshot(snapshot_seq, core.snapshot_t, time.time(), core.snapshot)
            journal.close()

        with clock("recover_full"):
            options.progress(f"bench: journal, recovering {frame_count:,} frames (no snapshot)")
            full = _recover(options.plugins, path)
        with clock("recover_snapshot"):
            options.progress(f"bench: journal, recovering from a snapshot + {tail:,} records")
            from_snap = _recover(options.plugins, snap_path)
    finally:
        _remove(paths)

    recovery_fps = full.frames / full.seconds
    ratio = recovery_fps / core_fps
    # The same ratio on CPU time, which other processes sharing the machine cannot skew.
    cpu_ratio = (full.frames / full.cpu_seconds) / (core.frames / core.cpu_seconds)
    figures: dict[str, Any] = {
        "frames": frame_count,
        "records": grouped.records,
        "alerts": grouped.alerts,
        "mean_frame_bytes": round(frame_bytes / frame_count),
        "synchronous": cfg.synchronous,
        "batch_window": cfg.batch_window,
        "core_fps": round(core_fps),
        "core_cpu_us_per_frame": round(core_cpu_us, 2),
        "append": {
            "grouped": {
                "frames": grouped.frames,
                "commit_every": group,
                "commits": grouped.commits,
                "fps": round(grouped.frames / grouped.seconds),
                "us_per_frame": round(grouped.seconds / grouped.frames * 1e6, 2),
                "bytes_per_frame": round(db_bytes / grouped.frames),
            },
            "per_frame_commit": {
                "frames": single.frames,
                "commits": single.commits,
                "fps": round(single.frames / single.seconds),
                "us_per_frame": round(single.seconds / single.frames * 1e6, 2),
            },
        },
        "recovery": {
            "full": {
                "frames": full.frames,
                "records": full.replayed,
                "seconds": round(full.seconds, 2),
                "fps": round(recovery_fps),
                "cpu_us_per_frame": round(full.cpu_seconds / full.frames * 1e6, 2),
                "ratio_to_core": round(ratio, 3),
                "cpu_ratio_to_core": round(cpu_ratio, 3),
                "digest_matches": full.digest == core.digest,
            },
            "snapshot": {
                "tail_records": from_snap.replayed,
                "snapshot_kb": round(len(core.snapshot) / 1e3),
                "restore_seconds": round(from_snap.restore_seconds, 3),
                "seconds": round(from_snap.seconds, 2),
                "digest_matches": from_snap.digest == core.digest,
            },
        },
        "journal_mb": round(db_bytes / 1e6, 1),
        "phase_seconds": {k: round(v, 1) for k, v in phases.items()},
    }
    g, one = figures["append"]["grouped"], figures["append"]["per_frame_commit"]
    digests = (
        figures["recovery"]["full"]["digest_matches"],
        figures["recovery"]["snapshot"]["digest_matches"],
    )
    core_row = (
        f"{core_fps:>11,.0f} frames/s  ({core.seconds:.1f} s, {core_cpu_us:.1f} us CPU/frame)"
    )
    grouped_row = (
        f"{g['fps']:>11,.0f} frames/s  ({g['us_per_frame']} us/frame,"
        f" {g['bytes_per_frame']} B/frame on disk)"
    )
    single_row = f"{one['fps']:>11,.0f} frames/s  ({one['us_per_frame']} us/frame)"
    full_row = (
        f"{recovery_fps:>11,.0f} frames/s  ({full.seconds:.1f} s, {ratio:.3f}x core;"
        f" CPU time {cpu_ratio:.3f}x)"
    )
    snap_row = (
        f"{from_snap.seconds:>11.2f} s  (restore {from_snap.restore_seconds:.2f} s,"
        f" {len(core.snapshot) / 1e3:,.0f} KB; {from_snap.replayed:,} records)"
    )
    rows = [
        ("frames (records, alerts)", f"{frame_count:,} ({grouped.records:,}, {grouped.alerts:,})"),
        ("core, from memory", core_row),
        (f"append, commit per {group}", grouped_row),
        ("append, commit per frame", single_row),
        ("recovery, no snapshot", full_row),
        ("recovery, snapshot + tail", snap_row),
        ("recovered state = live state", f"{digests[0]} / {digests[1]}"),
        ("journal on disk", f"{figures['journal_mb']:,} MB"),
        ("phases (s)", ", ".join(f"{k} {v}" for k, v in figures["phase_seconds"].items())),
    ]
    # Judged on CPU time: both sides are one thread's CPU-bound work in this process, and
    # wall time also counts whatever else the machine ran meanwhile (reported too).
    bars = [
        Bar(
            name="recovery replay / core throughput (CPU time)",
            target=">= 1.00x",
            actual=f"{cpu_ratio:.3f}x ({ratio:.3f}x wall clock)",
            met=cpu_ratio >= 1.0,
        )
    ]
    return Measurement(
        key="journal",
        title="Journal (append, recovery)",
        figures=figures,
        rows=rows,
        bars=bars,
    )


class _Phases:
    """Wall time of each named part of the run, for the report."""

    def __init__(self, into: dict[str, float]) -> None:
        self._into = into

    def __call__(self, name: str) -> _Timed:
        return _Timed(self._into, name)


class _Timed:
    def __init__(self, into: dict[str, float], name: str) -> None:
        self._into, self._name, self._start = into, name, 0.0

    def __enter__(self) -> None:
        self._start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self._into[self._name] = time.perf_counter() - self._start


def _items(plugins: Mapping[str, VenuePlugin], frames: int) -> list[_Item]:
    """Every venue's workload, merged by receive time (ties: venue name, then order)."""
    venues = {name: p for name, p in sorted(plugins.items()) if _has_simulator(p)}
    per_venue = -(-frames // max(1, len(venues)))
    streams = [_keyed(venue_workload(p, per_venue)) for p in venues.values()]
    # Cut where the merged stream reaches ``frames``: every venue up to the same moment.
    return _frames_prefix([item for *_, item in heapq.merge(*streams)], frames)


def _has_simulator(plugin: VenuePlugin) -> bool:
    """Whether the venue can give a workload (the simulator is optional)."""
    try:
        plugin.simulator({ACCOUNT: dict.fromkeys(plugin.credential_names, "bench")})
    except NotImplementedError:
        return False
    return True


def _keyed(workload: Workload) -> Iterator[tuple[float, str, int, _Item]]:
    """The workload's items, each behind a unique sort key for the merge."""
    venue, account = workload.venue, workload.account
    for n, (t, x) in enumerate(workload.items):
        yield t, venue, n, _Item(t, venue, account, x)


def _frames_prefix(items: list[_Item], frames: int) -> list[_Item]:
    """The items up to and including the ``frames``-th frame."""
    seen = 0
    for n, item in enumerate(items):
        if isinstance(item.payload, str):
            seen += 1
            if seen == frames:
                return items[: n + 1]
    return items


def _core_run(plugins: Mapping[str, VenuePlugin], items: list[_Item], snapshot_at: int) -> _CoreRun:
    rec = Reconciler(plugins, Settings().core)
    feed, expect = rec.feed, rec.expect
    raised: dict[int, list[Alert]] = {}
    seconds = cpu = 0.0
    snapshot, snapshot_t = b"", 0.0
    for lo, hi in ((0, snapshot_at), (snapshot_at, len(items))):
        with _frozen_gc():
            started, cpu_started = time.perf_counter(), time.process_time()
            for n, it in enumerate(islice(items, lo, hi), start=lo):
                p = it.payload
                alerts = (
                    feed(it.venue, it.account, p, it.t) if isinstance(p, str) else expect(p, it.t)
                )
                if alerts:
                    raised[n] = alerts
            seconds += time.perf_counter() - started
            cpu += time.process_time() - cpu_started
        if lo == 0:
            snapshot, snapshot_t = rec.snapshot(), rec.now
    return _CoreRun(
        seconds=seconds,
        cpu_seconds=cpu,
        alerts=raised,
        snapshot=snapshot,
        snapshot_t=snapshot_t,
        digest=rec.state_digest(),
        frames=rec.stats().get("frames", 0),
    )


@dataclass(frozen=True, slots=True)
class _Appended:
    seconds: float
    frames: int
    records: int
    alerts: int
    commits: int


def _append(
    path: Path, items: Iterable[_Item], raised: Mapping[int, list[Alert]], *, group: int
) -> _Appended:
    """Write ``items`` and their alerts as the engine's core task does (module docstring)."""
    cfg = Settings().journal
    journal = open_journal(path, synchronous=cfg.synchronous)
    clock = [0.0]
    delivery = _delivery(journal, lambda: clock[0])
    append_frame, append_expectation = journal.append_frame, journal.append_expectation
    append_alert, commit, enqueue = journal.append_alert, journal.commit, delivery.enqueue
    frames = records = alerts = commits = since = 0
    with _frozen_gc():
        started = time.perf_counter()
        for n, it in enumerate(items):
            p = it.payload
            if isinstance(p, str):
                append_frame(it.t, it.venue, it.account, _CONNECTION, p)
                frames += 1
            else:
                append_expectation(it.t, p)
            records += 1
            since += 1
            new = raised.get(n)
            if new:
                clock[0] = it.t
                for alert in new:
                    if append_alert(alert):
                        enqueue(alert)
                        alerts += 1
            # Alerts are made durable before delivery; plain inputs wait for the window.
            if new or since >= group:
                commit()
                commits += 1
                since = 0
        commit()
        seconds = time.perf_counter() - started
    journal.close()
    return _Appended(seconds, frames, records, alerts, commits + (since > 0))


@dataclass(frozen=True, slots=True)
class _Recovered:
    seconds: float
    cpu_seconds: float
    restore_seconds: float
    replayed: int
    frames: int
    digest: str


def _recover(plugins: Mapping[str, VenuePlugin], path: Path) -> _Recovered:
    """Open the journal and recover a fresh core from it, as the engine does at start."""
    settings = Settings()
    cfg = settings.journal
    journal = open_journal(path, synchronous=cfg.synchronous)
    try:
        rec = Reconciler(plugins, settings.core)
        delivery = _delivery(journal, time.time)
        core = JournaledCore(
            rec,
            journal,
            on_new_alert=delivery.enqueue,
            snapshot_records=cfg.snapshot_records,
            snapshot_interval=cfg.snapshot_interval,
            retention_days=cfg.retention_days,
        )
        restore_seconds = 0.0
        snap = journal.latest_snapshot()
        if snap is not None:
            # Timed apart on a scratch core: what restoring costs within the recovery.
            started = time.perf_counter()
            Reconciler(plugins, settings.core).restore(snap.body)
            restore_seconds = time.perf_counter() - started
        with _frozen_gc():
            started, cpu_started = time.perf_counter(), time.process_time()
            recovery = core.recover(time.time())
            seconds = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
        return _Recovered(
            seconds=seconds,
            cpu_seconds=cpu,
            restore_seconds=restore_seconds,
            replayed=recovery.replayed,
            frames=rec.stats().get("frames", 0),
            digest=rec.state_digest(),
        )
    finally:
        journal.close()


def _delivery(journal: Journal, now: Callable[[], float]) -> Delivery:
    """The engine's alert delivery with the default sinks, writing into ``journal``."""
    return Delivery(DEFAULT_SINKS, Settings().delivery, journal, environ={}, now=now)


class _frozen_gc:  # noqa: N801 - used like a function
    """Collect, then freeze every object alive so the timed span's collections skip them."""

    def __enter__(self) -> None:
        gc.collect()
        gc.freeze()

    def __exit__(self, *exc: object) -> None:
        gc.unfreeze()


def _remove(paths: Iterable[Path]) -> None:
    for p in paths:
        for suffix in ("", "-wal", "-shm", ".lock"):
            Path(f"{p}{suffix}").unlink(missing_ok=True)
