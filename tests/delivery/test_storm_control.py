"""Storm control: repeats are folded into one follow-up, a high rate switches a sink to
digests (and back), and every alert stays in the journal."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio
from delivery.httpkit import Server, WebhookReceiver
from delivery.kit import SECRET, alert, make_delivery, now, raise_alerts, webhook

from reconciler.alerts import AlertCode, Severity
from reconciler.delivery import Delivery, SinkConfig
from reconciler.journal import Journal
from reconciler.outbox import notice_id


@asynccontextmanager
async def receiving(journal: Journal, **config: Any) -> AsyncIterator[tuple[Server, Delivery]]:
    """A signature-checking webhook receiver and a Delivery sending to it."""
    server = Server(WebhookReceiver(SECRET, now))
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        env = {"HOOK_URL": server.url, "HOOK_SECRET": SECRET}
        delivery = make_delivery(journal, {"hook": webhook()}, environ=env, **config)
        nursery.start_soon(delivery.run)
        yield server, delivery
        nursery.cancel_scope.cancel()


def _bodies(server: Server) -> list[dict[str, Any]]:
    """What arrived: the alert or the notice of each request."""
    out = []
    for request in server.requests:
        body = json.loads(request.body)
        out.append(body[body["type"]])
    return out


async def test_repeats_on_one_order_are_folded_into_one_follow_up(
    journal: Journal, autojump_clock: trio.abc.Clock
) -> None:
    """The first FILL_REGRESSION on T1 goes out at once; four more within the window are
    not sent one by one: when the window closes, one notice "4 more FILL_REGRESSION on
    order T1" lists them."""
    alerts = [alert(i) for i in range(5)]
    async with receiving(journal, fold_window=60.0) as (server, delivery):
        raise_alerts(journal, delivery, alerts[0])
        await server.wait_for(1)
        assert server.requests[0].at < 0.1
        for a in alerts[1:]:
            await trio.sleep(1)
            raise_alerts(journal, delivery, a)
        await server.wait_for(2)
        await trio.sleep(300)
        stats = delivery.stats()
    assert len(server.requests) == 2
    assert 60 <= server.requests[1].at < 61
    first, notice = _bodies(server)
    assert first["id"] == alerts[0].id
    ids = [a.id for a in alerts[1:]]
    assert notice["kind"] == "fold"
    assert notice["count"] == 4
    assert notice["alert_ids"] == ids
    assert notice["id"] == notice_id("fold", ids)
    assert notice["message"].startswith("4 more FILL_REGRESSION on order T1 (tread/main)")
    assert notice["severity"] == "critical"
    assert server.requests[1].headers["x-reconciler-event"] == "fold"
    assert len(list(journal.alerts())) == 5  # only delivery is folded
    assert stats["sinks.hook.held"] == 0


async def test_only_the_same_code_on_the_same_order_is_folded(
    journal: Journal, autojump_clock: trio.abc.Clock
) -> None:
    """Other orders, other codes and other accounts are not repeats; order-less alerts
    fold by venue and account."""
    alerts = [
        alert(1, order_id="T1"),
        alert(2, order_id="T2"),
        alert(3, order_id="T1", code=AlertCode.OVERFILL),
        alert(4, order_id=None, code=AlertCode.FEED_STALE),
        alert(5, order_id=None, code=AlertCode.FEED_STALE, account="alt"),
        alert(6, order_id=None, code=AlertCode.FEED_STALE),  # repeats alert 4
    ]
    async with receiving(journal, fold_window=60.0) as (server, delivery):
        raise_alerts(journal, delivery, *alerts)
        await server.wait_for(5)
        await trio.sleep(120)
    bodies = _bodies(server)
    assert [b["id"] for b in bodies[:5]] == [a.id for a in alerts[:5]]
    (notice,) = bodies[5:]
    assert notice["alert_ids"] == [alerts[5].id]
    assert notice["message"].startswith("1 more FEED_STALE on tread account main")


async def test_a_repeat_after_the_window_goes_out_at_once(
    journal: Journal, autojump_clock: trio.abc.Clock
) -> None:
    """A window that closed without repeats sends nothing; the next repeat opens a new
    window and is sent immediately."""
    async with receiving(journal, fold_window=10.0) as (server, delivery):
        raise_alerts(journal, delivery, alert(1))
        await trio.sleep(30)
        raise_alerts(journal, delivery, alert(2))
        await server.wait_for(2)
        await trio.sleep(30)
    assert [b["id"] for b in _bodies(server)] == [alert(1).id, alert(2).id]
    assert server.requests[1].at - 30 < 0.1


