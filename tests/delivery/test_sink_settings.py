"""The [sinks.<name>] and [delivery] tables: loading from TOML, and every problem said
in one line with its fix, never printing a URL or a key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from reconciler._sink_settings import DeliveryConfig, SinkConfig, sink_problems
from reconciler.config_file import ConfigError, load_settings
from reconciler.delivery import Delivery
from reconciler.journal import Journal

SLACK_URL = "https://hooks.slack.com/services/T0001/B0001/abcdefghijklmnopqrstuvwx"
KEY = "0123456789abcdef0123456789abcdef"
ENV = {"SLACK_URL": SLACK_URL, "HOOK_URL": "https://example.com/hook", "HOOK_KEY": KEY}


def _problems(sink: SinkConfig, environ: dict[str, str] | None = None, **kw: object) -> list[str]:
    return sink_problems({"s": sink}, ENV if environ is None else environ, **kw)  # type: ignore[arg-type]


def test_a_sinks_file_loads(tmp_path: Path) -> None:
    """[sinks.*] and [delivery] load into typed settings."""
    path = tmp_path / "r.toml"
    path.write_text(
        textwrap.dedent(
            """
            [delivery]
            fold_window = 30
            digest_threshold = 20

            [sinks.desk]
            type = "slack"
            url_env = "SLACK_URL"
            min_severity = "critical"
            venues = ["btse"]

            [sinks.hook]
            type = "webhook"
            url_env = "HOOK_URL"
            secret_env = "HOOK_KEY"
            headers = { X-Team = "risk" }
            storm_control = false
            """
        )
    )
    settings = load_settings(path)
    assert settings.delivery == DeliveryConfig(fold_window=30.0, digest_threshold=20)
    assert settings.sinks["desk"].min_severity == "critical"
    assert settings.sinks["desk"].storm
    assert not settings.sinks["hook"].storm
    assert sink_problems(settings.sinks, ENV) == []


def test_a_bad_value_is_reported_at_its_key(tmp_path: Path) -> None:
    """A range check of the table is one line naming the key."""
    path = tmp_path / "r.toml"
    path.write_text('[sinks.hook]\ntype = "log"\ntimeout = 0\n\n[delivery]\nbackoff_max = 0.5\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    lines = str(info.value).splitlines()
    assert any("sinks.hook.timeout: must be more than 0 seconds" in line for line in lines)
    assert any("delivery.backoff_max: must be at least backoff_initial" in line for line in lines)


def test_jsonl_needs_a_path() -> None:
    """A jsonl sink without path says to add one."""
    assert _problems(SinkConfig(type="jsonl")) == [
        'sinks.s: no path. Add path = "alerts.jsonl" (the file alerts are appended to)'
    ]


def test_jsonl_path_must_be_in_an_existing_directory(tmp_path: Path) -> None:
    """A file in a missing directory is reported."""
    (problem,) = _problems(SinkConfig(type="jsonl", path=str(tmp_path / "no" / "a.jsonl")))
    assert problem.startswith("sinks.s.path: the directory ")


def test_two_sinks_cannot_share_a_file(tmp_path: Path) -> None:
    """Two jsonl sinks on one file is a problem."""
    path = str(tmp_path / "a.jsonl")
    sinks = {n: SinkConfig(type="jsonl", path=path) for n in ("a", "b")}
    (problem,) = sink_problems(sinks, {})
    assert problem.startswith("sinks.b.path: the same file as sinks.a.")


def test_slack_needs_url_env() -> None:
    """A slack sink without url_env says which key to add."""
    (problem,) = _problems(SinkConfig(type="slack"))
    assert problem.startswith('sinks.s: no url_env. Add url_env = "<ENV_VAR_NAME>"')


def test_a_named_variable_must_be_set() -> None:
    """url_env naming an unset variable says to export it."""
    (problem,) = _problems(SinkConfig(type="slack", url_env="NOPE"))
    assert problem == "sinks.s.url_env: environment variable NOPE is not set or empty. Export NOPE"


def test_a_url_pasted_instead_of_a_variable_name_is_not_echoed() -> None:
    """A URL written where the variable name goes is refused without printing it."""
    (problem,) = _problems(SinkConfig(type="slack", url_env=SLACK_URL))
    assert problem.startswith("sinks.s.url_env: is not an environment variable name")
    assert "hooks.slack.com" not in problem
    assert "abcdefghij" not in problem


def test_plain_http_to_a_remote_host_is_refused_without_printing_the_url() -> None:
    """http:// to a non-loopback host is a problem (unless insecure); the URL is not shown."""
    env = {"SLACK_URL": SLACK_URL.replace("https", "http")}
    (problem,) = _problems(SinkConfig(type="slack", url_env="SLACK_URL"), env)
    assert problem.startswith("sinks.s.url_env: the URL in SLACK_URL is plain http://")
    assert "hooks.slack.com" not in problem
    assert _problems(SinkConfig(type="slack", url_env="SLACK_URL", insecure=True), env) == []
    loopback = {"SLACK_URL": "http://127.0.0.1:8080/hook"}
    assert _problems(SinkConfig(type="slack", url_env="SLACK_URL"), loopback) == []


