"""Storm control for one sink: folding repeats, and digest mode when the rate is high.

Folding
    Alerts with the same code on the same order (or, without an order, the same venue
    and account) form a *fold key*. The first goes out at once and opens a window of
    ``fold_window`` seconds; repeats inside it are held as ``folded`` outbox rows. When
    the window closes with repeats, one ``fold`` notice ("3 more FILL_GAP on order 42")
    covers them.

Digest mode
    When more than ``digest_threshold`` alerts per minute would go out one by one (folded
    repeats do not count: they are not messages), the sink says so (a ``digest_on``
    notice) and holds every further alert as a ``digest`` row; every ``digest_interval``
    seconds one ``digest`` notice covers the rows held since the last one. At a digest
    time with the rate at half the threshold or below, it says so (``digest_off``) and
    goes back to one message per alert.

Everything held is an outbox row, so a crash loses nothing: on start the windows, the
rate and the mode are rebuilt from the outbox, and every held row is covered by a notice
in due time. Notice ids derive from the ids they cover, so a notice re-made after a
crash (before it was committed) gets the same id. Only delivery is folded: every alert
is in the journal.
"""

from __future__ import annotations

import heapq
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Final

import msgspec

from reconciler._sink_settings import DeliveryConfig
from reconciler.alerts import Alert, Severity
from reconciler.outbox import Notice, Outbox, OutboxRow, RowState, notice_id

__all__ = ["MAX_IDS", "MAX_WINDOWS", "Route", "StormControl", "fold_key"]

#: Fold windows tracked at once per sink; past this, new keys are not folded (memory
#: stays bounded whatever the storm).
MAX_WINDOWS: Final = 100_000
#: Alert ids listed in one notice (its ``count`` is always exact).
MAX_IDS: Final = 1000
#: Most severe alerts shown in full in a digest.
TOP: Final = 5
_MINUTE: Final = 60.0


def fold_key(alert: Alert) -> str:
    """What repeats share: code and order, or code, venue and account without an order."""
    if alert.order_id is not None:
        return "\x1f".join((str(alert.code), alert.venue, "order", alert.order_id))
    return "\x1f".join((str(alert.code), alert.venue, "account", alert.account))


class Route(msgspec.Struct, frozen=True):
    """Where one alert goes for one sink: its row's state and fold bookkeeping."""

    state: RowState
    fold_key: str | None = None
    fold_until: float | None = None


_SEND: Final = Route("pending")


@dataclass(slots=True)
class _Window:
    until: float
    folded: int = 0


