"""The live connection recipe for Tread.fi (sans-IO): URL with the token, subscribe, keep-alive.

The API token rides in the URL's query string, so :meth:`TreadLink.url` is a secret;
the driver logs :meth:`~reconciler.link.VenueLink.display_url` (no query) instead. The
server's answers to ``subscribe`` and ``keep_alive`` are not documented (the seed shows
none), so the link cannot count on a reply: ``sends_regularly`` is false and the driver
adds WebSocket pings, whose pongs prove the connection is alive. A refused token is a
close with code 4001, the only refusal signal the venue documents.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.link import VenueLink
from reconciler_tread._commands import (
    AUTH_REFUSED_CLOSE_CODE,
    KEEP_ALIVE_INTERVAL,
    connection_url,
    keep_alive_frame,
    subscribe_frame,
)

__all__ = ["TreadLink"]


class TreadLink(VenueLink):
    """How the driver holds one Tread.fi account's Order Status WebSocket.

    ``settings.url`` is the customer's own server (``wss://<server>/ws/orders/``: there
    is no shared production URL) and ``settings.credentials["token"]`` the API token.
    """

    #: The seed asks for a keep-alive every 5-10 s; the lower bound leaves the most room.
    keep_alive_interval = KEEP_ALIVE_INTERVAL
    #: The server itself drops a socket after 30 s without traffic; 20 s without a frame
    #: or a pong (pings go out every 5 s) means the feed stalled well before that.
    idle_timeout = 20.0
    #: ``keep_alive`` has no documented reply and order updates come only when orders
    #: change: a quiet, healthy connection must be told apart by WebSocket pongs.
    sends_regularly = False

    def url(self) -> str:
        """The base URL with ``token=<API token>`` added: a secret, never to be logged."""
        if not self.settings.url:
            # Every Tread.fi customer has its own server: there is no default to fall back to.
            raise ValueError(
                "a Tread.fi account needs the url of its server (wss://<server>/ws/orders/)"
            )
        return connection_url(self.settings.url, self.settings.secret("token").reveal())

    def opening_frames(self, now_ms: int) -> Sequence[str]:
        """Only the subscription: the token in the URL already logged the connection in."""
        return [subscribe_frame()]

    def keep_alive_frame(self) -> str:
        """``{"command":"keep_alive"}``."""
        return keep_alive_frame()

    def refused_by_close(self, code: int | None, reason: str | None) -> bool:
        """Close code 4001 is how the server refuses a token."""
        return code == AUTH_REFUSED_CLOSE_CODE

    def __repr__(self) -> str:
        return f"TreadLink(account={self.settings.account!r}, url={self.display_url()!r})"
