"""A simulated Tread.fi Order Status WebSocket: the server side of the seed page, sans-IO.

What it enforces, as documented:

* the path is ``/ws/orders/`` (any other path is answered 404);
* the token rides in the query (``?token=<API token>``); a missing or unknown token,
  or a login the script refuses, is accepted and closed at once with code 4001 (the
  seed: "the connection will be automatically closed"; the code is from venues.md);
* ``{"command":"subscribe","data_type":"user_orders"}`` starts the account's
  ``order_update`` messages. The seed shows no reply to any command, so none is sent;
* ``keep_alive`` and ``unsubscribe`` get no reply either (an unsubscribed client keeps
  its socket; the harness has no way to stop a subscription, so it is ignored); any
  other frame is ignored, as the seed says nothing about it;
* a client silent for 30 s is dropped.

Script messages are sent as they are (Tread.fi has no sequence numbers and no replay).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Final
from urllib.parse import parse_qs, urlsplit

import msgspec

from reconciler.simulator import Refusal, Reply, Script, SimSession, VenueSimulator
from reconciler_tread._commands import AUTH_REFUSED_CLOSE_CODE, IDLE_TIMEOUT
from reconciler_tread._scenario import Timeline, build_script
from reconciler_tread._scenario_clean import clean_story
from reconciler_tread._scenario_faults import FAULT_NAMES, FAULT_STORIES

__all__ = ["PATH", "TreadSession", "TreadSimulator"]

#: The Order Status WebSocket's path.
PATH: Final = "/ws/orders/"


class _Command(msgspec.Struct):
    """A client command; anything else about the frame is ignored."""

    command: object = None
    data_type: object = None


_COMMAND: Final = msgspec.json.Decoder(_Command)


class TreadSession(SimSession):
    """One client connection to the simulated Order Status WebSocket."""

    idle_timeout = IDLE_TIMEOUT

    def __init__(self, simulator: TreadSimulator) -> None:
        self._sim = simulator

    def open(self, target: str, now_ms: int) -> Refusal | None:
        """Accept a known token on the right path; close anything else with 4001."""
        parts = urlsplit(target)
        # Lenient about the trailing slash: the seed writes it, a client may not.
        if parts.path.rstrip("/") != PATH.rstrip("/"):
            return Refusal(http_status=404, reason="not found")
        tokens = parse_qs(parts.query).get("token", [])
        account = self._sim.account_for("token", tokens[0]) if len(tokens) == 1 else None
        if account is None:
            return Refusal(close_code=AUTH_REFUSED_CLOSE_CODE, reason="authentication failed")
        if self._sim.consume_refusal(account):
            return Refusal(close_code=AUTH_REFUSED_CLOSE_CODE, reason="authentication failed")
        self.account = account
        return None

    def receive(self, frame: str, now_ms: int) -> Reply:
        """``subscribe`` to ``user_orders`` subscribes; nothing is ever answered."""
        try:
            cmd = _COMMAND.decode(frame)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return Reply()
        if cmd.command == "subscribe" and cmd.data_type == "user_orders":
            return Reply(subscribed=True)
        return Reply()


class TreadSimulator(VenueSimulator):
    """The simulated Tread.fi venue; ``credentials`` maps each account to its ``token``."""

    venue = "tread"
    path = PATH
    fault_names = FAULT_NAMES

    def session(self) -> TreadSession:
        """A fresh session for one client connection."""
        return TreadSession(self)

    def script(
        self,
        account: str,
        *,
        seed: int,
        start_ms: int,
        duration: float,
        faults: Sequence[str] = (),
    ) -> Script:
        """About ``duration`` seconds of seeded Tread.fi order flow for ``account``.

        Single orders (SCHEDULED, ACTIVE, filled in portions, FINISHER, COMPLETE, paused
        and resumed, or CANCELED) and two-leg multi-orders, about one message every
        0.2-1 s; each name in ``faults`` (from :attr:`fault_names`) is injected once on
        orders of its own, evenly over the run. See docs/venues/tread.md for the list.
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
