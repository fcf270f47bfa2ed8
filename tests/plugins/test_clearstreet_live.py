"""Clear Street live half: the link (subscribe with the token, pings, refusal), the
simulated ``activity`` channel (sans-IO and on a loopback server: the ack, the day's
replay, ``replay-complete``, heartbeats, the subscribe deadline) and the seeded
scenarios with their faults."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

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

from reconciler import AlertCode, CoreConfig, Expectation, Reconciler, Severity
from reconciler._clock import EpochClock
from reconciler.alerts import LIVE_ONLY_CODES, Alert
from reconciler.events import (
    Event,
    Heartbeat,
    OrderUpdate,
    ReplayEnd,
    Sequenced,
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
from reconciler_clearstreet import (
    SANDBOX_URL,
    STREAM_URL,
    ClearStreetLink,
    ClearStreetProtocol,
    ClearStreetSession,
    ClearStreetSimulator,
    plugin,
    subscribe_frame,
)
from reconciler_clearstreet._mapping import day_of
from reconciler_clearstreet._scenario_kit import cut, resend

TOKEN = "eyJhbGciOiJSUzI1NiJ9.c2ltdWxhdGVk.c2lnbmF0dXJl"
OTHER_TOKEN = "eyJhbGciOiJSUzI1NiJ9.b3RoZXI.c2lnbmF0dXJl"
ACCOUNT = "100000"
CREDENTIALS = {ACCOUNT: {"token": TOKEN}, "100001": {"token": OTHER_TOKEN}}
#: 2024-03-21 10:30 in New York (a trading day).
START_MS = 1_711_031_400_000
NOW_MS = START_MS
DAY = "2024-03-21"
SEEDS = (0, 1, 2, 3, 4)
LIVE_ONLY = {code.value for code in LIVE_ONLY_CODES}
FAULTS = ClearStreetSimulator.fault_names


def settings_for(
    url: str = STREAM_URL,
    *,
    account: str = ACCOUNT,
    options: dict[str, str] | None = None,
    **credentials: str,
) -> LinkSettings:
    """Link settings for ``account`` with the test token (or ``credentials``)."""
    values = credentials or {"token": TOKEN}
    return LinkSettings(
        venue="clearstreet",
        account=account,
        url=url,
        credentials={name: Secret(value) for name, value in values.items()},
        options=options or {},
    )


def simulator() -> ClearStreetSimulator:
    """A fresh simulator knowing accounts 100000 and 100001."""
    return plugin.simulator(CREDENTIALS)


def body(frame: str) -> dict[str, Any]:
    """A frame as a dict."""
    decoded: dict[str, Any] = json.loads(frame)
    return decoded


def parse(frame: str) -> list[Event]:
    """What the Clear Street parser makes of a frame."""
    return ClearStreetProtocol(ACCOUNT).receive(frame)


def payload(kind: str, **data: Any) -> str:
    """A payload's JSON text, as scripts give it to the simulator."""
    return json.dumps({"type": kind, "data": data}, separators=(",", ":"))


def position(symbol: str = "AAPL", quantity: str = "100") -> str:
    """A ``position-update`` payload."""
    return payload("position-update", account_id=ACCOUNT, symbol=symbol, quantity=quantity)


# -- the link -------------------------------------------------------------------------


def test_link_url_is_the_configured_url() -> None:
    """The token travels in the subscribe message, so the URL is the configured one."""
    link = plugin.link(settings_for(SANDBOX_URL))
    assert link.url() == "wss://sandbox-api.clearstreet.io/studio/v2/ws"


def test_opening_frame_is_the_subscribe_with_token_and_account() -> None:
    """One ``subscribe-activity`` message carrying the token and the account id."""
    frames = plugin.link(settings_for()).opening_frames(NOW_MS)
    assert [body(f) for f in frames] == [
        {
            "authorization": TOKEN,
            "payload": {"type": "subscribe-activity", "account_id": ACCOUNT},
        }
    ]
    assert frames == [subscribe_frame(TOKEN, ACCOUNT)]


def test_account_id_option_overrides_the_account_name() -> None:
    """``options["account_id"]`` names the venue account when the configured name differs."""
    link = plugin.link(settings_for(account="main", options={"account_id": ACCOUNT}))
    assert body(link.opening_frames(NOW_MS)[0])["payload"]["account_id"] == ACCOUNT


def test_keep_alive_is_websocket_pings_every_10_seconds() -> None:
    """No application keep-alive; heartbeats are undocumented, so the driver pings."""
    link = plugin.link(settings_for())
    assert link.keep_alive_frame() is None
    assert link.keep_alive_interval == 10.0
    assert link.idle_timeout == 30.0
    assert link.sends_regularly is False


