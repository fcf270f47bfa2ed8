"""Retries: outages heal without duplicates, Retry-After is honoured, permanent failures
and exhausted attempts become dead letters, the backoff grows with full jitter."""

from __future__ import annotations

import itertools
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import pytest
import structlog
import trio
from delivery.httpkit import Request, Response, Server, SlackLike, WebhookReceiver
from delivery.kit import (
    EPOCH,
    SECRET,
    alert,
    make_delivery,
    now,
    raise_alerts,
    slack,
    until,
    webhook,
)

from reconciler._sinks import classify
from reconciler.delivery import Delivery, SinkConfig
from reconciler.journal import Journal

SLACK_TOKEN_PATH = "/services/T000AAAA/B000BBBB/XXXXXXXXXXXXXXXXXXXXXXXX"


@asynccontextmanager
async def running(
    journal: Journal, responder: Any, sink: SinkConfig, **config: Any
) -> AsyncIterator[tuple[Server, Delivery]]:
    """A server answering with ``responder`` and a Delivery sending to it as ``out``."""
    server = Server(responder)
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        url = server.url.replace("/hook", SLACK_TOKEN_PATH)
        env = {"HOOK_URL": url, "SLACK_URL": url, "HOOK_SECRET": SECRET}
        delivery = make_delivery(journal, {"out": sink}, environ=env, **config)
        nursery.start_soon(delivery.run)
        yield server, delivery
        nursery.cancel_scope.cancel()


async def test_an_outage_then_recovery_delivers_every_alert_exactly_once(
    journal: Journal, autojump_clock: trio.abc.Clock
) -> None:
    """The receiver answers 500 to its first six requests, then 200: every alert reaches
    it once, none twice, in the order raised."""
    receiver = WebhookReceiver(SECRET, now, fail_first=6)
    alerts = [alert(i, order_id=f"T{i}") for i in range(5)]
    async with running(journal, receiver, webhook()) as (server, delivery):
        raise_alerts(journal, delivery, *alerts)
        await server.wait_for(6 + 5)
        await trio.sleep(600)  # nothing more arrives
    assert receiver.calls == 11
    assert list(receiver.deliveries) == [a.id for a in alerts]
    assert all(len(bodies) == 1 for bodies in receiver.deliveries.values())
    stats = delivery.stats()
    assert stats["sinks.out.delivered"] == 5
    assert stats["sinks.out.pending"] == 0
    assert stats["sinks.out.retries"] == 6


async def test_429_retry_after_seconds_is_respected(
    journal: Journal, autojump_clock: trio.abc.Clock
) -> None:
    """Slack answers 429 with Retry-After: 30; the retry comes 30 s later, not before."""
    responder = SlackLike(Response(429, b"rate_limited", {"Retry-After": "30"}), Response())
    async with running(journal, responder, slack()) as (server, delivery):
        raise_alerts(journal, delivery, alert(1))
        await server.wait_for(2)
        await until(lambda: delivery.stats()["sinks.out.delivered"] == 1)
    first, second = server.requests
    assert 30 <= second.at - first.at < 31


async def test_429_retry_after_http_date_is_respected(
    journal: Journal, autojump_clock: trio.abc.Clock
) -> None:
    """Retry-After as an HTTP-date: the retry does not come before that date."""
    dates: list[float] = []

    def respond(request: Request) -> Response:
        if dates:
            return Response()
        when = math.ceil(now()) + 45
        dates.append(when)
        date = format_datetime(datetime.fromtimestamp(when, UTC), usegmt=True)
        return Response(429, b"slow down", {"Retry-After": date})

    async with running(journal, respond, webhook()) as (server, delivery):
        raise_alerts(journal, delivery, alert(1))
        await server.wait_for(2)
    retry = server.requests[1]
    assert EPOCH + retry.at >= dates[0]


async def test_a_permanent_slack_error_stops_after_one_attempt_and_is_a_dead_letter(
    journal: Journal, autojump_clock: trio.abc.Clock
) -> None:
    """403 invalid_token: one attempt, an error log line naming the sink and its host
    (never the URL or its token), and the alert is in the dead letters."""
    a = alert(1)
    with structlog.testing.capture_logs() as logs:
        async with running(journal, SlackLike(Response(403, b"invalid_token")), slack()) as (
            server,
            delivery,
        ):
            raise_alerts(journal, delivery, a)
            await server.wait_for(1)
            await trio.sleep(3600)
    assert len(server.requests) == 1
    (dead,) = delivery.dead_letters()
    assert dead.item_id == a.id
    assert dead.item() == a
    assert dead.attempts == 1
    assert dead.last_error == "Slack answered HTTP 403 invalid_token"
    (line,) = [line for line in logs if line["event"] == "alert delivery failed permanently"]
    assert line["log_level"] == "error"
    assert line["sink"] == "out"
    assert line["target"] == f"127.0.0.1:{server.port}"
    assert line["item_id"] == a.id
    assert "invalid_token" in line["error"]
    assert SLACK_TOKEN_PATH.rsplit("/", maxsplit=1)[-1] not in repr(logs)
    assert delivery.stats()["sinks.out.dead"] == 1


