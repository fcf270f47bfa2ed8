"""Expectations registered by the execution system, matched to what each venue reports.

An expectation names venue, account and the client order id the venue echoes back:
Tread.fi ``custom_order_id``, BTSE ``clOrderID``, Bybit ``order_link_id``, Clear Street
``reference_id``. That drives UNACKNOWLEDGED_ORDER (never reported within the ack
timeout), EXPECTATION_MISMATCH (reported with another symbol, side, quantity or limit
price) and UNKNOWN_ORDER (an order nobody registered, on a strict account).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from builders import (
    Run,
    btse_frame,
    btse_item,
    bybit_frame,
    bybit_order,
    cs_frame,
    cs_order,
    one,
    tread_frame,
    tread_order,
    tread_parent,
)

from reconciler import AlertCode, CoreConfig, Expectation, Reconciler, Severity

SETTLE = 5.0
ACK = 5.0


@dataclass(frozen=True)
class Spec:
    """One venue's order as the execution system sent it, and its venue report."""

    venue: str
    symbol: str
    quantity: Decimal
    price: Decimal

    def frame(
        self,
        order_id: str,
        client_id: str,
        *,
        symbol: str | None = None,
        side: str = "buy",
        quantity: Decimal | None = None,
        price: Decimal | None = None,
    ) -> str:
        """The venue's first report of the order, carrying ``client_id``."""
        sym = symbol or self.symbol
        qty = quantity if quantity is not None else self.quantity
        px = str(price if price is not None else self.price)
        if self.venue == "tread":
            order = tread_order(
                order_id,
                custom_order_id=client_id,
                pair=sym,
                side=side,
                target=str(qty),
                limit_price=px,
            )
            return tread_frame(order, "order_activated")
        if self.venue == "btse":
            item = btse_item(
                order_id, cl=client_id, symbol=sym, side=side.upper(), size=int(qty), price=px
            )
            return btse_frame(item)
        if self.venue == "bybit":
            item = bybit_order(
                order_id,
                link=client_id,
                symbol=sym,
                side=side.capitalize(),
                qty=int(qty),
                price=px,
            )
            return bybit_frame("order", item)
        data = cs_order(
            order_id,
            version=1,
            reference_id=client_id,
            symbol=sym,
            side=side,
            quantity=str(qty),
            price=px,
        )
        return cs_frame("order-update", data, seq=1)

    def expectation(
        self,
        client_id: str,
        *,
        account: str = "main",
        symbol: str | None = None,
        side: str = "buy",
        quantity: Decimal | None = None,
        price: Decimal | None = None,
    ) -> Expectation:
        """What the execution system registers for the order it sent."""
        return Expectation(
            venue=self.venue,
            account=account,
            client_order_id=client_id,
            symbol=symbol or self.symbol,
            side=side,
            quantity=quantity if quantity is not None else self.quantity,
            price=price if price is not None else self.price,
        )


SPECS = {
    "tread": Spec("tread", "BTC:PERP-USDT", Decimal("0.5"), Decimal(118000)),
    "btse": Spec("btse", "BTC-PERP", Decimal(900), Decimal("111085.1")),
    "bybit": Spec("bybit", "BTCUSD", Decimal(100), Decimal(30000)),
    "clearstreet": Spec("clearstreet", "AAPL", Decimal(100), Decimal("171.25")),
}


@pytest.fixture(params=list(SPECS))
def spec(request: pytest.FixtureRequest) -> Spec:
    return SPECS[str(request.param)]


def expect(run: Run, exp: Expectation, dt: float = 1.0) -> None:
    """Register ``exp`` ``dt`` seconds after the previous event."""
    run.t += dt
    run.alerts.extend(run.rec.expect(exp, run.t))


def strict(*accounts: str) -> Run:
    return Run(Reconciler(config=CoreConfig(strict_accounts=accounts)))


# -- UNACKNOWLEDGED_ORDER ----------------------------------------------------------------


def test_expected_order_never_reported_is_unacknowledged(spec: Spec) -> None:
    """The venue never reports the order: critical, named by its client order id."""
    run = Run()
    expect(run, spec.expectation("cid-1"))
    sent_t = run.t
    run.wait(30)
    alert = one(run, AlertCode.UNACKNOWLEDGED_ORDER)
    assert alert.severity is Severity.CRITICAL
    assert (alert.venue, alert.account, alert.order_id) == (spec.venue, "main", "cid-1")
    assert alert.t == sent_t + ACK
    assert alert.evidence["client_order_id"] == "cid-1"
    assert alert.evidence["symbol"] == spec.symbol
    assert alert.evidence["side"] == "buy"
    assert Decimal(alert.evidence["quantity"]) == spec.quantity


def test_unacknowledged_waits_for_the_ack_timeout(spec: Spec) -> None:
    """Nothing before the ack timeout has passed."""
    run = Run()
    expect(run, spec.expectation("cid-1"))
    assert run.wait(ACK - 0.1) == []
    assert [a.code for a in run.wait(0.2)] == [AlertCode.UNACKNOWLEDGED_ORDER]


