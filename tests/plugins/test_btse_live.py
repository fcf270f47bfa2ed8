"""BTSE futures live pieces: the connection recipe, the simulated venue, its scripts.

Link and session tests are sans-IO (the session's replies are read back with the
plugin's own parser, as the engine would). Script tests play scripts straight into a
pure ``Reconciler`` (``play_offline``). Loopback tests put the simulator on a real
WebSocket server and talk to it with a plain trio-websocket client, under Trio's
autojump clock.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st
from trio_websocket import ConnectionClosed, WebSocketConnection, open_websocket_url

from reconciler import Reconciler
from reconciler._clock import EpochClock
from reconciler.alerts import LIVE_ONLY_CODES, Alert, AlertCode, Severity
from reconciler.config import CoreConfig
from reconciler.events import Event, Subscribed, VenueError
from reconciler.link import LinkSettings, Secret, VenueLink
from reconciler.simserver import SimulatorServer, play_offline
from reconciler.simulator import (
    TRANSPORT_FAULTS,
    Disconnect,
    Expect,
    RefuseAuth,
    Reply,
    Script,
    Send,
    Stall,
)
from reconciler_btse import (
    PING_FRAME,
    URL,
    BtseLink,
    BtseSession,
    BtseSimulator,
    auth_frame,
    plugin,
    sign,
    subscribe_frame,
)

KEY = "btse-api-key-main-0123"
SECRET = "btse-api-secret-main-s3cr3t"
HEDGE_KEY = "btse-api-key-hedge-4567"
HEDGE_SECRET = "btse-api-secret-hedge-s3cr3t"
CREDS = {
    "main": {"api_key": KEY, "api_secret": SECRET},
    "hedge": {"api_key": HEDGE_KEY, "api_secret": HEDGE_SECRET},
}
#: A round epoch: the scripts' venue timestamps and the servers' clocks agree on it.
START_MS = 1_752_147_100_000
SEEDS = (1, 2, 3, 17, 2024)
FIVE_MINUTES_MS = 5 * 60 * 1000


def link_settings(url: str = URL, **credentials: str) -> LinkSettings:
    values = credentials or {"api_key": KEY, "api_secret": SECRET}
    return LinkSettings(
        venue="btse",
        account="main",
        url=url,
        credentials={name: Secret(value) for name, value in values.items()},
    )


def simulator() -> BtseSimulator:
    return plugin.simulator(CREDS)


def play(script: Script) -> list[Alert]:
    """Every alert a pure core raises for ``script`` (a strict account when it asks)."""
    strict = (f"btse:{script.account}",) if script.strict else ()
    core = Reconciler({"btse": plugin}, CoreConfig(strict_accounts=strict))
    return play_offline(simulator(), script, core, start=START_MS / 1000)


def expected(script: Script) -> set[tuple[str, str | None]]:
    """(code, order id) of every alert the script's faults must produce offline."""
    live_only = {str(c) for c in LIVE_ONLY_CODES}
    return {
        (exp.code, exp.order_id)
        for inj in script.injected
        for exp in inj.expects
        if exp.code not in live_only
    }


def serious(alerts: list[Alert]) -> list[Alert]:
    return [a for a in alerts if a.severity is not Severity.INFO]


def script_for(faults: tuple[str, ...] = (), *, seed: int = 1, duration: float = 60.0) -> Script:
    sim = simulator()
    return sim.script("main", seed=seed, start_ms=START_MS, duration=duration, faults=faults)


def sends(script: Script) -> list[Send]:
    return [s for s in script.steps if isinstance(s, Send)]


def items(script: Script) -> list[dict[str, Any]]:
    """Every notification element the script sends intact."""
    out: list[dict[str, Any]] = []
    for step in sends(script):
        if not step.raw:
            out.extend(json.loads(step.message)["data"])
    return out


# -- the link ----------------------------------------------------------------------------


def test_url_is_the_configured_one() -> None:
    """No credential rides in the URL: it is the configured one, and safe to display."""
    link = plugin.link(link_settings(url="wss://testws.btse.io/ws/futures"))
    assert link.url() == "wss://testws.btse.io/ws/futures"
    assert link.display_url() == "wss://testws.btse.io/ws/futures"


