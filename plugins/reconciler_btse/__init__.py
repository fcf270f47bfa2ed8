"""BTSE futures venue plugin: the ``notificationApiV4`` order stream.

Exports :data:`plugin` (registered under the ``reconciler.venues`` entry point as
``btse``), the sans-IO :class:`BtseProtocol`, and the command builders the live engine
sends: :func:`auth_frame`, :func:`subscribe_frame`, :data:`PING_FRAME`, :func:`sign`.
See docs/venues/btse.md for every mapping decision.
"""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.lifecycle import Status
from reconciler.plugin import VenuePlugin
from reconciler_btse._commands import AUTH_PATH, PING_FRAME, auth_frame, sign, subscribe_frame
from reconciler_btse._protocol import MAX_LIFETIME, STATUS_TABLE, TOPIC, BtseProtocol

__all__ = [
    "AUTH_PATH",
    "MAX_LIFETIME",
    "PING_FRAME",
    "STATUS_TABLE",
    "TESTNET_URL",
    "TOPIC",
    "URL",
    "BtsePlugin",
    "BtseProtocol",
    "auth_frame",
    "plugin",
    "sign",
    "subscribe_frame",
]

#: Production and testnet WebSocket endpoints.
URL = "wss://ws.btse.com/ws/futures"
TESTNET_URL = "wss://testws.btse.io/ws/futures"


class BtsePlugin(VenuePlugin):
    """The BTSE futures venue: name ``btse``, statuses from :data:`STATUS_TABLE`."""

    name = "btse"
    status_table: Mapping[str, Status] = STATUS_TABLE

    def protocol(self, account: str) -> BtseProtocol:
        """A fresh protocol object for one connection of ``account``."""
        return BtseProtocol(account)


#: The plugin instance the entry point names.
plugin = BtsePlugin()
