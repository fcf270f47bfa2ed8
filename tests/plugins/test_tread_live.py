"""Tread.fi live pieces: the connection recipe, the simulated venue, its seeded scripts.

Link and session tests are sans-IO. Script tests play scripts straight into a pure
``Reconciler`` (``play_offline``). Loopback tests put the simulator on a real WebSocket
server and talk to it with a plain trio-websocket client, under Trio's autojump clock.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st
from trio_websocket import ConnectionClosed, WebSocketConnection, open_websocket_url

from reconciler import Reconciler
from reconciler._clock import EpochClock
from reconciler.alerts import LIVE_ONLY_CODES, Alert, AlertCode, Severity
from reconciler.config import CoreConfig
from reconciler.events import Expectation
from reconciler.link import LinkSettings, Secret, VenueLink
from reconciler.simserver import SimulatorServer, play_offline
from reconciler.simulator import (
    TRANSPORT_FAULTS,
    Disconnect,
    Expect,
    Refusal,
    RefuseAuth,
    Reply,
    Script,
    Send,
    Stall,
)
from reconciler_tread import (
    TreadLink,
    TreadSession,
    TreadSimulator,
    connection_url,
    keep_alive_frame,
    plugin,
    subscribe_frame,
)

TOKEN = "tread-token/0123+abcdef"
OTHER_TOKEN = "tread-token-of-the-hedge-account"
CREDS = {"main": {"token": TOKEN}, "hedge": {"token": OTHER_TOKEN}}
BASE_URL = "wss://acme.tread.fi/ws/orders/"
#: A round epoch: the scripts' venue timestamps and the servers' clocks agree on it.
START_MS = 1_752_147_100_000
SEEDS = (1, 2, 3, 17, 2024)


def link_settings(url: str = BASE_URL, **credentials: str) -> LinkSettings:
    values = credentials or {"token": TOKEN}
    return LinkSettings(
        venue="tread",
        account="main",
        url=url,
        credentials={name: Secret(value) for name, value in values.items()},
    )


def simulator() -> TreadSimulator:
    return plugin.simulator(CREDS)


def play(script: Script, sim: TreadSimulator | None = None) -> list[Alert]:
    """Every alert a pure core raises for ``script`` (a strict account when it asks)."""
    strict = (f"tread:{script.account}",) if script.strict else ()
    core = Reconciler({"tread": plugin}, CoreConfig(strict_accounts=strict))
    return play_offline(sim or simulator(), script, core, start=START_MS / 1000)


def expected(script: Script) -> set[tuple[str, str | None]]:
    """(code, order id) of every alert the script's faults must produce offline."""
    return {
        (exp.code, exp.order_id)
        for inj in script.injected
        for exp in inj.expects
        if exp.code not in {str(c) for c in LIVE_ONLY_CODES}
    }


def serious(alerts: list[Alert]) -> list[Alert]:
    return [a for a in alerts if a.severity is not Severity.INFO]


def script_for(faults: tuple[str, ...] = (), *, seed: int = 1, duration: float = 60.0) -> Script:
    return simulator().script(
        "main", seed=seed, start_ms=START_MS, duration=duration, faults=faults
    )


def sends(script: Script) -> list[Send]:
    return [s for s in script.steps if isinstance(s, Send)]


def orders_in(script: Script) -> list[dict[str, Any]]:
    """Every order object the script sends (children carried by a parent included)."""
    out: list[dict[str, Any]] = []
    for step in sends(script):
        if step.raw or step.lost:
            continue
        order = json.loads(step.message)["data"]["order"]
        out.append(order)
        out.extend(order.get("child_orders") or [])
    return out


# -- the link ----------------------------------------------------------------------------


def test_url_carries_the_token_in_the_query() -> None:
    """The connection URL is the configured one with ``token=`` added, percent-encoded."""
    link = plugin.link(link_settings())
    assert link.url() == connection_url(BASE_URL, TOKEN)
    assert link.url() == "wss://acme.tread.fi/ws/orders/?token=tread-token%2F0123%2Babcdef"


def test_display_url_has_no_token() -> None:
    """The URL the driver logs is the server's, without the token."""
    link = plugin.link(link_settings())
    assert link.display_url() == BASE_URL
    assert "token" not in link.display_url()
    assert "0123" not in link.display_url()


def test_opening_frames_are_only_the_subscription() -> None:
    """The token in the URL logs in; the only opening frame is the seed's subscribe."""
    link = plugin.link(link_settings())
    assert list(link.opening_frames(START_MS)) == [subscribe_frame()]
    assert json.loads(subscribe_frame()) == {"command": "subscribe", "data_type": "user_orders"}


