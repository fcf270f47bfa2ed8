"""The sinks' senders, and what each answer means for a retry.

A sender turns outbox items into one delivery attempt and reports an :class:`Outcome`:
``delivered``, ``retry`` (later, after a backoff or the server's ``Retry-After``) or
``permanent`` (retrying cannot help; the item becomes a dead letter). Senders never
log and never raise for a failed delivery; the delivery worker decides what follows.

HTTP answers (:func:`classify`):

* 2xx: delivered (Slack: only when the body is ``ok``; a 2xx with an error code in the
  body, such as ``invalid_token``, is a permanent failure);
* 408, 425, 429 and 5xx: retry, honouring ``Retry-After`` (seconds or an HTTP-date);
* any other 4xx, and 3xx (a webhook URL must not redirect: following it would send the
  signed body elsewhere): permanent;
* timeouts and connection errors: retry.

Errors are described without the URL, which for Slack holds the token: the sink's
target is shown as its host only.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC
from email.utils import parsedate_to_datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Final, Literal, Protocol
from urllib.parse import urlsplit

import httpx
import msgspec
import trio

from reconciler._slack import slack_message
from reconciler.alerts import Alert, Severity
from reconciler.logs import scrub
from reconciler.outbox import Notice, OutboxItem, OutboxRow
from reconciler.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

__all__ = [
    "DELIVERED",
    "JsonlSender",
    "LogSender",
    "Outcome",
    "Sender",
    "SlackSender",
    "WebhookSender",
    "classify",
    "parse_retry_after",
]

#: The longest ``Retry-After`` honoured; a server asking for more gets this (one day).
MAX_RETRY_AFTER: Final = 86_400.0
# Bytes of an answer read, at most: enough for Slack's error code or a short reason.
_ANSWER_MAX: Final = 16_384
# Bytes read from the end of a JSON Lines file to find what was already written.
_TAIL_BYTES: Final = 8 * 1024 * 1024

# Slack answers that no retry can fix (the webhook was revoked, the channel is gone,
# the payload is refused). Anything else Slack answers with a 4xx is permanent too.
SLACK_PERMANENT: Final = frozenset(
    {
        "invalid_token",
        "invalid_auth",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "not_authed",
        "no_service",
        "no_service_id",
        "no_team",
        "team_disabled",
        "team_not_found",
        "channel_not_found",
        "channel_is_archived",
        "user_not_found",
        "action_prohibited",
        "posting_to_general_channel_denied",
        "invalid_payload",
        "invalid_blocks",
        "invalid_blocks_format",
        "invalid_attachments",
        "no_text",
        "missing_text_or_fallback_or_attachments",
        "too_many_attachments",
        "restricted_action",
        "ekm_access_denied",
    }
)
_RETRY_STATUSES: Final = frozenset({408, 425, 429})
_SECONDS = re.compile(r"[0-9]+(\.[0-9]+)?")

try:
    _VERSION = metadata.version("reconciler")
except metadata.PackageNotFoundError:  # running from a source tree
    _VERSION = "0"
USER_AGENT: Final = f"reconciler/{_VERSION}"


class Outcome(msgspec.Struct, frozen=True):
    """What one delivery attempt came to."""

    kind: Literal["delivered", "retry", "permanent"]
    #: Why it failed (no URL, no secret), empty when delivered.
    error: str = ""
    #: For a retry: the server's ``Retry-After``, in seconds from now.
    retry_after: float | None = None


DELIVERED: Final = Outcome("delivered")


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delay-seconds or an HTTP-date.

    ``now`` is epoch seconds (for a date). Returns None when absent or unreadable, and
    never less than 0 or more than :data:`MAX_RETRY_AFTER`.
    """
    if value is None:
        return None
    text = value.strip()
    if _SECONDS.fullmatch(text):
        return min(float(text), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(text)
        # HTTP-dates are GMT; a date written without a zone parses naive.
        stamp = (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError, OSError):
        return None
    return min(max(stamp - now, 0.0), MAX_RETRY_AFTER)


def _one_line(text: str, limit: int = 200) -> str:
    return " ".join(text.split())[:limit]


def classify(
    status: int, answer: bytes, retry_after: float | None, *, slack: bool = False
) -> Outcome:
    """The outcome of an HTTP answer (see the module documentation)."""
    text = answer.decode("utf-8", "replace").strip()
    if slack:
        code = _slack_code(text)
        if 200 <= status < 300 and code in ("ok", ""):
            return DELIVERED
        detail = f"HTTP {status} {code}".rstrip()
        # A known permanent code is permanent whatever the status (Slack has answered
        # some of them with 200, and a revoked webhook stays revoked).
        if 200 <= status < 300 or code in SLACK_PERMANENT:
            return Outcome("permanent", f"Slack answered {detail}")
        if status in _RETRY_STATUSES or status >= 500:
            return Outcome("retry", f"Slack answered {detail}", retry_after)
        return Outcome("permanent", f"Slack answered {detail}")
    if 200 <= status < 300:
        return DELIVERED
    detail = f"HTTP {status}" + (f": {_one_line(text)}" if text else "")
    if status in _RETRY_STATUSES or status >= 500:
        return Outcome("retry", detail, retry_after)
    if 300 <= status < 400:
        return Outcome("permanent", f"{detail} (a redirect; configure the final URL)")
    return Outcome("permanent", detail)


def _slack_code(text: str) -> str:
    """Slack's answer as a short code: ``ok``, ``invalid_token``, ... (JSON or plain)."""
    if text.startswith("{"):
        try:
            data = msgspec.json.decode(text.encode())
        except msgspec.DecodeError:
            return _one_line(text, 80)
        if isinstance(data, dict):
            if data.get("ok") is True:
                return "ok"
            return _one_line(str(data.get("error") or "error"), 80)
    return _one_line(text, 80)


def redact_target(url: str) -> str:
    """What logs may show of a sink URL: its host (and port), never path or query."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{host}:{parts.port}" if parts.port else host


class Sender(Protocol):
    """Delivers outbox items to one sink."""

    #: How many items one attempt may carry (1 for HTTP sinks).
    batch: int
    #: The sink as logs may show it: ``log``, the file path, or the URL's host.
    target: str

    async def recover(self) -> set[str]:
        """Ids of items already delivered that the outbox may still list as pending
        (after a crash between delivering and recording it)."""
        ...

    async def send(
        self, items: Sequence[tuple[OutboxRow, OutboxItem]], http: httpx.AsyncClient
    ) -> Outcome:
        """One attempt to deliver ``items`` (all or nothing)."""
        ...


# -- log ---------------------------------------------------------------------------------

_LEVEL: Final = {Severity.INFO: "info", Severity.WARNING: "warning", Severity.CRITICAL: "error"}


class LogSender:
    """Every alert as a structlog line at a level from its severity."""

    batch = 500
    target = "log"

    def __init__(self, log: Any) -> None:
        self._log = log

    async def recover(self) -> set[str]:
        """Nothing to check: a repeated log line is harmless."""
        return set()

    async def send(
        self, items: Sequence[tuple[OutboxRow, OutboxItem]], http: httpx.AsyncClient
    ) -> Outcome:
        """Log each item; never fails."""
        for _, item in items:
            emit = getattr(self._log, _LEVEL[item.severity])
            if isinstance(item, Alert):
                emit(
                    "alert",
                    code=str(item.code),
                    severity=str(item.severity),
                    venue=item.venue,
                    account=item.account,
                    order_id=item.order_id,
                    alert_id=item.id,
                    message=item.message,
                )
            else:
                emit(
                    "alert notice",
                    kind=item.kind,
                    notice_id=item.id,
                    count=item.count,
                    code=None if item.code is None else str(item.code),
                    venue=item.venue,
                    account=item.account,
                    order_id=item.order_id,
                    message=item.message,
                )
        return DELIVERED


# -- JSON Lines --------------------------------------------------------------------------


class _Id(msgspec.Struct):
    id: str


_ID = msgspec.json.Decoder(_Id)


def encode_line(item: OutboxItem) -> bytes:
    """One JSON Lines line (with its newline): the alert, or the notice (with ``kind``)."""
    return msgspec.json.encode(item) + b"\n"


def _append(path: Path, data: bytes) -> None:
    # Runs in a worker thread. "a+b": every write lands at the end, even if another
    # writer appended meanwhile; reading the last byte first lets a line torn by a crash
    # be ended before ours, so that our lines stay whole.
    with path.open("a+b") as f:
        size = f.seek(0, os.SEEK_END)
        if size:
            f.seek(size - 1)
            if f.read(1) != b"\n":
                data = b"\n" + data
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _tail_ids(path: Path) -> set[str]:
    # Runs in a worker thread.
    try:
        with path.open("rb") as f:
            size = f.seek(0, os.SEEK_END)
            start = max(0, size - _TAIL_BYTES)
            f.seek(start)
            data = f.read()
    except FileNotFoundError:
        return set()
    lines = data.split(b"\n")
    if start > 0:
        lines = lines[1:]  # the first one is cut
    ids: set[str] = set()
    for line in lines:
        if line.strip():
            try:
                ids.add(_ID.decode(line).id)
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue  # a line torn by a crash, or not ours
    return ids


class JsonlSender:
    """Appends one JSON object per line to a file, fsynced before it counts."""

    batch = 200

    def __init__(self, path: str) -> None:
        self.path = Path(path).expanduser()
        self.target = str(self.path)

    async def recover(self) -> set[str]:
        """The ids in the file's last few MiB: written before a crash, maybe not recorded.

        The file's tail is enough: the only items that can be written but not recorded
        as delivered are those of the batch a crash interrupted, the file's last lines.
        """
        return await trio.to_thread.run_sync(_tail_ids, self.path)

    async def send(
        self, items: Sequence[tuple[OutboxRow, OutboxItem]], http: httpx.AsyncClient
    ) -> Outcome:
        """Append the items' lines in one write and fsync."""
        data = b"".join(encode_line(item) for _, item in items)
        try:
            await trio.to_thread.run_sync(_append, self.path, data)
        except OSError as exc:
            return Outcome("retry", f"cannot write {self.path}: {exc.strerror or exc}")
        return DELIVERED


# -- HTTP --------------------------------------------------------------------------------


class _HttpSender:
    batch = 1
    slack = False

    def __init__(self, url: str, timeout: float, now: Callable[[], float]) -> None:
        self._url = url
        self._timeout = timeout
        self._now = now
        self.target = redact_target(url)

    async def recover(self) -> set[str]:
        """Nothing to check: the receiver deduplicates (webhook) or cannot (Slack)."""
        return set()

    def _clean(self, text: str) -> str:
        # The URL itself is registered with the log scrubber; this is the second guard.
        return scrub(text.replace(self._url, "<url>"))

    async def _post(
        self, body: bytes, headers: Mapping[str, str], http: httpx.AsyncClient
    ) -> Outcome:
        status, answer, retry_after = 0, b"", None
        try:
            # The cancel scope bounds the whole attempt (connect, send, a slow answer);
            # httpx's own timeout bounds each phase.
            with trio.move_on_after(self._timeout) as scope:
                async with http.stream(
                    "POST", self._url, content=body, headers=headers, timeout=self._timeout
                ) as response:
                    status = response.status_code
                    retry_after = parse_retry_after(
                        response.headers.get("retry-after"), self._now()
                    )
                    chunks = bytearray()
                    async for chunk in response.aiter_bytes():
                        chunks += chunk
                        if len(chunks) >= _ANSWER_MAX:
                            break
                    answer = bytes(chunks[:_ANSWER_MAX])
        except httpx.TimeoutException:
            return Outcome("retry", f"timed out after {self._timeout:g} s")
        except (httpx.UnsupportedProtocol, httpx.InvalidURL, httpx.LocalProtocolError) as exc:
            return Outcome("permanent", self._clean(f"{type(exc).__name__}: {exc}"))
        except httpx.HTTPError as exc:
            return Outcome("retry", self._clean(f"{type(exc).__name__}: {exc}"))
        if scope.cancelled_caught:
            return Outcome("retry", f"timed out after {self._timeout:g} s")
        outcome = classify(status, answer, retry_after, slack=self.slack)
        return msgspec.structs.replace(outcome, error=self._clean(outcome.error))


class SlackSender(_HttpSender):
    """Posts a Block Kit message to a Slack incoming webhook."""

    slack = True

    async def send(
        self, items: Sequence[tuple[OutboxRow, OutboxItem]], http: httpx.AsyncClient
    ) -> Outcome:
        """One message for the one item."""
        ((_, item),) = items
        body = msgspec.json.encode(slack_message(item))
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        return await self._post(body, headers, http)


def webhook_body(item: OutboxItem) -> bytes:
    """The webhook's JSON body: ``{"type": "alert", "alert": {...}}`` or
    ``{"type": "notice", "notice": {...}}``."""
    if isinstance(item, Notice):
        return msgspec.json.encode({"type": "notice", "notice": item})
    return msgspec.json.encode({"type": "alert", "alert": item})


class WebhookSender(_HttpSender):
    """Posts the alert as signed JSON, with ``Idempotency-Key`` = the alert's id."""

    def __init__(
        self,
        url: str,
        timeout: float,
        now: Callable[[], float],
        *,
        secret: str,
        headers: Mapping[str, str],
    ) -> None:
        super().__init__(url, timeout, now)
        self._secret = secret
        self._headers = dict(headers)

    def request(self, row: OutboxRow, item: OutboxItem) -> tuple[bytes, dict[str, str]]:
        """The body and headers of one attempt (signed now)."""
        body = webhook_body(item)
        timestamp = int(self._now())
        headers = {
            **self._headers,
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Idempotency-Key": item.id,
            "X-Reconciler-Event": "alert" if isinstance(item, Alert) else item.kind,
            "X-Reconciler-Attempt": str(row.attempts + 1),
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
        }
        return body, headers

    async def send(
        self, items: Sequence[tuple[OutboxRow, OutboxItem]], http: httpx.AsyncClient
    ) -> Outcome:
        """One signed request for the one item."""
        ((row, item),) = items
        body, headers = self.request(row, item)
        return await self._post(body, headers, http)
