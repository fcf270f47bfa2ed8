"""How the shared driver holds a Bybit v2 private-stream connection (sans-IO).

One connection per account: log in with the ``auth`` op (an HMAC signature that expires
shortly after it is made), subscribe to the four private topics, then ``{"op":"ping"}``
every 20 s. Bybit answers every ping, so a healthy connection is never silent longer
than the ping interval plus a round trip.

A refused login is recognised by the parser: a ``success: false`` reply to ``auth``, and
a subscribe refused because "<topic> needs auth first", become
``VenueError(auth=True)``, which :meth:`VenueLink.refusal` (inherited) reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from reconciler.link import LinkSettings, VenueLink

from ._commands import PING_FRAME, PING_INTERVAL, auth_frame, subscribe_frame

__all__ = ["AUTH_EXPIRY_MS", "CREDENTIAL_NAMES", "BybitLink"]

#: The credentials a live connection needs, by name.
CREDENTIAL_NAMES: Final = ("api_key", "api_secret")
#: How far past the current time the login signature expires, in ms. Short, because an
#: intercepted login frame can be replayed until then; long enough for clock skew and
#: the round trip (Bybit's own example uses one second).
AUTH_EXPIRY_MS: Final = 10_000


class BybitLink(VenueLink):
    """The connection recipe for one Bybit account: auth frame, subscribe, ping.

    Raises ``KeyError`` (naming the credential, never its value) when ``api_key`` or
    ``api_secret`` is not configured, and ``ValueError`` when one is empty.
    """

    keep_alive_interval = PING_INTERVAL
    #: Three missed pongs: a stalled feed is noticed within a minute.
    idle_timeout = 60.0
    sends_regularly = True

    def __init__(self, settings: LinkSettings) -> None:
        super().__init__(settings)
        for name in CREDENTIAL_NAMES:
            if not settings.secret(name):
                raise ValueError(f"credential {name!r} is empty")

    def url(self) -> str:
        """The configured stream URL; the credentials travel in the auth frame, not here."""
        return self.settings.url

    def opening_frames(self, now_ms: int) -> Sequence[str]:
        """The ``auth`` frame (expiring :data:`AUTH_EXPIRY_MS` after ``now_ms``), then the
        subscription to ``order``, ``execution``, ``stop_order`` and ``position``."""
        api_key = self.settings.secret("api_key").reveal()
        api_secret = self.settings.secret("api_secret").reveal()
        return [auth_frame(api_key, api_secret, now_ms + AUTH_EXPIRY_MS), subscribe_frame()]

    def keep_alive_frame(self) -> str:
        """``{"op":"ping"}``, answered with a ``ret_msg: "pong"`` reply."""
        return PING_FRAME

    def __repr__(self) -> str:
        return f"BybitLink(account={self.settings.account!r}, url={self.display_url()!r})"
