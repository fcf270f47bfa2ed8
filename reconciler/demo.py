"""``reconciler demo``: every venue simulator on loopback, the engine against them.

The demo needs no configuration, credentials or network beyond loopback. It makes up
credentials, starts each installed venue's simulator with seeded scripts of clean flow
and every fault the simulator can inject, runs the live engine against them exactly
as ``reconciler run`` would, shows alerts as they happen with a status line, and ends
with a table of what was detected against what was injected.
"""

from __future__ import annotations

import random
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from io import StringIO
from typing import TextIO

import structlog
import trio

from reconciler._clock import EpochClock
from reconciler.alerts import Alert, Severity
from reconciler.config import CoreConfig
from reconciler.engine import Engine, open_engine
from reconciler.events import Expectation
from reconciler.logs import configure_logging
from reconciler.plugin import VenuePlugin, load_plugins
from reconciler.settings import (
    AccountConfig,
    ConnectionConfig,
    LoggingConfig,
    Settings,
    VenueConfig,
)
from reconciler.simserver import SimulatorServer
from reconciler.simulator import Injected, Script, VenueSimulator

__all__ = ["DemoReport", "run_demo"]

#: Accounts each venue gets in the demo: a venue's faults are dealt out among them, so
#: that every account's script fits in the demo's minute.
ACCOUNTS: tuple[str, ...] = ("main", "hedge", "algo")
# Seconds the engine is given after the scripts end, for settle windows to close.
_TAIL = 8.0
# Timers short enough that stalls and refusals play out within a minute.
_DEMO_CONNECTION = ConnectionConfig(
    connect_timeout=5.0,
    backoff_initial=0.5,
    backoff_max=2.0,
    healthy_after=10.0,
    auth_retry=4.0,
    reconnect_alert_after=30.0,
    close_grace=1.0,
)
_KEEP_ALIVE, _IDLE = 1.0, 3.0


@dataclass
class FaultResult:
    """One injected fault and the alerts that matched it."""

    injected: Injected
    matched: list[Alert] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def detected(self) -> bool:
        """All expected alerts were raised (an absorbed fault expects none)."""
        return not self.missing


@dataclass
class DemoReport:
    """What the demo injected and what the engine raised."""

    results: list[FaultResult]
    alerts: list[Alert]
    false_alerts: list[Alert]
    unexplained_info: list[Alert]
    frames: dict[str, int]

    @property
    def ok(self) -> bool:
        """Every fault detected, and no warning or critical alert nobody injected."""
        return all(r.detected for r in self.results) and not self.false_alerts


def _credentials(
    plugin: VenuePlugin, accounts: Sequence[str], rng: random.Random
) -> dict[str, dict[str, str]]:
    return {
        account: {
            name: f"demo-{plugin.name}-{account}-{name}-{rng.getrandbits(64):016x}"
            for name in plugin.credential_names
        }
        for account in accounts
    }


def _fault_plan(sim: VenueSimulator, accounts: Sequence[str]) -> dict[str, list[str]]:
    plan: dict[str, list[str]] = {a: [] for a in accounts}
    for i, fault in enumerate(sim.fault_names):
        plan[accounts[i % len(accounts)]].append(fault)
    return plan


def match(scripts: Sequence[Script], alerts: Sequence[Alert]) -> DemoReport:
    """Pair every injected fault with the alerts it expects; the rest are false alerts."""
    results: list[FaultResult] = []
    used: set[str] = set()
    for script in scripts:
        for inj in script.injected:
            res = FaultResult(inj)
            for exp in inj.expects:
                hit = next(
                    (
                        a
                        for a in alerts
                        if a.code == exp.code
                        and a.venue == inj.venue
                        and a.account == inj.account
                        and (exp.order_id is None or a.order_id == exp.order_id)
                        and a.id not in used
                    ),
                    None,
                )
                if hit is None:
                    res.missing.append(f"{exp.code} {exp.order_id or ''}".strip())
                else:
                    used.add(hit.id)
                    res.matched.append(hit)
            results.append(res)
    # A fault can prove itself twice (an overfill seen in the order report and again in
    # the executions' sum): a further alert of the same code on the same order belongs
    # to the fault it repeats, not to the false alerts.
    explained = {(a.venue, a.account, a.code, a.order_id): r for r in results for a in r.matched}
    for alert in alerts:
        owner = explained.get((alert.venue, alert.account, alert.code, alert.order_id))
        if alert.id not in used and owner is not None and alert.order_id is not None:
            used.add(alert.id)
            owner.matched.append(alert)
    rest = [a for a in alerts if a.id not in used]
    false = [a for a in rest if a.severity is not Severity.INFO]
    info = [a for a in rest if a.severity is Severity.INFO]
    return DemoReport(results, list(alerts), false, info, {})


