"""The alert catalog: codes, default severities, the Alert record and deterministic ids.

This module is the public contract with everything downstream (logs, Slack, webhooks,
audit reports): each code's meaning is documented in ``docs/alerts.md``.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum

import msgspec

__all__ = [
    "DEFAULT_SEVERITY",
    "LIVE_ONLY_CODES",
    "Alert",
    "AlertCode",
    "Severity",
    "alert_id",
    "severity_at_least",
]


class Severity(StrEnum):
    """How urgent an alert is: ``info`` < ``warning`` < ``critical``."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for info, 1 for warning, 2 for critical."""
        return _RANK[self]


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


def severity_at_least(severity: Severity, floor: Severity) -> bool:
    """True when ``severity`` is ``floor`` or more urgent."""
    return _RANK[severity] >= _RANK[floor]


class AlertCode(StrEnum):
    """Every inconsistency reconciler can report (see ``docs/alerts.md``)."""

    FILL_REGRESSION = "FILL_REGRESSION"
    OVERFILL = "OVERFILL"
    FILL_GAP = "FILL_GAP"
    QUANTITY_MISMATCH = "QUANTITY_MISMATCH"
    NOTIONAL_MISMATCH = "NOTIONAL_MISMATCH"
    STATUS_FILL_MISMATCH = "STATUS_FILL_MISMATCH"
    ILLEGAL_TRANSITION = "ILLEGAL_TRANSITION"
    FILL_AFTER_TERMINAL = "FILL_AFTER_TERMINAL"
    IMMUTABLE_FIELD_CHANGED = "IMMUTABLE_FIELD_CHANGED"
    DUPLICATE_CONFLICT = "DUPLICATE_CONFLICT"
    OUT_OF_ORDER = "OUT_OF_ORDER"
    EXECUTION_ORDER_MISMATCH = "EXECUTION_ORDER_MISMATCH"
    UNKNOWN_STATUS = "UNKNOWN_STATUS"
    ORDER_REJECTED = "ORDER_REJECTED"
    STALE_ORDER = "STALE_ORDER"
    ORPHAN_CHILD = "ORPHAN_CHILD"
    CHILD_SET_MISMATCH = "CHILD_SET_MISMATCH"
    PARENT_AGGREGATE_MISMATCH = "PARENT_AGGREGATE_MISMATCH"
    PARENT_TERMINAL_WITH_ACTIVE_CHILD = "PARENT_TERMINAL_WITH_ACTIVE_CHILD"
    STUCK_PARENT = "STUCK_PARENT"
    SEQUENCE_GAP = "SEQUENCE_GAP"
    MALFORMED_MESSAGE = "MALFORMED_MESSAGE"
    UNACKNOWLEDGED_ORDER = "UNACKNOWLEDGED_ORDER"
    EXPECTATION_MISMATCH = "EXPECTATION_MISMATCH"
    UNKNOWN_ORDER = "UNKNOWN_ORDER"
    # Live-only: raised by the engine about its connections, never by the pure core.
    FEED_STALE = "FEED_STALE"
    AUTH_FAILED = "AUTH_FAILED"
    PLUGIN_ERROR = "PLUGIN_ERROR"


_C, _W, _I = Severity.CRITICAL, Severity.WARNING, Severity.INFO
DEFAULT_SEVERITY: dict[AlertCode, Severity] = {
    AlertCode.FILL_REGRESSION: _C,
    AlertCode.OVERFILL: _C,
    AlertCode.FILL_GAP: _W,
    AlertCode.QUANTITY_MISMATCH: _W,
    AlertCode.NOTIONAL_MISMATCH: _W,
    AlertCode.STATUS_FILL_MISMATCH: _C,
    AlertCode.ILLEGAL_TRANSITION: _W,
    AlertCode.FILL_AFTER_TERMINAL: _C,
    AlertCode.IMMUTABLE_FIELD_CHANGED: _C,
    AlertCode.DUPLICATE_CONFLICT: _C,
    AlertCode.OUT_OF_ORDER: _I,
    AlertCode.EXECUTION_ORDER_MISMATCH: _C,
    AlertCode.UNKNOWN_STATUS: _W,
    AlertCode.ORDER_REJECTED: _I,
    AlertCode.STALE_ORDER: _W,
    AlertCode.ORPHAN_CHILD: _W,
    AlertCode.CHILD_SET_MISMATCH: _W,
    AlertCode.PARENT_AGGREGATE_MISMATCH: _C,
    AlertCode.PARENT_TERMINAL_WITH_ACTIVE_CHILD: _C,
    AlertCode.STUCK_PARENT: _W,
    AlertCode.SEQUENCE_GAP: _C,
    AlertCode.MALFORMED_MESSAGE: _W,
    AlertCode.UNACKNOWLEDGED_ORDER: _C,
    AlertCode.EXPECTATION_MISMATCH: _C,
    AlertCode.UNKNOWN_ORDER: _W,
    AlertCode.FEED_STALE: _C,
    AlertCode.AUTH_FAILED: _C,
    AlertCode.PLUGIN_ERROR: _C,
}

#: The codes only a live engine raises (about connections), never a replay of frames.
LIVE_ONLY_CODES: frozenset[AlertCode] = frozenset(
    {AlertCode.FEED_STALE, AlertCode.AUTH_FAILED, AlertCode.PLUGIN_ERROR}
)


class Alert(msgspec.Struct, frozen=True, kw_only=True):
    """One detected inconsistency (or business event, for ``info`` codes).

    ``id`` is deterministic: deriving the same inconsistency again (after a restart, in
    a replay, from a venue's re-send) yields the same id, so sinks can deduplicate on it.
    ``t`` is the time of the event that proved it (for settle-window checks, the moment
    the window closed). ``evidence`` holds the disagreeing numbers as exact strings.
    """

    id: str
    code: AlertCode
    severity: Severity
    venue: str
    account: str
    order_id: str | None
    parent_id: str | None
    t: float
    message: str
    evidence: dict[str, str]


def alert_id(code: AlertCode, venue: str, order_id: str | None, *facts: object) -> str:
    """A deterministic id from the code, where it happened, and the facts that identify it.

    ``facts`` must not include receive times: the same inconsistency replayed at another
    time must get the same id.
    """
    parts = [str(code), venue, order_id or "", *(str(f) for f in facts)]
    raw = "\x1f".join(parts).encode()
    return hashlib.blake2b(raw, digest_size=10).hexdigest()
