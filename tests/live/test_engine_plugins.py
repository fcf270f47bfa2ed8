"""Venue plugins in the live engine: a crashing plugin is contained, a raising parser
costs one frame, and a third-party plugin is found through its entry point."""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Iterator, MutableMapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import structlog
import trio
from live.examplevenue import (
    ExampleLink,
    ExamplePlugin,
    ExampleProtocol,
    ExampleSimulator,
    order_frame,
)
from live.livekit import FAST, collect, fixed_clock, seed_engine, seeded_rng, settings_for
from structlog.testing import capture_logs

from reconciler._supervisor import Backoff
from reconciler.alerts import Alert
from reconciler.engine import open_engine
from reconciler.events import Event
from reconciler.lifecycle import Status
from reconciler.link import LinkSettings
from reconciler.plugin import PluginLoadError, load_plugins
from reconciler.simserver import SimulatorServer
from reconciler.simulator import Script, Send

CREDS = {"main": {"token": "example-token-0123456789"}}
CRASHY_CREDS = {"main": {"token": "crashy-token-0123456789"}}

FAILED_FIRST = "venue plugin failed; restarting the venue"
FAILED_AGAIN = "venue plugin failed again; restarting the venue"
PARSER_RAISED = "venue parser raised; the frame is reported as malformed"


@pytest.fixture
def logs() -> Iterator[list[MutableMapping[str, Any]]]:
    """The engine's log entries, whatever an earlier test configured."""
    structlog.reset_defaults()
    with capture_logs() as entries:
        yield entries
    structlog.reset_defaults()


class _CrashingLink(ExampleLink):
    def opening_frames(self, now_ms: int) -> Sequence[str]:
        raise RuntimeError("opening frames exploded")


class _CrashingPlugin(ExamplePlugin):
    """The example venue under another name, with a link that always raises."""

    name = "crashy"

    def link(self, settings: LinkSettings) -> ExampleLink:
        return _CrashingLink(settings)


async def test_crashing_plugin_is_isolated_and_restarted_with_backoff(
    autojump_clock: trio.abc.Clock, logs: list[MutableMapping[str, Any]]
) -> None:
    """A plugin whose link raises: one PLUGIN_ERROR however often it restarts, its
    traceback logged once, restarts spaced by jittered backoff; the example venue
    beside it keeps delivering and detecting its faults, and nothing escapes."""
    sim = ExampleSimulator(CREDS)
    script = sim.script(
        "main", seed=4, start_ms=0, duration=20, faults=("malformed", "FILL_REGRESSION")
    )
    server = SimulatorServer(sim, [script], clock=fixed_clock())
    crashy_sim = ExampleSimulator(CRASHY_CREDS)
    crashy_server = SimulatorServer(crashy_sim, clock=fixed_clock())
    alerts: list[Alert] = []
    plugins = {"example": ExamplePlugin(), "crashy": _CrashingPlugin()}
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        await nursery.start(crashy_server.run)
        settings, environ = settings_for(
            {"example": (server, CREDS), "crashy": (crashy_server, CRASHY_CREDS)}
        )
        async with open_engine(settings, plugins=plugins, environ=environ) as engine:
            seed_engine(engine, 7)
            await nursery.start(collect, engine, alerts)
            await server.finished.wait()
            await trio.sleep(3)
            crashy, example = engine.connections()
            assert (crashy.venue, example.venue) == ("crashy", "example")
            assert example.state == "connected"
            assert example.connects == 1
            assert "opening frames exploded" in (crashy.last_error or "")
        nursery.cancel_scope.cancel()
    by_code = Counter((a.venue, str(a.code)) for a in alerts)
    assert by_code == {
        ("crashy", "PLUGIN_ERROR"): 1,
        ("example", "MALFORMED_MESSAGE"): 1,
        ("example", "FILL_REGRESSION"): 1,
    }
    (plugin_error,) = (a for a in alerts if a.code == "PLUGIN_ERROR")
    assert (plugin_error.account, plugin_error.order_id) == ("main", None)
    assert "RuntimeError: opening frames exploded" in plugin_error.message
    # Restarted many times, each after one backoff delay (the seeded jitter).
    restarts = len(crashy_sim.opened)
    assert restarts >= 10
    gaps = [b - a for a, b in zip(crashy_sim.opened, crashy_sim.opened[1:], strict=False)]
    backoff = Backoff(FAST.backoff_initial, FAST.backoff_max, seeded_rng(7, 0))
    expected = [round(backoff.next_delay() * 1000) for _ in gaps]
    assert all(abs(g - e) <= 1 for g, e in zip(gaps, expected, strict=True))
    assert max(gaps) <= FAST.backoff_max * 1000 + 1
    # The traceback once; the later failures in one line each.
    first = [e for e in logs if e["event"] == FAILED_FIRST]
    again = [e for e in logs if e["event"] == FAILED_AGAIN]
    assert len(first) == 1
    assert "Traceback" in first[0]["traceback"]
    assert "opening_frames" in first[0]["traceback"]
    assert (first[0]["venue"], first[0]["account"]) == ("crashy", "main")
    assert len(again) == restarts - 1
    assert all("traceback" not in e for e in again)


