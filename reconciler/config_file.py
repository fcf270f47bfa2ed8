"""Reading a TOML configuration file into typed settings, with errors a person can act on."""

from __future__ import annotations

import tomllib
from pathlib import Path

import msgspec

from reconciler.settings import Settings

__all__ = ["ConfigError", "Settings", "load_settings"]


class ConfigError(Exception):
    """The configuration file is missing, not TOML, or has a bad value (message says where)."""


def load_settings(path: str | Path) -> Settings:
    """Read and validate ``path``; raises :class:`ConfigError` with the location and the fix."""
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    try:
        return msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        where = str(exc)
        raise ConfigError(f"{p}: {where.replace('$.', '')}") from None
    except ValueError as exc:  # a table's own range checks
        raise ConfigError(f"{p}: {exc}") from None
