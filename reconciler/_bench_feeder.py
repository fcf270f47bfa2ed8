"""The venue feed of the socket-path and latency benchmarks, run as a process of its own.

``python -m reconciler._bench_feeder --venue V (--frames N | --rate R --seconds S)``
listens on 127.0.0.1 (a free port) and prints one JSON line ``{"port": ..., "path": ...,
"frames": ...}`` on stdout once its frames are ready. Every connection is logged in and
subscribed by the venue simulator's own :class:`~reconciler.simulator.SimSession`, so
the plugin's real link works unchanged; once subscribed, the connection gets the
whole feed:

* ``--frames N``: the first N frames of the venue's clean flow
  (:func:`~reconciler._bench_workload.venue_workload`), as fast as the socket takes them;
* ``--rate R --seconds S``: :func:`latency_stream` (BTSE clean flow with one
  fill-regression frame in every ``--alert-every``), paced at R frames per second in a
  burst every millisecond.

Before the first feed frame it prints ``{"event": "feed", "replies": r, "t": t0}``
(``r``: frames the session sent before the feed, ``t0``: ``time.perf_counter()`` just
before the first send); a paced feed ends with ``{"event": "sent", "times": [...],
"seconds": s}``: the ``perf_counter`` at which each alerting frame went to the socket, and
how long sending the whole feed took. On Linux
``perf_counter`` is CLOCK_MONOTONIC, shared by every process of the machine, so the
benchmark compares these times with its own.

The feed is sent in its own process so that the engine's process measures only itself,
and without the WebSocket library's per-message overhead: frames are encoded once,
up front, into WebSocket wire bytes and written in large chunks. wsproto handles the
handshake and everything the client sends (login, keep-alives, pings, the close).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)

from reconciler._bench_workload import ACCOUNT, START_MS, venue_workload
from reconciler.plugin import VenuePlugin, load_plugins
from reconciler.simulator import VenueSimulator

__all__ = [
    "CREDENTIAL",
    "LATENCY_VENUE",
    "Feeder",
    "LatencyStream",
    "alert_orders",
    "encode_frame",
    "latency_stream",
    "main",
    "open_feeder",
]

#: The value of every credential the feeder's simulator accepts (the engine's environment
#: gets the same).
CREDENTIAL = "bench"
#: The venue whose frames the latency feed is made of.
LATENCY_VENUE = "btse"
# Bytes written per send on a burst feed: large enough that the feeder is never the
# bottleneck, small enough that a keep-alive reply is not held up for long.
_CHUNK = 256 * 1024
# A paced feed sends what is due every millisecond.
_TICK = 0.001


def encode_frame(text: str) -> bytes:
    """One unmasked (server to client) WebSocket text frame carrying ``text``."""
    payload = text.encode()
    n = len(payload)
    if n < 126:
        header = bytes((0x81, n))
    elif n < 1 << 16:
        header = bytes((0x81, 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + n.to_bytes(8, "big")
    return header + payload


@dataclass(frozen=True, slots=True)
class LatencyStream:
    """The latency feed: ``frames`` in send order; ``alerts[k]`` is the index in
    ``frames`` of the k-th frame that must raise FILL_REGRESSION, on ``orders[k]``."""

    frames: tuple[str, ...]
    alerts: tuple[int, ...]
    orders: tuple[str, ...]


def _btse_report(order_id: str, filled: int, timestamp_ms: int) -> str:
    # A BTSE order notification (the shape of docs/alerts.md's FILL_REGRESSION example).
    return json.dumps(
        {
            "topic": "notificationApiV4",
            "data": [
                {
                    "symbol": "BTC-PERP",
                    "orderID": order_id,
                    "side": "BUY",
                    "orderType": 76,
                    "type": 76,
                    "price": 111085.1,
                    "triggerPrice": 0,
                    "status": 5,
                    "timestamp": timestamp_ms,
                    "avgFilledPrice": 111085.1,
                    "clOrderID": "",
                    "postOnly": False,
                    "maker": False,
                    "positionId": "BTC-PERP-USDT",
                    "originalOrderSize": 900,
                    "currentOrderSize": 900,
                    "filledSize": filled,
                    "totalFilledSize": filled,
                    "remainingSize": 900 - filled,
                    "time_in_force": "GTC",
                }
            ],
        },
        separators=(",", ":"),
    )


def alert_orders(count: int, alert_every: int) -> tuple[str, ...]:
    """The orders, in send order, whose FILL_REGRESSION :func:`latency_stream` provokes."""
    return tuple(
        f"bench-lat-{i // alert_every}" for i in range(count) if i % alert_every == alert_every - 1
    )


def latency_stream(plugin: VenuePlugin, count: int, alert_every: int) -> LatencyStream:
    """``count`` BTSE frames: clean flow, except that in every ``alert_every`` frames one
    reports 300 filled on a fresh order and a later one 200 filled on the same order in a
    newer notification: a FILL_REGRESSION, which one frame proves (no settle window)."""
    if alert_every < 4:
        raise ValueError("alert_every must be at least 4")
    clean = iter(venue_workload(plugin, count).frames)
    frames: list[str] = []
    alerts: list[int] = []
    half = alert_every // 2
    for i in range(count):
        k, slot = divmod(i, alert_every)
        order = f"bench-lat-{k}"
        ts = START_MS + k * 1000
        if slot == half - 1:
            frames.append(_btse_report(order, 300, ts))
        elif slot == alert_every - 1:
            alerts.append(len(frames))
            frames.append(_btse_report(order, 200, ts + 500))
        else:
            frames.append(next(clean))
    return LatencyStream(tuple(frames), tuple(alerts), alert_orders(count, alert_every))


def _emit(doc: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(doc) + "\n")
    sys.stdout.flush()


@dataclass(frozen=True, slots=True)
class _Feed:
    wire: tuple[bytes, ...]
    #: Paced feeds only: frames per second, and the indexes whose send time is reported.
    rate: float | None = None
    marked: frozenset[int] = frozenset()


class _Conn:
    """One client connection: wsproto for the protocol, one lock for the socket."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.ws = WSConnection(ConnectionType.SERVER)
        self.lock = trio.Lock()
        self.replies = 0

    async def send(self, data: bytes) -> None:
        async with self.lock:
            await self.stream.send_all(data)