def test_order_reported_within_the_ack_timeout_is_silent(spec: Spec) -> None:
    """The venue reports the order 4 s after it was sent, carrying the client id."""
    run = Run()
    expect(run, spec.expectation("cid-1"))
    run.feed(spec.venue, spec.frame("V1", "cid-1"), dt=ACK - 1)
    run.wait(30)
    assert run.alerts == []
    state = run.rec.order(spec.venue, "V1")
    assert state is not None
    assert state.expected
    assert state.client_order_id == "cid-1"


def test_report_with_another_client_id_does_not_acknowledge(spec: Spec) -> None:
    """An order with client id cid-2 is not the expected cid-1."""
    run = Run()
    expect(run, spec.expectation("cid-1"))
    run.feed(spec.venue, spec.frame("V1", "cid-2"))
    run.wait(30)
    assert one(run, AlertCode.UNACKNOWLEDGED_ORDER).order_id == "cid-1"


def test_report_on_another_account_does_not_acknowledge() -> None:
    """Expectations are per account: the same client id on another account is not it."""
    spec = SPECS["btse"]
    run = Run()
    expect(run, spec.expectation("cid-1", account="main"))
    run.feed("btse", spec.frame("V1", "cid-1"), account="other")
    run.wait(30)
    alert = one(run, AlertCode.UNACKNOWLEDGED_ORDER)
    assert (alert.account, alert.order_id) == ("main", "cid-1")


def test_ack_timeout_is_configurable() -> None:
    """CoreConfig.ack_timeout sets how long the venue has to report the order."""
    run = Run(Reconciler(config=CoreConfig(ack_timeout=2.0)))
    expect(run, SPECS["bybit"].expectation("cid-1"))
    sent_t = run.t
    run.wait(30)
    assert one(run, AlertCode.UNACKNOWLEDGED_ORDER).t == sent_t + 2.0


def test_late_report_after_unacknowledged_is_matched_without_a_second_alert() -> None:
    """The report arriving after the alert is still matched, and not alerted again."""
    spec = SPECS["clearstreet"]
    run = Run()
    expect(run, spec.expectation("cid-1"))
    run.wait(10)
    run.feed(spec.venue, spec.frame("V1", "cid-1"))
    run.wait(30)
    assert [a.code for a in run.alerts] == [AlertCode.UNACKNOWLEDGED_ORDER]
    state = run.rec.order(spec.venue, "V1")
    assert state is not None
    assert state.expected


# -- EXPECTATION_MISMATCH ----------------------------------------------------------------


@pytest.mark.parametrize("field", ["symbol", "side", "quantity", "price"])
def test_reported_order_differs_from_what_was_sent(spec: Spec, field: str) -> None:
    """One field differs between expectation and report: that field is the evidence."""
    exp = {
        "symbol": spec.expectation("cid-1", symbol="OTHER-SYMBOL"),
        "side": spec.expectation("cid-1", side="sell"),
        "quantity": spec.expectation("cid-1", quantity=spec.quantity * 2),
        "price": spec.expectation("cid-1", price=spec.price + 1),
    }[field]
    sent = {
        "symbol": exp.symbol,
        "side": exp.side,
        "quantity": str(exp.quantity),
        "price": str(exp.price),
    }
    reported = {
        "symbol": spec.symbol,
        "side": "buy",
        "quantity": str(spec.quantity),
        "price": str(spec.price),
    }
    run = Run()
    expect(run, exp)
    run.feed(spec.venue, spec.frame("V1", "cid-1"))
    alert = one(run, AlertCode.EXPECTATION_MISMATCH)
    assert alert.severity is Severity.CRITICAL
    assert (alert.venue, alert.order_id) == (spec.venue, "V1")
    assert alert.t == run.t
    assert alert.evidence["client_order_id"] == "cid-1"
    if field in ("quantity", "price"):
        assert Decimal(alert.evidence[f"expected_{field}"]) == Decimal(sent[field])
        assert Decimal(alert.evidence[f"reported_{field}"]) == Decimal(reported[field])
    else:
        assert alert.evidence[f"expected_{field}"] == sent[field]
        assert alert.evidence[f"reported_{field}"].lower() == reported[field].lower()
    assert {k for k in alert.evidence if k.startswith("expected_")} == {f"expected_{field}"}
    run.wait(30)
    assert run.of(AlertCode.UNACKNOWLEDGED_ORDER) == []


def test_expectation_registered_after_the_report_is_still_compared(spec: Spec) -> None:
    """The venue was faster than the execution system: compared on registration."""
    run = Run()
    run.feed(spec.venue, spec.frame("V1", "cid-1"))
    expect(run, spec.expectation("cid-1", quantity=spec.quantity * 2))
    alert = one(run, AlertCode.EXPECTATION_MISMATCH)
    assert alert.order_id == "V1"
    assert alert.t == run.t
    run.wait(30)
    assert run.of(AlertCode.UNACKNOWLEDGED_ORDER) == []


