"""Pure builders for what the live engine sends to Tread.fi, and its connection facts.

The API token rides in the connection URL's query string: the URL built here is a
secret and must never be logged.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

__all__ = [
    "AUTH_REFUSED_CLOSE_CODE",
    "IDLE_TIMEOUT",
    "KEEP_ALIVE_INTERVAL",
    "connection_url",
    "keep_alive_frame",
    "subscribe_frame",
    "unsubscribe_frame",
]

#: The WebSocket close code the server uses when it refuses the token.
AUTH_REFUSED_CLOSE_CODE = 4001
#: Seconds between keep-alives: the seed asks for one every 5-10 s.
KEEP_ALIVE_INTERVAL = 5.0
#: Seconds without traffic after which the server drops the socket.
IDLE_TIMEOUT = 30.0

_SUBSCRIBE = '{"command":"subscribe","data_type":"user_orders"}'
_UNSUBSCRIBE = '{"command":"unsubscribe","data_type":"user_orders"}'
_KEEP_ALIVE = '{"command":"keep_alive"}'


def connection_url(base_url: str, token: str) -> str:
    """``base_url`` (e.g. ``wss://<server>/ws/orders/``) with ``token=<token>`` added.

    The token is percent-encoded; an existing query string is kept. Raises
    :class:`ValueError` for an empty token.
    """
    if not token:
        raise ValueError("empty API token")
    parts = urlsplit(base_url)
    param = "token=" + quote(token, safe="")
    query = f"{parts.query}&{param}" if parts.query else param
    return urlunsplit(parts._replace(query=query))


def subscribe_frame() -> str:
    """The text frame that subscribes to the account's order updates."""
    return _SUBSCRIBE


def unsubscribe_frame() -> str:
    """The text frame that stops the account's order updates."""
    return _UNSUBSCRIBE


def keep_alive_frame() -> str:
    """The text frame to send every :data:`KEEP_ALIVE_INTERVAL` seconds."""
    return _KEEP_ALIVE