def test_refused_subscription_ack_is_a_refusal() -> None:
    """An ack with ``success: false`` means the credentials were refused."""
    out = simulator().session().receive(subscribe_frame(OTHER_TOKEN, ACCOUNT), NOW_MS)
    link = plugin.link(settings_for())
    assert link.refusal(parse(out.frames[0])) == f"Not authorized for account {ACCOUNT}"


@pytest.mark.parametrize(
    "request_frame",
    [
        "{not json",
        '{"authorization":"x","payload":{"type":"subscribe-activity"}}',
        '{"authorization":"x","payload":{"type":"subscribe-quotes","account_id":"1"}}',
    ],
)
def test_error_notice_is_not_a_refusal(request_frame: str) -> None:
    """An error-notice answers a malformed request: it says nothing about the token."""
    out = simulator().session().receive(request_frame, NOW_MS)
    assert body(out.frames[0])["payload"]["type"] == "error-notice"
    assert plugin.link(settings_for()).refusal(parse(out.frames[0])) is None


def test_successful_ack_is_not_a_refusal() -> None:
    """The success ack is a subscription, not a refusal."""
    out = simulator().session().receive(subscribe_frame(TOKEN, ACCOUNT), NOW_MS)
    events = parse(out.frames[0])
    assert events == [Subscribed(channels=("activity",), detail=ACCOUNT)]
    assert plugin.link(settings_for()).refusal(events) is None


def test_token_never_shows_in_repr_str_url_or_settings() -> None:
    """The token appears nowhere the link could be logged."""
    link = plugin.link(settings_for())
    for text in (repr(link), str(link), link.url(), link.display_url(), repr(link.settings)):
        assert TOKEN not in text


def test_missing_token_raises_naming_it() -> None:
    """A missing token is named in the error."""
    with pytest.raises(KeyError, match="token"):
        plugin.link(settings_for(other="value"))


def test_empty_token_is_rejected() -> None:
    """An empty token is a configuration error."""
    with pytest.raises(ValueError, match="token"):
        plugin.link(settings_for(token=""))


def test_plugin_declares_its_live_parts() -> None:
    """Credential names, the production URL, and the link and simulator classes."""
    assert plugin.credential_names == ("token",)
    assert plugin.default_url == "wss://api.clearstreet.io/studio/v2/ws"
    assert isinstance(plugin.link(settings_for()), ClearStreetLink)
    sim = plugin.simulator(CREDENTIALS)
    assert isinstance(sim, ClearStreetSimulator)
    assert (sim.venue, sim.path) == ("clearstreet", "/studio/v2/ws")


# -- the session (sans-IO) ------------------------------------------------------------


def test_good_subscription_is_acknowledged_in_the_seed_shape() -> None:
    """The ack is the seed page's: type, account_id, success, details."""
    session = simulator().session()
    out = session.receive(subscribe_frame(TOKEN, ACCOUNT), NOW_MS)
    assert out.subscribed
    assert out.close is None
    assert session.account == ACCOUNT
    assert body(out.frames[0]) == {
        "timestamp": NOW_MS,
        "payload": {
            "type": "subscribe-activity-ack",
            "account_id": ACCOUNT,
            "success": True,
            "details": "Subscribed successfully",
        },
    }


def test_unknown_token_is_refused_and_closed() -> None:
    """A token the venue does not know: ack false, then the connection is closed."""
    session = simulator().session()
    out = session.receive(subscribe_frame("forged", ACCOUNT), NOW_MS)
    ack = body(out.frames[0])["payload"]
    assert (ack["type"], ack["success"]) == ("subscribe-activity-ack", False)
    assert ack["details"] == "Invalid or expired access token"
    assert out.close is not None
    assert out.close[0] == 1008
    assert not out.subscribed
    assert session.account is None


def test_token_of_another_account_is_refused() -> None:
    """A valid token does not open another account."""
    session = simulator().session()
    out = session.receive(subscribe_frame(TOKEN, "100001"), NOW_MS)
    assert body(out.frames[0])["payload"]["details"] == "Not authorized for account 100001"
    assert session.account is None


def test_unknown_account_is_refused() -> None:
    """An account the venue does not have is refused like a foreign one."""
    out = simulator().session().receive(subscribe_frame(TOKEN, "999999"), NOW_MS)
    assert parse(out.frames[0]) == [
        VenueError(message="Not authorized for account 999999", auth=True)
    ]


