"""Bybit live half: the link (login, keep-alive, refusal), the simulated ``/realtime``
stream (sans-IO and on a loopback server) and the seeded scenarios with their faults."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import msgspec
import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from trio_websocket import (
    ConnectionClosed,
    ConnectionRejected,
    WebSocketConnection,
    open_websocket_url,
    wrap_client_stream,
)

from reconciler import AlertCode, CoreConfig, Reconciler, Severity
from reconciler._clock import EpochClock
from reconciler.alerts import LIVE_ONLY_CODES, Alert
from reconciler.events import (
    Event,
    Expectation,
    Fill,
    Heartbeat,
    OrderUpdate,
    Subscribed,
    VenueError,
)
from reconciler.link import LinkSettings, Secret
from reconciler.simserver import SimulatorServer, play_offline
from reconciler.simulator import (
    TRANSPORT_FAULTS,
    Disconnect,
    Expect,
    RefuseAuth,
    Script,
    Send,
    Stall,
)
from reconciler_bybit import (
    AUTH_EXPIRY_MS,
    PING_FRAME,
    STREAM_URL,
    SUBSCRIBE_TOPICS,
    BybitLink,
    BybitProtocol,
    BybitSession,
    BybitSimulator,
    auth_frame,
    auth_query,
    plugin,
    sign,
)

API_KEY = "k3yK3yK3yK3yK3yK3y"
API_SECRET = "s3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS3cr3t"
CREDENTIALS = {"main": {"api_key": API_KEY, "api_secret": API_SECRET}}
START_MS = 1_752_147_100_000
NOW_MS = START_MS
SEEDS = (0, 1, 2, 3, 4)
LIVE_ONLY = {code.value for code in LIVE_ONLY_CODES}
FAULTS = BybitSimulator.fault_names


def settings_for(url: str = STREAM_URL, **credentials: str) -> LinkSettings:
    """Link settings for account ``main`` with the test credentials (or ``credentials``)."""
    values = credentials or {"api_key": API_KEY, "api_secret": API_SECRET}
    return LinkSettings(
        venue="bybit",
        account="main",
        url=url,
        credentials={name: Secret(value) for name, value in values.items()},
    )


def simulator() -> BybitSimulator:
    """A fresh simulator knowing account ``main``."""
    return plugin.simulator(CREDENTIALS)


def reply(frame: str) -> dict[str, Any]:
    """A reply frame as a dict."""
    decoded: dict[str, Any] = json.loads(frame)
    return decoded


def parse(frame: str) -> list[Event]:
    """What the Bybit parser makes of a frame."""
    return BybitProtocol("main").receive(frame)


def auth_request(
    now_ms: int, *, key: str = API_KEY, secret: str = API_SECRET, ahead: int = 10_000
) -> str:
    """An ``auth`` frame signed with ``secret`` expiring ``ahead`` ms after ``now_ms``."""
    return auth_frame(key, secret, now_ms + ahead)


# -- the link -------------------------------------------------------------------------


def test_link_url_is_the_configured_url() -> None:
    """The credentials travel in the auth frame, so the URL is the configured one."""
    link = plugin.link(settings_for("wss://stream-testnet.bybit.com/realtime"))
    assert link.url() == "wss://stream-testnet.bybit.com/realtime"


def test_opening_frames_are_auth_then_subscribe() -> None:
    """A signed auth frame, then the subscription to the four private topics."""
    frames = plugin.link(settings_for()).opening_frames(NOW_MS)
    assert len(frames) == 2
    auth, subscribe = (json.loads(f) for f in frames)
    assert auth["op"] == "auth"
    key, expires, signature = auth["args"]
    assert key == API_KEY
    assert signature == sign(API_SECRET, int(expires))
    assert subscribe == {
        "op": "subscribe",
        "args": ["order", "execution", "stop_order", "position"],
    }
    assert tuple(subscribe["args"]) == SUBSCRIBE_TOPICS


def test_auth_signature_expires_shortly_after_now() -> None:
    """``expires`` is now plus :data:`AUTH_EXPIRY_MS` (10 s): in the future, not for long."""
    auth = json.loads(plugin.link(settings_for()).opening_frames(NOW_MS)[0])
    assert AUTH_EXPIRY_MS == 10_000
    assert auth["args"][1] == str(NOW_MS + 10_000)


def test_keep_alive_is_a_ping_every_20_seconds() -> None:
    """``{"op":"ping"}`` every 20 s; Bybit answers each, so the feed sends regularly."""
    link = plugin.link(settings_for())
    assert link.keep_alive_frame() == PING_FRAME == '{"op":"ping"}'
    assert link.keep_alive_interval == 20.0
    assert link.idle_timeout == 60.0
    assert link.sends_regularly is True


def test_refused_auth_reply_is_a_refusal() -> None:
    """A ``success: false`` reply to ``auth`` is refused credentials, with its ret_msg."""
    session = simulator().session()
    out = session.receive(auth_request(NOW_MS, secret="wrong"), NOW_MS)
    link = plugin.link(settings_for())
    assert link.refusal(parse(out.frames[0])) == "error:verify signature fail"


def test_subscribe_needing_auth_first_is_a_refusal() -> None:
    """A subscription refused because the login is missing also means refused credentials."""
    session = simulator().session()
    out = session.receive('{"op":"subscribe","args":["order"]}', NOW_MS)
    assert plugin.link(settings_for()).refusal(parse(out.frames[0])) == (
        "error:topic:order needs auth first"
    )


@pytest.mark.parametrize(
    "request_frame",
    ['{"op":"ping"}', '{"op":"subscribe","args":["nonsense.topic"]}', '{"op":"frobnicate"}'],
)
def test_other_replies_are_not_refusals(request_frame: str) -> None:
    """Pongs, unknown topics and unknown ops say nothing about the credentials."""
    session = simulator().session()
    out = session.receive(request_frame, NOW_MS)
    assert plugin.link(settings_for()).refusal(parse(out.frames[0])) is None


def test_secrets_never_show_in_repr_str_or_display_url() -> None:
    """Neither the key nor the secret appears in the link's repr, str, settings or URL."""
    link = plugin.link(settings_for())
    texts = (repr(link), str(link), link.url(), link.display_url(), repr(link.settings))
    for text in texts:
        assert API_KEY not in text
        assert API_SECRET not in text


