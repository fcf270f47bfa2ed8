"""The canonical lifecycle's transition table."""

from __future__ import annotations

import pytest

from reconciler.lifecycle import (
    OPEN_STATUSES,
    TERMINAL_STATUSES,
    TRANSITIONS,
    Status,
    is_terminal,
    transition_allowed,
)


def test_every_status_has_a_row() -> None:
    """Every canonical status has a row in the transition table."""
    assert set(TRANSITIONS) == set(Status)


def test_open_and_terminal_partition_the_known_statuses() -> None:
    """Open and terminal statuses are disjoint and cover everything but unknown."""
    assert not OPEN_STATUSES & TERMINAL_STATUSES
    assert OPEN_STATUSES | TERMINAL_STATUSES | {Status.UNKNOWN} == set(Status)


@pytest.mark.parametrize("terminal", sorted(TERMINAL_STATUSES))
@pytest.mark.parametrize("target", sorted(set(Status) - {Status.UNKNOWN}))
def test_terminal_statuses_are_final(terminal: Status, target: Status) -> None:
    """A terminal order may only repeat its own status."""
    assert transition_allowed(terminal, target) is (target is terminal)


@pytest.mark.parametrize("source", sorted(OPEN_STATUSES - {Status.PENDING}))
def test_nothing_returns_to_pending(source: Status) -> None:
    """Pending only ever comes first."""
    assert not transition_allowed(source, Status.PENDING)


@pytest.mark.parametrize("source", sorted(OPEN_STATUSES - {Status.PENDING, Status.UNTRIGGERED}))
def test_a_live_order_never_untriggers(source: Status) -> None:
    """Untriggered only follows pending."""
    assert not transition_allowed(source, Status.UNTRIGGERED)


@pytest.mark.parametrize("source", sorted(OPEN_STATUSES))
@pytest.mark.parametrize("target", sorted(TERMINAL_STATUSES))
def test_any_open_order_may_end(source: Status, target: Status) -> None:
    """Every open status may move to every terminal status."""
    assert transition_allowed(source, target)


def test_live_states_move_freely_between_each_other() -> None:
    """A fill during pending-cancel, a cancel-reject, a pause and resume are all allowed."""
    assert transition_allowed(Status.PENDING_CANCEL, Status.PARTIALLY_FILLED)
    assert transition_allowed(Status.PENDING_CANCEL, Status.ACCEPTED)
    assert transition_allowed(Status.PAUSED, Status.ACCEPTED)
    assert transition_allowed(Status.UNTRIGGERED, Status.TRIGGERED)
    assert transition_allowed(Status.TRIGGERED, Status.ACCEPTED)


def test_unknown_is_never_judged() -> None:
    """Moving to or from an unmapped status is not an illegal transition."""
    assert transition_allowed(Status.FILLED, Status.UNKNOWN)
    assert transition_allowed(Status.UNKNOWN, Status.ACCEPTED)
    assert not is_terminal(Status.UNKNOWN)
