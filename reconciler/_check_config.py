"""``reconciler check-config FILE``: say what a live run would do, or every reason it cannot.

The check goes as far as a live start goes without opening a socket: it reads the file
(:func:`~reconciler.config_file.load_settings`), checks it against the installed venue
plugins and the environment (:func:`~reconciler.settings.config_problems`), and builds
every connection plan (:func:`~reconciler.settings.plan_connections`, which asks each
plugin for its link and so resolves the keep-alive and idle timers).

What it prints never contains a secret: credentials appear as the names of their
environment variables, URLs are redacted (no query string, no user info), and as a
last guard every line is scrubbed of the configured credentials' values, in case a
plugin's error message quoted one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

import msgspec

from reconciler.config_file import ConfigError, load_settings
from reconciler.link import redact_url
from reconciler.plugin import VenuePlugin, load_plugins
from reconciler.settings import ConnectionPlan, Settings, config_problems, plan_connections

__all__ = ["EXIT_OK", "EXIT_PROBLEMS", "check_config", "main_check_config"]

EXIT_OK = 0
EXIT_PROBLEMS = 2

# Shorter values are left alone: replacing every "ab" in the output would garble it
# without protecting anything a guess could not find.
_MIN_SCRUB = 4


def check_config(
    path: str | Path,
    plugins: Mapping[str, VenuePlugin],
    environ: Mapping[str, str],
) -> tuple[bool, list[str]]:
    """Check the configuration file ``path``: ``(ok, lines to print)``.

    On success the lines summarise the run (accounts, redacted URLs, the environment
    variables read, timers, strict accounts, logging); otherwise they are one line per
    problem, ``<file>: <key path>: <what is wrong>. <fix>``, then ``N problems; nothing
    was started``. Never raises for a bad file, never prints a secret value.
    """
    return _check(path, plugins, environ, [])


def main_check_config(
    path: str,
    *,
    plugins: Mapping[str, VenuePlugin] | None = None,
    environ: Mapping[str, str] | None = None,
    out: TextIO,
    err: TextIO,
) -> int:
    """Run the check and print it: the summary to ``out`` (exit 0), or the problems to
    ``err`` (exit 2). ``plugins`` default to the installed ones, ``environ`` to
    ``os.environ``."""
    extra: list[str] = []
    if plugins is None:
        # A plugin that fails to load is one more problem, not a traceback; the check
        # goes on with the others so every problem is reported at once.
        plugins = load_plugins(
            on_error=lambda name, exc: extra.append(
                f"venue plugin {name!r} failed to load ("
                + " ".join(f"{type(exc).__name__}: {exc}".split())
                + "). Reinstall or remove the package that registers it"
            )
        )
    ok, lines = _check(path, plugins, os.environ if environ is None else environ, extra)
    (out if ok else err).writelines(f"{line}\n" for line in lines)
    return EXIT_OK if ok else EXIT_PROBLEMS


def _check(
    path: str | Path,
    plugins: Mapping[str, VenuePlugin],
    environ: Mapping[str, str],
    extra: list[str],
) -> tuple[bool, list[str]]:
    name = str(path)
    try:
        settings = load_settings(path)
    except ConfigError as exc:
        # load_settings never sees the environment, so there is nothing to scrub here.
        return False, _failure([*extra, *str(exc).splitlines()])
    secrets = _secret_values(settings, environ)
    problems = [*extra, *(f"{name}: {p}" for p in config_problems(settings, plugins, environ))]
    plans: list[ConnectionPlan] = []
    if not problems:
        plans, problems = _plan_each(name, settings, plugins, environ)
    if problems:
        return False, [_scrub(line, secrets) for line in _failure(problems)]
    return True, [_scrub(line, secrets) for line in _summary(name, settings, plans)]


def _plan_each(
    name: str,
    settings: Settings,
    plugins: Mapping[str, VenuePlugin],
    environ: Mapping[str, str],
) -> tuple[list[ConnectionPlan], list[str]]:
    """Plan every account on its own, so that one plugin refusing one account is
    reported at that account and the others are still checked."""
    plans: list[ConnectionPlan] = []
    problems: dict[str, None] = {}  # ordered, and a venue-wide problem is listed once
    for venue, vcfg in sorted(settings.venues.items()):
        for account, acfg in sorted(vcfg.accounts.items()):
            # Sinks were checked against every venue already; one venue alone would make
            # their venue filters look wrong.
            one = msgspec.structs.replace(
                settings,
                venues={venue: msgspec.structs.replace(vcfg, accounts={account: acfg})},
                sinks={},
            )
            try:
                plans += plan_connections(one, plugins, environ)
            except ConfigError as exc:
                problems.update(dict.fromkeys(f"{name}: {p}" for p in str(exc).splitlines()))
            except Exception as exc:  # noqa: BLE001 - a plugin bug must be a located problem
                why = " ".join(f"{type(exc).__name__}: {exc}".split())  # one line per problem
                problems[
                    f"{name}: venues.{venue}.accounts.{account}: the {venue} plugin cannot "
                    f"build this connection ({why}). Check this "
                    "account's url, credentials and options against the venue's page"
                ] = None
    return plans, list(problems)


def _failure(problems: list[str]) -> list[str]:
    count = len(problems)
    return [*problems, f"{count} problem{'s' if count != 1 else ''}; nothing was started"]


def _summary(name: str, settings: Settings, plans: list[ConnectionPlan]) -> list[str]:
    venues = {plan.venue for plan in plans}
    accounts, n_venues = _count(len(plans), "account"), _count(len(venues), "venue")
    lines = [f"{name}: OK. A live run would connect {accounts} on {n_venues}:"]
    core = settings.core
    for plan in plans:
        vcfg = settings.venues[plan.venue]
        acfg = vcfg.accounts[plan.account]
        lines.append(f"  {plan.venue}/{plan.account}")
        lines.append(f"    url          {_describe_url(plan, vcfg.url, acfg.url)}")
        creds = ", ".join(f"{cred} from ${var}" for cred, var in sorted(acfg.credentials.items()))
        lines.append(f"    credentials  {creds or 'none'} (environment; values not shown)")
        ka = "configured" if vcfg.keep_alive_interval is not None else "venue default"
        idle = "configured" if vcfg.idle_timeout is not None else "venue default"
        lines.append(
            f"    timers       keep-alive every {plan.timers.keep_alive_interval:g} s ({ka}), "
            f"stalled after {plan.timers.idle_timeout:g} s without a frame ({idle})"
        )
        strict = core.is_strict(plan.venue, plan.account)
        lines.append(
            "    strict       " + ("yes: every order must have been registered" if strict else "no")
        )
        if plan.insecure:
            lines.append(f"    warning      {_insecure_note(plan.link.url)}")
    conn = settings.connection
    lines.append(
        f"connection: connect_timeout {conn.connect_timeout:g} s, backoff_initial "
        f"{conn.backoff_initial:g} s, backoff_max {conn.backoff_max:g} s, healthy_after "
        f"{conn.healthy_after:g} s, auth_retry {conn.auth_retry:g} s, reconnect_alert_after "
        f"{conn.reconnect_alert_after:g} s, close_grace {conn.close_grace:g} s"
    )
    log = settings.logging
    shown = {"auto": "auto (console on a terminal, JSON lines otherwise)"}.get(
        log.format, log.format
    )
    lines.append(f"logging: format {shown}, level {log.level}")
    jcfg = settings.journal
    if jcfg.path is None:
        lines.append("journal: none configured (a temporary journal; nothing survives a restart)")
    else:
        keep = f"{jcfg.retention_days:g} days" if jcfg.retention_days else "everything"
        lines.append(
            f"journal: {jcfg.path} (synchronous {jcfg.synchronous}, batch window "
            f"{jcfg.batch_window:g} s, snapshot every {jcfg.snapshot_interval:g} s or "
            f"{jcfg.snapshot_records} records, keeps {keep})"
        )
    if not settings.sinks:
        lines.append("sinks: none configured (every alert goes to the log)")
    for sink_name, sink in sorted(settings.sinks.items()):
        filters = [f"severity >= {sink.min_severity}"]
        if sink.venues:
            filters.append("venues " + ", ".join(sink.venues))
        if sink.codes:
            filters.append("codes " + ", ".join(sink.codes))
        where = {"jsonl": f" to {sink.path}", "slack": f" to ${sink.url_env}"}.get(sink.type, "")
        if sink.type == "webhook":
            where = f" to ${sink.url_env}, signed with ${sink.secret_env}"
        lines.append(f"sink {sink_name}: {sink.type}{where} ({'; '.join(filters)})")
    lines.append(f"strict accounts: {', '.join(core.strict_accounts) or 'none'}")
    configured = {(plan.venue, plan.account) for plan in plans}
    lines.extend(
        f"warning: core.strict_accounts entry {entry!r} matches no configured account"
        for entry in core.strict_accounts
        if not any(_matches(entry, v, a) for v, a in configured)
    )
    return lines


def _describe_url(plan: ConnectionPlan, venue_url: str | None, account_url: str | None) -> str:
    source = "account url" if account_url else "venue url" if venue_url else f"{plan.venue} default"
    url = plan.link.url
    parts = urlsplit(url)
    hidden = "; query string not shown" if parts.query else ""
    return f"{redact_url(url)} ({source}{hidden})"


def _insecure_note(url: str) -> str:
    if urlsplit(url).scheme == "ws":
        return "insecure = true: plain ws:// without TLS; never use this in production"
    return "insecure = true has no effect on a wss:// URL: TLS is always verified"


def _matches(entry: str, venue: str, account: str) -> bool:
    return entry in (f"{venue}:{account}", f"{venue}:*")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def _secret_values(settings: Settings, environ: Mapping[str, str]) -> list[str]:
    """The values of every environment variable a credential or sink names (to scrub)."""
    names = {
        var
        for vcfg in settings.venues.values()
        for acfg in vcfg.accounts.values()
        for var in acfg.credentials.values()
    }
    for sink in settings.sinks.values():
        names.update(v for v in (sink.url_env, sink.secret_env) if v)
        names.update(sink.headers_env.values())
    values = {environ.get(var, "") for var in names}
    # Longest first, so a secret that contains another is replaced whole.
    return sorted((v for v in values if len(v) >= _MIN_SCRUB), key=len, reverse=True)


def _scrub(line: str, secrets: list[str]) -> str:
    for secret in secrets:
        line = line.replace(secret, "***")
    return line