def test_display_url_drops_a_query_string() -> None:
    """Even a URL configured with a login query is logged without it."""
    url = f"{STREAM_URL}?{auth_query(API_KEY, API_SECRET, NOW_MS)}"
    link = plugin.link(settings_for(url))
    assert link.display_url() == STREAM_URL
    assert API_KEY not in repr(link)


def test_missing_credential_raises_naming_it() -> None:
    """A missing api_secret is named in the error; no credential value is."""
    with pytest.raises(KeyError) as info:
        plugin.link(settings_for(api_key=API_KEY))
    assert "api_secret" in str(info.value)
    assert API_KEY not in str(info.value)


def test_empty_credential_is_rejected_without_its_value() -> None:
    """An empty api_key is a configuration error; the secret is not in the message."""
    with pytest.raises(ValueError, match="api_key") as info:
        plugin.link(settings_for(api_key="", api_secret=API_SECRET))
    assert API_SECRET not in str(info.value)


def test_plugin_declares_its_live_parts() -> None:
    """Credential names, the production URL, and the link and simulator classes."""
    assert plugin.credential_names == ("api_key", "api_secret")
    assert plugin.default_url == "wss://stream.bybit.com/realtime"
    assert isinstance(plugin.link(settings_for()), BybitLink)
    sim = plugin.simulator(CREDENTIALS)
    assert isinstance(sim, BybitSimulator)
    assert sim.venue == "bybit"
    assert sim.path == "/realtime"


def test_link_frames_log_in_and_subscribe_on_the_simulator() -> None:
    """The link's opening frames are exactly what the simulated venue accepts."""
    session = simulator().session()
    replies = [
        session.receive(f, NOW_MS) for f in plugin.link(settings_for()).opening_frames(NOW_MS)
    ]
    assert [reply(r.frames[0])["success"] for r in replies] == [True, True]
    assert replies[1].subscribed
    assert session.account == "main"


# -- the session (sans-IO) ------------------------------------------------------------


