"""Transport faults end to end: stalls, drops, idle closes, unreachable venues, shutdown.

Every test runs the engine against the example venue's simulator over real loopback
sockets, under Trio's autojump clock; jitter comes from seeded generators.
"""

from __future__ import annotations

import itertools

import msgspec
import pytest
import trio
from live.examplevenue import (
    ExampleLink,
    ExamplePlugin,
    ExampleSession,
    ExampleSimulator,
    order_frame,
)
from live.livekit import (
    EPOCH,
    FAST,
    RecordingServer,
    collect,
    fixed_clock,
    seed_engine,
    seeded_rng,
    settings_for,
)

from reconciler._supervisor import Backoff
from reconciler.alerts import Alert
from reconciler.engine import open_engine
from reconciler.lifecycle import Status
from reconciler.link import LinkSettings
from reconciler.simserver import SimulatorServer
from reconciler.simulator import Disconnect, Reply, Script, Send, Stall

CREDS = {"main": {"token": "example-token-0123456789"}}


def _codes(alerts: list[Alert]) -> list[str]:
    return [str(a.code) for a in alerts]


async def test_stalled_feed_raises_one_feed_stale_and_reconnects(
    autojump_clock: trio.abc.Clock,
) -> None:
    """A silent venue: one FEED_STALE for the account, a reconnect, and the orders the
    script sends afterwards are still reconciled; nothing else is raised."""
    sim = ExampleSimulator(CREDS)
    script = sim.script("main", seed=2, start_ms=0, duration=20, faults=("stall",))
    server = SimulatorServer(sim, [script], clock=fixed_clock())
    alerts: list[Alert] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        settings, environ = settings_for({"example": (server, CREDS)})
        async with open_engine(
            settings, plugins={"example": ExamplePlugin()}, environ=environ
        ) as engine:
            seed_engine(engine)
            await nursery.start(collect, engine, alerts)
            await server.finished.wait()
            await trio.sleep(2)
            (status,) = engine.connections()
            assert status.connects == 2
            assert status.disconnects == 1
        nursery.cancel_scope.cancel()
    assert _codes(alerts) == ["FEED_STALE"]
    (stale,) = alerts
    assert (stale.venue, stale.account, stale.order_id) == ("example", "main", None)
    assert server.stats.stalls == 1
    assert server.stats.subscribed == 2
    # Frames flowed again after the reconnect: the last order of the script is filled.
    last = max((s for s in script.steps if isinstance(s, Send)), key=lambda s: s.at)
    state = engine.order("example", msgspec.json.decode(last.message)["id"])
    assert state is not None
    assert state.status is Status.FILLED


async def test_dropped_connection_reconnects_with_backoff_and_logs_in_again(
    autojump_clock: trio.abc.Clock,
) -> None:
    """The venue closes the connection: the engine waits one jittered backoff delay,
    reconnects and logs in again; no alert, and the account's counters show it."""
    sim = ExampleSimulator(CREDS)
    steps = (
        Send(at=0.5, message=order_frame("o-1", "new", 10, 0)),
        Disconnect(at=3.0),
        Send(at=4.0, message=order_frame("o-1", "filled", 10, 10)),
    )
    script = Script(venue="example", account="main", steps=steps)
    server = SimulatorServer(sim, [script], clock=fixed_clock())
    alerts: list[Alert] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        settings, environ = settings_for({"example": (server, CREDS)})
        async with open_engine(
            settings, plugins={"example": ExamplePlugin()}, environ=environ
        ) as engine:
            seed_engine(engine, 3)
            await nursery.start(collect, engine, alerts)
            await server.finished.wait()
            await trio.sleep(1)
            (status,) = engine.connections()
            assert (status.connects, status.disconnects, status.attempts) == (2, 1, 2)
            assert status.state == "connected"
        nursery.cancel_scope.cancel()
    assert alerts == []
    assert [ok for _, ok in sim.logins] == [True, True]
    assert server.stats.disconnects == 1
    # The reconnect came exactly one backoff delay (the first: up to backoff_initial)
    # after the drop.
    expected = Backoff(FAST.backoff_initial, FAST.backoff_max, seeded_rng(3)).next_delay()
    assert 0 <= expected <= FAST.backoff_initial
    dropped_at = _ms(3.0)
    assert abs(sim.opened[1] - dropped_at - expected * 1000) <= 1
    state = engine.order("example", "o-1")
    assert state is not None
    assert state.status is Status.FILLED


