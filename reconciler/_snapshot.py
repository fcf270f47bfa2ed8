"""The core's state as bytes (journal snapshots) and as a time-independent digest.

A snapshot is the whole mutable state of a :class:`~reconciler.Reconciler` — orders,
fill sets, parent/child indexes, pending expectations, sequence positions, pending
timers, de-duplication memory — pickled. Pickle rather than a hand-written schema
because recovery must resume with *exactly* the state an uninterrupted run would have,
and a hand-written encoder is one forgotten field away from a silent divergence; the
digest test (state after recovery == state of an uninterrupted run) guards it.

Pickle executes code from the bytes it loads, so snapshots are only ever read from the
engine's own journal: whoever can write that file can already rewrite the audit trail.
A snapshot carries a format number; one written by an incompatible version is refused
(:class:`SnapshotError`) and recovery replays the journal's records instead.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from reconciler._state import State
from reconciler._streams import StreamState
from reconciler.events import PositionUpdate

__all__ = ["CoreState", "SnapshotError", "digest", "dumps", "loads"]

# Bump whenever a pickled class changes shape (slots added, renamed or re-typed).
FORMAT: Final = 3
_MAGIC: Final = b"RCSNAP"


class SnapshotError(Exception):
    """A snapshot cannot be restored (another format, or damaged)."""


@dataclass(slots=True)
class CoreState:
    """The parts of a Reconciler a snapshot holds."""

    state: State
    streams: dict[tuple[str, str], StreamState]
    positions: dict[tuple[str, str, str], PositionUpdate]


def dumps(core: CoreState) -> bytes:
    """The snapshot bytes: magic, format number, then the pickled state."""
    header = _MAGIC + FORMAT.to_bytes(2, "big")
    return header + pickle.dumps(core, protocol=pickle.HIGHEST_PROTOCOL)


def loads(blob: bytes) -> CoreState:
    """The state a snapshot holds; :class:`SnapshotError` if it cannot be restored."""
    if not blob.startswith(_MAGIC) or len(blob) < len(_MAGIC) + 2:
        raise SnapshotError("not a reconciler state snapshot")
    fmt = int.from_bytes(blob[len(_MAGIC) : len(_MAGIC) + 2], "big")
    if fmt != FORMAT:
        raise SnapshotError(f"snapshot format {fmt}, this reconciler reads format {FORMAT}")
    try:
        core = pickle.loads(blob[len(_MAGIC) + 2 :])  # noqa: S301 - our own journal only
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means "cannot restore"
        raise SnapshotError(f"damaged snapshot: {type(exc).__name__}") from None
    if not isinstance(core, CoreState):
        raise SnapshotError("the snapshot does not hold a reconciler state")
    return core


def digest(core: CoreState) -> str:
    """A digest of the state that does not depend on when frames arrived.

    Two runs that received the same frames (at different times, or one interrupted and
    recovered) have the same digest: it covers every order's identity, status,
    quantities, fills and alerts raised, the fill index, parent/child links, pending
    expectations, sequence positions and the pending checks (what and for whom, not
    when). Receive times, counters and history are left out.
    """
    st = core.state
    h = hashlib.blake2b(digest_size=16)

    def put(items: Iterable[Any]) -> None:
        for item in items:
            h.update(repr(item).encode())
            h.update(b"\x1e")

    put(
        (
            key,
            r.account,
            r.reported,
            r.status,
            r.raw_status,
            r.client_order_id,
            r.parent_id,
            r.symbol,
            r.side,
            r.quantity,
            r.original_quantity,
            r.filled,
            r.remaining,
            r.avg_price,
            r.notional,
            r.fees,
            r.exec_sum,
            sorted(r.fill_ids or ()),
            r.is_parent,
            r.child_ids,
            sorted(r.alert_ids or ()),
            r.expectation,
        )
        for key, r in sorted(st.orders.items())
    )
    put(sorted(st.fills.items()))
    put(sorted((k, sorted(v)) for k, v in st.children.items()))
    put(sorted(st.clients.items()))
    put(
        (k, p.expectation, p.order_id, p.alerted)
        for k, p in sorted(st.expectations.items(), key=lambda kv: kv[0])
    )
    put(
        (k, s.day, s.last, s.low, [(lo, hi) for lo, hi, _ in s.missing])
        for k, s in sorted(core.streams.items())
    )
    put(sorted((int(check), subject) for _, check, subject in st.timers.pending()))
    return h.hexdigest()
