"""BTSE futures venue plugin: the ``notificationApiV4`` order stream.

Exports :data:`plugin` (registered under the ``reconciler.venues`` entry point as
``btse``), the sans-IO :class:`BtseProtocol`, the command builders the live engine
sends (:func:`auth_frame`, :func:`subscribe_frame`, :data:`PING_FRAME`, :func:`sign`),
the connection recipe :class:`BtseLink` and the venue simulator :class:`BtseSimulator`.
See docs/venues/btse.md for every mapping decision.
"""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.lifecycle import Status
from reconciler.link import LinkSettings
from reconciler.plugin import VenuePlugin
from reconciler_btse._bench import BtseBenchKit
from reconciler_btse._commands import AUTH_PATH, PING_FRAME, auth_frame, sign, subscribe_frame
from reconciler_btse._link import BtseLink
from reconciler_btse._protocol import MAX_LIFETIME, STATUS_TABLE, TOPIC, BtseProtocol
from reconciler_btse._simulator import BtseSession, BtseSimulator

__all__ = [
    "AUTH_PATH",
    "MAX_LIFETIME",
    "PING_FRAME",
    "STATUS_TABLE",
    "TESTNET_URL",
    "TOPIC",
    "URL",
    "BtseLink",
    "BtsePlugin",
    "BtseProtocol",
    "BtseSession",
    "BtseSimulator",
    "auth_frame",
    "plugin",
    "sign",
    "subscribe_frame",
]

#: Production and testnet WebSocket endpoints.
URL = "wss://ws.btse.com/ws/futures"
TESTNET_URL = "wss://testws.btse.io/ws/futures"


class BtsePlugin(VenuePlugin):
    """The BTSE futures venue: name ``btse``, statuses from :data:`STATUS_TABLE`.

    A live account needs ``api_key`` and ``api_secret``; the URL defaults to production.
    """

    name = "btse"
    status_table: Mapping[str, Status] = STATUS_TABLE
    credential_names = ("api_key", "api_secret")
    default_url = URL

    def protocol(self, account: str) -> BtseProtocol:
        """A fresh protocol object for one connection of ``account``."""
        return BtseProtocol(account)

    def link(self, settings: LinkSettings) -> BtseLink:
        """The connection recipe for one configured account."""
        return BtseLink(settings)

    def simulator(self, credentials: Mapping[str, Mapping[str, str]]) -> BtseSimulator:
        """A simulated ``/ws/futures`` endpoint knowing each account's key and secret."""
        return BtseSimulator(credentials)

    def bench_kit(self) -> BtseBenchKit:
        """BTSE's reference parsers and open-order frames for ``reconciler bench``."""
        return BtseBenchKit()


#: The plugin instance the entry point names.
plugin = BtsePlugin()