def test_good_auth_is_answered_in_the_documented_shape() -> None:
    """``{"success":true,"ret_msg":"","conn_id":..,"request":{"op":"auth","args":..}}``."""
    session = simulator().session()
    frame = auth_request(NOW_MS)
    out = reply(session.receive(frame, NOW_MS).frames[0])
    assert set(out) == {"success", "ret_msg", "conn_id", "request"}
    assert out["success"] is True
    assert out["ret_msg"] == ""
    assert out["request"] == json.loads(frame)
    assert parse(json.dumps(out)) == [Subscribed(detail="auth")]


def test_wrong_secret_is_refused_with_verify_signature_fail() -> None:
    """A signature made with another secret does not log in."""
    session = simulator().session()
    out = session.receive(auth_request(NOW_MS, secret="not-the-secret"), NOW_MS)
    assert reply(out.frames[0])["ret_msg"] == "error:verify signature fail"
    assert reply(out.frames[0])["success"] is False
    assert session.account is None
    assert parse(out.frames[0]) == [VenueError(message="error:verify signature fail", auth=True)]


def test_unknown_api_key_is_refused() -> None:
    """An API key the venue does not know cannot log in."""
    session = simulator().session()
    out = session.receive(auth_request(NOW_MS, key="someone-else"), NOW_MS)
    assert reply(out.frames[0])["ret_msg"] == "error:verify signature fail"
    assert session.account is None


def test_expired_signature_is_refused_as_expired() -> None:
    """``expires`` in the past gives ``error:request expired``."""
    session = simulator().session()
    out = session.receive(auth_request(NOW_MS, ahead=-1), NOW_MS)
    assert reply(out.frames[0])["ret_msg"] == "error:request expired"
    assert session.account is None


def test_integer_expires_is_accepted() -> None:
    """``expires`` written as a JSON number signs the same digits."""
    session = simulator().session()
    expires = NOW_MS + 5_000
    frame = json.dumps({"op": "auth", "args": [API_KEY, expires, sign(API_SECRET, expires)]})
    assert reply(session.receive(frame, NOW_MS).frames[0])["success"] is True


def test_refused_login_is_refused_like_a_bad_signature_once() -> None:
    """``refuse_next`` refuses exactly the next login of the account."""
    sim = simulator()
    sim.refuse_next("main", 1)
    first, second = sim.session(), sim.session()
    refused = first.receive(auth_request(NOW_MS), NOW_MS)
    accepted = second.receive(auth_request(NOW_MS), NOW_MS)
    assert reply(refused.frames[0])["ret_msg"] == "error:verify signature fail"
    assert first.account is None
    assert reply(accepted.frames[0])["success"] is True
    assert second.account == "main"


def test_private_subscribe_before_auth_needs_auth_first() -> None:
    """Private topics need a login: the first one is named in the refusal."""
    session = simulator().session()
    out = session.receive(
        '{"op":"subscribe","args":["order","execution","stop_order","position"]}', NOW_MS
    )
    body = reply(out.frames[0])
    assert (body["success"], body["ret_msg"]) == (False, "error:topic:order needs auth first")
    assert not out.subscribed


def test_private_subscribe_after_auth_subscribes() -> None:
    """After logging in, the private subscription succeeds and the harness may publish."""
    session = simulator().session()
    session.receive(auth_request(NOW_MS), NOW_MS)
    out = session.receive('{"op":"subscribe","args":["order","execution"]}', NOW_MS)
    assert reply(out.frames[0])["success"] is True
    assert out.subscribed
    assert parse(out.frames[0]) == [Subscribed(channels=("order", "execution"))]


def test_public_subscribe_needs_no_auth_and_publishes_nothing() -> None:
    """Public topics may be subscribed anonymously; they do not make a subscriber."""
    session = simulator().session()
    out = session.receive('{"op":"subscribe","args":["trade.BTCUSD"]}', NOW_MS)
    assert reply(out.frames[0])["success"] is True
    assert not out.subscribed


def test_unknown_topic_is_refused_without_auth() -> None:
    """A topic the venue does not have is an error, not an auth refusal."""
    session = simulator().session()
    session.receive(auth_request(NOW_MS), NOW_MS)
    out = session.receive('{"op":"subscribe","args":["orders"]}', NOW_MS)
    body = reply(out.frames[0])
    assert body["success"] is False
    assert body["ret_msg"].startswith("error:handler not found")


