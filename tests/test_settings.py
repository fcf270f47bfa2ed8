"""The live configuration: reading the file, every problem it can have, the connection plan.

The venue plugins here are small fakes (a token venue without a default URL, a key pair
venue with one, a replay-only venue), so these tests depend on the settings rules only,
not on the real plugins' live code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import msgspec
import pytest

from reconciler.config import CoreConfig
from reconciler.config_file import ConfigError, load_settings
from reconciler.events import Event
from reconciler.lifecycle import Status
from reconciler.link import LinkSettings, VenueLink
from reconciler.plugin import VenuePlugin, VenueProtocol
from reconciler.settings import (
    AccountConfig,
    ConnectionConfig,
    LoggingConfig,
    Settings,
    VenueConfig,
    config_problems,
    plan_connections,
)

SECRET = "s3cr3t-VALUE-never-shown"


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


class ReplayOnlyPlugin(VenuePlugin):
    """A plugin that parses captures but has no live connection."""

    name = "replayonly"
    status_table: Mapping[str, Status] = {}

    def protocol(self, account: str) -> VenueProtocol:
        return _Silent()


PLUGINS: dict[str, VenuePlugin] = {
    "tok": FakePlugin("tok", ("token",), None),
    "keys": FakePlugin("keys", ("api_key", "api_secret"), "wss://keys.example.com/ws"),
    "replayonly": ReplayOnlyPlugin(),
}
ENV = {"TOK_TOKEN": SECRET, "KEYS_KEY": "key-value-1234", "KEYS_SECRET": "secret-value-5678"}


def _keys_venue(**venue: object) -> VenueConfig:
    account = AccountConfig(credentials={"api_key": "KEYS_KEY", "api_secret": "KEYS_SECRET"})
    return VenueConfig(accounts={"main": account}, **venue)  # type: ignore[arg-type]


def _tok_venue(url: str = "wss://tok.example.com/ws", **venue: object) -> VenueConfig:
    account = AccountConfig(credentials={"token": "TOK_TOKEN"})
    return VenueConfig(url=url, accounts={"main": account}, **venue)  # type: ignore[arg-type]


def _problems(**venues: VenueConfig) -> list[str]:
    return config_problems(Settings(venues=venues), PLUGINS, ENV)


def _load(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "reconciler.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings(path)


def _load_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as exc:
        _load(tmp_path, text)
    return str(exc.value)


# -- reading the file ------------------------------------------------------------------


def test_an_empty_file_gives_the_documented_defaults(tmp_path: Path) -> None:
    """Every table is optional: an empty file is the defaults, no venues."""
    settings = _load(tmp_path, "")
    assert settings == Settings()
    assert settings.core == CoreConfig()
    assert settings.connection == ConnectionConfig(
        connect_timeout=10.0,
        backoff_initial=1.0,
        backoff_max=60.0,
        healthy_after=60.0,
        auth_retry=300.0,
        reconnect_alert_after=120.0,
        close_grace=2.0,
    )
    assert settings.logging == LoggingConfig(format="auto", level="info")
    assert settings.venues == {}


def test_a_venue_table_has_documented_defaults(tmp_path: Path) -> None:
    """A bare [venues.x.accounts.y] has no url override, TLS required, link timers."""
    settings = _load(tmp_path, '[venues.keys.accounts.main]\ncredentials = {api_key = "K"}\n')
    venue = settings.venues["keys"]
    assert (venue.url, venue.insecure, venue.keep_alive_interval, venue.idle_timeout) == (
        None,
        False,
        None,
        None,
    )
    assert venue.accounts["main"] == AccountConfig(credentials={"api_key": "K"})


@pytest.mark.parametrize(
    ("toml", "location", "message"),
    [
        ("connect_timeout = 0", "connection.connect_timeout", "must be more than 0"),
        ("backoff_initial = 0", "connection.backoff_initial", "must be more than 0"),
        ("backoff_max = -1", "connection.backoff_max", "must be more than 0"),
        ("auth_retry = 0", "connection.auth_retry", "must be more than 0"),
        (
            "backoff_initial = 5\nbackoff_max = 4",
            "connection.backoff_max",
            "must be at least backoff_initial",
        ),
        ("healthy_after = -1", "connection.healthy_after", "must not be negative"),
        (
            "reconnect_alert_after = -0.5",
            "connection.reconnect_alert_after",
            "must not be negative",
        ),
        ("close_grace = -1", "connection.close_grace", "must not be negative"),
    ],
)
def test_connection_range_checks_name_the_key(
    tmp_path: Path, toml: str, location: str, message: str
) -> None:
    """Each [connection] range check is reported at its own key with the rule to follow."""
    error = _load_error(tmp_path, f"[connection]\n{toml}\n")
    assert error == f"{tmp_path / 'reconciler.toml'}: {location}: {message}"


def test_connection_zero_is_allowed_where_documented(tmp_path: Path) -> None:
    """healthy_after, reconnect_alert_after and close_grace may be 0 (no wait)."""
    text = "[connection]\nhealthy_after = 0\nreconnect_alert_after = 0\nclose_grace = 0\n"
    conn = _load(tmp_path, text).connection
    assert (conn.healthy_after, conn.reconnect_alert_after, conn.close_grace) == (0, 0, 0)


@pytest.mark.parametrize(
    ("toml", "location", "allowed"),
    [
        ("[storage]\npath = 'x'", "storage: unknown table", "[core], [connection], [logging]"),
        ("[core]\nsettle = 1", "core.settle: unknown key", "settle_window, ack_timeout"),
        ("[connection]\ntimeout = 1", "connection.timeout: unknown key", "connect_timeout"),
        ("[logging]\nlvl = 'info'", "logging.lvl: unknown key", "format, level"),
        ("[venues.keys]\nping = 1", "venues.keys.ping: unknown key", "url, insecure"),
        (
            "[venues.keys.accounts.main]\ntoken = 'X'",
            "venues.keys.accounts.main.token: unknown key",
            "credentials, url, options",
        ),
    ],
)
def test_unknown_keys_are_refused_at_every_level(
    tmp_path: Path, toml: str, location: str, allowed: str
) -> None:
    """An unknown key names its full key path and lists the keys that table allows."""
    error = _load_error(tmp_path, toml + "\n")
    assert f"reconciler.toml: {location}" in error
    assert allowed in error


def test_an_unknown_key_close_to_a_real_one_gets_a_suggestion(tmp_path: Path) -> None:
    """A typo is answered with the key that was probably meant."""
    error = _load_error(tmp_path, "[venues.keys]\nidle_timout = 30\n")
    assert "venues.keys.idle_timout: unknown key" in error
    assert "Did you mean 'idle_timeout'?" in error


def test_a_wrong_type_names_the_venue_and_says_what_was_expected(tmp_path: Path) -> None:
    """msgspec's '$.venues[...].idle_timeout' becomes the real key path, in words."""
    error = _load_error(tmp_path, '[venues.keys]\nidle_timeout = "soon"\n')
    assert error.startswith(f"{tmp_path / 'reconciler.toml'}: venues.keys.idle_timeout: ")
    assert "expected a number, got a string" in error
    assert "without quotes" in error
    assert "$" not in error


