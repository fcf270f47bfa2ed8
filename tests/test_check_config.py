"""``reconciler check-config``: the summary of a good file, every problem of a bad one.

Small fake venue plugins stand in for the real ones (whose live code is not needed to
check a file), except in the test of ``examples/reconciler.toml``, which uses the
installed plugins.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

import reconciler._check_config as check_module
from reconciler._check_config import check_config, main_check_config
from reconciler.config_file import load_settings
from reconciler.events import Event
from reconciler.lifecycle import Status
from reconciler.link import LinkSettings, VenueLink
from reconciler.plugin import VenuePlugin, VenueProtocol, load_plugins
from reconciler.settings import config_problems, plan_connections

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "reconciler.toml"

TOKEN = "tok-SECRET-0123456789"
KEY = "key-SECRET-abcdef"
API_SECRET = "api-SECRET-fedcba"
ENV = {"TOK_TOKEN": TOKEN, "KEYS_MAIN_KEY": KEY, "KEYS_MAIN_SECRET": API_SECRET}

GOOD = """
[core]
strict_accounts = ["keys:main"]

[logging]
format = "json"
level = "debug"

[venues.tok]
url = "wss://tok.example.com/ws/orders/?region=eu"
idle_timeout = 45

[venues.tok.accounts.desk]
credentials = { token = "TOK_TOKEN" }

[venues.keys.accounts.main]
credentials = { api_key = "KEYS_MAIN_KEY", api_secret = "KEYS_MAIN_SECRET" }

