"""A simulated Bybit v2 private stream (``/realtime``): logins, subscriptions, pings.

The session enforces the protocol as the venue documents it (seed page and
``venues.md``):

* the path is ``/realtime`` (anything else: HTTP 404);
* a login is ``{"op":"auth","args":[api_key, expires, signature]}`` after connecting,
  or ``?api_key=&expires=&signature=`` on the URL; the signature is hex
  HMAC-SHA256(secret, ``"GET/realtime" + expires``) over ``expires`` exactly as sent,
  and ``expires`` (epoch ms) must still be in the future. A bad frame login is answered
  ``success: false`` with ``"error:verify signature fail"`` or
  ``"error:request expired"``; a bad URL login is refused at the handshake (HTTP 401,
  the same text as the body). A login the simulator was told to refuse
  (:meth:`~reconciler.simulator.VenueSimulator.refuse_next`) is refused like a bad
  signature;
* a private topic (``order``, ``execution``, ``stop_order``, ``position``, ``wallet``)
  subscribed before logging in is refused with ``"error:topic:<topic> needs auth
  first"``; a topic the venue does not have with ``"error:handler not found,topic:<t>"``;
* ``{"op":"ping"}`` is answered with the documented pong reply (``ret_msg: "pong"``).

Every reply has the documented shape
``{"success":..,"ret_msg":..,"conn_id":..,"request":{"op":..,"args":..}}``.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Mapping, Sequence
from typing import Final
from urllib.parse import parse_qsl, urlsplit

import msgspec

from reconciler.simulator import Refusal, Reply, Script, SimSession, VenueSimulator

from ._scenario import FAULT_NAMES, build_script

__all__ = [
    "PATH",
    "BybitSession",
    "BybitSimulator",
]

#: The path the stream is served on.
PATH: Final = "/realtime"
#: Topics that need a login first.
PRIVATE_TOPICS: Final = frozenset({"order", "execution", "stop_order", "position", "wallet"})
#: Public topics (their names take filters: ``trade.BTCUSD``, ``klineV2.1.BTCUSD``).
PUBLIC_TOPICS: Final = frozenset(
    {"orderBookL2_25", "orderBook_200", "trade", "insurance", "instrument_info", "klineV2"}
)
#: Bybit does not document when it drops a silent client; with a 20 s ping
#: recommendation, three missed pings is our pick.
IDLE_TIMEOUT: Final = 60.0

SIGNATURE_FAIL: Final = "error:verify signature fail"
EXPIRED: Final = "error:request expired"


class _Request(msgspec.Struct):
    """A client request; only ``op`` and ``args`` are read."""

    op: str | None = None
    args: object = None


_REQUEST = msgspec.json.Decoder(_Request)
_ENCODER = msgspec.json.Encoder()


class BybitSimulator(VenueSimulator):
    """The ``bybit`` venue: ``credentials`` maps each account to its ``api_key`` and
    ``api_secret``. Scripts are Bybit frames, published as they are (no sequencing, no
    replay: a reconnecting client misses nothing only because the harness pauses the
    script while the account has no subscriber)."""

    venue = "bybit"
    path = PATH
    fault_names = FAULT_NAMES

    def session(self) -> BybitSession:
        """A fresh server side for one connection."""
        return BybitSession(self)

    def script(
        self,
        account: str,
        *,
        seed: int,
        start_ms: int,
        duration: float,
        faults: Sequence[str] = (),
    ) -> Script:
        """Seeded inverse-perpetual order flow (see :mod:`reconciler_bybit._scenario`)."""
        return build_script(account, seed=seed, start_ms=start_ms, duration=duration, faults=faults)


class BybitSession(SimSession):
    """The server side of one ``/realtime`` connection."""

    idle_timeout = IDLE_TIMEOUT

    def __init__(self, sim: BybitSimulator) -> None:
        self._sim = sim
        self.conn_id = str(uuid.uuid4())
        #: Topics this connection subscribed to.
        self.topics: set[str] = set()

    def open(self, target: str, now_ms: int) -> Refusal | None:
        """Accept ``/realtime``; a login in the query string is checked right here."""
        parts = urlsplit(target)
        if parts.path != PATH:
            return Refusal(http_status=404, reason="not found")
        query = dict(parse_qsl(parts.query))
        if not {"api_key", "expires", "signature"} & query.keys():
            return None
        error = self._login(
            query.get("api_key", ""), query.get("expires", ""), query.get("signature", ""), now_ms
        )
        return None if error is None else Refusal(http_status=401, reason=error)

    def receive(self, frame: str, now_ms: int) -> Reply:
        """Answer ``auth``, ``subscribe``, ``unsubscribe`` and ``ping``."""
        try:
            request = _REQUEST.decode(frame)
        except msgspec.MsgspecError:
            return self._reply(False, "error:request is not a JSON object", None, None)
        op, args = request.op, request.args
        if op == "ping":
            return self._reply(True, "pong", op, args)
        if op == "auth":
            error = self._auth(args, now_ms)
            return self._reply(error is None, error or "", op, args)
        if op in ("subscribe", "unsubscribe"):
            return self._subscribe(op, args)
        return self._reply(False, f"error:unknown op {str(op)[:40]}", op, args)

    # -- login ------------------------------------------------------------------------

    def _auth(self, args: object, now_ms: int) -> str | None:
        if not isinstance(args, list) or len(args) != 3:
            return "error:auth args must be [api_key, expires, signature]"
        key, expires, signature = args
        if isinstance(expires, int) and not isinstance(expires, bool):
            expires = str(expires)
        if not all(isinstance(a, str) for a in (key, expires, signature)):
            return SIGNATURE_FAIL
        return self._login(key, expires, signature, now_ms)

    def _login(self, key: str, expires: str, signature: str, now_ms: int) -> str | None:
        """None when the login is good (the session then belongs to the account), else
        the venue's ``ret_msg``."""
        account = self._sim.account_for("api_key", key) if key else None
        if account is None:
            return SIGNATURE_FAIL
        if not expires.isdigit():
            return SIGNATURE_FAIL
        if int(expires) <= now_ms:
            return EXPIRED
        secret = self._sim.credentials[account].get("api_secret", "")
        # The signature covers ``expires`` exactly as the client wrote it.
        payload = f"GET/realtime{expires}".encode()
        expected = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return SIGNATURE_FAIL
        if self._sim.consume_refusal(account):
            return SIGNATURE_FAIL
        self.account = account
        return None

    # -- subscriptions ----------------------------------------------------------------

    def _subscribe(self, op: str, args: object) -> Reply:
        if not isinstance(args, list) or not args or not all(isinstance(a, str) for a in args):
            return self._reply(False, "error:args must be a list of topics", op, args)
        topics: list[str] = [a for a in args if isinstance(a, str)]
        for topic in topics:
            base = topic.split(".", 1)[0]
            if base not in PRIVATE_TOPICS and base not in PUBLIC_TOPICS:
                return self._reply(False, f"error:handler not found,topic:{topic[:60]}", op, args)
            if base in PRIVATE_TOPICS and self.account is None and op == "subscribe":
                return self._reply(False, f"error:topic:{base} needs auth first", op, args)
        if op == "unsubscribe":
            self.topics.difference_update(topics)
            return self._reply(True, "", op, args)
        self.topics.update(topics)
        private = any(t.split(".", 1)[0] in PRIVATE_TOPICS for t in topics)
        return self._reply(True, "", op, args, subscribed=private)

    def _reply(
        self,
        success: bool,
        ret_msg: str,
        op: str | None,
        args: object,
        *,
        subscribed: bool = False,
    ) -> Reply:
        request: Mapping[str, object] | None = None if op is None else {"op": op, "args": args}
        body = {"success": success, "ret_msg": ret_msg, "conn_id": self.conn_id, "request": request}
        return Reply(frames=(_ENCODER.encode(body).decode(),), subscribed=subscribed)