def test_a_wrong_choice_lists_the_allowed_values(tmp_path: Path) -> None:
    """A [logging] format outside auto/json/console lists the choices and the likely one."""
    error = _load_error(tmp_path, '[logging]\nformat = "JSON"\n')
    assert 'logging.format: expected one of "auto", "json", "console", got "JSON"' in error
    assert 'Did you mean "json"?' in error


def test_nan_is_refused_with_its_location(tmp_path: Path) -> None:
    """NaN passes every comparison silently, so the loader refuses it outright."""
    error = _load_error(tmp_path, "[connection]\nconnect_timeout = nan\n")
    assert "connection.connect_timeout: expected a number, got NaN" in error


def test_a_decimal_nan_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    """A "NaN" tolerance used to raise decimal.InvalidOperation out of the loader."""
    error = _load_error(tmp_path, '[core]\nnotional_tolerance = "NaN"\n')
    assert "core.notional_tolerance: expected a number, got NaN" in error


def test_every_problem_in_the_file_is_reported_at_once(tmp_path: Path) -> None:
    """Problems in different tables all come back, one per line, in file order."""
    text = (
        '[logging]\nlevel = "loud"\n'
        "[connection]\nconnect_timeout = 0\n"
        "[venues.keys]\nidle_timeout = true\nbogus = 1\n"
        "[venues.keys.accounts.main]\ncredentials = { api_key = 12345 }\n"
    )
    lines = _load_error(tmp_path, text).splitlines()
    where = [line.split(": ")[1] for line in lines]
    assert where == [
        "logging.level",
        "connection.connect_timeout",
        "venues.keys.idle_timeout",
        "venues.keys.bogus",
        "venues.keys.accounts.main.credentials.api_key",
    ]


