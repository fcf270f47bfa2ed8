"""Durable alert delivery to the configured sinks: the log, a JSON Lines file, Slack,
webhooks (see ``docs/alert-delivery.md``).

The engine hands every new alert to :meth:`Delivery.enqueue` inside the journal's open
transaction: each sink's filters and storm control decide, and one outbox row per
sink is written, so the alert and its deliveries become durable in the same commit.
After committing, the engine calls :meth:`Delivery.wake`. :meth:`Delivery.run` runs
one worker per sink; a worker sends only committed rows (an alert is never delivered
before it is journaled), in order, records each outcome in the outbox and commits it.

* **At least once.** A row is marked delivered only after the sink accepted it; a
  crash in between sends it again after the restart (the webhook's ``Idempotency-Key``
  and the JSON Lines file's tail check make that harmless). Delivered rows are never
  sent again.
* **Retries.** A failed attempt is retried after an exponential backoff with full
  jitter (``backoff_initial`` doubling up to ``backoff_max``), or after the server's
  ``Retry-After``; the whole sink waits, so a down receiver gets one attempt per
  backoff, not one per alert. A permanent failure (most 4xx, Slack's
  ``invalid_token``...) or ``max_attempts`` failures make the row a dead letter.
* **Isolation.** Workers never block :meth:`~Delivery.enqueue` (synchronous, one
  insert per sink) nor each other: a dead sink only grows its own backlog, which is in
  the journal's database, not in memory.

Sink URLs and keys are read from the environment once, registered with the log
scrubber, and never logged: log lines name the sink and its host only.
"""

from __future__ import annotations

import contextlib
import random
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
import msgspec
import trio

from reconciler._sink_settings import DeliveryConfig, SinkConfig, sink_problems
from reconciler._sinks import (
    JsonlSender,
    LogSender,
    Outcome,
    Sender,
    SlackSender,
    WebhookSender,
)
from reconciler._storm import Route, StormControl
from reconciler.alerts import Alert, AlertCode, Severity, severity_at_least
from reconciler.config_file import ConfigError
from reconciler.journal import Journal, JournalError
from reconciler.logs import get_logger, register_secret, scrub
from reconciler.outbox import HELD_STATES, Outbox, OutboxItem, OutboxRow

__all__ = ["Delivery", "DeliveryConfig", "SinkConfig"]

# Pending rows are due immediately; this stands for "nothing due, wait for a wake".
_FOREVER: Final = float("inf")
_SEND: Final = Route("pending")
# URL path segments at least this long are treated as tokens and scrubbed from logs.
_TOKEN_LENGTH: Final = 16


@dataclass(slots=True)
class _Sink:
    """One configured sink: its filters, sender, storm control and counters."""

    name: str
    config: SinkConfig
    sender: Sender
    storm: StormControl
    floor: Severity
    venues: frozenset[str]
    codes: frozenset[str]
    wake: trio.Event = field(default_factory=trio.Event)
    failures: int = 0
    delivered: int = 0
    retries: int = 0
    #: Rows an earlier run left pending (logged when the worker starts).
    left_pending: int = 0

    def accepts(self, alert: Alert) -> bool:
        """Whether the sink's filters let ``alert`` through."""
        return (
            severity_at_least(alert.severity, self.floor)
            and (not self.venues or alert.venue in self.venues)
            and (not self.codes or alert.code in self.codes)
        )


def _outbox_of(journal: Journal) -> Outbox:
    found = getattr(journal, "outbox", None)
    if isinstance(found, Outbox):
        return found
    raise TypeError(f"{type(journal).__name__} has no outbox: alert delivery needs one")


