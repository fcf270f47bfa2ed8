"""--venue, --account, --from and --to narrow the report to what they name."""

from __future__ import annotations

from pathlib import Path

import pytest
from report.reportkit import sample_journal

from reconciler.report import Report, build_report, open_report_journal, parse_time

START = 1752147120.0  # 2025-07-10T11:32:00Z
END = 1752147140.0  # 2025-07-10T11:32:20Z


@pytest.fixture(scope="module")
def journal_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_journal(tmp_path_factory.mktemp("filters"))


def _report(
    path: Path,
    *,
    from_t: float | None = None,
    to_t: float | None = None,
    venue: str | None = None,
    account: str | None = None,
) -> Report:
    journal = open_report_journal(path)
    try:
        return build_report(journal, from_t=from_t, to_t=to_t, venue=venue, account=account)
    finally:
        journal.close()


def test_venue_filter_keeps_one_venue(journal_path: Path) -> None:
    """--venue bybit: only Bybit accounts, orders, alerts and connections."""
    report = _report(journal_path, venue="bybit")
    assert report.filters.venue == "bybit"
    assert report.summary.venues == ("bybit",)
    assert report.summary.accounts == ("bybit/hedge", "bybit/main")
    assert {o.venue for o in report.orders} == {"bybit"}
    assert len(report.orders) == 6
    assert {a.venue for a in report.alerts} == {"bybit"}
    assert [a.code for a in report.alerts] == [
        "ORDER_REJECTED",
        "EXPECTATION_MISMATCH",
        "FILL_AFTER_TERMINAL",
        "EXECUTION_ORDER_MISMATCH",
        "MALFORMED_MESSAGE",
    ]
    assert [f"{c.venue}/{c.account}" for c in report.summary.connections] == [
        "bybit/hedge",
        "bybit/main",
    ]


def test_account_filter_keeps_one_account_name(journal_path: Path) -> None:
    """--account hedge: the hedge accounts of BTSE and Bybit, nothing of main."""
    report = _report(journal_path, account="hedge")
    assert report.summary.accounts == ("btse/hedge", "bybit/hedge")
    assert {o.account for o in report.orders} == {"hedge"}
    assert {a.account for a in report.alerts} == {"hedge"}
    assert report.summary.alerts == 5
    assert report.summary.frames == 21 + 11
    assert report.expectations == ()


def test_venue_and_account_filters_combine(journal_path: Path) -> None:
    """--venue btse --account main: one venue account."""
    report = _report(journal_path, venue="btse", account="main")
    assert report.summary.accounts == ("btse/main",)
    assert [a.code for a in report.alerts] == ["FILL_GAP"]
    assert [e.client_order_id for e in report.expectations] == ["ema-0001"]


def test_time_window_keeps_alerts_and_records_inside_it(journal_path: Path) -> None:
    """--from/--to: alerts raised in the window, orders seen in it, the span inside it."""
    report = _report(journal_path, from_t=START, to_t=END)
    assert [a.code for a in report.alerts] == [
        "EXPECTATION_MISMATCH",
        "FILL_AFTER_TERMINAL",
        "EXECUTION_ORDER_MISMATCH",
        "OUT_OF_ORDER",
        "MALFORMED_MESSAGE",
        "SEQUENCE_GAP",
        "UNACKNOWLEDGED_ORDER",
    ]
    assert report.span_start is not None
    assert report.span_end is not None
    assert START <= report.span_start <= report.span_end <= END
    for order in report.orders:
        assert all(START <= e.t <= END for e in order.timeline)
    full = _report(journal_path)
    assert 0 < len(report.orders) < len(full.orders)


def test_window_before_a_disconnect_shows_full_uptime(journal_path: Path) -> None:
    """Clear Street disconnects at 11:32:24 for 2 s: a window ending at 11:32:20 has 100%
    uptime, one covering it has less, and one starting inside it infers the outage."""

    def clearstreet(report: Report) -> tuple[str | None, int]:
        c = next(c for c in report.summary.connections if c.venue == "clearstreet")
        return c.uptime_pct, c.disconnects

    assert clearstreet(_report(journal_path, from_t=START, to_t=END)) == ("100.0", 0)
    pct, disconnects = clearstreet(_report(journal_path, from_t=START, to_t=START + 60))
    assert disconnects == 1
    assert pct is not None
    assert float(pct) < 100
    inside = _report(journal_path, from_t=1752147145.0, to_t=1752147160.0)
    c = next(c for c in inside.summary.connections if c.venue == "clearstreet")
    assert [i.connected for i in c.intervals] == [False, True]


def test_iso_and_epoch_times_select_the_same_report(journal_path: Path) -> None:
    """--from 2025-07-10T11:32:00Z is the same instant as --from 1752147120."""
    assert parse_time("2025-07-10T11:32:00Z") == START
    assert parse_time("2025-07-10T11:32:00+00:00") == START
    assert parse_time("2025-07-10 11:32:00") == START
    assert parse_time("1752147120") == START
    a = _report(journal_path, from_t=parse_time("2025-07-10T11:32:00Z"))
    b = _report(journal_path, from_t=parse_time("1752147120"))
    assert a == b