def test_a_non_string_credential_is_not_echoed(tmp_path: Path) -> None:
    """A number where an environment variable name belongs may be a pasted secret."""
    error = _load_error(
        tmp_path, "[venues.keys.accounts.main]\ncredentials = { api_key = 987654321 }\n"
    )
    assert "987654321" not in error
    assert "name of the environment variable" in error


# -- checking against plugins and the environment --------------------------------------


def test_a_valid_configuration_has_no_problems() -> None:
    """Two venues, credentials all set: nothing to report."""
    assert _problems(keys=_keys_venue(), tok=_tok_venue()) == []


def test_no_venue_is_a_problem_for_a_live_run() -> None:
    """A live run with nothing to connect to is refused, listing the venues available."""
    assert _problems() == [
        (
            "venues: no venue is configured. Add a [venues.<venue>.accounts.<name>] table "
            "(venues available: keys, replayonly, tok)"
        )
    ]


def test_an_unknown_venue_lists_the_installed_ones() -> None:
    """A venue no plugin provides is named, with the venues that exist."""
    assert _problems(nope=_keys_venue()) == [
        "venues.nope: no plugin provides venue 'nope'. Use one of: keys, replayonly, tok"
    ]


def test_a_replay_only_plugin_is_refused_for_live_use() -> None:
    """A plugin without link() cannot be configured for a live connection."""
    [problem] = _problems(replayonly=_keys_venue())
    assert problem.startswith("venues.replayonly: the replayonly plugin can replay captures")


def test_a_venue_without_accounts_is_a_problem() -> None:
    """[venues.x] alone connects nothing: the fix names the accounts table."""
    assert _problems(keys=VenueConfig()) == [
        "venues.keys: no accounts. Add [venues.keys.accounts.<name>] with its credentials"
    ]


def test_a_missing_credential_is_named() -> None:
    """A credential the venue needs but the account does not name is reported with the fix."""
    venue = VenueConfig(accounts={"main": AccountConfig(credentials={"api_key": "KEYS_KEY"})})
    assert _problems(keys=venue) == [
        (
            "venues.keys.accounts.main.credentials: 'api_secret' is missing. Add "
            'api_secret = "<ENV_VAR_NAME>" naming the environment variable that holds it'
        )
    ]


@pytest.mark.parametrize("environ", [{}, {"TOK_TOKEN": ""}], ids=["unset", "empty"])
def test_an_unset_or_empty_environment_variable_is_named(environ: dict[str, str]) -> None:
    """The variable's name (never a value) and the fix: export it."""
    problems = config_problems(Settings(venues={"tok": _tok_venue()}), PLUGINS, environ)
    assert problems == [
        (
            "venues.tok.accounts.main.credentials.token: environment variable TOK_TOKEN is not "
            "set or empty. Export TOK_TOKEN before starting reconciler"
        )
    ]


def test_a_credential_the_venue_does_not_use_is_refused() -> None:
    """An extra credential is a mistake (a typo, or the wrong venue), listed with the real ones."""
    account = AccountConfig(credentials={"token": "TOK_TOKEN", "api_key": "KEYS_KEY"})
    venue = VenueConfig(url="wss://tok.example.com/", accounts={"main": account})
    assert _problems(tok=venue) == [
        (
            "venues.tok.accounts.main.credentials.api_key: the tok venue does not use a "
            "credential called 'api_key' (it needs: token)"
        )
    ]


def test_a_credential_that_is_not_a_variable_name_is_not_echoed() -> None:
    """A value like a pasted token is refused without repeating it."""
    pasted = "eyJhbGciOi.JIUzI1NiJ9.abc-def"
    account = AccountConfig(credentials={"token": pasted})
    venue = VenueConfig(url="wss://tok.example.com/", accounts={"main": account})
    [problem] = _problems(tok=venue)
    assert problem.startswith("venues.tok.accounts.main.credentials.token: is not an environment")
    assert pasted not in problem


def test_plain_ws_to_a_remote_host_is_refused() -> None:
    """ws:// to anything but loopback would send credentials unencrypted."""
    [problem] = _problems(tok=_tok_venue("ws://tok.example.com/ws"))
    assert problem.startswith("venues.tok.url: uses plain ws:// to a host that is not loopback")
    assert "insecure = true" in problem


def test_plain_ws_to_a_remote_host_is_allowed_with_insecure() -> None:
    """insecure = true on the venue is the explicit opt-in for an unencrypted test server."""
    assert _problems(tok=_tok_venue("ws://10.0.0.5:8080/ws", insecure=True)) == []


