"""The embedded journal backend: SQLite (stdlib :mod:`sqlite3`) in WAL mode.

Schema (version 1)::

    schema_version(version)                       -- one row
    records(seq PK AUTOINCREMENT, kind, t, venue, account, connection_id, payload)
    alerts(id PK, t, code, severity, venue, account, body)   -- rowid: first appended

Why one ``records`` table with a ``kind`` column rather than a table per kind: a replay
needs the single append order across frames, connection events and expectations, and
one table gives it for free as ``seq`` (one B-tree append per record, one ordered scan
to read back); per-kind tables would need a shared counter and a k-way merge on every
read, and retention would have to prune several tables consistently. The columns every
kind has (``t``, ``venue``, ``account``) are real columns so that time and venue
filters use an index; what differs per kind lives in ``payload``:

* ``frame``: the frame exactly as received — ``payload`` has no declared type, so SQLite
  stores a ``str`` as TEXT and ``bytes`` as a BLOB and gives back the same type;
* ``connection``: the event name;
* ``expect``: the :class:`~reconciler.events.Expectation` as msgspec JSON (decimals as
  exact strings).

``AUTOINCREMENT`` keeps a committed sequence number from ever being reused, even after
old rows are pruned. Alerts are keyed by their deterministic id and inserted with
``INSERT ... ON CONFLICT (id) DO NOTHING``, which makes appending one twice (a
re-derivation after a restart) a no-op; ``alerts`` is an ordinary rowid table, so ``rowid`` is
the order alerts were first appended in.

Appends run inside one open transaction that :meth:`SqliteJournal.commit` commits
(group commit); ``journal_mode=WAL`` lets readers (reports, exports) read while the
engine writes, and ``synchronous=NORMAL`` makes a commit a WAL append without an fsync,
durable against a process crash (see :mod:`reconciler.journal` for what it can lose).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from os import PathLike
from typing import Final, cast

import msgspec

from reconciler.alerts import Alert
from reconciler.capture import CaptureRecord, ConnectionRecord, ExpectRecord, FrameRecord
from reconciler.events import Expectation
from reconciler.journal import CONNECTION_EVENTS, JournalError

__all__ = ["SCHEMA_VERSION", "SqliteJournal"]

SCHEMA_VERSION: Final = 1

_SCHEMA: Final = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('frame', 'connection', 'expect')),
    t REAL NOT NULL,
    venue TEXT NOT NULL,
    account TEXT NOT NULL,
    connection_id INTEGER,
    payload NOT NULL
);
CREATE INDEX records_t ON records (t);
CREATE INDEX records_venue_seq ON records (venue, seq);
CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    t REAL NOT NULL,
    code TEXT NOT NULL,
    severity TEXT NOT NULL,
    venue TEXT NOT NULL,
    account TEXT NOT NULL,
    body BLOB NOT NULL
);
"""

_SYNCHRONOUS: Final = frozenset({"NORMAL", "FULL"})
# Rows fetched per round trip when reading back; bounds memory on large journals.
_FETCH: Final = 1000

_EXPECTATION = msgspec.json.Decoder(Expectation)
_ALERT = msgspec.json.Decoder(Alert)


