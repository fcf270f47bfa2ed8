"""The live half of the venue plugin contract: how to hold a connection to a venue.

A :class:`VenueLink` is sans-IO, like the parsers: it builds the URL and the frames a
connection sends (authentication, subscription, keep-alive) and says whether what the
venue did means "your credentials were refused". The shared connection driver
(:mod:`reconciler._driver`) does all the I/O for every venue; a plugin never opens a
socket, never sleeps and never reads a clock (the driver passes the time in).

Secrets (tokens, API keys and secrets) reach a link as :class:`Secret` values, whose
``str`` and ``repr`` never show the value: only :meth:`Secret.reveal` does, at the one
place a frame or URL is built. A URL that carries a secret is never logged; the driver
logs :meth:`VenueLink.display_url` instead.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Final
from urllib.parse import urlsplit, urlunsplit

import msgspec

from reconciler.events import Event, VenueError

__all__ = [
    "REFUSED_HTTP_STATUSES",
    "LinkSettings",
    "Secret",
    "VenueLink",
    "redact_url",
]

#: HTTP statuses on the WebSocket handshake that mean "credentials refused".
REFUSED_HTTP_STATUSES: Final = frozenset({401, 403})


class Secret:
    """A credential value that never shows itself in logs, reprs or error messages."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself: call only where a frame or URL is built, never to log."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


class LinkSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a link needs to know about one configured venue account.

    ``account`` is the configured account name (for Clear Street, the venue's account
    id unless ``options["account_id"]`` says otherwise). ``credentials`` maps the names
    the plugin lists in :attr:`reconciler.plugin.VenuePlugin.credential_names` to their
    values, already read from the environment. ``options`` holds venue-specific extras
    from the configuration file, as strings.
    """

    venue: str
    account: str
    url: str
    credentials: Mapping[str, Secret] = msgspec.field(default_factory=dict)
    options: Mapping[str, str] = msgspec.field(default_factory=dict)

    def secret(self, name: str) -> Secret:
        """The credential ``name``; raises KeyError naming it (never its value)."""
        try:
            return self.credentials[name]
        except KeyError:
            raise KeyError(f"credential {name!r} is not configured") from None


class VenueLink(abc.ABC):
    """How the shared driver talks to one venue account (sans-IO).

    Subclasses set the class attributes and implement :meth:`url` and
    :meth:`opening_frames`. The driver, on every connection attempt:

    1. connects to :meth:`url` (TLS verified for ``wss://``);
    2. sends :meth:`opening_frames` (login and subscriptions) in order;
    3. sends :meth:`keep_alive_frame` every :attr:`keep_alive_interval` seconds, and a
       WebSocket ping as well when :attr:`sends_regularly` is false, so that a
       silent-but-healthy venue is told from a dead one;
    4. gives every received frame to the venue's protocol object and the events to
       :meth:`refusal`; a refusal ends the connection as an authentication failure,
       which is retried slowly, never in a hot loop;
    5. treats :attr:`idle_timeout` seconds without any frame or pong as a stalled feed.

    A close code for which :meth:`refused_by_close` is true, or an HTTP 401/403 answer
    to the handshake, also counts as refused credentials; everything else (resets,
    timeouts, other close codes) is a network fault, retried with backoff.
    """

    #: Seconds between keep-alives (the venue's documented timer).
    keep_alive_interval: float = 15.0
    #: Seconds without any received frame (or pong) after which the feed is stalled.
    idle_timeout: float = 45.0
    #: Whether the venue sends a frame at least every :attr:`keep_alive_interval` on a
    #: healthy connection (it answers keep-alives, or sends heartbeats). When false, the
    #: driver also sends WebSocket pings and counts their pongs as signs of life.
    sends_regularly: bool = True

    def __init__(self, settings: LinkSettings) -> None:
        self.settings = settings

    @abc.abstractmethod
    def url(self) -> str:
        """The URL to connect to. It may carry a secret: never log it."""

    def display_url(self) -> str:
        """The URL as it may be logged: no query string, no user info."""
        return redact_url(self.settings.url)

    @abc.abstractmethod
    def opening_frames(self, now_ms: int) -> Sequence[str]:
        """The frames to send right after connecting (login, then subscriptions).

        ``now_ms`` is the current epoch time in milliseconds, for nonces and expiries.
        """

    def keep_alive_frame(self) -> str | None:
        """The application keep-alive to send on the venue's timer, or ``None``."""
        return None

    def refusal(self, events: Sequence[Event]) -> str | None:
        """Why the venue refused the credentials, if these events say it did.

        The default recognises :class:`~reconciler.events.VenueError` events with
        ``auth=True``, which is how the plugins' parsers mark a refused login.
        """
        for ev in events:
            if isinstance(ev, VenueError) and ev.auth:
                return ev.message or "credentials refused"
        return None

    def refused_by_close(self, code: int | None, reason: str | None) -> bool:
        """Whether a close with this code means the credentials were refused."""
        return False


def redact_url(url: str) -> str:
    """``url`` without its query string, fragment and user info (safe to log)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