[venues.keys.accounts.hedge]
credentials = { api_key = "KEYS_MAIN_KEY", api_secret = "KEYS_MAIN_SECRET" }
url = "wss://hedge.example.com/ws"
"""


class FakeLink(VenueLink):
    """A link with documented timers of 10 s keep-alive, 30 s idle."""

    keep_alive_interval = 10.0
    idle_timeout = 30.0

    def url(self) -> str:
        return self.settings.url

    def opening_frames(self, now_ms: int) -> Sequence[str]:
        return []


class _Silent:
    def receive(self, frame: str | bytes) -> list[Event]:
        return []


class FakePlugin(VenuePlugin):
    """A live venue plugin; its name, credentials and default URL are set per instance."""

    status_table: Mapping[str, Status] = {}

    def __init__(
        self, name: str, credential_names: tuple[str, ...], default_url: str | None
    ) -> None:
        self.name = name
        self.credential_names = credential_names
        self.default_url = default_url

    def protocol(self, account: str) -> VenueProtocol:
        return _Silent()

    def link(self, settings: LinkSettings) -> VenueLink:
        return FakeLink(settings)


class LeakyPlugin(FakePlugin):
    """A buggy plugin whose link() fails with the token in its error message."""

    def link(self, settings: LinkSettings) -> VenueLink:
        raise ValueError(f"bad token {settings.secret('token').reveal()}")


PLUGINS: dict[str, VenuePlugin] = {
    "tok": FakePlugin("tok", ("token",), None),
    "keys": FakePlugin("keys", ("api_key", "api_secret"), "wss://keys.example.com/ws"),
}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "reconciler.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _check(
    tmp_path: Path,
    text: str,
    environ: Mapping[str, str] = ENV,
    plugins: Mapping[str, VenuePlugin] = PLUGINS,
) -> tuple[bool, list[str]]:
    return check_config(_write(tmp_path, text), plugins, environ)


def _no_secret_in(lines: list[str]) -> None:
    for line in lines:
        for value in (TOKEN, KEY, API_SECRET):
            assert value not in line


# -- a good file -----------------------------------------------------------------------


def test_success_lists_every_account_with_its_url(tmp_path: Path) -> None:
    """Each account appears as venue/account with its redacted URL and where it came from."""
    ok, lines = _check(tmp_path, GOOD)
    assert ok
    assert (
        lines[0]
        == f"{tmp_path / 'reconciler.toml'}: OK. A live run would connect 3 accounts on 2 venues:"
    )
    text = "\n".join(lines)
    assert "  keys/hedge\n    url          wss://hedge.example.com/ws (account url)" in text
    assert "  keys/main\n    url          wss://keys.example.com/ws (keys default)" in text
    assert (
        "  tok/desk\n    url          wss://tok.example.com/ws/orders/ (venue url; "
        "query string not shown)"
    ) in text
    assert "region=eu" not in text


def test_success_names_the_environment_variables_never_their_values(tmp_path: Path) -> None:
    """Credentials are shown as the variables they are read from."""
    ok, lines = _check(tmp_path, GOOD)
    assert ok
    assert (
        "    credentials  api_key from $KEYS_MAIN_KEY, api_secret from $KEYS_MAIN_SECRET "
        "(environment; values not shown)"
    ) in lines
    assert "    credentials  token from $TOK_TOKEN (environment; values not shown)" in lines
    _no_secret_in(lines)


def test_success_shows_the_resolved_timers_and_their_source(tmp_path: Path) -> None:
    """Keep-alive and idle timers: the venue's own, or the link's documented ones."""
    ok, lines = _check(tmp_path, GOOD)
    assert ok
    text = "\n".join(lines)
    assert (
        "tok/desk\n    url          wss://tok.example.com/ws/orders/ (venue url; "
        "query string not shown)\n"
        "    credentials  token from $TOK_TOKEN (environment; values not shown)\n"
        "    timers       keep-alive every 10 s (venue default), stalled after 45 s "
        "without a frame (configured)"
    ) in text
    assert (
        lines.count(
            "    timers       keep-alive every 10 s (venue default), stalled after 30 s "
            "without a frame (venue default)"
        )
        == 2
    )
    assert (
        "connection: connect_timeout 10 s, backoff_initial 1 s, backoff_max 60 s, "
        "healthy_after 60 s, auth_retry 300 s, reconnect_alert_after 120 s, close_grace 2 s"
    ) in lines


def test_success_shows_strict_accounts_and_logging(tmp_path: Path) -> None:
    """Which accounts are strict, and the log format and level."""
    ok, lines = _check(tmp_path, GOOD)
    assert ok
    assert lines.count("    strict       yes: every order must have been registered") == 1
    assert lines.count("    strict       no") == 2
    assert "strict accounts: keys:main" in lines
    assert "logging: format json, level debug" in lines


def test_a_strict_entry_matching_no_account_is_a_warning(tmp_path: Path) -> None:
    """A typo in strict_accounts does not stop the run, but it is pointed out."""
    ok, lines = _check(tmp_path, GOOD.replace('["keys:main"]', '["keys:mian", "tok:*"]'))
    assert ok
    assert "warning: core.strict_accounts entry 'keys:mian' matches no configured account" in lines
    assert not any("'tok:*'" in line for line in lines)


def test_an_insecure_plain_ws_venue_is_flagged(tmp_path: Path) -> None:
    """insecure = true is allowed, and the summary says the connection is unencrypted."""
    text = GOOD.replace("wss://tok.example.com", "ws://10.0.0.7:9000").replace(
        "idle_timeout = 45", "idle_timeout = 45\ninsecure = true"
    )
    ok, lines = _check(tmp_path, text)
    assert ok
    assert (
        "    warning      insecure = true: plain ws:// without TLS; never use this in production"
    ) in lines


# -- a bad file ------------------------------------------------------------------------


def test_problems_are_one_line_each_with_file_and_key_then_a_count(tmp_path: Path) -> None:
    """Every problem, located, and the final count; nothing else."""
    text = GOOD.replace('"KEYS_MAIN_SECRET"', '"NOT_SET"', 1)
    text = text.replace("wss://tok.example.com", "ws://tok.example.com")
    ok, lines = _check(tmp_path, text)
    path = tmp_path / "reconciler.toml"
    assert not ok
    assert lines == [
        (
            f"{path}: venues.keys.accounts.main.credentials.api_secret: environment variable "
            "NOT_SET is not set or empty. Export NOT_SET before starting reconciler"
        ),
        (
            f"{path}: venues.tok.url: uses plain ws:// to a host that is not loopback; use "
            "wss://, or set insecure = true on the venue if you really mean an unencrypted "
            "connection"
        ),
        "2 problems; nothing was started",
    ]


def test_file_errors_are_reported_at_once_with_their_keys(tmp_path: Path) -> None:
    """Schema problems in several tables all come back, in words, with the fix."""
    text = GOOD.replace('level = "debug"', 'level = "verbose"').replace(
        "idle_timeout = 45", 'idle_timeout = "45s"'
    )
    ok, lines = _check(tmp_path, text)
    path = tmp_path / "reconciler.toml"
    assert not ok
    assert lines == [
        (
            f'{path}: logging.level: expected one of "debug", "info", "warning", "error", got '
            '"verbose"'
        ),
        (
            f"{path}: venues.tok.idle_timeout: expected a number, got a string that is not a "
            "number. Write a number, without quotes"
        ),
        "2 problems; nothing was started",
    ]


def test_one_problem_is_counted_in_the_singular(tmp_path: Path) -> None:
    """Invalid TOML is one problem, reported without a traceback."""
    ok, lines = _check(tmp_path, "[core\n")
    assert not ok
    assert len(lines) == 2
    assert lines[0].startswith(f"{tmp_path / 'reconciler.toml'}: not valid TOML: ")
    assert lines[1] == "1 problem; nothing was started"


def test_a_missing_file_is_one_problem(tmp_path: Path) -> None:
    """A path that does not exist says so."""
    ok, lines = check_config(tmp_path / "nope.toml", PLUGINS, ENV)
    assert (ok, lines) == (
        False,
        [f"{tmp_path / 'nope.toml'}: no such file", "1 problem; nothing was started"],
    )


def test_a_plugin_that_fails_on_one_account_is_located_and_scrubbed(tmp_path: Path) -> None:
    """A plugin's link() raising is a problem at that account; an error text quoting a
    secret has the secret replaced."""
    plugins = {**PLUGINS, "tok": LeakyPlugin("tok", ("token",), None)}
    ok, lines = _check(tmp_path, GOOD, plugins=plugins)
    assert not ok
    assert lines == [
        (
            f"{tmp_path / 'reconciler.toml'}: venues.tok.accounts.desk: the tok plugin cannot "
            "build this connection (ValueError: bad token ***). Check this account's url, "
            "credentials and options against the venue's page"
        ),
        "1 problem; nothing was started",
    ]


def test_an_idle_timeout_below_the_link_keep_alive_is_a_problem(tmp_path: Path) -> None:
    """Timers are checked once resolved: idle 8 s against the link's 10 s keep-alive."""
    ok, lines = _check(tmp_path, GOOD.replace("idle_timeout = 45", "idle_timeout = 8"))
    assert not ok
    assert lines[0].startswith(
        f"{tmp_path / 'reconciler.toml'}: venues.tok.idle_timeout: the idle timeout (8 s)"
    )
    assert lines[-1] == "1 problem; nothing was started"


