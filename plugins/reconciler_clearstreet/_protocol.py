"""The sans-IO protocol object for one Clear Street ``activity`` connection."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import InvalidOperation

import msgspec

from reconciler.events import Event, Ignored, Malformed, Sequenced
from reconciler.lifecycle import Status
from reconciler.link import LinkSettings
from reconciler.plugin import (
    BaseProtocol,
    FrameError,
    VenuePlugin,
    content_digest,
    excerpt,
)
from reconciler_clearstreet._bench import ClearStreetBenchKit
from reconciler_clearstreet._link import CREDENTIAL_NAMES, STREAM_URL, ClearStreetLink
from reconciler_clearstreet._mapping import STATUS_TABLE, day_of, payload_event, trading_day
from reconciler_clearstreet._simulator import ClearStreetSimulator
from reconciler_clearstreet._wire import (
    CANONICAL_ENCODER,
    ENVELOPE_DECODER,
    GENERIC_DECODER,
    KNOWN_TYPES,
    PAYLOAD_DECODER,
    TAGS,
    TIMED_ENVELOPE_DECODER,
    TIMESTAMP_DECODER,
    TYPE_DECODER,
    Envelope,
)

__all__ = ["ClearStreetPlugin", "ClearStreetProtocol"]

# What BaseProtocol turns into Malformed, plus RecursionError: msgspec raises it for
# absurdly nested JSON, and receive() must never raise.
_BAD_CONTENT = (
    FrameError,
    msgspec.MsgspecError,
    InvalidOperation,
    ValueError,
    TypeError,
    RecursionError,
)


_UNSET = msgspec.UNSET


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"


class ClearStreetProtocol(BaseProtocol):
    """Turns ``activity`` channel frames into events.

    An unsequenced frame gives one event. A frame with a ``sequence`` gives exactly one
    :class:`~reconciler.events.Sequenced` wrapping that event (a ``Malformed`` one when
    the content is bad), so the core can account for every sequence number.
    """

    def __init__(self, account: str) -> None:
        self.account = account

    def parse(self, frame: str | bytes) -> list[Event]:
        """Decode one frame; a bad envelope raises FrameError (one Malformed event)."""
        try:
            envelope = TIMED_ENVELOPE_DECODER.decode(frame)
        except Exception:  # noqa: BLE001 - the two-step path below tells the cases apart
            return self._parse_raw_timestamp(frame)
        sequence = envelope.sequence
        if sequence is _UNSET:
            return [self._payload(envelope.payload)]
        return [self._timed_sequenced(sequence, envelope.timestamp, envelope.payload, frame)]

    def _parse_raw_timestamp(self, frame: str | bytes) -> list[Event]:
        """:meth:`parse` for a frame the one-pass envelope rejects (the timestamp apart)."""
        try:
            envelope = ENVELOPE_DECODER.decode(frame)
        except RecursionError:
            raise FrameError("frame is nested too deeply") from None
        if envelope.sequence is msgspec.UNSET:
            return [self._payload(envelope.payload)]
        return [self._sequenced(envelope.sequence, envelope, frame)]

    def _timed_sequenced(
        self,
        sequence: int,
        millis: float | msgspec.UnsetType | None,
        raw: msgspec.Raw,
        frame: str | bytes,
    ) -> Sequenced:
        """:meth:`_sequenced` for a valid timestamp, decoded with the envelope.

        The payload's type tag is the decoded payload's (see ``TAGS``); only a payload
        that does not decode has its tag decoded on its own.
        """
        digest = _digest(sequence, raw)
        day = ""
        kind = None
        try:
            if millis is not None and millis is not _UNSET:
                day = trading_day(millis)
            if not raw:
                raise FrameError("frame has no payload")
            try:
                msg = PAYLOAD_DECODER.decode(raw)
            except (msgspec.DecodeError, InvalidOperation, RecursionError) as exc:
                event = self._undecodable(raw, exc)
            else:
                kind = TAGS[type(msg)]
                event = payload_event(msg)
        except _BAD_CONTENT as exc:
            event = Malformed(reason=_reason(exc), excerpt=excerpt(frame))
        if kind is None:
            kind = _kind(raw)
        return Sequenced(sequence=sequence, digest=digest, day=day, kind=kind, events=(event,))

    def _payload(self, raw: msgspec.Raw) -> Event:
        """The payload's event; raises for bad content, returns Ignored for unknown types."""
        if not raw:
            raise FrameError("frame has no payload")
        try:
            msg = PAYLOAD_DECODER.decode(raw)
        except (msgspec.DecodeError, InvalidOperation, RecursionError) as exc:
            return self._undecodable(raw, exc)
        return payload_event(msg)

    @staticmethod
    def _undecodable(raw: msgspec.Raw, exc: Exception) -> Event:
        try:
            kind = TYPE_DECODER.decode(raw).type
        except (msgspec.DecodeError, RecursionError):
            raise FrameError(f"payload: {_reason(exc)}") from None
        if kind in KNOWN_TYPES:
            raise FrameError(f"{kind}: {_reason(exc)}") from None
        return Ignored(reason=f"unknown payload type {kind[:60]!r}")

    def _sequenced(self, sequence: int, envelope: Envelope, frame: str | bytes) -> Sequenced:
        digest = _digest(sequence, envelope.payload)
        day = ""
        try:
            day = _day(envelope.timestamp)
            event = self._payload(envelope.payload)
        except _BAD_CONTENT as exc:
            event = Malformed(reason=_reason(exc), excerpt=excerpt(frame))
        return Sequenced(
            sequence=sequence, digest=digest, day=day, kind=_kind(envelope.payload), events=(event,)
        )


