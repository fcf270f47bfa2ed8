"""The HTML rendering of a report: one self-contained page (inline CSS, inline SVG charts).

No script, no external asset, no URL: the file opens the same offline, from an e-mail
attachment or an archive. Every string that comes from a journal (venue data) goes
through :func:`html.escape`; anchors are built by the model from a restricted alphabet
and escaped all the same.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from html import escape
from typing import Final

from reconciler._report_model import (
    AlertEntry,
    ConnectionHealth,
    OrderRef,
    OrderReport,
    Report,
    TimelineEntry,
    fmt_decimal,
    fmt_time,
)

__all__ = ["render_html"]

#: Venue colours (assigned in sorted venue order) and severity colours.
_PALETTE: Final = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#b07aa1",
    "#76b7b2",
    "#edc948",
    "#9c755f",
    "#ff9da7",
)
_BUCKET_STEPS: Final = (
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
    86400, 172800, 604800,
)  # fmt: skip
_MAX_BUCKETS: Final = 40

_CSS: Final = """
:root { --border: #d0d7de; --muted: #57606a; --bg: #f6f8fa; --crit: #cf222e;
  --warn: #bf8700; --info: #0969da; --ok: #1a7f37; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: #1f2328;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
main { max-width: 1320px; margin: 0 auto; padding: 20px 24px 48px; }
h1 { font-size: 24px; margin: 0 0 6px; }
h2 { font-size: 19px; margin: 28px 0 10px; padding-bottom: 4px;
  border-bottom: 1px solid var(--border); }
h3 { font-size: 15px; margin: 18px 0 8px; }
p.meta { margin: 2px 0; color: var(--muted); }
nav { margin: 12px 0 4px; }
nav a { margin-right: 14px; }
a { color: var(--info); text-decoration: none; }
a:hover { text-decoration: underline; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(130px, 1fr));
  gap: 12px; margin: 14px 0; }
.card { background: #fff; border: 1px solid var(--border); border-radius: 6px;
  padding: 10px 14px; }
.card .n { font-size: 24px; font-weight: 600; }
.card .l { color: var(--muted); font-size: 12px; text-transform: uppercase;
  letter-spacing: .04em; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr));
  gap: 16px; align-items: start; }
.panel { background: #fff; border: 1px solid var(--border); border-radius: 6px;
  padding: 12px 14px; margin-bottom: 14px; overflow-x: auto; }
