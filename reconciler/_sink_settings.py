"""The ``[sinks.<name>]`` and ``[delivery]`` tables: where alerts are delivered, and how.

Like venue credentials, a sink's secrets are never in the file: a Slack incoming-webhook
URL carries its token, so ``url_env`` names the environment variable holding the URL;
a webhook's signing key is named by ``secret_env``; header values that are secrets come
from ``headers_env``. :func:`sink_problems` checks a configuration against the
environment and says what is wrong and how to fix it, one line per problem, without
ever printing a secret's value.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Final, Literal
from urllib.parse import urlsplit

import msgspec

from reconciler.alerts import AlertCode

__all__ = ["RESERVED_HEADERS", "DeliveryConfig", "SinkConfig", "sink_problems"]

SinkType = Literal["log", "jsonl", "slack", "webhook"]

#: Headers reconciler sets itself on a webhook request; configuration cannot override them.
RESERVED_HEADERS: Final = frozenset(
    {
        "content-type",
        "content-length",
        "host",
        "idempotency-key",
        "user-agent",
        "x-reconciler-timestamp",
        "x-reconciler-signature",
        "x-reconciler-event",
        "x-reconciler-attempt",
    }
)
# A header whose name says it carries a credential belongs in headers_env.
_SECRET_HEADER = re.compile(r"authorization|token|secret|api[-_]?key|password", re.IGNORECASE)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
#: An HMAC key shorter than this is too easy to guess.
MIN_SECRET_LENGTH: Final = 16


class SinkConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One alert sink (``[sinks.<name>]``); see ``docs/alert-delivery.md``."""

    #: ``log`` (structlog), ``jsonl`` (a file), ``slack`` (incoming webhook) or ``webhook``.
    type: SinkType
    #: Alerts below this severity are not sent to this sink.
    min_severity: Literal["info", "warning", "critical"] = "info"
    #: Only alerts of these venues (all when empty).
    venues: list[str] = msgspec.field(default_factory=list)
    #: Only alerts with these codes (all when empty).
    codes: list[str] = msgspec.field(default_factory=list)
    #: ``jsonl``: the file alerts are appended to.
    path: str | None = None
    #: ``slack``, ``webhook``: the environment variable holding the URL.
    url_env: str | None = None
    #: ``webhook``: the environment variable holding the HMAC-SHA256 signing key.
    secret_env: str | None = None
    #: ``webhook``: extra request headers (not secrets: those go in ``headers_env``).
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    #: ``webhook``: extra request headers whose values are read from environment variables.
    headers_env: dict[str, str] = msgspec.field(default_factory=dict)
    #: ``slack``, ``webhook``: allow plain ``http://`` to a host that is not loopback.
    insecure: bool = False
    #: Seconds one delivery attempt may take in all (connect, send, answer).
    timeout: float = 10.0
    #: Attempts before an alert becomes a dead letter.
    max_attempts: int = 10
    #: Storm control (folding, digests); on for ``slack`` and ``webhook`` unless set.
    storm_control: bool | None = None

    def __post_init__(self) -> None:
        if not self.timeout > 0:
            raise ValueError("timeout must be more than 0 seconds")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    @property
    def storm(self) -> bool:
        """Whether storm control applies to this sink."""
        if self.storm_control is not None:
            return self.storm_control
        return self.type in ("slack", "webhook")


class DeliveryConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Storm control and retry timing shared by every sink (``[delivery]``). Seconds."""

    #: Repeats of one code on one order within this window are folded (0: never fold).
    fold_window: float = 60.0
    #: Alerts per minute above which a sink switches to digests (0: never).
    digest_threshold: int = 30
    #: Seconds between digests in digest mode.
    digest_interval: float = 60.0
    #: The first retry delay; it doubles per failed attempt, with full jitter.
    backoff_initial: float = 1.0
    #: The longest retry delay.
    backoff_max: float = 300.0

    def __post_init__(self) -> None:
        if self.fold_window < 0:
            raise ValueError("fold_window must not be negative (0 turns folding off)")
        if self.digest_threshold < 0:
            raise ValueError("digest_threshold must not be negative (0 turns digests off)")
        if not self.digest_interval > 0:
            raise ValueError("digest_interval must be more than 0 seconds")
        if not self.backoff_initial > 0:
            raise ValueError("backoff_initial must be more than 0 seconds")
        if not self.backoff_max >= self.backoff_initial:
            raise ValueError("backoff_max must be at least backoff_initial")


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_problem(url: str, insecure: bool) -> str | None:
    """What is wrong with a sink URL, never quoting it (a Slack URL holds a token)."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "is not an http:// or https:// URL with a host"
    if parts.scheme == "http" and not insecure and not _is_loopback(parts.hostname):
        return (
            "is plain http:// to a host that is not loopback. Use https://, or set "
            "insecure = true on the sink if you really mean an unencrypted connection"
        )
    return None


def _env_problem(where: str, what: str, var: str, environ: Mapping[str, str]) -> str | None:
    if not _ENV_NAME.fullmatch(var):
        # Never echo it: a value that is not a variable name may be the secret itself.
        return (
            f"{where}: is not an environment variable name (letters, digits and _, not "
            f"starting with a digit). Name the variable that holds the {what}; the value "
            "itself never goes in the file"
        )
    if not environ.get(var):
        return f"{where}: environment variable {var} is not set or empty. Export {var}"
    return None


def sink_problems(
    sinks: Mapping[str, SinkConfig],
    environ: Mapping[str, str],
    *,
    venues: Collection[str] | None = None,
) -> list[str]:
    """Every reason these sinks cannot deliver, as ``sinks.<name>.<key>: problem. fix``.

    ``environ`` is where ``url_env``, ``secret_env`` and ``headers_env`` are read;
    ``venues``, when given, are the configured venues a ``venues`` filter may name.
    No problem ever contains a URL, a key or a header value read from the environment.
    """
    problems: list[str] = []
    paths: dict[str, str] = {}
    for name, sink in sorted(sinks.items()):
        problems += _one_sink(f"sinks.{name}", sink, environ, venues)
        if sink.type == "jsonl" and sink.path:
            key = str(Path(sink.path).expanduser().resolve())
            if key in paths:
                problems.append(
                    f"sinks.{name}.path: the same file as sinks.{paths[key]}. Two sinks "
                    "appending to one file would interleave and duplicate lines; use one"
                )
            paths.setdefault(key, name)
    return problems


def _one_sink(
    where: str,
    sink: SinkConfig,
    environ: Mapping[str, str],
    venues: Collection[str] | None,
) -> list[str]:
    problems = _filter_problems(where, sink, venues)
    kind = sink.type
    http = kind in ("slack", "webhook")
    if kind == "jsonl":
        problems += _path_problems(where, sink.path)
    elif sink.path is not None:
        problems.append(f"{where}.path: a {kind} sink writes no file. Remove path")
    if http:
        if sink.url_env is None:
            problems.append(
                f'{where}: no url_env. Add url_env = "<ENV_VAR_NAME>" naming the environment '
                f"variable that holds the {kind} URL"
            )
        elif p := _env_problem(f"{where}.url_env", f"{kind} URL", sink.url_env, environ):
            problems.append(p)
        elif (why := url_problem(environ[sink.url_env], sink.insecure)) is not None:
            problems.append(f"{where}.url_env: the URL in {sink.url_env} {why}")
    else:
        if sink.url_env is not None:
            problems.append(f"{where}.url_env: a {kind} sink sends to no URL. Remove url_env")
        if sink.insecure:
            problems.append(f"{where}.insecure: a {kind} sink sends to no URL. Remove insecure")
    if kind == "webhook":
        problems += _webhook_problems(where, sink, environ)
    else:
        if sink.secret_env is not None:
            problems.append(
                f"{where}.secret_env: only webhook sinks sign their requests. Remove secret_env"
            )
        if sink.headers or sink.headers_env:
            key = "headers" if sink.headers else "headers_env"
            problems.append(f"{where}.{key}: only webhook sinks send extra headers. Remove {key}")
    return problems


