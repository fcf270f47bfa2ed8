"""Slack Block Kit messages for alerts and storm-control notices.

A trader reads an alert at a glance: a header with the severity's colour and the code,
then venue, account and order as fields, the alert's sentence, what disagrees and by how
much (from ``evidence``), the remaining evidence, and a context line with the alert id
and time. Everything that comes from a venue is escaped: Slack's ``mrkdwn`` would
otherwise turn ``<!channel>`` in an order id into a mention.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from reconciler.alerts import Alert, Severity
from reconciler.outbox import Notice

__all__ = ["EMOJI", "disagreements", "slack_message"]

#: The severity's mark, first in every header.
EMOJI: Final = {Severity.CRITICAL: "🔴", Severity.WARNING: "🟠", Severity.INFO: "🔵"}

# Block Kit limits (https://api.slack.com/reference/block-kit/blocks).
_HEADER_MAX: Final = 150
_TEXT_MAX: Final = 3000
_FIELD_MAX: Final = 2000
_FIELDS_MAX: Final = 10
# Evidence values are exact but can be long (a frame excerpt): a glance needs less.
_VALUE_MAX: Final = 300

# Known pairs of evidence keys whose values disagree: (what was reported, what it is
# compared with). Generic name patterns below catch the rest.
_PAIRS: Final = (
    ("previous_filled", "new_filled"),
    ("reported_filled", "executions_sum"),
    ("filled", "quantity"),
    ("notional", "avg_price_times_quantity"),
    ("remaining", "quantity_minus_filled"),
    ("update_filled", "applied_filled"),
    ("executed_notional", "children_executed_notional"),
    ("avg_price", "executions_avg_price"),
)
_PATTERNS: Final = (
    (re.compile(r"(.+)_before"), r"\1_now"),
    (re.compile(r"expected_(.+)"), r"reported_\1"),
    (re.compile(r"first_(.+)"), r"new_\1"),
)


def _esc(text: str) -> str:
    """Escape Slack's three control characters in mrkdwn text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _when(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _number(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def _delta(a: str, b: str) -> str:
    x, y = _number(a), _number(b)
    if x is None or y is None:
        return ""
    d = y - x
    # normalize() drops trailing zeros; 'f' keeps it from switching to an exponent.
    shown = format(abs(d).normalize(), "f")
    return " (no difference)" if d == 0 else f" ({'+' if d > 0 else '-'}{shown})"


def disagreements(evidence: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """``(key_a, key_b, line)`` for each pair of evidence values that disagree.

    A line reads ``previous_filled 300 → new_filled 200 (-100)``; the difference is
    shown when both values are numbers.
    """
    pairs: list[tuple[str, str]] = [(a, b) for a, b in _PAIRS if a in evidence and b in evidence]
    used = {k for pair in pairs for k in pair}
    for key in evidence:
        for pattern, other in _PATTERNS:
            m = pattern.fullmatch(key)
            if m is not None and (mate := m.expand(other)) in evidence and key not in used:
                pairs.append((key, mate))
                used.update((key, mate))
    lines: list[tuple[str, str, str]] = []
    for a, b in pairs:
        va, vb = evidence[a], evidence[b]
        line = f"*{_esc(a)}* `{_esc(_cut(va, 80))}` → *{_esc(b)}* `{_esc(_cut(vb, 80))}`"
        if a == "reported_filled" and "difference" in evidence:
            line += f" (difference {_esc(evidence['difference'])})"
        else:
            line += _delta(va, vb)
        lines.append((a, b, line))
    return lines


def _field(title: str, value: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": _cut(f"*{title}*\n{value}", _FIELD_MAX)}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, _TEXT_MAX)}}


def _header(text: str) -> dict[str, Any]:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": _cut(text, _HEADER_MAX), "emoji": True},
    }


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(text, _TEXT_MAX)}]}