class _ImpatientSession(ExampleSession):
    idle_timeout = 1.5


class _ImpatientSimulator(ExampleSimulator):
    """Drops a connection that has sent nothing for 1.5 s."""

    def session(self) -> ExampleSession:
        return _ImpatientSession(self)


async def test_venue_idle_close_below_keep_alive_interval_reconnects(
    autojump_clock: trio.abc.Clock,
) -> None:
    """The venue's own idle limit (1.5 s) is shorter than the configured keep-alive
    interval (2 s): the venue keeps closing the connection and the engine keeps
    reconnecting, without any alert."""
    sim = _ImpatientSimulator(CREDS)
    server = SimulatorServer(sim, clock=fixed_clock())
    alerts: list[Alert] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        settings, environ = settings_for({"example": (server, CREDS)}, keep_alive=2.0, idle=5.0)
        async with open_engine(
            settings, plugins={"example": ExamplePlugin()}, environ=environ
        ) as engine:
            seed_engine(engine)
            await nursery.start(collect, engine, alerts)
            await trio.sleep(10)
            (status,) = engine.connections()
            assert status.connects >= 3
            assert status.disconnects >= 2
        nursery.cancel_scope.cancel()
    assert alerts == []
    assert server.stats.dropped_idle >= 2
    assert sim.ping_times == []  # every connection was closed before its first ping
    assert all(ok for _, ok in sim.logins)


class _BrokenSession(ExampleSession):
    def receive(self, frame: str, now_ms: int) -> Reply:
        reply = super().receive(frame, now_ms)
        if reply.subscribed:
            return Reply(frames=reply.frames, subscribed=True, close=(1011, "internal error"))
        return reply


class _BrokenSimulator(ExampleSimulator):
    """Accepts every login, then closes the connection at once."""

    def session(self) -> ExampleSession:
        return _BrokenSession(self)


async def test_venue_dropping_every_connection_at_once_raises_feed_stale(
    autojump_clock: trio.abc.Clock,
) -> None:
    """Connections that never stay up (accepted, then closed straight away) do not
    count as the account being up: after reconnect_alert_after of this, one
    FEED_STALE is raised, and only one however long it goes on."""
    sim = _BrokenSimulator(CREDS)
    server = SimulatorServer(sim, clock=fixed_clock())
    alerts: list[Alert] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        settings, environ = settings_for({"example": (server, CREDS)})
        async with open_engine(
            settings, plugins={"example": ExamplePlugin()}, environ=environ
        ) as engine:
            seed_engine(engine)
            start = engine.clock.now()
            await nursery.start(collect, engine, alerts)
            await trio.sleep(100)
            (status,) = engine.connections()
            assert status.connects >= 40
        nursery.cancel_scope.cancel()
    assert _codes(alerts) == ["FEED_STALE"]
    assert alerts[0].t - start == pytest.approx(FAST.reconnect_alert_after, abs=2e-3)
    assert "1011" in alerts[0].evidence["last_error"]


async def _free_port() -> int:
    sock = trio.socket.socket()
    with sock:
        await sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class _CountingPlugin(ExamplePlugin):
    """The example plugin, noting when each link (one per connection attempt) is made."""

    def __init__(self) -> None:
        self.link_times: list[float] = []

    def link(self, settings: LinkSettings) -> ExampleLink:
        self.link_times.append(trio.current_time())
        return super().link(settings)


