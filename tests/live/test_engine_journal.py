"""The engine behind its journal: everything journaled, restart recovery without a
repeated alert, one writer per journal, and journal problems as config errors."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
import trio
from live.examplevenue import ExamplePlugin, ExampleSimulator
from live.livekit import collect, fixed_clock, seed_engine, settings_for

from reconciler.alerts import Alert
from reconciler.capture import ConnectionRecord, FrameRecord
from reconciler.config_file import ConfigError
from reconciler.engine import open_engine
from reconciler.journal import open_journal
from reconciler.settings import JournalConfig, Settings
from reconciler.simserver import SimulatorServer

CREDS = {"main": {"token": "example-token-0123456789"}}
PLUGINS = {"example": ExamplePlugin()}


def _with_journal(settings: Settings, path: Path, **extra: object) -> Settings:
    return msgspec.structs.replace(settings, journal=JournalConfig(path=str(path), **extra))  # type: ignore[arg-type]


async def _session(
    path: Path, faults: tuple[str, ...], seed: int
) -> tuple[list[Alert], dict[str, int], str]:
    sim = ExampleSimulator(CREDS)
    script = sim.script("main", seed=seed, start_ms=0, duration=10, faults=faults)
    server = SimulatorServer(sim, [script], clock=fixed_clock())
    alerts: list[Alert] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        settings, environ = settings_for({"example": (server, CREDS)})
        async with open_engine(
            _with_journal(settings, path), plugins=PLUGINS, environ=environ
        ) as engine:
            seed_engine(engine)
            await nursery.start(collect, engine, alerts)
            await server.finished.wait()
            await trio.sleep(7)
            stats, digest = engine.stats(), engine.state_digest()
        nursery.cancel_scope.cancel()
    return alerts, stats, digest


async def test_every_frame_connection_event_and_alert_is_journaled(
    autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """The journal holds each received frame, the connect, and every alert raised."""
    alerts, stats, _ = await _session(tmp_path / "j.db", ("malformed", "FILL_REGRESSION"), 6)
    journal = open_journal(tmp_path / "j.db", read_only=True)
    records = list(journal.records())
    assert sum(isinstance(r, FrameRecord) for r in records) == stats["frames"]
    assert ConnectionRecord in {type(r) for r in records}
    assert [a.id for a in journal.alerts()] == [a.id for a in alerts]
    assert len(alerts) == 2


async def test_a_restart_recovers_the_state_and_raises_nothing_again(
    autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """A second engine on the same journal resumes the first one's orders; the same
    venue traffic again (a replay) raises no alert, and nothing old is re-published."""
    path = tmp_path / "j.db"
    first, _, digest = await _session(path, ("FILL_REGRESSION",), 6)
    assert first
    again, _, digest_again = await _session(path, ("FILL_REGRESSION",), 6)
    assert again == []
    assert digest_again == digest
    journal = open_journal(path, read_only=True)
    assert [a.id for a in journal.alerts()] == [a.id for a in first]


async def test_a_second_engine_on_a_journal_in_use_is_refused(
    autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """Two writers on one journal would mix their batches: the second gets a config
    error naming the journal, and the first runs on."""
    settings, environ = settings_for({"example": ("ws://127.0.0.1:9/x", CREDS)})
    settings = _with_journal(settings, tmp_path / "j.db")
    async with open_engine(settings, plugins=PLUGINS, environ=environ):
        with pytest.raises(ConfigError, match="in use by another running reconciler"):
            async with open_engine(settings, plugins=PLUGINS, environ=environ):
                pass  # pragma: no cover


async def test_a_journal_that_is_not_a_journal_is_a_config_error(
    autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """A path to some other file gives one clear message, not a traceback."""
    other = tmp_path / "notes.txt"
    other.write_text("not a database, just notes\n" * 100)
    settings, environ = settings_for({"example": ("ws://127.0.0.1:9/x", CREDS)})
    with pytest.raises(ConfigError, match="not a reconciler journal"):
        async with open_engine(_with_journal(settings, other), plugins=PLUGINS, environ=environ):
            pass  # pragma: no cover


async def test_frames_without_alerts_commit_within_the_batch_window(
    autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """Group commit: a quiet frame is durable (visible to another reader) one batch
    window after it arrived, without waiting for the engine to stop."""
    sim = ExampleSimulator(CREDS)
    script = sim.script("main", seed=1, start_ms=0, duration=5, faults=())
    server = SimulatorServer(sim, [script], clock=fixed_clock())
    path = tmp_path / "j.db"
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        settings, environ = settings_for({"example": (server, CREDS)})
        settings = _with_journal(settings, path, batch_window=0.5)
        async with open_engine(settings, plugins=PLUGINS, environ=environ) as engine:
            await server.finished.wait()
            received = engine.stats()["frames"]
            await trio.sleep(0.6)
            reader = open_journal(path, read_only=True)
            frames = sum(isinstance(r, FrameRecord) for r in reader.records())
            reader.close()
            assert frames >= received > 0
        nursery.cancel_scope.cancel()
