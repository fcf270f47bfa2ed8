"""Background checkpoints: the engine's journal never checkpoints inside a commit.

SQLite's automatic checkpoint runs inside a commit and syncs the file, a stall of
several ms on the core's thread (docs/performance.md, latency). Opened with
``background_checkpoints``, the journal leaves that to :meth:`checkpoint`, which the
engine runs in a worker thread on a connection of its own.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
import trio

from reconciler import engine as engine_module
from reconciler._sqlite_journal import SqliteJournal
from reconciler.journal import open_journal

FRAME = "x" * 1000


def _autocheckpoint(journal: object) -> int:
    db = journal._db  # type: ignore[attr-defined]
    return int(db.execute("PRAGMA wal_autocheckpoint").fetchone()[0])


def test_background_checkpoints_turn_the_automatic_checkpoint_off(tmp_path: Path) -> None:
    """With background_checkpoints the writer never checkpoints; without, SQLite does."""
    with SqliteJournal(tmp_path / "bg.db", background_checkpoints=True) as journal:
        assert _autocheckpoint(journal) == 0
    with SqliteJournal(tmp_path / "plain.db") as journal:
        assert _autocheckpoint(journal) > 0


def test_a_checkpoint_is_due_after_about_two_megabytes(tmp_path: Path) -> None:
    """checkpoint_due turns true once ~2 MB were appended, and false after a checkpoint."""
    with SqliteJournal(tmp_path / "j.db", background_checkpoints=True) as journal:
        assert not journal.checkpoint_due()
        for i in range(2100):
            journal.append_frame(float(i), "btse", "main", 1, FRAME)
        journal.commit()
        assert journal.checkpoint_due()
        log_pages, copied = journal.checkpoint()
        assert log_pages > 0
        assert copied == log_pages
        assert not journal.checkpoint_due()


def test_a_checkpoint_in_another_thread_loses_nothing_the_writer_appends(
    tmp_path: Path,
) -> None:
    """Checkpoints from a second thread while the writer appends and commits: every
    record is there afterwards, in order."""
    path = tmp_path / "j.db"
    stop = threading.Event()
    journal = open_journal(path, background_checkpoints=True)

    def checkpoints() -> None:
        while not stop.is_set():
            journal.checkpoint()

    worker = threading.Thread(target=checkpoints)
    worker.start()
    try:
        for i in range(3000):
            journal.append_frame(float(i), "btse", "main", 1, f"{i}:{FRAME}")
            if i % 50 == 49:
                journal.commit()
    finally:
        stop.set()
        worker.join()
        journal.close()
    db = sqlite3.connect(path)
    rows = db.execute("SELECT payload FROM records ORDER BY seq").fetchall()
    db.close()
    assert [int(str(r[0]).split(":")[0]) for r in rows] == list(range(3000))


def test_checkpoint_after_close_does_nothing(tmp_path: Path) -> None:
    """A checkpoint racing with close finds the journal closed and returns (0, 0)."""
    journal = open_journal(tmp_path / "j.db", background_checkpoints=True)
    journal.close()
    assert journal.checkpoint() == (0, 0)


async def test_the_engine_checkpoints_only_when_one_is_due(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The engine's checkpointer runs a checkpoint in a worker thread only when due.

    Real time, not autojump: the clock would jump while the worker thread runs.
    """
    monkeypatch.setattr(engine_module, "CHECKPOINT_INTERVAL", 0.01)

    class Recorder:
        def __init__(self) -> None:
            self.due = False
            self.calls = 0

        def checkpoint_due(self) -> bool:
            return self.due

        def checkpoint(self) -> tuple[int, int]:
            self.calls += 1
            self.due = False
            return (1, 1)

    recorder = Recorder()

    class Fake:
        journal = recorder

    checkpointer = engine_module.Engine._checkpointer
    async with trio.open_nursery() as nursery:
        nursery.start_soon(checkpointer, Fake())  # type: ignore[arg-type]
        await trio.sleep(0.05)
        assert recorder.calls == 0
        recorder.due = True
        with trio.fail_after(5):
            while recorder.calls == 0:
                await trio.sleep(0.01)
        await trio.sleep(0.05)
        assert recorder.calls == 1
        nursery.cancel_scope.cancel()