def test_refused_subscription_is_refused_once() -> None:
    """``refuse_next`` refuses exactly the next subscription of the account."""
    sim = simulator()
    sim.refuse_next(ACCOUNT, 1)
    refused = sim.session().receive(subscribe_frame(TOKEN, ACCOUNT), NOW_MS)
    accepted = sim.session().receive(subscribe_frame(TOKEN, ACCOUNT), NOW_MS)
    assert body(refused.frames[0])["payload"]["success"] is False
    assert refused.close is not None
    assert accepted.subscribed


def test_malformed_request_gets_an_error_notice_and_stays_open() -> None:
    """The fixture's error: a subscribe without account_id."""
    frame = '{"authorization":"t","payload":{"type":"subscribe-activity"}}'
    out = simulator().session().receive(frame, NOW_MS)
    assert body(out.frames[0])["payload"] == {
        "type": "error-notice",
        "details": "Unable to parse request: missing payload.account_id",
    }
    assert out.close is None


def test_session_deadlines_and_heartbeat() -> None:
    """Subscribe within 30 s; a heartbeat every 5 s; a subscribed client may stay quiet."""
    session: ClearStreetSession = simulator().session()
    assert session.subscribe_timeout == 30.0
    assert session.heartbeat_interval == 5.0
    assert session.idle_timeout >= 3600.0
    heartbeat = session.heartbeat(NOW_MS)
    assert body(heartbeat) == {"timestamp": NOW_MS, "payload": {"type": "heartbeat"}}
    assert parse(heartbeat) == [Heartbeat()]


def test_other_paths_are_not_found() -> None:
    """Only ``/studio/v2/ws`` is served."""
    refusal = simulator().session().open("/studio/v1/ws", NOW_MS)
    assert refusal is not None
    assert refusal.http_status == 404
    assert simulator().session().open("/studio/v2/ws", NOW_MS) is None


def test_publish_numbers_sequenced_payloads_from_one() -> None:
    """Sequenced payloads get 1, 2, ... in the seed's envelope, the payload kept as is."""
    sim = simulator()
    first = sim.publish(ACCOUNT, position(), NOW_MS)
    second = sim.publish(ACCOUNT, position(quantity="50"), NOW_MS + 5)
    assert [body(f)["sequence"] for f in first + second] == [1, 2]
    assert body(first[0]) == {
        "timestamp": NOW_MS,
        "sequence": 1,
        "payload": json.loads(position()),
    }
    (event,) = parse(second[0])
    assert isinstance(event, Sequenced)
    assert (event.sequence, event.day) == (2, DAY)


def test_unsequenced_payloads_are_neither_numbered_nor_replayed() -> None:
    """A heartbeat or error-notice goes out without a number and is not logged."""
    sim = simulator()
    (frame,) = sim.publish(ACCOUNT, '{"type":"heartbeat"}', NOW_MS)
    assert "sequence" not in body(frame)
    assert sim.day_log(ACCOUNT, DAY) == []


def test_text_that_is_not_a_payload_is_refused() -> None:
    """publish() is for payloads: anything else is a script bug, said at once."""
    with pytest.raises(ValueError, match="payload"):
        simulator().publish(ACCOUNT, "[1, 2]", NOW_MS)


def test_replay_is_the_day_from_one_then_replay_complete() -> None:
    """Every sequenced message of the day, in order, then ``replay-complete``."""
    sim = simulator()
    texts = [position(quantity=str(q)) for q in (10, 20, 30)]
    for i, text in enumerate(texts):
        sim.publish(ACCOUNT, text, NOW_MS + i)
    frames = sim.replay(ACCOUNT, NOW_MS + 1000)
    assert [body(f).get("sequence") for f in frames] == [1, 2, 3, None]
    assert [body(f)["payload"] for f in frames[:3]] == [json.loads(t) for t in texts]
    assert all(body(f)["timestamp"] == NOW_MS + 1000 for f in frames)
    assert parse(frames[-1]) == [ReplayEnd()]


def test_replay_of_an_empty_day_is_just_replay_complete() -> None:
    """Nothing published yet: the replay is ``replay-complete`` alone."""
    (frame,) = simulator().replay(ACCOUNT, NOW_MS)
    assert body(frame)["payload"] == {"type": "replay-complete"}


def test_replay_is_per_account() -> None:
    """One account's messages never reach another's replay."""
    sim = simulator()
    sim.publish("100001", position(), NOW_MS)
    assert len(sim.replay(ACCOUNT, NOW_MS)) == 1


