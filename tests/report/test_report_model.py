"""What a report says about the sample journal: summary, connection health, alerts as
journaled, order lifecycles and fill reconciliation, parents and children."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from builders import BASE_T, tread_frame, tread_order
from report.reportkit import sample_journal

from reconciler import Alert, AlertCode, Severity, load_plugins
from reconciler._report_model import OrderReport
from reconciler.journal import open_journal
from reconciler.report import Report, build_report, open_report_journal


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    path = sample_journal(tmp_path_factory.mktemp("model"))
    journal = open_report_journal(path)
    try:
        return build_report(journal, source=path.name)
    finally:
        journal.close()


def _order(report: Report, order_id: str) -> OrderReport:
    return next(o for o in report.orders if o.order_id == order_id)


def test_summary_counts_venues_frames_orders_and_alerts(report: Report) -> None:
    """The summary: four venues, six accounts, 386 frames, 53 orders, 11 alerts."""
    s = report.summary
    assert s.venues == ("btse", "bybit", "clearstreet", "tread")
    assert len(s.accounts) == 6
    assert s.frames == 386
    assert s.frames_by_account["clearstreet/main"] == 295
    assert s.expectations == 3
    assert s.orders == 53
    assert sum(s.orders_by_status.values()) == 53
    assert s.orders_by_status["filled"] == 44
    assert s.alerts == 11
    assert s.alerts_by_severity == {"critical": 7, "warning": 2, "info": 2}
    assert sum(s.alerts_by_code.values()) == 11


def test_connection_health_counts_the_disconnect_and_the_gap(report: Report) -> None:
    """Clear Street's 2 s disconnect lowers its uptime; its SEQUENCE_GAP is counted."""
    by = {f"{c.venue}/{c.account}": c for c in report.summary.connections}
    cs = by["clearstreet/main"]
    assert (cs.connects, cs.disconnects, cs.sequence_gaps) == (2, 1, 1)
    assert (report.span_start, report.span_end) == (1752147100.0, 1752147210.0)
    assert cs.uptime_seconds == pytest.approx(110.0 - 2.0)
    assert cs.uptime_pct == "98.2"
    assert [i.connected for i in cs.intervals] == [True, False, True]
    assert by["btse/main"].uptime_pct == "100.0"
    assert by["btse/main"].disconnects == 0


def test_alerts_are_the_journal_alerts_in_time_order(report: Report) -> None:
    """Every journaled alert is listed once, oldest first, with its evidence."""
    ts = [a.t for a in report.alerts]
    assert ts == sorted(ts)
    gap = next(a for a in report.alerts if a.code == "FILL_GAP")
    assert gap.evidence["missing_quantity"] == "300"
    assert gap.link == "order-btse-2b7e1c9d-8a6f-4e35-b2d4-7c1a9e8f3b50"


def test_alert_about_an_unacknowledged_order_links_to_its_expectation(report: Report) -> None:
    """UNACKNOWLEDGED_ORDER names a client order id: it links to the expectation entry."""
    alert = next(a for a in report.alerts if a.code == "UNACKNOWLEDGED_ORDER")
    exp = next(e for e in report.expectations if e.client_order_id == "ema-0003")
    assert alert.link == exp.anchor
    assert exp.order is None


def test_stream_alerts_link_to_no_order(report: Report) -> None:
    """SEQUENCE_GAP and MALFORMED_MESSAGE concern a stream, not an order: no link."""
    for code in ("SEQUENCE_GAP", "MALFORMED_MESSAGE"):
        assert next(a for a in report.alerts if a.code == code).link is None


def test_fill_reconciliation_flags_executions_that_exceed_the_reported_fill(
    report: Report,
) -> None:
    """Bybit 5c2f9a18: executions sum to 300, the venue reports 200 filled."""
    r = _order(report, "5c2f9a18-7e43-4b6d-a0c9-3d8e1f2a7b64").reconciliation
    assert r.streams_executions
    assert (r.reported_filled, r.executions_filled, r.executions) == (
        Decimal(200),
        Decimal(300),
        2,
    )
    assert not r.consistent
    assert r.findings == ("executions sum to 300, the venue reports 200 filled (difference 100)",)


def test_fill_reconciliation_compares_the_expected_quantity(report: Report) -> None:
    """Bybit 0e6a7c3d (ema-0002) was sent for 200; the venue reports 2000."""
    o = _order(report, "0e6a7c3d-2b94-4f1e-8d57-c9a1b2e3f405")
    assert o.client_order_id == "ema-0002"
    assert o.reconciliation.expected_quantity == Decimal(200)
    assert o.reconciliation.findings == ("expected quantity 200, the venue reports 2000",)


