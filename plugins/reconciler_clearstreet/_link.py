"""How the shared driver holds a Clear Street ``activity`` connection (sans-IO).

There is no login frame: the access token rides in the one ``subscribe-activity``
message, sent right after connecting (the server drops a client that has not subscribed
within 30 s). After that the client sends nothing: the server sends heartbeats, but
their interval is not documented, so :attr:`ClearStreetLink.sends_regularly` is false
and the driver also sends WebSocket pings, whose pongs prove the connection alive.

A refused subscription is recognised by the parser: a ``subscribe-activity-ack`` with
``success: false`` (bad token, unknown account, account not allowed) becomes
``VenueError(auth=True)``, which :meth:`VenueLink.refusal` (inherited) reports. An
``error-notice`` is never taken as a refusal: the seed page keeps it for requests that
are malformed or not parsable, which retrying with the same credentials cannot fix but
which say nothing about the credentials either.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from reconciler.link import LinkSettings, VenueLink

from ._commands import subscribe_frame

__all__ = ["CREDENTIAL_NAMES", "SANDBOX_URL", "STREAM_URL", "ClearStreetLink"]

#: The production ``activity`` channel.
STREAM_URL: Final = "wss://api.clearstreet.io/studio/v2/ws"
#: The sandbox.
SANDBOX_URL: Final = "wss://sandbox-api.clearstreet.io/studio/v2/ws"
#: The credentials a live connection needs, by name.
CREDENTIAL_NAMES: Final = ("token",)


class ClearStreetLink(VenueLink):
    """The connection recipe for one Clear Street account: one subscribe message.

    The venue's account id is ``options["account_id"]`` when configured, else the
    configured account name. Raises ``KeyError`` (naming the credential, never its
    value) when ``token`` is not configured, ``ValueError`` when it or the account id is
    empty.
    """

    #: The driver's WebSocket ping period (there is no application keep-alive).
    keep_alive_interval = 10.0
    #: Three missed pings (or heartbeats) make a stalled feed.
    idle_timeout = 30.0
    sends_regularly = False

    def __init__(self, settings: LinkSettings) -> None:
        super().__init__(settings)
        if not settings.secret("token"):
            raise ValueError("credential 'token' is empty")
        if not self.account_id:
            raise ValueError("the Clear Street account id is empty")

    @property
    def account_id(self) -> str:
        """The venue's account id this connection subscribes to."""
        return self.settings.options.get("account_id", self.settings.account)

    def url(self) -> str:
        """The configured URL; the token travels in the subscribe message, not here."""
        return self.settings.url

    def opening_frames(self, now_ms: int) -> Sequence[str]:
        """The ``subscribe-activity`` message carrying the token and the account id."""
        return [subscribe_frame(self.settings.secret("token").reveal(), self.account_id)]

    def __repr__(self) -> str:
        return (
            f"ClearStreetLink(account={self.settings.account!r}, "
            f"account_id={self.account_id!r}, url={self.display_url()!r})"
        )