class SqliteJournal:
    """A :class:`reconciler.journal.Journal` in one SQLite database file.

    Opening creates the schema in a new (or empty) file and refuses a file written with
    another schema version. Usable as a context manager (``close`` on exit).
    """

    def __init__(self, path: str | PathLike[str], *, synchronous: str = "NORMAL") -> None:
        if synchronous.upper() not in _SYNCHRONOUS:
            raise ValueError(f"synchronous must be NORMAL or FULL, not {synchronous!r}")
        # isolation_level=None: the module must not open or commit transactions behind
        # our back; appends open one explicitly and only commit() ends it.
        self._db: sqlite3.Connection | None = sqlite3.connect(path, isolation_level=None)
        try:
            self._setup(synchronous.upper())
        except BaseException:
            self._db.close()
            self._db = None
            raise

    def _setup(self, synchronous: str) -> None:
        db = self._conn
        mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":  # e.g. an in-memory database
            raise JournalError(f"the journal needs WAL mode, SQLite gave {mode!r}")
        db.execute(f"PRAGMA synchronous={synchronous}")
        exists = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        ).fetchone()
        if exists is None:
            # One transaction, so a crash while creating leaves an empty file, not half
            # a schema.
            db.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
            db.execute("COMMIT")
            return
        row = db.execute("SELECT version FROM schema_version").fetchone()
        if row is None or row[0] != SCHEMA_VERSION:
            found = None if row is None else row[0]
            raise JournalError(
                f"journal schema version {found!r}, this reconciler reads {SCHEMA_VERSION}"
            )

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise JournalError("the journal is closed")
        return self._db

    def _writer(self) -> sqlite3.Connection:
        db = self._conn
        if not db.in_transaction:
            # IMMEDIATE takes the write lock now, so a second writer fails at its first
            # append rather than at commit time with a batch already built.
            db.execute("BEGIN IMMEDIATE")
        return db

    def _append(
        self,
        kind: str,
        t: float,
        venue: str,
        account: str,
        connection_id: int | None,
        payload: str | bytes,
    ) -> int:
        cur = self._writer().execute(
            "INSERT INTO records (kind, t, venue, account, connection_id, payload)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (kind, t, venue, account, connection_id, payload),
        )
        if cur.lastrowid is None:  # never after a successful single-row INSERT
            raise JournalError("SQLite returned no rowid for an appended record")
        return cur.lastrowid

    def append_frame(
        self, t: float, venue: str, account: str, connection_id: int, frame: str | bytes
    ) -> int:
        """Append a frame exactly as received; returns its sequence number."""
        return self._append("frame", t, venue, account, connection_id, frame)

    def append_connection_event(self, t: float, venue: str, account: str, event: str) -> int:
        """Append ``connected`` / ``disconnected``; returns its sequence number."""
        if event not in CONNECTION_EVENTS:
            raise ValueError(f"unknown connection event {event!r} (connected, disconnected)")
        return self._append("connection", t, venue, account, None, event)

    def append_expectation(self, t: float, expectation: Expectation) -> int:
        """Append an expectation registered at ``t``; returns its sequence number."""
        payload = msgspec.json.encode(expectation).decode()
        return self._append("expect", t, expectation.venue, expectation.account, None, payload)

    def append_alert(self, alert: Alert) -> bool:
        """Append an alert unless one with its id is already stored; True if stored now."""
        # ON CONFLICT(id) DO NOTHING rather than INSERT OR IGNORE: the same idempotence on
        # the id, without also silently dropping a row that breaks another constraint.
        cur = self._writer().execute(
            "INSERT INTO alerts (id, t, code, severity, venue, account, body)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (
                alert.id,
                alert.t,
                str(alert.code),
                str(alert.severity),
                alert.venue,
                alert.account,
                msgspec.json.encode(alert),
            ),
        )
        return cur.rowcount == 1

    def commit(self) -> None:
        """Make everything appended so far durable (no-op when nothing was appended)."""
        db = self._conn
        if db.in_transaction:
            db.execute("COMMIT")

    def records(
        self,
        from_t: float | None = None,
        to_t: float | None = None,
        venue: str | None = None,
    ) -> Iterator[CaptureRecord]:
        """The records as capture records, in append order (bounds inclusive)."""
        where: list[str] = []
        params: list[object] = []
        if from_t is not None:
            where.append("t >= ?")
            params.append(from_t)
        if to_t is not None:
            where.append("t <= ?")
            params.append(to_t)
        if venue is not None:
            where.append("venue = ?")
            params.append(venue)
        sql = "SELECT kind, t, venue, account, payload FROM records"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY seq"
        cur = self._conn.execute(sql, params)
        while rows := cur.fetchmany(_FETCH):
            for kind, t, row_venue, account, payload in rows:
                yield _record(kind, t, row_venue, account, payload)

    def alerts(self) -> Iterator[Alert]:
        """Every alert, in the order first appended."""
        cur = self._conn.execute("SELECT body FROM alerts ORDER BY rowid")
        while rows := cur.fetchmany(_FETCH):
            for (body,) in rows:
                yield _ALERT.decode(body)

    def close(self) -> None:
        """Commit what was appended and close the database. Closing twice is harmless."""
        if self._db is None:
            return
        try:
            self.commit()
        finally:
            self._db.close()
            self._db = None

    def __enter__(self) -> SqliteJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _record(kind: str, t: float, venue: str, account: str, payload: str | bytes) -> CaptureRecord:
    if kind == "frame":
        # FrameRecord.frame is typed str (the capture file is text), but the core's feed()
        # takes str | bytes and a bytes frame must reach it unchanged; the cast keeps the
        # bytes rather than guessing an encoding.
        return FrameRecord(t=t, venue=venue, account=account, frame=cast("str", payload))
    if kind == "connection":
        return ConnectionRecord(t=t, venue=venue, account=account, event=str(payload))
    if kind == "expect":
        return ExpectRecord(t=t, expectation=_EXPECTATION.decode(payload))
    raise JournalError(f"unknown record kind {kind!r} in the journal")
