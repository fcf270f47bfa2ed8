"""The memory benchmark at a tiny size: what it reports, and that the counts are right.

Byte figures and speeds are never asserted (they depend on the machine, the allocator
and what ran before in the process); keys, order counts and retirement are.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import msgspec
import pytest

from reconciler import _bench_memory
from reconciler.bench import BenchOptions, Measurement, to_json
from reconciler.plugin import VenuePlugin, load_plugins

SINGLE = (200, 400)
MULTI = (200, 400)
BREAKDOWN = 200
DAY_FRAMES = 1_500
KIT_VENUES = ("btse", "bybit", "clearstreet", "tread")


@functools.cache
def _plugins() -> dict[str, VenuePlugin]:
    return load_plugins()


def _options(tmp: Path, quick: bool) -> BenchOptions:
    return BenchOptions(quick=quick, plugins=_plugins(), workdir=tmp)


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One quick run at a few hundred orders per case and a short day."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_bench_memory, "SINGLE_SIZES", ((10**9,), SINGLE))
        mp.setattr(_bench_memory, "MULTI_SIZES", ((10**9,), MULTI))
        mp.setattr(_bench_memory, "BREAKDOWN_ORDERS", (10**9, BREAKDOWN))
        mp.setattr(_bench_memory, "DAY_FRAMES", (10**9, DAY_FRAMES))
        result = _bench_memory.run(_options(tmp_path_factory.mktemp("memory"), quick=True))
    return {"measurement": result, **result.figures}


def test_figures_have_every_section(figures: dict[str, Any]) -> None:
    """The figures hold the RSS source, single and multi cases, breakdown and steady state."""
    assert {"rss_source", "single", "multi", "breakdown", "steady_state"} <= set(figures)
    assert set(figures["single"]) == set(KIT_VENUES)
    assert set(figures["breakdown"]) == {"btse_single", "tread_multi"}


def test_every_case_reports_its_byte_figures(figures: dict[str, Any]) -> None:
    """Each case carries bytes per order, the resident growth and what a drop kept."""
    cases = [c for sizes in figures["single"].values() for c in sizes.values()]
    cases += list(figures["multi"].values())
    keys = {"bytes_per_order", "rss_grown", "retained_after_drop", "feed_seconds", "frames"}
    assert cases
    assert all(keys <= set(case) for case in cases)
    assert all("bytes_per_parent" in case for case in figures["multi"].values())


def test_single_cases_leave_exactly_n_orders_open(figures: dict[str, Any]) -> None:
    """Every venue's single case has exactly the asked-for number of open orders."""
    for venue, sizes in figures["single"].items():
        assert sorted(int(n) for n in sizes) == list(SINGLE), venue
        for n, case in sizes.items():
            assert (case["open_orders"], case["orders_tracked"]) == (int(n), int(n)), venue


def test_multi_cases_count_parents_and_children(figures: dict[str, Any]) -> None:
    """A multi case's open orders are its parents plus three children each."""
    for case in figures["multi"].values():
        assert case["orders"] == case["parents"] * (1 + _bench_memory.MULTI_CHILDREN)
        assert case["open_orders"] == case["orders"]


def test_breakdown_names_allocation_sites(figures: dict[str, Any]) -> None:
    """The tracemalloc breakdown lists at most the top sites, each as file:line."""
    for top in figures["breakdown"].values():
        assert top["orders"] > 0
        assert 0 < len(top["sites"]) <= _bench_memory.BREAKDOWN_TOP
        for site in top["sites"]:
            path, _, line = site["site"].rpartition(":")
            assert path
            assert line.isdigit()


def test_no_order_is_tracked_after_retirement(figures: dict[str, Any]) -> None:
    """After the day's retention has passed, no order is tracked and all retired."""
    steady = figures["steady_state"]
    assert steady["orders"] > 0
    assert steady["orders_tracked_after_retirement"] == 0
    assert steady["orders_retired"] == steady["orders"]
    retired = steady["indexes_after_retirement"]
    assert {k: retired[k] for k in ("orders", "fills", "children", "clients")} == dict.fromkeys(
        ("orders", "fills", "children", "clients"), 0
    )


def test_indexes_are_empty_once_pending_checks_ran(figures: dict[str, Any]) -> None:
    """Once the checks scheduled for retired orders have run, every per-order index is empty."""
    drained = figures["steady_state"]["indexes_after_pending_checks"]
    assert {k: drained[k] for k in _bench_memory.ORDER_INDEXES} == dict.fromkeys(
        _bench_memory.ORDER_INDEXES, 0
    )


def test_two_bars_are_judged(figures: dict[str, Any]) -> None:
    """Both bars (bytes per order, retirement) are measured this run: met is not None."""
    bars = figures["measurement"].bars
    assert len(bars) == 2
    assert all(bar.met is not None for bar in bars)


def test_figures_encode_as_json(figures: dict[str, Any]) -> None:
    """The measurement goes into the ``reconciler bench --json`` document under "memory"."""
    measurement: Measurement = figures["measurement"]
    doc = msgspec.json.decode(to_json([measurement], quick=True))
    assert doc["memory"]["steady_state"]["orders_tracked_after_retirement"] == 0


def test_full_run_measures_large_size_only_on_large_venues(tmp_path: Path) -> None:
    """A full run measures the large size only for the venues listed in LARGE_VENUES."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_bench_memory, "SINGLE_SIZES", ((100, 150), (1, 1)))
        mp.setattr(_bench_memory, "MULTI_SIZES", ((), ()))
        mp.setattr(_bench_memory, "BREAKDOWN_CASES", ())
        mp.setattr(_bench_memory, "DAY_VENUE", "none")
        single = _bench_memory.run(_options(tmp_path, quick=False)).figures["single"]
    sizes = {venue: sorted(int(n) for n in cases) for venue, cases in single.items()}
    assert sizes == {
        venue: [100, 150] if venue in _bench_memory.LARGE_VENUES else [100] for venue in KIT_VENUES
    }
