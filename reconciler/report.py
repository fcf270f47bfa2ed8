"""Audit reports from a journal: what happened, what was raised, and whether fills add up.

A report replays the journal's records (optionally a time window and one venue) through
a fresh :class:`~reconciler.Reconciler` that never retires an order and keeps every
order's whole history, to rebuild each order's lifecycle; the alerts it lists are the
ones the journal holds, i.e. exactly what was raised (and delivered) live, not what the
replay would raise again. ``account`` narrows everything afterwards.

::

    from reconciler.report import build_report, open_report_journal, render

    journal = open_report_journal("reconciler.db")
    try:
        report = build_report(journal, venue="bybit", source="reconciler.db")
    finally:
        journal.close()
    html = render(report, "html")

The model (:mod:`reconciler._report_model`) is deterministic: the same journal and
filters give byte-identical output in every format. See ``docs/reports.md``.
"""

from __future__ import annotations

import hashlib
import math
import re
import sqlite3
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, localcontext
from os import PathLike
from pathlib import Path
from typing import Final

import msgspec

from reconciler._model import HistoryEntry
from reconciler._numbers import EXACT, ZERO
from reconciler._report_model import (
    AlertEntry,
    ConnectionHealth,
    ConnectionInterval,
    ExpectationEntry,
    FillReconciliation,
    OrderRef,
    OrderReport,
    Report,
    ReportFilters,
    Summary,
    TimelineEntry,
    fmt_decimal,
)
from reconciler.alerts import Alert, AlertCode, Severity
from reconciler.capture import (
    ConnectionRecord,
    ExpectRecord,
    FrameRecord,
    ReportRecord,
    apply_record,
)
from reconciler.config import CoreConfig
from reconciler.core import OrderState, Reconciler, UnknownVenueError
from reconciler.events import Expectation
from reconciler.journal import Journal, JournalError, open_journal
from reconciler.lifecycle import Status
from reconciler.plugin import PluginLoadError, VenuePlugin, load_plugins

__all__ = [
    "FORMATS",
    "Report",
    "ReportError",
    "build_report",
    "open_report_journal",
    "parse_time",
    "render",
]

#: The output formats :func:`render` knows.
FORMATS: Final = ("html", "md", "json", "csv")

#: Long enough that no order retires during a report's replay (about 31,700 years).
_NEVER: Final = 1e12
#: Enough history entries per order that a timeline is never truncated.
_ALL_HISTORY: Final = 1 << 30
_SQLITE_MAGIC: Final = b"SQLite format 3\x00"
_SEVERITIES: Final = (Severity.CRITICAL, Severity.WARNING, Severity.INFO)
_UNREPORTED: Final = "unreported"
_SLUG = re.compile(r"[^A-Za-z0-9_-]+")


class ReportError(Exception):
    """A report cannot be made; the message is one line meant for the user."""


# -- inputs ----------------------------------------------------------------------------