class StormControl:
    """The folding windows and digest mode of one sink, over its outbox rows.

    :meth:`route` is called for each alert (synchronously, in the journal's open
    transaction); :meth:`tick` by the sink's worker when :meth:`next_deadline` comes.
    With ``enabled`` false nothing is held, and whatever an earlier run held is
    reported at the first tick.
    """

    def __init__(
        self, sink: str, config: DeliveryConfig, outbox: Outbox, *, now: float, enabled: bool
    ) -> None:
        self.sink = sink
        self._outbox = outbox
        self._window = config.fold_window if enabled else 0.0
        # For notices about windows an earlier run opened (folding may be off now).
        self._window_text = config.fold_window
        self._threshold = config.digest_threshold if enabled else 0
        self._interval = config.digest_interval
        self._windows: dict[str, _Window] = {}
        # Windows in the order they close (they all last fold_window): pruned from the
        # left as they expire, so idle keys do not accumulate.
        self._expiry: deque[tuple[float, str]] = deque()
        # Windows holding repeats, by closing time (stale entries are skipped).
        self._closing: list[tuple[float, str]] = []
        self._sent: deque[float] = deque(maxlen=self._threshold + 1)
        self.digest = False
        self._next_digest = 0.0
        self._mode_id = ""
        self._load(now)

    # -- start-up ----------------------------------------------------------------------

    def _load(self, now: float) -> None:
        out, sink = self._outbox, self.sink
        for key, until, folded in sorted(
            out.fold_windows(sink, since=now), key=lambda w: (w[1], w[0])
        ):
            if not (folded or self._window):
                continue
            # A window of an earlier run closes when it was due; with folding now off,
            # at the first tick.
            close_at = until if self._window else now
            self._windows[key] = _Window(close_at, folded)
            self._expiry.append((close_at, key))
            if folded:
                heapq.heappush(self._closing, (close_at, key))
        if self._threshold:
            recent = out.recent_sent(sink, since=now - _MINUTE, limit=self._threshold + 1)
            self._sent.extend(reversed(recent))
        mode = out.last_notice(sink, ("digest_on", "digest_off"))
        if mode is not None and mode.kind == "digest_on":
            self.digest = True
            self._mode_id = mode.item_id
            last = out.last_notice(sink, ("digest",))
            since = max(mode.created, last.created if last is not None else mode.created)
            self._next_digest = since + self._interval if self._threshold else now

    # -- routing (enqueue) -------------------------------------------------------------

    def route(self, alert: Alert, now: float) -> Route:
        """Decide where ``alert`` goes; writes a ``digest_on`` notice when this alert
        pushes the rate past the threshold (the alert itself then goes to the digest)."""
        key: str | None = None
        until: float | None = None
        if self._window:
            self._expire(now)
            key = fold_key(alert)
            window = self._windows.get(key)
            if window is not None and now >= window.until and window.folded:
                # Its close is due but the worker has not run yet: close it first, so
                # the new window starts clean and the notice precedes this alert.
                self._close(key, window, now)
                window = None
            if window is not None and now < window.until:
                if not window.folded:
                    heapq.heappush(self._closing, (window.until, key))
                window.folded += 1
                return Route("folded", key, window.until)
            if len(self._windows) < MAX_WINDOWS:
                until = now + self._window
                self._windows[key] = _Window(until)
                self._expiry.append((until, key))
        if self._threshold:
            self._sent.append(now)
            if not self.digest and self._rate_passes(now):
                self._switch_on(alert, now)
        if not self.digest and key is None:
            return _SEND
        return Route("digest" if self.digest else "pending", key, until)

    def _expire(self, now: float) -> None:
        while self._expiry and self._expiry[0][0] <= now:
            until, key = self._expiry.popleft()
            window = self._windows.get(key)
            if window is not None and window.until == until and not window.folded:
                del self._windows[key]

    def _rate_passes(self, now: float) -> bool:
        sent = self._sent
        return len(sent) == sent.maxlen and now - sent[0] < _MINUTE

    def _last_minute(self, now: float) -> int:
        return sum(1 for t in self._sent if t > now - _MINUTE)

    # -- timers (the worker) -----------------------------------------------------------

    def next_deadline(self) -> float | None:
        """When :meth:`tick` has work next (epoch seconds), or None."""
        times = []
        if self._closing:
            times.append(self._closing[0][0])
        if self.digest:
            times.append(self._next_digest)
        return min(times, default=None)

    def tick(self, now: float) -> bool:
        """Close the fold windows due, send the digest due; True if rows were written."""
        wrote = False
        while self._closing and self._closing[0][0] <= now:
            until, key = heapq.heappop(self._closing)
            window = self._windows.get(key)
            if window is not None and window.until == until and window.folded:
                self._close(key, window, now)
                wrote = True
        if self.digest and now >= self._next_digest:
            wrote |= self._digest(now)
            self._next_digest = now + self._interval
            if self._last_minute(now) <= self._threshold // 2 or not self._threshold:
                self._switch_off(now)
                wrote = True
        return wrote

    # -- notices -----------------------------------------------------------------------

    def _add_notice(self, notice: Notice, now: float) -> None:
        self._outbox.add(
            sink=self.sink,
            item_id=notice.id,
            kind=notice.kind,
            state="pending",
            severity=notice.severity,
            body=msgspec.json.encode(notice),
            now=now,
            code=None if notice.code is None else str(notice.code),
            venue=notice.venue,
        )

    def _close(self, key: str, window: _Window, now: float) -> None:
        """The window of ``key`` closed: one notice for its repeats (or, in digest mode,
        they join the digest)."""
        del self._windows[key]
        out, sink = self._outbox, self.sink
        if self.digest:
            out.move_held(sink, "folded", "digest", now=now, fold_key=key)
            return
        held = _Summary()
        nid = notice_id("fold", held.ids_of(out.held(sink, "folded", fold_key=key)))
        if held.first is None or held.last is None:
            return
        alert = held.first.item()
        assert isinstance(alert, Alert)  # folded rows are alert rows
        where = (
            f"order {alert.order_id} ({alert.venue}/{alert.account})"
            if alert.order_id is not None
            else f"{alert.venue} account {alert.account}"
        )
        notice = Notice(
            id=nid,
            kind="fold",
            severity=held.severity,
            t=now,
            message=(
                f"{held.count} more {alert.code} on {where} within {self._window_text:g} s "
                "of the first, which was sent on its own"
            ),
            count=held.count,
            code=alert.code,
            venue=alert.venue,
            account=alert.account,
            order_id=alert.order_id,
            first_t=alert.t,
            last_t=held.last.item().t,
            alert_ids=held.ids,
        )
        self._add_notice(notice, now)
        out.move_held(
            sink, "folded", "covered", now=now, fold_key=key, upto=held.last.seq, covered_by=nid
        )

    def _digest(self, now: float) -> bool:
        out, sink = self._outbox, self.sink
        held = _Summary()
        nid = notice_id("digest", held.ids_of(out.held(sink, "digest")))
        if held.first is None or held.last is None:
            return False
        codes = ", ".join(f"{n} {c}" for c, n in held.by_code.most_common(5))
        top = [row.item() for _, _, row in sorted(held.top, key=lambda e: (-e[0], -e[1]))]
        notice = Notice(
            id=nid,
            kind="digest",
            severity=held.severity,
            t=now,
            message=f"{held.count} alerts since the last message (digest mode): {codes}",
            count=held.count,
            first_t=held.first.item().t,
            last_t=held.last.item().t,
            alert_ids=held.ids,
            by_code=dict(held.by_code),
            by_venue=dict(held.by_venue),
            top=[a for a in top if isinstance(a, Alert)],
        )
        self._add_notice(notice, now)
        out.move_held(sink, "digest", "covered", now=now, upto=held.last.seq, covered_by=nid)
        return True

    def _switch_on(self, alert: Alert, now: float) -> None:
        self.digest = True
        self._next_digest = now + self._interval
        notice = Notice(
            id=notice_id("digest_on", [alert.id]),
            kind="digest_on",
            severity=Severity.WARNING,
            t=now,
            message=(
                f"switching to digest mode: {self._last_minute(now)} alerts in the last "
                f"minute, more than the limit of {self._threshold} per minute. Alerts are "
                f"summarised every {self._interval:g} s until the rate falls to "
                f"{self._threshold // 2} per minute or less; every alert is still in the journal"
            ),
            count=self._last_minute(now),
        )
        self._mode_id = notice.id
        self._add_notice(notice, now)

    def _switch_off(self, now: float) -> None:
        self.digest = False
        count = self._last_minute(now)
        why = (
            f"{count} alerts in the last minute (limit {self._threshold} per minute)"
            if self._threshold
            else "digests are turned off for this sink"
        )
        notice = Notice(
            id=notice_id("digest_off", [self._mode_id]),
            kind="digest_off",
            severity=Severity.INFO,
            t=now,
            message=f"leaving digest mode: {why}; alerts are sent one by one again",
            count=count,
        )
        self._add_notice(notice, now)


