"""Socket path: frames per second from a venue feed over loopback WebSocket into the live
engine, against the raw trio-websocket receive rate of the same frames, in the same run.

For each venue with a simulator, a feeder process (:mod:`reconciler._bench_feeder`)
listens on 127.0.0.1; whoever connects is logged in and subscribed by the venue
simulator's own session, then gets the venue's clean flow (the first N frames of
:func:`~reconciler._bench_workload.venue_workload`), pre-encoded and written as fast as
the socket takes it. The feeder is a separate process so that this process measures
only the receiving side. Against the same feeder, back to back:

* **raw**: a plain trio-websocket client (``open_websocket_url``, the plugin's own link
  for the URL and the login and subscription frames) counts ``get_message()`` until it
  has every frame, and does nothing else with them;
* **engine**: :func:`~reconciler.engine.open_engine` with default settings for one
  account of the venue (a temporary journal, the default log sink) connects to the
  feeder; the run ends when the core has applied every frame (the ``frames`` counter
  of :meth:`~reconciler.engine.Engine.stats`, polled every millisecond).

Both runs are timed on ``time.perf_counter()`` from the moment the feeder starts writing
(it reports that moment; CLOCK_MONOTONIC is shared between processes) to the last frame
received (raw) or applied (engine). The bar (docs/performance.md): the engine keeps at
least 80% of the raw rate on every venue, i.e. it is never the bottleneck of its own feed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from contextlib import AsyncExitStack
from typing import Any

import structlog
import trio
from trio_websocket import open_websocket_url

from reconciler._bench_feeder import CREDENTIAL, Feeder, open_feeder
from reconciler._bench_workload import ACCOUNT
from reconciler._driver import _MAX_MESSAGE as DRIVER_MAX_MESSAGE
from reconciler._driver import _QUEUE as DRIVER_QUEUE
from reconciler.bench import Bar, BenchOptions, Measurement
from reconciler.engine import open_engine
from reconciler.link import LinkSettings, Secret
from reconciler.logs import configure_logging
from reconciler.plugin import VenuePlugin
from reconciler.settings import AccountConfig, Settings, VenueConfig

__all__ = ["FRAMES", "run"]

#: Frames per venue (full run, quick run).
FRAMES = (15_000, 2_000)
#: The bar: the engine's rate over the raw rate, on every venue.
RATIO_BAR = 0.8
# How often the engine's frame counter is read while the feed plays (seconds).
_POLL = 0.001
# Nothing here waits longer than this for one run (seconds).
_RUN_TIMEOUT = 120.0


def run(options: BenchOptions, frames: int | None = None) -> Measurement:
    """Measure every venue that has a simulator; see the module docstring.

    ``frames`` overrides the per-venue frame count (tests use a smaller one).
    """
    count = frames if frames is not None else FRAMES[1] if options.quick else FRAMES[0]
    venues = _live_venues(options.plugins)
    saved = structlog.get_config()
    with open(os.devnull, "w") as devnull:
        # The engine logs at its default level, as in production, to nowhere: the
        # work of rendering the lines stays in, the benchmark's output stays clean.
        configure_logging(format="json", level="info", stream=devnull)
        try:
            figures = trio.run(_measure_all, options, venues, count)
        finally:
            structlog.configure(**saved)
    return _measurement(figures)


def _live_venues(plugins: Mapping[str, VenuePlugin]) -> list[str]:
    found: list[str] = []
    for name, plugin in sorted(plugins.items()):
        creds = {ACCOUNT: dict.fromkeys(plugin.credential_names, CREDENTIAL)}
        if type(plugin).link is VenuePlugin.link:
            continue  # replay only: no live connection to measure
        try:
            plugin.simulator(creds)
        except NotImplementedError:
            continue
        found.append(name)
    return found


async def _measure_all(
    options: BenchOptions, venues: list[str], count: int
) -> dict[str, dict[str, Any]]:
    figures: dict[str, dict[str, Any]] = {}
    async with AsyncExitStack() as stack:
        # Every feeder builds its frames at once, side by side; then the venues are
        # measured one after the other while the others wait idle.
        feeders: dict[str, Feeder] = {}
        for name in venues:
            args = ["--venue", name, "--frames", str(count)]
            feeders[name] = await stack.enter_async_context(open_feeder(args))
        for name in venues:
            plugin = options.plugins[name]
            hello = await feeders[name].ready()
            url = f"ws://127.0.0.1:{hello['port']}{hello['path']}"
            n = int(hello["frames"])
            options.progress(f"bench: socket path, {name} ({n} frames): raw trio-websocket")
            raw = await _raw(plugin, feeders[name], url, n)
            options.progress(f"bench: socket path, {name} ({n} frames): engine")
            engine, extra = await _engine(options, plugin, feeders[name], url, n)
            figures[name] = {
                "frames": n,
                "mean_frame_bytes": round(int(hello["bytes"]) / max(n, 1)),
                "raw_frames": n,
                "raw_seconds": round(raw, 4),
                "raw_fps": round(n / raw),
                "engine_frames": n,
                # Keep-alive answers the venue sent while the feed played (not timed).
                "engine_other_frames": extra,
                "engine_seconds": round(engine, 4),
                "engine_fps": round(n / engine),
                "ratio": round(raw / engine, 3),
            }
    return figures


def _link_settings(plugin: VenuePlugin, url: str) -> LinkSettings:
    creds = {name: Secret(CREDENTIAL) for name in plugin.credential_names}
    return LinkSettings(venue=plugin.name, account=ACCOUNT, url=url, credentials=creds)


async def _raw(plugin: VenuePlugin, feeder: Feeder, url: str, n: int) -> float:
    """Seconds from the feeder's first write to the last of its ``n`` frames received by
    a client that only counts them."""
    link = plugin.link(_link_settings(plugin, url))
    with trio.fail_after(_RUN_TIMEOUT):
        async with open_websocket_url(
            # The engine's connection driver's own limits, so the raw client reads alike.
            link.url(),
            message_queue_size=DRIVER_QUEUE,
            max_message_size=DRIVER_MAX_MESSAGE,
        ) as ws:
            for frame in link.opening_frames(int(time.time() * 1000)):
                await ws.send_message(frame)
            feed = await feeder.event("feed")
            # The session's own replies (login, subscription) came first.
            for _ in range(int(feed["replies"]) + n):
                await ws.get_message()
            done = time.perf_counter()
    return done - float(feed["t"])


async def _engine(
    options: BenchOptions, plugin: VenuePlugin, feeder: Feeder, url: str, n: int
) -> tuple[float, int]:
    """Seconds from the feeder's first write until the engine's core has applied its
    ``n`` frames, and how many other frames (keep-alive answers) it applied meanwhile."""
    var = f"RECONCILER_BENCH_{plugin.name.upper()}_{{}}"
    environ = {var.format(c.upper()): CREDENTIAL for c in plugin.credential_names}
    account = AccountConfig(credentials={c: var.format(c.upper()) for c in plugin.credential_names})
    settings = Settings(
        venues={plugin.name: VenueConfig(url=url, accounts={ACCOUNT: account})},
    )
    with trio.fail_after(_RUN_TIMEOUT):
        async with open_engine(settings, plugins=options.plugins, environ=environ) as engine:
            feed = await feeder.event("feed")
            base = int(feed["replies"])
            while engine.reconciler.stats().get("frames", 0) < base + n:
                await trio.sleep(_POLL)
            done = time.perf_counter()
            extra = engine.reconciler.stats().get("frames", 0) - base - n
    return done - float(feed["t"]), extra


def _measurement(figures: dict[str, dict[str, Any]]) -> Measurement:
    rows: list[tuple[str, str]] = []
    for name, v in figures.items():
        rows.append(
            (
                f"{name}: raw trio-websocket",
                (
                    f"{v['raw_fps']:>9,} frames/s  ({v['frames']:,} frames, "
                    f"{v['mean_frame_bytes']} B avg)"
                ),
            )
        )
        rows.append(
            (
                f"{name}: engine (socket path)",
                f"{v['engine_fps']:>9,} frames/s  ({v['ratio']:.0%} of raw)",
            )
        )
    bars: list[Bar] = []
    if figures:
        worst = min(figures, key=lambda name: figures[name]["ratio"])
        ratio = figures[worst]["ratio"]
        bars.append(
            Bar(
                name="socket path keeps up with raw trio-websocket (every venue)",
                target=f">= {RATIO_BAR:.0%} of the raw rate",
                actual=f"lowest {ratio:.0%} ({worst})",
                met=ratio >= RATIO_BAR,
            )
        )
    return Measurement(
        key="socket_path",
        title="Socket path: loopback WebSocket into the engine vs raw trio-websocket",
        figures={"venues": figures},
        rows=rows,
        bars=bars,
    )
