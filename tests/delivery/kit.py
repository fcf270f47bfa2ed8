"""Shared helpers of the delivery tests: alerts, a Trio-driven epoch clock, and raising
an alert the way the engine does (journal, enqueue, commit, wake)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import trio

from reconciler.alerts import Alert, AlertCode, Severity, alert_id
from reconciler.delivery import Delivery, DeliveryConfig, SinkConfig
from reconciler.journal import Journal

#: Epoch seconds at Trio time 0 (2025-07-10 11:31:40 UTC).
EPOCH = 1_752_147_100.0
SECRET = "test-signing-key-0123456789abcdef"


def now() -> float:
    """Epoch seconds moving with Trio's (autojump) clock."""
    return EPOCH + trio.current_time()


def alert(
    n: int = 1,
    *,
    code: AlertCode = AlertCode.FILL_REGRESSION,
    severity: Severity = Severity.CRITICAL,
    venue: str = "tread",
    account: str = "main",
    order_id: str | None = "T1",
    evidence: Mapping[str, str] | None = None,
) -> Alert:
    """A distinct alert (``n`` makes the id differ)."""
    return Alert(
        id=alert_id(code, venue, order_id, n),
        code=code,
        severity=severity,
        venue=venue,
        account=account,
        order_id=order_id,
        parent_id=None,
        t=EPOCH + n,
        message=f"{venue} order {order_id}: the cumulative fill went from 300 to 200 ({n})",
        evidence=dict(evidence or {"previous_filled": "300", "new_filled": "200"}),
    )


def raise_alerts(journal: Journal, delivery: Delivery, *alerts: Alert) -> None:
    """What the engine does for new alerts: journal, enqueue, commit, then wake."""
    for a in alerts:
        if journal.append_alert(a):
            delivery.enqueue(a)
    journal.commit()
    delivery.wake()


def make_delivery(
    journal: Journal,
    sinks: Mapping[str, SinkConfig],
    *,
    environ: Mapping[str, str] | None = None,
    **config: Any,
) -> Delivery:
    """A Delivery on ``journal`` with a fast-retry configuration unless overridden."""
    settings = {"backoff_initial": 1.0, "backoff_max": 8.0, **config}
    return Delivery(
        sinks,
        DeliveryConfig(**settings),
        journal,
        environ=dict(environ or {}),
        now=now,
    )


def webhook(url_env: str = "HOOK_URL", **kw: Any) -> SinkConfig:
    """A webhook sink reading ``HOOK_URL`` and ``HOOK_SECRET``."""
    return SinkConfig(type="webhook", url_env=url_env, secret_env="HOOK_SECRET", **kw)


def slack(url_env: str = "SLACK_URL", **kw: Any) -> SinkConfig:
    """A Slack sink reading ``SLACK_URL``."""
    return SinkConfig(type="slack", url_env=url_env, **kw)


async def until(condition: Callable[[], bool]) -> None:
    """Wait (in Trio time) until ``condition()`` holds."""
    while not condition():
        await trio.sleep(0.25)