def test_ping_is_answered_with_the_documented_pong() -> None:
    """The pong reply is the seed page's, with this connection's id."""
    session = simulator().session()
    out = reply(session.receive(PING_FRAME, NOW_MS).frames[0])
    assert out == {
        "success": True,
        "ret_msg": "pong",
        "conn_id": session.conn_id,
        "request": {"op": "ping", "args": None},
    }
    assert parse(json.dumps(out)) == [Heartbeat()]


def test_non_json_request_gets_a_failed_reply() -> None:
    """Garbage is answered, not crashed on."""
    out = simulator().session().receive("{nope", NOW_MS)
    assert reply(out.frames[0])["success"] is False


def test_url_query_login_is_accepted_at_open() -> None:
    """``?api_key=&expires=&signature=`` logs in at the handshake."""
    session = simulator().session()
    query = auth_query(API_KEY, API_SECRET, NOW_MS + 10_000)
    assert session.open(f"/realtime?{query}", NOW_MS) is None
    assert session.account == "main"
    out = session.receive('{"op":"subscribe","args":["order"]}', NOW_MS)
    assert out.subscribed


@pytest.mark.parametrize(
    ("secret", "ahead", "reason"),
    [
        ("wrong", 10_000, "error:verify signature fail"),
        (API_SECRET, -5, "error:request expired"),
    ],
)
def test_bad_url_query_login_is_refused_with_401(secret: str, ahead: int, reason: str) -> None:
    """A bad URL login is refused at the handshake (HTTP 401, the ret_msg as body)."""
    session = simulator().session()
    query = auth_query(API_KEY, secret, NOW_MS + ahead)
    refusal = session.open(f"/realtime?{query}", NOW_MS)
    assert refusal is not None
    assert (refusal.http_status, refusal.reason) == (401, reason)


def test_other_paths_are_not_found() -> None:
    """Only ``/realtime`` is served."""
    refusal = simulator().session().open("/v5/private", NOW_MS)
    assert refusal is not None
    assert refusal.http_status == 404


def test_session_idle_timeout_is_documented_choice() -> None:
    """Bybit does not document it; 60 s (three missed pings) is the simulator's pick."""
    session: BybitSession = simulator().session()
    assert session.idle_timeout == 60.0
    assert session.subscribe_timeout is None


# -- scripts --------------------------------------------------------------------------


def run_script(script: Script, sim: BybitSimulator) -> list[Alert]:
    """Play ``script`` offline into a fresh core (strict when the script asks)."""
    strict = ("bybit:main",) if script.strict else ()
    core = Reconciler(config=CoreConfig(strict_accounts=strict))
    return play_offline(sim, script, core, start=START_MS / 1000)


def serious(alerts: list[Alert]) -> set[tuple[str, str | None]]:
    """(code, order id) of the warning and critical alerts."""
    return {(a.code.value, a.order_id) for a in alerts if a.severity is not Severity.INFO}


def expected(script: Script) -> set[tuple[str, str | None]]:
    """(code, order id) of every alert the script's faults must raise."""
    return {(e.code, e.order_id) for inj in script.injected for e in inj.expects}


def check_faults(script: Script, alerts: list[Alert]) -> None:
    """Every expected alert that can happen offline is raised; nothing serious beyond."""
    got = {(a.code.value, a.order_id) for a in alerts}
    want = expected(script)
    offline = {pair for pair in want if pair[0] not in LIVE_ONLY}
    assert offline <= got, offline - got
    assert serious(alerts) <= want, serious(alerts) - want


@pytest.mark.parametrize("seed", SEEDS)
def test_clean_script_raises_nothing_serious(seed: int) -> None:
    """Clean flow: no warning or critical alert (rejects are info)."""
    sim = simulator()
    script = sim.script("main", seed=seed, start_ms=START_MS, duration=180)
    alerts = run_script(script, sim)
    assert serious(alerts) == set()
    assert {a.code for a in alerts} <= {AlertCode.ORDER_REJECTED}


