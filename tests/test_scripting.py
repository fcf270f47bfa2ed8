"""``reconciler.scripting.build_script``: where the named faults go in a script, the
quiet window a connection fault owns, and the refusal of a fault with no story."""

from __future__ import annotations

import json
import random
from decimal import Decimal

import pytest

from reconciler.alerts import AlertCode
from reconciler.scripting import (
    QUIET_AFTER,
    FaultResult,
    FaultStory,
    Timeline,
    build_script,
)
from reconciler.simulator import Disconnect, ExpectedAlert, Script

START_MS = 1_752_147_100_000
DURATION = 60.0


def _clean(tl: Timeline, t0: float) -> None:
    """One order: registered, acknowledged, filled."""
    oid = tl.uid()
    tl.expect(t0, oid, "BTC-USD", "buy", Decimal(1))
    at = t0 + tl.gap()
    tl.send(at, json.dumps({"id": oid, "status": "new"}))
    tl.send(at + tl.gap(), json.dumps({"id": oid, "status": "filled"}))


def _drop(tl: Timeline, t0: float) -> FaultResult:
    """An acknowledgement lost in transit, absorbed silently."""
    oid = tl.uid()
    tl.expect(t0, oid, "BTC-USD", "sell", Decimal(2))
    tl.send(t0 + tl.gap(), json.dumps({"id": oid, "status": "new"}), lost=True)
    return FaultResult(t0, (), "drop")


def _overfill(tl: Timeline, t0: float) -> FaultResult:
    """A fill beyond the order's quantity."""
    oid = tl.uid()
    tl.send(t0, json.dumps({"id": oid, "filled": "3", "qty": "2"}))
    return FaultResult(t0, (ExpectedAlert(AlertCode.OVERFILL.value, oid),), "overfill")


def _disconnect(tl: Timeline, t0: float) -> FaultResult:
    """The venue closes the connection at ``t0``."""
    tl.add(Disconnect(at=t0))
    return FaultResult(t0, (), "disconnect")


FAULTS: dict[str, FaultStory[Timeline]] = {
    "drop": _drop,
    "overfill": _overfill,
    "disconnect": _disconnect,
}


def _script(faults: list[str], seed: int = 7) -> Script:
    """A script of ``DURATION`` seconds with ``faults``, from ``seed``."""
    tl = Timeline(random.Random(seed), "acme", "main", START_MS)
    return build_script(tl, duration=DURATION, faults=faults, stories=_clean, fault_stories=FAULTS)


def test_faults_are_placed_in_the_order_given_evenly_over_the_run() -> None:
    """Each fault is injected once, in the order named (repeats ignored), at the middle
    of its equal share of the run."""
    script = _script(["overfill", "drop", "overfill"])

    assert [inj.fault for inj in script.injected] == ["overfill", "drop"]
    share = (DURATION - 1.0) / 2
    assert [inj.at for inj in script.injected] == [
        round(0.5 + share * 0.5, 3),
        round(0.5 + share * 1.5, 3),
    ]


def test_a_connection_fault_is_followed_by_a_quiet_window() -> None:
    """Nothing is registered or sent from a connection fault until ``QUIET_AFTER``
    seconds later, while clean flow runs on both sides of the window."""
    script = _script(["disconnect"])

    (inj,) = script.injected
    inside = [s for s in script.steps if inj.at < s.at <= inj.at + QUIET_AFTER]
    assert inside == []
    assert any(s.at < inj.at for s in script.steps)
    assert any(s.at > inj.at + QUIET_AFTER for s in script.steps)


def test_stories_receive_the_timeline_subclass_they_were_given() -> None:
    """Forks of a venue's ``Timeline`` subclass, for clean and fault stories alike, are of
    that subclass, so stories can use the venue's clock."""

    class VenueTimeline(Timeline):
        """A venue's timeline."""

    seen: list[type[Timeline]] = []

    def clean(tl: VenueTimeline, t0: float) -> None:
        seen.append(type(tl))
        _clean(tl, t0)

    def drop(tl: VenueTimeline, t0: float) -> FaultResult:
        seen.append(type(tl))
        return _drop(tl, t0)

    tl = VenueTimeline(random.Random(7), "acme", "main", START_MS)
    build_script(tl, duration=10.0, faults=["drop"], stories=clean, fault_stories={"drop": drop})

    assert len(seen) > 1
    assert set(seen) == {VenueTimeline}


def test_an_unknown_fault_name_raises_value_error() -> None:
    """A fault with no story is refused before anything is written."""
    with pytest.raises(ValueError, match="unknown fault 'nope' for venue 'acme'"):
        _script(["drop", "nope"])
