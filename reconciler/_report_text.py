"""Text renderings of a report: Markdown, JSON and CSV (see ``docs/reports.md``).

Everything that comes from a journal is venue data and untrusted: Markdown escapes it
(HTML and Markdown syntax alike) and CSV neutralizes cells a spreadsheet would run as a
formula.
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Final

import msgspec

from reconciler._report_model import (
    AlertEntry,
    OrderRef,
    OrderReport,
    Report,
    TimelineEntry,
    fmt_decimal,
    fmt_time,
)

__all__ = ["CSV_COLUMNS", "render_csv", "render_json", "render_markdown"]

# -- JSON ------------------------------------------------------------------------------


def render_json(report: Report) -> str:
    """The whole report model as one JSON object (fields in a fixed order, quantities as
    exact strings, times as epoch seconds), indented, with a final newline."""
    return msgspec.json.format(msgspec.json.encode(report), indent=2).decode() + "\n"


# -- CSV -------------------------------------------------------------------------------

#: One row per alert; the ``order_*`` columns describe the order the alert concerns
#: (empty when it concerns none, or one outside the report).
CSV_COLUMNS: Final = (
    "alert_id",
    "time_utc",
    "t",
    "severity",
    "code",
    "venue",
    "account",
    "order_id",
    "parent_id",
    "message",
    "evidence",
    "order_status",
    "order_raw_status",
    "order_symbol",
    "order_side",
    "order_client_order_id",
    "order_quantity",
    "order_expected_quantity",
    "order_reported_filled",
    "order_executions_filled",
    "order_executions",
    "order_fills_consistent",
    "order_fill_findings",
)

_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str | None) -> str:
    """A text cell a spreadsheet shows as text (a leading ``'`` defuses a formula)."""
    if text is None:
        return ""
    return "'" + text if text.startswith(_FORMULA_START) else text


def render_csv(report: Report) -> str:
    """The alerts as one CSV table (header row, then one row per alert, in time order)."""
    by_anchor = {o.anchor: o for o in report.orders}
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for a in report.alerts:
        o = by_anchor.get(a.link or "")
        row = [
            _cell(a.id),
            fmt_time(a.t),
            repr(a.t),
            a.severity,
            a.code,
            _cell(a.venue),
            _cell(a.account),
            _cell(a.order_id),
            _cell(a.parent_id),
            _cell(a.message),
            _cell(_evidence_text(a)),
        ]
        if o is None or o.order_id not in (a.order_id, a.parent_id):
            row += [""] * (len(CSV_COLUMNS) - len(row))
        else:
            r = o.reconciliation
            row += [
                o.status or "",
                _cell(o.raw_status),
                _cell(o.symbol),
                _cell(o.side),
                _cell(o.client_order_id),
                _num(r.quantity),
                _num(r.expected_quantity),
                _num(r.reported_filled),
                _num(r.executions_filled) if r.streams_executions else "",
                str(r.executions) if r.streams_executions else "",
                "yes" if r.consistent else "no",
                _cell("; ".join(r.findings)),
            ]
        writer.writerow(row)
    return buf.getvalue()


def _num(value: Decimal | None) -> str:
    return "" if value is None else fmt_decimal(value)


def _evidence_text(a: AlertEntry) -> str:
    return "; ".join(f"{k}={v}" for k, v in a.evidence.items())


# -- Markdown --------------------------------------------------------------------------

# Characters with Markdown meaning anywhere in a line. An underscore inside a word
# (ORDER_REJECTED) cannot start or end emphasis, so only one at a word's edge is escaped.
_MD_SPECIAL = re.compile(r"([\\`*\[\]#|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")


def md(text: object) -> str:
    """Venue data as inert Markdown text: HTML-escaped, Markdown syntax backslashed,
    on one line (safe in a table cell)."""
    s = " ".join(str(text).split())
    s = html.escape(s, quote=False)
    # html.escape produced &lt; &gt; &amp; only; escape Markdown syntax but keep those.
    return _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), s)


def _link(text: str, anchor: str | None) -> str:
    return md(text) if anchor is None else f"[{md(text)}](#{anchor})"


def _ref(ref: OrderRef | None) -> str:
    return "-" if ref is None else _link(ref.order_id, ref.link)


