"""The ``reconciler`` command line: replay output, filters and exit statuses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from builders import btse_frame, btse_item

from reconciler.cli import main

LOST_FILL = [
    {"t": 10, "venue": "btse", "account": "main", "frame": btse_frame(btse_item("o1", status=2))},
    {
        "t": 11,
        "venue": "btse",
        "account": "main",
        "frame": btse_frame(btse_item("o1", status=4, total=900, filled=300)),
    },
    {"t": 12, "venue": "btse", "account": "main", "frame": "{not json"},
]


def _capture(tmp_path: Path, records: list[dict[str, object]], name: str = "cap.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_replay_prints_one_json_object_per_alert(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """jsonl output: one parseable alert per line with the catalog's fields."""
    status = main(["replay", str(_capture(tmp_path, LOST_FILL)), "--format", "jsonl"])
    out, err = capsys.readouterr()
    alerts = [json.loads(line) for line in out.splitlines()]
    assert status == 0
    assert [a["code"] for a in alerts] == ["MALFORMED_MESSAGE", "FILL_GAP"]
    assert set(alerts[1]) == {
        "id",
        "code",
        "severity",
        "venue",
        "account",
        "order_id",
        "parent_id",
        "t",
        "message",
        "evidence",
    }
    assert alerts[1]["order_id"] == "o1"
    assert alerts[1]["evidence"]["missing_quantity"] == "600"
    assert "3 frames, 2 alerts" in err


def test_min_severity_filters_the_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--min-severity critical hides warnings."""
    main(
        [
            "replay",
            str(_capture(tmp_path, LOST_FILL)),
            "--format",
            "jsonl",
            "--min-severity",
            "critical",
        ]
    )
    assert capsys.readouterr().out == ""


def test_fail_on_sets_exit_status_one(tmp_path: Path) -> None:
    """--fail-on warning exits 1 when a warning fired; --fail-on critical does not."""
    path = str(_capture(tmp_path, LOST_FILL))
    assert main(["replay", path, "--format", "jsonl", "--fail-on", "warning"]) == 1
    assert main(["replay", path, "--format", "jsonl", "--fail-on", "critical"]) == 0


def test_table_format_is_readable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The table shows time, severity, code, venue/account, order and message, then evidence."""
    main(["replay", str(_capture(tmp_path, LOST_FILL)), "--format", "table"])
    out = capsys.readouterr().out
    assert "FILL_GAP" in out
    assert "btse/main" in out
    assert "evidence: reported_filled=900, missing_quantity=600" in out


def test_unreadable_capture_exits_two_with_one_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing capture file is one clear message and exit 2, no traceback."""
    status = main(["replay", str(tmp_path / "missing.jsonl")])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("reconciler: cannot read capture")
    assert "Traceback" not in err


def test_bad_arguments_exit_two(capsys: pytest.CaptureFixture[str]) -> None:
    """An invalid level is a usage error with exit 2."""
    with pytest.raises(SystemExit) as exc:
        main(["replay", "x.jsonl", "--fail-on", "loud"])
    assert exc.value.code == 2
    assert "invalid level 'loud'" in capsys.readouterr().err


def test_bad_capture_lines_are_reported_and_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad line is reported with file and line number on stderr; the rest replays."""
    path = _capture(tmp_path, LOST_FILL)
    path.write_text(path.read_text() + "oops\n")
    status = main(["replay", str(path), "--format", "jsonl"])
    out, err = capsys.readouterr()
    assert status == 0
    assert f"skipped {path}:4:" in err
    assert len(out.splitlines()) == 2


def test_bad_config_exits_two_with_its_location(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A config value of the wrong type names the key; exit 2."""
    config = tmp_path / "bad.toml"
    config.write_text('[core]\nsettle_window = "soon"\n')
    status = main(["replay", str(_capture(tmp_path, LOST_FILL)), "--config", str(config)])
    err = capsys.readouterr().err
    assert status == 2
    assert "core.settle_window" in err


def test_config_changes_the_thresholds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A [core] settle_window from the config moves when the gap is proven."""
    config = tmp_path / "ok.toml"
    config.write_text("[core]\nsettle_window = 1.5\n")
    main(
        ["replay", str(_capture(tmp_path, LOST_FILL)), "--config", str(config), "--format", "jsonl"]
    )
    alerts = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert alerts[-1]["code"] == "FILL_GAP"
    assert alerts[-1]["t"] == 12.5


def test_stdin_capture(tmp_path: Path) -> None:
    """'-' reads the capture from standard input (run as a real process)."""
    data = "".join(json.dumps(r) + "\n" for r in LOST_FILL)
    proc = subprocess.run(
        [sys.executable, "-m", "reconciler.cli", "replay", "-", "--format", "jsonl"],
        input=data,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(x)["code"] for x in proc.stdout.splitlines()] == [
        "MALFORMED_MESSAGE",
        "FILL_GAP",
    ]


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """Piping into a reader that stops early (``| head``) ends without a traceback."""
    # Far more output than a pipe buffer holds, so the writer really meets a closed pipe.
    garbage = [{"t": 10 + i, "venue": "btse", "frame": f"garbage {i}"} for i in range(3000)]
    path = _capture(tmp_path, garbage)
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconciler.cli", "replay", str(path), "--format", "jsonl"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline()
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert b"Traceback" not in err
    assert proc.returncode == 0
