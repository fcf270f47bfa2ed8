"""The compact order record keeps every behaviour of the roomy one.

Records allocate containers only when needed, share identical numbers and strings,
keep early report digests in a tuple and get no retirement timer while open
(docs/performance.md, memory). None of that may change what the core decides.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from builders import BASE_T, Run, btse_frame, btse_item, bybit_exec, bybit_frame

from reconciler import AlertCode, CoreConfig, Reconciler
from reconciler._model import OrderRecord

RETENTION = 60.0


def _record(run: Run, venue: str, order_id: str) -> OrderRecord:
    return run.rec._st.orders[(venue, order_id)]


def test_a_number_restated_with_another_exponent_is_kept_as_restated() -> None:
    """Sharing identical numbers never swaps 900 for 900.0: the exponent is kept."""
    run = Run()
    run.feed("btse", btse_frame(btse_item("B1", size=900, ts=1)))
    run.feed("btse", btse_frame(btse_item("B1", currentOrderSize="900.0", ts=2)))
    state = run.rec.order("btse", "B1")
    assert state is not None
    assert str(state.quantity) == "900.0"
    assert run.serious() == []


def test_an_unchanged_quantity_is_one_object_in_the_record_and_its_history() -> None:
    """A quantity restated unchanged is held once, by the record and every history entry."""
    run = Run()
    run.feed("btse", btse_frame(btse_item("B1", size=900, ts=1)))
    run.feed("btse", btse_frame(btse_item("B1", status=5, total=100, filled=100, ts=2)))
    rec = _record(run, "btse", "B1")
    assert rec.history is not None
    held = {id(h.quantity) for h in rec.history} | {id(rec.quantity), id(rec.original_quantity)}
    assert len(held) == 1


def test_an_open_order_has_no_empty_containers() -> None:
    """An acknowledged order holds no set, deque or dict it has not needed yet."""
    run = Run()
    run.feed("btse", btse_frame(btse_item("B1", ts=1)))
    rec = _record(run, "btse", "B1")
    assert rec.alert_ids is None
    assert rec.flags is None
    assert rec.fill_ids is None
    assert rec.cum_reqs is None
    assert rec.exec_reqs is None
    assert rec.gap_ranges is None
    assert rec.gap_alerted is None
    assert rec.seen == ()


def test_an_open_reported_order_gets_no_retirement_timer() -> None:
    """Only a terminal report schedules retirement; an open order schedules nothing."""
    core = Reconciler(config=CoreConfig(retention=RETENTION))
    core.feed("btse", "main", btse_frame(btse_item("B1", tif="GTC", ts=1)), BASE_T)
    assert core.next_check_due() is None


def test_an_order_heard_of_only_through_executions_still_retires() -> None:
    """A record created by an execution alone is forgotten after the retention period."""
    core = Reconciler(config=CoreConfig(retention=RETENTION))
    core.feed("bybit", "main", bybit_frame("execution", bybit_exec("E1", "GHOST", qty=5)), BASE_T)
    core.advance(BASE_T + 10 * RETENTION)
    assert core.order("bybit", "GHOST") is None


def test_a_terminal_order_retires_after_the_retention_period() -> None:
    """The timer a terminal report schedules still retires the order."""
    core = Reconciler(config=CoreConfig(retention=RETENTION))
    core.feed("btse", "main", btse_frame(btse_item("B1", ts=1)), BASE_T)
    core.feed("btse", "main", btse_frame(btse_item("B1", status=6, ts=2)), BASE_T + 1)
    core.advance(BASE_T + 2 + RETENTION)
    assert core.order("btse", "B1") is None


def test_a_record_left_unreported_by_a_failing_rule_still_retires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If a rule fails before a new record is reported, the record keeps its timer."""
    from reconciler import _orders  # noqa: PLC0415 - patched for this test only

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("rule bug")

    monkeypatch.setattr(_orders, "_apply_report", broken)
    core = Reconciler(config=CoreConfig(retention=RETENTION))
    alerts = core.feed("btse", "main", btse_frame(btse_item("B1", ts=1)), BASE_T)
    assert [a.code for a in alerts] == [AlertCode.MALFORMED_MESSAGE]
    assert core.next_check_due() == BASE_T + RETENTION


def test_an_old_report_resent_after_many_others_is_still_a_duplicate() -> None:
    """Digests move from a tuple to a set past eight; a re-send is recognised either way."""
    run = Run()
    items = [btse_item("B1", status=5, total=10 * i, filled=10, ts=100 + i) for i in range(1, 13)]
    for item in items:
        run.feed("btse", btse_frame(item))
    rec = _record(run, "btse", "B1")
    assert isinstance(rec.seen, set)
    run.feed("btse", btse_frame(items[1]))
    run.feed("btse", btse_frame(items[9]))
    assert run.serious() == []
    assert run.rec.stats()["duplicates.order"] == 2


def test_history_keeps_the_newest_entries_up_to_max_history() -> None:
    """History is a list trimmed to ``max_history``, newest last."""
    core = Reconciler(config=CoreConfig(max_history=3))
    for i in range(1, 6):
        item = btse_item("B1", status=5, total=10 * i, filled=10, ts=100 + i)
        core.feed("btse", "main", btse_frame(item), BASE_T + i)
    history = core.history("btse", "B1")
    assert [h.filled for h in history] == [Decimal(30), Decimal(40), Decimal(50)]


def test_checks_of_retired_orders_are_dropped_in_bulk() -> None:
    """Day orders canceled and retired leave no STALE checks queued for a day: once
    checks of retired orders are half the queue, the queue drops them."""
    core = Reconciler(config=CoreConfig(retention=RETENTION))
    count = 3000
    for i in range(count):
        frame = btse_frame(btse_item(f"D{i}", tif="DAY", ts=1_000 + i))
        core.feed("btse", "main", frame, BASE_T + i * 0.001)
    assert core.stats()["orders.tracked"] == count
    for i in range(count):
        frame = btse_frame(btse_item(f"D{i}", status=6, tif="DAY", ts=10_000 + i))
        core.feed("btse", "main", frame, BASE_T + 10 + i * 0.001)
    core.advance(BASE_T + 20 + RETENTION)
    stats = core.stats()
    assert stats["orders.retired"] == count
    assert stats["timers.dropped"] == count
    assert stats["timers.pending"] == 0
