"""The capture format (JSON Lines) and replaying captures through the core.

One JSON object per line (see ``docs/capture-format.md``)::

    {"t": 1752147101.805, "venue": "btse", "account": "main", "frame": "<raw frame>"}
    {"t": ..., "venue": ..., "account": ..., "event": "connected" | "disconnected"}
    {"t": ..., "event": "expect", "venue": ..., "account": ..., "client_order_id": ...,
     "symbol": ..., "side": "buy" | "sell", "quantity": "...", "price": "..."}
    {"t": ..., "event": "tick"}
    {"t": ..., "event": "resume"}
    {"t": ..., "event": "report", "venue": ..., "account": ..., "code": "FEED_STALE",
     "message": ..., "evidence": {...}, "facts": ["...", ...]}

A frame received as binary (WebSocket bytes) is written ``"frame_b64"`` instead of
``"frame"`` so that it replays byte for byte.

A replay feeds these, in time order, to the same :class:`~reconciler.Reconciler` a live
run uses, with ``t`` as the clock.
"""

from __future__ import annotations

import base64
import binascii
import heapq
import math
from collections.abc import Collection, Iterable, Iterator
from decimal import Decimal

import msgspec

from reconciler.alerts import Alert, AlertCode
from reconciler.core import Reconciler, UnknownVenueError
from reconciler.events import Expectation
from reconciler.plugin import FrameError, parse_decimal, parse_quantity

__all__ = [
    "CaptureError",
    "CaptureRecord",
    "ConnectionRecord",
    "ExpectRecord",
    "FrameRecord",
    "LineError",
    "ReportRecord",
    "ResumeRecord",
    "TickRecord",
    "apply_record",
    "encode_record",
    "read_capture",
    "replay",
]


class FrameRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A frame received from a venue: text, or bytes for a binary WebSocket message."""

    t: float
    venue: str
    frame: str | bytes
    account: str = "default"


class ConnectionRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A connection event (``connected`` / ``disconnected``)."""

    t: float
    venue: str
    event: str
    account: str = "default"


class ExpectRecord(msgspec.Struct, frozen=True, kw_only=True):
    """An expectation registered by the execution system."""

    t: float
    expectation: Expectation


class TickRecord(msgspec.Struct, frozen=True, kw_only=True):
    """Time passing, nothing else."""

    t: float


class ResumeRecord(msgspec.Struct, frozen=True, kw_only=True):
    """The engine restarted at ``t`` after being down (see :meth:`Reconciler.resume`)."""

    t: float


class ReportRecord(msgspec.Struct, frozen=True, kw_only=True):
    """An alert a live connection raised outside the core (FEED_STALE, AUTH_FAILED,
    PLUGIN_ERROR), kept so that a replay raises it again with the same id."""

    t: float
    venue: str
    account: str
    code: AlertCode
    message: str
    evidence: dict[str, str]
    #: The facts that identify it, as text (an alert id hashes each fact's text).
    facts: tuple[str, ...]


CaptureRecord = (
    FrameRecord | ConnectionRecord | ExpectRecord | TickRecord | ResumeRecord | ReportRecord
)


class CaptureError(Exception):
    """A capture cannot be read at all (missing file, not text)."""


class LineError(msgspec.Struct, frozen=True):
    """A line of a capture that was skipped, with why."""

    source: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.reason}"


class _Line(msgspec.Struct, kw_only=True):
    t: float
    venue: str | None = None
    account: str | None = None
    frame: str | None = None
    frame_b64: str | None = None
    event: str | None = None
    client_order_id: str | None = None
    symbol: str | None = None
    side: str | None = None
    quantity: str | int | float | None = None
    price: str | int | float | None = None
    code: str | None = None
    message: str | None = None
    evidence: dict[str, str] | None = None
    facts: list[str] | None = None


_LINE = msgspec.json.Decoder(_Line)
_CONNECTION_EVENTS = frozenset({"connected", "disconnected"})


def _number(value: str | float | None, field: str, *, quantity: bool) -> Decimal | None:
    if isinstance(value, float):
        value = repr(value)  # JSON numbers in a capture: their shortest exact text
    return parse_quantity(value, field) if quantity else parse_decimal(value, field)


def _record(line: _Line) -> CaptureRecord:
    if not math.isfinite(line.t):
        raise ValueError("t must be a finite number of seconds")
    account = line.account or "default"
    if line.frame is not None or line.frame_b64 is not None:
        if line.event is not None or (line.frame is not None and line.frame_b64 is not None):
            raise ValueError("a line has one of 'frame', 'frame_b64' or 'event'")
        if not line.venue:
            raise ValueError("a frame line needs 'venue'")
        frame: str | bytes
        if line.frame is not None:
            frame = line.frame
        else:
            try:
                frame = base64.b64decode(str(line.frame_b64), validate=True)
            except binascii.Error:
                raise ValueError("'frame_b64' is not valid base64") from None
        return FrameRecord(t=line.t, venue=line.venue, account=account, frame=frame)
    if line.event is None:
        raise ValueError("a line needs 'frame' or 'event'")
    if line.event == "tick":
        return TickRecord(t=line.t)
    if line.event == "resume":
        return ResumeRecord(t=line.t)
    if line.event == "report":
        return _report(line, account)
    if line.event in _CONNECTION_EVENTS:
        if not line.venue:
            raise ValueError(f"a {line.event!r} line needs 'venue'")
        return ConnectionRecord(t=line.t, venue=line.venue, account=account, event=line.event)
    if line.event == "expect":
        missing = [
            f
            for f in ("venue", "client_order_id", "symbol", "side", "quantity")
            if getattr(line, f) in (None, "")
        ]
        if missing:
            raise ValueError(f"an 'expect' line needs {', '.join(missing)}")
        side = str(line.side).lower()
        if side not in ("buy", "sell"):
            raise ValueError("'side' must be 'buy' or 'sell'")
        qty = _number(line.quantity, "quantity", quantity=True)
        assert qty is not None
        exp = Expectation(
            venue=str(line.venue),
            account=account,
            client_order_id=str(line.client_order_id),
            symbol=str(line.symbol),
            side=side,
            quantity=qty,
            price=_number(line.price, "price", quantity=False),
        )
        return ExpectRecord(t=line.t, expectation=exp)
    raise ValueError(
        f"unknown event {line.event!r} (expected connected, disconnected, expect, tick or report)"
    )