def test_opening_frames_are_a_signed_login_then_the_subscription() -> None:
    """The login carries the key, ``now_ms`` as nonce and the HMAC-SHA384 signature."""
    frames = list(plugin.link(link_settings()).opening_frames(START_MS))
    assert frames == [auth_frame(KEY, SECRET, START_MS), subscribe_frame()]
    login = json.loads(frames[0])
    assert login == {"op": "authKeyExpires", "args": [KEY, str(START_MS), sign(SECRET, START_MS)]}
    assert json.loads(frames[1]) == {"op": "subscribe", "args": ["notificationApiV4"]}
    assert SECRET not in frames[0]


def test_keep_alive_is_plain_ping_every_15_seconds() -> None:
    """``ping`` every 15 s; answered with ``pong``, so no WebSocket pings are needed."""
    link = plugin.link(link_settings())
    assert link.keep_alive_frame() == PING_FRAME == "ping"
    assert link.keep_alive_interval == 15.0
    assert link.idle_timeout == 45.0
    assert link.sends_regularly is True


def test_refused_login_reply_is_a_refusal() -> None:
    """``{"event":"login","success":false}`` is read as refused credentials."""
    link = plugin.link(link_settings())
    events = plugin.protocol("main").receive('{"event":"login","success":false}')
    assert link.refusal(events) == "login refused"


def test_error_1008_is_a_refusal() -> None:
    """Error 1008, too many failed attempts (session closed), ends the login as refused."""
    link = plugin.link(link_settings())
    frame = json.dumps(
        {
            "severity": "ERROR",
            "errors": [{"arg": "", "error": {"code": 1008, "message": "too many failed attempts"}}],
        }
    )
    assert link.refusal(plugin.protocol("main").receive(frame)) == "too many failed attempts"


@pytest.mark.parametrize(
    "events",
    [
        [Subscribed(detail="login")],
        [Subscribed(channels=("notificationApiV4",))],
        [VenueError(message="invalid request", code="1002")],
        [VenueError(message="unknown topic", code="1005")],
        [],
    ],
)
def test_other_replies_are_not_refusals(events: list[VenueError | Subscribed]) -> None:
    """A successful login, an ack, or another error code is not a refusal."""
    assert plugin.link(link_settings()).refusal(events) is None


@pytest.mark.parametrize("code", [1000, 1006, 1008, 1011, 4001, None])
def test_no_close_code_means_refused(code: int | None) -> None:
    """BTSE refuses in a frame; a close (even 1008, also the harness's slow-consumer code)
    is a network fault."""
    assert plugin.link(link_settings()).refused_by_close(code, "bye") is False


def test_secrets_never_appear_in_repr_or_str() -> None:
    """Neither the link nor its settings show the key or the secret when printed."""
    settings = link_settings()
    link = plugin.link(settings)
    for text in (repr(link), str(link), repr(settings), str(settings)):
        assert KEY not in text
        assert SECRET not in text
    assert "ws.btse.com" in repr(link)


def test_missing_secret_is_a_key_error_naming_the_credential() -> None:
    """Without the secret, the login cannot be built; the error names it, not its value."""
    settings = link_settings(api_key=KEY)
    with pytest.raises(KeyError, match="api_secret") as info:
        plugin.link(settings).opening_frames(START_MS)
    assert KEY not in str(info.value)


def test_plugin_declares_its_live_attributes() -> None:
    """The plugin names its credentials, defaults to production, builds link and simulator."""
    assert plugin.credential_names == ("api_key", "api_secret")
    assert plugin.default_url == URL == "wss://ws.btse.com/ws/futures"
    assert isinstance(plugin.link(link_settings()), BtseLink)
    assert isinstance(plugin.link(link_settings()), VenueLink)
    assert isinstance(plugin.simulator(CREDS), BtseSimulator)


# -- the session (sans-IO) ---------------------------------------------------------------


def session(sim: BtseSimulator | None = None) -> BtseSession:
    s = (sim or simulator()).session()
    assert s.open("/ws/futures", START_MS) is None
    return s


def login(s: BtseSession, key: str = KEY, secret: str = SECRET, nonce: int = START_MS) -> Reply:
    return s.receive(auth_frame(key, secret, nonce), START_MS)


