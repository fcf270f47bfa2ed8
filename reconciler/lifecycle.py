"""The canonical order lifecycle every venue status maps into, and its transition table.

All order-state rules about *which status may follow which* live here, in one table
(modelled on h11's ``_state.py``): a venue plugin maps its raw status into a
:class:`Status`, and the reconciler asks :func:`transition_allowed` before applying a
status change. Nothing else in the code base decides what a legal transition is.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "OPEN_STATUSES",
    "TERMINAL_STATUSES",
    "TRANSITIONS",
    "Status",
    "is_terminal",
    "transition_allowed",
]


class Status(StrEnum):
    """A venue-neutral order status.

    Open statuses: ``pending`` (sent, not yet acknowledged), ``accepted`` (live on the
    venue, including Tread.fi ACTIVE/FINISHER), ``untriggered`` (a conditional order
    waiting for its trigger), ``triggered``, ``partially_filled``, ``paused``,
    ``pending_cancel``. Terminal statuses: ``filled``, ``canceled``, ``rejected``,
    ``expired``. ``unknown`` is what an unmapped venue status becomes: quantities are
    still tracked, transitions are not judged.
    """

    PENDING = "pending"
    ACCEPTED = "accepted"
    UNTRIGGERED = "untriggered"
    TRIGGERED = "triggered"
    PARTIALLY_FILLED = "partially_filled"
    PAUSED = "paused"
    PENDING_CANCEL = "pending_cancel"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


TERMINAL_STATUSES: frozenset[Status] = frozenset(
    {Status.FILLED, Status.CANCELED, Status.REJECTED, Status.EXPIRED}
)
OPEN_STATUSES: frozenset[Status] = frozenset(
    {
        Status.PENDING,
        Status.ACCEPTED,
        Status.UNTRIGGERED,
        Status.TRIGGERED,
        Status.PARTIALLY_FILLED,
        Status.PAUSED,
        Status.PENDING_CANCEL,
    }
)

_S = Status
# Open statuses that can follow any live state. Venues legitimately move between these
# in any order (a fill during pending-cancel, a cancel-reject back to accepted, a pause
# and a resume, a stop order whose trigger report races its first order report), so the
# table stays permissive inside the open set and strict at the edges.
_LIVE = frozenset({_S.ACCEPTED, _S.TRIGGERED, _S.PARTIALLY_FILLED, _S.PAUSED, _S.PENDING_CANCEL})

#: ``TRANSITIONS[a]`` is the set of statuses an order in status ``a`` may move to.
#: Staying in the same status is always allowed and is not listed.
#: - ``pending`` only ever comes first: nothing returns to it.
#: - ``untriggered`` only follows ``pending``: a working or triggered order never un-triggers.
#: - a terminal status is final: a terminal order may not reopen or change terminal status
#:   (filled -> canceled, canceled -> filled, ...). New fill quantity on a terminal order is
#:   judged separately (FILL_AFTER_TERMINAL), never as a transition.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    _S.PENDING: _LIVE | {_S.UNTRIGGERED} | TERMINAL_STATUSES,
    _S.UNTRIGGERED: _LIVE | TERMINAL_STATUSES,
    _S.ACCEPTED: _LIVE | TERMINAL_STATUSES,
    _S.TRIGGERED: _LIVE | TERMINAL_STATUSES,
    _S.PARTIALLY_FILLED: _LIVE | TERMINAL_STATUSES,
    _S.PAUSED: _LIVE | TERMINAL_STATUSES,
    _S.PENDING_CANCEL: _LIVE | TERMINAL_STATUSES,
    _S.FILLED: frozenset(),
    _S.CANCELED: frozenset(),
    _S.REJECTED: frozenset(),
    _S.EXPIRED: frozenset(),
    # An order whose status we could not map may go anywhere: we cannot judge it.
    _S.UNKNOWN: OPEN_STATUSES | TERMINAL_STATUSES,
}


def is_terminal(status: Status) -> bool:
    """True for ``filled``, ``canceled``, ``rejected`` and ``expired``."""
    return status in TERMINAL_STATUSES


def transition_allowed(old: Status, new: Status) -> bool:
    """Whether the table lets an order move from ``old`` to ``new``.

    ``unknown`` on either side is always allowed: an unmapped status is reported as
    UNKNOWN_STATUS, not as an illegal transition.
    """
    if old is new or new is Status.UNKNOWN:
        return True
    return new in TRANSITIONS[old]