def _filter_problems(where: str, sink: SinkConfig, venues: Collection[str] | None) -> list[str]:
    problems: list[str] = []
    known = [str(c) for c in AlertCode]
    for i, code in enumerate(sink.codes):
        if code not in known:
            close = difflib.get_close_matches(code.upper(), known, n=1)
            hint = f' Did you mean "{close[0]}"?' if close else ""
            problems.append(
                f"{where}.codes[{i}]: {code!r} is not an alert code. Use the codes of "
                f"docs/alerts.md (e.g. FILL_GAP).{hint}"
            )
    for i, venue in enumerate(sink.venues):
        if not venue.strip():
            problems.append(f"{where}.venues[{i}]: an empty venue name. Remove it")
        elif venues is not None and venue not in venues:
            configured = ", ".join(sorted(venues)) or "none"
            problems.append(
                f"{where}.venues[{i}]: {venue!r} is not a configured venue, so this filter "
                f"would never match. Configured venues: {configured}"
            )
    return problems


def _path_problems(where: str, path: str | None) -> list[str]:
    if not path:
        return [f'{where}: no path. Add path = "alerts.jsonl" (the file alerts are appended to)']
    p = Path(path).expanduser()
    if p.is_dir():
        return [f"{where}.path: {path} is a directory. Name a file in it"]
    if not p.parent.is_dir():
        return [f"{where}.path: the directory {p.parent} does not exist. Create it first"]
    return []


def _webhook_problems(where: str, sink: SinkConfig, environ: Mapping[str, str]) -> list[str]:
    problems: list[str] = []
    if sink.secret_env is None:
        problems.append(
            f'{where}: no secret_env. Add secret_env = "<ENV_VAR_NAME>" naming the '
            "environment variable that holds the signing key (every webhook is signed)"
        )
    elif p := _env_problem(f"{where}.secret_env", "signing key", sink.secret_env, environ):
        problems.append(p)
    elif len(environ[sink.secret_env]) < MIN_SECRET_LENGTH:
        problems.append(
            f"{where}.secret_env: the key in {sink.secret_env} is shorter than "
            f"{MIN_SECRET_LENGTH} characters. Use a long random key (e.g. "
            "`openssl rand -hex 32`)"
        )
    seen: dict[str, str] = {}
    for table in ("headers", "headers_env"):
        items: dict[str, str] = getattr(sink, table)
        for header, value in items.items():
            here = f"{where}.{table}.{header}"
            lower = header.lower()
            if not _HEADER_NAME.fullmatch(header):
                problems.append(f"{here}: not a valid HTTP header name. Use letters, digits and -")
            elif lower in RESERVED_HEADERS:
                problems.append(f"{here}: reconciler sets this header itself. Remove it")
            elif lower in seen:
                problems.append(f"{here}: also set in {seen[lower]}. Set it once")
            elif table == "headers" and _SECRET_HEADER.search(header):
                problems.append(
                    f'{here}: looks like a credential. Move it to headers_env = {{ "{header}" '
                    '= "<ENV_VAR_NAME>" } so that the value is not in the file'
                )
            elif table == "headers_env":
                if p := _env_problem(here, "header value", value, environ):
                    problems.append(p)
                elif "\n" in environ[value] or "\r" in environ[value]:
                    problems.append(f"{here}: the value in {value} spans lines. Remove the newline")
            elif "\n" in value or "\r" in value:
                problems.append(f"{here}: a header value cannot span lines")
            seen.setdefault(lower, table)
    return problems