async def test_slack_200_with_an_error_body_is_permanent(
    journal: Journal, autojump_clock: trio.abc.Clock
) -> None:
    """Slack answering 200 with channel_not_found is a permanent failure, not a success."""
    async with running(journal, SlackLike(Response(200, b"channel_not_found")), slack()) as (
        server,
        delivery,
    ):
        raise_alerts(journal, delivery, alert(1))
        await server.wait_for(1)
        await trio.sleep(600)
    assert len(server.requests) == 1
    (dead,) = delivery.dead_letters()
    assert "channel_not_found" in (dead.last_error or "")
    assert delivery.stats()["sinks.out.delivered"] == 0


async def test_max_attempts_exhausted_makes_a_dead_letter(
    journal: Journal, autojump_clock: trio.abc.Clock
) -> None:
    """A receiver that always answers 500: exactly max_attempts attempts, then the
    alert is a dead letter and "alert delivery gave up" is logged."""
    a = alert(1)
    with structlog.testing.capture_logs() as logs:
        async with running(journal, SlackLike(Response(500, b"oops")), webhook(max_attempts=3)) as (
            server,
            delivery,
        ):
            raise_alerts(journal, delivery, a)
            await server.wait_for(3)
            await trio.sleep(3600)
    assert len(server.requests) == 3
    (dead,) = delivery.dead_letters()
    assert (dead.item_id, dead.attempts, dead.last_error) == (a.id, 3, "HTTP 500: oops")
    assert [line["event"] for line in logs if line["log_level"] == "error"] == [
        "alert delivery gave up"
    ]


async def test_retries_back_off_exponentially_with_full_jitter(
    journal: Journal, autojump_clock: trio.abc.Clock
) -> None:
    """The wait before retry k is at most min(backoff_max, backoff_initial * 2**(k-1))."""
    async with running(
        journal,
        SlackLike(Response(503, b"")),
        webhook(max_attempts=7),
        backoff_initial=1.0,
        backoff_max=8.0,
    ) as (server, delivery):
        raise_alerts(journal, delivery, alert(1))
        await server.wait_for(7)
    times = [r.at for r in server.requests]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    ceilings = [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert all(0 <= gap <= ceiling + 1e-6 for gap, ceiling in zip(gaps, ceilings, strict=True))


async def test_a_receiver_that_never_answers_times_out_and_is_retried(
    journal: Journal, autojump_clock: trio.abc.Clock
) -> None:
    """No answer within the sink's timeout counts as a failed attempt and is retried."""
    async with running(journal, lambda r: None, webhook(timeout=2.0, max_attempts=2)) as (
        server,
        delivery,
    ):
        raise_alerts(journal, delivery, alert(1))
        await server.wait_for(2)
        await trio.sleep(60)
    assert len(server.requests) == 2
    (dead,) = delivery.dead_letters()
    assert dead.last_error == "timed out after 2 s"


@pytest.mark.parametrize(
    ("status", "body", "slack_sink", "kind"),
    [
        (200, b"", False, "delivered"),
        (204, b"", False, "delivered"),
        (200, b"ok", True, "delivered"),
        (200, b'{"ok": true}', True, "delivered"),
        (200, b"invalid_token", True, "permanent"),
        (404, b"no_service", True, "permanent"),
        (410, b"channel_is_archived", True, "permanent"),
        (400, b"invalid_payload", True, "permanent"),
        (400, b"bad", False, "permanent"),
        (401, b"", False, "permanent"),
        (422, b"unprocessable", False, "permanent"),
        (301, b"", False, "permanent"),
        (408, b"", False, "retry"),
        (429, b"rate_limited", True, "retry"),
        (500, b"rollup_error", True, "retry"),
        (500, b"no_service", True, "permanent"),
        (502, b"", False, "retry"),
        (503, b"", False, "retry"),
    ],
)
def test_http_answers_are_classified(status: int, body: bytes, slack_sink: bool, kind: str) -> None:
    """2xx delivers (Slack: only "ok"); 408, 429 and 5xx retry; other 4xx and 3xx are
    permanent."""
    assert classify(status, body, None, slack=slack_sink).kind == kind
