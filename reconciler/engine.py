"""The live engine: every configured venue account, supervised, feeding one core.

``open_engine(settings)`` is an async context manager for Trio programs::

    async with open_engine(load_settings("reconciler.toml")) as engine:
        async with engine.alerts() as alerts:
            async for alert in alerts:
                ...

Inside, a Trio nursery runs one :class:`~reconciler._supervisor.Supervisor` per venue
account and one core task that owns the pure :class:`~reconciler.core.Reconciler`.
Connections parse frames and send them through one bounded channel (backpressure:
when the core falls behind, reading stops); the core task takes them in batches,
runs the time-based checks when they come due even if no frame arrives, and hands
each alert to the log and to every subscriber of :meth:`Engine.alerts`.
"""

from __future__ import annotations

import math
import os
import ssl
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import trio

from reconciler._clock import EpochClock
from reconciler._messages import ConnectionEvent, ExpectIn, FrameIn, Item, LiveAlert
from reconciler._supervisor import AccountStatus, Supervisor
from reconciler.alerts import Alert, Severity
from reconciler.config_file import ConfigError
from reconciler.core import OrderState, Reconciler
from reconciler.events import Expectation
from reconciler.logs import bind_secrets, get_logger, guard_library_loggers
from reconciler.plugin import VenuePlugin, load_plugins
from reconciler.settings import ConnectionPlan, Settings, plan_connections

__all__ = ["AlertSubscription", "Engine", "open_engine"]

#: Frames (and other items) that may wait between the connections and the core.
CHANNEL_SIZE = 1024
#: Alerts a subscriber may leave unread before newer ones are dropped for it.
SUBSCRIBER_BUFFER = 10_000
# Items taken from the channel per pass of the core task.
_BATCH = 256

_LOG_LEVEL = {Severity.INFO: "info", Severity.WARNING: "warning", Severity.CRITICAL: "error"}


class AlertSubscription:
    """An async iterator of alerts for one subscriber (see :meth:`Engine.alerts`)."""

    def __init__(self, engine: Engine, receive: trio.MemoryReceiveChannel[Alert]) -> None:
        self._engine = engine
        self._receive = receive
        #: Alerts dropped because this subscriber did not keep up.
        self.dropped = 0

    def __aiter__(self) -> AsyncIterator[Alert]:
        return self._receive.__aiter__()

    async def receive(self) -> Alert:
        """The next alert (waits for it)."""
        return await self._receive.receive()

    async def __aenter__(self) -> AlertSubscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._engine._unsubscribe(self)
        await self._receive.aclose()