def test_keep_alive_is_the_documented_command_with_pings() -> None:
    """keep_alive every 5 s, stalled after 20 s, and WebSocket pings since it has no reply."""
    link = plugin.link(link_settings())
    assert link.keep_alive_frame() == keep_alive_frame() == '{"command":"keep_alive"}'
    assert link.keep_alive_interval == 5.0
    assert link.idle_timeout == 20.0
    assert link.sends_regularly is False


@pytest.mark.parametrize(
    ("code", "refused"),
    [(4001, True), (1000, False), (1006, False), (1011, False), (4000, False), (None, False)],
)
def test_only_close_code_4001_means_refused(code: int | None, refused: bool) -> None:
    """A close with 4001 is a refused token; any other close is a network fault."""
    assert plugin.link(link_settings()).refused_by_close(code, "bye") is refused


def test_frames_never_count_as_a_refusal() -> None:
    """Tread.fi refuses only by closing: no frame it sends is read as a refusal."""
    link = plugin.link(link_settings())
    assert link.refusal(plugin.protocol("main").receive('{"type":"error","detail":"x"}')) is None


def test_secret_never_appears_in_repr_or_str() -> None:
    """Neither the link nor its settings show the token when printed."""
    settings = link_settings()
    link = plugin.link(settings)
    for text in (repr(link), str(link), repr(settings), str(settings)):
        assert TOKEN not in text
        assert "0123" not in text
    assert "acme.tread.fi" in repr(link)


def test_missing_server_url_is_an_error_without_the_secret() -> None:
    """Tread.fi has no default server: an empty URL is refused, naming no secret."""
    with pytest.raises(ValueError, match="url") as info:
        plugin.link(link_settings(url="")).url()
    assert TOKEN not in str(info.value)


def test_missing_token_is_a_key_error_naming_the_credential() -> None:
    """Without a token, building the URL fails naming the credential."""
    settings = LinkSettings(venue="tread", account="main", url=BASE_URL)
    with pytest.raises(KeyError, match="token"):
        plugin.link(settings).url()


def test_plugin_declares_its_live_attributes() -> None:
    """The plugin names its credential, has no default URL and builds its link and simulator."""
    assert plugin.credential_names == ("token",)
    assert plugin.default_url is None
    assert isinstance(plugin.link(link_settings()), TreadLink)
    assert isinstance(plugin.link(link_settings()), VenueLink)
    assert isinstance(plugin.simulator(CREDS), TreadSimulator)


# -- the session (sans-IO) ---------------------------------------------------------------


def target(token: str = TOKEN, path: str = "/ws/orders/") -> str:
    """The path and query a client asks for, token percent-encoded as the link does."""
    return f"{path}?token={quote(token, safe='')}"


def opened(path: str, sim: TreadSimulator | None = None) -> tuple[TreadSession, Refusal | None]:
    session = (sim or simulator()).session()
    return session, session.open(path, START_MS)


def test_known_token_is_accepted_for_its_account() -> None:
    """A known token on the documented path is accepted and names its account."""
    session, refusal = opened(target(OTHER_TOKEN))
    assert refusal is None
    assert session.account == "hedge"


def test_percent_encoded_token_is_accepted() -> None:
    """The token is read from the query the way the link encodes it."""
    path = connection_url("ws://127.0.0.1:1/ws/orders/", TOKEN).split(":1", 1)[1]
    session, refusal = opened(path)
    assert refusal is None
    assert session.account == "main"


@pytest.mark.parametrize(
    "path",
    [
        "/ws/orders/?token=wrong",
        "/ws/orders/",
        "/ws/orders/?tok=x",
        f"/ws/orders/?token={quote(TOKEN, safe='')}&token={quote(OTHER_TOKEN, safe='')}",
    ],
)
def test_bad_or_missing_token_is_closed_with_4001(path: str) -> None:
    """An unknown, missing or ambiguous token is accepted and closed at once with 4001."""
    session, refusal = opened(path)
    assert refusal is not None
    assert (refusal.close_code, refusal.http_status) == (4001, None)
    assert session.account is None


def test_refused_login_is_closed_with_4001_then_accepted() -> None:
    """A login the script refuses is closed with 4001; the next one is accepted."""
    sim = simulator()
    sim.refuse_next("main", 1)
    _, first = opened(target(), sim)
    _, second = opened(target(), sim)
    assert first is not None
    assert first.close_code == 4001
    assert second is None


def test_other_path_is_not_found() -> None:
    """Only the Order Status WebSocket's path exists."""
    _, refusal = opened(target(path="/ws/trades/"))
    assert refusal is not None
    assert refusal.http_status == 404


def test_subscribe_starts_the_feed_without_a_reply() -> None:
    """The seed's subscribe subscribes; the seed shows no acknowledgement, so none is sent."""
    session, _ = opened(target())
    assert session.receive(subscribe_frame(), START_MS) == Reply(subscribed=True)


