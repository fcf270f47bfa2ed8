"""What flows through the engine's bounded channel into the core task."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.alerts import AlertCode
from reconciler.events import Event, Expectation

__all__ = ["ConnectionEvent", "ExpectIn", "FrameIn", "Item", "LiveAlert"]


@dataclass(frozen=True, slots=True)
class FrameIn:
    """A frame received from a venue, parsed by the connection's protocol object."""

    venue: str
    account: str
    frame: str | bytes
    events: list[Event]
    t: float
    #: Which connection of the account it came on (1, 2, ... per engine run).
    connection_id: int = 0


@dataclass(frozen=True, slots=True)
class ConnectionEvent:
    """``connected`` / ``disconnected`` on a venue account."""

    venue: str
    account: str
    event: str
    t: float


@dataclass(frozen=True, slots=True)
class LiveAlert:
    """An alert a connection raised (stalled feed, refused credentials, plugin bug)."""

    code: AlertCode
    venue: str
    account: str
    t: float
    message: str
    evidence: Mapping[str, str]
    facts: tuple[object, ...]


@dataclass(frozen=True, slots=True)
class ExpectIn:
    """An expectation the host registered."""

    expectation: Expectation
    t: float


Item = FrameIn | ConnectionEvent | LiveAlert | ExpectIn
