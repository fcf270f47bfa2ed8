"""reconciler: an order-state reconciliation engine for trading systems.

The public API of the core:

* :class:`Reconciler` — the pure core: feed it venue frames, expectations and time; it
  returns :class:`Alert`\\ s.
* :mod:`reconciler.events` — the normalized events venue plugins produce.
* :mod:`reconciler.lifecycle` — the canonical :class:`Status` and its transition table.
* :mod:`reconciler.alerts` — the alert catalog (:class:`AlertCode`, :class:`Severity`).
* :mod:`reconciler.plugin` — the venue plugin contract (:class:`VenuePlugin`).
* :mod:`reconciler.capture` — the capture format and :func:`replay`.

The live engine, for Trio programs (imported on demand, so replay-only users do not
load the network stack):

* :func:`reconciler.engine.open_engine` — every configured venue account, supervised,
  feeding one core; alerts as an async stream (see docs/embedding.md).
* :mod:`reconciler.settings` and :func:`reconciler.config_file.load_settings` — the
  configuration; :mod:`reconciler.link` and :mod:`reconciler.simulator` — the live half
  of the plugin contract (see docs/plugins.md).
"""

from __future__ import annotations

from reconciler.alerts import DEFAULT_SEVERITY, Alert, AlertCode, Severity
from reconciler.config import CoreConfig
from reconciler.core import OrderState, Reconciler, UnknownVenueError
from reconciler.events import Expectation
from reconciler.lifecycle import Status
from reconciler.plugin import VenuePlugin, VenueProtocol, load_plugins

__all__ = [
    "DEFAULT_SEVERITY",
    "Alert",
    "AlertCode",
    "CoreConfig",
    "Expectation",
    "OrderState",
    "Reconciler",
    "Severity",
    "Status",
    "UnknownVenueError",
    "VenuePlugin",
    "VenueProtocol",
    "load_plugins",
]

__version__ = "0.1.0"
