"""Keeps one venue account connected, whatever happens to its connections.

Each failed connection is classified: a network fault is retried with exponential
backoff and full jitter (reset once a connection has stayed healthy for a while); a
stalled feed raises FEED_STALE and reconnects; refused credentials raise AUTH_FAILED
and are retried slowly, never in a hot loop; an unexpected exception (a bug in a
plugin or in the engine) is logged with its traceback once, raised as PLUGIN_ERROR,
and the account restarts with backoff. Nothing here ever propagates to the other
accounts or to the host program.
"""

from __future__ import annotations

import random
import ssl
import traceback

import msgspec
import trio

from reconciler._clock import EpochClock
from reconciler._driver import (
    AuthRefusedError,
    ClosedByVenueError,
    Connection,
    FeedIdleError,
    NetworkError,
    first_leaf,
)
from reconciler._messages import ConnectionEvent, Item, LiveAlert
from reconciler.alerts import AlertCode
from reconciler.logs import get_logger, scrub
from reconciler.plugin import VenuePlugin, VenueProtocol
from reconciler.settings import ConnectionPlan

__all__ = ["AccountStatus", "Backoff", "Supervisor"]


class Backoff:
    """Exponential backoff with full jitter: attempt n waits uniform(0, min(cap, base·2ⁿ))."""

    def __init__(self, initial: float, cap: float, rng: random.Random) -> None:
        self.initial = initial
        self.cap = cap
        self.rng = rng
        self.failures = 0

    def next_delay(self) -> float:
        """The delay before the next attempt (and count this failure)."""
        ceiling = min(self.cap, self.initial * 2 ** min(self.failures, 60))
        self.failures += 1
        return self.rng.uniform(0, ceiling)

    def reset(self) -> None:
        """A healthy connection: start again from the initial delay."""
        self.failures = 0


class AccountStatus(msgspec.Struct, kw_only=True):
    """What one account's connection is doing (for status lines and health checks)."""

    venue: str
    account: str
    url: str
    state: str = "starting"
    attempts: int = 0
    connects: int = 0
    disconnects: int = 0
    frames: int = 0
    last_error: str | None = None


