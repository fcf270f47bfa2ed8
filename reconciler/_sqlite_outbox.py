"""The durable alert outbox, in the journal's SQLite database.

Schema (created with the journal, see :mod:`reconciler._sqlite_journal`)::

    outbox(seq PK AUTOINCREMENT, sink, item_id, kind, state, added_as, severity, code,
           venue, fold_key, fold_until, covered_by, body, attempts, next_attempt,
           last_error, created, updated, UNIQUE (sink, item_id))
    outbox_dead_letters                    -- a view: the dead rows, for people and tools

One row per (item, sink) rather than one row per item with a column per sink: sinks
come and go between runs (a renamed sink must not make old rows undeliverable or
invisible), each sink retries on its own schedule, and the worker of one sink reads
only its own rows through the ``(sink, state, seq)`` index. ``seq`` gives each sink
its delivery order; ``AUTOINCREMENT`` keeps it from ever going backwards, even after
pruning. The body is stored in the row (not joined from ``alerts``) so that notices,
which are not alerts, live in the same table and a row is deliverable on its own.
``added_as`` keeps the state a row was added in (so storm control can tell, after a
restart, which alerts were sent one by one and which were folded).

Writes go through the journal's writer, so they join its open transaction: an alert
and its outbox rows become durable in the same commit.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final

from reconciler.alerts import Severity
from reconciler.outbox import OutboxRow, RowState

if TYPE_CHECKING:
    from reconciler._sqlite_journal import SqliteJournal

__all__ = ["OUTBOX_SCHEMA", "SqliteOutbox"]

# Split on ';' by the journal: no statement may contain one.
OUTBOX_SCHEMA: Final = """
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    sink TEXT NOT NULL,
    item_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('alert', 'fold', 'digest', 'digest_on', 'digest_off')),
    state TEXT NOT NULL
        CHECK (state IN ('pending', 'delivered', 'dead', 'folded', 'digest', 'covered')),
    added_as TEXT NOT NULL,
    severity TEXT NOT NULL,
    code TEXT,
    venue TEXT,
    fold_key TEXT,
    fold_until REAL,
    covered_by TEXT,
    body BLOB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL,
    last_error TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    UNIQUE (sink, item_id)
);
CREATE INDEX outbox_work ON outbox (sink, state, seq);
CREATE INDEX outbox_recent ON outbox (sink, created);
CREATE VIEW outbox_dead_letters AS
    SELECT seq, sink, item_id, kind, severity, code, venue, attempts, last_error,
           created, updated, body
    FROM outbox WHERE state = 'dead';