def test_clean_script_on_a_strict_account_expects_every_order() -> None:
    """Every order is registered before the venue reports it: no UNKNOWN_ORDER."""
    sim = simulator()
    script = sim.script("main", seed=7, start_ms=START_MS, duration=180)
    core = Reconciler(config=CoreConfig(strict_accounts=("bybit:main",)))
    alerts = play_offline(sim, script, core, start=START_MS / 1000)
    assert serious(alerts) == set()


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_clean_scripts_for_any_seed_raise_nothing_serious(seed: int) -> None:
    """The no-serious-alert property holds for arbitrary seeds."""
    sim = simulator()
    script = sim.script("main", seed=seed, start_ms=START_MS, duration=90)
    assert serious(run_script(script, sim)) == set()


@pytest.mark.parametrize("fault", FAULTS)
def test_each_fault_raises_exactly_what_it_expects(fault: str) -> None:
    """One fault: its expected alerts are raised (live-only ones aside), nothing serious
    beyond them."""
    for seed in SEEDS[:3]:
        sim = simulator()
        script = sim.script("main", seed=seed, start_ms=START_MS, duration=60, faults=[fault])
        (injected,) = script.injected
        assert (injected.fault, injected.venue, injected.account) == (fault, "bybit", "main")
        assert injected.note
        check_faults(script, run_script(script, sim))


@pytest.mark.parametrize("fault", ["disconnect", "stall", "auth_refusal"])
def test_connection_faults_raise_nothing_offline(fault: str) -> None:
    """A disconnect, stall or refused login is a reconnect offline: nothing serious."""
    sim = simulator()
    script = sim.script("main", seed=11, start_ms=START_MS, duration=60, faults=[fault])
    assert serious(run_script(script, sim)) == set()


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_all_faults_together_raise_what_they_expect(seed: int) -> None:
    """Every fault in one script: the union of their alerts and nothing serious beyond."""
    sim = simulator()
    script = sim.script("main", seed=seed, start_ms=START_MS, duration=60, faults=FAULTS)
    assert script.strict
    assert [inj.fault for inj in script.injected] == list(FAULTS)
    check_faults(script, run_script(script, sim))


def test_fault_names_are_transport_faults_and_bybit_alert_codes() -> None:
    """Transport faults first, then every code the core can raise on Bybit."""
    names = BybitSimulator.fault_names
    assert names[: len(TRANSPORT_FAULTS)] == TRANSPORT_FAULTS
    codes = set(names[len(TRANSPORT_FAULTS) :])
    assert codes <= {c.value for c in AlertCode} - LIVE_ONLY
    # Clear Street, BTSE and Tread.fi only (see docs/alerts.md).
    impossible = {
        "FILL_GAP",
        "NOTIONAL_MISMATCH",
        "OUT_OF_ORDER",
        "SEQUENCE_GAP",
        "ORPHAN_CHILD",
        "CHILD_SET_MISMATCH",
        "PARENT_AGGREGATE_MISMATCH",
        "PARENT_TERMINAL_WITH_ACTIVE_CHILD",
        "STUCK_PARENT",
    }
    assert codes == {c.value for c in AlertCode} - LIVE_ONLY - impossible


def test_unknown_fault_is_rejected() -> None:
    """A fault the simulator cannot inject is an error, not silently ignored."""
    with pytest.raises(ValueError, match="SEQUENCE_GAP"):
        simulator().script("main", seed=1, start_ms=START_MS, duration=60, faults=["SEQUENCE_GAP"])


def test_scripts_are_deterministic() -> None:
    """The same seed writes the same script; another seed another one."""
    one = simulator().script("main", seed=5, start_ms=START_MS, duration=60, faults=FAULTS[:4])
    two = simulator().script("main", seed=5, start_ms=START_MS, duration=60, faults=FAULTS[:4])
    three = simulator().script("main", seed=6, start_ms=START_MS, duration=60, faults=FAULTS[:4])
    assert one == two
    assert one != three