def _table(head: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def _span(report: Report) -> str:
    if report.span_start is None or report.span_end is None:
        return "nothing (no records or alerts match)"
    length = report.span_end - report.span_start
    return f"{fmt_time(report.span_start)} to {fmt_time(report.span_end)} UTC ({length:.3f} s)"


def _filters(report: Report) -> str:
    f = report.filters
    parts = [
        f"from {fmt_time(f.from_t) if f.from_t is not None else 'the start'}",
        f"to {fmt_time(f.to_t) if f.to_t is not None else 'the end'}",
        f"venue {md(f.venue) if f.venue is not None else 'all'}",
        f"account {md(f.account) if f.account is not None else 'all'}",
    ]
    return ", ".join(parts)


def _order_label(o: OrderReport) -> str:
    return f"{o.venue}/{o.account} order {o.order_id}"


def _status(status: str | None, raw: str | None) -> str:
    if status is None:
        return "unreported"
    return md(status) if raw is None else f"{md(status)} ({md(raw)})"


def _timeline_row(e: TimelineEntry, alert_anchor: dict[str, str]) -> list[str]:
    if e.kind == "alert":
        event = _link("alert", alert_anchor.get(e.alert_id or ""))
    else:
        event = e.kind if e.applied else f"{e.kind} (not applied)"
    return [
        fmt_time(e.t),
        event,
        "" if e.status is None else _status(e.status, e.raw_status),
        "" if e.reported_filled is None else fmt_decimal(e.reported_filled),
        "" if e.fill_quantity is None else fmt_decimal(e.fill_quantity),
        "" if e.executions_filled is None else fmt_decimal(e.executions_filled),
        "" if e.quantity is None else fmt_decimal(e.quantity),
        md(" ".join(x for x in (e.fill_id and f"fill {e.fill_id}", e.note) if x)),
    ]


def render_markdown(report: Report) -> str:
    """The report as Markdown: headings, tables, and links from every alert to its order."""
    s = report.summary
    out: list[str] = [f"# {md(report.title)}", ""]
    if report.source:
        out.append(f"- Journal: {md(report.source)}")
    out += [f"- Covers: {_span(report)}", f"- Filters: {_filters(report)}"]
    out += [f"- Skipped: {md(line)}" for line in report.skipped]
    out += ["", "## Summary", ""]
    sev = s.alerts_by_severity
    out += _table(
        ("Item", "Value"),
        [
            ("Venues", md(", ".join(s.venues)) or "-"),
            ("Venue accounts", md(", ".join(s.accounts)) or "-"),
            ("Records replayed", str(s.records)),
            ("Frames", str(s.frames)),
            ("Expectations", str(s.expectations)),
            ("Orders", str(s.orders)),
            (
                "Alerts",
                f"{s.alerts} (" + ", ".join(f"{n} {k}" for k, n in sev.items()) + ")",
            ),
        ],
    )
    out += ["### Connection health", ""]
    if s.connections:
        out += _table(
            (
                "Venue/account",
                "First record (UTC)",
                "Last record (UTC)",
                "Frames",
                "Uptime",
                "Connects",
                "Disconnects",
                "Sequence gaps",
            ),
            [
                (
                    md(f"{c.venue}/{c.account}"),
                    fmt_time(c.first_t),
                    fmt_time(c.last_t),
                    str(c.frames),
                    "-" if c.uptime_pct is None else f"{c.uptime_pct}% ({c.uptime_seconds:.3f} s)",
                    str(c.connects),
                    str(c.disconnects),
                    str(c.sequence_gaps),
                )
                for c in s.connections
            ],
        )
    else:
        out += ["No connection activity in the report.", ""]
    out += ["### Orders by final status", ""]
    out += _table(("Status", "Orders"), [(md(k), str(n)) for k, n in s.orders_by_status.items()])
    out += ["### Alerts by severity", ""]
    out += _table(("Severity", "Alerts"), [(k, str(n)) for k, n in sev.items()])
    out += ["### Alerts by code", ""]
    if s.alerts_by_code:
        out += _table(("Code", "Alerts"), [(md(k), str(n)) for k, n in s.alerts_by_code.items()])
    else:
        out += ["No alerts.", ""]

    out += ["## Alerts", ""]
    if report.alerts:
        out += _table(
            (
                "Alert",
                "Time (UTC)",
                "Severity",
                "Code",
                "Venue/account",
                "Order",
                "Message",
                "Evidence",
            ),
            [
                (
                    f'<a id="{a.anchor}"></a>{md(a.id)}',
                    fmt_time(a.t),
                    a.severity,
                    md(a.code),
                    md(f"{a.venue}/{a.account}"),
                    "-" if a.order_id is None else _link(a.order_id, a.link),
                    md(a.message),
                    "<br>".join(f"{md(k)}: {md(v)}" for k, v in a.evidence.items()) or "-",
                )
                for a in report.alerts
            ],
        )
    else:
        out += ["No alerts were raised in the report's span.", ""]

    out += _orders_markdown(report)
    out += ["## Expectations", ""]
    if report.expectations:
        out += _table(
            (
                "Registered (UTC)",
                "Venue/account",
                "Client order id",
                "Symbol",
                "Side",
                "Quantity",
                "Price",
                "Order",
            ),
            [
                (
                    f'<a id="{e.anchor}"></a>{fmt_time(e.t)}',
                    md(f"{e.venue}/{e.account}"),
                    md(e.client_order_id),
                    md(e.symbol),
                    md(e.side),
                    fmt_decimal(e.quantity),
                    fmt_decimal(e.price),
                    "never reported" if e.order is None else _ref(e.order),
                )
                for e in report.expectations
            ],
        )
    else:
        out += ["No expectations were registered in the report's span.", ""]
    return "\n".join(out).rstrip("\n") + "\n"


def _orders_markdown(report: Report) -> list[str]:
    out = ["## Orders", ""]
    if not report.orders:
        return [*out, "No orders in the report.", ""]
    alert_anchor = {a.id: a.anchor for a in report.alerts}
    alert_code = {a.id: a.code for a in report.alerts}
    rows = []
    for o in report.orders:
        r = o.reconciliation
        indent = "&#8627; " * o.depth
        rows.append(
            (
                indent + _link(o.order_id, o.anchor),
                md(f"{o.venue}/{o.account}"),
                md(o.symbol or "-"),
                md(o.side or "-"),
                _status(o.status, o.raw_status),
                fmt_decimal(r.quantity),
                fmt_decimal(r.reported_filled),
                fmt_decimal(r.executions_filled) if r.streams_executions else "n/a",
                "yes" if r.consistent else "**no**",
                str(len(o.alert_ids)),
            )
        )
    out += _table(
        (
            "Order",
            "Venue/account",
            "Symbol",
            "Side",
            "Final status",
            "Quantity",
            "Filled",
            "Executions",
            "Fills reconcile",
            "Alerts",
        ),
        rows,
    )
    for o in report.orders:
        r = o.reconciliation
        out += [f'### <a id="{o.anchor}"></a>{md(_order_label(o))}', ""]
        facts = [
            (
                f"- Symbol: {md(o.symbol or '-')}, side: {md(o.side or '-')}, "
                f"final status: {_status(o.status, o.raw_status)}"
            ),
            f"- First seen {fmt_time(o.first_seen)}, last update {fmt_time(o.last_update)} UTC",
        ]
        if o.client_order_id is not None:
            facts.append(f"- Client order id: {md(o.client_order_id)}")
        if o.parent is not None:
            facts.append(f"- Parent: {_ref(o.parent)}")
        if o.children:
            facts.append("- Children: " + ", ".join(_ref(c) for c in o.children))
        if o.alert_ids:
            facts.append(
                "- Alerts: "
                + ", ".join(_link(alert_code.get(a, a), alert_anchor.get(a)) for a in o.alert_ids)
            )
        out += [*facts, ""]
        recon = r.rows(fmt_decimal, "n/a (the venue does not stream executions)")
        recon.append(("Result", "consistent" if r.consistent else md("; ".join(r.findings))))
        out += _table(("Fill reconciliation", "Value"), recon)
        out += _table(
            (
                "Time (UTC)",
                "Event",
                "Status",
                "Reported filled",
                "Fill",
                "Executions filled",
                "Quantity",
                "Note",
            ),
            [_timeline_row(e, alert_anchor) for e in o.timeline],
        )
    return out
