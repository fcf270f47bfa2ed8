"""The json, csv and md reports of the sample journal are exactly the committed goldens.

Regenerate after an intended change with ``UPDATE_GOLDEN=1 pytest tests/report`` and
review the diff of ``tests/report/golden/``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from report.reportkit import GOLDEN, sample_journal

from reconciler.report import Report, build_report, open_report_journal, render


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    path = sample_journal(tmp_path_factory.mktemp("golden"))
    journal = open_report_journal(path)
    try:
        return build_report(journal, source=path.name)
    finally:
        journal.close()


def _check(name: str, text: str) -> None:
    golden = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_bytes(text.encode())
    assert golden.read_bytes().decode() == text, f"{name} differs from {golden}"


def test_json_report_matches_golden(report: Report) -> None:
    """--format json of the sample journal is byte-identical to golden/sample.json."""
    _check("sample.json", render(report, "json"))


def test_csv_report_matches_golden(report: Report) -> None:
    """--format csv of the sample journal is byte-identical to golden/sample.csv."""
    _check("sample.csv", render(report, "csv"))


def test_md_report_matches_golden(report: Report) -> None:
    """--format md of the sample journal is byte-identical to golden/sample.md."""
    _check("sample.md", render(report, "md"))


def test_report_is_deterministic(report: Report, tmp_path: Path) -> None:
    """A second journal built from the same capture gives byte-identical output."""
    path = sample_journal(tmp_path)
    journal = open_report_journal(path)
    try:
        again = build_report(journal, source=path.name)
    finally:
        journal.close()
    for fmt in ("json", "csv", "md", "html"):
        assert render(again, fmt) == render(report, fmt)


def test_reports_doc_excerpt_is_from_the_golden() -> None:
    """Every line of the md excerpt in docs/reports.md is a line of golden/sample.md."""
    doc = (GOLDEN.parents[2] / "docs" / "reports.md").read_text(encoding="utf-8")
    excerpt = doc.split("```markdown\n", 1)[1].split("```", 1)[0]
    golden = set((GOLDEN / "sample.md").read_text(encoding="utf-8").splitlines())
    assert [line for line in excerpt.splitlines() if line and line not in golden] == []
