"""A dead or hung sink never slows the feed (enqueue is synchronous) nor the other sinks."""

from __future__ import annotations

import inspect

import trio
from delivery.httpkit import Response, Server, SlackLike, WebhookReceiver, refused_port
from delivery.kit import SECRET, alert, make_delivery, now, raise_alerts, webhook

from reconciler.delivery import Delivery
from reconciler.journal import Journal


def test_enqueue_is_synchronous() -> None:
    """enqueue and wake are plain functions: the engine never awaits a sink."""
    assert not inspect.iscoroutinefunction(Delivery.enqueue)
    assert not inspect.iscoroutinefunction(Delivery.wake)


async def _other_sink_is_prompt(journal: Journal, dead_url: str) -> None:
    good = Server(WebhookReceiver(SECRET, now))
    async with trio.open_nursery() as nursery:
        await nursery.start(good.run)
        env = {"GOOD_URL": good.url, "DEAD_URL": dead_url, "HOOK_SECRET": SECRET}
        sinks = {
            "dead": webhook("DEAD_URL", timeout=30.0),
            "good": webhook("GOOD_URL"),
        }
        delivery = make_delivery(journal, sinks, environ=env)
        nursery.start_soon(delivery.run)
        for i in range(20):
            started = trio.current_time()
            # Raising (journal + enqueue) takes no Trio time at all: nothing waits.
            raise_alerts(journal, delivery, alert(i, order_id=f"T{i}"))
            assert trio.current_time() == started
            await good.wait_for(i + 1)
            # The good sink had it well within a second, while the dead one hangs.
            assert trio.current_time() - started < 1.0
            await trio.sleep(0.5)
        stats = delivery.stats()
        nursery.cancel_scope.cancel()
    assert stats["sinks.good.delivered"] == 20
    assert stats["sinks.good.pending"] == 0
    assert stats["sinks.dead.delivered"] == 0
    assert stats["sinks.dead.pending"] == 20


async def test_a_hung_sink_does_not_delay_another_sink(
    journal: Journal, autojump_clock: trio.abc.Clock
) -> None:
    """A receiver that accepts but never answers: the other sink still delivers each
    alert at once."""
    hung = Server(lambda request: None)
    async with trio.open_nursery() as nursery:
        await nursery.start(hung.run)
        await _other_sink_is_prompt(journal, hung.url)
        nursery.cancel_scope.cancel()
    assert hung.requests  # it was tried, and hung


async def test_a_refusing_sink_does_not_delay_another_sink(
    journal: Journal, autojump_clock: trio.abc.Clock
) -> None:
    """A receiver whose port refuses connections: the other sink still delivers each
    alert at once."""
    await _other_sink_is_prompt(journal, f"http://127.0.0.1:{refused_port()}/hook")


async def test_a_failing_sink_does_not_block_the_next_alerts_of_a_healthy_one(
    journal: Journal, autojump_clock: trio.abc.Clock
) -> None:
    """One sink in backoff after 500s holds only its own rows."""
    bad = Server(SlackLike(Response(500, b"")))
    good = Server(WebhookReceiver(SECRET, now))
    async with trio.open_nursery() as nursery:
        await nursery.start(bad.run)
        await nursery.start(good.run)
        env = {"BAD_URL": bad.url, "GOOD_URL": good.url, "HOOK_SECRET": SECRET}
        delivery = make_delivery(
            journal, {"bad": webhook("BAD_URL"), "good": webhook("GOOD_URL")}, environ=env
        )
        nursery.start_soon(delivery.run)
        raise_alerts(journal, delivery, *(alert(i, order_id=f"T{i}") for i in range(5)))
        await good.wait_for(5)
        nursery.cancel_scope.cancel()
    assert len(bad.requests) < 5