async def _serve(stream: trio.SocketStream, sim: VenueSimulator, feed: _Feed) -> None:
    conn = _Conn(stream)
    try:
        async with trio.open_nursery() as nursery:
            await _converse(conn, sim, feed, nursery)
            nursery.cancel_scope.cancel()
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass  # the client went away: nothing more to feed
    finally:
        await trio.aclose_forcefully(stream)


async def _converse(conn: _Conn, sim: VenueSimulator, feed: _Feed, nursery: trio.Nursery) -> None:
    """Answer the client until it closes; start the feed once it has subscribed."""
    session = sim.session()
    parts: list[str] = []
    while True:
        data = await conn.stream.receive_some(65536)
        conn.ws.receive_data(data or None)
        for event in conn.ws.events():
            now_ms = int(time.time() * 1000)
            if isinstance(event, Request):
                if session.open(event.target, now_ms) is not None:
                    await conn.send(conn.ws.send(RejectConnection(status_code=403)))
                    return
                await conn.send(conn.ws.send(AcceptConnection()))
            elif isinstance(event, TextMessage):
                parts.append(event.data)
                if not event.message_finished:
                    continue
                text, parts = "".join(parts), []
                reply = session.receive(text, now_ms)
                for frame in reply.frames:
                    conn.replies += 1
                    await conn.send(conn.ws.send(TextMessage(data=frame)))
                if reply.close is not None:
                    code, why = reply.close
                    await conn.send(conn.ws.send(CloseConnection(code, why)))
                    return
                if reply.subscribed and session.account is not None:
                    for frame in sim.replay(session.account, now_ms):
                        conn.replies += 1
                        await conn.send(conn.ws.send(TextMessage(data=frame)))
                    nursery.start_soon(_play, conn, feed)
            elif isinstance(event, Ping):
                await conn.send(conn.ws.send(event.response()))
            elif isinstance(event, CloseConnection):
                await conn.send(conn.ws.send(event.response()))
                return
        if not data:
            return


