"""The live engine's configuration: typed settings, and the connection plan built from them.

:class:`Settings` is the whole TOML file (``[core]``, ``[connection]``, ``[logging]``,
``[venues.<venue>]`` with ``[venues.<venue>.accounts.<account>]``). Secrets are never in
it: each account names the *environment variables* that hold its credentials.
:func:`plan_connections` checks everything a live run needs (a plugin for every venue,
every credential present, safe URLs) and turns the settings into one
:class:`ConnectionPlan` per account, or raises :class:`~reconciler.config_file.ConfigError`
listing every problem with its location and the fix, so a bad configuration never
starts a half-working engine.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import msgspec

from reconciler._sink_settings import DeliveryConfig, SinkConfig, sink_problems
from reconciler.config import CoreConfig
from reconciler.link import LinkSettings, Secret
from reconciler.plugin import VenuePlugin

__all__ = [
    "AccountConfig",
    "ConnectionConfig",
    "ConnectionPlan",
    "DeliveryConfig",
    "JournalConfig",
    "LoggingConfig",
    "Settings",
    "SinkConfig",
    "Timers",
    "VenueConfig",
    "config_problems",
    "plan_connections",
]


class ConnectionConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How every connection behaves (the ``[connection]`` table). Times are seconds."""

    #: Give up a connection attempt (TCP, TLS and WebSocket handshake) after this long.
    connect_timeout: float = 10.0
    #: First reconnect delay; it doubles on each failed attempt, with full jitter.
    backoff_initial: float = 1.0
    #: The longest reconnect delay.
    backoff_max: float = 60.0
    #: A connection that stayed up this long resets the backoff to ``backoff_initial``.
    healthy_after: float = 60.0
    #: Wait after the venue refused the credentials (slow: never a hot login loop).
    auth_retry: float = 300.0
    #: FEED_STALE when an account has been reconnecting for longer than this.
    reconnect_alert_after: float = 120.0
    #: How long shutdown waits for connections to close cleanly.
    close_grace: float = 2.0

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "backoff_initial", "backoff_max", "auth_retry"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be more than 0")
        if self.backoff_max < self.backoff_initial:
            raise ValueError("backoff_max must be at least backoff_initial")
        for name in ("healthy_after", "reconnect_alert_after", "close_grace"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")


class AccountConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One account on a venue (``[venues.<venue>.accounts.<name>]``).

    ``credentials`` maps each credential the venue needs (``token``; ``api_key`` and
    ``api_secret``) to the name of the environment variable holding it.
    """

    credentials: dict[str, str] = msgspec.field(default_factory=dict)
    #: Overrides the venue's ``url`` for this account.
    url: str | None = None
    #: Venue-specific extras (Clear Street ``account_id`` when it differs from the name).
    options: dict[str, str] = msgspec.field(default_factory=dict)


class VenueConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One venue (``[venues.<venue>]``): its endpoint, timers and accounts."""

    #: The WebSocket URL; the plugin's production URL when omitted.
    url: str | None = None
    #: Allow a plain ``ws://`` URL to a host other than loopback (never in production).
    insecure: bool = False
    #: Seconds between keep-alives; the venue's documented timer when omitted.
    keep_alive_interval: float | None = None
    #: Seconds without a frame (or pong) before the feed counts as stalled.
    idle_timeout: float | None = None
    accounts: dict[str, AccountConfig] = msgspec.field(default_factory=dict)


class LoggingConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The ``[logging]`` table: ``format`` auto picks console output on a terminal and
    JSON lines otherwise."""

    format: Literal["auto", "json", "console"] = "auto"
    level: Literal["debug", "info", "warning", "error"] = "info"


class JournalConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The ``[journal]`` table: where and how durably everything is recorded.

    Without a ``path`` the engine journals to a temporary file that is deleted when it
    stops: alerts are still delivered through the outbox, but nothing survives a restart.
    """

    #: The SQLite journal file (created if missing); relative to the working directory.
    path: str | None = None
    #: SQLite ``synchronous``: NORMAL survives a process crash, FULL also a power loss.
    synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    #: Longest time (seconds) a received frame waits before its batch is committed.
    #: A batch that raised an alert is committed at once, before the alert is delivered.
    batch_window: float = 0.05
    #: Take a state snapshot after this many seconds ...
    snapshot_interval: float = 300.0
    #: ... or this many records, whichever comes first.
    snapshot_records: int = 100_000
    #: Prune frames older than this many days (never those after the newest snapshot);
    #: ``0`` keeps everything.
    retention_days: float = 0.0

    def __post_init__(self) -> None:
        if self.batch_window < 0:
            raise ValueError("batch_window must not be negative")
        if self.snapshot_interval <= 0 or self.snapshot_records <= 0:
            raise ValueError("snapshot_interval and snapshot_records must be more than 0")
        if self.retention_days < 0:
            raise ValueError("retention_days must not be negative (0 keeps everything)")


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The whole configuration file."""

    core: CoreConfig = msgspec.field(default_factory=CoreConfig)
    connection: ConnectionConfig = msgspec.field(default_factory=ConnectionConfig)
    logging: LoggingConfig = msgspec.field(default_factory=LoggingConfig)
    venues: dict[str, VenueConfig] = msgspec.field(default_factory=dict)
    journal: JournalConfig = msgspec.field(default_factory=JournalConfig)
    sinks: dict[str, SinkConfig] = msgspec.field(default_factory=dict)
    delivery: DeliveryConfig = msgspec.field(default_factory=DeliveryConfig)


class Timers(msgspec.Struct, frozen=True, kw_only=True):
    """The resolved timers of one connection (seconds)."""

    keep_alive_interval: float
    idle_timeout: float
    connect_timeout: float
    backoff_initial: float
    backoff_max: float
    healthy_after: float
    auth_retry: float
    reconnect_alert_after: float
    close_grace: float


class ConnectionPlan(msgspec.Struct, frozen=True, kw_only=True):
    """Everything needed to run one venue account's connection."""

    venue: str
    account: str
    link: LinkSettings
    timers: Timers
    insecure: bool = False


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url_problem(url: str, insecure: bool) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        return "must be a ws:// or wss:// URL with a host (e.g. wss://host/path)"
    if parts.scheme == "ws" and not insecure and not _is_loopback(parts.hostname):
        return (
            "uses plain ws:// to a host that is not loopback; use wss://, or set "
            "insecure = true on the venue if you really mean an unencrypted connection"
        )
    return None


def config_problems(
    settings: Settings,
    plugins: Mapping[str, VenuePlugin],
    environ: Mapping[str, str],
) -> list[str]:
    """Every reason ``settings`` cannot start a live engine, as ``location: problem. fix``."""
    problems: list[str] = []
    if not settings.venues:
        problems.append(
            "venues: no venue is configured. Add a [venues.<venue>.accounts.<name>] table "
            f"(venues available: {', '.join(sorted(plugins)) or 'none'})"
        )
    problems += _journal_problems(settings.journal)
    problems += sink_problems(settings.sinks, environ, venues=settings.venues)
    for venue, vcfg in sorted(settings.venues.items()):
        where = f"venues.{venue}"
        plugin = plugins.get(venue)
        if plugin is None:
            problems.append(
                f"{where}: no plugin provides venue {venue!r}. Use one of: "
                f"{', '.join(sorted(plugins)) or '(no plugins installed)'}"
            )
            continue
        if type(plugin).link is VenuePlugin.link:
            problems.append(
                f"{where}: the {venue} plugin can replay captures but has no live "
                "connection. Remove this venue from the live configuration"
            )
            continue
        if not vcfg.accounts:
            problems.append(
                f"{where}: no accounts. Add [{where}.accounts.<name>] with its credentials"
            )
        for name in ("keep_alive_interval", "idle_timeout"):
            value = getattr(vcfg, name)
            if value is not None and value <= 0:
                problems.append(f"{where}.{name}: must be more than 0 seconds")
        if (
            vcfg.keep_alive_interval is not None
            and vcfg.idle_timeout is not None
            and vcfg.idle_timeout <= vcfg.keep_alive_interval
        ):
            problems.append(
                f"{where}.idle_timeout: must be longer than keep_alive_interval, or every "
                "quiet moment would count as a stalled feed"
            )
        for account, acfg in sorted(vcfg.accounts.items()):
            problems += _account_problems(where, plugin, vcfg, account, acfg, environ)
    return problems


def _journal_problems(cfg: JournalConfig) -> list[str]:
    if cfg.path is None:
        return []
    path = Path(cfg.path)
    if path.is_dir():
        return [
            f"journal.path: {path} is a directory. Name a file in it, e.g. {path / 'desk.journal'}"
        ]
    parent = path.parent
    if not parent.is_dir():
        return [f"journal.path: the directory {parent} does not exist. Create it first"]
    if not os.access(parent, os.W_OK):
        return [f"journal.path: the directory {parent} is not writable by this user"]
    return []


def _account_problems(
    where: str,
    plugin: VenuePlugin,
    vcfg: VenueConfig,
    account: str,
    acfg: AccountConfig,
    environ: Mapping[str, str],
) -> list[str]:
    problems: list[str] = []
    here = f"{where}.accounts.{account}"
    url = acfg.url or vcfg.url or plugin.default_url
    if url is None:
        problems.append(f"{here}: no url. Set url on [{where}] (this venue has no default)")
    elif (why := _url_problem(url, vcfg.insecure)) is not None:
        problems.append(f"{here if acfg.url else where}.url: {why}")
    for cred in plugin.credential_names:
        var = acfg.credentials.get(cred)
        if var is None:
            problems.append(
                f'{here}.credentials: {cred!r} is missing. Add {cred} = "<ENV_VAR_NAME>" '
                "naming the environment variable that holds it"
            )
        elif not _ENV_NAME.fullmatch(var):
            # Never echo it: a value that is not a variable name may be the secret itself.
            problems.append(
                f"{here}.credentials.{cred}: is not an environment variable name (letters, "
                "digits and _, not starting with a digit). Name the variable that holds "
                f"the {cred}; the secret itself never goes in the file"
            )
        elif not environ.get(var):
            problems.append(
                f"{here}.credentials.{cred}: environment variable {var} is not set or "
                f"empty. Export {var} before starting reconciler"
            )
    needs = ", ".join(plugin.credential_names) or "none"
    problems.extend(
        f"{here}.credentials.{cred}: the {plugin.name} venue does not use a credential "
        f"called {cred!r} (it needs: {needs})"
        for cred in sorted(set(acfg.credentials) - set(plugin.credential_names))
    )
    return problems


def plan_connections(
    settings: Settings,
    plugins: Mapping[str, VenuePlugin],
    environ: Mapping[str, str],
) -> list[ConnectionPlan]:
    """One :class:`ConnectionPlan` per configured account.

    Raises :class:`~reconciler.config_file.ConfigError` listing every problem
    (see :func:`config_problems`).
    """
    from reconciler.config_file import ConfigError  # noqa: PLC0415 - avoids an import cycle

    problems = config_problems(settings, plugins, environ)
    if problems:
        raise ConfigError("\n".join(problems))
    plans: list[ConnectionPlan] = []
    late: list[str] = []  # problems only the resolved (link default) timers reveal
    conn = settings.connection
    for venue, vcfg in sorted(settings.venues.items()):
        plugin = plugins[venue]
        for account, acfg in sorted(vcfg.accounts.items()):
            url = acfg.url or vcfg.url or plugin.default_url or ""
            creds = {name: Secret(environ[var]) for name, var in acfg.credentials.items()}
            link = LinkSettings(
                venue=venue, account=account, url=url, credentials=creds, options=acfg.options
            )
            probe = plugin.link(link)
            timers = Timers(
                keep_alive_interval=vcfg.keep_alive_interval or probe.keep_alive_interval,
                idle_timeout=vcfg.idle_timeout or probe.idle_timeout,
                connect_timeout=conn.connect_timeout,
                backoff_initial=conn.backoff_initial,
                backoff_max=conn.backoff_max,
                healthy_after=conn.healthy_after,
                auth_retry=conn.auth_retry,
                reconnect_alert_after=conn.reconnect_alert_after,
                close_grace=conn.close_grace,
            )
            if timers.idle_timeout <= timers.keep_alive_interval:
                late.append(
                    f"venues.{venue}.idle_timeout: the idle timeout ({timers.idle_timeout:g} s) "
                    "must be longer than the keep-alive interval "
                    f"({timers.keep_alive_interval:g} s), or every quiet moment would count "
                    f"as a stalled feed. Set both on [venues.{venue}]"
                )
            plans.append(
                ConnectionPlan(
                    venue=venue, account=account, link=link, timers=timers, insecure=vcfg.insecure
                )
            )
    if late:
        raise ConfigError("\n".join(dict.fromkeys(late)))
    return plans