def test_faults_follow_each_other_in_order() -> None:
    """Faults happen in the order given, one after the other, and a script with few
    faults stays within its duration."""
    script = simulator().script("main", seed=3, start_ms=START_MS, duration=60, faults=FAULTS)
    times = [inj.at for inj in script.injected]
    assert times == sorted(times)
    assert all(b > a for a, b in itertools.pairwise(times))
    few = simulator().script("main", seed=3, start_ms=START_MS, duration=60, faults=FAULTS[:6])
    assert few.steps[-1].at <= 75


@pytest.mark.parametrize("fault", ["disconnect", "stall", "auth_refusal"])
def test_connection_faults_leave_the_account_quiet(fault: str) -> None:
    """At least 15 s without a frame after a disconnect, stall or refused login."""
    script = simulator().script("main", seed=2, start_ms=START_MS, duration=90, faults=[fault])
    (at,) = [s.at for s in script.steps if isinstance(s, Disconnect | Stall | RefuseAuth)]
    sends = [s.at for s in script.steps if isinstance(s, Send) and s.at >= at]
    assert not sends or sends[0] >= at + 15


def test_steps_are_in_time_order_with_ms_times() -> None:
    """Steps come sorted, at whole milliseconds."""
    script = simulator().script("main", seed=4, start_ms=START_MS, duration=120)
    times = [s.at for s in script.steps]
    assert times == sorted(times)
    assert all(round(t, 3) == t for t in times)


def test_every_order_is_expected_just_before_its_first_report() -> None:
    """An Expect step precedes each order's first report, matching what is reported."""
    script = simulator().script("main", seed=8, start_ms=START_MS, duration=120)
    expectations: dict[str, tuple[float, Expectation]] = {}
    seen: set[str] = set()
    protocol = BybitProtocol("main")
    for step in script.steps:
        if isinstance(step, Expect):
            expectations[step.expectation.client_order_id] = (step.at, step.expectation)
            continue
        assert isinstance(step, Send)
        for ev in protocol.receive(step.message):
            if not isinstance(ev, OrderUpdate) or ev.order_id in seen:
                continue
            seen.add(ev.order_id)
            assert ev.client_order_id is not None
            at, exp = expectations[ev.client_order_id]
            assert 0 < step.at - at < 1
            assert (exp.symbol, exp.side, exp.quantity) == (ev.symbol, ev.side, ev.quantity)
    assert len(seen) > 20


def test_executions_sum_to_the_cumulative_fill_of_each_order() -> None:
    """Clean flow: per order, the executions add up to the last reported cum_exec_qty."""
    script = simulator().script("main", seed=9, start_ms=START_MS, duration=120)
    executed: dict[str, Decimal] = {}
    reported: dict[str, Decimal] = {}
    for step in script.steps:
        if not isinstance(step, Send):
            continue
        body = json.loads(step.message)
        for item in body.get("data", ()):
            if body["topic"] == "execution":
                executed[item["order_id"]] = executed.get(item["order_id"], Decimal(0)) + Decimal(
                    item["exec_qty"]
                )
            elif body["topic"] == "order":
                reported[item["order_id"]] = Decimal(item["cum_exec_qty"])
    assert executed
    assert all(executed.get(oid, Decimal(0)) == cum for oid, cum in reported.items())


def test_clean_flow_has_stop_orders_that_trigger_into_live_orders() -> None:
    """Untriggered -> Triggered -> Active on stop_order, then the same id on order."""
    script = simulator().script("main", seed=1, start_ms=START_MS, duration=300)
    history: dict[str, list[str]] = {}
    for step in script.steps:
        if isinstance(step, Send):
            body = json.loads(step.message)
            if body.get("topic") in ("order", "stop_order"):
                for item in body["data"]:
                    history.setdefault(item["order_id"], []).append(
                        f"{body['topic']}:{item['order_status']}"
                    )
    triggered = [
        h
        for h in history.values()
        if h[:3] == ["stop_order:Untriggered", "stop_order:Triggered", "stop_order:Active"]
    ]
    assert triggered
    assert all(h[3] == "order:New" and h[-1] == "order:Filled" for h in triggered)


def test_venue_times_derive_from_start_ms() -> None:
    """An execution's trade_time is start_ms plus its step time."""
    script = simulator().script("main", seed=2, start_ms=START_MS, duration=60)
    step = next(
        s for s in script.steps if isinstance(s, Send) and '"topic":"execution"' in s.message
    )
    (fill,) = parse(step.message)
    assert isinstance(fill, Fill)
    assert fill.venue_time == (START_MS + round(step.at * 1000)) / 1000


