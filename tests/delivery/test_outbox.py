"""The SQLite outbox: its tables in the journal, idempotent rows, the dead-letter view,
pruning, and that nothing is sent before the journal commits."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import msgspec
import trio
from delivery.httpkit import Server, WebhookReceiver
from delivery.kit import SECRET, alert, make_delivery, now, webhook

from reconciler._sqlite_journal import SqliteJournal
from reconciler._sqlite_outbox import SqliteOutbox
from reconciler.alerts import Severity
from reconciler.journal import Journal, open_journal
from reconciler.outbox import Outbox


def _outbox(journal: Journal) -> Outbox:
    found = getattr(journal, "outbox", None)
    assert isinstance(found, Outbox)
    return found


def _add(outbox: Outbox, sink: str, item_id: str, t: float = 1.0) -> int | None:
    return outbox.add(
        sink=sink,
        item_id=item_id,
        kind="alert",
        state="pending",
        severity=Severity.WARNING,
        body=msgspec.json.encode(alert(1)),
        now=t,
    )


def test_the_journal_has_an_outbox(journal: Journal) -> None:
    """open_journal gives a journal whose outbox satisfies the Outbox protocol (the
    annotated assignment makes mypy check every method's signature too)."""
    assert isinstance(journal, SqliteJournal)
    outbox: Outbox = SqliteOutbox(journal)
    assert isinstance(outbox, Outbox)
    assert isinstance(_outbox(journal), SqliteOutbox)


def test_a_row_per_item_and_sink_added_once(journal: Journal) -> None:
    """(sink, item) is unique: adding it again keeps the first row; other sinks get theirs."""
    outbox = _outbox(journal)
    first = _add(outbox, "a", "x")
    assert first is not None
    assert _add(outbox, "a", "x") is None
    assert _add(outbox, "b", "x") is not None
    assert outbox.counts(("pending",)) == {("a", "pending"): 1, ("b", "pending"): 1}


def test_due_rows_wait_for_their_retry_time(journal: Journal) -> None:
    """A row in backoff is not due before its next attempt time."""
    outbox = _outbox(journal)
    seq = _add(outbox, "a", "x")
    assert seq is not None
    outbox.mark_retry(seq, attempts=1, next_attempt=50.0, error="HTTP 500", now=2.0)
    assert outbox.due("a", now=49.0, upto=seq, limit=10) == []
    (row,) = outbox.due("a", now=50.0, upto=seq, limit=10)
    assert (row.attempts, row.last_error) == (1, "HTTP 500")
    assert outbox.next_attempt_at("a", upto=seq) == 50.0


def test_dead_letters_are_a_view_for_people_and_tools(tmp_path: Path) -> None:
    """A dead row shows in outbox_dead_letters, readable with plain sqlite3."""
    journal = open_journal(tmp_path / "j.db")
    outbox = _outbox(journal)
    seq = _add(outbox, "a", "x")
    assert seq is not None
    outbox.mark_dead(seq, attempts=10, error="HTTP 500: oops", now=3.0)
    journal.close()
    with sqlite3.connect(tmp_path / "j.db") as db:
        rows = db.execute(
            "SELECT sink, item_id, attempts, last_error FROM outbox_dead_letters"
        ).fetchall()
    assert rows == [("a", "x", 10, "HTTP 500: oops")]


def test_prune_deletes_only_old_finished_rows(journal: Journal) -> None:
    """Delivered rows older than the cut go; pending and dead rows stay."""
    outbox = _outbox(journal)
    seqs = [_add(outbox, "a", str(i)) for i in range(3)]
    assert all(s is not None for s in seqs)
    outbox.mark_delivered([seqs[0] or 0], now=5.0)
    outbox.mark_dead(seqs[1] or 0, attempts=1, error="no", now=5.0)
    assert outbox.prune(6.0) == 1
    assert outbox.counts(("pending", "dead", "delivered")) == {
        ("a", "pending"): 1,
        ("a", "dead"): 1,
    }


def test_committed_seq_does_not_count_rows_of_the_open_transaction(journal: Journal) -> None:
    """Rows in the open transaction are not known durable until the commit."""
    outbox = _outbox(journal)
    assert outbox.committed_seq() == 0
    seq = _add(outbox, "a", "x")
    assert outbox.committed_seq() == 0
    journal.commit()
    assert outbox.committed_seq() == seq
    _add(outbox, "a", "y")
    assert outbox.committed_seq() == seq


async def test_nothing_is_sent_before_the_journal_commits(
    journal: Journal, autojump_clock: trio.abc.Clock
) -> None:
    """An enqueued alert waits for the engine's commit (and wake) before it is sent."""
    receiver = WebhookReceiver(SECRET, now)
    server = Server(receiver)
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        env = {"HOOK_URL": server.url, "HOOK_SECRET": SECRET}
        delivery = make_delivery(journal, {"hook": webhook()}, environ=env)
        nursery.start_soon(delivery.run)
        a = alert(1)
        assert journal.append_alert(a)
        delivery.enqueue(a)
        delivery.wake()  # woken too early: still nothing committed
        await trio.sleep(30)
        assert server.requests == []
        journal.commit()
        delivery.wake()
        await server.wait_for(1)
        nursery.cancel_scope.cancel()
    assert list(receiver.deliveries) == [a.id]


async def test_stats_still_answer_after_the_journal_closed(tmp_path: Path) -> None:
    """An engine's stats() after shutdown gets the last counts, not an exception."""
    journal = open_journal(tmp_path / "j.db")
    delivery = make_delivery(journal, {"hook": webhook()}, environ=_ENV)
    a = alert(1)
    journal.append_alert(a)
    delivery.enqueue(a)
    journal.commit()
    assert delivery.stats()["sinks.hook.pending"] == 1
    journal.close()
    assert delivery.stats()["sinks.hook.pending"] == 1


_ENV = {"HOOK_URL": "http://127.0.0.1:9/hook", "HOOK_SECRET": SECRET}
