"""The venue plugins' benchmark kits: the decode ceiling, the naive baseline and the
open-order frames the memory benchmark feeds."""

from __future__ import annotations

import functools
import json
from decimal import Decimal
from typing import Any

import pytest

from reconciler._bench_workload import Workload, venue_workload
from reconciler.alerts import Alert, Severity
from reconciler.benchkit import NaiveBook
from reconciler.core import Reconciler
from reconciler.events import Fill, OrderUpdate, Sequenced
from reconciler.plugin import VenuePlugin, load_plugins

VENUES = ("btse", "bybit", "clearstreet", "tread")
ACCOUNT = "main"
T0 = 1_752_147_100.0
#: Receive-time step between fed frames: 10k frames per second, as the benchmark feeds.
STEP = 1e-4


@functools.cache
def plugins() -> dict[str, VenuePlugin]:
    return load_plugins()


@functools.cache
def workload(venue: str) -> Workload:
    return venue_workload(plugins()[venue], 2000)


def kit(venue: str) -> Any:
    # Any: open_orders is not (yet) part of the BenchKit protocol.
    return plugins()[venue].bench_kit()


def order_ids(venue: str, frames: tuple[str, ...]) -> set[str]:
    """Every order the venue's own protocol sees an order report or execution of."""
    proto = plugins()[venue].protocol(ACCOUNT)
    ids: set[str] = set()
    for frame in frames:
        for event in proto.receive(frame):
            for inner in event.events if isinstance(event, Sequenced) else (event,):
                if isinstance(inner, OrderUpdate | Fill):
                    ids.add(inner.order_id)
    return ids


def feed(venue: str, frames: list[str]) -> tuple[Reconciler, list[Alert]]:
    """Feed ``frames`` at 10k frames/s, then let every settle window close."""
    rec = Reconciler(plugins())
    alerts: list[Alert] = []
    for n, frame in enumerate(frames):
        alerts += rec.feed(venue, ACCOUNT, frame, T0 + n * STEP)
    alerts += rec.advance(T0 + len(frames) * STEP + 2 * rec.config.settle_window)
    return rec, alerts


def regressed(venue: str, frame: str) -> str:
    """``frame`` (an order report with something filled) reporting nothing filled."""
    msg: dict[str, Any] = json.loads(frame)
    if venue == "btse":
        msg["data"][0]["totalFilledSize"] = 0
    elif venue == "bybit":
        msg["data"][0]["cum_exec_qty"] = 0
    elif venue == "clearstreet":
        msg["payload"]["data"]["filled_quantity"] = "0"
    else:
        msg["data"]["order"]["target_executed_qty"] = "0"
    return json.dumps(msg)


@pytest.mark.parametrize("venue", VENUES)
def test_decode_accepts_every_workload_frame(venue: str) -> None:
    """The decode ceiling decodes every frame of the venue's clean workload."""
    decode = kit(venue).decode
    assert all(decode(frame) is not None for frame in workload(venue).frames)


@pytest.mark.parametrize("venue", VENUES)
def test_naive_finds_no_fault_in_clean_flow(venue: str) -> None:
    """The naive baseline finds no fault in clean flow and keeps one entry per order."""
    frames = workload(venue).frames
    naive = kit(venue).naive
    book: NaiveBook = {}
    assert sum(naive(frame, book) for frame in frames) == 0
    assert set(book) == order_ids(venue, frames)


@pytest.mark.parametrize("venue", VENUES)
def test_naive_finds_fill_regression(venue: str) -> None:
    """A cumulative fill that goes back to zero is a fault for the naive baseline."""
    bench = kit(venue)
    frames = list(bench.open_orders(1))
    book: NaiveBook = {}
    assert sum(bench.naive(frame, book) for frame in frames) == 0
    assert bench.naive(regressed(venue, frames[-1]), book) >= 1
    (entry,) = (e for e in book.values() if e["reports"] > 1)
    assert entry["filled"] == Decimal(0)


@pytest.mark.parametrize("venue", VENUES)
def test_open_orders_stay_open_without_alerts(venue: str) -> None:
    """``open_orders(500)`` leaves 500 distinct orders open and raises nothing above info."""
    rec, alerts = feed(venue, list(kit(venue).open_orders(500)))
    open_orders = rec.orders(open_only=True)
    assert len(open_orders) == 500
    assert all(o.filled is not None and 0 < o.filled < (o.quantity or 0) for o in open_orders)
    assert len({o.client_order_id for o in open_orders}) == 500
    assert [a for a in alerts if a.severity is not Severity.INFO] == []


def test_tread_open_multi_orders_carry_open_children() -> None:
    """``open_orders(50, children=3)`` leaves 50 parents, each with 3 open children."""
    rec, alerts = feed("tread", list(kit("tread").open_orders(50, children=3)))
    open_orders = rec.orders(open_only=True)
    parents = [o for o in open_orders if o.is_parent]
    kids = [o for o in open_orders if o.parent_id is not None]
    assert (len(parents), len(kids), len(open_orders)) == (50, 150, 200)
    assert all(len(p.child_ids or ()) == 3 for p in parents)
    assert {k.parent_id for k in kids} == {p.order_id for p in parents}
    assert [a for a in alerts if a.severity is not Severity.INFO] == []


@pytest.mark.parametrize("venue", ["btse", "bybit", "clearstreet"])
def test_single_order_venues_refuse_children(venue: str) -> None:
    """Only Tread.fi has multi-orders: asking another venue for children is refused."""
    with pytest.raises(NotImplementedError):
        kit(venue).open_orders(1, children=2)