def _alert_message(alert: Alert) -> dict[str, Any]:
    emoji = EMOJI[alert.severity]
    order = f"`{_esc(alert.order_id)}`" if alert.order_id else "—"
    fields = [
        _field("Severity", f"{emoji} {alert.severity}"),
        _field("Venue", _esc(alert.venue)),
        _field("Account", _esc(alert.account)),
        _field("Order", order),
    ]
    if alert.parent_id:
        fields.append(_field("Parent", f"`{_esc(alert.parent_id)}`"))
    blocks: list[dict[str, Any]] = [
        _header(f"{emoji} {alert.code}"),
        {"type": "section", "fields": fields},
        _section(_esc(alert.message)),
    ]
    pairs = disagreements(alert.evidence)
    if pairs:
        blocks.append(_section("*What disagrees*\n" + "\n".join(line for _, _, line in pairs)))
    used = {k for a, b, _ in pairs for k in (a, b)} | {"difference"}
    rest = [
        _field(_esc(k), f"`{_esc(_cut(v, _VALUE_MAX))}`")
        for k, v in alert.evidence.items()
        if k not in used
    ]
    if rest:
        blocks.append({"type": "section", "fields": rest[:_FIELDS_MAX]})
    blocks.append(_context(f"alert `{alert.id}` · {_when(alert.t)}"))
    # The notification preview: the message already names the venue and the order.
    text = f"{emoji} {str(alert.severity).upper()} {alert.code}: {alert.message}"
    return {"text": _cut(_esc(text), _TEXT_MAX), "blocks": blocks}


def _ids(notice: Notice) -> str:
    shown = ", ".join(f"`{i}`" for i in notice.alert_ids[:20])
    more = notice.count - min(len(notice.alert_ids), 20)
    return shown + (f" and {more} more" if more > 0 else "")


def _notice_message(notice: Notice) -> dict[str, Any]:
    emoji = EMOJI[notice.severity]
    blocks: list[dict[str, Any]]
    if notice.kind == "fold":
        order = f"`{_esc(notice.order_id)}`" if notice.order_id else "—"
        header = f"{emoji} {notice.count} more {notice.code}"
        blocks = [
            _header(header),
            {
                "type": "section",
                "fields": [
                    _field("Venue", _esc(notice.venue or "")),
                    _field("Account", _esc(notice.account or "")),
                    _field("Order", order),
                    _field("Repeats", str(notice.count)),
                ],
            },
            _section(_esc(notice.message)),
            _context(f"notice `{notice.id}` · {_when(notice.t)} · alerts {_ids(notice)}"),
        ]
    elif notice.kind == "digest":
        header = f"{emoji} Digest: {notice.count} alerts"
        by_code = sorted(notice.by_code.items(), key=lambda kv: (-kv[1], kv[0]))
        fields = [_field(code, str(n)) for code, n in by_code[:_FIELDS_MAX]]
        venues = " · ".join(f"{_esc(v)} {n}" for v, n in sorted(notice.by_venue.items()))
        top = "\n".join(
            f"• {EMOJI[a.severity]} *{a.code}* {_esc(a.venue)}/{_esc(a.account)}"
            + (f" `{_esc(a.order_id)}`" if a.order_id else "")
            + f": {_esc(_cut(a.message, 200))}"
            for a in notice.top
        )
        blocks = [_header(header), _section(_esc(notice.message))]
        if fields:
            blocks.append({"type": "section", "fields": fields})
        if venues:
            blocks.append(_section(f"*By venue*: {venues}"))
        if top:
            blocks.append(_section(f"*Most severe*\n{top}"))
        blocks.append(_context(f"notice `{notice.id}` · {_when(notice.t)}"))
    else:
        header = (
            "🌪️ Switching to digest mode" if notice.kind == "digest_on" else "✅ Leaving digest mode"
        )
        blocks = [
            _header(header),
            _section(_esc(notice.message)),
            _context(f"notice `{notice.id}` · {_when(notice.t)}"),
        ]
    return {"text": _cut(_esc(f"{header}: {notice.message}"), _TEXT_MAX), "blocks": blocks}


def slack_message(item: Alert | Notice) -> dict[str, Any]:
    """The incoming-webhook payload (``text`` fallback and ``blocks``) for ``item``."""
    if isinstance(item, Alert):
        return _alert_message(item)
    return _notice_message(item)
