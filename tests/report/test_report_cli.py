"""``reconciler report``: output to stdout or a file, and one-line errors with status 2."""

from __future__ import annotations

import argparse
import io
import json
import sqlite3
from pathlib import Path

import pytest
from report.reportkit import sample_journal

from reconciler._cli_report import add_report_parser, report_command
from reconciler.report import ReportError, parse_time


@pytest.fixture(scope="module")
def journal_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_journal(tmp_path_factory.mktemp("cli"))


def _run(*argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="reconciler")
    add_report_parser(parser.add_subparsers(dest="command"))
    out, err = io.StringIO(), io.StringIO()
    status = report_command(parser.parse_args(["report", *argv]), out, err)
    return status, out.getvalue(), err.getvalue()


def _one_error_line(err: str) -> str:
    assert err.endswith("\n")
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("reconciler: ")
    assert "Traceback" not in err
    return lines[0]


def test_report_writes_to_stdout_without_out(journal_path: Path) -> None:
    """Without --out the report goes to standard output, status 0, nothing on stderr."""
    status, out, err = _run(str(journal_path), "--format", "json")
    assert (status, err) == (0, "")
    assert json.loads(out)["summary"]["alerts"] == 11


def test_report_writes_the_out_file(journal_path: Path, tmp_path: Path) -> None:
    """--out FILE writes the report there and nothing to standard output."""
    target = tmp_path / "report.html"
    status, out, err = _run(str(journal_path), "--format", "html", "--out", str(target))
    assert (status, out, err) == (0, "", "")
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_report_cli_filters_reach_the_report(journal_path: Path) -> None:
    """--venue, --account, --from and --to (ISO) are applied."""
    status, out, _ = _run(
        str(journal_path),
        "--format",
        "json",
        "--venue",
        "bybit",
        "--account",
        "hedge",
        "--from",
        "2025-07-10T11:31:40Z",
        "--to",
        "2025-07-10T11:32:06Z",
    )
    doc = json.loads(out)
    assert status == 0
    assert doc["filters"] == {
        "from_t": 1752147100.0,
        "to_t": 1752147126.0,
        "venue": "bybit",
        "account": "hedge",
    }
    assert [a["code"] for a in doc["alerts"]] == ["ORDER_REJECTED", "FILL_AFTER_TERMINAL"]


def test_missing_journal_is_one_line_and_status_2(tmp_path: Path) -> None:
    """A journal path that does not exist: one line, status 2, and no file is created."""
    missing = tmp_path / "nope.db"
    status, out, err = _run(str(missing), "--format", "md")
    assert (status, out) == (2, "")
    assert "does not exist" in _one_error_line(err)
    assert not missing.exists()


def test_text_file_is_not_a_journal(tmp_path: Path) -> None:
    """A file that is not SQLite (a capture, say): one line, status 2."""
    capture = tmp_path / "capture.jsonl"
    capture.write_text('{"t": 1, "event": "tick"}\n')
    status, _, err = _run(str(capture), "--format", "md")
    assert status == 2
    assert "not a reconciler journal" in _one_error_line(err)


def test_empty_file_is_not_a_journal_and_stays_empty(tmp_path: Path) -> None:
    """An empty file is refused and left untouched (never initialized as a journal)."""
    empty = tmp_path / "empty.db"
    empty.touch()
    status, _, err = _run(str(empty), "--format", "csv")
    assert status == 2
    assert "not a reconciler journal" in _one_error_line(err)
    assert empty.read_bytes() == b""


def test_other_sqlite_database_is_refused_and_not_modified(tmp_path: Path) -> None:
    """An SQLite database without the journal schema is refused; no table is added."""
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    status, _, err = _run(str(other), "--format", "json")
    assert status == 2
    assert "not a reconciler journal" in _one_error_line(err)
    con = sqlite3.connect(other)
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    con.close()
    assert tables == {"t"}


def test_directory_is_not_a_journal(tmp_path: Path) -> None:
    """A directory: one line, status 2."""
    status, _, err = _run(str(tmp_path), "--format", "json")
    assert status == 2
    assert "is not a file" in _one_error_line(err)


@pytest.mark.parametrize("flag", ["--from", "--to"])
@pytest.mark.parametrize("value", ["yesterday", "2025-13-01T00:00:00Z", "nan", "inf"])
def test_bad_time_is_one_line_and_status_2(journal_path: Path, flag: str, value: str) -> None:
    """A time that is neither epoch seconds nor ISO-8601: one line naming it, status 2."""
    status, out, err = _run(str(journal_path), "--format", "md", flag, value)
    assert (status, out) == (2, "")
    assert repr(value) in _one_error_line(err)


def test_from_after_to_is_refused(journal_path: Path) -> None:
    """--from later than --to: one line, status 2."""
    status, _, err = _run(
        str(journal_path), "--format", "md", "--from", "1752147200", "--to", "1752147100"
    )
    assert status == 2
    assert "after --to" in _one_error_line(err)


def test_unwritable_out_is_one_line_and_status_2(journal_path: Path, tmp_path: Path) -> None:
    """--out in a directory that does not exist: one line, status 2."""
    target = tmp_path / "missing-dir" / "report.md"
    status, _, err = _run(str(journal_path), "--format", "md", "--out", str(target))
    assert status == 2
    assert "cannot write" in _one_error_line(err)


def test_parse_time_rejects_garbage() -> None:
    """parse_time raises ReportError (not ValueError) for text it cannot read."""
    with pytest.raises(ReportError, match="ISO-8601"):
        parse_time("11:32")


def test_cli_main_runs_report(journal_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``reconciler report`` through reconciler.cli.main: a CSV on stdout, nothing on stderr."""
    from reconciler import cli  # noqa: PLC0415

    status = cli.main(["report", str(journal_path), "--format", "csv"])
    out, err = capsys.readouterr()
    assert (status, err) == (0, "")
    assert out.startswith("alert_id,time_utc,")
    assert len(out.splitlines()) == 12
