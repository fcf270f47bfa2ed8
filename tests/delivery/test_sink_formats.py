"""What each sink sends: Slack blocks a trader reads at a glance, signed webhook bodies,
JSON Lines, log lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import structlog
import trio
from delivery.httpkit import Server, SlackLike, WebhookReceiver
from delivery.kit import SECRET, alert, make_delivery, now, raise_alerts, slack, webhook

from reconciler._slack import slack_message
from reconciler.alerts import Alert, AlertCode, Severity
from reconciler.delivery import SinkConfig
from reconciler.journal import Journal
from reconciler.outbox import Notice, notice_id
from reconciler.signing import sign, verify


def _texts(blocks: list[dict[str, Any]]) -> str:
    """Every text in the blocks, one per line."""
    out: list[str] = []
    for block in blocks:
        if "text" in block:
            out.append(block["text"]["text"])
        out.extend(f["text"] for f in block.get("fields", []))
        out.extend(e["text"] for e in block.get("elements", []))
    return "\n".join(out)


async def _deliver_one(
    journal: Journal, sink: SinkConfig, responder: Any, a: Alert, env: dict[str, str]
) -> Server:
    server = Server(responder)
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        env = {k: v.replace("{url}", server.url) for k, v in env.items()}
        delivery = make_delivery(journal, {"out": sink}, environ=env)
        nursery.start_soon(delivery.run)
        raise_alerts(journal, delivery, a)
        await server.wait_for(1)
        nursery.cancel_scope.cancel()
    return server


async def test_slack_message_shows_severity_venue_account_order_and_the_disagreement(
    journal: Journal, autojump_clock: trio.abc.Clock
) -> None:
    """The Slack message has a header with the severity emoji and the code, fields with
    severity, venue, account and order, the message, what disagrees and by how much, and
    a context line with the alert id and time."""
    a = alert(1, evidence={"previous_filled": "300", "new_filled": "200", "status": "5"})
    server = await _deliver_one(journal, slack(), SlackLike(), a, {"SLACK_URL": "{url}"})
    payload = json.loads(server.requests[0].body)
    blocks = payload["blocks"]
    assert blocks[0]["type"] == "header"
    assert blocks[0]["text"]["text"] == "🔴 FILL_REGRESSION"
    fields = [f["text"] for f in blocks[1]["fields"]]
    assert fields == [
        "*Severity*\n🔴 critical",
        "*Venue*\ntread",
        "*Account*\nmain",
        "*Order*\n`T1`",
    ]
    text = _texts(blocks)
    assert a.message in text
    assert "*What disagrees*\n*previous_filled* `300` → *new_filled* `200` (-100)" in text
    assert "*status*\n`5`" in text  # evidence not in a pair is shown as it is
    assert blocks[-1]["type"] == "context"
    assert f"alert `{a.id}` · 2025-07-10 11:31:41 UTC" in blocks[-1]["elements"][0]["text"]
    assert "FILL_REGRESSION" in payload["text"]  # the notification's fallback text
    assert server.requests[0].headers["content-type"] == "application/json"


def test_slack_message_escapes_what_a_venue_sent() -> None:
    """Text from a venue cannot become a Slack mention or link: <, > and & are escaped."""
    a = msgspec.structs.replace(alert(1), order_id="<!channel>", message="a & <b>")
    text = _texts(slack_message(a)["blocks"])
    assert "<!channel>" not in text
    assert "&lt;!channel&gt;" in text
    assert "a &amp; &lt;b&gt;" in text


def test_slack_message_names_the_disagreeing_pair_of_other_alert_shapes() -> None:
    """Pairs such as expected_/reported_ and <field>_before/<field>_now are shown with
    the difference when both are numbers."""
    a = alert(
        1,
        code=AlertCode.EXPECTATION_MISMATCH,
        evidence={"expected_quantity": "25", "reported_quantity": "25.5", "side": "buy"},
    )
    text = _texts(slack_message(a)["blocks"])
    assert "*expected_quantity* `25` → *reported_quantity* `25.5` (+0.5)" in text
    b = alert(
        2,
        code=AlertCode.IMMUTABLE_FIELD_CHANGED,
        evidence={"symbol_before": "AAPL", "symbol_now": "MSFT"},
    )
    assert "*symbol_before* `AAPL` → *symbol_now* `MSFT`" in _texts(slack_message(b)["blocks"])


def test_slack_fold_notice_says_how_many_more() -> None:
    """A fold notice's header reads "N more CODE" and lists the folded alert ids."""
    ids = ["a" * 20, "b" * 20]
    notice = Notice(
        id=notice_id("fold", ids),
        kind="fold",
        severity=Severity.WARNING,
        t=1_752_147_200.0,
        message="2 more FILL_GAP on order 42 (btse/main) within 60 s of the first",
        count=2,
        code=AlertCode.FILL_GAP,
        venue="btse",
        account="main",
        order_id="42",
        alert_ids=ids,
    )
    blocks = slack_message(notice)["blocks"]
    assert blocks[0]["text"]["text"] == "🟠 2 more FILL_GAP"
    text = _texts(blocks)
    assert f"`{ids[0]}`, `{ids[1]}`" in text
    assert "*Order*\n`42`" in text


