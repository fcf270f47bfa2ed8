"""Shared pieces of the live tests: settings for simulators, and running a session."""

from __future__ import annotations

import gc
import random
import warnings
from collections.abc import Mapping
from typing import Any

import trio

from reconciler._clock import EpochClock
from reconciler.alerts import Alert
from reconciler.engine import Engine
from reconciler.settings import AccountConfig, ConnectionConfig, Settings, VenueConfig
from reconciler.simserver import SimulatorServer, _Conn

#: A round epoch for simulator clocks: whole virtual seconds stay whole milliseconds.
EPOCH = 1_700_000_000.0

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
    servers: Mapping[str, tuple[SimulatorServer | str, Mapping[str, Mapping[str, str]]]],
    *,
    connection: ConnectionConfig = FAST,
    keep_alive: float | None = None,
    idle: float | None = None,
) -> tuple[Settings, dict[str, str]]:
    """Settings pointing every venue at its simulator; credentials go in ``environ``.

    ``servers`` maps venue -> (server or URL, {account: {credential name: value}}).
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
            url=server if isinstance(server, str) else server.url,
            accounts=accts,
            keep_alive_interval=keep_alive,
            idle_timeout=idle,
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


def fixed_clock() -> EpochClock:
    """An epoch clock starting at :data:`EPOCH` (create it inside ``trio.run``)."""
    return EpochClock(EPOCH)


def seeded_rng(seed: int, index: int = 0) -> random.Random:
    """The jitter source :func:`seed_engine` gives the ``index``-th supervisor."""
    return random.Random(seed * 1000 + index)


def seed_engine(engine: Engine, seed: int = 0) -> None:
    """Give every supervisor of ``engine`` a seeded jitter source.

    Call it right after entering ``open_engine``, before the first checkpoint: the
    supervisors have been created but have not run yet.
    """
    for i, sup in enumerate(engine._supervisors):
        rng = seeded_rng(seed, i)
        sup.rng = rng
        sup.backoff.rng = rng


class RecordingServer(SimulatorServer):
    """A simulator server that also records the close code of every connection the
    client closed (``None`` when it ended without a close frame from the client)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.close_codes: list[int | None] = []

    async def _reader(self, conn: _Conn) -> None:
        try:
            await super()._reader(conn)
        finally:
            # Set once a close frame came in (the reader may also be cancelled by the
            # writer meeting the closed connection first).
            reason = conn.ws.closed
            self.close_codes.append(None if reason is None else int(reason.code))


def release_rejected_sockets() -> None:
    """Collect the client sockets of handshakes the venue rejected (HTTP 401...).

    trio-websocket leaves the TCP stream of a rejected handshake to the garbage
    collector; collected later, in another test, its ResourceWarning would fail that
    test (warnings are errors here). Collect them now, quietly; the test itself
    ignores ResourceWarning for the ones freed while it runs.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
