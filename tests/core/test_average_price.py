"""NOTIONAL_MISMATCH from a reported average price against the executions' own prices."""

from __future__ import annotations

from builders import Run, cs_frame, cs_order, cs_trade

from reconciler import AlertCode, Severity


def _filled_order(avg: float) -> Run:
    run = Run()
    run.feed("clearstreet", cs_frame("order-update", cs_order("c1", version=1), seq=1))
    run.feed(
        "clearstreet",
        cs_frame("trade-notice", cs_trade("t1", "c1", quantity="40", price="171.25"), seq=2),
    )
    run.feed(
        "clearstreet",
        cs_frame("trade-notice", cs_trade("t2", "c1", quantity="60", price="171.30"), seq=3),
    )
    run.feed(
        "clearstreet",
        cs_frame(
            "order-update", cs_order("c1", version=2, status="filled", filled="100", avg=avg), seq=4
        ),
    )
    run.wait(10)
    return run


def test_average_price_matching_the_trades_is_silent() -> None:
    """Clear Street average_price equal to the trades' weighted price raises nothing."""
    assert _filled_order(171.28).alerts == []


def test_average_price_rounded_by_the_venue_is_silent() -> None:
    """An average price rounded to the venue's own precision is not a mismatch."""
    assert _filled_order(171.3).alerts == []


def test_average_price_off_the_trades_fires() -> None:
    """Clear Street average_price away from the trades' weighted price is NOTIONAL_MISMATCH."""
    run = _filled_order(171.5)
    [alert] = run.alerts
    assert (alert.code, alert.order_id, alert.severity) == (
        AlertCode.NOTIONAL_MISMATCH,
        "c1",
        Severity.WARNING,
    )
    assert alert.evidence["avg_price"] == "171.5"
    assert alert.evidence["executions_avg_price"] == "171.28"