# -- loopback server ------------------------------------------------------------------


async def started(
    nursery: trio.Nursery, sim: BybitSimulator, scripts: list[Script], **kwargs: Any
) -> SimulatorServer:
    """A simulator server listening on loopback."""
    server = SimulatorServer(sim, scripts, **kwargs)
    await nursery.start(server.run)
    return server


def tiny_script(*steps: Send | Disconnect | Stall | RefuseAuth | Expect) -> Script:
    """A hand-written script for account ``main``."""
    return Script(venue="bybit", account="main", steps=steps)


def order_frame(order_id: str, status: str) -> str:
    """A minimal ``order`` frame."""
    item = {"order_id": order_id, "order_status": status, "qty": 100, "cum_exec_qty": 0}
    return msgspec.json.encode({"topic": "order", "data": [item]}).decode()


async def log_in(ws: WebSocketConnection, now_ms: int = NOW_MS) -> list[dict[str, Any]]:
    """Send the link's opening frames (signed at ``now_ms``); the two replies."""
    for frame in plugin.link(settings_for()).opening_frames(now_ms):
        await ws.send_message(frame)
    return [reply(str(await ws.get_message())) for _ in range(2)]


@asynccontextmanager
async def closing_client(url: str) -> AsyncIterator[WebSocketConnection]:
    """A trio-websocket client whose TCP stream is closed on exit, whoever closed first.

    ``open_websocket_url`` (trio-websocket 0.12) leaves the client's socket open when
    the server closes the connection first or rejects the handshake: the tests where
    the venue does so use this instead. ConnectionRejected is raised unwrapped.
    """
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    resource = f"{parts.path}?{parts.query}" if parts.query else parts.path
    stream = await trio.open_tcp_stream(parts.hostname, parts.port)
    try:
        async with trio.open_nursery() as client_nursery:
            host = f"{parts.hostname}:{parts.port}"
            ws = await wrap_client_stream(client_nursery, stream, host, resource)
            try:
                yield ws
            finally:
                await ws.aclose()
    except BaseExceptionGroup as group:
        rejected, _ = group.split(ConnectionRejected)
        if rejected is None:
            raise
        raise rejected.exceptions[0] from None
    finally:
        await stream.aclose()


@pytest.fixture
async def nursery() -> AsyncIterator[trio.Nursery]:
    """A nursery cancelled at the end of the test (stops the server)."""
    async with trio.open_nursery() as n:
        yield n
        n.cancel_scope.cancel()


async def test_loopback_login_subscribe_and_first_frames(nursery: trio.Nursery) -> None:
    """Handshake, auth, subscribe, then the script's frames in order."""
    frames = [order_frame("y-1", "New"), order_frame("y-1", "Cancelled")]
    sim = simulator()
    server = await started(
        nursery,
        sim,
        [tiny_script(Send(at=0.0, message=frames[0]), Send(at=0.0, message=frames[1]))],
        clock=EpochClock(START_MS / 1000),
    )
    async with open_websocket_url(server.url) as ws:
        auth, subscribed = await log_in(ws)
        assert (auth["request"]["op"], auth["success"]) == ("auth", True)
        assert (subscribed["request"]["op"], subscribed["success"]) == ("subscribe", True)
        assert [await ws.get_message() for _ in frames] == frames
    assert server.stats.subscribed == 1


async def test_loopback_url_query_login(nursery: trio.Nursery) -> None:
    """Logging in by URL query, then subscribing, works over the wire."""
    server = await started(nursery, simulator(), [], clock=EpochClock(START_MS / 1000))
    query = auth_query(API_KEY, API_SECRET, NOW_MS + 60_000)
    async with open_websocket_url(f"{server.url}?{query}") as ws:
        await ws.send_message('{"op":"subscribe","args":["order"]}')
        assert reply(str(await ws.get_message()))["success"] is True