@pytest.mark.parametrize(
    "url", ["ws://127.0.0.1:9000/ws", "ws://localhost:9000/", "ws://[::1]/ws", "ws://127.0.0.2/"]
)
def test_plain_ws_to_loopback_is_allowed(url: str) -> None:
    """A local simulator on loopback needs no TLS and no insecure flag."""
    assert _problems(tok=_tok_venue(url)) == []


@pytest.mark.parametrize("url", ["wss:///ws", "https://tok.example.com/ws", "tok.example.com"])
def test_a_url_without_a_websocket_scheme_and_host_is_refused(url: str) -> None:
    """Only ws:// or wss:// URLs with a host can be connected to."""
    [problem] = _problems(tok=_tok_venue(url))
    assert problem == (
        "venues.tok.url: must be a ws:// or wss:// URL with a host (e.g. wss://host/path)"
    )


def test_a_venue_without_a_default_url_needs_one() -> None:
    """The token venue has no production URL: the configuration must give one."""
    venue = VenueConfig(accounts={"main": AccountConfig(credentials={"token": "TOK_TOKEN"})})
    assert _problems(tok=venue) == [
        "venues.tok.accounts.main: no url. Set url on [venues.tok] (this venue has no default)"
    ]


@pytest.mark.parametrize(("keep_alive", "idle"), [(20.0, 20.0), (20.0, 10.0)])
def test_idle_timeout_must_be_longer_than_the_keep_alive(keep_alive: float, idle: float) -> None:
    """An idle timeout at or below the keep-alive would call every quiet moment a stall."""
    [problem] = _problems(keys=_keys_venue(keep_alive_interval=keep_alive, idle_timeout=idle))
    assert problem.startswith("venues.keys.idle_timeout: must be longer than keep_alive_interval")


@pytest.mark.parametrize("name", ["keep_alive_interval", "idle_timeout"])
def test_venue_timers_must_be_positive(name: str) -> None:
    """A zero or negative venue timer is refused at its key."""
    assert f"venues.keys.{name}: must be more than 0 seconds" in _problems(
        keys=_keys_venue(**{name: 0.0})
    )


def test_a_per_account_url_override_is_checked_at_the_account() -> None:
    """An account's own url is validated, and the problem points at the account."""
    bad = AccountConfig(credentials={"token": "TOK_TOKEN"}, url="ws://elsewhere.example.com/")
    venue = VenueConfig(url="wss://tok.example.com/ws", accounts={"main": bad})
    [problem] = _problems(tok=venue)
    assert problem.startswith("venues.tok.accounts.main.url: uses plain ws://")


def test_config_problems_reports_every_problem_not_just_the_first() -> None:
    """Several venues and accounts with different problems: all of them, in order."""
    broken = AccountConfig(credentials={"api_key": "UNSET_KEY"})
    problems = config_problems(
        Settings(
            venues={
                "keys": VenueConfig(idle_timeout=-1.0, accounts={"a": broken, "b": broken}),
                "nope": VenueConfig(),
                "tok": _tok_venue("ws://remote.example.com/"),
            }
        ),
        PLUGINS,
        ENV,
    )
    assert [p.split(":")[0] for p in problems] == [
        "venues.keys.idle_timeout",
        "venues.keys.accounts.a.credentials.api_key",
        "venues.keys.accounts.a.credentials",
        "venues.keys.accounts.b.credentials.api_key",
        "venues.keys.accounts.b.credentials",
        "venues.nope",
        "venues.tok.url",
    ]


# -- the connection plan ---------------------------------------------------------------


def test_plan_uses_the_link_timers_when_the_venue_sets_none() -> None:
    """Without overrides, keep-alive and idle come from the venue's link; the rest from
    [connection]."""
    settings = Settings(
        connection=ConnectionConfig(connect_timeout=3.0, backoff_max=30.0),
        venues={"keys": _keys_venue()},
    )
    [plan] = plan_connections(settings, PLUGINS, ENV)
    assert (plan.timers.keep_alive_interval, plan.timers.idle_timeout) == (10.0, 30.0)
    assert (plan.timers.connect_timeout, plan.timers.backoff_max) == (3.0, 30.0)
    assert (plan.timers.auth_retry, plan.timers.close_grace) == (300.0, 2.0)


def test_plan_uses_the_venue_timers_when_set() -> None:
    """keep_alive_interval and idle_timeout on the venue replace the link's."""
    settings = Settings(venues={"keys": _keys_venue(keep_alive_interval=4.0, idle_timeout=12.5)})
    [plan] = plan_connections(settings, PLUGINS, ENV)
    assert (plan.timers.keep_alive_interval, plan.timers.idle_timeout) == (4.0, 12.5)


