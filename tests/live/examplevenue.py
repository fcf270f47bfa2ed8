"""A tiny fifth venue, written the way a third party would: only the public API.

It proves the plugin contract (docs/plugins.md): a sans-IO parser, a link (login,
keep-alive, refusal), and a simulator with a script and named faults. The wire format
is deliberately small:

* client → venue: ``{"op":"login","token":T}``, ``{"op":"ping"}``
* venue → client: ``{"type":"login","ok":true|false}``, ``{"type":"pong"}``,
  ``{"type":"order","id":..,"status":"new|partial|filled|canceled","qty":"10","filled":"3"}``
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

import msgspec

from reconciler.events import Event, Heartbeat, Ignored, OrderUpdate, Subscribed, VenueError
from reconciler.lifecycle import Status
from reconciler.link import LinkSettings, VenueLink
from reconciler.plugin import BaseProtocol, FrameError, VenuePlugin, lookup_status, parse_quantity
from reconciler.simulator import (
    Disconnect,
    ExpectedAlert,
    Injected,
    Refusal,
    RefuseAuth,
    Reply,
    Script,
    Send,
    SimSession,
    Stall,
    Step,
    VenueSimulator,
)

STATUS_TABLE: Mapping[str, Status] = {
    "new": Status.ACCEPTED,
    "partial": Status.PARTIALLY_FILLED,
    "filled": Status.FILLED,
    "canceled": Status.CANCELED,
}


class _Frame(msgspec.Struct, kw_only=True):
    type: str
    ok: bool | None = None
    id: str | None = None
    status: str | None = None
    qty: str | None = None
    filled: str | None = None


_DECODER = msgspec.json.Decoder(_Frame)


class ExampleProtocol(BaseProtocol):
    """Parses the example venue's frames."""

    def parse(self, frame: str | bytes) -> list[Event]:
        """One event per frame."""
        msg = _DECODER.decode(frame)
        if msg.type == "pong":
            return [Heartbeat()]
        if msg.type == "login":
            return (
                [Subscribed(detail="login")]
                if msg.ok
                else [VenueError(message="login refused", auth=True)]
            )
        if msg.type != "order":
            return [Ignored(reason=f"unknown type {msg.type[:40]!r}")]
        if not msg.id or not msg.status:
            raise FrameError("order without id or status")
        return [
            OrderUpdate(
                order_id=msg.id,
                status=lookup_status(STATUS_TABLE, msg.status),
                raw_status=msg.status,
                quantity=parse_quantity(msg.qty, "qty"),
                filled=parse_quantity(msg.filled, "filled"),
            )
        ]


class ExampleLink(VenueLink):
    """Login with a token, then a JSON ping every second."""

    keep_alive_interval = 1.0
    idle_timeout = 3.0
    sends_regularly = True

    def url(self) -> str:
        """The configured URL (the token travels in the login frame, not here)."""
        return self.settings.url

    def opening_frames(self, now_ms: int) -> Sequence[str]:
        """The login frame."""
        token = self.settings.secret("token").reveal()
        return [msgspec.json.encode({"op": "login", "token": token}).decode()]

    def keep_alive_frame(self) -> str | None:
        """``{"op":"ping"}``."""
        return '{"op":"ping"}'


class ExampleSession(SimSession):
    """Server side: checks the login token, answers pings."""

    idle_timeout = 10.0

    def __init__(self, sim: ExampleSimulator) -> None:
        self.sim = sim
        self.pings: list[int] = []

    def open(self, target: str, now_ms: int) -> Refusal | None:
        """Every connection is accepted; the login decides."""
        self.sim.opened.append(now_ms)
        return None

    def receive(self, frame: str, now_ms: int) -> Reply:
        """Login and ping."""
        msg = msgspec.json.decode(frame)
        if msg.get("op") == "ping":
            self.sim.ping_times.append(now_ms)
            return Reply(frames=('{"type":"pong"}',))
        if msg.get("op") == "login":
            account = self.sim.account_for("token", str(msg.get("token")))
            if account is None or self.sim.consume_refusal(account):
                self.sim.logins.append((now_ms, False))
                return Reply(frames=('{"type":"login","ok":false}',), close=(1008, "bad token"))
            self.account = account
            self.sim.logins.append((now_ms, True))
            return Reply(frames=('{"type":"login","ok":true}',), subscribed=True)
        return Reply()


