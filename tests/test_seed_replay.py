"""Every example payload in the venue documents decodes, and replayed in the order the
documents show them, produces no warning or critical alert."""

from __future__ import annotations

from pathlib import Path

import pytest
from builders import Run

FIXTURES = Path(__file__).parent / "fixtures"

# The order in which each venue's page shows its received messages.
SEED_ORDER: dict[str, list[str]] = {
    "tread": [
        "single_order_fill_received.json",
        "multi_order_activated.json",
        "multi_order_child_fill_received.json",
    ],
    "btse": ["subscribe_ack.json", "notification_fully_matched.json"],
    "bybit": [
        "ping_reply.json",
        "subscribe_reply.json",
        "orderbook25_snapshot.json",
        "orderbook25_delta.json",
        "orderbook200_snapshot.json",
        "orderbook200_delta.json",
        "trade.json",
        "insurance.json",
        "instrument_info_snapshot.json",
        "instrument_info_delta.json",
        "kline_v2.json",
        "position.json",
        "execution.json",
        "order.json",
        "stop_order.json",
    ],
    "clearstreet": [
        "seed_subscribe_activity_ack.json",
        "seed_replay_complete.json",
        "seed_order_update.json",
        "seed_trade_notice.json",
        "seed_position_update.json",
        "seed_buying_power_update.json",
        "seed_locate_inventory_update.json",
    ],
}


@pytest.mark.parametrize("venue", sorted(SEED_ORDER))
def test_seed_examples_replay_without_warnings(venue: str) -> None:
    """The venue page's examples, in order and then past every settle window: no alert
    above info, and nothing malformed."""
    run = Run()
    for name in SEED_ORDER[venue]:
        run.feed(venue, (FIXTURES / venue / name).read_text())
    run.wait(10)  # past every settle window, before the seeds' orders are due to end
    assert run.serious() == []
    assert run.rec.stats().get("malformed", 0) == 0


def test_seed_examples_replay_twice_without_new_alerts() -> None:
    """Re-sending every seed example (a venue's replay) adds no alert at all."""
    run = Run()
    for _ in range(2):
        for venue, names in SEED_ORDER.items():
            for name in names:
                run.feed(venue, (FIXTURES / venue / name).read_text())
    run.wait(10)  # past every settle window, before the seeds' orders are due to end
    assert run.alerts == []


def test_seed_orders_are_modelled() -> None:
    """The seeds' orders are tracked with their exact quantities."""
    run = Run()
    for venue, names in SEED_ORDER.items():
        for name in names:
            run.feed(venue, (FIXTURES / venue / name).read_text())
    btse = run.rec.order("btse", "45e8bb8d-d708-4a90-a428-c61583f90efe")
    tread_child = run.rec.order("tread", "f0a78f07-f52c-4a7f-aa32-5b80fa0ff78e")
    bybit = run.rec.order("bybit", "xxxxxxxx-xxxx-xxxx-9a8f-4a973eb5c418")
    assert btse is not None
    assert (str(btse.filled), btse.terminal) == ("900", True)
    assert tread_child is not None
    assert str(tread_child.filled) == "0.123336"
    assert bybit is not None
    assert (bybit.executions, str(bybit.executions_filled)) == (1, "1")
