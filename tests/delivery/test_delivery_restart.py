"""Across a restart: pending alerts are delivered, delivered ones are not repeated, and
what storm control held back still reaches the sink."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import structlog
import trio
from delivery.httpkit import Request, Response, Server, WebhookReceiver
from delivery.kit import SECRET, alert, make_delivery, now, raise_alerts, until, webhook

from reconciler.alerts import Alert
from reconciler.delivery import SinkConfig
from reconciler.journal import open_journal
from reconciler.outbox import notice_id


class Switchable:
    """A webhook receiver that can be taken down (it then answers 503)."""

    def __init__(self) -> None:
        self.up = True
        self.receiver = WebhookReceiver(SECRET, now)

    def __call__(self, request: Request) -> Response | None:
        return self.receiver(request) if self.up else Response(503, b"maintenance")


async def test_pending_alerts_are_delivered_after_a_restart_and_delivered_ones_not_repeated(
    tmp_path: Path, autojump_clock: trio.abc.Clock
) -> None:
    """Two alerts delivered, then the receiver goes down and two more stay pending; the
    journal is closed and reopened with a new Delivery: the two pending ones arrive, the
    first two do not arrive again."""
    path = tmp_path / "j.db"
    switch = Switchable()
    server = Server(switch)
    alerts = [alert(i, order_id=f"T{i}") for i in range(4)]
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        env = {"HOOK_URL": server.url, "HOOK_SECRET": SECRET}

        journal = open_journal(path)
        first = make_delivery(journal, {"hook": webhook()}, environ=env)
        async with trio.open_nursery() as run:
            run.start_soon(first.run)
            raise_alerts(journal, first, *alerts[:2])
            await server.wait_for(2)
            switch.up = False
            raise_alerts(journal, first, *alerts[2:])
            await server.wait_for(3)
            run.cancel_scope.cancel()
        assert first.stats()["sinks.hook.pending"] == 2
        journal.close()

        switch.up = True
        journal = open_journal(path)
        second = make_delivery(journal, {"hook": webhook()}, environ=env)
        async with trio.open_nursery() as run:
            run.start_soon(second.run)
            while len(switch.receiver.deliveries) < 4:
                await trio.sleep(0.5)
            await trio.sleep(600)
            run.cancel_scope.cancel()
        stats = second.stats()
        journal.close()
        nursery.cancel_scope.cancel()
    assert sorted(switch.receiver.deliveries) == sorted(a.id for a in alerts)
    assert all(len(b) == 1 for b in switch.receiver.deliveries.values())
    assert stats["sinks.hook.delivered"] == 2
    assert stats["sinks.hook.pending"] == 0


def _ids(path: Path) -> list[str]:
    out = []
    for line in path.read_bytes().splitlines():
        try:
            out.append(msgspec.json.decode(line)["id"])
        except msgspec.DecodeError:
            continue
    return out


async def test_jsonl_does_not_write_an_alert_twice_after_a_crash(
    tmp_path: Path, autojump_clock: trio.abc.Clock
) -> None:
    """A crash after a line was written but before it was recorded as delivered (and a
    torn last line): after the restart the file holds every alert exactly once, and the
    torn line is ended so the next line is whole."""
    path, file = tmp_path / "j.db", tmp_path / "alerts.jsonl"
    sinks = {"file": SinkConfig(type="jsonl", path=str(file))}
    alerts = [alert(i, order_id=f"T{i}") for i in range(4)]

    journal = open_journal(path)
    first = make_delivery(journal, sinks)
    async with trio.open_nursery() as run:
        run.start_soon(first.run)
        raise_alerts(journal, first, *alerts[:2])
        while first.stats()["sinks.file.delivered"] < 2:
            await trio.sleep(0.5)
        run.cancel_scope.cancel()
    # Queued, then "written" by a sender that crashed before recording it, the last
    # line only half written.
    raise_alerts(journal, first, *alerts[2:])
    line3, line4 = (msgspec.json.encode(a) + b"\n" for a in alerts[2:])
    with file.open("ab") as f:
        f.write(line3 + line4[:25])
    journal.close()

    journal = open_journal(path)
    second = make_delivery(journal, sinks)
    with structlog.testing.capture_logs() as logs:
        async with trio.open_nursery() as run:
            run.start_soon(second.run)
            while second.stats()["sinks.file.pending"]:
                await trio.sleep(0.5)
            run.cancel_scope.cancel()
    stats = second.stats()
    journal.close()
    assert _ids(file) == [a.id for a in alerts]
    lines = file.read_bytes().splitlines()
    assert lines[-2] == line4[:25]  # the torn line, ended
    assert lines[-1] == line4.rstrip(b"\n")
    assert stats["sinks.file.delivered"] == 1
    (found,) = [line for line in logs if line["event"] == "alerts found already delivered"]
    assert found["count"] == 1


async def test_jsonl_delivered_alerts_are_not_written_again_after_a_restart(
    tmp_path: Path, autojump_clock: trio.abc.Clock
) -> None:
    """A clean restart writes nothing that was already written."""
    path, file = tmp_path / "j.db", tmp_path / "alerts.jsonl"
    sinks = {"file": SinkConfig(type="jsonl", path=str(file))}
    alerts = [alert(i, order_id=f"T{i}") for i in range(3)]
    for batch in (alerts[:2], alerts[2:]):
        journal = open_journal(path)
        delivery = make_delivery(journal, sinks)
        async with trio.open_nursery() as run:
            run.start_soon(delivery.run)
            raise_alerts(journal, delivery, *batch)
            while delivery.stats()["sinks.file.pending"]:
                await trio.sleep(0.5)
            run.cancel_scope.cancel()
        journal.close()
    assert _ids(file) == [a.id for a in alerts]


async def test_a_fold_window_open_at_a_crash_still_sends_its_notice(
    tmp_path: Path, autojump_clock: trio.abc.Clock
) -> None:
    """Two repeats folded when the process stops: after the restart the fold notice
    goes out when the window closes, with both ids and the same deterministic id."""
    path = tmp_path / "j.db"
    receiver = WebhookReceiver(SECRET, now)
    server = Server(receiver)
    repeats: list[Alert] = [alert(i) for i in range(3)]  # one order: one fold key
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        env = {"HOOK_URL": server.url, "HOOK_SECRET": SECRET}
        journal = open_journal(path)
        first = make_delivery(journal, {"hook": webhook()}, environ=env, fold_window=60.0)
        async with trio.open_nursery() as run:
            run.start_soon(first.run)
            raise_alerts(journal, first, repeats[0])
            await server.wait_for(1)
            await trio.sleep(1)
            raise_alerts(journal, first, *repeats[1:])
            await trio.sleep(10)
            run.cancel_scope.cancel()
        assert first.stats()["sinks.hook.held"] == 2
        journal.close()

        journal = open_journal(path)
        second = make_delivery(journal, {"hook": webhook()}, environ=env, fold_window=60.0)
        async with trio.open_nursery() as run:
            run.start_soon(second.run)
            await server.wait_for(2)
            run.cancel_scope.cancel()
        stats = second.stats()
        journal.close()
        nursery.cancel_scope.cancel()
    assert 60 <= server.requests[1].at < 61  # when the first run's window closed
    body = json.loads(server.requests[1].body)
    assert body["type"] == "notice"
    notice = body["notice"]
    assert notice["kind"] == "fold"
    assert notice["count"] == 2
    assert notice["alert_ids"] == [a.id for a in repeats[1:]]
    assert notice["id"] == notice_id("fold", [a.id for a in repeats[1:]])
    assert server.requests[1].headers["idempotency-key"] == notice["id"]
    assert stats["sinks.hook.held"] == 0


async def test_alerts_held_for_a_digest_are_sent_after_a_restart(
    tmp_path: Path, autojump_clock: trio.abc.Clock
) -> None:
    """In digest mode at the stop, with alerts held for the next digest: after the
    restart the digest covers them when it is due, then the sink leaves digest mode."""
    path = tmp_path / "j.db"
    server = Server(WebhookReceiver(SECRET, now))
    alerts = [alert(i, order_id=f"T{i}") for i in range(5)]
    config = {"digest_threshold": 2, "digest_interval": 60.0}
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        env = {"HOOK_URL": server.url, "HOOK_SECRET": SECRET}
        journal = open_journal(path)
        first = make_delivery(journal, {"hook": webhook()}, environ=env, **config)
        async with trio.open_nursery() as run:
            run.start_soon(first.run)
            raise_alerts(journal, first, *alerts)
            # Two alerts, then "switching to digest mode", each recorded as delivered.
            await until(lambda: first.stats()["sinks.hook.delivered"] == 3)
            run.cancel_scope.cancel()
        assert first.stats()["sinks.hook.held"] == 3
        journal.close()

        journal = open_journal(path)
        second = make_delivery(journal, {"hook": webhook()}, environ=env, **config)
        async with trio.open_nursery() as run:
            run.start_soon(second.run)
            await server.wait_for(5)
            run.cancel_scope.cancel()
        journal.close()
        nursery.cancel_scope.cancel()
    kinds = [json.loads(r.body)["notice"]["kind"] for r in server.requests[2:]]
    assert kinds == ["digest_on", "digest", "digest_off"]
    digest = json.loads(server.requests[3].body)["notice"]
    assert digest["alert_ids"] == [a.id for a in alerts[2:]]
    assert 60 <= server.requests[3].at < 61  # due one interval after the switch


async def test_turning_storm_control_off_releases_what_it_held(
    tmp_path: Path, autojump_clock: trio.abc.Clock
) -> None:
    """Repeats folded before a restart with storm_control turned off are reported at
    once by their fold notice, and later repeats are sent one by one."""
    path = tmp_path / "j.db"
    server = Server(WebhookReceiver(SECRET, now))
    repeats = [alert(i) for i in range(4)]
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        env = {"HOOK_URL": server.url, "HOOK_SECRET": SECRET}
        journal = open_journal(path)
        first = make_delivery(journal, {"hook": webhook()}, environ=env)
        async with trio.open_nursery() as run:
            run.start_soon(first.run)
            raise_alerts(journal, first, *repeats[:3])
            await until(lambda: first.stats()["sinks.hook.delivered"] == 1)
            run.cancel_scope.cancel()
        journal.close()

        journal = open_journal(path)
        second = make_delivery(journal, {"hook": webhook(storm_control=False)}, environ=env)
        async with trio.open_nursery() as run:
            run.start_soon(second.run)
            await server.wait_for(2)
            raise_alerts(journal, second, repeats[3])
            await server.wait_for(3)
            run.cancel_scope.cancel()
        journal.close()
        nursery.cancel_scope.cancel()
    bodies = [json.loads(r.body) for r in server.requests]
    assert bodies[1]["notice"]["kind"] == "fold"
    assert bodies[1]["notice"]["alert_ids"] == [a.id for a in repeats[1:3]]
    assert server.requests[1].at < 1  # at once, not when the window would have closed
    assert bodies[2]["alert"]["id"] == repeats[3].id