async def run_demo(
    *,
    duration: float = 60.0,
    seed: int = 1,
    out: TextIO | None = None,
    plugins: Mapping[str, VenuePlugin] | None = None,
    live: bool | None = None,
) -> DemoReport:
    """Run the demo for about ``duration`` seconds and return its report.

    ``out`` receives the live alert lines, the status line and the summary (stdout by
    default); ``live`` forces or disables the one-line live status (default: on when
    ``out`` is a terminal).
    """
    stream = out if out is not None else sys.stdout
    show_status = stream.isatty() if live is None else live
    found = dict(plugins) if plugins is not None else load_plugins()
    rng = random.Random(seed)  # noqa: S311 - made-up demo credentials, not security
    clock = EpochClock()
    start_ms = clock.now_ms()
    script_time = max(10.0, duration - _TAIL)

    servers: dict[str, SimulatorServer] = {}
    scripts: list[Script] = []
    creds: dict[str, dict[str, dict[str, str]]] = {}
    engine_box: list[Engine] = []
    engine_ready = trio.Event()

    async def on_expect(expectation: Expectation) -> None:
        await engine_ready.wait()
        await engine_box[0].expect(expectation)

    for name, plugin in sorted(found.items()):
        accounts = ACCOUNTS
        venue_creds = _credentials(plugin, accounts, rng)
        try:
            sim = plugin.simulator(venue_creds)
        except NotImplementedError:
            continue
        plan = _fault_plan(sim, accounts)
        venue_scripts = [
            sim.script(
                account,
                seed=rng.getrandbits(32),
                start_ms=start_ms,
                duration=script_time,
                faults=plan[account],
            )
            for account in accounts
        ]
        scripts += venue_scripts
        creds[name] = venue_creds
        servers[name] = SimulatorServer(sim, venue_scripts, on_expect=on_expect, clock=clock)

    strict = tuple(f"{s.venue}:{s.account}" for s in scripts if s.strict)
    alerts: list[Alert] = []
    # The engine's log lines would drown the demo's own output; the caller's logging
    # configuration is restored afterwards.
    saved = structlog.get_config()
    configure_logging(format="json", level="critical", stream=StringIO())
    try:
        async with trio.open_nursery() as nursery:
            for server in servers.values():
                await nursery.start(server.run)
            settings, environ = _settings(servers, creds, strict)
            async with open_engine(settings, plugins=found, environ=environ) as engine:
                engine_box.append(engine)
                engine_ready.set()
                _header(stream, servers, scripts, duration)
                async with trio.open_nursery() as inner:
                    inner.start_soon(_print_alerts, engine, alerts, stream, show_status)
                    if show_status:
                        inner.start_soon(_status_line, engine, alerts, stream)
                    for server in servers.values():
                        await server.finished.wait()
                    await trio.sleep(_TAIL)
                    inner.cancel_scope.cancel()
                frames = _frames_by_venue(engine)
            nursery.cancel_scope.cancel()
    finally:
        structlog.configure(**saved)
    if show_status:
        stream.write("\r\x1b[K")
    report = match(scripts, alerts)
    report.frames = frames
    _summary(stream, report)
    return report


