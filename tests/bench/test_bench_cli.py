"""``reconciler bench``: the table, the JSON and the command line (never a speed)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from reconciler import _bench_core
from reconciler.bench import Bar, Measurement, render_table, to_json
from reconciler.cli import main


def _measurement(met: bool | None) -> Measurement:
    return Measurement(
        key="example",
        title="Example measurement",
        figures={"rate": 123.0, "nested": {"a": 1}},
        rows=[("rate", "123 frames/s")],
        bars=[Bar(name="rate bar", target=">= 100", actual="123", met=met)],
        seconds=1.5,
    )


def test_the_json_has_one_key_per_measurement_with_its_figures_and_bars() -> None:
    """to_json: environment, quick flag, then each measurement's figures, bars, seconds."""
    doc = json.loads(to_json([_measurement(True)], quick=True))
    assert doc["quick"] is True
    assert {"python", "machine", "cpus", "commit"} <= set(doc["environment"])
    assert doc["example"]["rate"] == 123.0
    assert doc["example"]["nested"] == {"a": 1}
    assert doc["example"]["bars"] == [
        {"name": "rate bar", "target": ">= 100", "actual": "123", "met": True}
    ]
    assert doc["example"]["seconds"] == 1.5


@pytest.mark.parametrize(("met", "verdict"), [(True, "met"), (False, "MISSED"), (None, "n/a")])
def test_the_table_says_whether_each_bar_was_met(met: bool | None, verdict: str) -> None:
    """render_table: the title, each row, and each bar with met / MISSED / n/a."""
    table = render_table([_measurement(met)], quick=False)
    assert "Example measurement  (1.5 s)" in table
    assert "123 frames/s" in table
    assert f"bar: rate bar: 123 (target >= 100) -> {verdict}" in table


def test_a_quick_table_says_its_figures_are_not_the_benchmark() -> None:
    """--quick output carries a warning that smoke-test sizes are not the benchmark."""
    assert "not the benchmark" in render_table([_measurement(True)], quick=True)


def test_bench_writes_the_table_and_the_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command runs the chosen measurement, prints the table and writes the JSON;
    its exit status is 0 whatever the bars say."""
    monkeypatch.setattr(_bench_core, "FRAMES", (300, 300))
    out = tmp_path / "figures.json"
    status = main(["bench", "--quick", "--only", "core_throughput", "--json", str(out)])
    assert status == 0
    table = capsys.readouterr().out
    assert "Core throughput" in table
    doc = json.loads(out.read_text())
    assert set(doc) == {"environment", "quick", "core_throughput"}
    for venue in ("btse", "bybit", "clearstreet", "tread"):
        figures = doc["core_throughput"][venue]
        assert figures["frames"] >= 300
        assert figures["reconcile_fps"] > 0
        assert figures["decode_fps"] > 0
        assert figures["naive_fps"] > 0


def test_bench_refuses_a_json_path_in_a_missing_directory(tmp_path: Path) -> None:
    """A --json file in a directory that does not exist is one clear error, exit 2."""
    from reconciler._cli_bench import bench_command  # noqa: PLC0415

    class Args:
        json = str(tmp_path / "nope" / "figures.json")
        quick = True
        only = None

    err = io.StringIO()
    assert bench_command(Args(), io.StringIO(), err) == 2  # type: ignore[arg-type]
    assert err.getvalue() == f"reconciler: error: --json: no such directory: {tmp_path / 'nope'}\n"