class _FlakyProtocol(ExampleProtocol):
    """Raises (a parser bug, not a FrameError) on any order whose id starts with boom."""

    def receive(self, frame: str | bytes) -> list[Event]:
        text = frame if isinstance(frame, str) else frame.decode()
        if '"id":"boom' in text:
            raise RuntimeError("parser bug")
        return super().receive(frame)


class _FlakyParserPlugin(ExamplePlugin):
    def protocol(self, account: str) -> ExampleProtocol:
        return _FlakyProtocol()


async def test_raising_parser_costs_one_frame_and_the_feed_continues(
    autojump_clock: trio.abc.Clock, logs: list[MutableMapping[str, Any]]
) -> None:
    """A protocol whose receive raises: that frame becomes MALFORMED_MESSAGE (each such
    frame once), the traceback is logged once, the connection stays up and later
    frames are reconciled, a later fault still detected."""
    steps = (
        Send(at=0.5, message=order_frame("o-1", "new", 10, 0)),
        Send(at=1.0, message=order_frame("boom-1", "new", 10, 0)),
        Send(at=1.5, message=order_frame("o-1", "partial", 10, 5)),
        Send(at=2.0, message=order_frame("boom-2", "new", 10, 0)),
        Send(at=2.5, message=order_frame("o-1", "filled", 10, 10)),
        Send(at=3.0, message=order_frame("o-2", "partial", 10, 6)),
        Send(at=3.5, message=order_frame("o-2", "partial", 10, 4)),
    )
    sim = ExampleSimulator(CREDS)
    server = SimulatorServer(
        sim, [Script(venue="example", account="main", steps=steps)], clock=fixed_clock()
    )
    alerts: list[Alert] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        settings, environ = settings_for({"example": (server, CREDS)})
        async with open_engine(
            settings, plugins={"example": _FlakyParserPlugin()}, environ=environ
        ) as engine:
            seed_engine(engine)
            await nursery.start(collect, engine, alerts)
            await server.finished.wait()
            await trio.sleep(1)
            (status,) = engine.connections()
            assert (status.connects, status.disconnects) == (1, 0)
        nursery.cancel_scope.cancel()
    assert [(str(a.code), a.order_id) for a in alerts] == [
        ("MALFORMED_MESSAGE", None),
        ("MALFORMED_MESSAGE", None),
        ("FILL_REGRESSION", "o-2"),
    ]
    assert "parser error: RuntimeError: parser bug" in alerts[0].message
    assert "boom-1" in alerts[0].evidence["excerpt"]
    state = engine.order("example", "o-1")
    assert state is not None
    assert state.status is Status.FILLED
    raised = [e for e in logs if e["event"] == PARSER_RAISED]
    assert len(raised) == 1
    assert "parser bug" in raised[0]["traceback"]


def test_third_party_plugin_is_discovered_through_its_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An installed distribution declaring ``example = live.examplevenue:plugin`` in
    the ``reconciler.venues`` group is loaded beside the four built-in venues."""
    dist = tmp_path / "example_venue-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: example-venue\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[reconciler.venues]\nexample = live.examplevenue:plugin\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    found = load_plugins()
    assert set(found) == {"tread", "btse", "bybit", "clearstreet", "example"}
    assert isinstance(found["example"], ExamplePlugin)
    assert found["example"].name == "example"


async def test_discovered_plugin_runs_in_the_engine(
    autojump_clock: trio.abc.Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plugin found through its entry point drives a live connection: with
    ``plugins`` left to discovery, the example venue connects and its fault is found."""
    dist = tmp_path / "example_venue-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: example-venue\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[reconciler.venues]\nexample = live.examplevenue:plugin\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    sim = ExampleSimulator(CREDS)
    script = sim.script("main", seed=5, start_ms=0, duration=6, faults=("FILL_REGRESSION",))
    server = SimulatorServer(sim, [script], clock=fixed_clock())
    alerts: list[Alert] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        settings, environ = settings_for({"example": (server, CREDS)})
        async with open_engine(settings, environ=environ) as engine:
            seed_engine(engine)
            await nursery.start(collect, engine, alerts)
            await server.finished.wait()
            await trio.sleep(1)
        nursery.cancel_scope.cancel()
    assert [(str(a.code), a.order_id) for a in alerts] == [("FILL_REGRESSION", "main-regress")]


class _Impostor(ExamplePlugin):
    """A plugin that claims a venue name another package already provides."""

    name = "btse"


impostor = _Impostor()


def test_two_plugins_claiming_one_venue_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second plugin naming an already provided venue is refused with a clear error,
    never silently preferred or dropped depending on installation order."""
    dist = tmp_path / "impostor-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: impostor\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[reconciler.venues]\nimpostor = live.test_engine_plugins:impostor\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    with pytest.raises(PluginLoadError, match="names venue 'btse'"):
        load_plugins()
    skipped: list[str] = []
    found = load_plugins(on_error=lambda name, _exc: skipped.append(name))
    assert len(skipped) == 1  # whichever of the two came second
    assert "btse" in found
