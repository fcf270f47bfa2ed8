"""The live connection recipe for BTSE futures (sans-IO): login, subscribe, ``ping``.

The login frame is signed with the API secret over ``/ws/futures`` and a nonce, the
current time in milliseconds, which the driver passes in (nothing here reads a clock).
The venue answers the plain-text ``ping`` with ``pong``, so a healthy connection always
sends something within a keep-alive interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from reconciler.events import Event, VenueError
from reconciler.link import VenueLink
from reconciler_btse._commands import PING_FRAME, auth_frame, subscribe_frame

__all__ = ["TOO_MANY_FAILED_ATTEMPTS", "BtseLink"]

#: BTSE error code "too many failed attempts (session closed)": the login is refused.
TOO_MANY_FAILED_ATTEMPTS: Final = "1008"


class BtseLink(VenueLink):
    """How the driver holds one BTSE futures account's ``notificationApiV4`` stream.

    ``settings.credentials`` holds ``api_key`` and ``api_secret``; the secret only ever
    signs the nonce and is never sent.
    """

    #: venues.md recommends a ``ping`` every 15 s.
    keep_alive_interval = 15.0
    #: Three unanswered pings; the server itself drops a socket idle for 60 s.
    idle_timeout = 45.0
    #: Every ``ping`` is answered with ``pong``.
    sends_regularly = True

    def url(self) -> str:
        """The configured URL (no credential rides in it)."""
        return self.settings.url

    def opening_frames(self, now_ms: int) -> Sequence[str]:
        """The signed login (nonce ``now_ms``), then the ``notificationApiV4`` subscription."""
        key = self.settings.secret("api_key").reveal()
        secret = self.settings.secret("api_secret").reveal()
        return [auth_frame(key, secret, now_ms), subscribe_frame()]

    def keep_alive_frame(self) -> str:
        """The plain-text ``ping``."""
        return PING_FRAME

    def refusal(self, events: Sequence[Event]) -> str | None:
        """A refused login (``{"event":"login","success":false}``), or error code 1008.

        1008 "too many failed attempts (session closed)" says the venue has stopped
        accepting this login: retrying at network speed would only prolong it.
        """
        reason = super().refusal(events)
        if reason is not None:
            return reason
        for ev in events:
            if isinstance(ev, VenueError) and ev.code == TOO_MANY_FAILED_ATTEMPTS:
                return ev.message or "too many failed attempts"
        return None

    def __repr__(self) -> str:
        return f"BtseLink(account={self.settings.account!r}, url={self.display_url()!r})"
