"""The documentation tells the truth: its examples are replayed through the real engine.

- Every code of the alert catalog (``docs/alerts.md``) has a section with an example
  capture, and replaying that capture produces exactly the alert the section shows.
- The sample capture in ``examples/`` is what its generator writes, and replaying it
  produces exactly the faults the generator injected.
- The capture lines shown in ``docs/capture-format.md`` read without error, and the
  configuration page and example file cover every ``[core]`` setting.
"""

from __future__ import annotations

import importlib.util
import json
import re
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import msgspec
import pytest

from reconciler import DEFAULT_SEVERITY, Alert, AlertCode, CoreConfig, Reconciler
from reconciler.alerts import LIVE_ONLY_CODES
from reconciler.capture import LineError, read_capture, replay
from reconciler.config_file import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_SECTION = re.compile(r"^## (.+?)[ \t]*$", re.MULTILINE)


class Example(NamedTuple):
    """One catalog example: an optional ``[core]`` config, a capture, the alert shown."""

    config: str | None
    capture: str
    alert: dict[str, Any]


def _sections(text: str) -> dict[str, str]:
    """The body of every level-2 section, keyed by its heading."""
    parts = _SECTION.split(text)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def _live_example(body: str) -> dict[str, Any] | None:
    """A live-only code's example: its ``json`` block (there is no capture to replay)."""
    blocks = [text for lang, text in _FENCE.findall(body) if lang == "json"]
    return json.loads(blocks[0]) if blocks else None


def _example(body: str) -> Example | None:
    """The section's example: a ``jsonl`` block, directly followed by a ``json`` block,
    optionally directly preceded by a ``toml`` block."""
    blocks = _FENCE.findall(body)
    for i, (lang, text) in enumerate(blocks):
        if lang == "jsonl" and i + 1 < len(blocks) and blocks[i + 1][0] == "json":
            config = blocks[i - 1][1] if i > 0 and blocks[i - 1][0] == "toml" else None
            return Example(config, text, json.loads(blocks[i + 1][1]))
    return None


def _catalog() -> dict[str, Example | None]:
    sections = _sections((DOCS / "alerts.md").read_text(encoding="utf-8"))
    return {code: _example(body) for code, body in sections.items()}


CATALOG = _catalog()


def _replay(example: Example) -> list[dict[str, Any]]:
    """Every alert a fresh reconciler raises for the example, as plain JSON values."""
    config = CoreConfig()
    if example.config is not None:
        config = msgspec.convert(tomllib.loads(example.config), Settings, strict=False).core
    errors: list[LineError] = []
    records = list(read_capture(example.capture.splitlines(), "docs/alerts.md", errors))
    assert errors == []
    alerts = replay([records], Reconciler(config=config))
    return [json.loads(msgspec.json.encode(a)) for a in alerts]


REPLAYABLE = [c.value for c in AlertCode if c not in LIVE_ONLY_CODES]
LIVE = [c.value for c in AlertCode if c in LIVE_ONLY_CODES]


def test_every_alert_code_has_a_section_with_an_example() -> None:
    """docs/alerts.md documents all 28 codes: each of the 25 the core raises with a
    runnable example, each live-only one with an example alert."""
    missing = [code for code in REPLAYABLE if CATALOG.get(code) is None]
    assert missing == []
    assert (len(REPLAYABLE), len(LIVE)) == (25, 3)


@pytest.mark.parametrize("code", LIVE)
def test_live_only_example_is_a_well_formed_alert(code: str) -> None:
    """A live-only code's example has every Alert field, its default severity and no
    order (these alerts concern connections)."""
    sections = _sections((DOCS / "alerts.md").read_text(encoding="utf-8"))
    shown = _live_example(sections[code])
    assert shown is not None
    alert = msgspec.convert(shown, Alert)
    assert (alert.code, alert.severity.value, alert.order_id) == (code, _severity(code), None)
    assert sorted(shown) == sorted(Alert.__struct_fields__)


@pytest.mark.parametrize("code", REPLAYABLE, ids=REPLAYABLE)
def test_catalog_example_produces_exactly_the_documented_alert(code: str) -> None:
    """Replaying the section's capture yields the alert shown, field for field (id,
    severity, order, evidence, message, time), and nothing else."""
    example = CATALOG.get(code)
    assert example is not None
    shown = example.alert
    assert (shown["code"], shown["severity"]) == (code, _severity(code))
    produced = _replay(example)
    assert [_key(a) for a in produced] == [_key(shown)]
    assert produced == [shown]


def _severity(code: str) -> str:
    return DEFAULT_SEVERITY[AlertCode(code)].value


def _key(alert: dict[str, Any]) -> tuple[object, ...]:
    """The fields that identify an alert, for a readable first comparison."""
    return (alert["code"], alert["order_id"], alert["severity"], alert["id"], alert["evidence"])


# -- the sample capture ----------------------------------------------------------------


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_sample_capture", EXAMPLES / "make_sample_capture.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sample_capture_is_what_its_generator_writes() -> None:
    """examples/sample-capture.jsonl is reproducible, byte for byte, from its script."""
    lines: list[str] = _generator().build()
    text = (EXAMPLES / "sample-capture.jsonl").read_text(encoding="utf-8")
    assert text == "\n".join(lines) + "\n"


def test_sample_capture_alerts_are_exactly_the_injected_faults() -> None:
    """Replaying the sample: every injected fault is detected and nothing else alerts."""
    problems: list[str] = _generator().check()
    assert problems == []


# -- the other pages -------------------------------------------------------------------


def test_capture_format_examples_read_without_errors() -> None:
    """Every jsonl block in docs/capture-format.md is a valid capture."""
    text = (DOCS / "capture-format.md").read_text(encoding="utf-8")
    blocks = [body for lang, body in _FENCE.findall(text) if lang == "jsonl"]
    assert blocks
    for body in blocks:
        errors: list[LineError] = []
        records = list(read_capture(body.splitlines(), "docs/capture-format.md", errors))
        assert errors == []
        assert records


def test_embedding_page_code_runs() -> None:
    """Every python block in docs/embedding.md runs, in order, in one namespace (its
    asserts check the alerts it describes, the example plugin included)."""
    text = (DOCS / "embedding.md").read_text(encoding="utf-8")
    blocks = [body for lang, body in _FENCE.findall(text) if lang == "python"]
    assert blocks
    namespace: dict[str, Any] = {"__name__": "docs_embedding"}
    for body in blocks:
        code = compile(body, "docs/embedding.md", "exec", dont_inherit=True)
        exec(code, namespace)  # noqa: S102
    assert namespace["plugin"].name == "acme"


def test_configuration_page_documents_every_core_setting() -> None:
    """docs/configuration.md names every CoreConfig field with its default value."""
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    for field in msgspec.structs.fields(CoreConfig):
        assert f"`{field.name}`" in text, field.name


def test_example_configuration_file_loads_and_covers_every_setting() -> None:
    """examples/reconciler.toml is valid, holds the defaults, and shows every [core] key."""
    path = EXAMPLES / "reconciler.toml"
    assert load_settings(path).core == CoreConfig()
    text = path.read_text(encoding="utf-8")
    for field in msgspec.structs.fields(CoreConfig):
        assert re.search(rf"^#? ?{field.name} ?=", text, re.MULTILINE), field.name
