"""Thresholds and switches of the reconciliation core (the ``[core]`` table of a config file)."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from reconciler.alerts import AlertCode, Severity

__all__ = ["CoreConfig"]


class CoreConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Every tunable of the :class:`~reconciler.Reconciler`, with the documented defaults.

    Times are seconds. ``strict_accounts`` lists ``"venue:account"`` pairs (``"venue:*"``
    for every account of a venue) on which an order nobody registered an expectation
    for is reported as UNKNOWN_ORDER.
    """

    #: How long cross-object checks wait for related messages before they fire.
    settle_window: float = 5.0
    #: How long an expected order may go unreported before UNACKNOWLEDGED_ORDER.
    ack_timeout: float = 5.0
    #: How long a terminal order is kept after its last update before it retires.
    retention: float = 3600.0
    #: Relative tolerance for notional and average-price checks.
    notional_tolerance: Decimal = Decimal("0.000001")
    #: Absolute tolerance for percentages (percentage points).
    pct_tolerance: Decimal = Decimal("0.01")
    strict_accounts: tuple[str, ...] = ()
    #: Per-code severity overrides, e.g. ``{"OUT_OF_ORDER" = "warning"}``.
    severity: dict[AlertCode, Severity] = msgspec.field(default_factory=dict)
    #: How many history entries are kept per order (oldest dropped first).
    max_history: int = 512

    def __post_init__(self) -> None:
        if self.settle_window < 0 or self.ack_timeout < 0:
            raise ValueError("settle_window and ack_timeout must not be negative")
        if self.retention < self.settle_window:
            raise ValueError("retention must be at least the settle window")
        if self.notional_tolerance < 0 or self.pct_tolerance < 0:
            raise ValueError("tolerances must not be negative")
        if self.max_history < 1:
            raise ValueError("max_history must be at least 1")
        for item in self.strict_accounts:
            if item.count(":") != 1 or not all(item.split(":")):
                raise ValueError(f"strict_accounts entry {item!r} must look like 'venue:account'")

    def is_strict(self, venue: str, account: str) -> bool:
        """Whether orders on this venue account must all have been expected."""
        return f"{venue}:{account}" in self.strict_accounts or f"{venue}:*" in self.strict_accounts