def parsed(reply: Reply) -> list[Event]:
    """The reply's frames as the plugin's own parser reads them."""
    proto = plugin.protocol("main")
    return [ev for frame in reply.frames for ev in proto.receive(frame)]


def test_good_login_is_acknowledged_for_its_account() -> None:
    """A valid signed login gets ``{"event":"login","success":true}`` and names the account."""
    s = session()
    reply = login(s, HEDGE_KEY, HEDGE_SECRET)
    assert reply.frames == ('{"event":"login","success":true}',)
    assert reply.close is None
    assert s.account == "hedge"
    assert parsed(reply) == [Subscribed(detail="login")]


@pytest.mark.parametrize(
    ("key", "secret", "nonce"),
    [
        (KEY, "wrong-secret", START_MS),
        ("unknown-key", SECRET, START_MS),
        (KEY, SECRET, START_MS - FIVE_MINUTES_MS - 1),
        (KEY, SECRET, START_MS + FIVE_MINUTES_MS + 1),
        (HEDGE_KEY, SECRET, START_MS),
    ],
)
def test_bad_login_is_refused_and_closed(key: str, secret: str, nonce: int) -> None:
    """A bad key, signature or stale nonce: ``success:false``, then the socket closes."""
    s = session()
    reply = login(s, key, secret, nonce)
    assert reply.frames == ('{"event":"login","success":false}',)
    assert reply.close is not None
    assert reply.close[0] == 1008
    assert s.account is None
    assert plugin.link(link_settings()).refusal(parsed(reply)) == "login refused"


def test_nonce_at_the_edge_of_the_window_is_accepted() -> None:
    """A nonce five minutes off is still fresh."""
    assert login(session(), nonce=START_MS - FIVE_MINUTES_MS).close is None


@pytest.mark.parametrize(
    "frame",
    [
        '{"op":"authKeyExpires","args":["k","1"]}',
        '{"op":"authKeyExpires","args":"k"}',
        '{"op":"authKeyExpires","args":["k","not-a-nonce","sig"]}',
    ],
)
def test_malformed_login_is_refused(frame: str) -> None:
    """A login without the three arguments is refused like a bad one."""
    reply = session().receive(frame, START_MS)
    assert reply.frames == ('{"event":"login","success":false}',)
    assert reply.close is not None


def test_refused_login_by_the_script_then_accepted() -> None:
    """A login the script refuses is answered ``success:false``; the next one succeeds."""
    sim = simulator()
    sim.refuse_next("main", 1)
    first = login(session(sim))
    second = login(session(sim))
    assert first.frames == ('{"event":"login","success":false}',)
    assert second.frames == ('{"event":"login","success":true}',)


def test_subscribe_after_login_is_acknowledged() -> None:
    """The subscription lists the topic in ``channel`` and starts the notifications."""
    s = session()
    login(s)
    reply = s.receive(subscribe_frame(), START_MS)
    assert reply.subscribed is True
    assert [json.loads(f) for f in reply.frames] == [
        {"event": "subscribe", "channel": ["notificationApiV4"]}
    ]
    assert parsed(reply) == [Subscribed(channels=("notificationApiV4",))]


def test_unknown_topic_is_missing_from_the_ack() -> None:
    """A topic that failed is simply absent from ``channel``."""
    s = session()
    login(s)
    reply = s.receive('{"op":"subscribe","args":["tradeHistoryApi","notificationApiV4"]}', START_MS)
    assert json.loads(reply.frames[0])["channel"] == ["notificationApiV4"]
    alone = s.receive('{"op":"subscribe","args":["orderBookL2Api:BTC-PERP_0"]}', START_MS)
    assert json.loads(alone.frames[0]) == {"event": "subscribe", "channel": []}
    assert alone.subscribed is False


def test_subscribe_before_login_is_an_error_frame() -> None:
    """Without a login, the subscription is answered with an error frame (code 1002)."""
    s = session()
    reply = s.receive(subscribe_frame(), START_MS)
    assert reply.subscribed is False
    (body,) = [json.loads(f) for f in reply.frames]
    assert body["severity"] == "ERROR"
    assert body["errors"][0]["error"]["code"] == 1002
    assert body["errors"][0]["arg"] == "notificationApiV4"
    (event,) = parsed(reply)
    assert isinstance(event, VenueError)
    assert event.code == "1002"
    assert not event.auth