"""

_COLUMNS: Final = (
    "seq, sink, item_id, kind, state, severity, code, venue, body, attempts, next_attempt,"
    " last_error, created, updated, fold_key, fold_until, covered_by"
)
# Rows fetched per round trip when streaming; bounds memory on large digests.
_FETCH: Final = 500
# SQLite's default limit on bound parameters is 999 (older builds); stay well below.
_IN_CHUNK: Final = 500


def _row(r: Any) -> OutboxRow:
    """An :class:`OutboxRow` from a row selected with :data:`_COLUMNS`."""
    return OutboxRow(
        seq=int(r[0]),
        sink=r[1],
        item_id=r[2],
        kind=r[3],
        state=r[4],
        severity=Severity(r[5]),
        code=r[6],
        venue=r[7],
        body=bytes(r[8]),
        attempts=int(r[9]),
        next_attempt=float(r[10]),
        last_error=r[11],
        created=float(r[12]),
        updated=float(r[13]),
        fold_key=r[14],
        fold_until=None if r[15] is None else float(r[15]),
        covered_by=r[16],
    )


class SqliteOutbox:
    """:class:`reconciler.outbox.Outbox` on the tables of :data:`OUTBOX_SCHEMA`."""

    def __init__(self, journal: SqliteJournal) -> None:
        self._journal = journal
        # The last seq seen while no transaction was open (see committed_seq).
        self._durable = 0

    @property
    def _read(self) -> sqlite3.Connection:
        return self._journal._conn

    def _write(self) -> sqlite3.Connection:
        return self._journal._writer()

    # -- adding and delivering ---------------------------------------------------------

    def add(
        self,
        *,
        sink: str,
        item_id: str,
        kind: str,
        state: RowState,
        severity: Severity,
        body: bytes,
        now: float,
        code: str | None = None,
        venue: str | None = None,
        fold_key: str | None = None,
        fold_until: float | None = None,
    ) -> int | None:
        """Add a row unless ``(sink, item_id)`` exists; its ``seq``, or None."""
        cur = self._write().execute(
            "INSERT INTO outbox (sink, item_id, kind, state, added_as, severity, code, venue,"
            " fold_key, fold_until, body, next_attempt, created, updated)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (sink, item_id) DO NOTHING",
            (
                sink,
                item_id,
                kind,
                state,
                state,
                str(severity),
                code,
                venue,
                fold_key,
                fold_until,
                body,
                now,
                now,
                now,
            ),
        )
        return cur.lastrowid if cur.rowcount == 1 else None

    def last_seq(self) -> int:
        """The highest ``seq`` ever handed out (0 when none)."""
        # sqlite_sequence keeps AUTOINCREMENT's high-water mark, even after deletes.
        row = self._read.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
        return 0 if row is None else int(row[0])

    def committed_seq(self) -> int:
        """The highest ``seq`` known committed: everything, when no write transaction is
        open; else what was seen the last time none was (it may lag, never lead)."""
        if not self._read.in_transaction:
            self._durable = self.last_seq()
        return self._durable

    def due(self, sink: str, *, now: float, upto: int, limit: int) -> list[OutboxRow]:
        """Pending rows of ``sink`` (``seq <= upto``) due at ``now``, oldest first."""
        cur = self._read.execute(
            f"SELECT {_COLUMNS} FROM outbox"  # noqa: S608 - a constant column list
            " WHERE sink = ? AND state = 'pending' AND seq <= ? AND next_attempt <= ?"
            " ORDER BY seq LIMIT ?",
            (sink, upto, now, limit),
        )
        return [_row(r) for r in cur.fetchall()]

    def next_attempt_at(self, sink: str, *, upto: int) -> float | None:
        """The earliest time a pending row of ``sink`` may be tried."""
        row = self._read.execute(
            "SELECT MIN(next_attempt) FROM outbox WHERE sink = ? AND state = 'pending'"
            " AND seq <= ?",
            (sink, upto),
        ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def mark_delivered(self, seqs: Sequence[int], *, now: float) -> None:
        """These rows were accepted by their sink."""
        db = self._write()
        db.executemany(
            "UPDATE outbox SET state = 'delivered', updated = ?, last_error = NULL WHERE seq = ?",
            [(now, seq) for seq in seqs],
        )

    def mark_delivered_ids(self, sink: str, item_ids: Iterable[str], *, now: float) -> int:
        """Pending rows of ``sink`` with these item ids are already delivered."""
        ids = list(dict.fromkeys(item_ids))
        done = 0
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = ids[start : start + _IN_CHUNK]
            marks = ", ".join("?" * len(chunk))
            cur = self._write().execute(
                "UPDATE outbox SET state = 'delivered', updated = ?"  # noqa: S608 - only '?'
                f" WHERE sink = ? AND state = 'pending' AND item_id IN ({marks})",
                (now, sink, *chunk),
            )
            done += cur.rowcount
        return done

    def mark_retry(
        self, seq: int, *, attempts: int, next_attempt: float, error: str, now: float
    ) -> None:
        """A failed attempt; the row may be tried again from ``next_attempt``."""
        self._write().execute(
            "UPDATE outbox SET attempts = ?, next_attempt = ?, last_error = ?, updated = ?"
            " WHERE seq = ?",
            (attempts, next_attempt, error, now, seq),
        )

    def mark_dead(self, seq: int, *, attempts: int, error: str, now: float) -> None:
        """Give up on a row (it shows in ``outbox_dead_letters``)."""
        self._write().execute(
            "UPDATE outbox SET state = 'dead', attempts = ?, last_error = ?, updated = ?"
            " WHERE seq = ?",
            (attempts, error, now, seq),
        )

    # -- storm control -----------------------------------------------------------------

    @staticmethod
    def _held_where(
        sink: str, state: RowState, fold_key: str | None, upto: int | None
    ) -> tuple[str, list[object]]:
        where = "sink = ? AND state = ?"
        params: list[object] = [sink, state]
        if fold_key is not None:
            where += " AND fold_key = ?"
            params.append(fold_key)
        if upto is not None:
            where += " AND seq <= ?"
            params.append(upto)
        return where, params

    def held(
        self, sink: str, state: RowState, *, fold_key: str | None = None, upto: int | None = None
    ) -> Iterator[OutboxRow]:
        """Held rows of ``sink`` in ``seq`` order (streamed)."""
        where, params = self._held_where(sink, state, fold_key, upto)
        cur = self._read.execute(
            f"SELECT {_COLUMNS} FROM outbox WHERE {where} ORDER BY seq",  # noqa: S608
            params,
        )
        while rows := cur.fetchmany(_FETCH):
            for r in rows:
                yield _row(r)

    def move_held(
        self,
        sink: str,
        state: RowState,
        to: RowState,
        *,
        now: float,
        fold_key: str | None = None,
        upto: int | None = None,
        covered_by: str | None = None,
    ) -> int:
        """Move held rows to ``to`` (``covered`` with the notice id, or another held state)."""
        where, params = self._held_where(sink, state, fold_key, upto)
        cur = self._write().execute(
            f"UPDATE outbox SET state = ?, covered_by = ?, updated = ? WHERE {where}",  # noqa: S608
            [to, covered_by, now, *params],
        )
        return cur.rowcount

    def fold_windows(self, sink: str, *, since: float) -> list[tuple[str, float, int]]:
        """Fold windows still open at ``since`` or holding folded rows."""
        cur = self._read.execute(
            "SELECT fold_key, MAX(fold_until), SUM(state = 'folded') FROM outbox"
            " WHERE sink = ? AND fold_key IS NOT NULL AND (fold_until > ? OR state = 'folded')"
            " GROUP BY fold_key",
            (sink, since),
        )
        return [(str(k), float(u), int(n)) for k, u, n in cur.fetchall()]

    def recent_sent(self, sink: str, *, since: float, limit: int) -> list[float]:
        """Creation times of recent unfolded alert rows of ``sink``, newest first."""
        cur = self._read.execute(
            "SELECT created FROM outbox WHERE sink = ? AND created > ? AND kind = 'alert'"
            " AND added_as != 'folded' ORDER BY created DESC LIMIT ?",
            (sink, since, limit),
        )
        return [float(c) for (c,) in cur.fetchall()]

    def last_notice(self, sink: str, kinds: Sequence[str]) -> OutboxRow | None:
        """The newest notice row of ``sink`` among ``kinds``."""
        marks = ", ".join("?" * len(kinds))
        row = self._read.execute(
            f"SELECT {_COLUMNS} FROM outbox WHERE sink = ? AND kind IN ({marks})"  # noqa: S608
            " ORDER BY seq DESC LIMIT 1",
            (sink, *kinds),
        ).fetchone()
        return None if row is None else _row(row)

    # -- reporting ---------------------------------------------------------------------

    def counts(self, states: Sequence[RowState]) -> dict[tuple[str, str], int]:
        """Rows per ``(sink, state)`` for ``states``."""
        marks = ", ".join("?" * len(states))
        cur = self._read.execute(
            f"SELECT sink, state, COUNT(*) FROM outbox WHERE state IN ({marks})"  # noqa: S608
            " GROUP BY sink, state",
            tuple(states),
        )
        return {(str(s), str(st)): int(n) for s, st, n in cur.fetchall()}

    def dead_letters(self, sink: str | None = None, *, limit: int = 1000) -> list[OutboxRow]:
        """Dead rows, newest first."""
        if sink is None:
            cur = self._read.execute(
                f"SELECT {_COLUMNS} FROM outbox WHERE state = 'dead'"  # noqa: S608
                " ORDER BY seq DESC LIMIT ?",
                (limit,),
            )
        else:
            cur = self._read.execute(
                f"SELECT {_COLUMNS} FROM outbox WHERE sink = ? AND state = 'dead'"  # noqa: S608
                " ORDER BY seq DESC LIMIT ?",
                (sink, limit),
            )
        return [_row(r) for r in cur.fetchall()]

    def prune(self, before: float) -> int:
        """Delete delivered and covered rows last updated before ``before``."""
        cur = self._write().execute(
            "DELETE FROM outbox WHERE state IN ('delivered', 'covered') AND updated < ?",
            (before,),
        )
        return cur.rowcount
