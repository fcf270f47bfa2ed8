"""The journal benchmark at a tiny size: what it reports and that recovery is correct.

Speeds are never asserted (they depend on the machine); counts, keys and the
recovered state are.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from reconciler import _bench_journal
from reconciler.bench import BenchOptions, Measurement, to_json
from reconciler.plugin import load_plugins

FRAMES = 300
PER_FRAME_COMMIT_FRAMES = 40


class _Run(msgspec.Struct):
    measurement: Measurement
    workdir: Path
    progress: list[str]


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Run]:
    """One quick run of the measurement, shrunk to a few hundred frames."""
    workdir = tmp_path_factory.mktemp("journal-bench")
    progress: list[str] = []
    options = BenchOptions(
        quick=True, plugins=load_plugins(), workdir=workdir, progress=progress.append
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_bench_journal, "FRAMES", (10**9, FRAMES))
        mp.setattr(_bench_journal, "PER_FRAME_COMMIT_FRAMES", (10**9, PER_FRAME_COMMIT_FRAMES))
        yield _Run(_bench_journal.run(options), workdir, progress)


def _figures(bench: _Run) -> dict[str, Any]:
    return bench.measurement.figures


def test_quick_run_uses_the_quick_sizes(bench: _Run) -> None:
    """``--quick`` takes the second of each size pair: exactly that many frames."""
    figures = _figures(bench)
    assert figures["frames"] == FRAMES
    assert figures["append"]["per_frame_commit"]["frames"] == PER_FRAME_COMMIT_FRAMES


def test_every_frame_appended_is_recovered(bench: _Run) -> None:
    """The journal recovery replays holds every frame appended, and every record."""
    figures = _figures(bench)
    full = figures["recovery"]["full"]
    assert figures["append"]["grouped"]["frames"] == FRAMES
    assert full["frames"] == FRAMES
    assert full["records"] == figures["records"]
    assert figures["records"] >= FRAMES  # the expectations are journaled too


def test_recovered_state_is_the_live_core_state(bench: _Run) -> None:
    """Both recoveries (all records; snapshot + tail) end in the live core's state digest."""
    recovery = _figures(bench)["recovery"]
    assert recovery["full"]["digest_matches"] is True
    assert recovery["snapshot"]["digest_matches"] is True


def test_snapshot_recovery_replays_only_the_tail(bench: _Run) -> None:
    """Below ``snapshot_records``, the snapshot sits halfway: half the records are replayed."""
    figures = _figures(bench)
    records = figures["records"]
    assert figures["recovery"]["snapshot"]["tail_records"] == records - records // 2


def test_grouped_appends_commit_less_often_than_per_frame(bench: _Run) -> None:
    """Group commit writes far fewer commits than records; per-frame commit one each."""
    append = _figures(bench)["append"]
    assert append["grouped"]["commit_every"] >= 1
    assert append["grouped"]["commits"] <= _figures(bench)["records"]
    assert append["per_frame_commit"]["commits"] >= PER_FRAME_COMMIT_FRAMES


def test_one_bar_recovery_against_core(bench: _Run) -> None:
    """There is one bar, recovery vs the core's throughput, decided either way."""
    (bar,) = bench.measurement.bars
    assert bar.met in (True, False)
    assert "recovery" in bar.name


def test_figures_are_json(bench: _Run) -> None:
    """The figures go through ``to_json`` under the ``journal`` key."""
    doc = msgspec.json.decode(to_json([bench.measurement], quick=True))
    assert doc["journal"]["frames"] == FRAMES
    assert bench.measurement.key == "journal"
    assert bench.measurement.rows


def test_journals_are_deleted(bench: _Run) -> None:
    """Nothing is left in the work directory, and progress was reported."""
    assert list(bench.workdir.iterdir()) == []
    assert bench.progress