def order_frame(order_id: str, status: str, qty: int, filled: int) -> str:
    """An order frame of the example venue."""
    return msgspec.json.encode(
        {"type": "order", "id": order_id, "status": status, "qty": str(qty), "filled": str(filled)}
    ).decode()


class ExampleSimulator(VenueSimulator):
    """The example venue's simulator."""

    venue = "example"
    fault_names = ("malformed", "disconnect", "stall", "auth_refusal", "FILL_REGRESSION")

    def __init__(self, credentials: Mapping[str, Mapping[str, str]]) -> None:
        super().__init__(credentials)
        #: When each ping arrived (epoch ms, the server's clock).
        self.ping_times: list[int] = []
        #: When each connection was opened (epoch ms).
        self.opened: list[int] = []
        #: Each login: when (epoch ms) and whether it was accepted.
        self.logins: list[tuple[int, bool]] = []

    def session(self) -> ExampleSession:
        """A session for one connection."""
        return ExampleSession(self)

    def script(
        self,
        account: str,
        *,
        seed: int,
        start_ms: int,
        duration: float,
        faults: Sequence[str] = (),
    ) -> Script:
        """Orders that fill in three steps, with the faults spread over the run."""
        rng = random.Random(seed)
        steps: list[Step] = []
        injected: list[Injected] = []
        fault_at = {f: duration * (i + 1) / (len(faults) + 1) for i, f in enumerate(faults)}
        t, n = 0.5, 0
        while t < duration:
            n += 1
            oid = f"{account}-{seed}-{n}"
            qty = rng.randint(2, 9) * 10
            steps.append(Send(at=t, message=order_frame(oid, "new", qty, 0)))
            steps.append(Send(at=t + 0.2, message=order_frame(oid, "partial", qty, qty // 2)))
            steps.append(Send(at=t + 0.4, message=order_frame(oid, "filled", qty, qty)))
            t += 1.0
        for fault, at in fault_at.items():
            steps, note, expects = _inject(fault, at, account, steps)
            injected.append(
                Injected(
                    fault=fault,
                    venue=self.venue,
                    account=account,
                    at=at,
                    expects=expects,
                    note=note,
                )
            )
        steps.sort(key=lambda s: s.at)
        return Script(
            venue=self.venue, account=account, steps=tuple(steps), injected=tuple(injected)
        )


def _inject(
    fault: str, at: float, account: str, steps: list[Step]
) -> tuple[list[Step], str, tuple[ExpectedAlert, ...]]:
    # Transport faults clear the air around them so a reconnect loses nothing.
    quiet = [s for s in steps if not at <= s.at < at + 8]
    if fault == "malformed":
        return (
            [*steps, Send(at=at, message='{"type":"order","id":', raw=True)],
            "cut-off frame",
            (ExpectedAlert("MALFORMED_MESSAGE"),),
        )
    if fault == "disconnect":
        return [*quiet, Disconnect(at=at)], "venue drops the connection", ()
    if fault == "stall":
        return [*quiet, Stall(at=at)], "venue goes silent", (ExpectedAlert("FEED_STALE"),)
    if fault == "auth_refusal":
        return (
            [*quiet, RefuseAuth(at=at)],
            "venue refuses the next login",
            (ExpectedAlert("AUTH_FAILED"),),
        )
    oid = f"{account}-regress"
    return (
        [
            *steps,
            Send(at=at, message=order_frame(oid, "partial", 10, 6)),
            Send(at=at + 0.1, message=order_frame(oid, "partial", 10, 4)),
        ],
        "filled goes backwards",
        (ExpectedAlert("FILL_REGRESSION", oid),),
    )


class ExamplePlugin(VenuePlugin):
    """The example venue plugin (entry point ``example = "examplevenue:plugin"``)."""

    name = "example"
    status_table = STATUS_TABLE
    credential_names = ("token",)

    def protocol(self, account: str) -> ExampleProtocol:
        """A parser."""
        return ExampleProtocol()

    def link(self, settings: LinkSettings) -> ExampleLink:
        """The link for one account."""
        return ExampleLink(settings)

    def simulator(self, credentials: Mapping[str, Mapping[str, str]]) -> ExampleSimulator:
        """The simulator."""
        return ExampleSimulator(credentials)


plugin = ExamplePlugin()
