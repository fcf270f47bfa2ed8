"""Each sink's filters: minimum severity, venues, codes. Alerts a sink filters out get
no outbox row for it (they are still in the journal)."""

from __future__ import annotations

from pathlib import Path

import msgspec
import trio
from delivery.kit import alert, make_delivery, raise_alerts

from reconciler.alerts import Alert, AlertCode, Severity
from reconciler.delivery import SinkConfig
from reconciler.journal import Journal


async def _written(
    journal: Journal, path: Path, sink: SinkConfig, alerts: list[Alert]
) -> list[str]:
    """The ids the sink wrote, given ``alerts``."""
    delivery = make_delivery(journal, {"file": sink})
    async with trio.open_nursery() as nursery:
        nursery.start_soon(delivery.run)
        raise_alerts(journal, delivery, *alerts)
        # Until the worker has nothing left (the file is written from a thread, so
        # waiting a fixed time under the autojump clock would not do).
        while delivery.stats()["sinks.file.pending"]:
            await trio.sleep(0.5)
        nursery.cancel_scope.cancel()
    assert len(list(journal.alerts())) == len(alerts)  # the journal keeps them all
    return _ids_in(path)


def _ids_in(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [msgspec.json.decode(line)["id"] for line in path.read_bytes().splitlines()]


async def test_min_severity_drops_alerts_below_it(
    journal: Journal, tmp_path: Path, autojump_clock: trio.abc.Clock
) -> None:
    """min_severity = "warning" keeps warnings and critical alerts, drops info."""
    path = tmp_path / "a.jsonl"
    alerts = [
        alert(1, severity=Severity.INFO, order_id="A"),
        alert(2, severity=Severity.WARNING, order_id="B"),
        alert(3, severity=Severity.CRITICAL, order_id="C"),
    ]
    sink = SinkConfig(type="jsonl", path=str(path), min_severity="warning")
    assert await _written(journal, path, sink, alerts) == [alerts[1].id, alerts[2].id]


async def test_venues_filter_keeps_only_those_venues(
    journal: Journal, tmp_path: Path, autojump_clock: trio.abc.Clock
) -> None:
    """venues = ["btse"] keeps btse alerts only."""
    path = tmp_path / "a.jsonl"
    alerts = [alert(1, venue="tread"), alert(2, venue="btse"), alert(3, venue="bybit")]
    sink = SinkConfig(type="jsonl", path=str(path), venues=["btse"])
    assert await _written(journal, path, sink, alerts) == [alerts[1].id]


async def test_codes_filter_keeps_only_those_codes(
    journal: Journal, tmp_path: Path, autojump_clock: trio.abc.Clock
) -> None:
    """codes = ["OVERFILL", "FEED_STALE"] keeps those two codes only."""
    path = tmp_path / "a.jsonl"
    alerts = [
        alert(1, code=AlertCode.OVERFILL),
        alert(2, code=AlertCode.FILL_GAP),
        alert(3, code=AlertCode.FEED_STALE, order_id=None),
    ]
    sink = SinkConfig(type="jsonl", path=str(path), codes=["OVERFILL", "FEED_STALE"])
    assert await _written(journal, path, sink, alerts) == [alerts[0].id, alerts[2].id]


async def test_filters_combine(
    journal: Journal, tmp_path: Path, autojump_clock: trio.abc.Clock
) -> None:
    """An alert must pass every filter of the sink."""
    path = tmp_path / "a.jsonl"
    alerts = [
        alert(1, venue="btse", severity=Severity.CRITICAL),
        alert(2, venue="btse", severity=Severity.INFO),
        alert(3, venue="tread", severity=Severity.CRITICAL),
    ]
    sink = SinkConfig(type="jsonl", path=str(path), venues=["btse"], min_severity="critical")
    assert await _written(journal, path, sink, alerts) == [alerts[0].id]
