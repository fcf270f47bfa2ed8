"""Each real venue end to end: its simulator on loopback, the engine against it.

For every venue: a clean scenario raises nothing above info; every fault its simulator
can inject is detected with the right code and order id, and nothing else is raised;
a session of all four venues writes no secret to any log line.
"""

from __future__ import annotations

import json
from io import StringIO

import msgspec
import pytest
import structlog
import trio
from live.livekit import collect, settings_for

from reconciler.alerts import Alert, Severity
from reconciler.demo import match
from reconciler.engine import open_engine
from reconciler.logs import configure_logging
from reconciler.plugin import VenuePlugin, load_plugins
from reconciler.simserver import SimulatorServer
from reconciler.simulator import Script

PLUGINS = load_plugins()
VENUES = ["tread", "btse", "bybit", "clearstreet"]
START_MS = 1_763_700_000_000


def _creds(plugin: VenuePlugin) -> dict[str, dict[str, str]]:
    return {"main": {n: f"s3cr3t-{plugin.name}-{n}-9f8e7d6c5b4a" for n in plugin.credential_names}}


async def _session(
    venue: str, *, seed: int, duration: float, faults: tuple[str, ...]
) -> tuple[Script, list[Alert]]:
    plugin = PLUGINS[venue]
    creds = _creds(plugin)
    sim = plugin.simulator(creds)
    script = sim.script("main", seed=seed, start_ms=START_MS, duration=duration, faults=faults)
    alerts: list[Alert] = []
    async with trio.open_nursery() as nursery:
        engine_box: list[object] = []

        async def on_expect(exp: object) -> None:
            while not engine_box:
                await trio.sleep(0.01)
            await engine_box[0].expect(exp)  # type: ignore[attr-defined]

        server = SimulatorServer(sim, [script], on_expect=on_expect)
        await nursery.start(server.run)
        settings, environ = settings_for({venue: (server, creds)}, keep_alive=1.0, idle=3.0)
        if script.strict:
            core = msgspec.structs.replace(settings.core, strict_accounts=(f"{venue}:main",))
            settings = msgspec.structs.replace(settings, core=core)
        async with open_engine(settings, plugins=PLUGINS, environ=environ) as engine:
            await nursery.start(collect, engine, alerts)
            engine_box.append(engine)
            await server.finished.wait()
            await trio.sleep(12)
        nursery.cancel_scope.cancel()
    return script, alerts


@pytest.mark.parametrize("venue", VENUES)
async def test_clean_scenario_raises_nothing_above_info(
    venue: str, autojump_clock: trio.abc.Clock
) -> None:
    """Clean flow over real sockets: no warning or critical alert."""
    _, alerts = await _session(venue, seed=7, duration=30, faults=())
    loud = [a for a in alerts if a.severity is not Severity.INFO]
    assert loud == [], [(a.code, a.order_id, a.message) for a in loud]


def _fault_cases() -> list[tuple[str, str]]:
    cases = []
    for venue in VENUES:
        try:
            names = PLUGINS[venue].simulator(_creds(PLUGINS[venue])).fault_names
        except NotImplementedError:
            continue
        cases += [(venue, name) for name in names]
    return cases


@pytest.mark.parametrize(("venue", "fault"), _fault_cases())
async def test_injected_fault_is_detected_end_to_end(
    venue: str, fault: str, autojump_clock: trio.abc.Clock
) -> None:
    """The fault's expected alerts arrive with the right code and order id; no other
    warning or critical alert is raised."""
    script, alerts = await _session(venue, seed=11, duration=40, faults=(fault,))
    report = match([script], alerts)
    assert [r.missing for r in report.results] == [[]], [(a.code, a.order_id) for a in alerts]
    assert report.false_alerts == [], [(a.code, a.order_id, a.message) for a in report.false_alerts]


async def test_all_faults_of_all_venues_together(autojump_clock: trio.abc.Clock) -> None:
    """Every venue with every fault at once, as in the demo: all detected, none false."""
    from reconciler.demo import run_demo  # noqa: PLC0415

    out = StringIO()
    report = await run_demo(duration=60, seed=5, out=out, plugins=PLUGINS, live=False)
    assert report.ok, out.getvalue()
    assert {r.injected.venue for r in report.results} == set(VENUES)


async def test_no_secret_reaches_any_log_line(autojump_clock: trio.abc.Clock) -> None:
    """A full session of all four venues, with refused logins and stalls, logged at
    debug level: no credential appears anywhere in the output, and every line about a
    connection names its venue and account."""
    buffer = StringIO()
    configure_logging(format="json", level="debug", stream=buffer)
    secrets: list[str] = []
    try:
        for venue in VENUES:
            secrets += list(_creds(PLUGINS[venue])["main"].values())
            _, alerts = await _session(
                venue, seed=3, duration=30, faults=("auth_refusal", "stall", "malformed")
            )
            for alert in alerts:
                text = json.dumps([alert.message, alert.evidence])
                assert not any(s in text for s in secrets)
    finally:
        structlog.reset_defaults()
    output = buffer.getvalue()
    assert output
    for secret in secrets:
        assert secret not in output
    for line in output.splitlines():
        record = json.loads(line)
        if record["event"] in {"connecting", "connected", "disconnected", "connection lost"}:
            assert record.get("venue"), record
            assert record.get("account"), record
