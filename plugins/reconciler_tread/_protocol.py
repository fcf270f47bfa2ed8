"""The sans-IO Tread.fi protocol object and the venue plugin."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from reconciler.events import Event, Ignored
from reconciler.lifecycle import Status
from reconciler.link import LinkSettings
from reconciler.plugin import BaseProtocol, FrameError, VenuePlugin
from reconciler_tread._bench import TreadBenchKit
from reconciler_tread._decode import STATUS_TABLE, order_update_events
from reconciler_tread._link import TreadLink
from reconciler_tread._simulator import TreadSimulator
from reconciler_tread._wire import ENVELOPE_DECODER, FAST_DECODER, ORDER_UPDATE_DECODER

__all__ = ["ORDER_UPDATE", "TreadPlugin", "TreadProtocol"]

#: The only frame type the Order Status WebSocket documents.
ORDER_UPDATE = "order_update"
_UNSET = msgspec.UNSET


class TreadProtocol(BaseProtocol):
    """Turns Tread.fi Order Status WebSocket frames into normalized events.

    ``order_update`` frames become :class:`~reconciler.events.OrderUpdate` events (for a
    multi-order: its carried children first, then the parent). Any other JSON object
    becomes :class:`~reconciler.events.Ignored`: the server's replies to subscribe and
    keep-alive are undocumented. Anything else is
    :class:`~reconciler.events.Malformed`. Never awaits, never raises.
    """

    def __init__(self, account: str) -> None:
        #: The account this connection was configured for (not a field of any frame).
        self.account = account

    def parse(self, frame: str | bytes) -> list[Event]:
        """Decode one frame; raises for a frame that :meth:`receive` reports as Malformed."""
        try:
            fast = FAST_DECODER.decode(frame)
        except Exception:  # noqa: BLE001 - the two steps below tell the cases apart
            return self._parse_steps(frame)
        data = fast.data
        if data is _UNSET or fast.type != ORDER_UPDATE:
            return self._parse_steps(frame)
        return order_update_events(data)

    def _parse_steps(self, frame: str | bytes) -> list[Event]:
        """:meth:`parse` in two steps: the envelope, then an ``order_update``'s body."""
        try:
            envelope = ENVELOPE_DECODER.decode(frame)
            if envelope.type != ORDER_UPDATE:
                return [Ignored(reason=_ignored_reason(envelope.type))]
            if not envelope.data:
                raise FrameError("order_update without data")
            update = ORDER_UPDATE_DECODER.decode(envelope.data)
        except RecursionError:
            # msgspec gives up on deeply nested JSON with RecursionError, which
            # BaseProtocol.receive does not catch.
            raise FrameError("JSON nested too deeply") from None
        return order_update_events(update)


def _ignored_reason(tag: object) -> str:
    if tag is None:
        return "frame without a type"
    text = repr(tag)
    return f"frame type {text if len(text) <= 60 else text[:59] + '…'} is not reconciled"


class TreadPlugin(VenuePlugin):
    """The Tread.fi venue: ``name`` ``tread``, statuses as in :data:`STATUS_TABLE`.

    A live account needs its API ``token`` and the ``url`` of its own server: every
    customer has one (``wss://<server>/ws/orders/``), so there is no default URL.
    """

    name = "tread"
    status_table: Mapping[str, Status] = STATUS_TABLE
    credential_names = ("token",)
    default_url = None

    def protocol(self, account: str) -> TreadProtocol:
        """A fresh protocol object for one connection of ``account``."""
        return TreadProtocol(account)

    def link(self, settings: LinkSettings) -> TreadLink:
        """The connection recipe for one configured account."""
        return TreadLink(settings)

    def simulator(self, credentials: Mapping[str, Mapping[str, str]]) -> TreadSimulator:
        """A simulated Order Status WebSocket knowing each account's ``token``."""
        return TreadSimulator(credentials)

    def bench_kit(self) -> TreadBenchKit:
        """Tread.fi's reference parsers and open-order frames for ``reconciler bench``."""
        return TreadBenchKit()
