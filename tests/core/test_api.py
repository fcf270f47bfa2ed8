"""The Reconciler's public API: plugins, queries, time, and isolation from the host."""

from __future__ import annotations

import decimal
from collections.abc import Mapping
from decimal import Decimal

import pytest
from builders import BASE_T, Run, btse_frame, btse_item

from reconciler import AlertCode, Reconciler, Status, UnknownVenueError, load_plugins
from reconciler.events import Event, OrderUpdate
from reconciler.plugin import BaseProtocol, FrameError, VenuePlugin, VenueProtocol


class _ToyProtocol(BaseProtocol):
    """'id status filled qty' per frame: the smallest possible venue."""

    def parse(self, frame: str | bytes) -> list[Event]:
        text = frame.decode() if isinstance(frame, bytes) else frame
        parts = text.split()
        if len(parts) != 4:
            raise FrameError("expected 4 fields")
        order_id, raw, filled, qty = parts
        status = _TOY_TABLE.get(raw, Status.UNKNOWN)
        return [
            OrderUpdate(
                order_id=order_id,
                status=status,
                raw_status=raw,
                filled=Decimal(filled),
                quantity=Decimal(qty),
            )
        ]


_TOY_TABLE: Mapping[str, Status] = {"open": Status.ACCEPTED, "done": Status.FILLED}


class _ToyPlugin(VenuePlugin):
    name = "toy"
    status_table = _TOY_TABLE

    def protocol(self, account: str) -> VenueProtocol:
        return _ToyProtocol()


def test_the_four_venues_are_discovered_through_entry_points() -> None:
    """load_plugins finds tread, btse, bybit and clearstreet in the entry-point group."""
    plugins = load_plugins()
    assert {"tread", "btse", "bybit", "clearstreet"} <= set(plugins)
    assert Reconciler().venues == tuple(sorted(plugins))


def test_a_third_party_plugin_gets_every_core_check() -> None:
    """A plugin written only against the public API is reconciled like ours."""
    rec = Reconciler({"toy": _ToyPlugin()})
    assert rec.feed("toy", "a", "o1 open 5 10", BASE_T) == []
    alerts = rec.feed("toy", "a", "o1 open 3 10", BASE_T + 1)
    assert [a.code for a in alerts] == [AlertCode.FILL_REGRESSION]
    assert [a.code for a in rec.feed("toy", "a", "garbage", BASE_T + 2)] == [
        AlertCode.MALFORMED_MESSAGE
    ]


def test_a_crashing_parser_is_contained() -> None:
    """An exception a plugin's parser lets escape becomes MALFORMED_MESSAGE."""

    class Broken(BaseProtocol):
        def parse(self, frame: str | bytes) -> list[Event]:
            raise RuntimeError("bug")

    class BrokenPlugin(_ToyPlugin):
        def protocol(self, account: str) -> VenueProtocol:
            return Broken()

    class WorseProtocol:
        def receive(self, frame: str | bytes) -> list[Event]:
            raise RuntimeError("bug")

    class WorsePlugin(_ToyPlugin):
        def protocol(self, account: str) -> VenueProtocol:
            return WorseProtocol()

    for plugin in (BrokenPlugin(), WorsePlugin()):
        alerts = Reconciler({"toy": plugin}).feed("toy", "a", "x", BASE_T)
        assert [a.code for a in alerts] == [AlertCode.MALFORMED_MESSAGE]


def test_unknown_venue_is_a_caller_error() -> None:
    """Feeding a venue without a plugin raises UnknownVenueError naming it."""
    with pytest.raises(UnknownVenueError, match="nowhere"):
        Reconciler().feed("nowhere", "a", "{}", BASE_T)


def test_order_state_and_history_are_queryable() -> None:
    """order() shows the applied state; history() lists every report, applied or not."""
    run = Run()
    run.feed("btse", btse_frame(btse_item("o1", status=2, ts=1000)))
    run.feed("btse", btse_frame(btse_item("o1", status=5, total=300, filled=300, ts=2000)))
    run.feed("btse", btse_frame(btse_item("o1", status=5, total=300, filled=300, ts=2000)))
    state = run.rec.order("btse", "o1")
    assert state is not None
    assert (state.status, state.raw_status, state.filled, state.remaining) == (
        Status.PARTIALLY_FILLED,
        "5",
        Decimal(300),
        Decimal(600),
    )
    kinds = [(h.kind, h.applied) for h in run.rec.history("btse", "o1")]
    assert kinds == [("update", True), ("update", True), ("duplicate", False)]
    assert run.rec.stats()["duplicates.order"] == 1
    assert run.rec.order("btse", "nope") is None
    assert run.rec.history("btse", "nope") == []


def test_open_orders_listing() -> None:
    """orders(open_only=True) lists only orders not yet terminal."""
    run = Run()
    run.feed("btse", btse_frame(btse_item("a", status=2), btse_item("b", status=6)))
    assert [o.order_id for o in run.rec.orders(open_only=True)] == ["a"]
    assert {o.order_id for o in run.rec.orders()} == {"a", "b"}


def test_time_never_moves_backwards() -> None:
    """An earlier t does not rewind the clock; next_check_due reports pending checks."""
    rec = Reconciler()
    rec.feed("btse", "main", btse_frame(btse_item("o1", status=2)), BASE_T)
    rec.feed(
        "btse", "main", btse_frame(btse_item("o1", status=4, total=900, filled=300)), BASE_T + 1
    )
    assert rec.next_check_due() == BASE_T + 6  # the unexplained fill's settle window
    assert rec.advance(BASE_T - 100) == []
    assert rec.now == BASE_T + 1
    assert [a.code for a in rec.advance(BASE_T + 6)] == [AlertCode.FILL_GAP]


def test_the_hosts_decimal_context_is_left_alone() -> None:
    """The core computes exactly even if the host lowered its precision, and restores it."""
    with decimal.localcontext() as ctx:
        ctx.prec = 3
        run = Run()
        run.feed("btse", btse_frame(btse_item("o1", status=2, size=123456789)))
        run.feed(
            "btse",
            btse_frame(
                btse_item(
                    "o1",
                    status=5,
                    size=123456789,
                    total=123456788,
                    filled=123456788,
                    ts=1_752_147_102_000,
                )
            ),
        )
        assert run.serious() == []
        assert decimal.getcontext().prec == 3


def test_normalized_events_can_be_fed_without_a_plugin_frame() -> None:
    """feed_events applies already-normalized events with every check, for any venue name."""
    rec = Reconciler({"toy": _ToyPlugin()})
    first = OrderUpdate(
        order_id="o1",
        status=Status.ACCEPTED,
        raw_status="open",
        filled=Decimal(5),
        quantity=Decimal(10),
    )
    again = OrderUpdate(
        order_id="o1",
        status=Status.ACCEPTED,
        raw_status="open",
        filled=Decimal(2),
        quantity=Decimal(10),
    )
    assert rec.feed_events("toy", "a", [first], BASE_T) == []
    alerts = rec.feed_events("toy", "a", [again], BASE_T + 1)
    assert [(a.code, a.order_id, a.evidence["new_filled"]) for a in alerts] == [
        (AlertCode.FILL_REGRESSION, "o1", "2")
    ]
