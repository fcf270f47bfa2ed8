"""docs/alert-delivery.md stays true: its examples are what the code sends, its TOML
loads, and its signature recipe runs and agrees with reconciler.signing."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest

from reconciler._sink_settings import sink_problems
from reconciler._sinks import webhook_body
from reconciler._slack import slack_message
from reconciler.alerts import Alert
from reconciler.config_file import load_settings
from reconciler.outbox import Notice
from reconciler.signing import sign

DOC = Path(__file__).parents[2] / "docs" / "alert-delivery.md"
_BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _blocks(lang: str) -> list[str]:
    return [body for kind, body in _BLOCK.findall(DOC.read_text()) if kind == lang]


def test_the_slack_and_webhook_examples_are_what_is_sent() -> None:
    """The Slack message and the webhook body shown are exactly those for the alert shown."""
    alert_json, slack_json, webhook_json, notice_json = _blocks("json")
    alert = msgspec.json.decode(alert_json, type=Alert)
    assert slack_message(alert) == json.loads(slack_json)
    assert json.loads(webhook_body(alert)) == json.loads(webhook_json)
    notice = json.loads(notice_json)
    assert notice["type"] == "notice"
    msgspec.convert(notice["notice"], Notice)


@pytest.mark.parametrize("toml", _blocks("toml"))
def test_every_toml_example_loads(toml: str, tmp_path: Path) -> None:
    """Each TOML block is a valid configuration whose sinks have no problem once their
    environment variables are set."""
    path = tmp_path / "r.toml"
    path.write_text(toml.replace("/var/lib/reconciler/", f"{tmp_path}/"))
    settings = load_settings(path)
    names = {v for s in settings.sinks.values() for v in (s.url_env, s.secret_env) if v}
    names |= {v for s in settings.sinks.values() for v in s.headers_env.values()}
    environ = dict.fromkeys(names, "https://hooks.example.com/" + "x" * 24)
    assert sink_problems(settings.sinks, environ) == []


def test_the_verification_recipe_runs_and_agrees_with_the_sender() -> None:
    """The Python snippet runs as written, and its verify() accepts what reconciler signs."""
    (code,) = _blocks("python")
    namespace: dict[str, Any] = {}
    exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    verify = namespace["verify"]
    secret, body = b"k" * 32, b'{"type": "alert"}'
    timestamp = str(int(time.time()))
    assert verify(secret, timestamp, body, sign(secret, timestamp, body))
    assert verify(secret, timestamp, body, "v1=00, " + sign(secret, timestamp, body))
    assert not verify(secret, timestamp, body + b" ", sign(secret, timestamp, body))