.panel > h3:first-child { margin-top: 0; }
table { border-collapse: collapse; background: #fff; }
th, td { border: 1px solid var(--border); padding: 4px 8px; text-align: left;
  vertical-align: top; }
th { background: #eef1f4; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.time { white-space: nowrap; font-variant-numeric: tabular-nums; }
table.wide { width: 100%; }
.id { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 12px; overflow-wrap: anywhere; }
.sev { display: inline-block; padding: 0 6px; border-radius: 10px; color: #fff;
  font-size: 12px; font-weight: 600; }
.sev-critical { background: var(--crit); }
.sev-warning { background: var(--warn); }
.sev-info { background: var(--info); }
.bad { color: var(--crit); font-weight: 600; }
.good { color: var(--ok); }
.muted { color: var(--muted); }
dl.ev { margin: 0; display: grid; grid-template-columns: max-content 1fr; gap: 0 8px; }
dl.ev dt { color: var(--muted); }
dl.ev dd { margin: 0; overflow-wrap: anywhere; }
tr.alert-row td { background: #fff8f0; }
tr.not-applied td { color: var(--muted); font-style: italic; }
details.order { background: #fff; border: 1px solid var(--border); border-radius: 6px;
  margin-bottom: 10px; }
details.order > summary { cursor: pointer; padding: 8px 12px; list-style-position: inside; }
details.order[open] > summary { border-bottom: 1px solid var(--border); }
details.order .body { padding: 10px 14px; }
.depth-1 { margin-left: 28px; }
.depth-2 { margin-left: 56px; }
.depth-3 { margin-left: 84px; }
.legend { font-size: 12px; color: var(--muted); margin: 4px 0; }
.legend span.sw { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 10px;
  vertical-align: middle; }
.legend span.sw.line { height: 2px; }
.row { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
.stack { max-width: 560px; }
.stack > table + table { margin-top: 10px; }
svg { display: block; }
svg.wide-chart { max-width: 100%; height: auto; }
.nowrap { white-space: nowrap; }
td.c-order { min-width: 280px; }
td.c-msg { min-width: 200px; }
td.c-ev { min-width: 220px; }
td.c-code { min-width: 150px; }
.alert-code { font-weight: 600; }
.small { font-size: 11px; }
th.wrap { white-space: normal; }
svg text { font: 11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  fill: #57606a; }
:target { outline: 2px solid var(--info); outline-offset: 2px; }
@media print { details.order { break-inside: avoid; } nav { display: none; } }
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _f(x: float) -> str:
    text = f"{x:.1f}"
    return "0.0" if text == "-0.0" else text


def _num(value: Decimal | None) -> str:
    return _e(fmt_decimal(value))


def _link(text: str, anchor: str | None, cls: str = "id") -> str:
    inner = f'<span class="{cls}">{_e(text)}</span>'
    return inner if anchor is None else f'<a href="#{_e(anchor)}">{inner}</a>'


def _ref(ref: OrderRef | None) -> str:
    return '<span class="muted">-</span>' if ref is None else _link(ref.order_id, ref.link)


def _sev(severity: str) -> str:
    return f'<span class="sev sev-{_e(severity)}">{_e(severity)}</span>'


def _table(
    head: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    num: Iterable[int] = (),
    cls: str = "",
    row_cls: Sequence[str] | None = None,
    cols: Sequence[str] = (),
) -> str:
    """A table; ``head`` is plain text, ``rows`` are HTML cells (already escaped).

    ``num`` are right-aligned numeric columns, ``cols`` a CSS class per column.
    """
    nums = set(num)

    def classes(i: int) -> str:
        names = [c for c in ("num" if i in nums else "", cols[i] if i < len(cols) else "") if c]
        return f' class="{" ".join(names)}"' if names else ""

    attr = f' class="{cls}"' if cls else ""
    out = [f"<table{attr}><thead><tr>"]
    out += [f"<th{classes(i)}>{_e(h)}</th>" for i, h in enumerate(head)]
    out.append("</tr></thead><tbody>")
    for r, row in enumerate(rows):
        rc = row_cls[r] if row_cls is not None and row_cls[r] else ""
        out.append(f'<tr class="{rc}">' if rc else "<tr>")
        out += [f"<td{classes(i)}>{cell}</td>" for i, cell in enumerate(row)]
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _clock(t: float) -> str:
    try:
        return datetime.fromtimestamp(t, UTC).strftime("%H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return f"{t:.0f}"


def _venue_colors(report: Report) -> dict[str, str]:
    venues = sorted(set(report.summary.venues) | {a.venue for a in report.alerts})
    return {v: _PALETTE[i % len(_PALETTE)] for i, v in enumerate(venues)}


# -- charts ------------------------------------------------------------------------------


def _alerts_chart(report: Report, colors: dict[str, str]) -> str:
    """Alerts per time bucket, stacked by venue (inline SVG)."""
    alerts = report.alerts
    if not alerts or report.span_start is None or report.span_end is None:
        return '<p class="muted">No alerts in the report\'s span.</p>'
    start, end = report.span_start, report.span_end
    length = max(end - start, 0.0)
    step: float = next(
        (s for s in _BUCKET_STEPS if length / s < _MAX_BUCKETS), float(_BUCKET_STEPS[-1])
    )
    first = math.floor(start / step) * step
    buckets = int((end - first) // step) + 1
    counts: list[Counter[str]] = [Counter() for _ in range(buckets)]
    for a in alerts:
        i = min(max(int((a.t - first) // step), 0), buckets - 1)
        counts[i][a.venue] += 1
    top = max(sum(c.values()) for c in counts)
    width, height, left, right, top_pad, bottom = 1240, 240, 44, 12, 12, 34
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    bar_w = plot_w / buckets
    y_max = max(top, 1)

    def y(v: float) -> float:
        return top_pad + plot_h - v / y_max * plot_h

    parts = [
        (
            f'<svg class="chart wide-chart" role="img" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" aria-label="Alerts over time per venue">'
        ),
        f"<title>Alerts over time per venue ({_e(_step_text(step))} buckets)</title>",
    ]
    tick = _nice_tick(y_max)
    v = 0
    while v <= y_max:
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{_f(y(v))}" y2="{_f(y(v))}" '
            'stroke="#e5e8eb"/>'
            f'<text x="{left - 6}" y="{_f(y(v) + 4)}" text-anchor="end">{v}</text>'
        )
        v += tick
    label_every = max(1, math.ceil(buckets / 8))
    for i, c in enumerate(counts):
        x0 = left + i * bar_w
        b0 = first + i * step
        if i % label_every == 0:
            parts.append(
                f'<line x1="{_f(x0)}" x2="{_f(x0)}" y1="{top_pad + plot_h}" '
                f'y2="{top_pad + plot_h + 4}" stroke="#8c959f"/>'
                f'<text x="{_f(x0)}" y="{top_pad + plot_h + 16}">{_e(_clock(b0))}</text>'
            )
        level = 0
        for venue in sorted(c):
            n = c[venue]
            tip = (
                f"{venue}: {n} alert{'s' if n != 1 else ''}, "
                f"{fmt_time(b0)} to {fmt_time(b0 + step)} UTC"
            )
            parts.append(
                f'<rect x="{_f(x0 + 1)}" y="{_f(y(level + n))}" '
                f'width="{_f(max(bar_w - 2, 1))}" height="{_f(y(level) - y(level + n))}" '
                f'fill="{_e(colors.get(venue, "#8c959f"))}"><title>{_e(tip)}</title></rect>'
            )
            level += n
    parts.append(
        f'<line x1="{left}" x2="{width - right}" y1="{top_pad + plot_h}" '
        f'y2="{top_pad + plot_h}" stroke="#8c959f"/>'
    )
    parts.append("</svg>")
    legend = "".join(
        f'<span class="sw" style="background:{_e(colors[v])}"></span>{_e(v)}'
        for v in sorted({a.venue for a in alerts})
    )
    caption = (
        f"Alerts raised per {_e(_step_text(step))}, stacked by venue; times UTC "
        f"from {_e(fmt_time(first))}. Hover a bar for its count."
    )
    return "".join(parts) + f'<p class="legend">{legend}</p><p class="legend">{caption}</p>'


def _step_text(step: float) -> str:
    if step < 60:
        return f"{step:g} s"
    if step < 3600:
        return f"{step / 60:g} min"
    if step < 86400:
        return f"{step / 3600:g} h"
    return f"{step / 86400:g} d"


def _nice_tick(top: int) -> int:
    for tick in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000):
        if top / tick <= 5:
            return tick
    return max(1, top // 5)


def _connection_strip(c: ConnectionHealth, start: float, end: float) -> str:
    """Connected (green) and disconnected (red) stretches of the span (inline SVG)."""
    width, height = 160, 14
    length = end - start
    if length <= 0 or not c.intervals:
        return '<span class="muted">-</span>'
    parts = [
        (
            f'<svg class="strip" role="img" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" aria-label="connection over the span">'
        )
    ]
    for i in c.intervals:
        x0 = (i.start - start) / length * width
        w = max((i.end - i.start) / length * width, 0.5)
        state = "connected" if i.connected else "disconnected"
        color = "#2da44e" if i.connected else "#cf222e"
        tip = f"{state} {fmt_time(i.start)} to {fmt_time(i.end)} UTC"
        parts.append(
            f'<rect x="{_f(x0)}" y="0" width="{_f(w)}" height="{height}" fill="{color}">'
            f"<title>{_e(tip)}</title></rect>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _fill_chart(o: OrderReport, alert_codes: dict[str, str]) -> str:
    """Cumulative filled (reported, and executions) against the quantity (inline SVG)."""
    r = o.reconciliation
    reported: list[tuple[float, float]] = []
    rejected: list[tuple[float, float]] = []
    executions: list[tuple[float, float]] = []
    quantity: list[tuple[float, float]] = []
    alerts: list[TimelineEntry] = []
    for e in o.timeline:
        if e.kind == "alert":
            alerts.append(e)
        elif e.kind == "update" and e.reported_filled is not None:
            (reported if e.applied else rejected).append((e.t, float(e.reported_filled)))
        elif e.kind == "fill" and e.executions_filled is not None:
            executions.append((e.t, float(e.executions_filled)))
        if e.kind == "update" and e.applied and e.quantity is not None:
            quantity.append((e.t, float(e.quantity)))
    if not (reported or executions or rejected):
        return ""
    times = [t for t, _ in reported + rejected + executions + quantity] + [e.t for e in alerts]
    t0, t1 = min(times), max(times)
    if executions and t0 < executions[0][0]:
        executions.insert(0, (t0, 0.0))  # nothing was executed before the first execution
    if t1 - t0 < 1e-9:
        t0, t1 = t0 - 1, t1 + 1
    values = [v for _, v in reported + rejected + executions + quantity]
    expected = None if r.expected_quantity is None else float(r.expected_quantity)
    if expected is not None:
        values.append(expected)
    v_max = max(values) if values and max(values) > 0 else 1.0
    width, height, left, right, top_pad, bottom = 560, 190, 64, 16, 14, 30
    plot_w, plot_h = width - left - right, height - top_pad - bottom

    def x(t: float) -> float:
        return left + (t - t0) / (t1 - t0) * plot_w

    def y(v: float) -> float:
        return top_pad + plot_h - v / (v_max * 1.08) * plot_h

    def step_path(points: list[tuple[float, float]]) -> str:
        d = [f"M{_f(x(points[0][0]))} {_f(y(points[0][1]))}"]
        for t, v in points[1:]:
            d.append(f"H{_f(x(t))} V{_f(y(v))}")
        d.append(f"H{_f(x(t1))}")
        return " ".join(d)

    label = f"Fill progress of {o.venue} order {o.order_id}"
    parts = [
        (
            f'<svg class="chart fill" role="img" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" aria-label="{_e(label)}"><title>{_e(label)}</title>'
        ),
        f'<line x1="{left}" x2="{left}" y1="{top_pad}" y2="{top_pad + plot_h}" stroke="#8c959f"/>',
        (
            f'<line x1="{left}" x2="{width - right}" y1="{top_pad + plot_h}" '
            f'y2="{top_pad + plot_h}" stroke="#8c959f"/>'
        ),
        f'<text x="{left - 6}" y="{_f(y(0) + 4)}" text-anchor="end">0</text>',
        f'<text x="{left - 6}" y="{_f(y(v_max) + 4)}" text-anchor="end">{_e(_short(v_max))}</text>',
        f'<text x="{left}" y="{height - 8}">{_e(_clock(t0))}</text>',
        f'<text x="{width - right}" y="{height - 8}" text-anchor="end">{_e(_clock(t1))}</text>',
    ]
    for a in alerts:
        code = alert_codes.get(a.alert_id or "", "alert")
        parts.append(
            f'<line x1="{_f(x(a.t))}" x2="{_f(x(a.t))}" y1="{top_pad}" y2="{top_pad + plot_h}" '
            f'stroke="#cf222e" stroke-dasharray="2 3"><title>{_e(code)} at '
            f"{_e(fmt_time(a.t))} UTC</title></line>"
        )
    if quantity:
        parts.append(
            f'<path d="{step_path(quantity)}" fill="none" stroke="#8c959f" '
            'stroke-width="1.5" stroke-dasharray="6 4"/>'
        )
    if expected is not None:
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{_f(y(expected))}" '
            f'y2="{_f(y(expected))}" stroke="#bf8700" stroke-width="1.5" '
            f'stroke-dasharray="2 2"><title>expected quantity {_e(_short(expected))}</title></line>'
        )
    if executions:
        parts.append(
            f'<path d="{step_path(executions)}" fill="none" stroke="#59a14f" stroke-width="2"/>'
        )
    if reported:
        parts.append(
            f'<path d="{step_path(reported)}" fill="none" stroke="#0969da" stroke-width="2"/>'
        )
    for t, v in reported:
        parts.append(
            f'<circle cx="{_f(x(t))}" cy="{_f(y(v))}" r="2.5" fill="#0969da">'
            f"<title>reported filled {_e(_short(v))} at {_e(fmt_time(t))} UTC</title></circle>"
        )
    for t, v in rejected:
        parts.append(
            f'<circle cx="{_f(x(t))}" cy="{_f(y(v))}" r="4" fill="none" stroke="#cf222e" '
            f'stroke-width="1.5"><title>not applied: reported filled {_e(_short(v))} at '
            f"{_e(fmt_time(t))} UTC</title></circle>"
        )
    parts.append("</svg>")
    legend = ['<p class="legend">']
    if reported:
        legend.append('<span class="sw line" style="background:#0969da"></span>reported filled')
    if executions:
        legend.append('<span class="sw line" style="background:#59a14f"></span>sum of executions')
    if quantity:
        legend.append('<span class="sw line" style="background:#8c959f"></span>order quantity')
    if expected is not None:
        legend.append('<span class="sw line" style="background:#bf8700"></span>expected quantity')
    if rejected:
        legend.append(
            '<span class="sw" style="border:1.5px solid #cf222e;border-radius:50%"></span>'
            "report not applied"
        )
    if alerts:
        legend.append('<span class="sw line" style="background:#cf222e"></span>alert')
    legend.append("</p>")
    return "".join(parts) + "".join(legend)


def _short(v: float) -> str:
    return f"{v:.8g}"


# -- sections ----------------------------------------------------------------------------


def _header(report: Report) -> str:
    f = report.filters
    span = (
        "nothing (no records or alerts match)"
        if report.span_start is None or report.span_end is None
        else f"{fmt_time(report.span_start)} to {fmt_time(report.span_end)} UTC "
        f"({report.span_end - report.span_start:.3f} s)"
    )
    filters = ", ".join(
        [
            f"from {fmt_time(f.from_t) if f.from_t is not None else 'the start'}",
            f"to {fmt_time(f.to_t) if f.to_t is not None else 'the end'}",
            f"venue {f.venue if f.venue is not None else 'all'}",
            f"account {f.account if f.account is not None else 'all'}",
        ]
    )
    out = [f"<h1>{_e(report.title)}</h1>"]
    if report.source:
        out.append(f'<p class="meta">Journal: <span class="id">{_e(report.source)}</span></p>')
    out.append(f'<p class="meta">Covers: {_e(span)}</p>')
    out.append(f'<p class="meta">Filters: {_e(filters)}</p>')
    out += [f'<p class="meta bad">Skipped: {_e(line)}</p>' for line in report.skipped]
    out.append(
        '<nav><a href="#summary">Summary</a><a href="#alerts-over-time">Alerts over time</a>'
        '<a href="#alerts">Alerts</a><a href="#orders">Orders</a>'
        '<a href="#expectations">Expectations</a></nav>'
    )
    return "".join(out)


def _summary(report: Report) -> str:
    s = report.summary
    sev = s.alerts_by_severity
    inconsistent = sum(1 for o in report.orders if not o.reconciliation.consistent)
    cards = [
        (str(s.alerts), "alerts", ""),
        (str(sev.get("critical", 0)), "critical", "bad" if sev.get("critical") else ""),
        (str(sev.get("warning", 0)), "warning", ""),
        (str(sev.get("info", 0)), "info", ""),
        (str(s.orders), "orders", ""),
        (str(inconsistent), "orders whose fills disagree", "bad" if inconsistent else ""),
        (str(s.frames), "frames", ""),
        (str(len(s.accounts)), "venue accounts", ""),
    ]
    out = ['<section id="summary"><h2>Summary</h2><div class="cards">']
    out += [
        f'<div class="card"><div class="n {cls}">{_e(n)}</div>'
        f'<div class="l">{_e(label)}</div></div>'
        for n, label, cls in cards
    ]
    out.append("</div>")
    out.append('<div class="panel"><h3>Overview</h3>')
    out.append(
        _table(
            ("Item", "Value"),
            [
                ("Venues", _e(", ".join(s.venues)) or "-"),
                ("Venue accounts", _e(", ".join(s.accounts)) or "-"),
                ("Records replayed", _e(s.records)),
                ("Frames", _e(s.frames)),
                ("Expectations", _e(s.expectations)),
                ("Orders", _e(s.orders)),
                ("Alerts", _e(s.alerts)),
            ],
            cls="summary",
        )
    )
    out.append("</div>")
    out.append('<div class="panel"><h3>Connection health</h3>')
    if s.connections and report.span_start is not None and report.span_end is not None:
        start, end = report.span_start, report.span_end
        out.append(
            _table(
                (
                    "Venue/account",
                    "First record (UTC)",
                    "Last record (UTC)",
                    "Frames",
                    "Uptime",
                    "Connected over the span",
                    "Connects",
                    "Disconnects",
                    "Sequence gaps",
                ),
                [
                    (
                        _e(f"{c.venue}/{c.account}"),
                        f'<span class="time">{_e(fmt_time(c.first_t))}</span>',
                        f'<span class="time">{_e(fmt_time(c.last_t))}</span>',
                        _e(c.frames),
                        "-" if c.uptime_pct is None else _e(f"{c.uptime_pct}%"),
                        _connection_strip(c, start, end),
                        _e(c.connects),
                        f'<span class="bad">{c.disconnects}</span>'
                        if c.disconnects
                        else _e(c.disconnects),
                        f'<span class="bad">{c.sequence_gaps}</span>'
                        if c.sequence_gaps
                        else _e(c.sequence_gaps),
                    )
                    for c in s.connections
                ],
                num=(3, 4, 6, 7, 8),
            )
        )
        out.append(
            '<p class="legend"><span class="sw" style="background:#2da44e"></span>connected'
            '<span class="sw" style="background:#cf222e"></span>disconnected '
            "(over the report's span; hover for times)</p>"
        )
    else:
        out.append('<p class="muted">No connection activity in the report.</p>')
    out.append('</div><div class="grid"><div class="panel"><h3>Orders by final status</h3>')
    out.append(
        _table(
            ("Status", "Orders"),
            [(_e(k), _e(n)) for k, n in s.orders_by_status.items()] or [("-", "0")],
            num=(1,),
        )
    )
    out.append('</div><div class="panel"><h3>Alerts by severity</h3>')
    out.append(_table(("Severity", "Alerts"), [(_sev(k), _e(n)) for k, n in sev.items()], num=(1,)))
    out.append('</div><div class="panel"><h3>Alerts by code</h3>')
    out.append(
        _table(
            ("Code", "Alerts"),
            [(_e(k), _e(n)) for k, n in s.alerts_by_code.items()] or [("-", "0")],
            num=(1,),
        )
    )
    out.append("</div></div></section>")
    return "".join(out)


def _evidence(a: AlertEntry) -> str:
    if not a.evidence:
        return '<span class="muted">-</span>'
    items = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in a.evidence.items())
    return f'<dl class="ev">{items}</dl>'


def _alerts(report: Report) -> str:
    out = ['<section id="alerts"><h2>Alerts</h2>']
    if not report.alerts:
        out.append('<p class="muted">No alerts were raised in the report\'s span.</p></section>')
        return "".join(out)
    out.append(
        '<p class="muted">Every alert the journal holds for the span, as raised live, '
        "oldest first. The order link opens the order's lifecycle.</p>"
    )
    rows = [
        (
            (
                f'<div class="alert-code">{_e(a.code).replace("_", "_<wbr>")}</div>'
                f"{_sev(a.severity)} "
                f'<span id="{_e(a.anchor)}" class="id small muted">{_e(a.id)}</span>'
            ),
            f'<span class="time">{_e(fmt_time(a.t))}</span>',
            _e(f"{a.venue}/{a.account}"),
            '<span class="muted">-</span>' if a.order_id is None else _link(a.order_id, a.link),
            _e(a.message),
            _evidence(a),
        )
        for a in report.alerts
    ]
    out.append('<div class="panel">')
    out.append(
        _table(
            ("Alert", "Time (UTC)", "Venue/account", "Order", "Message", "Evidence"),
            rows,
            cls="wide alerts",
            cols=("c-code", "", "", "c-order", "c-msg", "c-ev"),
        )
    )
    out.append("</div>")
    out.append("</section>")
    return "".join(out)


def _order_index(report: Report) -> str:
    rows = []
    for o in report.orders:
        r = o.reconciliation
        pad = "&#8627; " * o.depth
        rows.append(
            (
                f'<span class="nowrap">{pad}{_link(o.order_id, o.anchor)}</span>',
                _e(f"{o.venue}/{o.account}"),
                _e(o.symbol or "-"),
                _e(o.side or "-"),
                _status_html(o.status, o.raw_status),
                _num(r.quantity),
                _num(r.reported_filled),
                _num(r.executions_filled)
                if r.streams_executions
                else '<span class="muted">n/a</span>',
                '<span class="good">yes</span>' if r.consistent else '<span class="bad">no</span>',
                f'<span class="bad">{len(o.alert_ids)}</span>' if o.alert_ids else "0",
            )
        )
    return _table(
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
        num=(5, 6, 7, 9),
        cls="wide",
    )


def _status_html(status: str | None, raw: str | None) -> str:
    if status is None:
        return '<span class="muted">unreported</span>'
    raw_html = "" if raw is None else f' <span class="muted">({_e(raw)})</span>'
    return f'<span class="nowrap">{_e(status)}{raw_html}</span>'


def _timeline_table(o: OrderReport, alert_anchor: dict[str, str]) -> str:
    rows = []
    classes = []
    for e in o.timeline:
        if e.kind == "alert":
            event = f'<a href="#{_e(alert_anchor.get(e.alert_id or "", ""))}">alert</a>'
            classes.append("alert-row")
        else:
            event = _e(e.kind if e.applied else f"{e.kind} (not applied)")
            classes.append("" if e.applied else "not-applied")
        note = " ".join(x for x in (e.fill_id and f"fill {e.fill_id}", e.note) if x)
        rows.append(
            (
                f'<span class="time">{_e(fmt_time(e.t))}</span>',
                event,
                "" if e.status is None else _status_html(e.status, e.raw_status),
                "" if e.reported_filled is None else _num(e.reported_filled),
                "" if e.fill_quantity is None else _num(e.fill_quantity),
                "" if e.executions_filled is None else _num(e.executions_filled),
                "" if e.quantity is None else _num(e.quantity),
                _e(note),
            )
        )
    return _table(
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
        rows,
        num=(3, 4, 5, 6),
        cls="wide",
        row_cls=classes,
    )


def _order(o: OrderReport, alert_anchor: dict[str, str], alert_codes: dict[str, str]) -> str:
    r = o.reconciliation
    flagged = bool(o.alert_ids) or not r.consistent
    badge = ""
    if o.alert_ids:
        n = len(o.alert_ids)
        badge += f' <span class="sev sev-critical">{n} alert{"s" if n != 1 else ""}</span>'
    if not r.consistent:
        badge += ' <span class="bad">fills disagree</span>'
    out = [
        f'<details class="order depth-{min(o.depth, 3)}" id="{_e(o.anchor)}"'
        + (" open>" if flagged else ">"),
        (
            f"<summary><strong>{_e(o.venue)}/{_e(o.account)}</strong> order "
            f'<span class="id">{_e(o.order_id)}</span> &middot; {_e(o.symbol or "-")} '
            f"{_e(o.side or '')} &middot; {_status_html(o.status, o.raw_status)}{badge}</summary>"
        ),
        '<div class="body">',
    ]
    facts = [
        ("First seen (UTC)", _e(fmt_time(o.first_seen))),
        ("Last update (UTC)", _e(fmt_time(o.last_update))),
    ]
    if o.client_order_id is not None:
        facts.append(("Client order id", f'<span class="id">{_e(o.client_order_id)}</span>'))
    if o.parent is not None:
        facts.append(("Parent", _ref(o.parent)))
    if o.children:
        facts.append(("Children", ", ".join(_ref(c) for c in o.children)))
    if o.alert_ids:
        facts.append(
            (
                "Alerts",
                ", ".join(
                    f'<a href="#{_e(alert_anchor.get(a, ""))}">{_e(alert_codes.get(a, a))}</a>'
                    for a in o.alert_ids
                ),
            )
        )
    recon = r.rows(_num, '<span class="muted">n/a (the venue does not stream executions)</span>')
    recon.append(
        (
            "Result",
            '<span class="good">consistent</span>'
            if r.consistent
            else '<span class="bad">' + "<br>".join(_e(x) for x in r.findings) + "</span>",
        )
    )
    chart = _fill_chart(o, alert_codes)
    out.append('<div class="row"><div class="stack">')
    out.append(_table(("Order", ""), facts))
    out.append(_table(("Fill reconciliation", ""), recon))
    out.append("</div>")
    if chart:
        out.append(f"<div>{chart}</div>")
    out.append("</div>")
    out.append("<h3>Lifecycle</h3>")
    out.append(_timeline_table(o, alert_anchor))
    out.append("</div></details>")
    return "".join(out)


def _orders(report: Report) -> str:
    out = ['<section id="orders"><h2>Orders</h2>']
    if not report.orders:
        out.append('<p class="muted">No orders in the report.</p></section>')
        return "".join(out)
    out.append(
        '<p class="muted">Parents are followed by their children (&#8627;). Orders with '
        "alerts or fills that disagree are expanded below.</p>"
    )
    out.append(f'<div class="panel">{_order_index(report)}</div>')
    alert_anchor = {a.id: a.anchor for a in report.alerts}
    alert_codes = {a.id: a.code for a in report.alerts}
    out += [_order(o, alert_anchor, alert_codes) for o in report.orders]
    out.append("</section>")
    return "".join(out)


def _expectations(report: Report) -> str:
    out = ['<section id="expectations"><h2>Expectations</h2>']
    if not report.expectations:
        out.append('<p class="muted">No expectations were registered in the report\'s span.</p>')
    else:
        rows = [
            (
                f'<span id="{_e(e.anchor)}" class="time">{_e(fmt_time(e.t))}</span>',
                _e(f"{e.venue}/{e.account}"),
                f'<span class="id">{_e(e.client_order_id)}</span>',
                _e(e.symbol),
                _e(e.side),
                _num(e.quantity),
                _num(e.price),
                '<span class="bad">never reported</span>' if e.order is None else _ref(e.order),
            )
            for e in report.expectations
        ]
        out.append(
            _table(
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
                rows,
                num=(5, 6),
                cls="wide",
            )
        )
    out.append("</section>")
    return "".join(out)


def render_html(report: Report) -> str:
    """The report as one self-contained HTML document."""
    colors = _venue_colors(report)
    body = [
        _header(report),
        _summary(report),
        '<section id="alerts-over-time"><h2>Alerts over time</h2><div class="panel">',
        _alerts_chart(report, colors),
        "</div></section>",
        _alerts(report),
        _orders(report),
        _expectations(report),
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(report.title)}</title>\n"
        f"<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(body)
        + "\n</main>\n</body>\n</html>\n"
    )
