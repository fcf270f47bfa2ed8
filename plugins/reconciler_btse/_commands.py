"""Sans-IO builders for the frames a BTSE futures connection sends.

They are pure: the caller passes the nonce (the current time in milliseconds), so
nothing here reads a clock. JSON frames are returned as text, ready for a text frame.
"""

from __future__ import annotations

import hashlib
import hmac

import msgspec

__all__ = ["AUTH_PATH", "PING_FRAME", "auth_frame", "sign", "subscribe_frame"]

#: The path the signature covers, prefixed to the nonce.
AUTH_PATH = "/ws/futures"
#: The keep-alive: plain text, not JSON (the reply is plain ``pong``). Send every 15 s;
#: the server drops a socket idle for 60 s.
PING_FRAME = "ping"

_ENCODER = msgspec.json.Encoder()


def _nonce_text(nonce_ms: int) -> str:
    # bool is an int subclass; a True nonce would sign "…1" without anyone noticing.
    if isinstance(nonce_ms, bool) or not isinstance(nonce_ms, int) or nonce_ms < 0:
        raise ValueError("nonce_ms must be a non-negative integer (epoch milliseconds)")
    return str(nonce_ms)


def sign(secret: str, nonce_ms: int) -> str:
    """The login signature: hex HMAC-SHA384 keyed by ``secret`` over ``/ws/futures<nonce>``."""
    message = (AUTH_PATH + _nonce_text(nonce_ms)).encode()
    return hmac.new(secret.encode(), message, hashlib.sha384).hexdigest()


def auth_frame(api_key: str, secret: str, nonce_ms: int) -> str:
    """``{"op":"authKeyExpires","args":[api_key, nonce, signature]}`` as JSON text.

    The frame carries the key and a signature, never the secret; do not log it anyway.
    """
    args = [api_key, _nonce_text(nonce_ms), sign(secret, nonce_ms)]
    return _ENCODER.encode({"op": "authKeyExpires", "args": args}).decode()


def subscribe_frame() -> str:
    """``{"op":"subscribe","args":["notificationApiV4"]}`` as JSON text."""
    return _ENCODER.encode({"op": "subscribe", "args": ["notificationApiV4"]}).decode()
