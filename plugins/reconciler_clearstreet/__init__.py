"""Clear Street Studio venue plugin: the ``activity`` WebSocket channel.

Exports :data:`plugin` (registered in the ``reconciler.venues`` entry-point group), the
sans-IO :class:`ClearStreetProtocol`, the :data:`STATUS_TABLE`, the
:func:`subscribe_frame` command builder, the connection recipe :class:`ClearStreetLink`
(and the production and sandbox URLs) and the simulated venue
:class:`ClearStreetSimulator` (with its per-connection :class:`ClearStreetSession`).
"""

from __future__ import annotations

from reconciler_clearstreet._commands import subscribe_frame
from reconciler_clearstreet._link import SANDBOX_URL, STREAM_URL, ClearStreetLink
from reconciler_clearstreet._mapping import STATUS_TABLE
from reconciler_clearstreet._protocol import ClearStreetPlugin, ClearStreetProtocol
from reconciler_clearstreet._simulator import ClearStreetSession, ClearStreetSimulator

__all__ = [
    "SANDBOX_URL",
    "STATUS_TABLE",
    "STREAM_URL",
    "ClearStreetLink",
    "ClearStreetPlugin",
    "ClearStreetProtocol",
    "ClearStreetSession",
    "ClearStreetSimulator",
    "plugin",
    "subscribe_frame",
]

#: The plugin instance the entry point names.
plugin = ClearStreetPlugin()
