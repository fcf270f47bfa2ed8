"""A small HTTP/1.1 server for delivery tests: trio + h11 on 127.0.0.1, port 0.

``Server(respond)`` records every request (with the Trio time it arrived) and answers
with whatever ``respond`` returns; ``None`` means never answer (a hung receiver).
Responders for a Slack incoming webhook and for a webhook receiver that checks the
signature are below.
"""

from __future__ import annotations

import socket
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import h11
import trio

from reconciler.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify

__all__ = ["Request", "Response", "Server", "SlackLike", "WebhookReceiver", "refused_port"]


@dataclass(frozen=True)
class Request:
    """One request as received."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    #: trio.current_time() when it was complete.
    at: float


@dataclass(frozen=True)
class Response:
    """An answer: status, body and extra headers."""

    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)


Responder = Callable[[Request], Response | None]


class Server:
    """Serves ``respond`` on 127.0.0.1 (start it with ``await nursery.start(server.run)``)."""

    def __init__(self, respond: Responder) -> None:
        self.respond = respond
        self.requests: list[Request] = []
        self.port = 0
        self.arrived = trio.Event()

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}/hook"

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Listen and serve until cancelled."""
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
        task_status.started()
        await trio.serve_listeners(self._serve, listeners)

    async def wait_for(self, count: int) -> None:
        """Until at least ``count`` requests arrived."""
        while len(self.requests) < count:
            self.arrived = trio.Event()
            await self.arrived.wait()

    async def _serve(self, stream: trio.SocketStream) -> None:
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                request = await self._read(conn, stream)
                if request is None:
                    return
                self.requests.append(request)
                self.arrived.set()
                answer = self.respond(request)
                if answer is None:
                    await trio.sleep_forever()
                    return
                headers = [
                    ("content-length", str(len(answer.body))),
                    *answer.headers.items(),
                ]
                out = conn.send(h11.Response(status_code=answer.status, headers=headers))
                out += conn.send(h11.Data(data=answer.body)) or b""
                out += conn.send(h11.EndOfMessage()) or b""
                await stream.send_all(out or b"")
                if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                    return
                conn.start_next_cycle()
        except (trio.BrokenResourceError, trio.ClosedResourceError, h11.ProtocolError):
            return
        finally:
            await stream.aclose()

    @staticmethod
    async def _read(conn: h11.Connection, stream: trio.SocketStream) -> Request | None:
        head: h11.Request | None = None
        body = bytearray()
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await stream.receive_some(65536))
            elif isinstance(event, h11.Request):
                head = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage) and head is not None:
                return Request(
                    method=head.method.decode(),
                    target=head.target.decode(),
                    headers={k.decode().lower(): v.decode() for k, v in head.headers},
                    body=bytes(body),
                    at=trio.current_time(),
                )
            elif isinstance(event, h11.ConnectionClosed):
                return None


class SlackLike:
    """Answers like a Slack incoming webhook: each request takes the next scripted answer
    (the last one repeats)."""

    def __init__(self, *answers: Response) -> None:
        self.answers = list(answers) or [Response(200, b"ok")]
        self.calls = 0

    def __call__(self, request: Request) -> Response | None:
        answer = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        return answer


class WebhookReceiver:
    """A webhook receiver: checks the signature, and records accepted deliveries by
    ``Idempotency-Key``. ``fail_first`` answers 500 to that many requests first."""

    def __init__(self, secret: str, now: Callable[[], float], *, fail_first: int = 0) -> None:
        self.secret = secret
        self.now = now
        self.fail_first = fail_first
        self.calls = 0
        self.deliveries: dict[str, list[bytes]] = defaultdict(list)
        self.bad_signatures = 0

    def __call__(self, request: Request) -> Response | None:
        self.calls += 1
        ok = verify(
            self.secret,
            request.headers.get(TIMESTAMP_HEADER.lower(), ""),
            request.body,
            request.headers.get(SIGNATURE_HEADER.lower(), ""),
            now=self.now(),
        )
        if not ok:
            self.bad_signatures += 1
            return Response(401, b"bad signature")
        if self.calls <= self.fail_first:
            return Response(500, b"down for maintenance")
        self.deliveries[request.headers["idempotency-key"]].append(request.body)
        return Response(200, b"")


def refused_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as raw:
        raw.bind(("127.0.0.1", 0))
        port: int = raw.getsockname()[1]
    return port
