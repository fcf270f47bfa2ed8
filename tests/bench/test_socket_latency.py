"""The socket-path and latency benchmarks run end to end and report well-formed figures.

Only the shape of the figures is checked (counts, keys, ordering of percentiles): a
benchmark's speed is never asserted. Each ``run`` calls ``trio.run`` itself, so these
are plain synchronous tests.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, Request, TextMessage

from reconciler import _bench_latency, _bench_socket
from reconciler._bench_feeder import (
    LATENCY_VENUE,
    alert_orders,
    encode_frame,
    latency_stream,
)
from reconciler.alerts import Severity
from reconciler.bench import BenchOptions
from reconciler.config import CoreConfig
from reconciler.core import Reconciler
from reconciler.plugin import load_plugins


def _options(tmp_path: Path) -> BenchOptions:
    return BenchOptions(quick=True, plugins=load_plugins(), workdir=tmp_path)


def test_encoded_frames_decode_as_websocket_text_messages() -> None:
    """The feeder's hand-made frames are valid WebSocket text frames at every length
    encoding (7-bit, 16-bit and 64-bit payload lengths)."""
    client = WSConnection(ConnectionType.CLIENT)
    server = WSConnection(ConnectionType.SERVER)
    server.receive_data(client.send(Request(host="localhost", target="/")))
    assert isinstance(next(server.events()), Request)
    client.receive_data(server.send(AcceptConnection()))
    assert isinstance(next(client.events()), AcceptConnection)
    texts = ["x" * 5, "é" * 200, "y" * 70_000]
    client.receive_data(b"".join(encode_frame(t) for t in texts))
    got = [e.data for e in client.events() if isinstance(e, TextMessage)]
    assert got == texts


def test_latency_stream_raises_one_fill_regression_per_marked_frame() -> None:
    """Fed offline to a fresh core, the latency stream raises exactly one FILL_REGRESSION
    per order :func:`alert_orders` names, at the marked frame, and nothing else above
    info."""
    plugins = load_plugins()
    stream = latency_stream(plugins[LATENCY_VENUE], 400, 20)
    assert len(stream.frames) == 400
    assert stream.orders == alert_orders(400, 20)
    assert len(stream.alerts) == len(stream.orders) == 20
    rec = Reconciler(plugins, CoreConfig())
    raised: list[tuple[int, str | None]] = []
    others: list[str] = []
    for i, frame in enumerate(stream.frames):
        for alert in rec.feed(LATENCY_VENUE, "main", frame, 1_800_000_000.0 + i / 1000):
            if alert.code == "FILL_REGRESSION":
                raised.append((i, alert.order_id))
            elif alert.severity is not Severity.INFO:
                others.append(alert.code)
    assert raised == list(zip(stream.alerts, stream.orders, strict=True))
    assert others == []


def test_socket_path_engine_applies_every_frame_the_raw_client_received(tmp_path: Path) -> None:
    """Every venue with a simulator is measured, raw and engine on the same number of
    frames, with positive rates and one bar on the lowest ratio."""
    result = _bench_socket.run(_options(tmp_path), frames=300)
    venues = result.figures["venues"]
    assert set(venues) == {"btse", "bybit", "clearstreet", "tread"}
    for figures in venues.values():
        assert figures["frames"] == figures["raw_frames"] == figures["engine_frames"] == 300
        assert figures["raw_fps"] > 0
        assert figures["engine_fps"] > 0
        assert figures["ratio"] > 0
    assert [b.name for b in result.bars] == [
        "socket path keeps up with raw trio-websocket (every venue)"
    ]
    msgspec.json.encode(result.figures)  # JSON-able


def test_latency_matches_every_alert_and_orders_its_percentiles(tmp_path: Path) -> None:
    """At one offered rate every provoked alert reaches the subscriber, none is dropped
    or unexplained, and p50 <= p99 <= max for both latencies."""
    result = _bench_latency.run(_options(tmp_path), seconds=0.4, rates=(1_000,))
    figures = result.figures
    (step,) = figures["rates"]
    assert step["frames"] == 400
    assert step["alerts_expected"] == step["alerts_matched"] == 20
    assert step["other_alerts"] == 0
    assert step["dropped"] == 0
    assert 0 <= figures["p50_ms"] <= figures["p99_ms"] <= figures["max_ms"]
    assert 0 <= figures["wire_p50_ms"] <= figures["wire_p99_ms"] <= figures["wire_max_ms"]
    assert figures["fixed_rate"] == 1_000
    assert len(result.bars) == 1
    msgspec.json.encode(figures)


def test_latency_ladder_reports_the_rates_it_tried(tmp_path: Path) -> None:
    """The ladder tries rates in order and stops only at a rate the engine could not
    take; the reported highest rate is the highest that passed (or none)."""
    result = _bench_latency.run(_options(tmp_path), seconds=0.3, rates=(500, 1_000))
    steps = result.figures["rates"]
    tried = [s["rate"] for s in steps]
    assert tried in ([500], [500, 1_000])
    assert all(s["sustained"] for s in steps[:-1])
    passing = [s["rate"] for s in steps if s["ok"]]
    assert result.figures["max_rate_p99_under_1ms"] == (max(passing) if passing else None)
    assert all(s["alerts_matched"] == s["alerts_expected"] for s in steps)
