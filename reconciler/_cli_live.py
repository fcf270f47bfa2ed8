"""The live subcommands: ``run`` (the engine from a configuration file) and ``demo``."""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping
from typing import TextIO

import trio

from reconciler import _render
from reconciler.config_file import ConfigError, load_settings
from reconciler.demo import DemoReport, run_demo
from reconciler.engine import Engine, open_engine
from reconciler.logs import configure_logging
from reconciler.plugin import PluginLoadError, VenuePlugin, load_plugins
from reconciler.settings import Settings, plan_connections

__all__ = ["demo_command", "run_command"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def run_command(
    path: str,
    out: TextIO,
    err: TextIO,
    *,
    environ: Mapping[str, str] | None = None,
    duration: float | None = None,
) -> int:
    """``reconciler run --config FILE``: alerts as JSON lines on ``out``, logs on ``err``.

    Runs until SIGINT/SIGTERM (or ``duration`` seconds). A bad configuration is
    reported in full before anything starts, with exit status 2.
    """
    env = os.environ if environ is None else environ
    try:
        settings = load_settings(path)
        plugins = load_plugins()
        plan_connections(settings, plugins, env)
    except Exception as exc:  # noqa: BLE001 - one clear message, never a traceback
        if not isinstance(exc, ConfigError | PluginLoadError):
            exc = ConfigError(
                f"a venue plugin refused the configuration: {type(exc).__name__}: {exc}"
            )
        err.write(f"reconciler: {path}: the configuration cannot start the engine:\n")
        err.writelines(f"  {line}\n" for line in str(exc).splitlines())
        err.write(f"reconciler: see `reconciler check-config {path}` and docs/configuration.md\n")
        return EXIT_USAGE
    configure_logging(format=settings.logging.format, level=settings.logging.level, stream=err)
    trio.run(_run, settings, plugins, env, out, duration)
    return EXIT_OK


async def _run(
    settings: Settings,
    plugins: Mapping[str, VenuePlugin],
    environ: Mapping[str, str],
    out: TextIO,
    duration: float | None,
) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with (
            open_engine(settings, plugins=plugins, environ=environ) as engine,
            trio.open_nursery() as nursery,
        ):
            nursery.start_soon(_write_alerts, engine, out)
            with trio.move_on_after(duration if duration is not None else float("inf")):
                async for _ in signals:
                    break
            nursery.cancel_scope.cancel()


async def _write_alerts(engine: Engine, out: TextIO) -> None:
    # Written from a worker thread: a reader that stops draining the pipe then holds up
    # only this subscriber (whose bounded buffer drops the newest alerts, counted and
    # logged), never the feed.
    async with engine.alerts() as alerts:
        async for alert in alerts:
            await trio.to_thread.run_sync(_write, out, _render.jsonl(alert), abandon_on_cancel=True)


def _write(out: TextIO, text: str) -> None:
    out.write(text)
    out.flush()


def demo_command(duration: float, seed: int, out: TextIO) -> int:
    """``reconciler demo``: exit 0 when every injected fault was detected and no
    false alert was raised, 1 otherwise."""
    report = trio.run(_demo, duration, seed, out)
    return EXIT_OK if report.ok else EXIT_FAILED


async def _demo(duration: float, seed: int, out: TextIO) -> DemoReport:
    return await run_demo(duration=duration, seed=seed, out=out)
