"""Refused credentials end to end: one AUTH_FAILED per episode, slow fixed retries.

The example venue checks the login token; the engine runs against its simulator over
loopback sockets under Trio's autojump clock.
"""

from __future__ import annotations

import itertools

import msgspec
import pytest
import trio
from live.examplevenue import ExamplePlugin, ExampleSession, ExampleSimulator, order_frame
from live.livekit import (
    FAST,
    collect,
    fixed_clock,
    release_rejected_sockets,
    seed_engine,
    settings_for,
)

from reconciler.alerts import Alert
from reconciler.engine import open_engine
from reconciler.lifecycle import Status
from reconciler.simserver import SimulatorServer
from reconciler.simulator import Refusal, RefuseAuth, Script, Send

TOKEN = "example-token-0123456789"
CREDS = {"main": {"token": TOKEN}}
RETRY_MS = int(FAST.auth_retry * 1000)


def _codes(alerts: list[Alert]) -> list[str]:
    return [str(a.code) for a in alerts]


def _gaps(times: list[int]) -> list[int]:
    return [b - a for a, b in itertools.pairwise(times)]


async def test_refused_logins_raise_one_alert_per_episode(autojump_clock: trio.abc.Clock) -> None:
    """The venue refuses two logins, later one more: each episode raises AUTH_FAILED
    once (not once per refused attempt), refused logins are retried exactly every
    auth_retry seconds, and the orders sent after each recovery are reconciled."""
    sim = ExampleSimulator(CREDS)
    steps = (
        Send(at=0.5, message=order_frame("o-1", "new", 10, 0)),
        RefuseAuth(at=3.0, attempts=2),
        Send(at=20.0, message=order_frame("o-1", "filled", 10, 10)),
        RefuseAuth(at=30.0, attempts=1),
        Send(at=45.0, message=order_frame("o-2", "new", 10, 0)),
        Send(at=46.0, message=order_frame("o-2", "filled", 10, 10)),
    )
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
            await trio.sleep(1)
            (status,) = engine.connections()
            assert status.state == "connected"
        nursery.cancel_scope.cancel()
    assert _codes(alerts) == ["AUTH_FAILED", "AUTH_FAILED"]
    assert len({a.id for a in alerts}) == 2
    assert all((a.venue, a.account, a.order_id) == ("example", "main", None) for a in alerts)
    logins = [ok for _, ok in sim.logins]
    assert logins == [True, False, False, True, False, True]
    times = [t for t, _ in sim.logins]
    # After a refusal the next login comes exactly auth_retry later.
    assert _gaps(times)[1:3] == [RETRY_MS, RETRY_MS]
    assert _gaps(times)[4] == RETRY_MS
    for order_id in ("o-1", "o-2"):
        state = engine.order("example", order_id)
        assert state is not None
        assert state.status is Status.FILLED


async def test_bad_token_retries_slowly_then_recovers(autojump_clock: trio.abc.Clock) -> None:
    """A token the venue does not know: one AUTH_FAILED, then exactly one attempt per
    auth_retry seconds (12 in 57.5 s, never a hot loop); once the venue accepts the
    token the account connects and stays connected."""
    sim = ExampleSimulator(CREDS)
    server = SimulatorServer(sim, clock=fixed_clock())
    alerts: list[Alert] = []
    bad = {"main": {"token": "example-token-revoked-000"}}
    connection = msgspec.structs.replace(FAST, reconnect_alert_after=600.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        settings, environ = settings_for({"example": (server, bad)}, connection=connection)
        async with open_engine(
            settings, plugins={"example": ExamplePlugin()}, environ=environ
        ) as engine:
            seed_engine(engine)
            await nursery.start(collect, engine, alerts)
            await trio.sleep(57.5)
            assert server.stats.connections == 12
            (status,) = engine.connections()
            assert status.state == "auth_refused"
            assert status.attempts == 12
            # The venue now knows the token (rotated on its side).
            sim.credentials["main"]["token"] = bad["main"]["token"]
            await trio.sleep(10)
            (status,) = engine.connections()
            assert status.state == "connected"
        nursery.cancel_scope.cancel()
    assert _codes(alerts) == ["AUTH_FAILED"]
    assert _gaps(sim.opened) == [RETRY_MS] * 12
    assert [ok for _, ok in sim.logins] == [False] * 12 + [True]


async def test_refusal_for_longer_than_the_alert_limit_also_raises_feed_stale(
    autojump_clock: trio.abc.Clock,
) -> None:
    """Credentials refused for longer than reconnect_alert_after: AUTH_FAILED at once,
    and FEED_STALE once the account has delivered nothing for that long."""
    sim = ExampleSimulator(CREDS)
    server = SimulatorServer(sim, clock=fixed_clock())
    alerts: list[Alert] = []
    bad = {"main": {"token": "example-token-revoked-000"}}
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        settings, environ = settings_for({"example": (server, bad)})
        async with open_engine(
            settings, plugins={"example": ExamplePlugin()}, environ=environ
        ) as engine:
            seed_engine(engine)
            start = engine.clock.now()
            await nursery.start(collect, engine, alerts)
            await trio.sleep(100)
        nursery.cancel_scope.cancel()
    assert _codes(alerts) == ["AUTH_FAILED", "FEED_STALE"]
    assert alerts[1].t - start == FAST.reconnect_alert_after


class _LockedOutSession(ExampleSession):
    def open(self, target: str, now_ms: int) -> Refusal | None:
        super().open(target, now_ms)
        if isinstance(self.sim, _LockedOutSimulator) and self.sim.locked:
            return Refusal(reason="unauthorized", http_status=401)
        return None


class _LockedOutSimulator(ExampleSimulator):
    """Answers the WebSocket handshake with HTTP 401 while ``locked``."""

    locked = True

    def session(self) -> ExampleSession:
        return _LockedOutSession(self)


# trio-websocket drops the client socket of a rejected handshake without closing it.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
async def test_http_401_on_the_handshake_counts_as_refused_credentials(
    autojump_clock: trio.abc.Clock,
) -> None:
    """A handshake answered with HTTP 401 is a refusal: AUTH_FAILED once, retries every
    auth_retry seconds, and the account connects once the venue lets it in."""
    sim = _LockedOutSimulator(CREDS)
    server = SimulatorServer(sim, clock=fixed_clock())
    alerts: list[Alert] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        settings, environ = settings_for({"example": (server, CREDS)})
        async with open_engine(
            settings, plugins={"example": ExamplePlugin()}, environ=environ
        ) as engine:
            seed_engine(engine)
            await nursery.start(collect, engine, alerts)
            await trio.sleep(12.5)
            sim.locked = False
            await trio.sleep(5)
            (status,) = engine.connections()
            assert status.state == "connected"
            assert status.connects == 1
        nursery.cancel_scope.cancel()
    release_rejected_sockets()
    assert _codes(alerts) == ["AUTH_FAILED"]
    assert "401" in alerts[0].message
    assert server.stats.refused == 3
    assert _gaps(sim.opened) == [RETRY_MS] * 3
    assert [ok for _, ok in sim.logins] == [True]
