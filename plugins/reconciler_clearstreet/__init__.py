"""Clear Street Studio venue plugin: the ``activity`` WebSocket channel.

Exports :data:`plugin` (registered in the ``reconciler.venues`` entry-point group), the
sans-IO :class:`ClearStreetProtocol`, the :data:`STATUS_TABLE` and the
:func:`subscribe_frame` command builder.
"""

from __future__ import annotations

from reconciler_clearstreet._commands import subscribe_frame
from reconciler_clearstreet._mapping import STATUS_TABLE
from reconciler_clearstreet._protocol import ClearStreetPlugin, ClearStreetProtocol

__all__ = [
    "STATUS_TABLE",
    "ClearStreetPlugin",
    "ClearStreetProtocol",
    "plugin",
    "subscribe_frame",
]

#: The plugin instance the entry point names.
plugin = ClearStreetPlugin()