def _settings(
    servers: Mapping[str, SimulatorServer],
    creds: Mapping[str, Mapping[str, Mapping[str, str]]],
    strict: tuple[str, ...],
) -> tuple[Settings, dict[str, str]]:
    environ: dict[str, str] = {}
    venues: dict[str, VenueConfig] = {}
    for venue, server in servers.items():
        accounts: dict[str, AccountConfig] = {}
        for account, values in creds[venue].items():
            names: dict[str, str] = {}
            for cred, value in values.items():
                var = f"RECONCILER_DEMO_{venue}_{account}_{cred}".upper()
                environ[var] = value
                names[cred] = var
            accounts[account] = AccountConfig(credentials=names)
        venues[venue] = VenueConfig(
            url=server.url, keep_alive_interval=_KEEP_ALIVE, idle_timeout=_IDLE, accounts=accounts
        )
    settings = Settings(
        core=CoreConfig(strict_accounts=strict),
        connection=_DEMO_CONNECTION,
        logging=LoggingConfig(format="json", level="error"),
        venues=venues,
    )
    return settings, environ


def _frames_by_venue(engine: Engine) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for status in engine.connections():
        counts[status.venue] += status.frames
    return dict(counts)


def _header(
    stream: TextIO,
    servers: Mapping[str, SimulatorServer],
    scripts: Sequence[Script],
    duration: float,
) -> None:
    faults = sum(len(s.injected) for s in scripts)
    stream.write(
        f"reconciler demo: {len(servers)} simulated venues on loopback "
        f"({', '.join(sorted(servers))}), {len(scripts)} accounts, {faults} injected faults, "
        f"about {duration:.0f} s.\n\n"
    )
    stream.flush()


_SEVERITY_MARK = {Severity.INFO: "info", Severity.WARNING: "WARN", Severity.CRITICAL: "CRIT"}


async def _print_alerts(engine: Engine, alerts: list[Alert], stream: TextIO, status: bool) -> None:
    t0 = trio.current_time()
    async with engine.alerts() as sub:
        async for alert in sub:
            alerts.append(alert)
            elapsed = trio.current_time() - t0
            prefix = "\r\x1b[K" if status else ""
            order = f" {alert.order_id}" if alert.order_id else ""
            stream.write(
                f"{prefix}{elapsed:6.1f}s {_SEVERITY_MARK[alert.severity]:<4} {alert.code:<33} "
                f"{alert.venue}/{alert.account}{order}\n"
            )
            stream.flush()


async def _status_line(engine: Engine, alerts: list[Alert], stream: TextIO) -> None:
    while True:
        await trio.sleep(0.5)
        stats = engine.stats()
        venues = " ".join(f"{s.venue}/{s.account}:{s.state[:4]}" for s in engine.connections())
        stream.write(
            f"\r\x1b[K frames {stats.get('frames', 0):>6}  open orders "
            f"{len(engine.orders(open_only=True)):>4}  alerts {len(alerts):>3}  {venues}"
        )
        stream.flush()


def _summary(stream: TextIO, report: DemoReport) -> None:
    rows = [("venue/account", "injected fault", "expected alert(s)", "detected")]
    for res in report.results:
        inj = res.injected
        expected = ", ".join(e.code for e in inj.expects) or "(absorbed silently)"
        rows.append(
            (
                f"{inj.venue}/{inj.account}",
                inj.fault,
                expected,
                "yes" if res.detected else "NO: missing " + ", ".join(res.missing),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    stream.write("\nSummary: detected against injected\n")
    for i, row in enumerate(rows):
        stream.write(
            "  "
            + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False))
            + "  "
            + row[3]
            + "\n"
        )
        if i == 0:
            stream.write("  " + "  ".join("-" * w for w in widths) + "  --------\n")
    detected = sum(r.detected for r in report.results)
    stream.write(
        f"\n{detected}/{len(report.results)} injected faults detected; "
        f"{len(report.false_alerts)} false alerts (warning or critical nobody injected); "
        f"{len(report.alerts)} alerts in all; frames: "
        + ", ".join(f"{v} {n}" for v, n in sorted(report.frames.items()))
        + ".\n"
    )
    stream.writelines(f"  false alert: {_where(a)}: {a.message}\n" for a in report.false_alerts)
    stream.writelines(
        f"  info alert not tied to a fault: {_where(a)}\n" for a in report.unexplained_info
    )
    stream.write("Result: " + ("PASS" if report.ok else "FAIL") + "\n")
    stream.flush()


def _where(alert: Alert) -> str:
    return f"{alert.code} {alert.venue}/{alert.account} {alert.order_id or ''}".rstrip()
