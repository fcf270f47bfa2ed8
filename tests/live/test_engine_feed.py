"""The feed between a healthy connection and the core: keep-alive timing, malformed
frames, time-based checks without frames, and backpressure on the bounded channel."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
import trio
from live.examplevenue import ExamplePlugin, ExampleSimulator, order_frame
from live.livekit import collect, fixed_clock, seed_engine, settings_for

from reconciler.alerts import Alert
from reconciler.config import CoreConfig
from reconciler.engine import CHANNEL_SIZE, Engine, open_engine
from reconciler.events import Expectation
from reconciler.simserver import SimulatorServer
from reconciler.simulator import Script, Send

CREDS = {"main": {"token": "example-token-0123456789"}}


def _gaps(times: list[int]) -> list[int]:
    return [b - a for a, b in itertools.pairwise(times)]


@pytest.mark.parametrize(
    ("keep_alive", "idle", "interval_ms"),
    [(None, None, 1000), (2.5, 6.0, 2500)],
    ids=["link-default", "configured"],
)
async def test_keep_alives_are_exactly_one_interval_apart(
    autojump_clock: trio.abc.Clock, keep_alive: float | None, idle: float | None, interval_ms: int
) -> None:
    """The venue receives a ping every keep_alive_interval (the link's 1 s, or the
    configured value), to the millisecond, and never closes the connection as idle."""
    sim = ExampleSimulator(CREDS)
    server = SimulatorServer(sim, clock=fixed_clock())
    alerts: list[Alert] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        settings, environ = settings_for(
            {"example": (server, CREDS)}, keep_alive=keep_alive, idle=idle
        )
        async with open_engine(
            settings, plugins={"example": ExamplePlugin()}, environ=environ
        ) as engine:
            seed_engine(engine)
            await nursery.start(collect, engine, alerts)
            await trio.sleep(30.2)
        nursery.cancel_scope.cancel()
    assert len(sim.ping_times) == 30_000 // interval_ms
    assert _gaps(sim.ping_times) == [interval_ms] * (len(sim.ping_times) - 1)
    (login_ms, _), *_ = sim.logins
    assert sim.ping_times[0] - login_ms == interval_ms
    assert server.stats.dropped_idle == 0
    assert alerts == []


async def test_malformed_frames_are_reported_and_the_feed_continues(
    autojump_clock: trio.abc.Clock,
) -> None:
    """A cut-off frame raises MALFORMED_MESSAGE without ending the connection; the
    fault injected after it is still detected."""
    sim = ExampleSimulator(CREDS)
    script = sim.script(
        "main", seed=6, start_ms=0, duration=15, faults=("malformed", "FILL_REGRESSION")
    )
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
            assert (status.connects, status.disconnects) == (1, 0)
        nursery.cancel_scope.cancel()
    assert [(str(a.code), a.order_id) for a in alerts] == [
        ("MALFORMED_MESSAGE", None),
        ("FILL_REGRESSION", "main-regress"),
    ]
    assert alerts[0].evidence["excerpt"] == '{"type":"order","id":'
    assert engine.stats()["frames"] > 40


async def test_time_based_checks_run_when_no_frame_arrives(
    autojump_clock: trio.abc.Clock,
) -> None:
    """An order the execution system registered but the venue never reports raises
    UNACKNOWLEDGED_ORDER ack_timeout later, although not one frame arrives meanwhile
    (keep-alives every 30 s, none in the window)."""
    sim = ExampleSimulator(CREDS)
    server = SimulatorServer(sim, clock=fixed_clock())
    alerts: list[Alert] = []
    expectation = Expectation(
        venue="example",
        account="main",
        client_order_id="cl-1",
        symbol="BTC-USD",
        side="buy",
        quantity=Decimal(10),
    )
    ack_timeout = CoreConfig().ack_timeout
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        settings, environ = settings_for({"example": (server, CREDS)}, keep_alive=30, idle=60)
        async with open_engine(
            settings, plugins={"example": ExamplePlugin()}, environ=environ
        ) as engine:
            seed_engine(engine)
            await nursery.start(collect, engine, alerts)
            await trio.sleep(1)
            frames = engine.stats()["frames"]
            assert frames == 1  # the login reply
            registered = engine.clock.now()
            await engine.expect(expectation)
            await trio.sleep(ack_timeout + 1)
            assert engine.stats()["frames"] == frames
        nursery.cancel_scope.cancel()
    assert [str(a.code) for a in alerts] == ["UNACKNOWLEDGED_ORDER"]
    assert alerts[0].t - registered == pytest.approx(ack_timeout, abs=1e-3)
    assert sim.ping_times == []


async def test_bounded_channel_stops_reading_while_the_core_is_behind(
    autojump_clock: trio.abc.Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the core held back, the channel fills to CHANNEL_SIZE and the connection
    stops reading (no frame is dropped, the venue's side buffers the burst); released,
    the core reconciles every frame, and the held-up reader is not taken for a stalled
    feed."""
    gate = trio.Event()
    core = Engine._core

    async def held_core(self: Engine) -> None:
        await gate.wait()
        await core(self)

    monkeypatch.setattr(Engine, "_core", held_core)
    flood = 3000
    steps = tuple(Send(at=0.5, message=order_frame(f"f-{i}", "new", 10, 0)) for i in range(flood))
    sim = ExampleSimulator(CREDS)
    server = SimulatorServer(
        sim, [Script(venue="example", account="main", steps=steps)], clock=fixed_clock()
    )
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
            await trio.sleep(10)  # far longer than the idle limit (3 s)
            channel = engine._receive.statistics()
            assert channel.max_buffer_size == CHANNEL_SIZE
            assert channel.current_buffer_used == CHANNEL_SIZE
            connection = engine._supervisors[0]._current
            assert connection is not None
            # Read: what fills the channel (after the "connected" event) plus the one
            # frame waiting to go in.
            assert connection.frames == CHANNEL_SIZE
            assert engine.stats().get("frames", 0) == 0
            gate.set()
            await trio.sleep(5)
            assert engine.stats()["channel.waiting"] == 0
            (status,) = engine.connections()
            assert (status.connects, status.disconnects) == (1, 0)
        nursery.cancel_scope.cancel()
    assert alerts == []
    assert len(engine.orders()) == flood
