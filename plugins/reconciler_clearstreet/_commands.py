"""Frames the client sends on the ``activity`` channel (pure builders, no I/O)."""

from __future__ import annotations

import msgspec

__all__ = ["subscribe_frame"]

_ENCODER = msgspec.json.Encoder()


def subscribe_frame(token: str, account_id: str) -> str:
    """The ``subscribe-activity`` message for ``account_id``, as compact JSON text.

    Clear Street has no login frame: the OAuth2 access token rides in every subscribe
    message. Raises ValueError for an empty token or account, which the venue would
    only answer with an error-notice.
    """
    if not token:
        raise ValueError("subscribe_frame: empty access token")
    if not account_id:
        raise ValueError("subscribe_frame: empty account id")
    message = {
        "authorization": token,
        "payload": {"type": "subscribe-activity", "account_id": account_id},
    }
    return _ENCODER.encode(message).decode()
