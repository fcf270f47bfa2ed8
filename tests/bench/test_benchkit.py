"""The naive baseline's arithmetic (reconciler.benchkit): it finds what it claims to."""

from __future__ import annotations

from decimal import Decimal

from reconciler.benchkit import NaiveBook, naive_apply, naive_execution, naive_number

D = Decimal


def test_consistent_reports_find_nothing() -> None:
    """An order acknowledged, partly filled, then filled: no fault."""
    book: NaiveBook = {}
    assert naive_apply(book, "o", "accepted", D(10), D(0), D(10)) == 0
    assert naive_apply(book, "o", "partially_filled", D(10), D(4), D(6)) == 0
    assert naive_apply(book, "o", "filled", D(10), D(10), D(0)) == 0
    assert book["o"]["reports"] == 3


def test_each_broken_rule_is_one_fault() -> None:
    """Regression, overfill, filled + remaining != quantity, notional: one fault each."""
    book: NaiveBook = {}
    naive_apply(book, "o", "partially_filled", D(10), D(5), D(5))
    assert naive_apply(book, "o", "partially_filled", D(10), D(4), D(6)) == 1
    assert naive_apply(book, "p", "partially_filled", D(10), D(11), None) == 1
    assert naive_apply(book, "q", "partially_filled", D(10), D(4), D(5)) == 1
    assert naive_apply(book, "r", "filled", D(2), D(2), None, D(100), D(150)) == 1


def test_a_final_order_may_state_its_leftover_as_zero() -> None:
    """As in the core: a canceled order reporting 0 remaining is not a mismatch."""
    assert naive_apply({}, "o", "canceled", D(10), D(4), D(0)) == 0


def test_executions_beyond_the_reported_fill_are_faults() -> None:
    """An execution past a final order's fill, and a report below the executions."""
    book: NaiveBook = {}
    assert naive_execution(book, "o", D(3)) == 0  # the report may still be on its way
    assert naive_apply(book, "o", "partially_filled", D(10), D(2), D(8)) == 1
    assert naive_apply(book, "o", "canceled", D(10), D(3), D(0)) == 0
    assert naive_execution(book, "o", D(1)) == 1


def test_numbers_are_read_as_decimal_text() -> None:
    """naive_number: Decimal(str(x)); None and "" are absent."""
    assert naive_number(0.1) == D("0.1")
    assert naive_number("1.50") == D("1.50")
    assert naive_number(None) is None
    assert naive_number("") is None
