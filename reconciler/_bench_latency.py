"""Latency: p50/p99/max from frame received to alert emitted, at a fixed offered rate,
and the highest offered rate at which p99 stays under 1 ms.

A feeder process (:mod:`reconciler._bench_feeder`) on 127.0.0.1 plays BTSE's simulator:
it logs the client in and subscribes it with the simulator's own session, then offers
:func:`~reconciler._bench_feeder.latency_stream` at a fixed rate, paced by the feeder
(everything due is written in one burst every millisecond). The stream is BTSE clean flow
in which one frame in :data:`ALERT_EVERY` is a fill regression (300 filled, then 200 in
a newer notification of the same order): FILL_REGRESSION, critical, proven by that one
frame, so it fires at once (no settle window). A fresh engine
(:func:`~reconciler.engine.open_engine`, default settings: a temporary journal at its
default durability, the default log sink) is connected for each rate; a subscriber of
:meth:`~reconciler.engine.Engine.alerts` takes every alert as it is published, which
the engine does only after the journal commit that makes it durable.

Two latencies per alert, in milliseconds:

* **receive to alert** (the figure held to the bar): the alert's ``t`` is the time the
  connection driver took the frame off the WebSocket (``EpochClock.now()``, taken right
  after parsing and before the frame enters the engine's channel, not rounded); the
  subscriber reads the same clock when it holds the alert. It leaves out time a frame
  spends in the socket and in trio-websocket's queue before the driver takes it;
* **wire to alert**: from the feeder's write of the frame (``time.perf_counter()`` in the
  feeder, CLOCK_MONOTONIC like this process's) to the subscriber holding the alert; it
  includes loopback, trio-websocket and any queueing in front of the driver.

Rates step up (:data:`RATES`) while the engine takes the offered rate (a loaded machine
can miss 1 ms at one rate and meet it at the next, so a miss does not end the ladder);
the highest rate tried whose p99 (receive to alert) is under 1 ms is reported.
A rate the engine cannot take ends the ladder: the feeder's writes block (backpressure),
so what it offered is below the rate asked for.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

import structlog
import trio

from reconciler._bench_feeder import CREDENTIAL, LATENCY_VENUE, alert_orders, open_feeder
from reconciler._bench_workload import ACCOUNT
from reconciler.bench import Bar, BenchOptions, Measurement
from reconciler.engine import open_engine
from reconciler.logs import configure_logging
from reconciler.plugin import VenuePlugin
from reconciler.settings import AccountConfig, Settings, VenueConfig

__all__ = ["ALERT_EVERY", "FIXED_RATE", "RATES", "SECONDS", "run"]

#: The offered rate of the headline figures (frames per second).
FIXED_RATE = 1_000
#: The rates tried in a full run, in order (frames per second).
RATES = (1_000, 2_000, 5_000, 10_000, 20_000, 40_000)
#: Seconds of offered load per rate (full run, quick run).
SECONDS = (3.0, 1.0)
#: One frame in this many raises an alert.
ALERT_EVERY = 20
#: The bar: p99 receive-to-alert latency (seconds).
P99_BAR = 0.001
# A rate counts as offered when the feeder got it out in this share of its schedule:
# beyond, the engine's backpressure (not the feeder) set the pace.
_SUSTAINED = 0.9
# Longest wait for the alerts once the feed is over (seconds); every wait is bounded.
_TAIL_TIMEOUT = 30.0


def run(
    options: BenchOptions, seconds: float | None = None, rates: tuple[int, ...] | None = None
) -> Measurement:
    """Measure at :data:`FIXED_RATE`, then (full run) step through :data:`RATES`; see
    the module docstring. ``seconds`` and ``rates`` override the run size (tests)."""
    span = seconds if seconds is not None else SECONDS[1] if options.quick else SECONDS[0]
    ladder = rates if rates is not None else (FIXED_RATE,) if options.quick else RATES
    plugin = options.plugins.get(LATENCY_VENUE)
    if plugin is None or type(plugin).link is VenuePlugin.link:
        return Measurement(
            key="latency",
            title="Latency: frame received to alert emitted",
            figures={"skipped": f"needs the {LATENCY_VENUE} plugin with a live link"},
            rows=[("skipped", f"needs the {LATENCY_VENUE} plugin with a live link")],
        )
    saved = structlog.get_config()
    with open(os.devnull, "w") as devnull:
        # The engine logs at its default level, as in production, to nowhere.
        configure_logging(format="json", level="info", stream=devnull)
        try:
            steps = trio.run(_ladder, options, plugin, ladder, span)
        finally:
            structlog.configure(**saved)
    return _measurement(steps, span)


async def _ladder(
    options: BenchOptions, plugin: VenuePlugin, rates: tuple[int, ...], span: float
) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    for rate in rates:
        options.progress(f"bench: latency at {rate:,} frames/s for {span:g} s")
        step = await _step(options, plugin, rate, span)
        steps.append(step)
        if not step["sustained"] or step["p99_ms"] is None:
            break  # the engine could not take this rate: higher ones only get worse
    return steps


async def _step(
    options: BenchOptions, plugin: VenuePlugin, rate: int, span: float
) -> dict[str, Any]:
    count = max(ALERT_EVERY, round(rate * span))
    orders = alert_orders(count, ALERT_EVERY)
    index = {order: k for k, order in enumerate(orders)}
    internal: list[float | None] = [None] * len(orders)
    received: list[float | None] = [None] * len(orders)
    others = 0
    args = ["--venue", plugin.name, "--rate", str(rate), "--seconds", str(span)]
    args += ["--alert-every", str(ALERT_EVERY)]
    async with open_feeder(args) as feeder:
        hello = await feeder.ready()
        url = f"ws://127.0.0.1:{hello['port']}{hello['path']}"
        settings, environ = _settings(plugin, url)
        async with (
            open_engine(settings, plugins=options.plugins, environ=environ) as engine,
            engine.alerts() as alerts,
        ):
            sent: dict[str, Any] | None = None
            with trio.move_on_after(span * 3 + _TAIL_TIMEOUT):
                await feeder.event("feed")
                missing = len(orders)
                while missing:
                    alert = await alerts.receive()
                    now_epoch, now_mono = engine.clock.now(), time.perf_counter()
                    k = index.get(alert.order_id or "")
                    if alert.code != "FILL_REGRESSION" or k is None or internal[k] is not None:
                        others += 1
                        continue
                    internal[k] = now_epoch - alert.t
                    received[k] = now_mono
                    missing -= 1
                sent = await feeder.event("sent")
            dropped = alerts.dropped
    # A run cut short by the time limit (an engine far behind) keeps what arrived.
    times: list[float] = [] if sent is None else sent["times"]
    lat = sorted(x for x in internal if x is not None)
    wire = sorted(r - s for r, s in zip(received, times, strict=False) if r is not None)
    offered = 0.0 if sent is None else count / max(float(sent["seconds"]), 1e-9)
    sustained = offered >= rate * _SUSTAINED
    p99 = _pct(lat, 0.99)
    return {
        "rate": rate,
        "frames": count,
        "offered_fps": round(offered),
        "sustained": sustained,
        "alerts_expected": len(orders),
        "alerts_matched": len(lat),
        "other_alerts": others,
        "dropped": dropped,
        "p50_ms": _ms(_pct(lat, 0.50)),
        "p99_ms": _ms(p99),
        "max_ms": _ms(lat[-1] if lat else None),
        "wire_p50_ms": _ms(_pct(wire, 0.50)),
        "wire_p99_ms": _ms(_pct(wire, 0.99)),
        "wire_max_ms": _ms(wire[-1] if wire else None),
        "ok": sustained and p99 is not None and p99 < P99_BAR,
    }


def _settings(plugin: VenuePlugin, url: str) -> tuple[Settings, dict[str, str]]:
    names = {c: f"RECONCILER_BENCH_{plugin.name}_{c}".upper() for c in plugin.credential_names}
    account = AccountConfig(credentials=names)
    settings = Settings(venues={plugin.name: VenueConfig(url=url, accounts={ACCOUNT: account})})
    return settings, dict.fromkeys(names.values(), CREDENTIAL)


def _pct(ordered: list[float], q: float) -> float | None:
    """The nearest-rank ``q`` quantile of an ascending list (None when it is empty)."""
    if not ordered:
        return None
    return ordered[math.ceil(len(ordered) * q) - 1]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


def _fmt(ms: float | None) -> str:
    return "n/a" if ms is None else f"{ms:.3f}"


def _measurement(steps: list[dict[str, Any]], span: float) -> Measurement:
    fixed = next((s for s in steps if s["rate"] == FIXED_RATE), steps[0])
    passing = [s["rate"] for s in steps if s["ok"]]
    best = max(passing) if passing else None
    rows = [
        (
            f"at {fixed['rate']:,} frames/s: receive to alert",
            (
                f"p50 {_fmt(fixed['p50_ms'])} ms  p99 {_fmt(fixed['p99_ms'])} ms  "
                f"max {_fmt(fixed['max_ms'])} ms  ({fixed['alerts_matched']} alerts)"
            ),
        ),
        (
            f"at {fixed['rate']:,} frames/s: wire to alert",
            (
                f"p50 {_fmt(fixed['wire_p50_ms'])} ms  p99 {_fmt(fixed['wire_p99_ms'])} ms  "
                f"max {_fmt(fixed['wire_max_ms'])} ms"
            ),
        ),
    ]
    rows.extend(
        (
            f"  {s['rate']:>6,} frames/s offered",
            f"p50 {_fmt(s['p50_ms'])}  p99 {_fmt(s['p99_ms'])}  max {_fmt(s['max_ms'])} ms"
            + ("" if s["sustained"] else f"  (engine took only {s['offered_fps']:,}/s)"),
        )
        for s in steps
        if len(steps) > 1
    )
    rows.append(
        (
            "highest rate with p99 < 1 ms",
            "none tried passed"
            if best is None
            else f"{best:,} frames/s" + ("" if len(steps) > 1 else " (only rate tried)"),
        )
    )
    figures: dict[str, Any] = {
        "venue": LATENCY_VENUE,
        "alert_every": ALERT_EVERY,
        "seconds_per_rate": span,
        "fixed_rate": fixed["rate"],
        "p50_ms": fixed["p50_ms"],
        "p99_ms": fixed["p99_ms"],
        "max_ms": fixed["max_ms"],
        "wire_p50_ms": fixed["wire_p50_ms"],
        "wire_p99_ms": fixed["wire_p99_ms"],
        "wire_max_ms": fixed["wire_max_ms"],
        "max_rate_p99_under_1ms": best,
        "rates": steps,
    }
    bar = Bar(
        name=f"p99 receive-to-alert latency at {fixed['rate']:,} frames/s (informational)",
        target="< 1 ms",
        actual=f"{_fmt(fixed['p99_ms'])} ms",
        met=fixed["p99_ms"] is not None and fixed["p99_ms"] < P99_BAR * 1000,
    )
    return Measurement(
        key="latency",
        title="Latency: frame received to alert emitted (BTSE, loopback, journal on)",
        figures=figures,
        rows=rows,
        bars=[bar],
    )
