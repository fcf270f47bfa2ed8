"""The engine's logs end to end: no secret ever reaches a log line or an alert, and
every line about a connection names its venue and account."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from io import StringIO

import pytest
import structlog
import trio
from live.examplevenue import ExampleLink, ExamplePlugin, ExampleSimulator
from live.livekit import collect, fixed_clock, seed_engine, settings_for

from reconciler.alerts import Alert
from reconciler.engine import open_engine
from reconciler.link import LinkSettings
from reconciler.logs import configure_logging
from reconciler.simserver import SimulatorServer

GOOD = "example-token-good-5f1c2a9e"
REFUSED = "example-token-bad-7d3b6e10"
CRASHY = "crashy-token-leaky-0c4d8f21"
SECRETS = (GOOD, REFUSED, CRASHY)

# Lines about the engine as a whole, not one connection.
ENGINE_WIDE = frozenset(
    {
        "alert subscriber is not keeping up",
        "no journal.path configured: journaling to a temporary file; nothing survives a restart",
        "engine stopped",
    }
)


class _LeakyLink(ExampleLink):
    """A careless plugin: its error message carries the token."""

    def opening_frames(self, now_ms: int) -> Sequence[str]:
        token = self.settings.secret("token").reveal()
        raise RuntimeError(f"bad {token}")


class _LeakyPlugin(ExamplePlugin):
    name = "crashy"

    def link(self, settings: LinkSettings) -> ExampleLink:
        return _LeakyLink(settings)


@pytest.fixture
def captured() -> Iterator[StringIO]:
    """JSON lines at debug level, and every standard-library record, in one buffer."""
    buffer = StringIO()
    root = logging.getLogger()
    handler = logging.StreamHandler(buffer)
    handler.setLevel(logging.DEBUG)
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    configure_logging(format="json", level="debug", stream=buffer)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        structlog.reset_defaults()


async def test_secrets_never_reach_logs_or_alerts(
    autojump_clock: trio.abc.Clock, captured: StringIO
) -> None:
    """A session with a refused token, an auth-refusal episode, a stalled feed and a
    plugin that puts its token in an exception message: no token appears in the
    output (structlog or standard library) nor in any alert, and every line about a
    connection carries venue and account."""
    sim = ExampleSimulator({"main": {"token": GOOD}})
    script = sim.script("main", seed=8, start_ms=0, duration=30, faults=("auth_refusal", "stall"))
    server = SimulatorServer(sim, [script], clock=fixed_clock())
    crashy_server = SimulatorServer(ExampleSimulator({"main": {"token": CRASHY}}))
    alerts: list[Alert] = []
    plugins = {"example": ExamplePlugin(), "crashy": _LeakyPlugin()}
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        await nursery.start(crashy_server.run)
        settings, environ = settings_for(
            {
                "example": (server, {"main": {"token": GOOD}, "alt": {"token": REFUSED}}),
                "crashy": (crashy_server, {"main": {"token": CRASHY}}),
            }
        )
        async with open_engine(settings, plugins=plugins, environ=environ) as engine:
            seed_engine(engine)
            await nursery.start(collect, engine, alerts)
            await server.finished.wait()
            await trio.sleep(3)
        nursery.cancel_scope.cancel()

    seen = {(a.venue, a.account, str(a.code)) for a in alerts}
    assert seen >= {
        ("example", "main", "AUTH_FAILED"),
        ("example", "main", "FEED_STALE"),
        ("example", "alt", "AUTH_FAILED"),
        ("crashy", "main", "PLUGIN_ERROR"),
    }
    # (alt and crashy, down for the whole session, may add FEED_STALE.)
    assert {code for _, _, code in seen} == {"AUTH_FAILED", "FEED_STALE", "PLUGIN_ERROR"}
    (plugin_error,) = (a for a in alerts if a.code == "PLUGIN_ERROR")
    assert "bad ***" in plugin_error.message

    output = captured.getvalue()
    for secret in SECRETS:
        assert secret not in output
        for alert in alerts:
            assert secret not in alert.message
            assert all(secret not in v for v in alert.evidence.values())

    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    events = {line["event"] for line in lines}
    assert {"connecting", "connected", "credentials refused", "feed stalled", "alert"} <= events
    traceback_lines = [line for line in lines if "traceback" in line]
    assert len(traceback_lines) == 1
    assert "RuntimeError: bad ***" in traceback_lines[0]["traceback"]
    about_connections = [line for line in lines if line["event"] not in ENGINE_WIDE]
    missing = [line for line in about_connections if "venue" not in line or "account" not in line]
    assert missing == []