async def test_loopback_bad_url_login_is_rejected_with_401(nursery: trio.Nursery) -> None:
    """A bad URL signature is refused at the handshake, as refused credentials."""
    server = await started(nursery, simulator(), [], clock=EpochClock(START_MS / 1000))
    query = auth_query(API_KEY, "wrong", NOW_MS + 60_000)
    with pytest.raises(ConnectionRejected) as info:
        async with closing_client(f"{server.url}?{query}"):
            pass  # pragma: no cover - the handshake fails
    assert info.value.status_code == 401


async def test_loopback_refused_login_and_recovery(nursery: trio.Nursery) -> None:
    """RefuseAuth: the session is dropped (1012), the next login is refused the venue's
    way (a failed auth reply the link calls a refusal), the one after works."""
    first, second = order_frame("y-1", "New"), order_frame("y-1", "Cancelled")
    script = tiny_script(
        Send(at=0.0, message=first), RefuseAuth(at=0.1), Send(at=0.2, message=second)
    )
    server = await started(nursery, simulator(), [script], clock=EpochClock(START_MS / 1000))
    link = plugin.link(settings_for())
    async with closing_client(server.url) as ws:
        await log_in(ws)
        assert await ws.get_message() == first
        with pytest.raises(ConnectionClosed) as closed:
            await ws.get_message()
        reason = closed.value.reason
        assert reason is not None
        assert reason.code == 1012
    async with open_websocket_url(server.url) as ws:
        auth, subscribe = await log_in(ws)
        assert link.refusal(parse(json.dumps(auth))) == "error:verify signature fail"
        assert link.refusal(parse(json.dumps(subscribe))) == "error:topic:order needs auth first"
    async with open_websocket_url(server.url) as ws:
        auth, subscribe = await log_in(ws)
        assert auth["success"]
        assert subscribe["success"]
        assert await ws.get_message() == second


async def test_loopback_ping_pong(nursery: trio.Nursery) -> None:
    """A ping over the wire gets the pong reply."""
    server = await started(nursery, simulator(), [], clock=EpochClock(START_MS / 1000))
    async with open_websocket_url(server.url) as ws:
        await ws.send_message(PING_FRAME)
        body = reply(str(await ws.get_message()))
        assert (body["ret_msg"], body["request"]["op"]) == ("pong", "ping")


async def test_loopback_silent_client_is_dropped_after_the_idle_timeout(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """A client that sends nothing (not even pings) is closed after 60 s, not before."""
    server = await started(nursery, simulator(), [], clock=EpochClock(START_MS / 1000))
    async with closing_client(server.url) as ws:
        with trio.move_on_after(59):
            await ws.get_message()
            pytest.fail("the server sent something to a silent client")
        with pytest.raises(ConnectionClosed):
            await ws.get_message()
    assert server.stats.dropped_idle == 1


async def test_harness_holds_expect_steps_while_the_account_has_no_subscriber(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """An Expect step after a disconnect is played only once a client subscribed again,
    as the Send steps around it are."""
    resubscribed = trio.Event()
    seen_before_resubscribed: list[bool] = []

    async def on_expect(_: Expectation) -> None:
        seen_before_resubscribed.append(not resubscribed.is_set())

    expectation = Expectation(
        venue="bybit",
        account="main",
        client_order_id="ems-after-reconnect",
        symbol="BTCUSD",
        side="buy",
        quantity=Decimal(100),
    )
    script = tiny_script(
        Send(at=0.0, message=order_frame("y-1", "New")),
        Disconnect(at=0.1),
        Expect(at=1.0, expectation=expectation),
        Send(at=1.1, message=order_frame("y-2", "New")),
    )
    server = await started(
        nursery, simulator(), [script], on_expect=on_expect, clock=EpochClock(START_MS / 1000)
    )
    async with closing_client(server.url) as ws:
        await log_in(ws)
        await ws.get_message()
        with pytest.raises(ConnectionClosed):
            await ws.get_message()
    await trio.sleep(30)  # the client takes a while to come back (a slow reconnect)
    async with open_websocket_url(server.url) as ws:
        resubscribed.set()  # the client is back: from here on the Expect may play
        auth, _ = await log_in(ws, now_ms=NOW_MS + 30_000)
        assert auth["success"] is True
        await ws.get_message()
    assert seen_before_resubscribed == [False]
