"""Venue simulators: what a plugin's simulator provides, and the scripts they play.

Each venue plugin ships a :class:`VenueSimulator`: the server side of its venue,
sans-IO like the parsers. It checks credentials the way the venue does, answers
subscriptions and keep-alives (:class:`SimSession`), turns script messages into wire
frames (:meth:`VenueSimulator.publish`; Clear Street sequences them and replays the day
on every subscription) and writes seeded scenarios (:meth:`VenueSimulator.script`) of
realistic order flow with named faults injected.

:func:`serve_simulator` puts a simulator on a real WebSocket server (trio-websocket,
loopback) and plays the scripts to whoever connects: the same harness serves every
venue, the tests and ``reconciler demo``.

A :class:`Script` is a list of timed steps for one account and the list of faults it
injected, each with the alerts that fault must produce (:class:`Injected`); an empty
``expects`` means the engine must absorb the fault silently (an identical re-send, a
reconnect that the venue's replay heals).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Final

import msgspec

from reconciler.events import Expectation

__all__ = [
    "TRANSPORT_FAULTS",
    "Disconnect",
    "Expect",
    "ExpectedAlert",
    "Injected",
    "Refusal",
    "RefuseAuth",
    "Reply",
    "Script",
    "Send",
    "SimSession",
    "Stall",
    "Step",
    "VenueSimulator",
]

#: Faults every simulator can inject, besides the alert codes it lists.
TRANSPORT_FAULTS: Final = (
    "drop",
    "duplicate",
    "reorder",
    "malformed",
    "disconnect",
    "stall",
    "auth_refusal",
)


class ExpectedAlert(msgspec.Struct, frozen=True):
    """An alert an injected fault must produce: its code and the order it concerns."""

    code: str
    order_id: str | None = None


class Injected(msgspec.Struct, frozen=True, kw_only=True):
    """One fault a script injected, and what the engine must make of it."""

    fault: str
    venue: str
    account: str
    #: Script seconds at which the fault happens.
    at: float
    #: The alerts it must produce; empty when the engine must absorb it silently.
    expects: tuple[ExpectedAlert, ...] = ()
    note: str = ""


class Send(msgspec.Struct, frozen=True, kw_only=True, tag="send"):
    """Publish one venue message to the account's subscribed connections.

    ``message`` goes through :meth:`VenueSimulator.publish` (which may wrap and sequence
    it) unless ``raw``, in which case exactly this text is sent. ``lost`` publishes it
    to the venue's own record (Clear Street: the sequence number is used and a replay
    will include it) without sending it live: a message lost in transit.
    """

    at: float
    message: str
    raw: bool = False
    lost: bool = False


class Disconnect(msgspec.Struct, frozen=True, kw_only=True, tag="disconnect"):
    """The venue drops every connection of the account (close ``code``)."""

    at: float
    code: int = 1011


class Stall(msgspec.Struct, frozen=True, kw_only=True, tag="stall"):
    """The account's current connections go silent: no frames, no replies, no pongs.

    New connections are served normally, so a client that notices and reconnects
    recovers; the script waits for it.
    """

    at: float


class RefuseAuth(msgspec.Struct, frozen=True, kw_only=True, tag="refuse_auth"):
    """The venue drops the account's connections and refuses its next ``attempts`` logins."""

    at: float
    attempts: int = 1


class Expect(msgspec.Struct, frozen=True, kw_only=True, tag="expect"):
    """The execution system registers an order it sent (played to the engine, not the wire)."""

    at: float
    expectation: Expectation


Step = Send | Disconnect | Stall | RefuseAuth | Expect


class Script(msgspec.Struct, frozen=True, kw_only=True):
    """A scenario for one venue account: timed steps (sorted by ``at``) and its faults.

    ``strict`` asks for the account to be configured as a strict-expectation account
    (every order must have been registered), which UNKNOWN_ORDER faults need.
    """

    venue: str
    account: str
    steps: tuple[Step, ...]
    injected: tuple[Injected, ...] = ()
    strict: bool = False


