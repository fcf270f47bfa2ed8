"""The capture format: reading records, reporting bad lines, replaying in time order."""

from __future__ import annotations

import json
from decimal import Decimal

from builders import btse_frame, btse_item

from reconciler import AlertCode, CoreConfig, Reconciler
from reconciler.capture import (
    ConnectionRecord,
    ExpectRecord,
    FrameRecord,
    LineError,
    TickRecord,
    encode_record,
    read_capture,
    replay,
)


def _lines(*objs: object) -> list[str]:
    return [json.dumps(o) for o in objs]


def test_every_record_type_is_read() -> None:
    """Frame, connection, expect and tick lines decode to their records; account defaults."""
    lines = _lines(
        {"t": 1.5, "venue": "btse", "frame": "pong"},
        {"t": 2, "venue": "btse", "account": "main", "event": "connected"},
        {
            "t": 3,
            "event": "expect",
            "venue": "bybit",
            "account": "a",
            "client_order_id": "c1",
            "symbol": "BTCUSD",
            "side": "buy",
            "quantity": "100",
            "price": 30000.5,
        },
        {"t": 4, "event": "tick"},
    )
    records = list(read_capture(lines))
    assert records[0] == FrameRecord(t=1.5, venue="btse", account="default", frame="pong")
    assert records[1] == ConnectionRecord(t=2, venue="btse", account="main", event="connected")
    assert isinstance(records[2], ExpectRecord)
    assert records[2].expectation.quantity == Decimal(100)
    assert records[2].expectation.price == Decimal("30000.5")
    assert records[3] == TickRecord(t=4)


def test_bad_lines_are_reported_with_line_numbers_and_skipped() -> None:
    """A bad line is named by number and reason; the good lines around it still count."""
    lines = [
        json.dumps({"t": 1, "event": "tick"}),
        "not json",
        "",
        json.dumps({"t": 2, "event": "expect", "venue": "btse"}),
        json.dumps({"t": 3, "venue": "nowhere", "frame": "x"}),
        json.dumps({"t": 4, "event": "teleport"}),
        json.dumps({"t": 5, "event": "tick"}),
    ]
    errors: list[LineError] = []
    records = list(read_capture(lines, "cap.jsonl", errors, venues={"btse"}))
    assert [r.t for r in records] == [1, 5]
    assert [e.line for e in errors] == [2, 4, 5, 6]
    assert "client_order_id" in errors[1].reason
    assert "unknown venue 'nowhere'" in errors[2].reason
    assert str(errors[3]).startswith("cap.jsonl:6: unknown event 'teleport'")


def test_records_round_trip_through_the_encoder() -> None:
    """encode_record writes lines read_capture reads back to equal records."""
    originals = list(
        read_capture(
            _lines(
                {"t": 1.25, "venue": "btse", "account": "m", "frame": "pong"},
                {"t": 2, "venue": "btse", "account": "m", "event": "disconnected"},
                {
                    "t": 3,
                    "event": "expect",
                    "venue": "btse",
                    "account": "m",
                    "client_order_id": "c",
                    "symbol": "BTC-PERP",
                    "side": "sell",
                    "quantity": "5",
                },
                {"t": 4, "event": "tick"},
            )
        )
    )
    again = list(read_capture([encode_record(r) for r in originals]))
    assert again == originals


def test_several_captures_are_merged_by_time() -> None:
    """Two captures replay interleaved by t, so a fill lost in one is judged in time order."""
    early = list(
        read_capture(
            _lines(
                {"t": 10, "venue": "btse", "frame": btse_frame(btse_item("o1", status=2))},
                {
                    "t": 12,
                    "venue": "btse",
                    "frame": btse_frame(
                        btse_item("o1", status=4, total=900, filled=600, ts=1_752_147_103_000)
                    ),
                },
            )
        )
    )
    late = list(
        read_capture(
            _lines(
                {
                    "t": 11,
                    "venue": "btse",
                    "frame": btse_frame(
                        btse_item("o1", status=5, total=300, filled=300, ts=1_752_147_102_000)
                    ),
                },
            )
        )
    )
    alerts = list(replay([early, late], Reconciler()))
    assert [a.code for a in alerts] == []


def test_replay_flushes_pending_checks_at_the_end() -> None:
    """A lost fill at the very end of a capture is still reported once the capture ends."""
    records = list(
        read_capture(
            _lines(
                {"t": 10, "venue": "btse", "frame": btse_frame(btse_item("o1", status=2))},
                {
                    "t": 11,
                    "venue": "btse",
                    "frame": btse_frame(btse_item("o1", status=4, total=900, filled=300)),
                },
            )
        )
    )
    alerts = list(replay([records], Reconciler(config=CoreConfig(settle_window=2))))
    assert [a.code for a in alerts] == [AlertCode.FILL_GAP]
    assert alerts[0].t == 13


def test_until_stops_the_replay_and_the_clock() -> None:
    """Records after --until are not replayed and checks due later do not fire."""
    records = list(
        read_capture(
            _lines(
                {"t": 10, "venue": "btse", "frame": btse_frame(btse_item("o1", status=2))},
                {
                    "t": 11,
                    "venue": "btse",
                    "frame": btse_frame(btse_item("o1", status=4, total=900, filled=300)),
                },
                {"t": 30, "venue": "btse", "frame": "garbage"},
            )
        )
    )
    alerts = list(replay([records], Reconciler(), until=12))
    assert alerts == []


def test_a_binary_frame_round_trips_byte_for_byte() -> None:
    """A bytes frame is written as frame_b64 and read back as the same bytes."""
    from reconciler.capture import FrameRecord, encode_record, read_capture  # noqa: PLC0415

    record = FrameRecord(t=1.5, venue="btse", account="main", frame=b"\x00\xffnot text")
    line = encode_record(record)
    assert b'"frame_b64"' in line
    errors: list[LineError] = []
    assert list(read_capture([line], errors=errors)) == [record]
    assert errors == []


def test_a_live_report_line_round_trips_to_the_same_alert_id() -> None:
    """A report record replays to the alert a live connection raised, with its id."""
    from reconciler.capture import ReportRecord, encode_record, read_capture, replay  # noqa: PLC0415

    live = Reconciler().report(
        AlertCode.FEED_STALE,
        venue="btse",
        account="main",
        t=10.0,
        message="no data for 30 s",
        evidence={"idle_seconds": "30"},
        facts=("idle", 3),
    )
    record = ReportRecord(
        t=10.0,
        venue="btse",
        account="main",
        code=AlertCode.FEED_STALE,
        message="no data for 30 s",
        evidence={"idle_seconds": "30"},
        facts=("idle", "3"),
    )
    (decoded,) = read_capture([encode_record(record)])
    assert decoded == record
    replayed = list(replay([[decoded]], Reconciler(), flush=False))
    assert [a.id for a in replayed] == [a.id for a in live]


def test_bad_base64_and_unknown_report_codes_are_bad_lines() -> None:
    """frame_b64 that is not base64, or a report with an unknown code, is skipped with why."""
    from reconciler.capture import read_capture  # noqa: PLC0415

    errors: list[LineError] = []
    lines = [
        b'{"t": 1, "venue": "btse", "frame_b64": "***"}',
        b'{"t": 1, "event": "report", "venue": "btse", "code": "NOPE", "message": "x"}',
    ]
    assert list(read_capture(lines, errors=errors)) == []
    assert ["not valid base64" in e.reason for e in errors] == [True, False]
    assert "unknown alert code" in errors[1].reason
