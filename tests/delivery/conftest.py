"""Fixtures of the delivery tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import trio.testing

from reconciler.journal import Journal, open_journal


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    """A fresh SQLite journal (with its outbox), closed after the test."""
    j = open_journal(tmp_path / "j.db")
    try:
        yield j
    finally:
        j.close()


@pytest.fixture
def autojump_clock() -> trio.testing.MockClock:
    """Trio's autojump clock, jumping only after 50 ms of real idleness.

    These tests count requests exactly. With the default threshold of 0 the clock can
    jump while a loopback answer is still in the kernel (a loaded machine), straight to
    the request's timeout: a spurious timeout and a legitimate, but uncounted, retry.
    """
    return trio.testing.MockClock(autojump_threshold=0.05)