@pytest.mark.parametrize(
    "frame",
    [
        '{"command":"keep_alive"}',
        '{"command":"unsubscribe","data_type":"user_orders"}',
        '{"command":"subscribe","data_type":"trades"}',
        "hello",
        "[1, 2]",
        '{"command": 7}',
    ],
)
def test_other_frames_get_no_reply(frame: str) -> None:
    """keep_alive, unsubscribe and anything undocumented are answered with nothing."""
    session, _ = opened(target())
    assert session.receive(frame, START_MS) == Reply()


def test_session_drops_a_client_silent_for_30_seconds() -> None:
    """The server's idle timer is the documented 30 s; there is no subscribe deadline."""
    session, _ = opened(target())
    assert session.idle_timeout == 30.0
    assert session.subscribe_timeout is None
    assert session.heartbeat(START_MS) is None


# -- scripts -----------------------------------------------------------------------------


def test_fault_names_are_transport_faults_and_the_codes_tread_can_show() -> None:
    """Every transport fault, and every alert code the core can raise for Tread.fi."""
    names = simulator().fault_names
    assert names[: len(TRANSPORT_FAULTS)] == TRANSPORT_FAULTS
    codes = set(names[len(TRANSPORT_FAULTS) :])
    impossible = {
        "FILL_GAP",
        "DUPLICATE_CONFLICT",
        "EXECUTION_ORDER_MISMATCH",
        "ORDER_REJECTED",
        "SEQUENCE_GAP",
    }
    assert codes == {str(c) for c in AlertCode} - {str(c) for c in LIVE_ONLY_CODES} - impossible


def test_script_is_deterministic_for_a_seed() -> None:
    """The same seed gives the same script; another seed another one."""
    faults = ("drop", "STALE_ORDER")
    assert script_for(faults, seed=5) == script_for(faults, seed=5)
    assert script_for(seed=5) != script_for(seed=6)


def test_clean_script_is_about_the_duration_with_steady_traffic() -> None:
    """A clean script runs about ``duration`` s, a message every 0.2-1 s on average."""
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


def test_clean_flow_shows_the_documented_lifecycle() -> None:
    """Singles and multi-orders, every status and update type of a normal day."""
    orders = orders_in(script_for(seed=3, duration=180.0))
    statuses = {o["status"] for o in orders}
    assert {"SCHEDULED", "ACTIVE", "FINISHER", "PAUSED", "COMPLETE", "CANCELED"} <= statuses
    assert any(o.get("child_orders") for o in orders)
    kinds = {json.loads(s.message)["data"]["update_type"] for s in sends(script_for(seed=3))}
    assert {
        "order_created",
        "order_activated",
        "order_fill_received",
        "order_completed",
        "child_order_created",
        "child_order_fill_received",
    } <= kinds


def test_every_placed_order_is_expected_before_its_first_report() -> None:
    """Each top-level order's client id is registered before the venue first reports it."""
    script = script_for(seed=4)
    expected_at = {
        s.expectation.client_order_id: s.at for s in script.steps if isinstance(s, Expect)
    }
    first_seen: dict[str, float] = {}
    for step in sends(script):
        order = json.loads(step.message)["data"]["order"]
        first_seen.setdefault(order["custom_order_id"], step.at)
    assert set(first_seen) == set(expected_at)
    assert all(expected_at[cid] < at for cid, at in first_seen.items())


def test_venue_timestamps_follow_the_script_clock() -> None:
    """Each message's updated_at is stamped just before the script time it is sent at."""
    for step in sends(script_for(seed=8))[:40]:
        order = json.loads(step.message)["data"]["order"]
        stamp = Decimal(str(_epoch(order["updated_at"])))
        sent = Decimal(START_MS) / 1000 + Decimal(str(step.at))
        assert Decimal(0) < sent - stamp < Decimal("0.05")


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


