"""The HTML report: one self-contained page with its charts, every alert and order, and
venue data escaped."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from builders import BASE_T, tread_frame, tread_order
from report.reportkit import sample_journal

from reconciler import Alert
from reconciler.journal import open_journal
from reconciler.report import build_report, open_report_journal, render


class _Page(HTMLParser):
    """Every start tag with its attributes, the text, and the <title>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.title = ""
        self._in_title = False
        self._stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._in_title = tag == "title" and "svg" not in self._stack
        if tag not in ("meta", "br", "wbr", "line", "rect", "circle", "path"):
            self._stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False
        if tag in self._stack:
            while self._stack and self._stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in_title:
            self.title += data

    def ids(self) -> set[str]:
        return {a["id"] for _, a in self.tags if "id" in a}

    def all(self, tag: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags if t == tag]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[Alert], Path]:
    path = sample_journal(tmp_path_factory.mktemp("html"))
    journal = open_report_journal(path)
    try:
        html = render(build_report(journal, source=path.name), "html")
        alerts = list(journal.alerts())
    finally:
        journal.close()
    return html, alerts, path


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def test_html_has_a_title_and_a_summary_table(
    sample: tuple[str, list[Alert], Path],
) -> None:
    """The page has a <title> naming the journal and a summary section with tables."""
    html, _, _ = sample
    page = _parse(html)
    assert html.startswith("<!DOCTYPE html>")
    assert page.title == "Reconciliation report: journal.db"
    assert "summary" in page.ids()
    assert any(a.get("class") == "summary" for a in page.all("table"))
    text = " ".join(page.text)
    for heading in ("Connection health", "Orders by final status", "Alerts by code"):
        assert heading in text


def test_html_has_the_alert_and_fill_charts(sample: tuple[str, list[Alert], Path]) -> None:
    """Inline SVG: the alerts-over-time chart, fill-progress charts and uptime strips."""
    html, _, _ = sample
    page = _parse(html)
    labels = [a.get("aria-label", "") for a in page.all("svg")]
    assert "Alerts over time per venue" in labels
    assert any(label.startswith("Fill progress of bybit order 5c2f9a18") for label in labels)
    assert labels.count("connection over the span") == 6
    # Bars of the alerts chart: one rect per (bucket, venue) with alerts, 11 alerts in all.
    assert sum(1 for a in page.all("rect") if a.get("fill", "").startswith("#")) >= 8


def test_html_is_self_contained(sample: tuple[str, list[Alert], Path]) -> None:
    """No script, stylesheet, image or frame is loaded from anywhere: no src attribute,
    no <link>, no http(s) or protocol-relative URL anywhere in the file."""
    html, _, _ = sample
    page = _parse(html)
    assert not page.all("script")
    assert not page.all("link")
    assert not page.all("img")
    assert not page.all("iframe")
    assert all("src" not in attrs for _, attrs in page.tags)
    for _, attrs in page.tags:
        href = attrs.get("href")
        if href is not None:
            assert href.startswith("#"), href
    assert "http://" not in html
    assert "https://" not in html
    assert "url(" not in html
    assert "@import" not in html


def test_html_names_every_alert_and_every_order(
    sample: tuple[str, list[Alert], Path],
) -> None:
    """Every alert id of the journal and every order id of the replay appear in the page."""
    html, alerts, path = sample
    text = " ".join(_parse(html).text)
    assert len(alerts) == 11
    for alert in alerts:
        assert alert.id in text
    journal = open_report_journal(path)
    try:
        report = build_report(journal)
    finally:
        journal.close()
    assert len(report.orders) == 53
    for order in report.orders:
        assert order.order_id in text


def test_html_internal_links_all_resolve(sample: tuple[str, list[Alert], Path]) -> None:
    """Every href="#x" (alert -> order, order -> alert, parent <-> child) has an id="x"."""
    html, _, _ = sample
    page = _parse(html)
    ids = page.ids()
    targets = {a["href"][1:] for a in page.all("a") if a.get("href", "").startswith("#")}
    assert targets
    assert targets <= ids, targets - ids
    assert "order-bybit-5c2f9a18-7e43-4b6d-a0c9-3d8e1f2a7b64" in targets


def test_html_alert_links_to_its_order(sample: tuple[str, list[Alert], Path]) -> None:
    """The FILL_REGRESSION alert's row links to its order's section."""
    html, _, _ = sample
    row = html[html.index("alert-54d2fab4a60733ef064f") :]
    row = row[: row.index("</tr>")]
    assert 'href="#order-btse-f4e3d2c1-b0a9-4876-9543-210fedcba987"' in row


def test_html_escapes_venue_data(tmp_path: Path) -> None:
    """An order id carrying markup is shown as text, never as a tag, in html and md."""
    hostile = '<img src=x onerror="alert(1)">&amp;'
    path = tmp_path / "journal.db"
    journal = open_journal(path)
    journal.append_connection_event(BASE_T, "tread", "main", "connected")
    journal.append_frame(BASE_T + 1, "tread", "main", 1, tread_frame(tread_order(hostile)))
    journal.close()
    journal = open_report_journal(path)
    try:
        report = build_report(journal)
    finally:
        journal.close()
    assert [o.order_id for o in report.orders] == [hostile]
    html = render(report, "html")
    page = _parse(html)
    assert not page.all("img")
    assert hostile in " ".join(page.text)
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;amp;" in html
    md = render(report, "md")
    assert "<img" not in md
    assert '&lt;img src=x onerror="alert(1)"&gt;&amp;amp;' in md