def test_plan_refuses_an_idle_timeout_below_the_link_keep_alive() -> None:
    """Only idle_timeout set, below the link's 10 s keep-alive: caught once resolved."""
    settings = Settings(venues={"keys": _keys_venue(idle_timeout=8.0)})
    with pytest.raises(ConfigError) as exc:
        plan_connections(settings, PLUGINS, ENV)
    assert str(exc.value).startswith(
        "venues.keys.idle_timeout: the idle timeout (8 s) must be longer than the "
        "keep-alive interval (10 s)"
    )


def test_plan_resolves_urls_account_then_venue_then_default() -> None:
    """An account url beats the venue url, which beats the plugin's default."""
    accounts = {
        "own": AccountConfig(
            credentials={"api_key": "KEYS_KEY", "api_secret": "KEYS_SECRET"},
            url="wss://own.example.com/ws",
        ),
        "plain": AccountConfig(credentials={"api_key": "KEYS_KEY", "api_secret": "KEYS_SECRET"}),
    }
    plans = plan_connections(
        Settings(venues={"keys": VenueConfig(accounts=accounts)}), PLUGINS, ENV
    )
    assert {p.account: p.link.url for p in plans} == {
        "own": "wss://own.example.com/ws",
        "plain": "wss://keys.example.com/ws",
    }
    with_venue_url = VenueConfig(url="wss://venue.example.com/", accounts=accounts)
    plans = plan_connections(Settings(venues={"keys": with_venue_url}), PLUGINS, ENV)
    assert {p.account: p.link.url for p in plans} == {
        "own": "wss://own.example.com/ws",
        "plain": "wss://venue.example.com/",
    }


def test_plan_carries_credentials_options_and_insecure() -> None:
    """The link gets the secrets read from the environment, the options, the insecure flag."""
    account = AccountConfig(credentials={"token": "TOK_TOKEN"}, options={"account_id": "A1"})
    venue = VenueConfig(url="ws://10.1.1.1/", insecure=True, accounts={"desk": account})
    [plan] = plan_connections(Settings(venues={"tok": venue}), PLUGINS, ENV)
    assert (plan.venue, plan.account, plan.insecure) == ("tok", "desk", True)
    assert plan.link.secret("token").reveal() == SECRET
    assert plan.link.options == {"account_id": "A1"}


def test_a_secret_never_shows_in_a_plan_or_its_errors() -> None:
    """repr of a plan and the text of a ConfigError never contain a credential's value."""
    [plan] = plan_connections(Settings(venues={"tok": _tok_venue()}), PLUGINS, ENV)
    assert SECRET not in repr(plan)
    assert SECRET not in str(plan.link)
    bad = Settings(venues={"tok": _tok_venue("ws://remote.example.com/"), "keys": _keys_venue()})
    with pytest.raises(ConfigError) as exc:
        plan_connections(bad, PLUGINS, {**ENV, "KEYS_KEY": ""})
    text = f"{exc.value}\n{exc.value!r}"
    assert "venues.tok.url" in text
    assert "venues.keys.accounts.main.credentials.api_key" in text
    for value in ENV.values():
        assert value not in text


# -- the documentation -----------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "table", [ConnectionConfig, LoggingConfig, VenueConfig, AccountConfig], ids=lambda t: t.__name__
)
def test_configuration_page_documents_every_live_setting(table: type[msgspec.Struct]) -> None:
    """docs/configuration.md names every key of the live tables."""
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    for field in msgspec.structs.fields(table):
        assert f"| `{field.name}` |" in text, field.name


def test_example_file_shows_connection_and_logging_at_their_defaults() -> None:
    """examples/reconciler.toml spells out every [connection] and [logging] key, at its
    default, and configures all four venues with two accounts on one of them."""
    path = ROOT / "examples" / "reconciler.toml"
    settings = load_settings(path)
    assert (settings.connection, settings.logging) == (ConnectionConfig(), LoggingConfig())
    text = path.read_text(encoding="utf-8")
    for table in (ConnectionConfig, LoggingConfig):
        for field in msgspec.structs.fields(table):
            assert f"\n{field.name} = " in text, field.name
    assert sorted(settings.venues) == ["btse", "bybit", "clearstreet", "tread"]
    assert sorted(settings.venues["bybit"].accounts) == ["hedge", "main"]