@pytest.mark.parametrize("fault", TreadSimulator.fault_names)
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
    script = script_for(TreadSimulator.fault_names, seed=9)
    alerts = play(script)
    want = expected(script)
    assert len(script.injected) == len(TreadSimulator.fault_names)
    assert want <= {(str(a.code), a.order_id) for a in alerts}
    assert [a for a in serious(alerts) if (str(a.code), a.order_id) not in want] == []
    assert script.strict is True


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
    it for 15 s (so a reconnect never shifts the venue clock)."""
    script = script_for((fault,), seed=3)
    (inj,) = script.injected
    (at,) = [s.at for s in script.steps if isinstance(s, step)]
    assert inj.at == at
    assert [e.code for e in inj.expects] == ([code] if code else [])
    assert not [s for s in script.steps if at <= s.at < at + 15.0 and not isinstance(s, step)]


def test_unknown_order_fault_asks_for_a_strict_account() -> None:
    """Only a script with UNKNOWN_ORDER is strict, and every other order is expected."""
    assert script_for(("UNKNOWN_ORDER",)).strict is True
    assert script_for(("UNACKNOWLEDGED_ORDER",)).strict is False


def test_unknown_fault_name_is_refused() -> None:
    """A fault the venue cannot show is an error, not silently skipped."""
    with pytest.raises(ValueError, match="SEQUENCE_GAP"):
        script_for(("SEQUENCE_GAP",))


def test_malformed_fault_is_a_raw_cut_off_frame() -> None:
    """The malformed fault sends half a frame, as is."""
    script = script_for(("malformed",))
    (raw,) = [s for s in sends(script) if s.raw]
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw.message)


# -- over a loopback socket --------------------------------------------------------------


@asynccontextmanager
async def serving(scripts: list[Script]) -> AsyncIterator[SimulatorServer]:
    server = SimulatorServer(simulator(), scripts, clock=EpochClock(START_MS / 1000))
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


async def test_subscribed_client_receives_the_script(autojump_clock: trio.abc.Clock) -> None:
    """Connect with the token, subscribe, and the script's first frames arrive in order."""
    script = script_for(seed=2)
    first = [s.message for s in sends(script)[:3]]
    async with serving([script]) as server:
        url = plugin.link(link_settings(url=server.url)).url()
        async with client(url) as ws:
            await ws.send_message(subscribe_frame())
            got = [await ws.get_message() for _ in first]
    assert got == first


async def test_bad_token_is_closed_with_4001(autojump_clock: trio.abc.Clock) -> None:
    """The venue's own refusal: the socket is accepted, then closed with code 4001."""
    async with serving([]) as server:
        url = plugin.link(link_settings(url=server.url, token="not-a-token")).url()
        async with client(url) as ws:
            with pytest.raises(ConnectionClosed) as info:
                await ws.get_message()
    assert close_code(info.value) == 4001
    assert plugin.link(link_settings()).refused_by_close(close_code(info.value), None)


async def test_server_drops_an_idle_client_after_30_seconds(autojump_clock: trio.abc.Clock) -> None:
    """A client that sends nothing (no keep-alive) is dropped on the 30 s timer."""
    async with serving([]) as server:
        url = plugin.link(link_settings(url=server.url)).url()
        async with client(url) as ws:
            with trio.move_on_after(29.5) as still_open:
                await ws.get_message()
            with pytest.raises(ConnectionClosed) as info:
                await ws.get_message()
    assert still_open.cancelled_caught
    assert close_code(info.value) == 1001
    assert server.stats.dropped_idle == 1


async def test_keep_alives_hold_the_connection(autojump_clock: trio.abc.Clock) -> None:
    """A client sending keep_alive every 5 s is never dropped, and gets no reply."""
    async with serving([]) as server:
        url = plugin.link(link_settings(url=server.url)).url()
        async with client(url) as ws:
            await ws.send_message(subscribe_frame())
            for _ in range(12):  # a minute
                await trio.sleep(5.0)
                await ws.send_message(keep_alive_frame())
            with trio.move_on_after(1.0) as quiet:
                await ws.get_message()
    assert quiet.cancelled_caught
    assert server.stats.dropped_idle == 0


async def test_expectations_wait_for_the_venue_like_its_messages(
    autojump_clock: trio.abc.Clock,
) -> None:
    """An expectation scripted just before its order's first message is registered no
    earlier than the venue could send that message, however long a reconnect takes."""
    sim = simulator()
    order = json.dumps({"type": "order_update", "data": {"order": {"id": "o-1"}}})
    exp = Expectation(
        venue="tread",
        account="main",
        client_order_id="ems-1",
        symbol="BTC-USDT",
        side="buy",
        quantity=Decimal(1),
    )
    script = Script(
        venue="tread",
        account="main",
        steps=(
            Send(at=0.5, message=order),
            Disconnect(at=1.0),
            Expect(at=5.0, expectation=exp),
            Send(at=5.2, message=order),
        ),
    )
    expected_at: list[float] = []

    async def on_expect(_: Expectation) -> None:
        expected_at.append(trio.current_time())

    server = SimulatorServer(sim, [script], on_expect=on_expect, clock=EpochClock(START_MS / 1000))
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        url = plugin.link(link_settings(url=server.url)).url()
        async with client(url) as ws:
            await ws.send_message(subscribe_frame())
            await ws.get_message()
            with pytest.raises(ConnectionClosed):
                await ws.get_message()
        await trio.sleep(20.0)  # the client takes a while to come back
        async with client(url) as ws:
            await ws.send_message(subscribe_frame())
            resubscribed = trio.current_time()
            await ws.get_message()
        nursery.cancel_scope.cancel()
    assert expected_at
    assert expected_at[0] >= resubscribed