async def _play(conn: _Conn, feed: _Feed) -> None:
    wire = feed.wire
    t0 = time.perf_counter()
    _emit({"event": "feed", "replies": conn.replies, "t": t0})
    if feed.rate is None:
        chunk: list[bytes] = []
        size = 0
        for data in wire:
            chunk.append(data)
            size += len(data)
            if size >= _CHUNK:
                await conn.send(b"".join(chunk))
                chunk, size = [], 0
        if chunk:
            await conn.send(b"".join(chunk))
        return
    times: list[float] = []
    start = trio.current_time()
    sent = 0
    tick = 0
    while sent < len(wire):
        tick += 1
        # Everything due by now goes in one write; a write held up by backpressure
        # only makes the next burst bigger, so the offered rate stays what was asked.
        due = min(len(wire), math.floor((trio.current_time() - start) * feed.rate) + 1)
        if due > sent:
            now = time.perf_counter()
            times.extend(now for i in range(sent, due) if i in feed.marked)
            await conn.send(b"".join(wire[sent:due]))
            sent = due
        await trio.sleep_until(start + tick * _TICK)
    _emit({"event": "sent", "times": times, "seconds": time.perf_counter() - t0})


async def _main(args: argparse.Namespace) -> None:
    plugins = load_plugins()
    plugin = plugins[args.venue]
    sim = plugin.simulator({ACCOUNT: dict.fromkeys(plugin.credential_names, CREDENTIAL)})
    if args.rate is None:
        frames = venue_workload(plugin, args.frames).frames[: args.frames]
        feed = _Feed(wire=tuple(encode_frame(f) for f in frames))
    else:
        count = max(1, round(args.rate * args.seconds))
        stream = latency_stream(plugin, count, args.alert_every)
        feed = _Feed(
            wire=tuple(encode_frame(f) for f in stream.frames),
            rate=args.rate,
            marked=frozenset(stream.alerts),
        )
    async with trio.open_nursery() as nursery:
        serve = partial(trio.serve_tcp, partial(_serve, sim=sim, feed=feed), 0, host="127.0.0.1")
        listeners = await nursery.start(serve)
        port = listeners[0].socket.getsockname()[1]
        _emit(
            {
                "port": port,
                "path": sim.path,
                "frames": len(feed.wire),
                "bytes": sum(len(w) for w in feed.wire),
            }
        )


# -- the benchmark's side ----------------------------------------------------------------


class Feeder:
    """A running feeder process, seen from the benchmark (see :func:`open_feeder`)."""

    def __init__(self, receive: trio.MemoryReceiveChannel[dict[str, Any]]) -> None:
        self._receive = receive
        self._hello: dict[str, Any] | None = None

    async def ready(self) -> dict[str, Any]:
        """The feeder's first line (``port``, ``path``, ``frames``, ``bytes``), once its
        frames are ready."""
        if self._hello is None:
            self._hello = await self.event(None)
        return self._hello

    async def event(self, name: str | None) -> dict[str, Any]:
        """The next line the feeder printed (it must be the event ``name``)."""
        try:
            doc = await self._receive.receive()
        except trio.EndOfChannel:
            raise RuntimeError("the benchmark feeder exited early") from None
        if doc.get("event") != name:
            raise RuntimeError(f"the benchmark feeder said {doc!r}, expected {name!r}")
        return doc


async def _read_lines(
    stdout: trio.abc.ReceiveStream, out: trio.MemorySendChannel[dict[str, Any]]
) -> None:
    async with out:
        pending = b""
        async for data in stdout:
            pending += data
            *lines, pending = pending.split(b"\n")
            for line in lines:
                await out.send(json.loads(line))


@asynccontextmanager
async def open_feeder(
    args: Sequence[str], *, ready_timeout: float = 120.0
) -> AsyncIterator[Feeder]:
    """Start ``python -m reconciler._bench_feeder ARGS``; killed when the block ends.

    The process starts at once; :meth:`Feeder.ready` waits (at most ``ready_timeout``
    seconds) until it listens, so several feeders can build their frames side by side.
    """
    proc = await trio.lowlevel.open_process(
        [sys.executable, "-m", "reconciler._bench_feeder", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        send, receive = trio.open_memory_channel[dict[str, Any]](16)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_read_lines, proc.stdout, send)
            feeder = Feeder(receive)
            with trio.fail_after(ready_timeout):
                await feeder.ready()
            yield feeder
            nursery.cancel_scope.cancel()
    finally:
        proc.kill()
        with trio.CancelScope(shield=True), trio.move_on_after(5):
            await proc.wait()


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line and serve until killed."""
    parser = argparse.ArgumentParser(prog="python -m reconciler._bench_feeder")
    parser.add_argument("--venue", required=True)
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=None)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--alert-every", type=int, default=20)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        trio.run(_main, args)


if __name__ == "__main__":
    main()
