"""Structured logging for the live engine, with secrets scrubbed from every line.

:func:`configure_logging` sets structlog up for the command line: JSON lines when the
output is not a terminal, readable console output when it is. Every line the engine
writes carries ``venue`` and ``account`` where one is concerned.

Secrets never reach a log line by design (the engine logs redacted URLs and never
formats credentials); as a second line of defence, every value registered with
:func:`register_secret` is replaced by ``***`` wherever it appears in a line, including
exception tracebacks, and so are the values of keys that name a secret. The same
scrubbing is applied to the standard-library loggers of the WebSocket library, whose
debug output includes request paths (Tread.fi's carries the token).
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterable
from typing import Any, Literal, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

__all__ = [
    "REDACTED",
    "bind_secrets",
    "configure_logging",
    "get_logger",
    "guard_library_loggers",
    "register_secret",
    "scrub",
    "scrub_processor",
]

REDACTED = "***"

# Keys whose values are always replaced, whatever they hold.
_SECRET_KEYS = frozenset(
    {"token", "secret", "api_secret", "api_key", "signature", "authorization", "password"}
)
# Values shorter than this are not scrubbed as substrings (they would mangle ordinary
# words); credentials are far longer.
_MIN_SECRET_LENGTH = 6

_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(value: str) -> None:
    """Scrub ``value`` from every log line from now on."""
    if len(value) >= _MIN_SECRET_LENGTH:
        with _lock:
            _secrets.add(value)


def scrub(text: str) -> str:
    """``text`` with every registered secret replaced by ``***``."""
    if not _secrets:
        return text
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def _scrub_value(key: str, value: Any) -> Any:
    if key.lower() in _SECRET_KEYS:
        return REDACTED
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, BaseException):
        return scrub(f"{type(value).__name__}: {value}")
    if isinstance(value, dict):
        return {k: _scrub_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_value("", v) for v in value]
    return value


def scrub_processor(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    """A structlog processor that scrubs secrets from every value of a line."""
    for key, value in list(event_dict.items()):
        event_dict[key] = _scrub_value(key, value)
    return event_dict


class _ScrubFilter(logging.Filter):
    """Scrubs secrets from standard-library log records (the WebSocket library's)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage())
        record.args = None
        return True


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        scrub_processor,
    ]


def configure_logging(
    *,
    format: Literal["auto", "json", "console"] = "auto",  # noqa: A002 - the config key
    level: str = "info",
    stream: TextIO | None = None,
) -> None:
    """Configure structlog for the engine's output on ``stream`` (stderr by default)."""
    out = stream if stream is not None else sys.stderr
    use_console = format == "console" or (format == "auto" and out.isatty())
    renderer: Processor = (
        structlog.dev.ConsoleRenderer(colors=out.isatty())
        if use_console
        else structlog.processors.JSONRenderer()
    )
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    structlog.configure(
        processors=[*_shared_processors(), renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.WriteLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    guard_library_loggers()


def guard_library_loggers(names: Iterable[str] = ("trio-websocket", "trio_websocket")) -> None:
    """Scrub secrets from, and quieten, the standard-library loggers of ``names``."""
    for name in names:
        lib = logging.getLogger(name)
        if not any(isinstance(f, _ScrubFilter) for f in lib.filters):
            lib.addFilter(_ScrubFilter())
        # Their debug lines print request paths; nothing below a warning is useful here.
        lib.setLevel(max(lib.level, logging.WARNING))


def get_logger(**context: Any) -> Any:
    """A structlog logger bound to ``context`` (``venue``, ``account``...)."""
    logger = structlog.get_logger("reconciler")
    return logger.bind(**context) if context else logger


def bind_secrets(values: Iterable[str]) -> None:
    """Register several secrets at once (see :func:`register_secret`)."""
    for value in values:
        register_secret(value)