class Engine:
    """A running engine (created by :func:`open_engine`)."""

    def __init__(
        self,
        settings: Settings,
        plugins: Mapping[str, VenuePlugin],
        plans: list[ConnectionPlan],
        clock: EpochClock,
        *,
        ssl_context: ssl.SSLContext | None,
    ) -> None:
        self.settings = settings
        self.reconciler = Reconciler(plugins, settings.core)
        self.clock = clock
        self._plans = plans
        self._plugins = plugins
        self._ssl_context = ssl_context
        self._send, self._receive = trio.open_memory_channel[Item](CHANNEL_SIZE)
        self._subscribers: dict[AlertSubscription, trio.MemorySendChannel[Alert]] = {}
        self._supervisors: list[Supervisor] = []
        self._log = get_logger()
        self._alert_count = 0
        self._idle = trio.Event()

    # -- public API --------------------------------------------------------------------

    def alerts(self, buffer: int = SUBSCRIBER_BUFFER) -> AlertSubscription:
        """Subscribe to alerts raised from now on; use as ``async with`` and iterate.

        A subscriber that leaves more than ``buffer`` alerts unread loses the newest
        ones (counted in :attr:`AlertSubscription.dropped`, logged): a slow reader never
        slows the feed.
        """
        send, receive = trio.open_memory_channel[Alert](buffer)
        sub = AlertSubscription(self, receive)
        self._subscribers[sub] = send
        return sub

    async def expect(self, expectation: Expectation) -> None:
        """Register an order the execution system sent (see the core's expectation checks)."""
        await self._send.send(ExpectIn(expectation, self.clock.now()))

    def order(self, venue: str, order_id: str) -> OrderState | None:
        """The current state of one order, or ``None``."""
        return self.reconciler.order(venue, order_id)

    def orders(self, *, open_only: bool = False) -> list[OrderState]:
        """Every tracked order (optionally only open ones)."""
        return self.reconciler.orders(open_only=open_only)

    def connections(self) -> list[AccountStatus]:
        """The state of every venue account's connection."""
        return [s.snapshot() for s in self._supervisors]

    def stats(self) -> dict[str, int]:
        """The core's counters plus ``alerts`` and ``channel.waiting``."""
        stats = self.reconciler.stats()
        stats["alerts"] = self._alert_count
        stats["channel.waiting"] = self._receive.statistics().current_buffer_used
        return stats

    # -- running -----------------------------------------------------------------------

    async def _run(self, nursery: trio.Nursery) -> None:
        nursery.start_soon(self._core)
        for plan in self._plans:
            sup = Supervisor(
                plan,
                self._plugins[plan.venue],
                self._send.clone(),
                self.clock,
                ssl_context=self._ssl_context,
            )
            self._supervisors.append(sup)
            nursery.start_soon(sup.run)

    async def _core(self) -> None:
        rec = self.reconciler
        receive = self._receive
        while True:
            due = rec.next_check_due()
            wait = math.inf if due is None else max(0.0, due - self.clock.now())
            batch: list[Item] = []
            with trio.move_on_after(wait):
                batch.append(await receive.receive())
            if not batch:
                self._publish(rec.advance(self.clock.now()))
                continue
            while len(batch) < _BATCH:
                try:
                    batch.append(receive.receive_nowait())
                except trio.WouldBlock:
                    break
            for item in batch:
                self._publish(self._apply(item))
            await trio.lowlevel.checkpoint()

    def _apply(self, item: Item) -> list[Alert]:
        rec = self.reconciler
        match item:
            case FrameIn():
                return rec.feed_parsed(item.venue, item.account, item.frame, item.events, item.t)
            case ConnectionEvent():
                return rec.connection_event(item.venue, item.account, item.event, item.t)
            case LiveAlert():
                return rec.report(
                    item.code,
                    venue=item.venue,
                    account=item.account,
                    t=item.t,
                    message=item.message,
                    evidence=item.evidence,
                    facts=item.facts,
                )
            case ExpectIn():
                return rec.expect(item.expectation, item.t)

    def _publish(self, alerts: list[Alert]) -> None:
        for alert in alerts:
            self._alert_count += 1
            getattr(self._log, _LOG_LEVEL[alert.severity])(
                "alert",
                code=str(alert.code),
                severity=str(alert.severity),
                venue=alert.venue,
                account=alert.account,
                order_id=alert.order_id,
                alert_id=alert.id,
                message=alert.message,
            )
            for sub, send in list(self._subscribers.items()):
                try:
                    send.send_nowait(alert)
                except trio.WouldBlock:
                    sub.dropped += 1
                    if sub.dropped == 1 or sub.dropped % 1000 == 0:
                        self._log.warning("alert subscriber is not keeping up", dropped=sub.dropped)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    self._subscribers.pop(sub, None)

    def _unsubscribe(self, sub: AlertSubscription) -> None:
        send = self._subscribers.pop(sub, None)
        if send is not None:
            send.close()

    async def _shutdown(self) -> None:
        for sup in self._supervisors:
            sup.stop()
        grace = max((p.timers.close_grace for p in self._plans), default=0.0)
        with trio.move_on_after(grace + 0.5):
            for sup in self._supervisors:
                await sup.done.wait()
        for send in self._subscribers.values():
            send.close()


@asynccontextmanager
async def open_engine(
    settings: Settings,
    *,
    plugins: Mapping[str, VenuePlugin] | None = None,
    environ: Mapping[str, str] | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> AsyncIterator[Engine]:
    """Start the engine for ``settings`` and stop it cleanly when the block ends.

    The configuration is checked completely first: a problem raises
    :class:`~reconciler.config_file.ConfigError` (listing every problem) before any
    connection is made. ``plugins`` defaults to the installed venue plugins,
    ``environ`` (where credentials are read) to ``os.environ``. Failures of venues and
    plugins never leave this context: they become alerts and restarts.
    """
    found = dict(plugins) if plugins is not None else load_plugins()
    try:
        plans = plan_connections(settings, found, os.environ if environ is None else environ)
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - a plugin refusing its settings is a config error
        raise ConfigError(
            f"a venue plugin refused the configuration: {type(exc).__name__}: {exc}"
        ) from None
    guard_library_loggers()
    bind_secrets(s.reveal() for p in plans for s in p.link.credentials.values())
    engine = Engine(settings, found, plans, EpochClock(), ssl_context=ssl_context)
    async with trio.open_nursery() as nursery:
        await engine._run(nursery)
        try:
            yield engine
        finally:
            with trio.CancelScope(shield=True):
                await engine._shutdown()
            nursery.cancel_scope.cancel()
