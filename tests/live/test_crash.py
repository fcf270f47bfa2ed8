"""SIGKILL of a real ``reconciler run`` process mid-stream, then a restart.

A Clear Street simulator keeps sending (its script pauses while nobody is subscribed,
and every subscription replays the day, as the venue does), a webhook receiver checks
signatures and records deliveries by Idempotency-Key, and a JSON Lines sink writes a
file. After each crashed-and-restarted session, the engine's final state digest equals
an uninterrupted session's, every alert reached both sinks, and none arrived twice.
Each journal, crashes and all, exports to a capture that `replay` turns into exactly
its alerts. All sessions run side by side, each with its own simulator, receiver and
journal.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import trio
from delivery.httpkit import Server, WebhookReceiver

from reconciler._clock import EpochClock
from reconciler.capture import read_capture, replay
from reconciler.cli import main
from reconciler.config import CoreConfig
from reconciler.core import Reconciler
from reconciler.journal import open_journal
from reconciler.plugin import load_plugins
from reconciler.simserver import SimulatorServer

ACCOUNT = "100001"
TOKEN = "cs-token-crash-8c7d6e5f4a3b"
SECRET = "hook-secret-crash-1f2e3d4c"
FAULTS = (
    "FILL_REGRESSION",
    "OVERFILL",
    "FILL_AFTER_TERMINAL",
    "ILLEGAL_TRANSITION",
    "NOTIONAL_MISMATCH",
)
# A receiver quiet this long has had its last delivery acknowledged and committed: the
# kill then never lands between "receiver accepted" and "outbox marked delivered" (the
# one window in which an at-least-once sink re-sends, and the Idempotency-Key dedups).
QUIET = 0.3


@dataclass
class Session:
    """What one session (one or more processes on one journal) left behind."""

    digest: str
    deliveries: dict[str, list[bytes]]
    file_ids: list[str]
    logs: list[dict[str, object]] = field(default_factory=list)
    bad_signatures: int = 0


def _config(tmp: Path, url: str, hook: str) -> Path:
    path = tmp / "reconciler.toml"
    path.write_text(
        f"""
[core]
settle_window = 1.0
ack_timeout = 1.0

[journal]
path = "{tmp / "desk.journal"}"
snapshot_records = 40

[logging]
format = "json"

[venues.clearstreet]
url = "{url}"

[venues.clearstreet.accounts.{ACCOUNT}]
credentials = {{ token = "CS_TOKEN" }}

[sinks.hook]
type = "webhook"
url_env = "HOOK_URL"
secret_env = "HOOK_SECRET"

