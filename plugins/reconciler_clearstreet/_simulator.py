"""A simulated Clear Street Studio ``activity`` channel (``/studio/v2/ws``).

The session enforces the protocol as the seed page and ``venues.md`` describe it:

* the path is ``/studio/v2/ws`` (anything else: HTTP 404); there is no login frame;
* the client sends ``{"authorization": <token>, "payload": {"type":
  "subscribe-activity", "account_id": <id>}}`` within 30 s of connecting, or is
  disconnected;
* a valid token for that account gets the ``subscribe-activity-ack`` (``success:
  true``, "Subscribed successfully"), then the day's replay: every sequenced message of
  the account's New York trading day, from sequence 1, then ``replay-complete``, then
  live messages;
* a token the venue does not know, an account it does not allow, or a subscription the
  simulator was told to refuse gets the ack with ``success: false`` and the reason in
  ``details``, and the connection is closed (1008). A request that is not parsable, not
  a ``subscribe-activity`` or lacks a field gets an ``error-notice`` instead, as the
  seed page says ("if your request is malformed or otherwise not parsable");
* a subscribed client gets a ``heartbeat`` every 5 s (the interval is not documented).

Sequencing: :meth:`ClearStreetSimulator.publish` gives each sequenced payload
(``order-update``, ``trade-notice``, ``position-update``, ``buying-power-update``,
``locate-inventory-update``) the account's next number for the day and keeps it in the
day log; other payloads go out unsequenced and are never replayed.

Besides payloads, a script may ask for a repeat of a message the simulator already
numbered (see ``reconciler_clearstreet._scenario_kit.resend`` and ``cut``):
``{"resend": <payload text>}`` sends it again under its number (a duplicate, or the
late delivery of a message lost in transit), ``{"resend": <payload text>, "as": <other
payload text>}`` sends other content under that number, ``{"cut": <payload text>}``
sends its frame cut off in the middle. Each is stamped with the time it is sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final
from urllib.parse import urlsplit

import msgspec

from reconciler.simulator import Refusal, Reply, Script, SimSession, VenueSimulator

from ._mapping import day_of
from ._scenario import FAULT_NAMES, build_script
from ._scenario_orders import SEQUENCED_TYPES, envelope

__all__ = ["PATH", "ClearStreetSession", "ClearStreetSimulator"]

#: The path the channel is served on.
PATH: Final = "/studio/v2/ws"
#: The server disconnects a client that has not subscribed by then [3P in venues.md].
SUBSCRIBE_TIMEOUT: Final = 30.0
#: Not documented; often enough for the client's 30 s idle timeout to never trip.
HEARTBEAT_INTERVAL: Final = 5.0
#: A subscribed client sends nothing (its WebSocket pings are answered by the
#: library, below the session), so only a very long silence ends the connection.
IDLE_TIMEOUT: Final = 3600.0
BAD_TOKEN: Final = "Invalid or expired access token"  # noqa: S105 - a message, not a secret


class _Message(msgspec.Struct):
    """A script message: a payload (``type``) or a request to repeat one."""

    type: str | None = None
    resend: str | None = None
    cut: str | None = None
    instead: str | None = msgspec.field(default=None, name="as")


class _RequestPayload(msgspec.Struct):
    type: str | None = None
    account_id: str | None = None


class _Request(msgspec.Struct):
    authorization: str | None = None
    payload: _RequestPayload | None = None


_MESSAGE = msgspec.json.Decoder(_Message)
_REQUEST = msgspec.json.Decoder(_Request)
_ENCODER = msgspec.json.Encoder()


def _unsequenced(now_ms: int, payload: Mapping[str, object]) -> str:
    return envelope(now_ms, None, _ENCODER.encode(payload).decode())


class ClearStreetSimulator(VenueSimulator):
    """The ``clearstreet`` venue: ``credentials`` maps each account id to its ``token``.

    The simulator keeps each account's day log (the sequenced payloads, by New York
    trading day) and replays it to every new subscription.
    """

    venue = "clearstreet"
    path = PATH
    fault_names = FAULT_NAMES

    def __init__(self, credentials: Mapping[str, Mapping[str, str]]) -> None:
        super().__init__(credentials)
        self._days: dict[tuple[str, str], list[str]] = {}

    def session(self) -> ClearStreetSession:
        """A fresh server side for one connection."""
        return ClearStreetSession(self)

    def day_log(self, account: str, day: str) -> list[str]:
        """The sequenced payloads of ``account`` on ``day`` (``YYYY-MM-DD``, New York);
        sequence number n is at index n - 1."""
        return list(self._days.get((account, day), ()))

    def publish(self, account: str, message: str, now_ms: int) -> list[str]:
        """``message`` (a payload's JSON text) in its envelope: numbered and logged when
        its type is sequenced. A repeat request (module docstring) gives the repeated
        frame. Raises ValueError for anything else."""
        decoded = self._decode(message)
        if decoded.type is not None:
            return [envelope(now_ms, self._record(account, decoded.type, message, now_ms), message)]
        if decoded.resend is not None:
            number = self._number_of(account, decoded.resend, now_ms)
            return [envelope(now_ms, number, decoded.instead or decoded.resend)]
        assert decoded.cut is not None
        frame = envelope(now_ms, self._number_of(account, decoded.cut, now_ms), decoded.cut)
        return [frame[: len(frame) // 2]]

    def lose(self, account: str, message: str, now_ms: int) -> None:
        """Number and log the payload ``message`` without sending it: the replay will
        have it."""
        kind = self._decode(message).type
        if kind is None:
            raise ValueError("only a payload can be lost in transit")
        self._record(account, kind, message, now_ms)

    def replay(self, account: str, now_ms: int) -> list[str]:
        """The day so far, from sequence 1, then ``replay-complete``."""
        log = self._days.get((account, day_of(now_ms)), [])
        frames = [envelope(now_ms, n, payload) for n, payload in enumerate(log, start=1)]
        frames.append(_unsequenced(now_ms, {"type": "replay-complete"}))
        return frames

    @staticmethod
    def _decode(message: str) -> _Message:
        try:
            decoded = _MESSAGE.decode(message)
        except msgspec.MsgspecError as exc:
            raise ValueError(f"not a Clear Street payload: {exc}") from None
        if decoded.type is None and decoded.resend is None and decoded.cut is None:
            raise ValueError("not a Clear Street payload: no type")
        return decoded

    def _record(self, account: str, kind: str, message: str, now_ms: int) -> int | None:
        if kind not in SEQUENCED_TYPES:
            return None
        log = self._days.setdefault((account, day_of(now_ms)), [])
        log.append(message)
        return len(log)

    def _number_of(self, account: str, payload: str, now_ms: int) -> int:
        """The number the account's day log gave ``payload`` (the latest such entry)."""
        day = day_of(now_ms)
        # Today's log first; a repeat across midnight finds the message in its own day.
        others = [log for (acct, d), log in self._days.items() if acct == account and d != day]
        for log in [self._days.get((account, day), []), *others]:
            for index in range(len(log) - 1, -1, -1):
                if log[index] == payload:
                    return index + 1
        raise ValueError("a repeat of a message this simulator never numbered")

    def script(
        self,
        account: str,
        *,
        seed: int,
        start_ms: int,
        duration: float,
        faults: Sequence[str] = (),
    ) -> Script:
        """Seeded order flow (see :mod:`reconciler_clearstreet._scenario`)."""
        return build_script(account, seed=seed, start_ms=start_ms, duration=duration, faults=faults)


class ClearStreetSession(SimSession):
    """The server side of one ``/studio/v2/ws`` connection."""

    idle_timeout = IDLE_TIMEOUT
    subscribe_timeout = SUBSCRIBE_TIMEOUT
    heartbeat_interval = HEARTBEAT_INTERVAL

    def __init__(self, sim: ClearStreetSimulator) -> None:
        self._sim = sim

    def open(self, target: str, now_ms: int) -> Refusal | None:
        """Accept ``/studio/v2/ws``; the subscription carries the credentials."""
        if urlsplit(target).path != PATH:
            return Refusal(http_status=404, reason="not found")
        return None

    def receive(self, frame: str, now_ms: int) -> Reply:
        """Answer ``subscribe-activity``; anything else gets an ``error-notice``."""
        try:
            request = _REQUEST.decode(frame)
        except msgspec.MsgspecError as exc:
            return self._notice(now_ms, f"Unable to parse request: {str(exc)[:80]}")
        payload = request.payload
        if payload is None or payload.type is None:
            return self._notice(now_ms, "Unable to parse request: missing payload.type")
        if payload.type != "subscribe-activity":
            return self._notice(now_ms, f"Unknown request type {payload.type[:40]!r}")
        account = payload.account_id
        if not account:
            return self._notice(now_ms, "Unable to parse request: missing payload.account_id")
        if not request.authorization:
            return self._notice(now_ms, "Unable to parse request: missing authorization")
        if self.account is not None and self.account != account:
            return self._notice(now_ms, f"Already subscribed to account {self.account}")
        owner = self._sim.account_for("token", request.authorization)
        if owner is None:
            return self._refuse(now_ms, account, BAD_TOKEN)
        if owner != account:
            return self._refuse(now_ms, account, f"Not authorized for account {account}")
        if self._sim.consume_refusal(account):
            return self._refuse(now_ms, account, BAD_TOKEN)
        self.account = account
        ack = self._ack(now_ms, account, success=True, details="Subscribed successfully")
        return Reply(frames=(ack,), subscribed=True)

    def heartbeat(self, now_ms: int) -> str:
        """``{"timestamp": ..., "payload": {"type": "heartbeat"}}``."""
        return _unsequenced(now_ms, {"type": "heartbeat"})

    def _refuse(self, now_ms: int, account: str, details: str) -> Reply:
        ack = self._ack(now_ms, account, success=False, details=details)
        return Reply(frames=(ack,), close=(1008, "subscription refused"))

    @staticmethod
    def _ack(now_ms: int, account: str, *, success: bool, details: str) -> str:
        return _unsequenced(
            now_ms,
            {
                "type": "subscribe-activity-ack",
                "account_id": account,
                "success": success,
                "details": details,
            },
        )

    @staticmethod
    def _notice(now_ms: int, details: str) -> Reply:
        return Reply(frames=(_unsequenced(now_ms, {"type": "error-notice", "details": details}),))