def test_matching_report_is_silent(spec: Spec) -> None:
    """Symbol, side, quantity and limit price all as sent."""
    run = Run()
    expect(run, spec.expectation("cid-1"))
    run.feed(spec.venue, spec.frame("V1", "cid-1"))
    run.wait(30)
    assert run.alerts == []


def test_price_and_quantity_compare_by_value_not_by_text() -> None:
    """171.250 sent, 171.25 reported; 100.0 sent, "100" reported: the same order."""
    spec = SPECS["clearstreet"]
    run = Run()
    expect(run, spec.expectation("cid-1", price=Decimal("171.250"), quantity=Decimal("100.0")))
    run.feed(spec.venue, spec.frame("V1", "cid-1"))
    run.wait(30)
    assert run.alerts == []


def test_clearstreet_sell_short_matches_an_expected_sell() -> None:
    """Clear Street reports a short sale as side sell-short; it was sent as a sell."""
    spec = SPECS["clearstreet"]
    run = Run()
    expect(run, spec.expectation("cid-1", side="sell"))
    run.feed(spec.venue, spec.frame("V1", "cid-1", side="sell-short"))
    run.wait(30)
    assert run.alerts == []


# -- UNKNOWN_ORDER -----------------------------------------------------------------------


def test_unregistered_order_on_a_strict_account_is_unknown(spec: Spec) -> None:
    """Nobody registered this order, and the account requires it."""
    run = strict(f"{spec.venue}:main")
    run.feed(spec.venue, spec.frame("V1", "cid-9"))
    reported_t = run.t
    run.wait(30)
    alert = one(run, AlertCode.UNKNOWN_ORDER)
    assert alert.severity is Severity.WARNING
    assert (alert.venue, alert.account, alert.order_id) == (spec.venue, "main", "V1")
    assert alert.t == reported_t + SETTLE
    assert alert.evidence["client_order_id"] == "cid-9"
    assert alert.evidence["symbol"] == spec.symbol


def test_unknown_order_waits_for_the_settle_window(spec: Spec) -> None:
    """The expectation may still be on its way: nothing before the window has passed."""
    run = strict(f"{spec.venue}:main")
    run.feed(spec.venue, spec.frame("V1", "cid-9"))
    assert run.wait(SETTLE - 0.1) == []
    assert [a.code for a in run.wait(0.2)] == [AlertCode.UNKNOWN_ORDER]


def test_expectation_registered_late_within_the_window_is_silent(spec: Spec) -> None:
    """The venue reports first; the execution system registers 3 s later."""
    run = strict(f"{spec.venue}:main")
    run.feed(spec.venue, spec.frame("V1", "cid-1"))
    expect(run, spec.expectation("cid-1"), dt=3)
    run.wait(30)
    assert run.alerts == []


def test_unregistered_order_on_a_non_strict_account_is_silent(spec: Spec) -> None:
    """Only the configured accounts are strict."""
    run = strict(f"{spec.venue}:other")
    run.feed(spec.venue, spec.frame("V1", "cid-9"))
    run.wait(30)
    assert run.alerts == []


def test_late_report_of_an_expected_order_is_not_unknown() -> None:
    """On a strict account, an expected order reported after its ack timeout is known."""
    spec = SPECS["btse"]
    run = strict("btse:main")
    expect(run, spec.expectation("cid-1"))
    run.wait(10)
    run.feed(spec.venue, spec.frame("V1", "cid-1"))
    run.wait(30)
    assert [a.code for a in run.alerts] == [AlertCode.UNACKNOWLEDGED_ORDER]


def test_wildcard_makes_every_account_of_a_venue_strict() -> None:
    """The wildcard "bybit:*" covers every Bybit account, and no other venue."""
    run = strict("bybit:*")
    run.feed("bybit", SPECS["bybit"].frame("V1", "cid-9"), account="sub-7")
    run.feed("btse", SPECS["btse"].frame("V2", "cid-8"), account="sub-7")
    run.wait(30)
    alert = one(run, AlertCode.UNKNOWN_ORDER)
    assert (alert.venue, alert.account, alert.order_id) == ("bybit", "sub-7", "V1")


def test_children_of_a_multi_order_are_not_unknown_orders() -> None:
    """Tread.fi children are spawned by the venue's algorithm, not sent by anyone."""
    children = [
        tread_order("c1", parent="P", executed="0.06"),
        tread_order("c2", parent="P", side="sell", pair="BTC-USDT", executed="0.1"),
    ]
    run = strict("tread:main")
    run.feed("tread", tread_parent("P", children))
    run.feed("tread", tread_frame(tread_order("c1", parent="P", executed="0.2")))
    run.wait(30)
    flagged = {a.order_id for a in run.of(AlertCode.UNKNOWN_ORDER)}
    assert not flagged & {"c1", "c2"}
