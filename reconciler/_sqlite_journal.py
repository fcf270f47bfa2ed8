"""The embedded journal backend: SQLite (stdlib :mod:`sqlite3`) in WAL mode.

Schema (version 2)::

    schema_version(version)                       -- one row
    records(seq PK AUTOINCREMENT, kind, t, venue, account, connection_id, payload)
    alerts(id PK, t, code, severity, venue, account, body)   -- rowid: first appended
    snapshots(seq PK, t, taken, body)             -- core state after record ``seq``
    + the outbox tables (:mod:`reconciler._sqlite_outbox`)

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
  exact strings);
* ``resume``: nothing — the engine restarted at ``t`` and postponed pending checks by
  its downtime (:meth:`reconciler.Reconciler.resume`);
* ``tick``: nothing (an empty string) — the core's clock was advanced to ``t`` to run
  checks that came due with no frame arriving, journaled so a replay runs them too;
* ``report``: a :class:`~reconciler.capture.ReportRecord` as msgspec JSON (an alert a
  connection raised outside the core).

A snapshot row holds the core's state (:meth:`reconciler.Reconciler.snapshot`) after
every record up to ``seq``; recovery restores the newest and replays the records after
it. Retention (:meth:`SqliteJournal.prune`) deletes old records only up to the newest
snapshot, so snapshot plus tail is always the whole state.

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

import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator
from os import PathLike
from pathlib import Path
from typing import Final

import msgspec

from reconciler._sqlite_outbox import OUTBOX_SCHEMA, SqliteOutbox
from reconciler.alerts import Alert
from reconciler.capture import (
    CaptureRecord,
    ConnectionRecord,
    ExpectRecord,
    FrameRecord,
    ReportRecord,
    ResumeRecord,
    TickRecord,
)
from reconciler.events import Expectation
from reconciler.journal import CONNECTION_EVENTS, JournalError, Snapshot

__all__ = ["SCHEMA_VERSION", "SqliteJournal"]

SCHEMA_VERSION: Final = 2

_SCHEMA: Final = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (
        kind IN ('frame', 'connection', 'expect', 'tick', 'resume', 'report')
    ),
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
CREATE TABLE snapshots (
    seq INTEGER PRIMARY KEY,
    t REAL NOT NULL,
    taken REAL NOT NULL,
    body BLOB NOT NULL
);
"""

_SYNCHRONOUS: Final = frozenset({"NORMAL", "FULL"})
# Rows fetched per round trip when reading back; bounds memory on large journals.
_FETCH: Final = 1000

_EXPECTATION = msgspec.json.Decoder(Expectation)
_REPORT = msgspec.json.Decoder(ReportRecord)
_ALERT = msgspec.json.Decoder(Alert)


#: Bytes a record adds to the write-ahead log beyond its payload, roughly.
_ROW_OVERHEAD = 128
#: Appended bytes after which a background checkpoint is due (SQLite's own default is
#: 1,000 pages, 4 MB; records are about half the pages written).
_CHECKPOINT_BYTES = 2 * 1024 * 1024


