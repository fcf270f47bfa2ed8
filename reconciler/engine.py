"""The live engine: every configured venue account, supervised, feeding one core.

``open_engine(settings)`` is an async context manager for Trio programs::

    async with open_engine(load_settings("reconciler.toml")) as engine:
        async with engine.alerts() as alerts:
            async for alert in alerts:
                ...

Inside, a Trio nursery runs one :class:`~reconciler._supervisor.Supervisor` per venue
account, one core task that owns the pure :class:`~reconciler.core.Reconciler`, and the
alert delivery workers. Connections parse frames and send them through one bounded
channel (backpressure: when the core falls behind, reading stops); the core task takes
them in batches, journals each before applying it, runs the time-based checks when they
come due even if no frame arrives, commits the journal (group commit), and only then
hands each new alert to the sinks' outbox and to every subscriber of
:meth:`Engine.alerts`. On start the engine recovers its state from the journal.
"""

from __future__ import annotations

import math
import os
import ssl
import tempfile
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import trio

from reconciler._clock import EpochClock
from reconciler._journaled_core import JournaledCore, Recovery
from reconciler._messages import ExpectIn, Item
from reconciler._snapshot import SnapshotError
from reconciler._supervisor import AccountStatus, Supervisor
from reconciler.alerts import Alert
from reconciler.config_file import ConfigError
from reconciler.core import OrderState, Reconciler
from reconciler.delivery import Delivery
from reconciler.events import Expectation
from reconciler.journal import Journal, JournalError, open_journal
from reconciler.logs import bind_secrets, get_logger, guard_library_loggers
from reconciler.plugin import VenuePlugin, load_plugins
from reconciler.settings import ConnectionPlan, Settings, SinkConfig, plan_connections

__all__ = ["AlertSubscription", "Engine", "open_engine"]

#: Frames (and other items) that may wait between the connections and the core.
CHANNEL_SIZE = 1024
#: Seconds between the journal's background checkpoints.
CHECKPOINT_INTERVAL = 1.0
#: Alerts a subscriber may leave unread before newer ones are dropped for it.
SUBSCRIBER_BUFFER = 10_000
# Items taken from the channel per pass of the core task.
_BATCH = 256
#: The sinks used when the configuration names none: every alert to the log.
DEFAULT_SINKS: Mapping[str, SinkConfig] = {"log": SinkConfig(type="log")}


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
        journal: Journal,
        *,
        environ: Mapping[str, str],
        ssl_context: ssl.SSLContext | None,
    ) -> None:
        self.settings = settings
        self.reconciler = Reconciler(plugins, settings.core)
        self.clock = clock
        #: The journal every input and alert is written to.
        self.journal = journal
        #: Alert delivery to the configured sinks, through the journal's outbox.
        self.delivery = Delivery(
            settings.sinks or DEFAULT_SINKS,
            settings.delivery,
            journal,
            environ=environ,
            now=clock.now,
        )
        jcfg = settings.journal
        self._core_journal = JournaledCore(
            self.reconciler,
            journal,
            on_new_alert=self.delivery.enqueue,
            snapshot_records=jcfg.snapshot_records,
            snapshot_interval=jcfg.snapshot_interval,
            retention_days=jcfg.retention_days,
        )
        self._batch_window = jcfg.batch_window
        #: What the start-up recovery found (see :class:`~reconciler._journaled_core.Recovery`).
        self.recovery: Recovery | None = None
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
        """The core's counters plus ``alerts``, ``channel.waiting``, the journal's and
        delivery's counters."""
        stats = self.reconciler.stats()
        stats["alerts"] = self._alert_count
        stats["channel.waiting"] = self._receive.statistics().current_buffer_used
        stats.update(self._core_journal.stats())
        stats.update(self.delivery.stats())
        return stats

    def state_digest(self) -> str:
        """A digest of the order model independent of receive times (see
        :meth:`reconciler.Reconciler.state_digest`)."""
        return self.reconciler.state_digest()

    # -- running -----------------------------------------------------------------------

    def _recover(self) -> None:
        """Rebuild the state from the journal before anything connects."""
        self.recovery = self._core_journal.recover(self.clock.now())
        r = self.recovery
        if r.snapshot_problem:
            self._log.warning("journal snapshot not used", reason=r.snapshot_problem)
        if r.snapshot_seq is not None or r.replayed:
            self._log.info(
                "recovered from the journal",
                snapshot_seq=r.snapshot_seq,
                replayed=r.replayed,
                new_alerts=r.new_alerts,
                known_alerts=r.known_alerts,
            )
        self._publish(self._core_journal.commit())

    async def _run(self, nursery: trio.Nursery) -> None:
        nursery.start_soon(self.delivery.run)
        self.delivery.wake()
        nursery.start_soon(self._core)
        nursery.start_soon(self._checkpointer)
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
        core = self._core_journal
        rec = self.reconciler
        receive = self._receive
        # The group-commit deadline is kept on Trio's clock: move_on_at guarantees the
        # clock has reached it when it fires, so the commit test below cannot round
        # to "not yet" and spin.
        commit_at = math.inf
        while True:
            batch: list[Item] = []
            try:
                # Under load the channel is rarely empty: take what is queued without
                # a cancel scope, and yield once per batch below.
                batch.append(receive.receive_nowait())
                yielded = False
            except trio.WouldBlock:
                due = rec.next_check_due()
                wait = math.inf if due is None else max(0.0, due - self.clock.now())
                with trio.move_on_at(min(trio.current_time() + wait, commit_at)):
                    batch.append(await receive.receive())
                yielded = True
            if batch:
                while len(batch) < _BATCH:
                    try:
                        batch.append(receive.receive_nowait())
                    except trio.WouldBlock:
                        break
                for item in batch:
                    core.apply(item)
            else:
                due = rec.next_check_due()
                if due is not None and due <= self.clock.now():
                    core.tick(self.clock.now())
            if core.dirty and commit_at == math.inf:
                commit_at = trio.current_time() + self._batch_window
            # Alerts are durable before anyone hears of them; plain frames may wait.
            if core.has_new_alerts or trio.current_time() >= commit_at:
                commit_at = math.inf
                self._publish(core.commit())
                now = self.clock.now()
                if core.snapshot_due(now):
                    core.take_snapshot(now)
            if not yielded:
                await trio.lowlevel.checkpoint()

    async def _checkpointer(self) -> None:
        # The journal's checkpoints (copying the write-ahead log into the file, with a
        # sync) run here in a worker thread, not inside the core's commits: they stalled
        # the core for ~5 ms every ~1,000 pages, the whole of the p99 alert latency
        # (docs/performance.md, latency).
        while True:
            await trio.sleep(CHECKPOINT_INTERVAL)
            if self.journal.checkpoint_due():
                await trio.to_thread.run_sync(self.journal.checkpoint)

    def _publish(self, alerts: list[Alert]) -> None:
        if alerts:
            self.delivery.wake()
        for alert in alerts:
            self._alert_count += 1
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

    def _close_journal(self) -> None:
        core = self._core_journal
        self._publish(core.commit())
        if core.snapshot_due(math.inf):
            # A snapshot at shutdown: the next start replays nothing.
            core.take_snapshot(self.clock.now())
        self.journal.close()
        stats = self.reconciler.stats()
        self._log.info(
            "engine stopped",
            frames=stats.get("frames", 0),
            alerts=self._alert_count,
            state_digest=self.reconciler.state_digest(),
        )