class Refusal(msgspec.Struct, frozen=True):
    """Refuse a connection: answer the handshake with ``http_status`` or, when it is
    ``None``, accept it and close at once with ``close_code`` and ``reason``."""

    close_code: int = 1008
    reason: str = ""
    http_status: int | None = None


class Reply(msgspec.Struct, frozen=True, kw_only=True):
    """What a session does after a received frame.

    ``frames`` are sent back in order. ``subscribed`` says the session now receives the
    account's messages (the harness sends :meth:`VenueSimulator.replay` first).
    ``close`` closes the connection after the frames (code, reason).
    """

    frames: tuple[str, ...] = ()
    subscribed: bool = False
    close: tuple[int, str] | None = None


class SimSession(abc.ABC):
    """The server side of one client connection (sans-IO).

    ``account`` is ``None`` until the client has proved who it is; ``subscribe_timeout``
    (seconds, or ``None``) closes a connection that has not subscribed by then;
    ``idle_timeout`` closes one that has sent nothing for that long.
    """

    account: str | None = None
    idle_timeout: float = 30.0
    subscribe_timeout: float | None = None

    @abc.abstractmethod
    def open(self, target: str, now_ms: int) -> Refusal | None:
        """A client asks to connect to ``target`` (path and query): refuse or accept."""

    @abc.abstractmethod
    def receive(self, frame: str, now_ms: int) -> Reply:
        """A frame from the client."""

    def heartbeat(self, now_ms: int) -> str | None:
        """A frame the venue sends on its own timer to a subscribed client, if any."""
        return None

    #: Seconds between :meth:`heartbeat` calls.
    heartbeat_interval: float = 5.0


class VenueSimulator(abc.ABC):
    """A simulated venue: its accounts and credentials, its sessions and its scenarios.

    ``credentials`` maps each account the simulator knows to the credential values the
    client must present (the names the plugin's ``credential_names`` lists). A login
    refused by :meth:`consume_refusal` is refused the venue's own way by the session.
    """

    venue: str
    #: The faults :meth:`script` can inject: :data:`TRANSPORT_FAULTS` plus alert codes.
    fault_names: tuple[str, ...] = TRANSPORT_FAULTS
    #: The URL path clients connect to (the harness serves any path; links use this one).
    path: str = "/"

    def __init__(self, credentials: Mapping[str, Mapping[str, str]]) -> None:
        self.credentials = {account: dict(values) for account, values in credentials.items()}
        self._refusals: dict[str, int] = {}

    def refuse_next(self, account: str, attempts: int) -> None:
        """Refuse the account's next ``attempts`` logins (the auth-refusal fault)."""
        self._refusals[account] = self._refusals.get(account, 0) + attempts

    def consume_refusal(self, account: str) -> bool:
        """Whether this login of ``account`` must be refused (counts it down)."""
        left = self._refusals.get(account, 0)
        if left <= 0:
            return False
        self._refusals[account] = left - 1
        return True

    def account_for(self, name: str, value: str) -> str | None:
        """The account whose credential ``name`` equals ``value`` (tokens, API keys)."""
        for account, values in self.credentials.items():
            if values.get(name) == value:
                return account
        return None

    @abc.abstractmethod
    def session(self) -> SimSession:
        """A fresh session for one client connection."""

    def publish(self, account: str, message: str, now_ms: int) -> list[str]:
        """The wire frames that carry ``message`` to the account's subscribers."""
        return [message]

    def lose(self, account: str, message: str, now_ms: int) -> None:  # noqa: B027
        """Record ``message`` as sent without sending it (a message lost in transit)."""

    def replay(self, account: str, now_ms: int) -> list[str]:
        """The frames a newly subscribed session gets before live traffic."""
        return []

    @abc.abstractmethod
    def script(
        self,
        account: str,
        *,
        seed: int,
        start_ms: int,
        duration: float,
        faults: Sequence[str] = (),
    ) -> Script:
        """A scenario of about ``duration`` seconds of order flow for ``account``.

        Deterministic for a given ``seed``. ``start_ms`` is the epoch time in ms at
        which the script starts (venue timestamps are derived from it). Each name in
        ``faults`` (from :attr:`fault_names`) is injected once, spread over the run;
        an empty ``faults`` gives clean flow that must raise nothing above ``info``.
        """
