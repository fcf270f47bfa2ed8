"""Sans-IO builders for what the live engine sends on a Bybit v2 private stream.

Pure functions: the caller passes the expiry time, nothing here reads a clock.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlencode

import msgspec

__all__ = [
    "PING_FRAME",
    "PING_INTERVAL",
    "STREAM_URL",
    "SUBSCRIBE_TOPICS",
    "TESTNET_STREAM_URL",
    "auth_frame",
    "auth_query",
    "sign",
    "subscribe_frame",
]

#: The legacy inverse v2 stream (private and public topics on one socket).
STREAM_URL = "wss://stream.bybit.com/realtime"
TESTNET_STREAM_URL = "wss://stream-testnet.bybit.com/realtime"
#: Bybit recommends a ping every 20 seconds.
PING_INTERVAL = 20.0
PING_FRAME = '{"op":"ping"}'
#: The private topics the plugin reconciles, in the order they are subscribed.
SUBSCRIBE_TOPICS: tuple[str, ...] = ("order", "execution", "stop_order", "position")


def _check_expires(expires_ms: int) -> None:
    if isinstance(expires_ms, bool) or expires_ms < 0:
        raise ValueError("expires_ms must be a non-negative integer of epoch milliseconds")


def sign(secret: str, expires_ms: int) -> str:
    """Hex HMAC-SHA256 of ``"GET/realtime" + expires`` keyed with the API secret.

    ``expires_ms`` is a future epoch time in milliseconds after which the signature is
    refused ("error:request expired"); the caller picks it from its own clock.
    """
    _check_expires(expires_ms)
    payload = f"GET/realtime{expires_ms}".encode()
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def auth_frame(api_key: str, secret: str, expires_ms: int) -> str:
    """The ``{"op":"auth","args":[api_key, expires, signature]}`` frame.

    ``expires`` is sent as a string, as the seed page writes it
    (``"args":["{api_key}","{expires}","{signature}"]``).
    """
    signature = sign(secret, expires_ms)
    return msgspec.json.encode(
        {"op": "auth", "args": [api_key, str(expires_ms), signature]}
    ).decode()


def auth_query(api_key: str, secret: str, expires_ms: int) -> str:
    """The ``api_key=..&expires=..&signature=..`` query string for authenticating in the URL.

    The string holds the API key: it must never be logged (log the URL without it).
    """
    signature = sign(secret, expires_ms)
    return urlencode([("api_key", api_key), ("expires", str(expires_ms)), ("signature", signature)])


def subscribe_frame(topics: Iterable[str] = SUBSCRIBE_TOPICS) -> str:
    """The ``{"op":"subscribe","args":[...]}`` frame for ``topics``."""
    args = list(topics)
    if not args:
        raise ValueError("subscribe_frame needs at least one topic")
    return msgspec.json.encode({"op": "subscribe", "args": args}).decode()