[sinks.file]
type = "jsonl"
path = "{tmp / "alerts.jsonl"}"
""",
        encoding="utf-8",
    )
    return path


def _records(path: Path) -> int:
    """Records in the journal so far (read-only, alongside the writing engine)."""
    if not path.exists():
        return 0
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return int(db.execute("SELECT count(*) FROM records").fetchone()[0])
    except sqlite3.OperationalError:  # the schema is being created
        return 0
    finally:
        db.close()


async def _session(tmp: Path, kills: list[float]) -> Session:
    """Play the script once; kill -9 the engine ``kills`` seconds into the stream."""
    tmp.mkdir()  # noqa: ASYNC240 - test set-up, before anything runs concurrently
    sim = load_plugins()["clearstreet"].simulator({ACCOUNT: {"token": TOKEN}})
    script = sim.script(ACCOUNT, seed=3, start_ms=EpochClock().now_ms(), duration=8, faults=FAULTS)
    server = SimulatorServer(sim, [script])
    receiver = WebhookReceiver(SECRET, time.time)
    http = Server(receiver)
    logs_path = tmp / "stderr.log"
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        await nursery.start(http.run)
        config = _config(tmp, server.url, http.url)
        env = {**os.environ, "CS_TOKEN": TOKEN, "HOOK_URL": http.url, "HOOK_SECRET": SECRET}
        cmd = [sys.executable, "-m", "reconciler.cli", "run", "--config", str(config)]
        start = trio.current_time()
        with logs_path.open("ab") as sink:
            run = partial(trio.run_process, cmd, env=env, stdout=sink, stderr=sink, check=False)
            for at in kills:
                seen = _records(tmp / "desk.journal")
                proc: trio.Process = await nursery.start(run)
                # Mid-stream: this process is journaling frames, and the time has come.
                while _records(tmp / "desk.journal") <= seen + 5:
                    await trio.sleep(0.05)
                await trio.sleep_until(start + at)
                while http.requests and trio.current_time() - http.requests[-1].at < QUIET:
                    await trio.sleep(0.05)
                proc.kill()  # SIGKILL: no clean-up of any kind
                await proc.wait()
                assert not server.finished.is_set(), "the kill came after the stream ended"
            proc = await nursery.start(run)
            await server.finished.wait()
            # Settle windows close (1 s) and the sinks catch up.
            await trio.sleep(2.0)
            while http.requests and trio.current_time() - http.requests[-1].at < 1.0:
                await trio.sleep(0.1)
            proc.send_signal(signal.SIGTERM)
            with trio.fail_after(20):
                await proc.wait()
        nursery.cancel_scope.cancel()
    logs = [json.loads(line) for line in logs_path.read_text().splitlines() if line.startswith("{")]
    stopped = [line for line in logs if line.get("event") == "engine stopped"]
    assert len(stopped) == 1, logs_path.read_text()[-3000:]
    file_ids = [json.loads(line)["id"] for line in (tmp / "alerts.jsonl").read_text().splitlines()]
    # The journal, crashes and all, exports to a capture that replays to its alerts.
    exported = tmp / "export.jsonl"
    assert main(["export", str(tmp / "desk.journal"), "--out", str(exported)]) == 0
    journal = open_journal(tmp / "desk.journal", read_only=True)
    journaled = [a.id for a in journal.alerts()]
    journal.close()
    core = Reconciler(config=CoreConfig(settle_window=1.0, ack_timeout=1.0))
    capture = read_capture(exported.read_bytes().splitlines())
    assert [a.id for a in replay([capture], core)] == journaled
    return Session(
        digest=str(stopped[0]["state_digest"]),
        deliveries=dict(receiver.deliveries),
        file_ids=file_ids,
        logs=logs,
        bad_signatures=receiver.bad_signatures,
    )


async def test_sigkill_mid_stream_then_restart_matches_an_uninterrupted_run(
    tmp_path: Path,
) -> None:
    """Killed at 2.5 s, 6 s, 10 s, and twice (3 s and 8 s) into a 14 s stream: each
    restarted session ends in the uninterrupted session's state, and every alert is
    delivered to the webhook and the file exactly once."""
    plans = {"whole": [], "early": [2.5], "middle": [6.0], "late": [10.0], "twice": [3.0, 8.0]}
    results: dict[str, Session] = {}

    async def one(name: str, kills: list[float]) -> None:
        results[name] = await _session(tmp_path / name, kills)

    async with trio.open_nursery() as nursery:
        for name, kills in plans.items():
            nursery.start_soon(one, name, kills)

    whole = results["whole"]
    expected = sorted(whole.deliveries)
    # The file takes every alert; the webhook folds a repeat on the same order into a
    # follow-up that comes when the fold window closes (after these sessions end).
    assert len(whole.file_ids) >= len(FAULTS)
    assert expected
    for name, got in results.items():
        assert got.bad_signatures == 0, name
        assert got.digest == whole.digest, name
        assert sorted(got.deliveries) == expected, name
        assert all(len(bodies) == 1 for bodies in got.deliveries.values()), name
        assert sorted(got.file_ids) == sorted(whole.file_ids), name
        assert len(got.file_ids) == len(set(got.file_ids)), name
        if name != "whole":
            events = [line.get("event") for line in got.logs]
            recovered = [e for e in events if e == "recovered from the journal"]
            assert len(recovered) == len(plans[name]), name