def test_lost_messages_keep_their_number_and_are_replayed() -> None:
    """lose() uses the next number without sending; the replay has it in place."""
    sim = simulator()
    sim.publish(ACCOUNT, position(quantity="1"), NOW_MS)
    sim.lose(ACCOUNT, position(quantity="2"), NOW_MS + 1)
    (third,) = sim.publish(ACCOUNT, position(quantity="3"), NOW_MS + 2)
    assert body(third)["sequence"] == 3
    replayed = sim.replay(ACCOUNT, NOW_MS + 3)
    assert body(replayed[1]) == {
        "timestamp": NOW_MS + 3,
        "sequence": 2,
        "payload": json.loads(position(quantity="2")),
    }


def test_resend_repeats_a_message_under_its_number_stamped_now() -> None:
    """``resend`` sends a numbered message again, same number, the time it is sent."""
    sim = simulator()
    sim.publish(ACCOUNT, position(quantity="1"), NOW_MS)
    sim.publish(ACCOUNT, position(quantity="2"), NOW_MS + 1)
    (frame,) = sim.publish(ACCOUNT, resend(position(quantity="1")), NOW_MS + 500)
    assert body(frame) == {
        "timestamp": NOW_MS + 500,
        "sequence": 1,
        "payload": json.loads(position(quantity="1")),
    }
    assert len(sim.day_log(ACCOUNT, DAY)) == 2


def test_resend_delivers_a_lost_message_late() -> None:
    """A message lost in transit can be delivered later under its number."""
    sim = simulator()
    sim.lose(ACCOUNT, position(quantity="7"), NOW_MS)
    (frame,) = sim.publish(ACCOUNT, resend(position(quantity="7")), NOW_MS + 50)
    assert body(frame)["sequence"] == 1


def test_resend_as_sends_other_content_under_the_number() -> None:
    """``resend`` with ``as``: a conflicting re-send, which the day log does not keep."""
    sim = simulator()
    sim.publish(ACCOUNT, position(quantity="1"), NOW_MS)
    (frame,) = sim.publish(
        ACCOUNT, resend(position(quantity="1"), position(quantity="9")), NOW_MS + 5
    )
    assert (body(frame)["sequence"], body(frame)["payload"]["data"]["quantity"]) == (1, "9")
    assert sim.day_log(ACCOUNT, DAY) == [position(quantity="1")]


