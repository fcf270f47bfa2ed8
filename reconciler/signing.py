"""The webhook signature: how reconciler signs a delivery and how a receiver checks it.

Every webhook request carries two headers::

    X-Reconciler-Timestamp: 1752147101
    X-Reconciler-Signature: v1=5f0c...e9

The signature is the hex HMAC-SHA256, keyed with the shared secret, of the timestamp,
a dot, and the exact bytes of the request body::

    v1=hex(HMAC-SHA256(secret, b"1752147101." + body))

A receiver recomputes it over the body *as received* (before parsing the JSON),
compares in constant time, and refuses a timestamp too far from its own clock, so that
a captured request cannot be replayed later. :func:`verify` does all three; it depends
on nothing but the standard library, so receivers can copy this module.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["SCHEME", "SIGNATURE_HEADER", "TIMESTAMP_HEADER", "sign", "verify"]

#: The signature scheme's prefix; a new scheme would get a new prefix.
SCHEME = "v1"
#: The header holding the signing time, whole epoch seconds.
TIMESTAMP_HEADER = "X-Reconciler-Timestamp"
#: The header holding ``v1=<hex>`` (several, comma-separated, while a key is rotated).
SIGNATURE_HEADER = "X-Reconciler-Signature"


def _key(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def sign(secret: str | bytes, timestamp: int | str, body: bytes) -> str:
    """The ``X-Reconciler-Signature`` value for ``body`` sent at ``timestamp``.

    ``timestamp`` is whole epoch seconds, exactly as sent in ``X-Reconciler-Timestamp``.
    """
    mac = hmac.new(_key(secret), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def verify(
    secret: str | bytes,
    timestamp: str | int,
    body: bytes,
    signature: str,
    *,
    now: float,
    tolerance: float = 300,
) -> bool:
    """Whether ``signature`` (the header's value) signs ``body`` at ``timestamp`` with
    ``secret``, and ``timestamp`` is within ``tolerance`` seconds of ``now``.

    ``signature`` may list several ``v1=<hex>`` values separated by commas (a sender
    rotating its key); one match is enough. Never raises for malformed input.
    """
    try:
        ts = int(str(timestamp).strip())
    except ValueError:
        return False
    if abs(now - ts) > tolerance:
        return False
    expected = sign(secret, ts, body)
    # compare_digest on every candidate: the time taken does not reveal which one, or
    # how much of it, matched.
    found = False
    for candidate in signature.split(","):
        if hmac.compare_digest(candidate.strip().encode(), expected.encode()):
            found = True
    return found