@pytest.mark.parametrize("logged_in", [False, True])
def test_ping_is_answered_pong(logged_in: bool) -> None:
    """The plain-text ``ping`` gets a plain-text ``pong``, logged in or not."""
    s = session()
    if logged_in:
        login(s)
    assert s.receive("ping", START_MS) == Reply(frames=("pong",))


@pytest.mark.parametrize("frame", ["hello", "[1,2]", '{"op":"trade"}', '{"args":[]}'])
def test_other_frames_are_invalid_requests(frame: str) -> None:
    """Anything else is answered with a 1002 error frame and changes nothing."""
    s = session()
    (body,) = [json.loads(f) for f in s.receive(frame, START_MS).frames]
    assert body["errors"][0]["error"]["code"] == 1002
    assert s.account is None


def test_other_path_is_not_found() -> None:
    """Only ``/ws/futures`` exists."""
    refusal = simulator().session().open("/ws/spot", START_MS)
    assert refusal is not None
    assert refusal.http_status == 404


def test_session_drops_a_client_silent_for_60_seconds() -> None:
    """The server's idle timer is the documented 60 s; no subscribe deadline, no heartbeat."""
    s = session()
    assert s.idle_timeout == 60.0
    assert s.subscribe_timeout is None
    assert s.heartbeat(START_MS) is None


# -- scripts -----------------------------------------------------------------------------


def test_fault_names_are_transport_faults_and_the_codes_btse_can_show() -> None:
    """Every transport fault, and every alert code the core can raise for BTSE."""
    names = simulator().fault_names
    assert names[: len(TRANSPORT_FAULTS)] == TRANSPORT_FAULTS
    codes = set(names[len(TRANSPORT_FAULTS) :])
    impossible = {
        "NOTIONAL_MISMATCH",
        "DUPLICATE_CONFLICT",
        "EXECUTION_ORDER_MISMATCH",
        "ORPHAN_CHILD",
        "CHILD_SET_MISMATCH",
        "PARENT_AGGREGATE_MISMATCH",
        "PARENT_TERMINAL_WITH_ACTIVE_CHILD",
        "STUCK_PARENT",
        "SEQUENCE_GAP",
    }
    assert codes == {str(c) for c in AlertCode} - {str(c) for c in LIVE_ONLY_CODES} - impossible


def test_script_is_deterministic_for_a_seed() -> None:
    """The same seed gives the same script; another seed another one."""
    faults = ("drop", "FILL_GAP")
    assert script_for(faults, seed=5) == script_for(faults, seed=5)
    assert script_for(seed=5) != script_for(seed=6)


def test_clean_script_is_about_the_duration_with_steady_traffic() -> None:
    """A clean script runs about ``duration`` s, a notice every 0.2-1 s on average."""
    script = script_for(duration=60.0)
    times = [s.at for s in script.steps]
    assert times == sorted(times)
    assert 50.0 <= times[-1] <= 60.0
    assert 60 <= len(sends(script)) <= 300
    assert script.injected == ()
    assert script.strict is False


@pytest.mark.parametrize("seed", SEEDS)
def test_clean_script_raises_no_warning_or_critical(seed: int) -> None:
    """Clean flow is consistent: nothing above info."""
    assert serious(play(script_for(seed=seed))) == []


def test_clean_script_raises_nothing_at_all() -> None:
    """Clean flow has no rejects and no reordering: not even an info alert."""
    assert play(script_for(seed=11, duration=120.0)) == []


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_clean_scripts_raise_no_warning_or_critical_for_any_seed(seed: int) -> None:
    """Whatever the seed, clean flow raises nothing above info."""
    assert serious(play(script_for(seed=seed, duration=30.0))) == []


def test_clean_flow_shows_the_documented_statuses() -> None:
    """Inserted, partial fills, fully matched, cancelled, triggers and amendments."""
    elements = items(script_for(seed=3, duration=180.0))
    assert {2, 4, 5, 6, 9, 10, 123} <= {e["status"] for e in elements}
    assert {"GTC", "IOC", "FOK"} <= {e["time_in_force"] for e in elements}
    assert {"STOP", "TAKEPROFIT", "LIMIT"} <= {e["txType"] for e in elements}