async def test_unreachable_venue_backs_off_with_jitter_and_alerts_once(
    autojump_clock: trio.abc.Clock,
) -> None:
    """Nothing listens on the venue's port: attempts continue after jittered delays
    whose ceiling doubles up to backoff_max, and one FEED_STALE is raised once the
    account has been down for reconnect_alert_after."""
    port = await _free_port()
    plugin = _CountingPlugin()
    alerts: list[Alert] = []
    async with trio.open_nursery() as nursery:
        settings, environ = settings_for({"example": (f"ws://127.0.0.1:{port}/", CREDS)})
        async with open_engine(settings, plugins={"example": plugin}, environ=environ) as engine:
            seed_engine(engine, 5)
            start = engine.clock.now()
            await nursery.start(collect, engine, alerts)
            await trio.sleep(100)
            (status,) = engine.connections()
            assert status.connects == 0
        nursery.cancel_scope.cancel()
    # The first link is the plan's probe, made before the engine starts.
    attempts = plugin.link_times[1:]
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    backoff = Backoff(FAST.backoff_initial, FAST.backoff_max, seeded_rng(5))
    expected = [backoff.next_delay() for _ in gaps]
    assert gaps == pytest.approx(expected, abs=1e-6)
    ceilings = [min(FAST.backoff_max, FAST.backoff_initial * 2**n) for n in range(len(gaps))]
    assert all(0 <= g <= c for g, c in zip(gaps, ceilings, strict=True))
    assert max(gaps) > FAST.backoff_initial  # the ceiling grew
    assert len(set(gaps)) == len(gaps)  # jittered, never a fixed rhythm
    assert len(attempts) >= 100 / FAST.backoff_max
    assert _codes(alerts) == ["FEED_STALE"]
    (stale,) = alerts
    assert (stale.venue, stale.account, stale.order_id) == ("example", "main", None)
    assert stale.t - start == pytest.approx(FAST.reconnect_alert_after, abs=2e-3)


async def test_leaving_open_engine_closes_every_connection_with_1000(
    autojump_clock: trio.abc.Clock,
) -> None:
    """Shutdown closes each account's connection with close code 1000 within the
    close grace period, and every supervisor ends."""
    creds = {
        "main": {"token": "example-token-0123456789"},
        "alt": {"token": "example-token-alt-987654"},
    }
    sim = ExampleSimulator(creds)
    scripts = [sim.script(a, seed=1, start_ms=0, duration=30) for a in creds]
    server = RecordingServer(sim, scripts, clock=fixed_clock())
    alerts: list[Alert] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        settings, environ = settings_for({"example": (server, creds)})
        async with open_engine(
            settings, plugins={"example": ExamplePlugin()}, environ=environ
        ) as engine:
            seed_engine(engine)
            await nursery.start(collect, engine, alerts)
            await trio.sleep(5)
            assert [s.state for s in engine.connections()] == ["connected", "connected"]
            leaving = trio.current_time()
        took = trio.current_time() - leaving
        await trio.sleep(1)
        nursery.cancel_scope.cancel()
    assert took <= FAST.close_grace
    assert server.close_codes == [1000, 1000]
    assert [s.state for s in engine.connections()] == ["stopped", "stopped"]
    assert alerts == []


async def test_shutdown_is_bounded_when_the_venue_ignores_the_close(
    autojump_clock: trio.abc.Clock,
) -> None:
    """A stalled venue never answers the close frame: leaving open_engine still takes
    no longer than the close grace period (plus the engine's half-second margin)."""
    sim = ExampleSimulator(CREDS)
    steps = (Stall(at=1.0),)
    server = SimulatorServer(
        sim, [Script(venue="example", account="main", steps=steps)], clock=fixed_clock()
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        settings, environ = settings_for({"example": (server, CREDS)}, keep_alive=1.0, idle=5.0)
        async with open_engine(
            settings, plugins={"example": ExamplePlugin()}, environ=environ
        ) as engine:
            seed_engine(engine)
            # Stalled, not yet noticed (idle limit 5 s); the venue has stopped reading,
            # so the pings it ignored fill its queue and the close frame is never read.
            await trio.sleep(4.5)
            assert engine.connections()[0].state == "connected"
            leaving = trio.current_time()
        took = trio.current_time() - leaving
        nursery.cancel_scope.cancel()
    assert FAST.close_grace <= took <= FAST.close_grace + 0.5
    assert engine.connections()[0].state == "stopped"


def _ms(script_seconds: float) -> int:
    return int(EPOCH * 1000) + round(script_seconds * 1000)