def test_a_webhook_needs_a_long_enough_signing_key() -> None:
    """Webhooks are always signed: secret_env is required and its key must be long."""
    (missing,) = _problems(SinkConfig(type="webhook", url_env="HOOK_URL"))
    assert missing.startswith('sinks.s: no secret_env. Add secret_env = "<ENV_VAR_NAME>"')
    short = {**ENV, "HOOK_KEY": "short-key"}
    sink = SinkConfig(type="webhook", url_env="HOOK_URL", secret_env="HOOK_KEY")
    (problem,) = _problems(sink, short)
    assert "shorter than 16 characters" in problem
    assert "short-key" not in problem


def test_codes_must_be_alert_codes() -> None:
    """An unknown code is reported with the closest real one."""
    (problem,) = _problems(SinkConfig(type="log", codes=["OVERFILL", "FILL_GAPS"]))
    assert problem.startswith("sinks.s.codes[1]: 'FILL_GAPS' is not an alert code.")
    assert problem.endswith('Did you mean "FILL_GAP"?')


def test_a_venue_filter_must_name_a_configured_venue() -> None:
    """A venue filter that names no configured venue (or nothing) would never match."""
    sink = SinkConfig(type="log", venues=["btse", "bitmex", ""])
    problems = _problems(sink, venues={"btse", "tread"})
    assert problems == [
        (
            "sinks.s.venues[1]: 'bitmex' is not a configured venue, so this filter would "
            "never match. Configured venues: btse, tread"
        ),
        "sinks.s.venues[2]: an empty venue name. Remove it",
    ]


def test_keys_another_sink_type_uses_are_reported() -> None:
    """Keys that do nothing for this sink type are problems, not silently ignored."""
    sink = SinkConfig(type="log", path="x", url_env="X", secret_env="Y", headers={"A": "b"})
    assert [p.split(":")[0] for p in _problems(sink)] == [
        "sinks.s.path",
        "sinks.s.url_env",
        "sinks.s.secret_env",
        "sinks.s.headers",
    ]


def test_header_problems() -> None:
    """Reserved headers, invalid names and credentials in plain headers are reported."""
    sink = SinkConfig(
        type="webhook",
        url_env="HOOK_URL",
        secret_env="HOOK_KEY",
        headers={"Idempotency-Key": "x", "Bad Header": "x", "Authorization": "Bearer t"},
        headers_env={"X-Api": "UNSET_VAR"},
    )
    problems = _problems(sink)
    assert [p.split(": ")[0] for p in problems] == [
        "sinks.s.headers.Idempotency-Key",
        "sinks.s.headers.Bad Header",
        "sinks.s.headers.Authorization",
        "sinks.s.headers_env.X-Api",
    ]
    assert "Bearer t" not in "\n".join(problems)


def test_delivery_refuses_a_bad_sink_configuration(journal: Journal) -> None:
    """Delivery raises ConfigError listing the problems before anything runs."""
    with pytest.raises(ConfigError, match=r"sinks\.s: no url_env"):
        Delivery(
            {"s": SinkConfig(type="slack")}, DeliveryConfig(), journal, environ={}, now=lambda: 0.0
        )