def test_every_notice_keeps_the_size_identity() -> None:
    """currentOrderSize = totalFilledSize + remainingSize, on every clean notice."""
    for e in items(script_for(seed=6)):
        assert e["currentOrderSize"] == e["totalFilledSize"] + e["remainingSize"]
        assert isinstance(e["originalOrderSize"], int)


def test_every_placed_order_is_expected_before_its_first_notice() -> None:
    """Each order's clOrderID is registered before the venue first reports it."""
    script = script_for(seed=4)
    expects = {s.expectation.client_order_id: s for s in script.steps if isinstance(s, Expect)}
    first: dict[str, tuple[float, dict[str, Any]]] = {}
    for step in sends(script):
        for e in json.loads(step.message)["data"]:
            first.setdefault(e["clOrderID"], (step.at, e))
    assert set(first) == set(expects)
    for cid, (at, e) in first.items():
        exp = expects[cid].expectation
        assert expects[cid].at < at
        assert (exp.symbol, exp.side, exp.quantity) == (
            e["symbol"],
            e["side"].lower(),
            Decimal(e["originalOrderSize"]),
        )


def test_venue_timestamps_follow_the_script_clock() -> None:
    """Each notice's timestamp is a few ms before the script time it is sent at."""
    for step in sends(script_for(seed=8))[:40]:
        stamp = json.loads(step.message)["data"][0]["timestamp"]
        assert 0 < START_MS + round(step.at * 1000) - stamp <= 50


@pytest.mark.parametrize("fault", BtseSimulator.fault_names)
def test_each_fault_raises_exactly_what_it_expects(fault: str) -> None:
    """Each fault alone: its expected alerts are raised, and nothing serious besides."""
    for seed in (1, 2):
        script = script_for((fault,), seed=seed)
        alerts = play(script)
        want = expected(script)
        assert want <= {(str(a.code), a.order_id) for a in alerts}
        assert [a for a in serious(alerts) if (str(a.code), a.order_id) not in want] == []
        (inj,) = script.injected
        assert inj.fault == fault
        assert inj.note


def test_all_faults_together_raise_exactly_what_they_expect() -> None:
    """Every fault in one script: each raises its alerts; no serious alert is unexplained."""
    script = script_for(BtseSimulator.fault_names, seed=9)
    alerts = play(script)
    want = expected(script)
    assert len(script.injected) == len(BtseSimulator.fault_names)
    assert want <= {(str(a.code), a.order_id) for a in alerts}
    assert [a for a in serious(alerts) if (str(a.code), a.order_id) not in want] == []
    assert script.strict is True


def test_drop_loses_a_fill_notice_in_transit() -> None:
    """The drop fault marks one partial-fill notice lost, which the venue did send."""
    script = script_for(("drop",))
    (lost,) = [s for s in sends(script) if s.lost]
    assert json.loads(lost.message)["data"][0]["status"] == 5


@pytest.mark.parametrize(
    ("fault", "step", "code"),
    [
        ("disconnect", Disconnect, None),
        ("stall", Stall, "FEED_STALE"),
        ("auth_refusal", RefuseAuth, "AUTH_FAILED"),
    ],
)
def test_connection_faults_leave_room_to_reconnect(
    fault: str, step: type, code: str | None
) -> None:
    """A connection fault is its step, expects its live-only alert, and no Send follows
    it for 15 s (so the engine logs in again before the flow resumes)."""
    script = script_for((fault,), seed=3)
    (inj,) = script.injected
    (at,) = [s.at for s in script.steps if isinstance(s, step)]
    assert inj.at == at
    assert [e.code for e in inj.expects] == ([code] if code else [])
    assert not [s for s in script.steps if at <= s.at < at + 15.0 and not isinstance(s, step)]


def test_unknown_order_fault_asks_for_a_strict_account() -> None:
    """Only a script with UNKNOWN_ORDER is strict."""
    assert script_for(("UNKNOWN_ORDER",)).strict is True
    assert script_for(("ORDER_REJECTED",)).strict is False