def _report(line: _Line, account: str) -> ReportRecord:
    if not line.venue or not line.code or line.message is None:
        raise ValueError("a 'report' line needs venue, code and message")
    try:
        code = AlertCode(line.code)
    except ValueError:
        raise ValueError(f"unknown alert code {line.code!r}") from None
    return ReportRecord(
        t=line.t,
        venue=line.venue,
        account=account,
        code=code,
        message=line.message,
        evidence=dict(line.evidence or {}),
        facts=tuple(line.facts or ()),
    )


def read_capture(
    lines: Iterable[str | bytes],
    source: str = "<capture>",
    errors: list[LineError] | None = None,
    venues: Collection[str] | None = None,
) -> Iterator[CaptureRecord]:
    """Decode capture lines; bad lines are appended to ``errors`` (with line numbers) and skipped.

    Blank lines are ignored. With ``venues``, a line naming another venue is a bad line.
    """
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            record = _record(_LINE.decode(raw))
            venue = (
                record.expectation.venue
                if isinstance(record, ExpectRecord)
                else getattr(record, "venue", None)
            )
            if venues is not None and venue is not None and venue not in venues:
                raise ValueError(f"unknown venue {venue!r} (known: {', '.join(sorted(venues))})")
        except (msgspec.MsgspecError, ValueError, FrameError, TypeError) as exc:
            if errors is not None:
                errors.append(LineError(source, number, str(exc)))
            continue
        yield record


def encode_record(record: CaptureRecord) -> bytes:
    """One capture line (without newline) for a record."""
    if isinstance(record, ExpectRecord):
        exp = record.expectation
        obj: dict[str, object] = {
            "t": record.t,
            "event": "expect",
            "venue": exp.venue,
            "account": exp.account,
            "client_order_id": exp.client_order_id,
            "symbol": exp.symbol,
            "side": exp.side,
            "quantity": str(exp.quantity),
        }
        if exp.price is not None:
            obj["price"] = str(exp.price)
        return msgspec.json.encode(obj)
    if isinstance(record, TickRecord):
        return msgspec.json.encode({"t": record.t, "event": "tick"})
    if isinstance(record, ResumeRecord):
        return msgspec.json.encode({"t": record.t, "event": "resume"})
    if isinstance(record, ReportRecord):
        return msgspec.json.encode(
            {
                "t": record.t,
                "event": "report",
                "venue": record.venue,
                "account": record.account,
                "code": str(record.code),
                "message": record.message,
                "evidence": record.evidence,
                "facts": list(record.facts),
            }
        )
    if isinstance(record, FrameRecord) and isinstance(record.frame, bytes):
        return msgspec.json.encode(
            {
                "t": record.t,
                "venue": record.venue,
                "account": record.account,
                "frame_b64": base64.b64encode(record.frame).decode("ascii"),
            }
        )
    return msgspec.json.encode(record)


def replay(
    captures: Iterable[Iterable[CaptureRecord]],
    reconciler: Reconciler,
    *,
    until: float | None = None,
    flush: bool = True,
    errors: list[LineError] | None = None,
) -> Iterator[Alert]:
    """Replay captures (merged by time, ties in the order given) and yield every alert.

    Records after ``until`` are not replayed and the clock stops at ``until``.
    Otherwise, with ``flush``, the clock finally moves past the last record by the
    longer of the settle window and the ack timeout, so that checks waiting on the end
    of the capture get their answer.
    A frame for a venue with no plugin is reported in ``errors`` and skipped.
    """
    last: float | None = None
    for record in heapq.merge(*captures, key=lambda r: r.t):
        if until is not None and record.t > until:
            break
        last = record.t if last is None else max(last, record.t)
        try:
            yield from apply_record(reconciler, record)
        except UnknownVenueError as exc:
            if errors is not None:
                errors.append(LineError("<capture>", 0, f"{exc} (t={record.t})"))
    if until is not None:
        yield from reconciler.advance(until)
    elif flush and last is not None:
        cfg = reconciler.config
        yield from reconciler.advance(last + max(cfg.settle_window, cfg.ack_timeout))


def apply_record(rec: Reconciler, record: CaptureRecord) -> list[Alert]:
    """Apply one capture record to ``rec``; the alerts it raised."""
    if isinstance(record, FrameRecord):
        return rec.feed(record.venue, record.account, record.frame, record.t)
    if isinstance(record, ConnectionRecord):
        return rec.connection_event(record.venue, record.account, record.event, record.t)
    if isinstance(record, ExpectRecord):
        if record.expectation.venue not in rec.venues:
            raise UnknownVenueError(record.expectation.venue)
        return rec.expect(record.expectation, record.t)
    if isinstance(record, ResumeRecord):
        return rec.resume(record.t)
    if isinstance(record, ReportRecord):
        if record.venue not in rec.venues:
            raise UnknownVenueError(record.venue)
        return rec.report(
            record.code,
            venue=record.venue,
            account=record.account,
            t=record.t,
            message=record.message,
            evidence=record.evidence,
            facts=record.facts,
        )
    return rec.advance(record.t)