def _kind(raw: msgspec.Raw) -> str:
    """The payload's type, or "" when it has none."""
    try:
        return TYPE_DECODER.decode(raw).type if raw else ""
    except (msgspec.DecodeError, RecursionError):
        return ""


def _day(raw: msgspec.Raw) -> str:
    """The New York date of the envelope timestamp; "" when there is none."""
    if not raw:
        return ""
    try:
        millis = TIMESTAMP_DECODER.decode(raw)
    except msgspec.DecodeError as exc:
        raise FrameError(f"timestamp: {_reason(exc)}") from None
    return "" if millis is None else day_of(millis)


def _digest(sequence: int, raw: msgspec.Raw) -> int:
    """Identifies a message's content whatever its send time, key order or whitespace.

    The canonical form is ``{"payload":<payload>,"sequence":<n>}`` with sorted keys and
    no whitespace: the bytes the canonical encoder gives for that object, written out
    around the payload's own encoding (``payload`` sorts before ``sequence``).
    """
    try:
        payload = CANONICAL_ENCODER.encode(GENERIC_DECODER.decode(raw)) if raw else b"null"
        canonical = b'{"payload":%b,"sequence":%d}' % (payload, sequence)
    except (msgspec.MsgspecError, InvalidOperation, RecursionError, OverflowError):
        # Content no canonical form exists for (it is malformed anyway): fall back to
        # the exact bytes, which still tells an identical re-send from a different one.
        canonical = b"raw:%d:" % sequence + bytes(raw)
    return content_digest(canonical)


class ClearStreetPlugin(VenuePlugin):
    """The Clear Street Studio venue: the ``activity`` channel of one account."""

    name = "clearstreet"
    status_table: Mapping[str, Status] = STATUS_TABLE
    streams_executions = True
    credential_names: tuple[str, ...] = CREDENTIAL_NAMES
    default_url: str | None = STREAM_URL

    def protocol(self, account: str) -> ClearStreetProtocol:
        """A fresh protocol object for one connection of ``account``."""
        return ClearStreetProtocol(account)

    def link(self, settings: LinkSettings) -> ClearStreetLink:
        """The connection recipe for one account: one subscribe message with the token."""
        return ClearStreetLink(settings)

    def simulator(self, credentials: Mapping[str, Mapping[str, str]]) -> ClearStreetSimulator:
        """A simulated ``activity`` channel knowing each account id's ``token``."""
        return ClearStreetSimulator(credentials)

    def bench_kit(self) -> ClearStreetBenchKit:
        """Clear Street's reference parsers and open-order frames for ``reconciler bench``."""
        return ClearStreetBenchKit()