def parse_time(text: str) -> float:
    """Epoch seconds from ``text``: a number of seconds, or ISO-8601 such as
    ``2025-07-10T11:31:41Z`` (a time without an offset is UTC)."""
    stripped = text.strip()
    try:
        value = float(stripped)
    except ValueError:
        pass
    else:
        if not math.isfinite(value):
            raise ReportError(f"invalid time {text!r}: not a finite number of seconds")
        return value
    iso = stripped[:-1] + "+00:00" if stripped[-1:] in ("Z", "z") else stripped
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        raise ReportError(
            f"invalid time {text!r}: use epoch seconds or ISO-8601 UTC such as 2025-07-10T11:31:41Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def open_report_journal(path: str | PathLike[str]) -> Journal:
    """Open an existing journal read-only for a report (also while an engine writes it).

    Raises :class:`ReportError` (one line) for a missing file, a file that is not an
    SQLite database, or a database that is not a reconciler journal of this version.
    """
    p = Path(path)
    if not p.exists():
        raise ReportError(f"journal {str(path)!r} does not exist")
    if not p.is_file():
        raise ReportError(f"journal {str(path)!r} is not a file")
    try:
        with p.open("rb") as fh:
            header = fh.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise ReportError(f"cannot read journal {str(path)!r}: {exc.strerror or exc}") from None
    if header != _SQLITE_MAGIC:
        raise ReportError(f"{str(path)!r} is not a reconciler journal (not an SQLite database)")
    try:
        # Read-only: never creates or changes a file, takes no writer lock, and reads
        # alongside a running engine (WAL).
        return open_journal(p, read_only=True)
    except (JournalError, sqlite3.Error) as exc:
        raise ReportError(f"cannot read journal {str(path)!r}: {exc}") from None


# -- building ----------------------------------------------------------------------------


class _AccountSeen:
    """What the records say about one venue account."""

    __slots__ = ("events", "first_t", "frames", "last_t")

    def __init__(self, t: float) -> None:
        self.first_t = t
        self.last_t = t
        self.frames = 0
        self.events: list[tuple[float, str]] = []

    def saw(self, t: float) -> None:
        self.first_t = min(self.first_t, t)
        self.last_t = max(self.last_t, t)


def build_report(
    journal: Journal,
    *,
    from_t: float | None = None,
    to_t: float | None = None,
    venue: str | None = None,
    account: str | None = None,
    source: str = "",
    plugins: Mapping[str, VenuePlugin] | None = None,
) -> Report:
    """Build the report of ``journal``'s records and alerts within the filters.

    ``from_t``/``to_t`` bound record and alert times inclusively, ``venue`` keeps one
    venue; ``account`` keeps one account name (of any venue) after the replay. ``source``
    names the journal in the title. ``plugins`` defaults to the installed venue plugins.
    Raises :class:`ReportError` when the plugins cannot be loaded or the journal cannot
    be read.
    """
    if plugins is None:
        try:
            plugins = load_plugins()
        except PluginLoadError as exc:
            raise ReportError(str(exc)) from None
    config = CoreConfig(retention=_NEVER, max_history=_ALL_HISTORY)
    rec = Reconciler(plugins, config)
    filters = ReportFilters(from_t=from_t, to_t=to_t, venue=venue, account=account)

    def keep(acct: str) -> bool:
        return account is None or acct == account

    seen: dict[tuple[str, str], _AccountSeen] = {}
    expectations: list[tuple[float, Expectation]] = []
    skipped: Counter[str] = Counter()
    records = 0
    first_t = last_t = math.nan  # NaN until a record or an alert is seen
    try:
        for record in journal.records(from_t, to_t, venue):
            where = _where(record)
            if where is None or keep(where[1]):
                records += 1
                first_t, last_t = _widen(first_t, last_t, record.t)
            if where is not None and keep(where[1]):
                acct = seen.get(where)
                if acct is None:
                    acct = seen[where] = _AccountSeen(record.t)
                acct.saw(record.t)
                if isinstance(record, FrameRecord):
                    acct.frames += 1
                elif isinstance(record, ConnectionRecord):
                    acct.events.append((record.t, record.event))
                elif isinstance(record, ExpectRecord):
                    expectations.append((record.t, record.expectation))
            try:
                apply_record(rec, record)
            except UnknownVenueError as exc:
                skipped[str(exc.args[0])] += 1
        alerts = [a for a in journal.alerts() if _alert_selected(a, filters)]
    except (JournalError, sqlite3.Error, msgspec.DecodeError) as exc:
        raise ReportError(f"cannot read the journal: {exc}") from None

    alerts.sort(key=lambda a: a.t)  # stable: ties keep the order they were raised in
    for a in alerts:
        first_t, last_t = _widen(first_t, last_t, a.t)
    span_start = None if math.isnan(first_t) else first_t
    span_end = None if math.isnan(last_t) else last_t

    with localcontext(EXACT):
        states = [o for o in rec.orders() if keep(o.account)]
        order_anchors = _anchors("order", [(o.venue, o.order_id) for o in states])
        exp_keys = [(e.venue, e.account, e.client_order_id) for _, e in expectations]
        exp_anchors = _anchors("expectation", exp_keys)
        entries = _alert_entries(alerts, order_anchors, exp_anchors)
        orders = _orders(rec, states, order_anchors, expectations, entries, plugins)
        summary = _summary(
            records, seen, expectations, states, entries, span_start, span_end, alerts
        )
        exp_entries = _expectations(expectations, exp_anchors, states, order_anchors)
    title = "Reconciliation report" + (f": {source}" if source else "")
    return Report(
        title=title,
        source=source,
        filters=filters,
        span_start=span_start,
        span_end=span_end,
        summary=summary,
        alerts=tuple(entries),
        orders=orders,
        expectations=exp_entries,
        skipped=tuple(
            f"{n} record{'s' if n != 1 else ''} of venue {v!r}: no plugin for that venue"
            for v, n in sorted(skipped.items())
        ),
    )


def _widen(first: float, last: float, t: float) -> tuple[float, float]:
    if math.isnan(first):
        return t, t
    return min(first, t), max(last, t)


def _where(record: object) -> tuple[str, str] | None:
    """The venue account a record belongs to (None for a tick)."""
    if isinstance(record, FrameRecord | ConnectionRecord | ReportRecord):
        return (record.venue, record.account)
    if isinstance(record, ExpectRecord):
        return (record.expectation.venue, record.expectation.account)
    return None


def _alert_selected(alert: Alert, f: ReportFilters) -> bool:
    return (
        (f.from_t is None or alert.t >= f.from_t)
        and (f.to_t is None or alert.t <= f.to_t)
        and (f.venue is None or alert.venue == f.venue)
        and (f.account is None or alert.account == f.account)
    )


def _slug(text: str) -> str:
    return _SLUG.sub("_", text).strip("_")[:60] or "_"


def _anchors(prefix: str, keys: Iterable[tuple[str, ...]]) -> dict[tuple[str, ...], str]:
    """A unique HTML id per key, readable where the key allows (venue data is untrusted:
    anything but letters, digits, ``_`` and ``-`` is replaced, and a short hash keeps
    keys that clean up alike apart)."""
    anchors: dict[tuple[str, ...], str] = {}
    used: set[str] = set()
    for key in sorted(set(keys)):
        base = "-".join([prefix, *(_slug(k) for k in key)])
        if base in used or any(_slug(k) != k for k in key):
            digest = hashlib.blake2b("\x1f".join(key).encode(), digest_size=4).hexdigest()
            base = f"{base}-{digest}"
        used.add(base)
        anchors[key] = base
    return anchors


def _alert_entries(
    alerts: list[Alert],
    order_anchors: dict[tuple[str, ...], str],
    exp_anchors: dict[tuple[str, ...], str],
) -> list[AlertEntry]:
    entries = []
    for a in alerts:
        link = None
        if a.order_id is not None:
            link = order_anchors.get((a.venue, a.order_id)) or exp_anchors.get(
                (a.venue, a.account, a.order_id)
            )
        if link is None and a.parent_id is not None:
            link = order_anchors.get((a.venue, a.parent_id))
        entries.append(
            AlertEntry(
                id=a.id,
                anchor=f"alert-{_slug(a.id)}",
                t=a.t,
                code=str(a.code),
                severity=str(a.severity),
                venue=a.venue,
                account=a.account,
                order_id=a.order_id,
                parent_id=a.parent_id,
                message=a.message,
                evidence=dict(a.evidence),
                link=link,
            )
        )
    return entries


def _tree(states: list[OrderState]) -> list[tuple[OrderState, int]]:
    """Orders in display order: each parent followed by its children (indented)."""
    by_key = {(o.venue, o.order_id): o for o in states}
    parent_of: dict[tuple[str, str], tuple[str, str]] = {}
    for o in states:
        if o.parent_id is not None and (o.venue, o.parent_id) in by_key:
            parent_of[(o.venue, o.order_id)] = (o.venue, o.parent_id)
    for o in states:
        for cid in o.child_ids or ():
            key = (o.venue, cid)
            if key in by_key and key not in parent_of and key != (o.venue, o.order_id):
                parent_of[key] = (o.venue, o.order_id)
    children: defaultdict[tuple[str, str], list[OrderState]] = defaultdict(list)
    for key, parent in parent_of.items():
        children[parent].append(by_key[key])

    def order_key(o: OrderState) -> tuple[str, str, float, str]:
        return (o.venue, o.account, o.first_seen, o.order_id)

    out: list[tuple[OrderState, int]] = []
    done: set[tuple[str, str]] = set()

    def visit(o: OrderState, depth: int) -> None:
        key = (o.venue, o.order_id)
        if key in done:
            return
        done.add(key)
        out.append((o, depth))
        for child in sorted(children.get(key, ()), key=order_key):
            visit(child, depth + 1)

    roots = [o for o in states if (o.venue, o.order_id) not in parent_of]
    for o in sorted(roots, key=order_key):
        visit(o, 0)
    for o in sorted(states, key=order_key):  # a parent cycle: no root reaches it
        visit(o, 0)
    return out


def _orders(
    rec: Reconciler,
    states: list[OrderState],
    anchors: dict[tuple[str, ...], str],
    expectations: list[tuple[float, Expectation]],
    alerts: list[AlertEntry],
    plugins: Mapping[str, VenuePlugin],
) -> tuple[OrderReport, ...]:
    by_key = {(o.venue, o.order_id): o for o in states}
    expected = {(e.venue, e.account, e.client_order_id): e for _, e in expectations}
    alerts_of: defaultdict[tuple[str, str], list[AlertEntry]] = defaultdict(list)
    for a in alerts:
        if a.order_id is not None:
            alerts_of[(a.venue, a.order_id)].append(a)
    observed_children: defaultdict[tuple[str, str], list[str]] = defaultdict(list)
    for o in sorted(states, key=lambda o: (o.first_seen, o.order_id)):
        if o.parent_id is not None:
            observed_children[(o.venue, o.parent_id)].append(o.order_id)

    out = []
    for o, depth in _tree(states):
        key = (o.venue, o.order_id)
        child_ids = list(o.child_ids or ())
        child_ids += [c for c in observed_children.get(key, ()) if c not in child_ids]
        children = tuple(OrderRef(order_id=c, link=anchors.get((o.venue, c))) for c in child_ids)
        exp = None
        if o.expected and o.client_order_id is not None:
            exp = expected.get((o.venue, o.account, o.client_order_id))
        plugin = plugins.get(o.venue)
        children_filled = None
        if children and (o.is_parent or o.child_ids is not None):
            known = [by_key[(o.venue, c)].filled for c in child_ids if (o.venue, c) in by_key]
            children_filled = sum((f for f in known if f is not None), ZERO)
        own_alerts = alerts_of.get(key, [])
        out.append(
            OrderReport(
                anchor=anchors[key],
                venue=o.venue,
                account=o.account,
                order_id=o.order_id,
                client_order_id=o.client_order_id,
                symbol=o.symbol,
                side=o.side,
                status=None if o.status is None else str(o.status),
                raw_status=o.raw_status,
                terminal=o.terminal,
                first_seen=o.first_seen,
                last_update=o.last_update,
                depth=depth,
                parent=None
                if o.parent_id is None
                else OrderRef(order_id=o.parent_id, link=anchors.get((o.venue, o.parent_id))),
                is_parent=o.is_parent,
                children=children,
                reconciliation=_reconcile(
                    o,
                    None if exp is None else exp.quantity,
                    plugin is not None and plugin.streams_executions,
                    children_filled,
                ),
                timeline=_timeline(rec.history(o.venue, o.order_id), own_alerts),
                alert_ids=tuple(a.id for a in own_alerts),
            )
        )
    return tuple(out)


def _reconcile(
    o: OrderState,
    expected_quantity: Decimal | None,
    streams_executions: bool,
    children_filled: Decimal | None,
) -> FillReconciliation:
    q, f, e = o.quantity, o.filled, o.executions_filled
    d = fmt_decimal
    findings: list[str] = []
    if expected_quantity is not None and q is not None and expected_quantity != q:
        findings.append(f"expected quantity {d(expected_quantity)}, the venue reports {d(q)}")
    if f is not None and q is not None and f > q:
        findings.append(f"reported filled {d(f)} exceeds the quantity {d(q)}")
    if o.status is Status.FILLED and f is not None and q is not None and f < q:
        findings.append(f"status filled, but only {d(f)} of {d(q)} filled")
    if streams_executions and f is not None and e != f:
        findings.append(
            f"executions sum to {d(e)}, the venue reports {d(f)} filled (difference {d(e - f)})"
        )
    if children_filled is not None and f is not None and children_filled != f:
        findings.append(f"children filled {d(children_filled)}, the parent reports {d(f)}")
    return FillReconciliation(
        quantity=q,
        original_quantity=o.original_quantity,
        expected_quantity=expected_quantity,
        reported_filled=f,
        remaining=o.remaining,
        avg_price=o.avg_price,
        streams_executions=streams_executions,
        executions=o.executions,
        executions_filled=e,
        children_filled=children_filled,
        findings=tuple(findings),
        consistent=not findings,
    )


def _timeline(history: list[HistoryEntry], alerts: list[AlertEntry]) -> tuple[TimelineEntry, ...]:
    """The replay's history without its own alert notes, with the journal's alerts for
    the order merged in by time (an alert goes after the entries at or before it)."""
    out: list[TimelineEntry] = []
    pending = deque(alerts)

    def flush(before: float | None) -> None:
        while pending and (before is None or pending[0].t < before):
            a = pending.popleft()
            out.append(
                TimelineEntry(t=a.t, kind="alert", alert_id=a.id, note=f"{a.code}: {a.message}")
            )

    for h in history:
        if h.kind == "alert":
            continue
        flush(h.t)
        status = None if h.status is None else str(h.status)
        if h.kind == "fill":
            entry = TimelineEntry(
                t=h.t,
                kind="fill",
                applied=h.applied,
                executions_filled=h.filled,
                fill_quantity=h.quantity,
                fill_id=h.fill_id,
                note=h.note,
            )
        elif h.kind == "duplicate" and h.fill_id is not None:
            entry = TimelineEntry(
                t=h.t,
                kind="duplicate",
                applied=h.applied,
                fill_quantity=h.filled,
                fill_id=h.fill_id,
                note=h.note or "identical re-send of an execution, dropped",
            )
        else:
            entry = TimelineEntry(
                t=h.t,
                kind=h.kind,
                applied=h.applied,
                status=status,
                raw_status=h.raw_status,
                reported_filled=h.filled,
                quantity=h.quantity,
                note=h.note
                or (
                    "identical re-send of an order report, dropped" if h.kind == "duplicate" else ""
                ),
            )
        out.append(entry)
    flush(None)
    return tuple(out)


def _connection_health(
    venue: str,
    account: str,
    seen: _AccountSeen,
    gaps: int,
    span_start: float,
    span_end: float,
) -> ConnectionHealth:
    events = seen.events
    state = events[0][1] == "disconnected" if events else seen.frames > 0
    cursor = span_start
    intervals: list[ConnectionInterval] = []
    for t, event in events:
        now_connected = event == "connected"
        if now_connected == state:
            continue
        at = min(max(t, cursor), span_end)
        if at > cursor:
            intervals.append(ConnectionInterval(start=cursor, end=at, connected=state))
        cursor, state = at, now_connected
    if span_end > cursor:
        intervals.append(ConnectionInterval(start=cursor, end=span_end, connected=state))
    uptime = sum(i.end - i.start for i in intervals if i.connected)
    length = span_end - span_start
    return ConnectionHealth(
        venue=venue,
        account=account,
        first_t=seen.first_t,
        last_t=seen.last_t,
        frames=seen.frames,
        connects=sum(1 for _, e in events if e == "connected"),
        disconnects=sum(1 for _, e in events if e == "disconnected"),
        sequence_gaps=gaps,
        uptime_seconds=round(uptime, 6),
        uptime_pct=f"{100 * uptime / length:.1f}" if length > 0 else None,
        intervals=tuple(intervals),
    )


def _summary(
    records: int,
    seen: dict[tuple[str, str], _AccountSeen],
    expectations: list[tuple[float, Expectation]],
    states: list[OrderState],
    entries: list[AlertEntry],
    span_start: float | None,
    span_end: float | None,
    alerts: list[Alert],
) -> Summary:
    pairs = set(seen) | {(a.venue, a.account) for a in alerts}
    statuses = Counter(_UNREPORTED if o.status is None else str(o.status) for o in states)
    status_order = [str(s) for s in Status] + [_UNREPORTED]
    codes = Counter(a.code for a in entries)
    severities = Counter(a.severity for a in entries)
    gaps = Counter((a.venue, a.account) for a in alerts if a.code is AlertCode.SEQUENCE_GAP)
    connections: tuple[ConnectionHealth, ...] = ()
    if span_start is not None and span_end is not None:
        connections = tuple(
            _connection_health(v, a, seen[(v, a)], gaps[(v, a)], span_start, span_end)
            for v, a in sorted(seen)
            if seen[(v, a)].frames or seen[(v, a)].events
        )
    return Summary(
        venues=tuple(sorted({v for v, _ in pairs})),
        accounts=tuple(f"{v}/{a}" for v, a in sorted(pairs)),
        records=records,
        frames=sum(s.frames for s in seen.values()),
        frames_by_account={f"{v}/{a}": seen[(v, a)].frames for v, a in sorted(seen)},
        expectations=len(expectations),
        orders=len(states),
        orders_by_status={s: statuses[s] for s in status_order if statuses[s]},
        alerts=len(entries),
        alerts_by_severity={str(s): severities[str(s)] for s in _SEVERITIES},
        alerts_by_code=dict(sorted(codes.items(), key=lambda kv: (-kv[1], kv[0]))),
        connections=connections,
    )


def _expectations(
    expectations: list[tuple[float, Expectation]],
    anchors: dict[tuple[str, ...], str],
    states: list[OrderState],
    order_anchors: dict[tuple[str, ...], str],
) -> tuple[ExpectationEntry, ...]:
    by_client = {
        (o.venue, o.account, o.client_order_id): o
        for o in sorted(states, key=lambda o: (o.first_seen, o.order_id))
        if o.client_order_id is not None and o.expected
    }
    out = []
    done: set[tuple[str, str, str]] = set()
    for t, e in sorted(expectations, key=lambda te: (te[0], te[1].venue, te[1].client_order_id)):
        key = (e.venue, e.account, e.client_order_id)
        if key in done:  # registered twice: the anchor names the first
            continue
        done.add(key)
        order = by_client.get(key)
        out.append(
            ExpectationEntry(
                anchor=anchors[key],
                t=t,
                venue=e.venue,
                account=e.account,
                client_order_id=e.client_order_id,
                symbol=e.symbol,
                side=e.side,
                quantity=e.quantity,
                price=e.price,
                order=None
                if order is None
                else OrderRef(
                    order_id=order.order_id, link=order_anchors[(order.venue, order.order_id)]
                ),
            )
        )
    return tuple(out)


# -- rendering -------------------------------------------------------------------------


def render(report: Report, fmt: str) -> str:
    """The report as ``html``, ``md``, ``json`` or ``csv`` text (see docs/reports.md)."""
    # Imported here: each renderer is loaded only when asked for.
    if fmt == "html":
        from reconciler._report_html import render_html  # noqa: PLC0415

        return render_html(report)
    from reconciler import _report_text  # noqa: PLC0415

    if fmt == "md":
        return _report_text.render_markdown(report)
    if fmt == "json":
        return _report_text.render_json(report)
    if fmt == "csv":
        return _report_text.render_csv(report)
    raise ValueError(f"unknown report format {fmt!r} (choose {', '.join(FORMATS)})")
