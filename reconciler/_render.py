"""Rendering alerts for people (a table) and for programs (JSON Lines)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import msgspec

from reconciler.alerts import Alert, Severity

_ENCODER = msgspec.json.Encoder()
_MARK = {Severity.CRITICAL: "CRIT", Severity.WARNING: "WARN", Severity.INFO: "info"}


def jsonl(alert: Alert) -> str:
    """One alert as one JSON line."""
    return _ENCODER.encode(alert).decode() + "\n"


def _time(t: float) -> str:
    try:
        return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    except (OverflowError, OSError, ValueError):
        return f"{t:.3f}"


def table(alerts: Sequence[Alert]) -> str:
    """Alerts as an aligned text table, one alert per line, then its evidence indented."""
    if not alerts:
        return "no alerts\n"
    rows = [
        (
            _time(a.t),
            _MARK[a.severity],
            a.code,
            f"{a.venue}/{a.account}",
            a.order_id or "-",
            a.message,
        )
        for a in alerts
    ]
    head = ("time (UTC)", "sev", "code", "venue/account", "order", "message")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(5)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=False)) + "  message"]
    for alert, row in zip(alerts, rows, strict=True):
        lines.append(
            "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[5]
        )
        evidence = ", ".join(f"{k}={v}" for k, v in alert.evidence.items())
        lines.append(f"    evidence: {evidence}")
    return "\n".join(lines) + "\n"


def summary(stats: Mapping[str, int], skipped_lines: int) -> str:
    """One line: frames replayed, alerts by severity-relevant code, lines skipped."""
    alerts = {k.removeprefix("alerts."): v for k, v in stats.items() if k.startswith("alerts.")}
    total = sum(alerts.values())
    by_code = ", ".join(f"{code} {n}" for code, n in sorted(alerts.items())) or "none"
    return (
        f"reconciler: {stats.get('frames', 0)} frames, {total} alerts ({by_code}), "
        f"{stats.get('malformed', 0)} malformed frames, {skipped_lines} capture lines skipped"
    )
