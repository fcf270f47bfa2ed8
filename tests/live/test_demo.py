"""``reconciler demo``: detected against injected, with the example venue."""

from __future__ import annotations

from io import StringIO

import trio
from live.examplevenue import ExamplePlugin

from reconciler.demo import run_demo


async def test_demo_detects_every_example_fault(autojump_clock: trio.abc.Clock) -> None:
    """Every fault the example simulator injects is detected, and nothing else is raised."""
    out = StringIO()
    report = await run_demo(duration=40, seed=3, out=out, plugins={"example": ExamplePlugin()})
    text = out.getvalue()
    assert report.ok, text
    assert len(report.results) == len(ExamplePlugin().simulator({}).fault_names)
    assert "Result: PASS" in text
