"""Exact Decimal arithmetic for the core, and tolerance rules for reported prices.

Plugins reject venue numbers with more than 40 digits or an exponent beyond ±30
(:func:`reconciler.plugin.parse_decimal`), so with 100 digits of precision every sum,
difference and product the core computes is exact. The core enters this context around
each public call, leaving the host program's own Decimal context alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Context, Decimal

EXACT = Context(prec=100, Emax=999_999, Emin=-999_999)
ZERO = Decimal(0)
HUNDRED = Decimal(100)


def half_ulp(value: Decimal) -> Decimal:
    """Half a unit in the last place the venue wrote: how far rounding may have moved it."""
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int):  # NaN/Infinity never reach the core; be safe anyway
        return ZERO
    return Decimal((0, (5,), exponent - 1))


def product_consistent(total: Decimal, price: Decimal, qty: Decimal, rel_tol: Decimal) -> bool:
    """Whether ``total ~ price x qty``.

    Allowed slack: ``rel_tol`` of the larger side, plus what rounding of the two
    reported numbers can explain (half a unit in the last place of ``total``, and of
    ``price`` times ``qty``). A venue cannot be more precise than the digits it sends.
    """
    expected = price * qty
    if total == expected:
        return True
    slack = rel_tol * max(abs(total), abs(expected)) + half_ulp(total) + half_ulp(price) * qty
    return abs(total - expected) <= slack


def sum_consistent(total: Decimal, parts: Iterable[Decimal], rel_tol: Decimal) -> bool:
    """Whether ``total ~ sum  parts`` within ``rel_tol`` plus the rounding of ``total``."""
    expected = sum(parts, ZERO)
    if total == expected:
        return True
    slack = rel_tol * max(abs(total), abs(expected)) + half_ulp(total)
    return abs(total - expected) <= slack


def fmt(value: Decimal | None) -> str:
    """A Decimal as plain text for evidence (no exponent for ordinary magnitudes)."""
    if value is None:
        return "null"
    text = format(value, "f") if -30 <= value.adjusted() <= 30 else str(value)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def txt(value: object) -> str:
    """Any evidence value as text: ``null`` for unknown, Decimals without exponent."""
    if value is None:
        return "null"
    return fmt(value) if isinstance(value, Decimal) else str(value)