_RANK: Final = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


@dataclass(slots=True)
class _Summary:
    """What a notice says about the held rows it covers, gathered in one pass."""

    count: int = 0
    first: OutboxRow | None = None
    last: OutboxRow | None = None
    severity: Severity = Severity.INFO
    ids: list[str] = field(default_factory=list)
    by_code: Counter[str] = field(default_factory=Counter)
    by_venue: Counter[str] = field(default_factory=Counter)
    # A min-heap of the TOP most severe rows, earliest first among equals: its smallest
    # entry (least severe, latest) is the one to drop.
    top: list[tuple[int, int, OutboxRow]] = field(default_factory=list)

    def ids_of(self, rows: Iterable[OutboxRow]) -> Iterator[str]:
        """Tally each row and yield its id (for :func:`notice_id`, in the same pass)."""
        for row in rows:
            self.count += 1
            self.first = self.first or row
            self.last = row
            if len(self.ids) < MAX_IDS:
                self.ids.append(row.item_id)
            if _RANK[row.severity] > _RANK[self.severity]:
                self.severity = row.severity
            self.by_code[row.code or "?"] += 1
            self.by_venue[row.venue or "?"] += 1
            heapq.heappush(self.top, (_RANK[row.severity], -row.seq, row))
            if len(self.top) > TOP:
                heapq.heappop(self.top)
            yield row.item_id
