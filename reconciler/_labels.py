"""Display names for alert messages."""

from __future__ import annotations

VENUE_LABELS = {
    "tread": "Tread.fi",
    "btse": "BTSE",
    "bybit": "Bybit",
    "clearstreet": "Clear Street",
}


def label(venue: str) -> str:
    """The venue's display name (its own name for venues we do not know)."""
    return VENUE_LABELS.get(venue, venue)
