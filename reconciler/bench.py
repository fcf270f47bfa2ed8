"""``reconciler bench``: the performance figures, measured side by side in one process.

Each measurement is a module with ``run(options) -> Measurement``. :func:`run_benchmarks`
runs the chosen ones in this process, one after the other, and :func:`render_table`
prints them; :func:`to_json` gives one JSON object with a key per measurement so runs
can be compared across commits. ``quick`` shrinks every workload to a smoke-test size
(CI runs it only to prove the suite works; no figure is ever asserted).

Every figure is a plain number or string; each :class:`Bar` says what the figure is held
against (docs/performance.md) and whether this run met it.
"""

from __future__ import annotations

import importlib
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import msgspec

from reconciler.plugin import VenuePlugin

__all__ = [
    "MEASUREMENTS",
    "Bar",
    "BenchOptions",
    "Measurement",
    "render_table",
    "run_benchmarks",
    "to_json",
]

#: Measurement key -> the module that measures it, in the order they run.
MEASUREMENTS: Mapping[str, str] = {
    "core_throughput": "reconciler._bench_core",
    "socket_path": "reconciler._bench_socket",
    "latency": "reconciler._bench_latency",
    "memory": "reconciler._bench_memory",
    "journal": "reconciler._bench_journal",
}


class Bar(msgspec.Struct, frozen=True, kw_only=True):
    """A target a figure is held against: ``met`` is None when not measured this run."""

    name: str
    target: str
    actual: str
    met: bool | None


class Measurement(msgspec.Struct, kw_only=True):
    """One measurement's result.

    ``figures`` is its JSON object (numbers, strings, nested objects); ``rows`` are
    its table lines as ``(label, value)``; ``bars`` the targets it is held against.
    """

    key: str
    title: str
    figures: dict[str, Any]
    rows: list[tuple[str, str]] = msgspec.field(default_factory=list)
    bars: list[Bar] = msgspec.field(default_factory=list)
    seconds: float = 0.0


@dataclass(frozen=True)
class BenchOptions:
    """What every measurement gets: the size of the run, the plugins, a scratch directory
    and a way to report progress (one line, to stderr by default)."""

    quick: bool
    plugins: Mapping[str, VenuePlugin]
    workdir: Path
    progress: Callable[[str], None] = field(default=lambda _line: None)


class _Runner(Protocol):
    def __call__(self, options: BenchOptions) -> Measurement: ...


def run_benchmarks(options: BenchOptions, only: Sequence[str] = ()) -> list[Measurement]:
    """Run the measurements named in ``only`` (all of :data:`MEASUREMENTS` by default)."""
    results: list[Measurement] = []
    for key, module_name in MEASUREMENTS.items():
        if only and key not in only:
            continue
        runner: _Runner = importlib.import_module(module_name).run
        options.progress(f"bench: {key} ...")
        started = time.perf_counter()
        result = runner(options)
        result.seconds = round(time.perf_counter() - started, 2)
        results.append(result)
    return results


def environment() -> dict[str, Any]:
    """What the figures were measured on: Python, machine, commit, run size."""
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "machine": platform.machine(),
        "system": platform.system(),
        "cpus": os.cpu_count(),
        "commit": _commit(),
        "argv": sys.argv[1:],
    }


def _commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - git from PATH
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
            cwd=Path(__file__).parent,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def to_json(results: Sequence[Measurement], quick: bool) -> bytes:
    """One JSON object: ``environment``, ``quick``, then a key per measurement holding its
    figures, its bars and how long it took."""
    doc: dict[str, Any] = {"environment": environment(), "quick": quick}
    for m in results:
        doc[m.key] = {
            **m.figures,
            "bars": [msgspec.structs.asdict(b) for b in m.bars],
            "seconds": m.seconds,
        }
    return msgspec.json.format(msgspec.json.encode(doc), indent=2) + b"\n"


def render_table(results: Sequence[Measurement], quick: bool) -> str:
    """The figures as a plain-text table, then each bar with met / MISSED."""
    lines: list[str] = []
    width = max((len(label) for m in results for label, _ in m.rows), default=20)
    for m in results:
        lines.append(f"{m.title}  ({m.seconds:.1f} s)")
        lines.extend(f"  {label:<{width}}  {value}" for label, value in m.rows)
        for bar in m.bars:
            verdict = "n/a" if bar.met is None else ("met" if bar.met else "MISSED")
            lines.append(f"  bar: {bar.name}: {bar.actual} (target {bar.target}) -> {verdict}")
        lines.append("")
    if quick:
        lines.append("--quick: smoke-test sizes; these figures are not the benchmark.")
    return "\n".join(lines).rstrip() + "\n"
