"""``reconciler run`` and ``reconciler demo`` from the command line."""

from __future__ import annotations

import json
import queue
import threading
from io import StringIO
from pathlib import Path

import trio

from reconciler._cli_live import run_command
from reconciler.cli import main
from reconciler.plugin import load_plugins
from reconciler.simserver import SimulatorServer

TOKEN = "tread-token-5f4e3d2c1b0a9988"


def _serve_in_thread(ports: queue.Queue[int], stop: threading.Event) -> None:
    """A Tread.fi simulator on loopback in its own Trio loop, with one malformed frame."""

    async def serve() -> None:
        sim = load_plugins()["tread"].simulator({"main": {"token": TOKEN}})
        script = sim.script("main", seed=4, start_ms=0, duration=1.5, faults=("malformed",))
        server = SimulatorServer(sim, [script])
        async with trio.open_nursery() as nursery:
            ports.put(await nursery.start(server.run))
            while not stop.is_set():
                await trio.sleep(0.05)
            nursery.cancel_scope.cancel()

    trio.run(serve)


def test_run_streams_alerts_as_json_lines_and_logs_without_secrets(tmp_path: Path) -> None:
    """run connects to the configured venue, writes each alert as one JSON line on
    stdout, logs JSON lines with venue and account on stderr, and never logs the token."""
    ports: queue.Queue[int] = queue.Queue()
    stop = threading.Event()
    thread = threading.Thread(target=_serve_in_thread, args=(ports, stop), daemon=True)
    thread.start()
    try:
        port = ports.get(timeout=10)
        config = tmp_path / "reconciler.toml"
        config.write_text(
            f'[venues.tread]\nurl = "ws://127.0.0.1:{port}/ws/orders/"\n'
            '[venues.tread.accounts.main]\ncredentials = { token = "TREAD_TOKEN" }\n'
            '[logging]\nformat = "json"\nlevel = "debug"\n',
            encoding="utf-8",
        )
        out, err = StringIO(), StringIO()
        code = run_command(str(config), out, err, environ={"TREAD_TOKEN": TOKEN}, duration=8)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert code == 0
    alerts = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [a["code"] for a in alerts] == ["MALFORMED_MESSAGE"]
    logs = [json.loads(line) for line in err.getvalue().splitlines()]
    assert {"connecting", "connected"} <= {line["event"] for line in logs}
    assert all(line["venue"] == "tread" for line in logs if line["event"] == "connected")
    assert TOKEN not in out.getvalue() + err.getvalue()


def test_run_with_a_bad_config_explains_and_starts_nothing(tmp_path: Path) -> None:
    """A missing credential stops run before any connection, with exit status 2 and
    the problem's location, not a traceback."""
    config = tmp_path / "bad.toml"
    config.write_text(
        '[venues.btse.accounts.main]\ncredentials = { api_key = "K" }\n', encoding="utf-8"
    )
    out, err = StringIO(), StringIO()
    assert run_command(str(config), out, err, environ={"K": "x"}, duration=1) == 2
    text = err.getvalue()
    assert "venues.btse.accounts.main" in text
    assert "api_secret" in text
    assert "Traceback" not in text
    assert out.getvalue() == ""


def test_demo_rejects_a_non_positive_duration() -> None:
    """reconciler demo --duration 0 is a usage error (exit 2)."""
    assert main(["demo", "--duration", "0"]) == 2
