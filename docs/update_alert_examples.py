"""Rewrite the alert shown after every example capture in docs/alerts.md.

Each example is a ```jsonl capture (optionally preceded by a ```toml [core] block)
directly followed by a ```json block. This replays each capture through the real engine
and puts the alert it produces into that ``json`` block, so the catalog shows exactly
what the engine says. ``tests/test_docs_examples.py`` fails until this is run after a
change to an alert's id, message or evidence. Run from the repository root:

    python docs/update_alert_examples.py
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from pathlib import Path

import msgspec

from reconciler import CoreConfig, Reconciler
from reconciler.capture import LineError, read_capture, replay

ALERTS = Path(__file__).resolve().parent / "alerts.md"
_BLOCKS = re.compile(
    r"(?:```toml\n(?P<toml>.*?)```\n\n)?```jsonl\n(?P<capture>.*?)```\n\n```json\n(?P<alert>.*?)```",
    re.DOTALL,
)


def _alert_for(capture: str, config_text: str | None) -> str:
    config = CoreConfig()
    if config_text is not None:
        config = msgspec.convert(tomllib.loads(config_text).get("core", {}), CoreConfig)
    errors: list[LineError] = []
    records = list(read_capture(capture.splitlines(), "example", errors))
    if errors:
        raise SystemExit(f"bad example capture: {errors[0]}")
    alerts = list(replay([records], Reconciler(config=config)))
    if len(alerts) != 1:
        codes = [a.code for a in alerts]
        raise SystemExit(f"an example must produce exactly one alert, got {codes}")
    return json.dumps(json.loads(msgspec.json.encode(alerts[0])), indent=2, ensure_ascii=False)


def main() -> int:
    """Rewrite docs/alerts.md in place; print how many examples changed."""
    text = ALERTS.read_text(encoding="utf-8")
    changed = 0

    def rewrite(m: re.Match[str]) -> str:
        nonlocal changed
        new = _alert_for(m.group("capture"), m.group("toml")) + "\n"
        if new != m.group("alert"):
            changed += 1
        return m.group(0)[: m.start("alert") - m.start(0)] + new + "```"

    ALERTS.write_text(_BLOCKS.sub(rewrite, text), encoding="utf-8")
    sys.stdout.write(f"{changed} example(s) updated\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
