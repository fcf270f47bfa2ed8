"""The one connection driver every venue shares: one connection attempt, start to end.

:class:`Connection` connects (TLS verified for ``wss://``), sends the link's opening
frames, keeps the connection alive on the venue's timer, reads with an idle limit and
hands every received frame, already parsed, to the engine's bounded channel. It ends
by raising one of the outcomes below; the supervisor decides what happens next.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable

import trio
from trio_websocket import (
    ConnectionClosed,
    ConnectionRejected,
    HandshakeError,
    WebSocketConnection,
    open_websocket_url,
)
from wsproto.utilities import LocalProtocolError

from reconciler._clock import EpochClock
from reconciler._messages import ConnectionEvent, FrameIn, Item
from reconciler.events import Event, Malformed
from reconciler.link import REFUSED_HTTP_STATUSES, VenueLink
from reconciler.plugin import VenueProtocol, excerpt
from reconciler.settings import ConnectionPlan

__all__ = [
    "AuthRefusedError",
    "ClosedByVenueError",
    "Connection",
    "FeedIdleError",
    "NetworkError",
    "first_leaf",
]

# Frames above this size are refused by the WebSocket layer (venues send a few KiB).
_MAX_MESSAGE = 16 * 1024 * 1024
# The WebSocket library's own per-connection queue: a little slack, the real
# backpressure is the engine's bounded channel.
_QUEUE = 64


class NetworkError(Exception):
    """The connection failed for a reason that says nothing about credentials."""


class AuthRefusedError(Exception):
    """The venue refused the credentials (the reason never contains a secret)."""


class FeedIdleError(Exception):
    """Nothing (no frame, no pong) arrived within the idle limit."""

    def __init__(self, silent_for: float) -> None:
        super().__init__(f"no frame for {silent_for:.1f} s")
        self.silent_for = silent_for


class ClosedByVenueError(Exception):
    """The venue closed the connection (code and reason, if it gave them)."""

    def __init__(self, code: int | None, reason: str | None) -> None:
        super().__init__(f"closed by the venue (code {code}{': ' + reason if reason else ''})")
        self.code = code
        self.reason = reason


class Connection:
    """One connection attempt of one venue account."""

    def __init__(
        self,
        plan: ConnectionPlan,
        link: VenueLink,
        protocol: VenueProtocol,
        out: trio.MemorySendChannel[Item],
        clock: EpochClock,
        *,
        connection_id: int,
        ssl_context: ssl.SSLContext | None = None,
        on_parser_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.plan = plan
        self.link = link
        self.protocol = protocol
        self.out = out
        self.clock = clock
        self.connection_id = connection_id
        self.ssl_context = ssl_context
        self.on_parser_error = on_parser_error
        #: Trio time at which the WebSocket handshake completed (None: never connected).
        self.connected_at: float | None = None
        #: Trio time of the last frame or pong.
        self.last_seen = 0.0
        self.frames = 0
        #: Set once the WebSocket handshake has completed.
        self.up = trio.Event()
        self._stop = trio.Event()

    def stop(self) -> None:
        """Ask the connection to close cleanly (shutdown)."""
        self._stop.set()

    @property
    def up_for(self) -> float:
        """Seconds the connection has been (or was) up."""
        return 0.0 if self.connected_at is None else self.last_seen - self.connected_at

    async def run(self) -> None:
        """Connect and read until something ends the connection.

        Returns only after :meth:`stop`; otherwise raises :class:`AuthRefusedError`,
        :class:`FeedIdleError`, :class:`ClosedByVenueError` or :class:`NetworkError`.
        Anything else is a bug (in a plugin or here) and propagates.
        """
        try:
            await self._open()
        except BaseExceptionGroup as group:
            leaf = first_leaf(group)
            if leaf is None:
                raise
            self._classify(leaf)
        except Exception as exc:  # noqa: BLE001 - classified, or re-raised as it is
            self._classify(exc)

    async def _open(self) -> None:
        timers = self.plan.timers
        ws: WebSocketConnection | None = None
        try:
            async with open_websocket_url(
                self.link.url(),
                ssl_context=self._context(),
                message_queue_size=_QUEUE,
                max_message_size=_MAX_MESSAGE,
                connect_timeout=timers.connect_timeout,
                disconnect_timeout=timers.close_grace,
            ) as ws:
                self.connected_at = self.last_seen = trio.current_time()
                self.up.set()
                await self._connected(ws)
        finally:
            if ws is not None:
                # trio-websocket leaves a client's TCP stream open when the venue
                # started the close handshake: close it, or every reconnect leaks a socket.
                await trio.aclose_forcefully(ws._stream)

    def _classify(self, exc: BaseException) -> None:
        """Re-raise ``exc`` as one of the outcomes, or as it is (a bug); returns only
        for a close that :meth:`stop` asked for."""
        if isinstance(exc, AuthRefusedError | FeedIdleError | NetworkError | ClosedByVenueError):
            raise exc
        if isinstance(exc, ConnectionRejected):
            if exc.status_code in REFUSED_HTTP_STATUSES:
                raise AuthRefusedError(f"handshake refused with HTTP {exc.status_code}") from None
            raise NetworkError(f"handshake refused with HTTP {exc.status_code}") from None
        if isinstance(exc, HandshakeError):
            # trio-websocket keeps the real reason (DNS, refused, certificate) as the cause.
            cause = exc.__cause__
            why = _os_reason(cause) if cause is not None else type(exc).__name__
            raise NetworkError(f"WebSocket handshake failed: {why}") from None
        if isinstance(exc, ConnectionClosed):
            if self._stop.is_set():
                return
            code = exc.reason.code if exc.reason is not None else None
            reason = exc.reason.reason if exc.reason is not None else None
            if self.link.refused_by_close(code, reason):
                raise AuthRefusedError(f"closed with code {code}: {reason or 'refused'}") from None
            raise ClosedByVenueError(code, reason) from None
        if isinstance(exc, OSError | trio.BrokenResourceError):
            raise NetworkError(_os_reason(exc)) from None
        if isinstance(exc, LocalProtocolError):
            # The WebSocket library raced the venue's close (it answered a ping after
            # the close began): the connection is over, nothing is wrong with the venue.
            raise NetworkError(f"WebSocket protocol state: {exc}") from None
        raise exc

    def _context(self) -> ssl.SSLContext | None:
        if not self.plan.link.url.startswith("wss://"):
            return None
        return self.ssl_context or ssl.create_default_context()

    async def _connected(self, ws: WebSocketConnection) -> None:
        plan = self.plan
        await self._emit(ConnectionEvent(plan.venue, plan.account, "connected", self._t()))
        for frame in self.link.opening_frames(self.clock.now_ms()):
            await ws.send_message(frame)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._keep_alive, ws)
            if not self.link.sends_regularly:
                nursery.start_soon(self._pinger, ws)
            nursery.start_soon(self._closer, ws, nursery.cancel_scope)
            await self._reader(ws)
            nursery.cancel_scope.cancel()

    async def _reader(self, ws: WebSocketConnection) -> None:
        idle = self.plan.timers.idle_timeout
        while True:
            # One idle scope per quiet period, not per frame (entering a cancel scope
            # costs as much as parsing a small frame). It may fire early, since frames
            # move ``last_seen`` without moving it; the check below then re-arms it.
            pending: FrameIn | None = None
            try:
                with trio.move_on_at(self.last_seen + idle) as scope:
                    while pending is None:
                        pending = await self._read_one(ws)
            except ConnectionClosed:
                if not self._stop.is_set():
                    raise
                # Shutdown: let the closer finish the close handshake (or give up
                # after the grace period); it then ends the connection.
                await trio.sleep_forever()
            if pending is not None:
                # The core is behind: wait for it outside the idle scope, since time
                # spent on backpressure is not the venue's silence.
                await self.out.send(pending)
                self.last_seen = trio.current_time()
                self._check_refusal(pending.events)
                continue
            # Compare with the deadline itself, not ``now - last_seen >= idle``: float
            # rounding can make that false at the deadline, a hot loop.
            if scope.cancelled_caught and trio.current_time() >= self.last_seen + idle:
                if self._stop.is_set():
                    return
                raise FeedIdleError(trio.current_time() - self.last_seen)

    async def _read_one(self, ws: WebSocketConnection) -> FrameIn | None:
        """Read and parse one frame and hand it to the core; the frame itself when the
        core's channel is full (the caller waits), ``None`` once it is handed over."""
        message = await ws.get_message()
        self.last_seen = trio.current_time()
        self.frames += 1
        events = self._parse(message)
        item = FrameIn(
            self.plan.venue, self.plan.account, message, events, self._t(), self.connection_id
        )
        try:
            # Bounded: when the core falls behind, reading stops (backpressure) and the
            # venue's own buffers absorb the burst. get_message already yielded.
            self.out.send_nowait(item)
        except trio.WouldBlock:
            return item
        self._check_refusal(events)
        return None

    def _check_refusal(self, events: list[Event]) -> None:
        why = self.link.refusal(events)
        if why is not None:
            raise AuthRefusedError(why)

    def _parse(self, message: str | bytes) -> list[Event]:
        try:
            return self.protocol.receive(message)
        except Exception as exc:  # noqa: BLE001 - a parser bug must not stop the feed
            if self.on_parser_error is not None:
                self.on_parser_error(exc)
            reason = f"parser error: {type(exc).__name__}: {exc}"[:200]
            return [Malformed(reason=reason, excerpt=excerpt(message))]

    async def _keep_alive(self, ws: WebSocketConnection) -> None:
        frame = self.link.keep_alive_frame()
        if frame is None:
            return
        while True:
            await trio.sleep(self.plan.timers.keep_alive_interval)
            if self._stop.is_set():
                return  # closing: a send now would fail and cut the close handshake short
            await ws.send_message(frame)

    async def _pinger(self, ws: WebSocketConnection) -> None:
        interval = self.plan.timers.keep_alive_interval
        while True:
            await trio.sleep(interval)
            if self._stop.is_set():
                return
            # A pong proves the venue is alive even when it has nothing to say.
            with trio.move_on_after(self.plan.timers.idle_timeout):
                await ws.ping()
                self.last_seen = max(self.last_seen, trio.current_time())

    async def _closer(self, ws: WebSocketConnection, scope: trio.CancelScope) -> None:
        await self._stop.wait()
        with trio.move_on_after(self.plan.timers.close_grace):
            await ws.aclose(1000, "shutdown")
        scope.cancel()

    async def _emit(self, item: Item) -> None:
        # Bounded: when the core falls behind, reading stops here (backpressure) and
        # the venue's own buffers absorb the burst.
        await self.out.send(item)

    def _t(self) -> float:
        return self.clock.now()


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({exc.verify_message})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, OSError) and str(exc):
        return f"{type(exc).__name__}: {str(exc)[:120]}"
    return type(exc).__name__


def first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    """The first exception in a (nested) group that is not a cancellation."""
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            leaf = first_leaf(exc)
            if leaf is not None:
                return leaf
        elif not isinstance(exc, trio.Cancelled):
            return exc
    return None
