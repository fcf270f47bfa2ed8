"""Shared pieces of the live tests: settings for simulators, and running a session."""

from __future__ import annotations

from collections.abc import Mapping

import trio

from reconciler.alerts import Alert
from reconciler.engine import Engine
from reconciler.settings import AccountConfig, ConnectionConfig, Settings, VenueConfig
from reconciler.simserver import SimulatorServer

FAST = ConnectionConfig(
    connect_timeout=2.0,
    backoff_initial=0.5,
    backoff_max=2.0,
    healthy_after=5.0,
    auth_retry=5.0,
    reconnect_alert_after=30.0,
    close_grace=1.0,
)


def settings_for(
    servers: Mapping[str, tuple[SimulatorServer, Mapping[str, Mapping[str, str]]]],
    *,
    connection: ConnectionConfig = FAST,
    keep_alive: float | None = None,
    idle: float | None = None,
) -> tuple[Settings, dict[str, str]]:
    """Settings pointing every venue at its simulator; credentials go in ``environ``.

    ``servers`` maps venue -> (server, {account: {credential name: value}}).
    """
    environ: dict[str, str] = {}
    venues: dict[str, VenueConfig] = {}
    for venue, (server, accounts) in servers.items():
        accts: dict[str, AccountConfig] = {}
        for account, creds in accounts.items():
            names: dict[str, str] = {}
            for name, value in creds.items():
                var = f"{venue}_{account}_{name}".upper()
                environ[var] = value
                names[name] = var
            accts[account] = AccountConfig(credentials=names)
        venues[venue] = VenueConfig(
            url=server.url, accounts=accts, keep_alive_interval=keep_alive, idle_timeout=idle
        )
    return Settings(venues=venues, connection=connection), environ


async def collect(
    engine: Engine,
    into: list[Alert],
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Append every alert of ``engine`` to ``into`` until cancelled."""
    async with engine.alerts() as alerts:
        task_status.started()
        async for alert in alerts:
            into.append(alert)  # noqa: PERF401 - the caller reads it while it grows