async def test_digest_mode_switches_on_past_the_threshold_says_so_and_switches_back(
    journal: Journal, autojump_clock: trio.abc.Clock
) -> None:
    """With a threshold of 5 per minute, the 6th alert in a minute switches the sink to
    digest mode (a notice says so), later alerts arrive as one digest, and once the rate
    has fallen a notice says the sink is back to one message per alert."""
    alerts = [alert(i, order_id=f"T{i}") for i in range(10)]
    config = {"digest_threshold": 5, "digest_interval": 60.0, "fold_window": 60.0}
    async with receiving(journal, **config) as (server, delivery):
        for a in alerts:
            raise_alerts(journal, delivery, a)
            await trio.sleep(1)
        await server.wait_for(8)
        later = alert(99, order_id="T99")
        raise_alerts(journal, delivery, later)
        await server.wait_for(9)
        stats = delivery.stats()
    bodies = _bodies(server)
    assert [b["id"] for b in bodies[:5]] == [a.id for a in alerts[:5]]
    on, digest, off, after = bodies[5:]
    assert on["kind"] == "digest_on"
    assert on["message"].startswith("switching to digest mode: 6 alerts in the last minute")
    assert digest["kind"] == "digest"
    assert digest["count"] == 5
    assert digest["alert_ids"] == [a.id for a in alerts[5:]]
    assert digest["id"] == notice_id("digest", [a.id for a in alerts[5:]])
    assert off["kind"] == "digest_off"
    assert off["message"].startswith("leaving digest mode")
    assert after["id"] == later.id
    times = [r.at for r in server.requests]
    assert 65 <= times[6] < 66  # one digest interval after the switch
    assert 125 <= times[7] < 126  # the next digest time: nothing held, rate low
    assert stats["sinks.hook.held"] == 0


async def test_a_digest_counts_by_code_and_venue_and_shows_the_most_severe(
    journal: Journal, autojump_clock: trio.abc.Clock
) -> None:
    """A digest has counts by code and by venue, and the most severe alerts in full,
    the most severe first."""
    trigger = [alert(i, order_id=f"W{i}", severity=Severity.INFO) for i in range(3)]
    held = [
        alert(10, order_id="A", code=AlertCode.FILL_GAP, severity=Severity.WARNING, venue="btse"),
        alert(11, order_id="B", code=AlertCode.OVERFILL, severity=Severity.CRITICAL),
        alert(12, order_id="C", code=AlertCode.FILL_GAP, severity=Severity.WARNING, venue="btse"),
        alert(13, order_id="D", code=AlertCode.OUT_OF_ORDER, severity=Severity.INFO),
    ]
    config = {"digest_threshold": 2, "digest_interval": 30.0, "fold_window": 0.0}
    async with receiving(journal, **config) as (server, delivery):
        raise_alerts(journal, delivery, *trigger, *held)
        await server.wait_for(4)
        await server.wait_for(5)
    digest = _bodies(server)[3]
    assert digest["kind"] == "digest"
    assert digest["count"] == 5  # the alert that tipped it over, and the four after
    assert digest["by_code"] == {
        "FILL_REGRESSION": 1,
        "FILL_GAP": 2,
        "OVERFILL": 1,
        "OUT_OF_ORDER": 1,
    }
    assert digest["by_venue"] == {"tread": 3, "btse": 2}
    assert [a["id"] for a in digest["top"]] == [
        held[1].id,
        held[0].id,
        held[2].id,
        trigger[2].id,
        held[3].id,
    ]
    assert digest["severity"] == "critical"


async def test_storm_control_is_off_for_files_unless_asked(
    journal: Journal, tmp_path: Path, autojump_clock: trio.abc.Clock
) -> None:
    """A JSON Lines file gets every repeat: storm control is on by default only for Slack
    and webhooks."""
    path = tmp_path / "a.jsonl"
    delivery = make_delivery(journal, {"file": SinkConfig(type="jsonl", path=str(path))})
    async with trio.open_nursery() as nursery:
        nursery.start_soon(delivery.run)
        raise_alerts(journal, delivery, *(alert(i) for i in range(50)))
        while delivery.stats()["sinks.file.pending"]:
            await trio.sleep(0.5)
        nursery.cancel_scope.cancel()
    assert len(path.read_bytes().splitlines()) == 50
