"""A simulated BTSE futures WebSocket (``/ws/futures``): the server side, sans-IO.

What it enforces, from venues.md (the seed page documents only the notifications):

* login ``{"op":"authKeyExpires","args":[api_key, nonce, signature]}``: the key must be
  known, the nonce (epoch ms) within five minutes of the server's clock, and the
  signature hex HMAC-SHA384(secret, ``"/ws/futures" + nonce``). Success is answered
  ``{"event":"login","success":true}``; failure (or a login the script refuses) with
  ``{"event":"login","success":false}``, then the socket is closed with code 1008
  (policy violation; BTSE's own error code 1008 reads "session closed");
* ``{"op":"subscribe","args":[...]}`` before a login is answered with an error frame
  in the documented shape, code 1002 (invalid request); after it, with
  ``{"event":"subscribe","channel":[...]}`` listing only the topics that worked: here
  ``notificationApiV4``, which starts the account's notifications;
* the plain-text ``ping`` is answered ``pong`` (logged in or not); other frames that
  are not JSON requests are answered with a 1002 error frame;
* a client silent for 60 s is dropped.

Script messages are sent as they are: BTSE has no sequence numbers and no replay.
"""

from __future__ import annotations

import hmac
import random
from collections.abc import Sequence
from typing import Final

import msgspec

from reconciler.simulator import Refusal, Reply, Script, SimSession, VenueSimulator
from reconciler_btse._commands import AUTH_PATH, PING_FRAME, sign
from reconciler_btse._protocol import TOPIC
from reconciler_btse._scenario import Timeline, build_script
from reconciler_btse._scenario_faults import FAULT_NAMES, FAULT_STORIES
from reconciler_btse._scenario_orders import clean_story

__all__ = ["LOGIN_REFUSED_CLOSE", "NONCE_WINDOW_MS", "BtseSession", "BtseSimulator"]

#: How far a login's nonce may be from the server's clock (ms).
NONCE_WINDOW_MS: Final = 5 * 60 * 1000
#: The close after a refused login: (code, reason).
LOGIN_REFUSED_CLOSE: Final = (1008, "authentication failed")
#: The topics this server can subscribe to.
_TOPICS: Final = frozenset({TOPIC})

_ENCODER: Final = msgspec.json.Encoder()


class _Request(msgspec.Struct):
    """``{"op": ..., "args": [...]}``; loose types, checked by the session."""

    op: object = None
    args: object = None


_REQUEST: Final = msgspec.json.Decoder(_Request)


def _error(code: int, message: str, arg: str = "") -> str:
    """An error frame in the documented (third-party) shape."""
    return _ENCODER.encode(
        {"severity": "ERROR", "errors": [{"arg": arg, "error": {"code": code, "message": message}}]}
    ).decode()


def _login(success: bool) -> str:
    return _ENCODER.encode({"event": "login", "success": success}).decode()


class BtseSession(SimSession):
    """One client connection to the simulated ``/ws/futures`` endpoint."""

    idle_timeout = 60.0

    def __init__(self, simulator: BtseSimulator) -> None:
        self._sim = simulator

    def open(self, target: str, now_ms: int) -> Refusal | None:
        """Any client may connect to ``/ws/futures``; it must then log in."""
        path = target.split("?", 1)[0]
        if path.rstrip("/") != AUTH_PATH:
            return Refusal(http_status=404, reason="not found")
        return None

    def receive(self, frame: str, now_ms: int) -> Reply:
        """Answer ``ping``, a login or a subscription the way BTSE does."""
        if frame.strip() == PING_FRAME:
            return Reply(frames=("pong",))
        try:
            request = _REQUEST.decode(frame)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return Reply(frames=(_error(1002, "invalid request"),))
        args = request.args if isinstance(request.args, list) else []
        if request.op == "authKeyExpires":
            return self._login(args, now_ms)
        if request.op == "subscribe":
            return self._subscribe(args)
        if request.op == "unsubscribe":
            return Reply()
        return Reply(frames=(_error(1002, "invalid request"),))

    def _login(self, args: list[object], now_ms: int) -> Reply:
        account = None
        valid = False
        if len(args) == 3 and all(isinstance(a, str | int) for a in args):
            key, nonce, signature = (str(a) for a in args)
            account = self._sim.account_for("api_key", key)
            if account is not None and nonce.isdigit():
                secret = self._sim.credentials[account].get("api_secret", "")
                fresh = abs(int(nonce) - now_ms) <= NONCE_WINDOW_MS
                # Compare in constant time, as a real server must.
                valid = fresh and hmac.compare_digest(sign(secret, int(nonce)), signature)
        # Every login of a known key counts against a refusal the script asked for.
        refused = account is not None and self._sim.consume_refusal(account)
        if account is None or not valid or refused:
            return Reply(frames=(_login(False),), close=LOGIN_REFUSED_CLOSE)
        self.account = account
        return Reply(frames=(_login(True),))

    def _subscribe(self, args: list[object]) -> Reply:
        topics = [a for a in args if isinstance(a, str)]
        if self.account is None:
            arg = ",".join(topics)
            return Reply(frames=(_error(1002, "authentication required", arg),))
        channels = [t for t in dict.fromkeys(topics) if t in _TOPICS]
        ack = _ENCODER.encode({"event": "subscribe", "channel": channels}).decode()
        return Reply(frames=(ack,), subscribed=TOPIC in channels)


class BtseSimulator(VenueSimulator):
    """The simulated BTSE futures venue; ``credentials`` maps each account to its
    ``api_key`` and ``api_secret``."""

    venue = "btse"
    path = AUTH_PATH
    fault_names = FAULT_NAMES

    def session(self) -> BtseSession:
        """A fresh session for one client connection."""
        return BtseSession(self)

    def script(
        self,
        account: str,
        *,
        seed: int,
        start_ms: int,
        duration: float,
        faults: Sequence[str] = (),
    ) -> Script:
        """About ``duration`` seconds of seeded BTSE futures order flow for ``account``.

        Limit orders (inserted, partially filled, amended, fully matched or cancelled),
        IOC/FOK market orders and stop / take-profit trigger orders, about one notice every
        0.2-1 s; each name in ``faults`` (from :attr:`fault_names`) is injected once on an
        order of its own, evenly over the run. See docs/venues/btse.md for the list.
        """
        rng = random.Random(seed)  # noqa: S311 - a reproducible scenario, not security
        tl = Timeline(rng, self.venue, account, start_ms)
        return build_script(
            tl,
            duration=duration,
            faults=faults,
            stories=clean_story,
            fault_stories=FAULT_STORIES,
        )