class Delivery:
    """Delivers alerts to sinks through the journal's durable outbox.

    ``sinks`` and ``config`` are the ``[sinks.<name>]`` and ``[delivery]`` tables;
    ``environ`` is where sink URLs and keys are read (once, here); ``now`` gives epoch
    seconds for the outbox's times (sleeping uses Trio's clock). ``http`` is the client
    for Slack and webhooks (one is made, and closed, by :meth:`run` when None); ``log``
    the structlog logger (the package's by default); ``outbox`` overrides
    ``journal.outbox``; ``rng`` draws the backoff jitter.

    Raises :class:`~reconciler.config_file.ConfigError` listing every problem of the
    sinks (see :func:`~reconciler._sink_settings.sink_problems`).
    """

    def __init__(
        self,
        sinks: Mapping[str, SinkConfig],
        config: DeliveryConfig,
        journal: Journal,
        *,
        environ: Mapping[str, str],
        now: Callable[[], float],
        http: httpx.AsyncClient | None = None,
        log: Any = None,
        outbox: Outbox | None = None,
        rng: random.Random | None = None,
    ) -> None:
        problems = sink_problems(sinks, environ)
        if problems:
            raise ConfigError("\n".join(problems))
        self.config = config
        self._journal = journal
        self._outbox = outbox if outbox is not None else _outbox_of(journal)
        self._now = now
        self._http = http
        self._log = log if log is not None else get_logger()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        start = now()
        self._sinks = [
            self._make_sink(name, cfg, environ, start) for name, cfg in sorted(sinks.items())
        ]
        self._counts = self._outbox.counts(("pending", "dead", *sorted(HELD_STATES)))
        for sink in self._sinks:
            sink.left_pending = self._counts.get((sink.name, "pending"), 0)

    def _make_sink(
        self, name: str, cfg: SinkConfig, environ: Mapping[str, str], start: float
    ) -> _Sink:
        sender: Sender
        if cfg.type == "log":
            sender = LogSender(self._log)
        elif cfg.type == "jsonl":
            sender = JsonlSender(cfg.path or "")
        else:
            url = environ[cfg.url_env or ""].strip()
            _register_url(url)
            if cfg.type == "slack":
                sender = SlackSender(url, cfg.timeout, self._now)
            else:
                secret = environ[cfg.secret_env or ""]
                register_secret(secret)
                headers = dict(cfg.headers)
                for header, var in cfg.headers_env.items():
                    headers[header] = environ[var]
                    register_secret(environ[var])
                sender = WebhookSender(url, cfg.timeout, self._now, secret=secret, headers=headers)
        return _Sink(
            name=name,
            config=cfg,
            sender=sender,
            storm=StormControl(name, self.config, self._outbox, now=start, enabled=cfg.storm),
            floor=Severity(cfg.min_severity),
            venues=frozenset(cfg.venues),
            codes=frozenset(AlertCode(c) for c in cfg.codes),
        )

    # -- the engine's side ---------------------------------------------------------------

    def enqueue(self, alert: Alert) -> None:
        """Queue a new alert for every sink whose filters accept it.

        Synchronous and quick: one outbox insert per sink, in the journal's open
        transaction (never committed here); storm control may hold the alert back or add
        a notice. Call it once per alert, for alerts the journal stored just now.
        """
        now = self._now()
        body: bytes | None = None
        for sink in self._sinks:
            if not sink.accepts(alert):
                continue
            route = sink.storm.route(alert, now) if sink.config.storm else _SEND
            if body is None:
                body = msgspec.json.encode(alert)
            self._outbox.add(
                sink=sink.name,
                item_id=alert.id,
                kind="alert",
                state=route.state,
                severity=alert.severity,
                body=body,
                now=now,
                code=str(alert.code),
                venue=alert.venue,
                fold_key=route.fold_key,
                fold_until=route.fold_until,
            )

    def wake(self) -> None:
        """The journal was just committed: let the workers send what was queued."""
        for sink in self._sinks:
            sink.wake.set()

    # -- status --------------------------------------------------------------------------

    def dead_letters(self, sink: str | None = None) -> list[OutboxRow]:
        """The rows given up on (newest first, at most 1000): a permanent failure or
        ``max_attempts`` used up. ``row.item()`` is the alert or notice; ``last_error``
        says why."""
        return self._outbox.dead_letters(sink)

    def stats(self) -> dict[str, int]:
        """Per sink: ``sinks.<name>.delivered`` and ``.retries`` (since start),
        ``.pending``, ``.held`` (by storm control) and ``.dead`` (now, in the outbox)."""
        # After the journal closed (the engine stopped): the last counts read.
        with contextlib.suppress(JournalError):
            self._counts = self._outbox.counts(("pending", "dead", *sorted(HELD_STATES)))
        counts = self._counts
        out: dict[str, int] = {}
        for sink in self._sinks:
            n = sink.name
            out[f"sinks.{n}.delivered"] = sink.delivered
            out[f"sinks.{n}.pending"] = counts.get((n, "pending"), 0)
            out[f"sinks.{n}.held"] = sum(counts.get((n, s), 0) for s in HELD_STATES)
            out[f"sinks.{n}.dead"] = counts.get((n, "dead"), 0)
            out[f"sinks.{n}.retries"] = sink.retries
        return out

    # -- the workers ---------------------------------------------------------------------

    async def run(self) -> None:
        """Deliver until cancelled: one worker per sink, starting with what an earlier
        run left pending."""
        http = self._http
        owned = http is None
        if http is None:
            # No redirects: a webhook URL that redirects would send the signed body
            # somewhere else. Each request's timeout is the sink's own.
            http = httpx.AsyncClient(follow_redirects=False)
        try:
            async with trio.open_nursery() as nursery:
                for sink in self._sinks:
                    nursery.start_soon(self._worker, sink, http)
        finally:
            if owned:
                with trio.CancelScope(shield=True), trio.move_on_after(2):
                    await http.aclose()

    async def _worker(self, sink: _Sink, http: httpx.AsyncClient) -> None:
        resumed = False
        while True:
            try:
                if not resumed:
                    await self._resume(sink)
                    resumed = True
                await self._step(sink, http)
            except Exception as exc:  # noqa: BLE001 - one sink's bug must not stop the others
                delay = self._backoff(sink)
                self._log.error(
                    "alert delivery worker failed; restarting it",
                    sink=sink.name,
                    target=sink.sender.target,
                    error=scrub(f"{type(exc).__name__}: {exc}"),
                    traceback=scrub("".join(traceback.format_exception(exc))),
                    retry_in=round(delay, 2),
                )
                await trio.sleep(delay)

    async def _resume(self, sink: _Sink) -> None:
        """Before the first send: what an earlier run wrote but did not record."""
        try:
            written = await sink.sender.recover()
        except OSError as exc:
            self._log.warning(
                "cannot check what the sink already has",
                sink=sink.name,
                target=sink.sender.target,
                error=scrub(str(exc)),
            )
            written = set()
        found = 0
        if written:
            found = self._outbox.mark_delivered_ids(sink.name, written, now=self._now())
            # Committed even when nothing matched: a write transaction left open would
            # hide every later row from committed_seq().
            self._commit()
            self._log.info(
                "alerts found already delivered",
                sink=sink.name,
                target=sink.sender.target,
                count=found,
            )
        if sink.left_pending:
            self._log.info(
                "resuming alert delivery",
                sink=sink.name,
                target=sink.sender.target,
                pending=sink.left_pending,
            )

    def _commit(self) -> None:
        self._journal.commit()

    def _backoff(self, sink: _Sink) -> float:
        """Full jitter: uniform(0, min(backoff_max, backoff_initial * 2**failures))."""
        cfg = self.config
        ceiling = min(cfg.backoff_max, cfg.backoff_initial * 2 ** min(sink.failures, 60))
        sink.failures += 1
        return self._rng.uniform(0, ceiling)

    async def _step(self, sink: _Sink, http: httpx.AsyncClient) -> None:
        """Send what is due, or wait until something is."""
        outbox, now = self._outbox, self._now()
        if sink.storm.tick(now):
            self._commit()
        # A fresh event before looking: a wake() from here on is not lost.
        sink.wake = trio.Event()
        # Only committed rows: an alert is never delivered before it is journaled.
        upto = outbox.committed_seq()
        rows = outbox.due(sink.name, now=now, upto=upto, limit=sink.sender.batch)
        if not rows:
            times = [outbox.next_attempt_at(sink.name, upto=upto), sink.storm.next_deadline()]
            deadline = min((t for t in times if t is not None), default=_FOREVER)
            with trio.move_on_after(max(0.0, deadline - now)):
                await sink.wake.wait()
            # Woken with in-process subscribers (Engine.alerts()) that the same commit
            # woke: yield once so they go first; a sink is the slower path anyway.
            await trio.lowlevel.checkpoint()
            return
        items: list[tuple[OutboxRow, OutboxItem]] = []
        for row in rows:
            try:
                items.append((row, row.item()))
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                self._dead(sink, row, f"the stored item cannot be read ({exc})", now)
        if items:
            outcome = await sink.sender.send(items, http)
            await self._record(sink, items, outcome)
        self._commit()

    async def _record(
        self, sink: _Sink, items: list[tuple[OutboxRow, OutboxItem]], outcome: Outcome
    ) -> None:
        now = self._now()
        rows = [row for row, _ in items]
        if outcome.kind == "delivered":
            self._outbox.mark_delivered([row.seq for row in rows], now=now)
            sink.delivered += len(rows)
            if sink.failures:
                self._log.info(
                    "alert delivery recovered",
                    sink=sink.name,
                    target=sink.sender.target,
                    failed_attempts=sink.failures,
                )
            sink.failures = 0
            return
        if outcome.kind == "permanent":
            for row in rows:
                self._dead(sink, row, outcome.error, now, permanent=True)
            return
        delay = outcome.retry_after if outcome.retry_after is not None else self._backoff(sink)
        if outcome.retry_after is not None:
            sink.failures += 1
        sink.retries += 1
        for row in rows:
            attempts = row.attempts + 1
            if attempts >= sink.config.max_attempts:
                self._dead(sink, row, outcome.error, now, attempts=attempts)
                continue
            self._outbox.mark_retry(
                row.seq, attempts=attempts, next_attempt=now + delay, error=outcome.error, now=now
            )
        self._log.warning(
            "alert delivery failed; will retry",
            sink=sink.name,
            target=sink.sender.target,
            item_id=rows[0].item_id,
            items=len(rows),
            attempt=rows[0].attempts + 1,
            retry_in=round(delay, 3),
            error=scrub(outcome.error),
        )
        # The record is committed before the wait, so a restart during it resumes with
        # the attempt counted and its retry time.
        self._commit()
        # The whole sink waits (a wake() does not shorten it): one probe per backoff.
        await trio.sleep(delay)

    def _dead(
        self,
        sink: _Sink,
        row: OutboxRow,
        error: str,
        now: float,
        *,
        permanent: bool = False,
        attempts: int | None = None,
    ) -> None:
        tries = attempts if attempts is not None else row.attempts + 1
        self._outbox.mark_dead(row.seq, attempts=tries, error=error, now=now)
        self._log.error(
            "alert delivery failed permanently" if permanent else "alert delivery gave up",
            sink=sink.name,
            target=sink.sender.target,
            item_id=row.item_id,
            kind=row.kind,
            attempts=tries,
            error=scrub(error),
        )


def _register_url(url: str) -> None:
    """Scrub the URL, and the parts of it that can hold a token, from every log line."""
    register_secret(url)
    parts = urlsplit(url)
    # Slack's token is a path segment; short segments (/hooks, /alerts) are ordinary
    # words that scrubbing would only garble.
    for segment in parts.path.split("/"):
        if len(segment) >= _TOKEN_LENGTH:
            register_secret(segment)
    if parts.query:
        register_secret(parts.query)
    if "@" in parts.netloc:
        register_secret(parts.netloc.rpartition("@")[0])
