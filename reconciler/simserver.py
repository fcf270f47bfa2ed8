"""Serve a :class:`~reconciler.simulator.VenueSimulator` over a real WebSocket server.

One harness for every venue: it accepts connections on loopback, runs each through
the venue's :class:`~reconciler.simulator.SimSession` (credentials, subscription,
keep-alive replies, idle and subscription deadlines), and plays the scripts of the
accounts to their subscribed connections. A script pauses while its account has no
subscribed connection, so nothing it says is lost to a reconnect unless the script
says so; Clear Street's day replay is the simulator's own business.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import partial

import msgspec
import trio
from trio_websocket import (
    ConnectionClosed,
    WebSocketConnection,
    WebSocketRequest,
    wrap_server_stream,
)

from reconciler._clock import EpochClock
from reconciler._driver import first_leaf
from reconciler.alerts import Alert
from reconciler.core import Reconciler
from reconciler.events import Expectation
from reconciler.simulator import (
    Disconnect,
    Expect,
    Injected,
    RefuseAuth,
    Script,
    Send,
    SimSession,
    Stall,
    VenueSimulator,
)

__all__ = ["ServerStats", "SimulatorServer", "play_offline"]

# A client that falls this many frames behind is dropped, as venues drop slow consumers.
_OUTBOX = 4096
# trio-websocket's default one-message queue: a stalled session stops reading, the
# queue fills and the client's pings go unanswered, as with a hung venue.
_QUEUE = 1
# How long a stalled connection hangs before the server gives up on it.
_STALL_HOLD = 120.0


class ServerStats(msgspec.Struct, kw_only=True):
    """What a simulator server has done so far."""

    connections: int = 0
    refused: int = 0
    subscribed: int = 0
    frames_sent: int = 0
    frames_received: int = 0
    dropped_idle: int = 0
    disconnects: int = 0
    stalls: int = 0
    #: Connections that ended with an error inside the WebSocket library.
    errors: int = 0


class _PausableStream(trio.abc.Stream):
    """A TCP stream the server can stop reading from: a hung venue answers nothing,
    not even the WebSocket library's automatic pongs."""

    def __init__(self, inner: trio.SocketStream) -> None:
        self.inner = inner
        self.paused = False

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def send_eof(self) -> None:
        await self.inner.send_eof()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        if self.paused:
            await trio.sleep_forever()
        return await self.inner.receive_some(max_bytes)

    async def aclose(self) -> None:
        await self.inner.aclose()


class _Conn:
    __slots__ = ("closing", "out_recv", "out_send", "session", "stalled", "stream", "ws")

    def __init__(
        self, ws: WebSocketConnection, session: SimSession, stream: _PausableStream
    ) -> None:
        self.stream = stream
        self.ws = ws
        self.session = session
        self.out_send, self.out_recv = trio.open_memory_channel[str | tuple[int, str]](_OUTBOX)
        self.stalled = trio.Event()
        self.closing = False

    def push(self, item: str | tuple[int, str]) -> bool:
        """Queue a frame (or a close) for the writer; False when the client is too slow."""
        if self.closing:
            return False
        try:
            self.out_send.send_nowait(item)
        except trio.WouldBlock:
            return False
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            return False
        if isinstance(item, tuple):
            self.closing = True
        return True