def test_no_secret_appears_in_any_failure_line(tmp_path: Path) -> None:
    """With every kind of problem at once, no credential value is printed."""
    text = GOOD.replace("wss://tok", "ws://tok").replace('"KEYS_MAIN_KEY"', '"UNSET"', 1)
    text += '\n[venues.nope.accounts.x]\ncredentials = { token = "TOK_TOKEN" }\n'
    ok, lines = _check(tmp_path, text)
    assert not ok
    assert len(lines) == 4
    _no_secret_in(lines)


# -- main_check_config -----------------------------------------------------------------


def test_exit_zero_and_summary_on_stdout_when_ok(tmp_path: Path) -> None:
    """A good file: exit 0, the summary on out, nothing on err."""
    out, err = io.StringIO(), io.StringIO()
    status = main_check_config(
        str(_write(tmp_path, GOOD)), plugins=PLUGINS, environ=ENV, out=out, err=err
    )
    assert status == 0
    assert (
        out.getvalue().splitlines() == check_config(tmp_path / "reconciler.toml", PLUGINS, ENV)[1]
    )
    assert err.getvalue() == ""


def test_exit_two_and_problems_on_stderr_when_not(tmp_path: Path) -> None:
    """A bad file: exit 2, the problems on err, nothing on out, no traceback."""
    out, err = io.StringIO(), io.StringIO()
    status = main_check_config(
        str(_write(tmp_path, GOOD)), plugins=PLUGINS, environ={}, out=out, err=err
    )
    assert status == 2
    assert out.getvalue() == ""
    assert err.getvalue().endswith("\n5 problems; nothing was started\n")
    assert "Traceback" not in err.getvalue()


