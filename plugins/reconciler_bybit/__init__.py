"""Bybit legacy inverse v2 private stream (``wss://stream.bybit.com/realtime``).

Exports the :data:`plugin` instance registered under the ``reconciler.venues``
entry-point group, the sans-IO :class:`BybitProtocol`, the status table, the command
builders, the connection recipe :class:`BybitLink` and the simulated venue
:class:`BybitSimulator` (with its per-connection :class:`BybitSession`).
See ``docs/venues/bybit.md`` for every mapping decision.
"""

from __future__ import annotations

from ._commands import (
    PING_FRAME,
    PING_INTERVAL,
    STREAM_URL,
    SUBSCRIBE_TOPICS,
    TESTNET_STREAM_URL,
    auth_frame,
    auth_query,
    sign,
    subscribe_frame,
)
from ._decode import STATUS_TABLE
from ._link import AUTH_EXPIRY_MS, BybitLink
from ._protocol import BybitPlugin, BybitProtocol
from ._simulator import BybitSession, BybitSimulator

__all__ = [
    "AUTH_EXPIRY_MS",
    "PING_FRAME",
    "PING_INTERVAL",
    "STATUS_TABLE",
    "STREAM_URL",
    "SUBSCRIBE_TOPICS",
    "TESTNET_STREAM_URL",
    "BybitLink",
    "BybitPlugin",
    "BybitProtocol",
    "BybitSession",
    "BybitSimulator",
    "auth_frame",
    "auth_query",
    "plugin",
    "sign",
    "subscribe_frame",
]

#: The ``bybit`` venue plugin (entry point ``reconciler_bybit:plugin``).
plugin = BybitPlugin()