class SqliteJournal:
    """A :class:`reconciler.journal.Journal` in one SQLite database file.

    Opening creates the schema in a new (or empty) file and refuses a file written with
    another schema version. Usable as a context manager (``close`` on exit).
    """

    def __init__(
        self,
        path: str | PathLike[str],
        *,
        synchronous: str = "NORMAL",
        read_only: bool = False,
        background_checkpoints: bool = False,
    ) -> None:
        if synchronous.upper() not in _SYNCHRONOUS:
            raise ValueError(f"synchronous must be NORMAL or FULL, not {synchronous!r}")
        self._read_only = read_only
        self._path = Path(path)
        self._background = background_checkpoints and not read_only
        # The checkpointing connection (see checkpoint): made, used and closed only under
        # this lock, from whichever thread calls checkpoint.
        self._checkpoint_db: sqlite3.Connection | None = None
        self._checkpoint_lock = threading.Lock()
        self._unchecked = 0
        self._lock: int | None = None if read_only else _lock(Path(path))
        # isolation_level=None: the module must not open or commit transactions behind
        # our back; appends open one explicitly and only commit() ends it.
        self._db: sqlite3.Connection | None
        try:
            if read_only:
                # mode=ro: reading a journal (export, report) never creates or changes one,
                # and reads alongside a running engine thanks to WAL.
                uri = Path(path).resolve().as_uri() + "?mode=ro"
                self._db = sqlite3.connect(uri, uri=True, isolation_level=None)
            else:
                self._db = sqlite3.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            self._unlock()
            raise JournalError(f"cannot open {path}: {exc}") from None
        try:
            self._setup(synchronous.upper())
        except sqlite3.DatabaseError as exc:
            self._db.close()
            self._db = None
            self._unlock()
            raise JournalError(f"{path} is not a reconciler journal ({exc})") from None
        except BaseException:
            self._db.close()
            self._db = None
            self._unlock()
            raise
        #: The durable alert outbox, in the same database (see :mod:`reconciler.delivery`).
        self.outbox = SqliteOutbox(self)

    def _setup(self, synchronous: str) -> None:
        db = self._conn
        if self._read_only:
            self._check_version()
            return
        mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":  # e.g. an in-memory database
            raise JournalError(f"the journal needs WAL mode, SQLite gave {mode!r}")
        db.execute(f"PRAGMA synchronous={synchronous}")
        if self._background:
            # SQLite's automatic checkpoint runs inside a commit and syncs the file: a
            # stall of several ms on the writer's thread every ~1,000 pages. The owner
            # calls checkpoint() from another thread instead (Engine does, every second).
            db.execute("PRAGMA wal_autocheckpoint=0")
        exists = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        ).fetchone()
        if exists is None:
            # One transaction, so a crash while creating leaves an empty file, not half
            # a schema.
            db.execute("BEGIN IMMEDIATE")
            for statement in (_SCHEMA + OUTBOX_SCHEMA).split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
            db.execute("COMMIT")
            return
        self._check_version()

    def _check_version(self) -> None:
        db = self._conn
        exists = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        ).fetchone()
        if exists is None:
            raise JournalError("not a reconciler journal (no schema_version table)")
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
        if self._read_only:
            raise JournalError("the journal was opened read-only")
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
        # What the write-ahead log grows by, roughly (payload, row and index entries).
        self._unchecked += len(payload) + _ROW_OVERHEAD
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

    def append_tick(self, t: float) -> int:
        """Append the passing of time to ``t``; returns its sequence number."""
        return self._append("tick", t, "", "", None, "")

    def append_resume(self, t: float) -> int:
        """Append a restart at ``t`` (pending checks were postponed by the downtime)."""
        return self._append("resume", t, "", "", None, "")

    def append_report(self, record: ReportRecord) -> int:
        """Append an alert raised outside the core; returns its sequence number."""
        payload = msgspec.json.encode(record).decode()
        return self._append("report", record.t, record.venue, record.account, None, payload)

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
            where.append("(venue = ? OR kind IN ('tick', 'resume'))")
            params.append(venue)
        sql = "SELECT kind, t, venue, account, payload FROM records"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY seq"
        cur = self._conn.execute(sql, params)
        while rows := cur.fetchmany(_FETCH):
            for kind, t, row_venue, account, payload in rows:
                yield _record(kind, t, row_venue, account, payload)

    def records_after(self, seq: int) -> Iterator[tuple[int, CaptureRecord]]:
        """``(seq, record)`` for every record after ``seq``, in append order."""
        cur = self._conn.execute(
            "SELECT seq, kind, t, venue, account, payload FROM records WHERE seq > ? ORDER BY seq",
            (seq,),
        )
        while rows := cur.fetchmany(_FETCH):
            for row_seq, kind, t, venue, account, payload in rows:
                yield row_seq, _record(kind, t, venue, account, payload)

    def last_seq(self) -> int:
        """The sequence number of the newest record (0 when there is none)."""
        row = self._conn.execute("SELECT max(seq) FROM records").fetchone()
        return 0 if row is None or row[0] is None else int(row[0])

    def has_alert(self, alert_id: str) -> bool:
        """Whether an alert with this id is in the journal."""
        row = self._conn.execute("SELECT 1 FROM alerts WHERE id = ?", (alert_id,)).fetchone()
        return row is not None

    def save_snapshot(self, seq: int, t: float, taken: float, body: bytes) -> None:
        """Store the core's state after record ``seq`` (core time ``t``; wall time ``taken``).

        Older snapshots are kept until :meth:`prune`: the newest one is all recovery needs.
        """
        self._writer().execute(
            "INSERT INTO snapshots (seq, t, taken, body) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (seq) DO UPDATE SET t = excluded.t, taken = excluded.taken,"
            " body = excluded.body",
            (seq, t, taken, body),
        )

    def latest_snapshot(self) -> Snapshot | None:
        """The newest snapshot, or ``None``."""
        row = self._conn.execute(
            "SELECT seq, t, taken, body FROM snapshots ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        return Snapshot(seq=row[0], t=row[1], taken=row[2], body=bytes(row[3]))

    def prune(self, before_t: float) -> int:
        """Delete records older than ``before_t`` that the newest snapshot already covers,
        and every snapshot but the newest; returns how many records were deleted.

        Records after the newest snapshot are never deleted, whatever their age: they are
        the tail recovery replays. Alerts and the outbox are not pruned here.
        """
        snap = self.latest_snapshot()
        if snap is None:
            return 0
        db = self._writer()
        cur = db.execute("DELETE FROM records WHERE t < ? AND seq <= ?", (before_t, snap.seq))
        db.execute("DELETE FROM snapshots WHERE seq < ?", (snap.seq,))
        return cur.rowcount

    def size_bytes(self) -> int:
        """Bytes the database file uses (pages in use; the WAL not included)."""
        db = self._conn
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        free = db.execute("PRAGMA freelist_count").fetchone()[0]
        size = db.execute("PRAGMA page_size").fetchone()[0]
        return int((pages - free) * size)

    def alerts(self) -> Iterator[Alert]:
        """Every alert, in the order first appended."""
        cur = self._conn.execute("SELECT body FROM alerts ORDER BY rowid")
        while rows := cur.fetchmany(_FETCH):
            for (body,) in rows:
                yield _ALERT.decode(body)

    def checkpoint_due(self) -> bool:
        """Whether enough was appended since the last :meth:`checkpoint` for one to be
        worth running (about what SQLite's own automatic checkpoint waits for)."""
        return self._unchecked >= _CHECKPOINT_BYTES

    def checkpoint(self) -> tuple[int, int]:
        """Copy committed pages from the write-ahead log into the database file (a
        PASSIVE checkpoint: it never blocks the writer, which keeps appending).

        Runs on a connection of its own, so it may be called from a worker thread while
        the writer works on its thread (one checkpoint at a time). Returns the pages in
        the log and the pages copied. A no-op returning ``(0, 0)`` when closed.
        """
        with self._checkpoint_lock:
            if self._db is None:
                return (0, 0)
            if self._checkpoint_db is None:
                self._checkpoint_db = sqlite3.connect(
                    self._path, isolation_level=None, check_same_thread=False
                )
            self._unchecked = 0
            row = self._checkpoint_db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            return (int(row[1]), int(row[2]))

    def close(self) -> None:
        """Commit what was appended and close the database. Closing twice is harmless."""
        with self._checkpoint_lock:
            if self._checkpoint_db is not None:
                self._checkpoint_db.close()
                self._checkpoint_db = None
        if self._db is None:
            return
        try:
            self.commit()
        finally:
            self._db.close()
            self._db = None
            self._unlock()

    def _unlock(self) -> None:
        if self._lock is not None:
            os.close(self._lock)  # closing the descriptor releases the flock
            self._lock = None

    def __enter__(self) -> SqliteJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _lock(path: Path) -> int:
    """Take the journal's writer lock (``<path>.lock``) or raise :class:`JournalError`.

    Two engines appending to one journal would interleave their batches and each
    recover the other's state; SQLite's own locks only serialise single transactions.
    An OS-level lock is released by the kernel when the process dies, even by SIGKILL,
    so a crash never leaves a stale lock behind.
    """
    lock_path = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise JournalError(f"cannot create the lock file {lock_path}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise JournalError(
            f"{path} is in use by another running reconciler (it holds {lock_path.name}); "
            "give each engine its own journal"
        ) from None
    return fd


def _record(kind: str, t: float, venue: str, account: str, payload: str | bytes) -> CaptureRecord:
    if kind == "frame":
        return FrameRecord(t=t, venue=venue, account=account, frame=payload)
    if kind == "connection":
        return ConnectionRecord(t=t, venue=venue, account=account, event=str(payload))
    if kind == "expect":
        return ExpectRecord(t=t, expectation=_EXPECTATION.decode(payload))
    if kind == "tick":
        return TickRecord(t=t)
    if kind == "resume":
        return ResumeRecord(t=t)
    if kind == "report":
        return _REPORT.decode(payload)
    raise JournalError(f"unknown record kind {kind!r} in the journal")
