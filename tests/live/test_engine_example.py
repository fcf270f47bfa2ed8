"""The live engine end to end against the example venue's simulator over loopback."""

from __future__ import annotations

import trio
from live.examplevenue import ExamplePlugin, ExampleSimulator
from live.livekit import collect, settings_for

from reconciler.alerts import Alert
from reconciler.engine import open_engine
from reconciler.simserver import SimulatorServer

CREDS = {"main": {"token": "example-token-0123456789"}}


async def test_frames_flow_and_injected_fault_is_detected(autojump_clock: trio.abc.Clock) -> None:
    """A script's orders reach the core and its FILL_REGRESSION is raised once."""
    sim = ExampleSimulator(CREDS)
    script = sim.script("main", seed=1, start_ms=0, duration=10, faults=("FILL_REGRESSION",))
    server = SimulatorServer(sim, [script])
    alerts: list[Alert] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        settings, environ = settings_for({"example": (server, CREDS)})
        async with open_engine(
            settings, plugins={"example": ExamplePlugin()}, environ=environ
        ) as engine:
            await nursery.start(collect, engine, alerts)
            await server.finished.wait()
            await trio.sleep(6)
            assert engine.stats()["frames"] > 20
        nursery.cancel_scope.cancel()
    codes = [(a.code, a.order_id) for a in alerts]
    assert codes == [("FILL_REGRESSION", "main-regress")]
