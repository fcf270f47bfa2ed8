"""What a venue plugin gives ``reconciler bench`` to measure its parser against.

A plugin's :meth:`~reconciler.plugin.VenuePlugin.bench_kit` returns a :class:`BenchKit`
with two reference parsers for the same frames its protocol object parses:

* :meth:`BenchKit.decode` is the *ceiling*: the frame run through exactly the typed
  msgspec decoders :meth:`~reconciler.plugin.VenueProtocol.receive` uses, and nothing
  else (no normalization, no events, no reconciliation).
* :meth:`BenchKit.naive` is the *naive baseline*: ``json.loads`` into dicts, the venue
  numbers as ``Decimal``, and the same per-report arithmetic the core does, done
  through :func:`naive_apply` on a plain dict book.
* :meth:`BenchKit.open_orders` gives frames that leave many orders open, for the
  memory measurement.

Both are measurement aids only; the engine never calls them.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any, Protocol

__all__ = ["BenchKit", "NaiveBook", "naive_apply", "naive_execution", "naive_number"]

#: The naive baseline's order book: order id -> field name -> value.
NaiveBook = dict[str, dict[str, Any]]

#: Statuses after which the naive baseline treats a further fill as a fault.
_TERMINAL = frozenset({"filled", "canceled", "rejected", "expired"})


class BenchKit(Protocol):
    """A venue's reference parsers for the throughput benchmark (see the module doc)."""

    def decode(self, frame: str | bytes) -> object:
        """Decode ``frame`` with the protocol's own typed decoders and nothing more."""
        ...

    def naive(self, frame: str | bytes, book: NaiveBook) -> int:
        """``json.loads`` the frame and apply each order report in it to ``book`` with
        :func:`naive_apply`; returns the number of faults the arithmetic found."""
        ...

    def open_orders(self, count: int, children: int = 0) -> Iterator[str]:
        """Frames that, fed in order, leave ``count`` orders open (acknowledged, partly
        filled); with ``children``, parent multi-orders with that many open children
        each (venues without multi-orders raise NotImplementedError)."""
        ...


def naive_number(value: object) -> Decimal | None:
    """A JSON value as the naive baseline reads a number: ``Decimal(str(value))``."""
    if value is None or value == "":
        return None
    return Decimal(str(value))


def naive_apply(
    book: NaiveBook,
    order_id: str,
    status: str,
    quantity: Decimal | None,
    filled: Decimal | None,
    remaining: Decimal | None = None,
    avg_price: Decimal | None = None,
    notional: Decimal | None = None,
) -> int:
    """Apply one order report to a dict book with the core's per-report arithmetic.

    The checks are the ones every report gets from the core: a fill after a terminal
    status, a cumulative fill that goes backwards, more filled than ordered,
    ``filled + remaining == quantity``, ``avg_price x filled ~ notional`` and, where
    :func:`naive_execution` summed executions, no more executed than filled. Returns
    how many of them failed (the baseline's "alerts").
    """
    faults = 0
    order = book.get(order_id)
    if order is None:
        order = book[order_id] = {"status": None, "filled": Decimal(0), "reports": 0}
    prev_filled: Decimal = order["filled"]
    if filled is not None:
        regressed = filled < prev_filled
        if regressed or (filled > prev_filled and order["status"] in _TERMINAL):
            faults += 1
        order["filled"] = filled
    if quantity is not None:
        order["quantity"] = quantity
        if filled is not None and filled > quantity:
            faults += 1
        # As in the core, a final order may state its leftover as 0.
        leftover_ok = remaining == 0 and status in _TERMINAL
        if (
            filled is not None
            and remaining is not None
            and filled + remaining != quantity
            and not leftover_ok
        ):
            faults += 1
    if avg_price is not None and filled is not None and notional is not None:
        expected = avg_price * filled
        if abs(expected - notional) > abs(notional) * Decimal("0.0001"):
            faults += 1
    order["status"] = status
    order["reports"] += 1
    # Venues streaming executions: more executed than the report's cumulative fill.
    executed = order.get("executed")
    if executed is not None and filled is not None and executed > filled:
        faults += 1
    return faults


def naive_execution(book: NaiveBook, order_id: str, quantity: Decimal | None) -> int:
    """Add one execution to its order in a dict book (venues that stream executions).

    Returns 1 (a fault) if it takes a final order past its reported cumulative fill,
    else 0: an open order's report may still be on its way.
    """
    order = book.get(order_id)
    if order is None:
        order = book[order_id] = {"status": None, "filled": Decimal(0), "reports": 0}
    executed = order.get("executed", Decimal(0)) + (quantity or Decimal(0))
    order["executed"] = executed
    return int(order["status"] in _TERMINAL and executed > order["filled"])
