"""The sans-IO protocol object for one Bybit v2 private-stream connection, and the plugin.

Routing, in order:

* an object with a ``topic``: one of ``order``, ``stop_order``, ``execution``,
  ``position`` gives one event per ``data`` element; any other topic (public market
  data, ``wallet``, ...) is Ignored;
* an object with ``success`` or ``request``: a reply to one of our requests
  (see :func:`reply_event`);
* any other object: Ignored. Anything that is not a JSON object: Malformed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import InvalidOperation
from typing import Any

import msgspec

from reconciler.events import (
    Event,
    Heartbeat,
    Ignored,
    Malformed,
    Subscribed,
    VenueError,
)
from reconciler.lifecycle import Status
from reconciler.link import LinkSettings
from reconciler.plugin import BaseProtocol, FrameError, VenuePlugin, excerpt

from ._bench import BybitBenchKit
from ._commands import STREAM_URL
from ._decode import (
    STATUS_TABLE,
    execution_event,
    execution_fill,
    order_event,
    order_update,
    position_event,
    position_update,
    stop_order_event,
    stop_order_update,
)
from ._link import CREDENTIAL_NAMES, BybitLink
from ._simulator import BybitSimulator
from ._wire import (
    ENVELOPE,
    FAST,
    PRIVATE_FRAME,
    PRIVATE_TOPICS,
    REPLY,
    ExecutionFrame,
    FastExecutionFrame,
    FastOrderFrame,
    FastPositionFrame,
    FastStopOrderFrame,
    OrderFrame,
    PositionFrame,
    Reply,
    StopOrderFrame,
)

__all__ = ["BybitPlugin", "BybitProtocol", "reply_event"]

_ElementMapper = Callable[[msgspec.Raw], Event]

_MAPPERS: dict[type, tuple[str, _ElementMapper]] = {
    OrderFrame: ("order", order_event),
    StopOrderFrame: ("stop_order", stop_order_event),
    ExecutionFrame: ("execution", execution_event),
    PositionFrame: ("position", position_event),
}

#: The mapping of a decoded element, per one-pass frame type (see ``FastOrderFrame``).
_FAST_MAPPERS: dict[type, Callable[[Any], Event]] = {
    FastOrderFrame: order_update,
    FastStopOrderFrame: stop_order_update,
    FastExecutionFrame: execution_fill,
    FastPositionFrame: position_update,
}

_MAX_REASON = 200


def _reason(text: str) -> str:
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"


def reply_event(reply: Reply) -> Event:
    """The event for one reply ``{"success":..,"ret_msg":..,"request":{"op":..}}``.

    ``ping`` ok -> Heartbeat; ``auth`` ok -> Subscribed(detail="auth"), refused ->
    VenueError(auth=True); ``subscribe`` ok -> Subscribed(channels=args), refused ->
    VenueError, with ``auth=True`` when ``ret_msg`` mentions auth ("error:topic:order
    needs auth first"). Any other successful reply is Ignored, any other failure a
    VenueError. The v2 replies carry no error code, so ``code`` is always ``None``.
    """
    op = reply.request.op if reply.request is not None else None
    message = reply.ret_msg or ""
    if op == "ping" and reply.success:
        return Heartbeat()
    if op == "auth":
        if reply.success:
            return Subscribed(detail="auth")
        return VenueError(message=message or "auth refused", auth=True)
    if op == "subscribe":
        if reply.success:
            return Subscribed(channels=_channels(reply))
        return VenueError(message=message or "subscribe refused", auth="auth" in message.lower())
    if reply.success:
        return Ignored(reason=f"successful reply to op {op!r}")
    return VenueError(message=message or f"op {op!r} failed")


def _channels(reply: Reply) -> tuple[str, ...]:
    args = reply.request.args if reply.request is not None else None
    if args is None:
        return ()
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise FrameError("subscribe reply: request.args is not a list of topic names")
    return tuple(args)


def _map_elements(topic: str, data: list[msgspec.Raw], mapper: _ElementMapper) -> list[Event]:
    """One event per element; a bad element becomes a Malformed of its own."""
    events: list[Event] = []
    for index, raw in enumerate(data):
        try:
            events.append(mapper(raw))
        except (msgspec.MsgspecError, InvalidOperation, ValueError, TypeError) as exc:
            reason = _reason(f"{topic} data[{index}]: {str(exc) or type(exc).__name__}")
            events.append(Malformed(reason=reason, excerpt=excerpt(bytes(raw))))
    return events


class BybitProtocol(BaseProtocol):
    """Turns Bybit legacy inverse v2 private-stream frames into normalized events.

    Sans-IO: no awaits, no I/O, no clock. ``receive`` (inherited) never raises.
    """

    def __init__(self, account: str) -> None:
        #: The configured account of this connection; v2 messages do not name one.
        self.account = account

    def parse(self, frame: str | bytes) -> list[Event]:
        """Decode one frame; raises for a frame that is not a JSON object (see receive)."""
        try:
            fast = FAST.decode(frame)
            # FAST reads untyped keys with float_hook=Decimal, which accepts numbers the
            # routing envelope rejects (1e999): a frame carrying them takes the steps.
            if fast.success is not msgspec.UNSET or fast.request is not msgspec.UNSET:
                return self._parse_steps(frame)
            mapper = _FAST_MAPPERS[type(fast)]
            return [mapper(data) for data in fast.data]
        except Exception:  # noqa: BLE001 - the step-by-step path below tells the cases apart
            return self._parse_steps(frame)

    def _parse_steps(self, frame: str | bytes) -> list[Event]:
        """:meth:`parse` step by step: routing envelope, frame, then each element."""
        head = ENVELOPE.decode(frame)
        if head.topic is not None:
            if head.topic not in PRIVATE_TOPICS:
                return [Ignored(reason=_reason(f"topic {head.topic!r} is not reconciled"))]
            message = PRIVATE_FRAME.decode(frame)
            topic, mapper = _MAPPERS[type(message)]
            return _map_elements(topic, message.data, mapper)
        if head.success is not msgspec.UNSET or head.request is not msgspec.UNSET:
            return [reply_event(REPLY.decode(frame))]
        return [Ignored(reason="a JSON object with neither a topic nor a reply")]


class BybitPlugin(VenuePlugin):
    """The ``bybit`` venue: the legacy inverse v2 private stream (``/realtime``)."""

    name = "bybit"
    status_table: Mapping[str, Status] = STATUS_TABLE
    streams_executions = True
    credential_names: tuple[str, ...] = CREDENTIAL_NAMES
    default_url: str | None = STREAM_URL

    def protocol(self, account: str) -> BybitProtocol:
        """A fresh protocol object for one connection of ``account``."""
        return BybitProtocol(account)

    def link(self, settings: LinkSettings) -> BybitLink:
        """The connection recipe for one account: auth frame, subscribe, ping every 20 s."""
        return BybitLink(settings)

    def simulator(self, credentials: Mapping[str, Mapping[str, str]]) -> BybitSimulator:
        """A simulated ``/realtime`` stream knowing each account's ``api_key`` and
        ``api_secret``."""
        return BybitSimulator(credentials)

    def bench_kit(self) -> BybitBenchKit:
        """Bybit's reference parsers and open-order frames for ``reconciler bench``."""
        return BybitBenchKit()