def test_cut_sends_the_first_half_of_the_frame() -> None:
    """``cut`` gives the message's frame cut off in the middle: undecodable."""
    sim = simulator()
    sim.lose(ACCOUNT, position(), NOW_MS)
    (frame,) = sim.publish(ACCOUNT, cut(position()), NOW_MS + 5)
    whole = f'{{"timestamp":{NOW_MS + 5},"sequence":1,"payload":{position()}}}'
    assert frame == whole[: len(whole) // 2]
    (event,) = parse(frame)
    assert type(event).__name__ == "Malformed"


def test_repeat_of_a_message_never_numbered_is_refused() -> None:
    """Repeating what the simulator never published is a script bug, said at once."""
    with pytest.raises(ValueError, match="never numbered"):
        simulator().publish(ACCOUNT, resend(position()), NOW_MS)


def test_replay_fills_a_gap_before_the_settle_window_closes() -> None:
    """Live 1 and 3 with 2 lost, then a reconnect's replay: no SEQUENCE_GAP."""
    sim = simulator()
    core = Reconciler()
    t = NOW_MS / 1000
    alerts = core.feed("clearstreet", ACCOUNT, sim.publish(ACCOUNT, position(), NOW_MS)[0], t)
    sim.lose(ACCOUNT, position(quantity="2"), NOW_MS + 100)
    third = sim.publish(ACCOUNT, position(quantity="3"), NOW_MS + 200)[0]
    alerts += core.feed("clearstreet", ACCOUNT, third, t + 0.2)
    for frame in sim.replay(ACCOUNT, NOW_MS + 2000):
        alerts += core.feed("clearstreet", ACCOUNT, frame, t + 2)
    alerts += core.advance(t + 60)
    assert alerts == []


def test_a_new_trading_day_restarts_the_numbering() -> None:
    """After New York midnight the sequence starts at 1 and the replay has only today."""
    sim = simulator()
    sim.publish(ACCOUNT, position(), NOW_MS)
    tomorrow = NOW_MS + 86_400_000
    (frame,) = sim.publish(ACCOUNT, position(quantity="5"), tomorrow)
    assert body(frame)["sequence"] == 1
    assert day_of(tomorrow) == "2024-03-22"
    assert len(sim.replay(ACCOUNT, tomorrow)) == 2


# -- scripts --------------------------------------------------------------------------


def run_script(script: Script, sim: ClearStreetSimulator) -> list[Alert]:
    """Play ``script`` offline into a fresh core (strict when the script asks)."""
    strict = (f"clearstreet:{ACCOUNT}",) if script.strict else ()
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
    offline = {pair for pair in expected(script) if pair[0] not in LIVE_ONLY}
    assert offline <= got, offline - got
    assert serious(alerts) <= expected(script), serious(alerts) - expected(script)


def script_for(seed: int, duration: float = 60, faults: tuple[str, ...] = ()) -> Script:
    """A script of a fresh simulator (sequence numbers from 1)."""
    return simulator().script(
        ACCOUNT, seed=seed, start_ms=START_MS, duration=duration, faults=faults
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_clean_script_raises_nothing_serious(seed: int) -> None:
    """Clean flow: no warning or critical alert (rejects are info)."""
    sim = simulator()
    script = sim.script(ACCOUNT, seed=seed, start_ms=START_MS, duration=180)
    alerts = run_script(script, sim)
    assert serious(alerts) == set()
    assert {a.code for a in alerts} <= {AlertCode.ORDER_REJECTED}


def test_clean_script_on_a_strict_account_expects_every_order() -> None:
    """Every order is registered before the venue reports it: no UNKNOWN_ORDER."""
    sim = simulator()
    script = sim.script(ACCOUNT, seed=7, start_ms=START_MS, duration=180)
    core = Reconciler(config=CoreConfig(strict_accounts=(f"clearstreet:{ACCOUNT}",)))
    assert serious(play_offline(sim, script, core, start=START_MS / 1000)) == set()


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_clean_scripts_for_any_seed_raise_nothing_serious(seed: int) -> None:
    """The no-serious-alert property holds for arbitrary seeds."""
    sim = simulator()
    script = sim.script(ACCOUNT, seed=seed, start_ms=START_MS, duration=90)
    assert serious(run_script(script, sim)) == set()


@pytest.mark.parametrize("fault", FAULTS)
def test_each_fault_raises_exactly_what_it_expects(fault: str) -> None:
    """One fault: its expected alerts are raised (live-only ones aside), nothing serious
    beyond them."""
    for seed in SEEDS[:3]:
        sim = simulator()
        script = sim.script(ACCOUNT, seed=seed, start_ms=START_MS, duration=60, faults=[fault])
        (injected,) = script.injected
        assert (injected.fault, injected.venue, injected.account) == (
            fault,
            "clearstreet",
            ACCOUNT,
        )
        assert injected.note
        check_faults(script, run_script(script, sim))


@pytest.mark.parametrize("fault", ["disconnect", "stall", "auth_refusal"])
def test_connection_faults_replay_the_day_silently(fault: str) -> None:
    """Offline a connection fault is a reconnect whose replay re-sends the whole day:
    nothing serious is raised, and the replayed messages were dropped as duplicates."""
    sim = simulator()
    script = sim.script(ACCOUNT, seed=11, start_ms=START_MS, duration=90, faults=[fault])
    core = Reconciler()
    alerts = play_offline(sim, script, core, start=START_MS / 1000)
    assert serious(alerts) == set()
    assert core.stats()["duplicates.sequence"] > 20


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_all_faults_together_raise_what_they_expect(seed: int) -> None:
    """Every fault in one script: the union of their alerts and nothing serious beyond."""
    sim = simulator()
    script = sim.script(ACCOUNT, seed=seed, start_ms=START_MS, duration=60, faults=FAULTS)
    assert script.strict
    assert [inj.fault for inj in script.injected] == list(FAULTS)
    check_faults(script, run_script(script, sim))


def test_reconnect_after_every_fault_re_alerts_nothing() -> None:
    """A disconnect after all the data faults replays the day, including their messages:
    no warning or critical alert is raised from the disconnect on."""
    faults = (*(f for f in FAULTS if f not in TRANSPORT_FAULTS), "drop", "disconnect")
    sim = simulator()
    script = sim.script(ACCOUNT, seed=21, start_ms=START_MS, duration=60, faults=faults)
    alerts = run_script(script, sim)
    reconnect = START_MS / 1000 + script.injected[-1].at
    assert [a for a in alerts if a.t >= reconnect and a.severity is not Severity.INFO] == []
    check_faults(script, alerts)


@pytest.mark.parametrize("fault", ["duplicate", "reorder", "malformed", "DUPLICATE_CONFLICT"])
def test_repeats_work_whatever_the_server_clock(fault: str) -> None:
    """Faults that repeat a numbered message hold when the server's clock is on another
    day than the script's ``start_ms``: the simulator numbers and stamps the repeat."""
    sim = simulator()
    script = sim.script(ACCOUNT, seed=4, start_ms=START_MS, duration=60, faults=(fault,))
    a_year_later = START_MS / 1000 + 365 * 86_400
    alerts = play_offline(sim, script, Reconciler(), start=a_year_later)
    check_faults(script, alerts)


def test_fault_names_are_transport_faults_and_clearstreet_alert_codes() -> None:
    """Transport faults first, then every code the core can raise on Clear Street."""
    names = ClearStreetSimulator.fault_names
    assert names[: len(TRANSPORT_FAULTS)] == TRANSPORT_FAULTS
    codes = set(names[len(TRANSPORT_FAULTS) :])
    # BTSE and Tread.fi only, or fields Clear Street does not report (docs/alerts.md).
    impossible = {
        "FILL_GAP",
        "QUANTITY_MISMATCH",
        "ORPHAN_CHILD",
        "CHILD_SET_MISMATCH",
        "PARENT_AGGREGATE_MISMATCH",
        "PARENT_TERMINAL_WITH_ACTIVE_CHILD",
        "STUCK_PARENT",
    }
    assert codes == {c.value for c in AlertCode} - LIVE_ONLY - impossible


def test_unknown_fault_is_rejected() -> None:
    """A fault the simulator cannot inject is an error."""
    with pytest.raises(ValueError, match="FILL_GAP"):
        script_for(1, faults=("FILL_GAP",))


def test_scripts_are_deterministic() -> None:
    """The same seed writes the same script; another seed another one."""
    assert script_for(5, faults=FAULTS[:5]) == script_for(5, faults=FAULTS[:5])
    assert script_for(5, faults=FAULTS[:5]) != script_for(6, faults=FAULTS[:5])


def test_faults_follow_each_other_in_order() -> None:
    """Faults happen in the order given, one after the other, and a script with few
    faults stays within its duration."""
    script = script_for(3, faults=FAULTS)
    times = [inj.at for inj in script.injected]
    assert times == sorted(times)
    assert all(b > a for a, b in itertools.pairwise(times))
    few = script_for(3, duration=60, faults=FAULTS[:6])
    assert few.steps[-1].at <= 75


@pytest.mark.parametrize("fault", ["disconnect", "stall", "auth_refusal"])
def test_connection_faults_leave_the_account_quiet(fault: str) -> None:
    """At least 15 s without a message after a disconnect, stall or refused subscription."""
    script = script_for(2, duration=90, faults=(fault,))
    (at,) = [s.at for s in script.steps if isinstance(s, Disconnect | Stall | RefuseAuth)]
    sends = [s.at for s in script.steps if isinstance(s, Send) and s.at >= at]
    assert not sends or sends[0] >= at + 15


def test_every_order_is_expected_just_before_its_first_report() -> None:
    """An Expect precedes each order's first report and matches what is reported."""
    sim = simulator()
    script = sim.script(ACCOUNT, seed=8, start_ms=START_MS, duration=120)
    expectations: dict[str, tuple[float, Expectation]] = {}
    seen: set[str] = set()
    for step in script.steps:
        if isinstance(step, Expect):
            expectations[step.expectation.client_order_id] = (step.at, step.expectation)
            continue
        assert isinstance(step, Send)
        (frame,) = sim.publish(ACCOUNT, step.message, START_MS + round(step.at * 1000))
        for ev in parse(frame):
            inner = ev.events[0] if isinstance(ev, Sequenced) else ev
            if not isinstance(inner, OrderUpdate) or inner.order_id in seen:
                continue
            seen.add(inner.order_id)
            assert inner.client_order_id is not None
            at, exp = expectations[inner.client_order_id]
            assert 0 < step.at - at < 1
            assert (exp.symbol, exp.quantity, exp.price) == (
                inner.symbol,
                inner.quantity,
                inner.limit_price,
            )
            assert exp.side == (inner.side or "").split("-")[0]
    assert len(seen) > 20


def test_trades_sum_to_filled_and_average_price_is_their_vwap() -> None:
    """Clean flow: per order, the last filled_quantity is the sum of its trade-notices
    and its average_price their volume-weighted price (to the venue's 6 decimals)."""
    script = script_for(9, duration=120)
    traded: dict[str, tuple[Decimal, Decimal]] = {}
    last: dict[str, dict[str, Any]] = {}
    for step in script.steps:
        if not isinstance(step, Send):
            continue
        message = json.loads(step.message)
        data = message.get("data", {})
        if message["type"] == "trade-notice":
            qty, value = traded.get(data["order_id"], (Decimal(0), Decimal(0)))
            q = Decimal(data["quantity"])
            traded[data["order_id"]] = (qty + q, value + q * Decimal(data["price"]))
        elif message["type"] == "order-update":
            last[data["order_id"]] = data
    assert traded
    for order_id, data in last.items():
        qty, value = traded.get(order_id, (Decimal(0), Decimal(0)))
        assert Decimal(data["filled_quantity"]) == qty
        if qty:
            assert abs(Decimal(str(data["average_price"])) - value / qty) <= Decimal("5e-7")


def test_versions_go_up_by_one_per_order() -> None:
    """Each order-update of an order is the next version."""
    versions: dict[str, list[int]] = {}
    for step in script_for(10, duration=120).steps:
        if isinstance(step, Send):
            message = json.loads(step.message)
            if message["type"] == "order-update":
                data = message["data"]
                versions.setdefault(data["order_id"], []).append(data["version"])
    assert versions
    assert all(v == list(range(1, len(v) + 1)) for v in versions.values())


def test_clean_flow_has_positions_and_buying_power() -> None:
    """Besides orders and trades the account gets position and buying-power updates."""
    kinds = {
        json.loads(s.message)["type"]
        for s in script_for(12, duration=120).steps
        if isinstance(s, Send)
    }
    assert kinds == {"order-update", "trade-notice", "position-update", "buying-power-update"}


def test_venue_times_derive_from_start_ms() -> None:
    """An order's updated_at is start_ms plus its step time."""
    script = script_for(2)
    step = next(s for s in script.steps if isinstance(s, Send))
    data = json.loads(step.message)["data"]
    assert data["updated_at"] == START_MS + round(step.at * 1000)


# -- loopback server ------------------------------------------------------------------


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
    stream = await trio.open_tcp_stream(parts.hostname, parts.port)
    try:
        async with trio.open_nursery() as client_nursery:
            host = f"{parts.hostname}:{parts.port}"
            ws = await wrap_client_stream(client_nursery, stream, host, parts.path)
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


async def started(
    nursery: trio.Nursery, sim: ClearStreetSimulator, scripts: list[Script], **kwargs: Any
) -> SimulatorServer:
    """A simulator server listening on loopback, its clock on START_MS."""
    server = SimulatorServer(sim, scripts, clock=EpochClock(START_MS / 1000), **kwargs)
    await nursery.start(server.run)
    return server


def tiny_script(*steps: Send | Disconnect | Stall | RefuseAuth | Expect) -> Script:
    """A hand-written script for the account."""
    return Script(venue="clearstreet", account=ACCOUNT, steps=steps)


async def subscribe(ws: WebSocketConnection) -> dict[str, Any]:
    """Send the link's opening frame; the ack's payload."""
    for frame in plugin.link(settings_for()).opening_frames(NOW_MS):
        await ws.send_message(frame)
    ack: dict[str, Any] = body(str(await ws.get_message()))["payload"]
    return ack


async def until_replay_complete(ws: WebSocketConnection) -> list[dict[str, Any]]:
    """The replayed frames, up to ``replay-complete`` (not included)."""
    frames: list[dict[str, Any]] = []
    while (frame := body(str(await ws.get_message())))["payload"]["type"] != "replay-complete":
        frames.append(frame)
    return frames


def gate() -> Expect:
    """An Expect step for the test's ``on_expect`` to hold: the harness awaits
    ``on_expect`` for each Expect step, so the script waits there until it returns."""
    expectation = Expectation(
        venue="clearstreet",
        account=ACCOUNT,
        client_order_id="gate",
        symbol="AAPL",
        side="buy",
        quantity=Decimal(1),
    )
    return Expect(at=0.0, expectation=expectation)


async def test_loopback_subscribe_ack_replay_complete_and_live_frames(
    nursery: trio.Nursery,
) -> None:
    """Handshake, the ack, an empty day's replay-complete, then live frames from 1."""
    script = tiny_script(Send(at=0.0, message=position()), Send(at=0.0, message=position("MSFT")))
    server = await started(nursery, simulator(), [script])
    async with open_websocket_url(server.url) as ws:
        ack = await subscribe(ws)
        assert (ack["type"], ack["success"]) == ("subscribe-activity-ack", True)
        assert await until_replay_complete(ws) == []
        live = [body(str(await ws.get_message())) for _ in range(2)]
    assert [(f["sequence"], f["payload"]["data"]["symbol"]) for f in live] == [
        (1, "AAPL"),
        (2, "MSFT"),
    ]


async def test_loopback_reconnect_replays_the_day_then_goes_live(nursery: trio.Nursery) -> None:
    """A second connection gets the ack, the day from sequence 1 (the lost message in
    its place), replay-complete, then the next live message."""
    resubscribed = trio.Event()

    async def on_expect(_: Expectation) -> None:
        await resubscribed.wait()

    script = tiny_script(
        Send(at=0.0, message=position(quantity="1")),
        Send(at=0.0, message=position(quantity="2"), lost=True),
        Send(at=0.0, message=position(quantity="3")),
        gate(),
        Send(at=0.0, message=position(quantity="4")),
    )
    server = await started(nursery, simulator(), [script], on_expect=on_expect)
    async with open_websocket_url(server.url) as ws:
        await subscribe(ws)
        await until_replay_complete(ws)
        first = [body(str(await ws.get_message())) for _ in range(2)]
    assert [f["sequence"] for f in first] == [1, 3]
    async with open_websocket_url(server.url) as ws:
        assert (await subscribe(ws))["success"] is True
        replayed = await until_replay_complete(ws)
        resubscribed.set()
        live = body(str(await ws.get_message()))
    assert [(f["sequence"], f["payload"]["data"]["quantity"]) for f in replayed] == [
        (1, "1"),
        (2, "2"),
        (3, "3"),
    ]
    assert (live["sequence"], live["payload"]["data"]["quantity"]) == (4, "4")


async def test_loopback_refused_subscription_is_acked_false_and_closed(
    nursery: trio.Nursery,
) -> None:
    """A foreign token: the failed ack (a refusal for the link), then a 1008 close."""
    server = await started(nursery, simulator(), [])
    async with closing_client(server.url) as ws:
        await ws.send_message(subscribe_frame(OTHER_TOKEN, ACCOUNT))
        frame = str(await ws.get_message())
        assert plugin.link(settings_for()).refusal(parse(frame)) is not None
        with pytest.raises(ConnectionClosed) as closed:
            await ws.get_message()
    reason = closed.value.reason
    assert reason is not None
    assert reason.code == 1008


async def test_loopback_refuse_auth_drops_and_refuses_the_next_subscription(
    nursery: trio.Nursery,
) -> None:
    """RefuseAuth: the session is dropped (1012), the next subscription refused, the one
    after replays the day."""
    script = tiny_script(Send(at=0.0, message=position()), RefuseAuth(at=0.1))
    server = await started(nursery, simulator(), [script])
    async with closing_client(server.url) as ws:
        await subscribe(ws)
        await until_replay_complete(ws)
        assert body(str(await ws.get_message()))["sequence"] == 1
        with pytest.raises(ConnectionClosed):
            await ws.get_message()
    async with closing_client(server.url) as ws:
        assert (await subscribe(ws))["success"] is False
    async with open_websocket_url(server.url) as ws:
        assert (await subscribe(ws))["success"] is True
        assert [f["sequence"] for f in await until_replay_complete(ws)] == [1]


async def test_loopback_wrong_path_is_rejected(nursery: trio.Nursery) -> None:
    """Only ``/studio/v2/ws`` is served: another path is a 404 at the handshake."""
    server = await started(nursery, simulator(), [])
    url = server.url.replace("/studio/v2/ws", "/studio/v1/ws")
    with pytest.raises(ConnectionRejected) as info:
        async with closing_client(url):
            pass  # pragma: no cover - the handshake fails
    assert info.value.status_code == 404


async def test_loopback_subscribed_client_gets_heartbeats(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """A subscribed, silent client receives heartbeats."""
    server = await started(nursery, simulator(), [])
    async with open_websocket_url(server.url) as ws:
        await subscribe(ws)
        await until_replay_complete(ws)
        assert parse(str(await ws.get_message())) == [Heartbeat()]


async def test_loopback_subscribe_deadline_closes_a_silent_client(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    """A client that never subscribes is closed after 30 s, not before."""
    server = await started(nursery, simulator(), [])
    async with closing_client(server.url) as ws:
        with trio.move_on_after(29):
            await ws.get_message()
            pytest.fail("the server sent something to a client that never subscribed")
        with pytest.raises(ConnectionClosed):
            await ws.get_message()
    assert server.stats.dropped_idle == 1