class SimulatorServer:
    """A loopback WebSocket server playing ``scripts`` with ``simulator``.

    Start it with ``port = await nursery.start(server.run)``; :attr:`url` is then the
    address to give a link. ``on_expect`` receives the expectations the scripts
    register (the execution system's part). :attr:`finished` is set when every script
    has played its last step.
    """

    def __init__(
        self,
        simulator: VenueSimulator,
        scripts: Sequence[Script] = (),
        *,
        on_expect: Callable[[Expectation], Awaitable[None]] | None = None,
        clock: EpochClock | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.simulator = simulator
        self.scripts = tuple(scripts)
        self.stats = ServerStats()
        self.finished = trio.Event()
        self.port = 0
        self._host = host
        self._on_expect = on_expect
        self._clock = clock
        self._subs: dict[str, list[_Conn]] = {}
        self._sub_events: dict[str, trio.Event] = {}
        self._all: set[_Conn] = set()

    @property
    def url(self) -> str:
        """``ws://host:port/<simulator path>``."""
        return f"ws://{self._host}:{self.port}{self.simulator.path}"

    @property
    def injected(self) -> list[Injected]:
        """Every fault the scripts inject."""
        return [inj for script in self.scripts for inj in script.injected]

    def _now_ms(self) -> int:
        if self._clock is None:
            self._clock = EpochClock()
        return self._clock.now_ms()

    async def run(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled; reports the listening port through ``task_status``."""
        self._now_ms()
        async with trio.open_nursery() as nursery:
            serve = partial(trio.serve_tcp, self._serve_stream, 0, host=self._host)
            listeners = await nursery.start(serve)
            self.port = listeners[0].socket.getsockname()[1]
            nursery.start_soon(self._play_all)
            task_status.started(self.port)

    # -- scripts ---------------------------------------------------------------------

    async def _play_all(self) -> None:
        async with trio.open_nursery() as nursery:
            for script in self.scripts:
                nursery.start_soon(self._play, script)
        self.finished.set()

    async def _wait_subscriber(self, account: str) -> float:
        """Wait for a subscribed connection of ``account``; returns the seconds waited."""
        start = trio.current_time()
        while not self._subs.get(account):
            event = self._sub_events.setdefault(account, trio.Event())
            await event.wait()
        return trio.current_time() - start

    async def _play(self, script: Script) -> None:
        t0 = trio.current_time()
        paused = 0.0
        for step in script.steps:
            await trio.sleep_until(t0 + step.at + paused)
            # Everything waits for a listener, expectations too: the execution system's
            # order and the venue's report of it stay as far apart as the script says.
            paused += await self._wait_subscriber(script.account)
            if isinstance(step, Expect):
                if self._on_expect is not None:
                    await self._on_expect(step.expectation)
                continue
            self._step(script.account, step)

    def _step(self, account: str, step: Send | Disconnect | Stall | RefuseAuth) -> None:
        sim, now = self.simulator, self._now_ms()
        subs = self._subs.get(account, [])
        match step:
            case Send(raw=True):
                self._broadcast(account, [step.message])
            case Send(lost=True):
                sim.lose(account, step.message, now)
            case Send():
                self._broadcast(account, sim.publish(account, step.message, now))
            case Disconnect():
                self.stats.disconnects += 1
                for conn in list(subs):
                    self._drop(conn, step.code, "simulated disconnect")
            case RefuseAuth():
                sim.refuse_next(account, step.attempts)
                for conn in list(subs):
                    self._drop(conn, 1012, "service restart")
            case Stall():
                self.stats.stalls += 1
                for conn in list(subs):
                    self._unsubscribe(conn)
                    conn.stalled.set()
                    conn.stream.paused = True

    def _broadcast(self, account: str, frames: list[str]) -> None:
        for conn in list(self._subs.get(account, [])):
            for frame in frames:
                if not conn.push(frame):
                    self._drop(conn, 1008, "slow consumer")
                    break

    def _unsubscribe(self, conn: _Conn) -> None:
        account = conn.session.account
        if account is not None and conn in self._subs.get(account, []):
            self._subs[account].remove(conn)

    def _drop(self, conn: _Conn, code: int, reason: str) -> None:
        self._unsubscribe(conn)
        conn.push((code, reason))

    # -- connections -----------------------------------------------------------------

    async def _serve_stream(self, stream: trio.SocketStream) -> None:
        """One TCP connection: the WebSocket layer runs in a nursery of its own, so that
        a protocol race inside the library (it answers a ping after it started closing,
        which wsproto refuses) ends that connection, never the whole server."""
        try:
            async with trio.open_nursery() as nursery:
                pausable = _PausableStream(stream)
                request = await wrap_server_stream(nursery, pausable, _QUEUE)
                await self._handle(request, pausable)
                nursery.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            if first_leaf(group) is None:
                raise  # only cancellations: the server is shutting down
            self.stats.errors += 1
        except Exception:  # noqa: BLE001 - one broken connection must not stop the server
            self.stats.errors += 1
        finally:
            await trio.aclose_forcefully(stream)

    async def _handle(self, request: WebSocketRequest, stream: _PausableStream) -> None:
        self.stats.connections += 1
        session = self.simulator.session()
        refusal = session.open(request.path, self._now_ms())
        if refusal is not None:
            self.stats.refused += 1
            if refusal.http_status is not None:
                await request.reject(refusal.http_status, body=refusal.reason.encode())
                return
            ws = await request.accept()
            await ws.aclose(refusal.close_code, refusal.reason)
            return
        ws = await request.accept()
        conn = _Conn(ws, session, stream)
        self._all.add(conn)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._writer, conn, nursery.cancel_scope)
                nursery.start_soon(self._heartbeats, conn)
                await self._reader(conn)
                nursery.cancel_scope.cancel()
        finally:
            self._unsubscribe(conn)
            self._all.discard(conn)
            with trio.CancelScope(shield=True), trio.move_on_after(1):
                await ws.aclose()

    async def _reader(self, conn: _Conn) -> None:
        session = conn.session
        opened = trio.current_time()
        while True:
            deadline = trio.current_time() + session.idle_timeout
            if session.subscribe_timeout is not None and not self._is_subscribed(conn):
                deadline = min(deadline, opened + session.subscribe_timeout)
            if conn.stalled.is_set():
                # Stop reading: trio-websocket's one-message queue fills, so the
                # client's pings go unanswered too; the client must notice and leave.
                await trio.sleep(_STALL_HOLD)
                return
            with trio.move_on_at(deadline) as scope:
                try:
                    frame = await conn.ws.get_message()
                except ConnectionClosed:
                    return
            if scope.cancelled_caught:
                self.stats.dropped_idle += 1
                conn.push((1001, "idle timeout"))
                await trio.sleep_forever()  # the writer closes and ends the connection
            if conn.stalled.is_set():
                continue
            self.stats.frames_received += 1
            text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
            reply = session.receive(text, self._now_ms())
            for out in reply.frames:
                conn.push(out)
            if reply.subscribed and session.account is not None:
                self._subscribe(conn, session.account)
            if reply.close is not None:
                conn.push(reply.close)

    def _is_subscribed(self, conn: _Conn) -> bool:
        account = conn.session.account
        return account is not None and conn in self._subs.get(account, [])

    def _subscribe(self, conn: _Conn, account: str) -> None:
        if self._is_subscribed(conn):
            return
        self.stats.subscribed += 1
        for frame in self.simulator.replay(account, self._now_ms()):
            if not conn.push(frame):
                self._drop(conn, 1008, "slow consumer")
                return
        self._subs.setdefault(account, []).append(conn)
        event = self._sub_events.pop(account, None)
        if event is not None:
            event.set()

    async def _writer(self, conn: _Conn, scope: trio.CancelScope) -> None:
        async for item in conn.out_recv:
            if conn.stalled.is_set():
                continue
            try:
                if isinstance(item, tuple):
                    await conn.ws.aclose(item[0], item[1])
                    break
                await conn.ws.send_message(item)
            except ConnectionClosed:
                break
            self.stats.frames_sent += 1
        scope.cancel()

    async def _heartbeats(self, conn: _Conn) -> None:
        session = conn.session
        while True:
            await trio.sleep(session.heartbeat_interval)
            if conn.stalled.is_set() or not self._is_subscribed(conn):
                continue
            frame = session.heartbeat(self._now_ms())
            if frame is not None:
                conn.push(frame)


def play_offline(
    simulator: VenueSimulator,
    script: Script,
    reconciler: Reconciler,
    *,
    start: float,
    tail: float = 30.0,
) -> list[Alert]:
    """Play ``script`` straight into a pure ``reconciler`` (no sockets, no engine).

    Each step happens at ``start + step.at``; a disconnect, stall or refused login
    is modelled as a reconnect (the venue's replay, if any, is fed again). Live-only
    alerts (a stalled feed, refused credentials) need the engine and do not appear.
    Time is then advanced ``tail`` seconds past the last step so settle windows close.
    Returns every alert raised, in order.
    """
    alerts: list[Alert] = []
    account, venue = script.account, script.venue
    alerts += reconciler.connection_event(venue, account, "connected", start)
    for frame in simulator.replay(account, int(start * 1000)):
        alerts += reconciler.feed(venue, account, frame, start)
    last = start
    for step in script.steps:
        t = start + step.at
        last = max(last, t)
        now_ms = int(t * 1000)
        match step:
            case Expect():
                alerts += reconciler.expect(step.expectation, t)
            case Send(raw=True):
                alerts += reconciler.feed(venue, account, step.message, t)
            case Send(lost=True):
                simulator.lose(account, step.message, now_ms)
            case Send():
                for frame in simulator.publish(account, step.message, now_ms):
                    alerts += reconciler.feed(venue, account, frame, t)
            case Disconnect() | Stall() | RefuseAuth():
                alerts += reconciler.connection_event(venue, account, "disconnected", t)
                alerts += reconciler.connection_event(venue, account, "connected", t)
                for frame in simulator.replay(account, now_ms):
                    alerts += reconciler.feed(venue, account, frame, t)
    alerts += reconciler.advance(last + tail)
    return alerts