def test_consistent_order_has_no_findings(report: Report) -> None:
    """Clear Street 42817301: 300 of 300 filled, executions 300: consistent."""
    r = _order(report, "42817301").reconciliation
    assert r.consistent
    assert r.findings == ()


def test_timeline_keeps_unapplied_reports_and_the_journal_alert(report: Report) -> None:
    """BTSE f4e3d2c1: the regressing report is in the timeline, not applied, followed by
    the FILL_REGRESSION alert from the journal."""
    o = _order(report, "f4e3d2c1-b0a9-4876-9543-210fedcba987")
    kinds = [(e.kind, e.applied, e.reported_filled) for e in o.timeline]
    i = kinds.index(("update", False, Decimal(200)))
    assert o.timeline[i + 1].kind == "alert"
    assert o.timeline[i + 1].alert_id == o.alert_ids[0]
    assert [e.reported_filled for e in o.timeline if e.kind == "update" and e.applied] == [
        Decimal(0),
        Decimal(200),
        Decimal(300),
        Decimal(400),
        Decimal(400),
    ]


def test_timeline_shows_executions_with_the_running_sum(report: Report) -> None:
    """Bybit 5c2f9a18: two executions, 200 then 100, summing to 200 then 300."""
    o = _order(report, "5c2f9a18-7e43-4b6d-a0c9-3d8e1f2a7b64")
    fills = [(e.fill_quantity, e.executions_filled) for e in o.timeline if e.kind == "fill"]
    assert fills == [(Decimal(200), Decimal(200)), (Decimal(100), Decimal(300))]


def test_parent_is_followed_by_its_children(report: Report) -> None:
    """Tread.fi multi-order 7f3c9d2e lists both children, which follow it indented."""
    ids = [o.order_id for o in report.orders]
    i = ids.index("7f3c9d2e-1a4b-4c8d-9e6f-5a2b3c4d5e6f")
    parent = report.orders[i]
    assert parent.is_parent
    assert parent.depth == 0
    assert [c.order_id for c in parent.children] == [
        o.order_id for o in report.orders[i + 1 : i + 3]
    ]
    assert all(c.link is not None for c in parent.children)
    for child in report.orders[i + 1 : i + 3]:
        assert child.depth == 1
        assert child.parent is not None
        assert child.parent.link == parent.anchor
    assert parent.reconciliation.children_filled == Decimal(16)


def test_report_lists_the_journal_alerts_not_a_replays(tmp_path: Path) -> None:
    """Alerts come from the journal: one appended there is listed though a replay of the
    records would not raise it, and none is invented when the journal holds none."""
    path = tmp_path / "journal.db"
    journal = open_journal(path)
    journal.append_frame(BASE_T, "tread", "main", 1, tread_frame(tread_order("T1")))
    journal.commit()
    journal.close()
    journal = open_report_journal(path)
    try:
        assert build_report(journal).alerts == ()
    finally:
        journal.close()
    journal = open_journal(path)
    journal.append_alert(
        Alert(
            id="feedstale1",
            code=AlertCode.FEED_STALE,
            severity=Severity.CRITICAL,
            venue="tread",
            account="main",
            order_id=None,
            parent_id=None,
            t=BASE_T + 30,
            message="No frame for 30 s.",
            evidence={"silent_seconds": "30"},
        )
    )
    journal.close()
    journal = open_report_journal(path)
    try:
        report = build_report(journal)
    finally:
        journal.close()
    assert [a.id for a in report.alerts] == ["feedstale1"]
    assert report.summary.alerts_by_code == {"FEED_STALE": 1}


def test_records_of_a_venue_without_plugin_are_skipped_and_reported(tmp_path: Path) -> None:
    """A venue no plugin provides is not replayed (its 12 frames); the report says so."""
    path = sample_journal(tmp_path)
    plugins = {k: v for k, v in load_plugins().items() if k != "tread"}
    journal = open_report_journal(path)
    try:
        report = build_report(journal, plugins=plugins)
    finally:
        journal.close()
    assert report.skipped == ("12 records of venue 'tread': no plugin for that venue",)
    assert all(o.venue != "tread" for o in report.orders)


def test_empty_journal_gives_an_empty_report(tmp_path: Path) -> None:
    """A journal with nothing in it: no span, no orders, no alerts, and it still renders."""
    path = tmp_path / "journal.db"
    open_journal(path).close()
    journal = open_report_journal(path)
    try:
        report = build_report(journal)
    finally:
        journal.close()
    assert report.span_start is None
    assert report.orders == ()
    assert report.alerts == ()
    assert report.summary.connections == ()