def test_the_environment_defaults_to_os_environ(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without environ, the process environment is read."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    out, err = io.StringIO(), io.StringIO()
    status = main_check_config(str(_write(tmp_path, GOOD)), plugins=PLUGINS, out=out, err=err)
    assert (status, err.getvalue()) == (0, "")


def test_a_plugin_that_fails_to_load_is_a_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without plugins, the installed ones are loaded; one failing to load is reported and
    the file is still checked against the others."""

    def fake_load_plugins(**kwargs: object) -> dict[str, VenuePlugin]:
        on_error = kwargs["on_error"]
        assert callable(on_error)
        on_error("broken", ImportError("no module named broken_venue"))
        return dict(PLUGINS)

    monkeypatch.setattr(check_module, "load_plugins", fake_load_plugins)
    out, err = io.StringIO(), io.StringIO()
    status = main_check_config(str(_write(tmp_path, GOOD)), environ=ENV, out=out, err=err)
    assert status == 2
    assert err.getvalue().splitlines() == [
        (
            "venue plugin 'broken' failed to load (ImportError: no module named broken_venue). "
            "Reinstall or remove the package that registers it"
        ),
        "1 problem; nothing was started",
    ]


# -- the example file ------------------------------------------------------------------


STAND_INS: dict[str, VenuePlugin] = {
    "tread": FakePlugin("tread", ("token",), None),
    "btse": FakePlugin("btse", ("api_key", "api_secret"), "wss://ws.btse.com/ws/futures"),
    "bybit": FakePlugin("bybit", ("api_key", "api_secret"), "wss://stream.bybit.com/realtime"),
    "clearstreet": FakePlugin("clearstreet", ("token",), "wss://api.clearstreet.io/studio/v2/ws"),
}


def _example_environ() -> dict[str, str]:
    """A value for every environment variable the example file names."""
    settings = load_settings(EXAMPLE)
    names = {
        var
        for venue in settings.venues.values()
        for account in venue.accounts.values()
        for var in account.credentials.values()
    }
    environ = {name: f"value-of-{name}" for name in names}
    # The sinks' variables: URLs must be URLs, the signing key long enough.
    environ["SLACK_WEBHOOK_URL"] = "https://hooks.slack.com/services/T000/B000/value-of-url"
    environ["OMS_WEBHOOK_URL"] = "https://oms.example.com/hooks/reconciler"
    environ["OMS_WEBHOOK_SECRET"] = "value-of-OMS_WEBHOOK_SECRET"
    return environ


def test_the_example_file_is_valid_against_the_documented_venues() -> None:
    """examples/reconciler.toml passes with stand-ins that have the credential names and
    default URLs docs/configuration.md lists, and connects all five accounts."""
    ok, lines = check_config(EXAMPLE, STAND_INS, _example_environ())
    assert ok, lines
    assert lines[0].endswith("OK. A live run would connect 5 accounts on 4 venues:")
    assert "  bybit/hedge" in lines
    assert "  bybit/main" in lines


def test_the_example_file_is_valid_with_its_variables_set() -> None:
    """examples/reconciler.toml passes every check with the real plugins once the
    environment variables it names are set."""
    plugins = load_plugins()
    settings = load_settings(EXAMPLE)
    environ = _example_environ()
    assert config_problems(settings, plugins, environ) == []
    plans = plan_connections(settings, plugins, environ)
    assert {p.venue for p in plans} == {"tread", "btse", "bybit", "clearstreet"}
    ok, lines = check_config(EXAMPLE, plugins, environ)
    assert ok, lines
    assert not any("value-of-" in line for line in lines)


def test_the_command_line_runs_the_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``reconciler check-config FILE`` prints the problems and exits 2."""
    from reconciler.cli import main  # noqa: PLC0415 - only this test needs the CLI

    status = main(["check-config", str(_write(tmp_path, "[logging]\nlevel = 'loud'\n"))])
    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""
    assert "logging.level: expected one of" in err
    assert err.endswith("1 problem; nothing was started\n")