async def test_webhook_has_the_idempotency_key_and_a_signature_that_verifies(
    journal: Journal, autojump_clock: trio.abc.Clock
) -> None:
    """The webhook body is the alert in an envelope; Idempotency-Key is the alert id and
    X-Reconciler-Signature verifies with the shared secret."""
    a = alert(1)
    receiver = WebhookReceiver(SECRET, now)
    env = {"HOOK_URL": "{url}", "HOOK_SECRET": SECRET}
    server = await _deliver_one(journal, webhook(), receiver, a, env)
    (request,) = server.requests
    assert receiver.bad_signatures == 0
    assert request.headers["idempotency-key"] == a.id
    assert request.headers["x-reconciler-event"] == "alert"
    assert request.headers["x-reconciler-attempt"] == "1"
    timestamp = request.headers["x-reconciler-timestamp"]
    assert int(timestamp) == int(now())
    assert request.headers["x-reconciler-signature"] == sign(SECRET, timestamp, request.body)
    body = json.loads(request.body)
    assert body["type"] == "alert"
    assert msgspec.convert(body["alert"], Alert) == a


async def test_a_tampered_webhook_body_fails_verification(
    journal: Journal, autojump_clock: trio.abc.Clock
) -> None:
    """Changing one byte of the body, the timestamp or the key breaks the signature; an
    old timestamp is refused even with a valid signature."""
    receiver = WebhookReceiver(SECRET, now)
    env = {"HOOK_URL": "{url}", "HOOK_SECRET": SECRET}
    server = await _deliver_one(journal, webhook(), receiver, alert(1), env)
    (request,) = server.requests
    ts, sig, body = (
        request.headers["x-reconciler-timestamp"],
        request.headers["x-reconciler-signature"],
        request.body,
    )
    t = now()
    assert verify(SECRET, ts, body, sig, now=t)
    tampered = body.replace(b'"critical"', b'"info"')
    assert tampered != body
    assert not verify(SECRET, ts, tampered, sig, now=t)
    assert not verify(SECRET, str(int(ts) + 1), body, sig, now=t)
    assert not verify("another-key-0123456789", ts, body, sig, now=t)
    assert not verify(SECRET, ts, body, sig, now=t + 301)


async def test_webhook_sends_the_configured_extra_headers(
    journal: Journal, autojump_clock: trio.abc.Clock
) -> None:
    """headers are sent as written; headers_env values come from the environment."""
    sink = webhook(headers={"X-Team": "risk"}, headers_env={"Authorization": "HOOK_AUTH"})
    env = {"HOOK_URL": "{url}", "HOOK_SECRET": SECRET, "HOOK_AUTH": "Bearer abc123456789"}
    server = await _deliver_one(journal, sink, WebhookReceiver(SECRET, now), alert(1), env)
    headers = server.requests[0].headers
    assert headers["x-team"] == "risk"
    assert headers["authorization"] == "Bearer abc123456789"


async def test_jsonl_writes_one_alert_per_line(
    journal: Journal, tmp_path: Path, autojump_clock: trio.abc.Clock
) -> None:
    """Each alert is one line, exactly msgspec.json.encode(alert)."""
    path = tmp_path / "alerts.jsonl"
    alerts = [alert(i, order_id=f"T{i}") for i in range(3)]
    delivery = make_delivery(journal, {"file": SinkConfig(type="jsonl", path=str(path))})
    async with trio.open_nursery() as nursery:
        nursery.start_soon(delivery.run)
        raise_alerts(journal, delivery, *alerts)
        while delivery.stats()["sinks.file.delivered"] < 3:
            await trio.sleep(0.5)
        nursery.cancel_scope.cancel()
    assert path.read_bytes() == b"".join(msgspec.json.encode(a) + b"\n" for a in alerts)


async def test_log_sink_logs_each_alert_at_a_level_from_its_severity(
    journal: Journal, autojump_clock: trio.abc.Clock
) -> None:
    """info alerts log at info, warnings at warning, critical ones at error, with code,
    severity, venue, account, order_id, alert_id and message."""
    alerts = [
        alert(1, severity=Severity.INFO, order_id="A"),
        alert(2, severity=Severity.WARNING, order_id="B"),
        alert(3, severity=Severity.CRITICAL, order_id=None),
    ]
    delivery = make_delivery(journal, {"log": SinkConfig(type="log")})
    with structlog.testing.capture_logs() as logs:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(delivery.run)
            raise_alerts(journal, delivery, *alerts)
            while delivery.stats()["sinks.log.delivered"] < 3:
                await trio.sleep(0.5)
            nursery.cancel_scope.cancel()
    lines = [line for line in logs if line["event"] == "alert"]
    assert [line["log_level"] for line in lines] == ["info", "warning", "error"]
    assert lines[2] == {
        "event": "alert",
        "log_level": "error",
        "code": "FILL_REGRESSION",
        "severity": "critical",
        "venue": "tread",
        "account": "main",
        "order_id": None,
        "alert_id": alerts[2].id,
        "message": alerts[2].message,
    }
