"""Tread.fi venue plugin: the Order Status WebSocket (``wss://<server>/ws/orders/``).

Exposes :data:`plugin` (registered under the ``reconciler.venues`` entry point as
``tread``), the sans-IO :class:`TreadProtocol`, the status table, pure builders for the
frames and URL the live engine sends, the connection recipe :class:`TreadLink` and the
venue simulator :class:`TreadSimulator`.
"""

from __future__ import annotations

from reconciler_tread._commands import (
    AUTH_REFUSED_CLOSE_CODE,
    IDLE_TIMEOUT,
    KEEP_ALIVE_INTERVAL,
    connection_url,
    keep_alive_frame,
    subscribe_frame,
    unsubscribe_frame,
)
from reconciler_tread._decode import CARRIED_REASON, STATUS_TABLE
from reconciler_tread._link import TreadLink
from reconciler_tread._protocol import TreadPlugin, TreadProtocol
from reconciler_tread._simulator import TreadSession, TreadSimulator

__all__ = [
    "AUTH_REFUSED_CLOSE_CODE",
    "CARRIED_REASON",
    "IDLE_TIMEOUT",
    "KEEP_ALIVE_INTERVAL",
    "STATUS_TABLE",
    "TreadLink",
    "TreadPlugin",
    "TreadProtocol",
    "TreadSession",
    "TreadSimulator",
    "connection_url",
    "keep_alive_frame",
    "plugin",
    "subscribe_frame",
    "unsubscribe_frame",
]

#: The Tread.fi :class:`~reconciler.plugin.VenuePlugin` instance.
plugin = TreadPlugin()