class Supervisor:
    """Runs and restarts the connections of one venue account."""

    def __init__(
        self,
        plan: ConnectionPlan,
        plugin: VenuePlugin,
        out: trio.MemorySendChannel[Item],
        clock: EpochClock,
        *,
        rng: random.Random | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.plan = plan
        self.plugin = plugin
        self.out = out
        self.clock = clock
        self.ssl_context = ssl_context
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        timers = plan.timers
        self.backoff = Backoff(timers.backoff_initial, timers.backoff_max, self.rng)
        self.log = get_logger(venue=plan.venue, account=plan.account)
        self.status = AccountStatus(venue=plan.venue, account=plan.account, url="")
        self._protocol: VenueProtocol | None = None
        self._current: Connection | None = None
        self._stopping = False
        self._stop_event = trio.Event()
        #: Set when :meth:`run` has returned.
        self.done = trio.Event()
        self._logged_bugs: set[tuple[str, str]] = set()
        self._connection_ids = 0
        #: Epoch time since when the account has had no healthy connection.
        self._down_since = clock.now()
        self._stale_reported = False
        self._auth_episode: int | None = None
        self._attempt_no = 0

    def snapshot(self) -> AccountStatus:
        """The account's status, counting the frames of the current connection too."""
        current = self._current.frames if self._current is not None else 0
        return msgspec.structs.replace(self.status, frames=self.status.frames + current)

    def stop(self) -> None:
        """Close the current connection cleanly and do not reconnect."""
        self._stopping = True
        self._stop_event.set()
        if self._current is not None:
            self._current.stop()

    async def run(self) -> None:
        """Keep the account connected until :meth:`stop` or cancellation."""
        try:
            while not self._stopping:
                delay = await self._attempt()
                if self._stopping:
                    break
                await self._wait(delay)
        finally:
            self.status.state = "stopped"
            self.done.set()

    async def _attempt(self) -> float:
        """One connection attempt; returns how long to wait before the next one."""
        plan = self.plan
        self.status.attempts += 1
        self._connection_ids += 1
        self.status.state = "connecting"
        conn: Connection | None = None
        try:
            link = self.plugin.link(plan.link)
            self.status.url = link.display_url()
            if self._protocol is None:
                self._protocol = self.plugin.protocol(plan.account)
            conn = Connection(
                plan,
                link,
                self._protocol,
                self.out,
                self.clock,
                connection_id=self._connection_ids,
                ssl_context=self.ssl_context,
                on_parser_error=self._parser_bug,
            )
            self._current = conn
            # The attempt count since the last healthy connection (1 = first try).
            self._attempt_no = self.backoff.failures + 1
            self.log.info("connecting", url=self.status.url, attempt=self._attempt_no)
            try:
                await self._run_connection(conn)
            finally:
                # Before the next delay is chosen: a connection that stayed healthy
                # long enough starts the backoff again from its initial delay.
                if conn.connected_at is not None and conn.up_for >= plan.timers.healthy_after:
                    self.backoff.reset()
            return 0.0
        except AuthRefusedError as exc:
            return await self._refused(str(exc))
        except FeedIdleError as exc:
            await self._stalled(exc)
            return self.backoff.next_delay()
        except (NetworkError, ClosedByVenueError) as exc:
            self.status.last_error = scrub(str(exc))
            delay = self.backoff.next_delay()
            self.log.warning(
                "connection lost",
                reason=self.status.last_error,
                retry_in=round(delay, 2),
                attempt=self.backoff.failures,
            )
            return delay
        except Exception as exc:  # noqa: BLE001 - a plugin bug must not reach the host
            await self._bug(exc)
            return self.backoff.next_delay()
        finally:
            self._current = None
            if conn is not None and conn.connected_at is not None:
                self.status.disconnects += 1
                self.status.frames += conn.frames
                await self.out.send(
                    ConnectionEvent(plan.venue, plan.account, "disconnected", self.clock.now())
                )
                self.log.info("disconnected", frames=conn.frames, up_for=round(conn.up_for, 1))

    async def _run_connection(self, conn: Connection) -> None:
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._watch_up, conn)
                await conn.run()
                nursery.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            leaf = first_leaf(group)
            if leaf is None:
                raise
            raise leaf from None

    async def _watch_up(self, conn: Connection) -> None:
        """Mark the account up once the connection is established."""
        await conn.up.wait()
        self.status.state = "connected"
        self.status.connects += 1
        self.status.last_error = None
        self.log.info("connected", url=self.status.url, attempt=self._attempt_no)
        # Healthy once it has stayed up a while: stale and auth episodes are over. (A
        # venue that drops every connection right after the handshake is still down.)
        timers = self.plan.timers
        await trio.sleep(min(timers.healthy_after, timers.reconnect_alert_after))
        self._down_since = float("inf")
        self._stale_reported = False
        self._auth_episode = None

    async def _refused(self, reason: str) -> float:
        plan = self.plan
        reason = scrub(reason)
        self.status.state = "auth_refused"
        self.status.last_error = reason
        delay = plan.timers.auth_retry
        self.log.error("credentials refused", reason=reason, retry_in=delay)
        if self._auth_episode is None:
            self._auth_episode = int(self.clock.now() * 1000)
        await self._alert(
            AlertCode.AUTH_FAILED,
            f"{plan.venue} refused the credentials of account {plan.account} ({reason}); "
            f"retrying every {delay:g} s. Check the API key or token.",
            {"reason": reason, "retry_in_s": f"{delay:g}"},
            ("auth", plan.account, self._auth_episode),
        )
        self._mark_down()
        return delay

    async def _stalled(self, exc: FeedIdleError) -> None:
        plan = self.plan
        self.status.last_error = str(exc)
        silent_since = int((self.clock.now() - exc.silent_for) * 1000)
        self.log.error("feed stalled", silent_for=round(exc.silent_for, 1))
        await self._alert(
            AlertCode.FEED_STALE,
            f"{plan.venue} account {plan.account} sent nothing for {exc.silent_for:.1f} s "
            f"(idle limit {plan.timers.idle_timeout:g} s); reconnecting.",
            {
                "silent_for_s": f"{exc.silent_for:.1f}",
                "idle_limit_s": f"{plan.timers.idle_timeout:g}",
            },
            ("idle", plan.account, silent_since),
        )
        self._mark_down()

    async def _bug(self, exc: Exception) -> None:
        plan = self.plan
        signature = (type(exc).__name__, str(exc)[:200])
        text = scrub(f"{type(exc).__name__}: {exc}")
        self.status.last_error = text
        if signature not in self._logged_bugs:
            self._logged_bugs.add(signature)
            self.log.error(
                "venue plugin failed; restarting the venue",
                error=text,
                traceback=scrub("".join(traceback.format_exception(exc))),
            )
        else:
            self.log.error("venue plugin failed again; restarting the venue", error=text)
        await self._alert(
            AlertCode.PLUGIN_ERROR,
            f"The {plan.venue} connection of account {plan.account} failed with an "
            f"unexpected error ({text[:160]}); it restarts, other venues are unaffected.",
            {"error": text[:300]},
            ("plugin", plan.account, *signature),
        )
        self._mark_down()

    def _parser_bug(self, exc: BaseException) -> None:
        signature = ("parser:" + type(exc).__name__, str(exc)[:200])
        if signature not in self._logged_bugs:
            self._logged_bugs.add(signature)
            self.log.error(
                "venue parser raised; the frame is reported as malformed",
                error=scrub(f"{type(exc).__name__}: {exc}"),
                traceback=scrub("".join(traceback.format_exception(exc))),
            )

    def _mark_down(self) -> None:
        if self._down_since == float("inf"):
            self._down_since = self.clock.now()

    async def _wait(self, delay: float) -> None:
        """Sleep before the next attempt, raising FEED_STALE if down for too long."""
        self.status.state = "waiting" if self.status.state != "auth_refused" else "auth_refused"
        self._mark_down()
        deadline = trio.current_time() + delay
        while True:
            await self._check_down_too_long()
            now = trio.current_time()
            if now >= deadline or self._stopping:
                return
            limit_at = now + (
                self._down_since + self.plan.timers.reconnect_alert_after - self.clock.now()
            )
            # Never wake "now" again: epoch rounding can leave the limit a hair short
            # of reached at its own deadline, and a zero wait would spin.
            wake = deadline if self._stale_reported else min(deadline, max(limit_at, now + 1e-3))
            with trio.move_on_at(wake):
                await self._stop_event.wait()

    async def _check_down_too_long(self) -> None:
        plan = self.plan
        down_for = self.clock.now() - self._down_since
        if self._stale_reported or down_for < plan.timers.reconnect_alert_after:
            return
        self._stale_reported = True
        self.log.error("venue unreachable", down_for=round(down_for, 1))
        await self._alert(
            AlertCode.FEED_STALE,
            f"{plan.venue} account {plan.account} has been reconnecting for "
            f"{down_for:.0f} s (limit {plan.timers.reconnect_alert_after:g} s); no order "
            "state is arriving.",
            {
                "down_for_s": f"{down_for:.0f}",
                "limit_s": f"{plan.timers.reconnect_alert_after:g}",
                "last_error": self.status.last_error or "",
            },
            ("reconnecting", plan.account, int(self._down_since * 1000)),
        )

    async def _alert(
        self,
        code: AlertCode,
        message: str,
        evidence: dict[str, str],
        facts: tuple[object, ...],
    ) -> None:
        plan = self.plan
        await self.out.send(
            LiveAlert(code, plan.venue, plan.account, self.clock.now(), message, evidence, facts)
        )