def test_unknown_fault_name_is_refused() -> None:
    """A fault the venue cannot show is an error, not silently skipped."""
    with pytest.raises(ValueError, match="STUCK_PARENT"):
        script_for(("STUCK_PARENT",))


# -- over a loopback socket --------------------------------------------------------------


@asynccontextmanager
async def serving(scripts: list[Script], clock: EpochClock) -> AsyncIterator[SimulatorServer]:
    server = SimulatorServer(simulator(), scripts, clock=clock)
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        yield server
        nursery.cancel_scope.cancel()


def close_code(exc: ConnectionClosed) -> int | None:
    """The close code a client saw."""
    return None if exc.reason is None else exc.reason.code


@asynccontextmanager
async def client(url: str) -> AsyncIterator[WebSocketConnection]:
    """A plain trio-websocket client (its TCP stream closed even when the server closed
    first, which trio-websocket leaves open)."""
    async with open_websocket_url(url) as ws:
        try:
            yield ws
        finally:
            await trio.aclose_forcefully(ws._stream)


async def test_logged_in_client_receives_the_script(autojump_clock: trio.abc.Clock) -> None:
    """Log in, subscribe: both acks, then the script's first notices in order."""
    clock = EpochClock(START_MS / 1000)
    script = script_for(seed=2)
    first = [s.message for s in sends(script)[:3]]
    async with serving([script], clock) as server, client(server.url) as ws:
        link = plugin.link(link_settings(url=server.url))
        for frame in link.opening_frames(clock.now_ms()):
            await ws.send_message(frame)
        acks = [json.loads(await ws.get_message()) for _ in range(2)]
        got = [await ws.get_message() for _ in first]
    assert acks == [
        {"event": "login", "success": True},
        {"event": "subscribe", "channel": ["notificationApiV4"]},
    ]
    assert got == first


async def test_bad_secret_is_refused_then_closed(autojump_clock: trio.abc.Clock) -> None:
    """The venue's own refusal: ``success:false``, then the server closes the socket."""
    clock = EpochClock(START_MS / 1000)
    async with serving([], clock) as server, client(server.url) as ws:
        link = plugin.link(link_settings(url=server.url, api_key=KEY, api_secret="wrong"))
        for frame in link.opening_frames(clock.now_ms()):
            await ws.send_message(frame)
        reply = await ws.get_message()
        with pytest.raises(ConnectionClosed) as info:
            await ws.get_message()
    assert json.loads(reply) == {"event": "login", "success": False}
    assert link.refusal(plugin.protocol("main").receive(reply)) == "login refused"
    assert close_code(info.value) == 1008


async def test_ping_gets_pong_over_the_socket(autojump_clock: trio.abc.Clock) -> None:
    """The plain-text keep-alive is answered with plain-text ``pong``."""
    clock = EpochClock(START_MS / 1000)
    async with serving([], clock) as server, client(server.url) as ws:
        await ws.send_message(plugin.link(link_settings()).keep_alive_frame())
        reply = await ws.get_message()
    assert reply == "pong"


async def test_server_drops_an_idle_client_after_60_seconds(
    autojump_clock: trio.abc.Clock,
) -> None:
    """A client that sends nothing is dropped on the 60 s timer, not before."""
    clock = EpochClock(START_MS / 1000)
    async with serving([], clock) as server, client(server.url) as ws:
        with trio.move_on_after(59.5) as still_open:
            await ws.get_message()
        with pytest.raises(ConnectionClosed) as info:
            await ws.get_message()
    assert still_open.cancelled_caught
    assert close_code(info.value) == 1001
    assert server.stats.dropped_idle == 1


async def test_pings_every_15_seconds_hold_the_connection(
    autojump_clock: trio.abc.Clock,
) -> None:
    """A client pinging on the link's timer stays connected, each ping answered."""
    clock = EpochClock(START_MS / 1000)
    async with serving([], clock) as server, client(server.url) as ws:
        replies = []
        for _ in range(8):  # two minutes
            await trio.sleep(15.0)
            await ws.send_message(PING_FRAME)
            replies.append(await ws.get_message())
    assert replies == ["pong"] * 8
    assert server.stats.dropped_idle == 0