@contextmanager
def _journal_for(settings: Settings) -> Iterator[Journal]:
    """The configured journal, or a temporary one removed afterwards."""
    cfg = settings.journal
    if cfg.path is not None:
        path = Path(cfg.path)
        try:
            journal = open_journal(path, synchronous=cfg.synchronous, background_checkpoints=True)
        except (OSError, JournalError, ValueError) as exc:
            raise ConfigError(f"journal.path: cannot open the journal {path}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - sqlite3 errors: not a database, locked, ...
            raise ConfigError(
                f"journal.path: {path} cannot be used as a journal: {type(exc).__name__}: {exc}"
            ) from None
        tmp = None
    else:
        tmp = tempfile.TemporaryDirectory(prefix="reconciler-journal-")
        get_logger().warning(
            "no journal.path configured: journaling to a temporary file; nothing survives a restart"
        )
        journal = open_journal(
            Path(tmp.name) / "journal.db", synchronous=cfg.synchronous, background_checkpoints=True
        )
    try:
        yield journal
    finally:
        journal.close()  # harmless when the engine closed it already
        if tmp is not None:
            tmp.cleanup()


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
    connection is made. Then the journal is opened and the state recovered from it
    (:attr:`Engine.recovery`); alerts still undelivered from before are delivered.
    ``plugins`` defaults to the installed venue plugins, ``environ`` (where
    credentials and sink secrets are read) to ``os.environ``. Failures of venues,
    plugins and sinks never leave this context: they become alerts, retries and
    restarts.
    """
    found = dict(plugins) if plugins is not None else load_plugins()
    env = os.environ if environ is None else environ
    try:
        plans = plan_connections(settings, found, env)
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - a plugin refusing its settings is a config error
        raise ConfigError(
            f"a venue plugin refused the configuration: {type(exc).__name__}: {exc}"
        ) from None
    guard_library_loggers()
    bind_secrets(s.reveal() for p in plans for s in p.link.credentials.values())
    with _journal_for(settings) as journal:
        engine = Engine(
            settings, found, plans, EpochClock(), journal, environ=env, ssl_context=ssl_context
        )
        try:
            try:
                engine._recover()
            except SnapshotError as exc:
                raise ConfigError(
                    f"journal.path: the journal's state snapshot cannot be restored ({exc}) "
                    "and older records were pruned. Start with a new journal file"
                ) from None
            async with trio.open_nursery() as nursery:
                await engine._run(nursery)
                try:
                    yield engine
                finally:
                    with trio.CancelScope(shield=True):
                        await engine._shutdown()
                    nursery.cancel_scope.cancel()
        finally:
            engine._close_journal()
