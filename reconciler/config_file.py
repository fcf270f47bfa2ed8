"""Reading a TOML configuration file into typed settings, with errors a person can act on.

msgspec reports the first problem only, as ``Expected `float | null`, got `str` - at
`$.venues[...].idle_timeout```: dictionary keys (the venue and account names) are lost
and the wording is a programmer's. So before converting, :func:`load_settings` walks
the file against the :class:`~reconciler.settings.Settings` schema itself and collects
*every* problem, each as ``<file>: venues.btse.idle_timeout: expected a number, got a
string. Write a number, without quotes``: the TOML key path, what is wrong, the fix.
The walk only finds problems; msgspec still builds the settings, so the two cannot
disagree about what a valid file means.
"""

from __future__ import annotations

import difflib
import enum
import json
import math
import re
import tomllib
from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from types import NoneType, UnionType
from typing import Any, Literal, Union, get_args, get_origin

import msgspec

from reconciler.settings import Settings

__all__ = ["ConfigError", "Settings", "load_settings"]


class ConfigError(Exception):
    """The configuration file is missing, not TOML, or has bad values.

    The message holds one problem per line, each naming the file and the TOML key and
    saying how to fix it.
    """


def load_settings(path: str | Path) -> Settings:
    """Read and validate ``path``; raises :class:`ConfigError` listing every problem."""
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    problems: list[str] = []
    _check_table(raw, Settings, "", problems)
    if problems:
        raise ConfigError("\n".join(f"{p}: {problem}" for problem in problems))
    try:
        return msgspec.convert(raw, Settings, strict=False)
    except (msgspec.ValidationError, ValueError, TypeError, ArithmeticError) as exc:
        # Unreachable while the walk mirrors the schema; kept so a schema change the
        # walk does not know yet is still one readable line, not a traceback.
        raise ConfigError(f"{p}: {str(exc).replace('$.', '')}") from None


# -- the walk --------------------------------------------------------------------------

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _join(where: str, key: object) -> str:
    """The TOML key path of ``key`` inside the table at ``where`` (quoted when TOML needs it)."""
    text = str(key)
    part = text if _BARE_KEY.fullmatch(text) else json.dumps(text)
    return f"{where}.{part}" if where else part


def _check_table(
    raw: object, cls: type[msgspec.Struct], where: str, problems: list[str]
) -> msgspec.Struct | None:
    """Check one table against the struct ``cls``; the built struct when it is valid."""
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected a table, got {_kind(raw)}. {_TABLE_HINT}")
        return None
    fields = {f.encode_name: f for f in msgspec.structs.fields(cls)}
    values: dict[str, Any] = {}
    valid = True
    for key, value in raw.items():
        field = fields.get(key)
        if field is None:
            problems.append(_unknown_key(where, key, list(fields)))
            valid = False
            continue
        before = len(problems)
        converted = _check_value(value, field.type, _join(where, key), problems)
        if len(problems) > before:
            valid = False
        else:
            values[field.name] = converted
    if not valid:
        return None
    try:
        # Runs the table's own range checks (__post_init__), on values already converted.
        return cls(**values)
    except (ValueError, TypeError, ArithmeticError) as exc:
        problems.append(_range_problem(where, str(exc), fields))
        return None


def _check_value(value: object, tp: Any, where: str, problems: list[str]) -> Any:
    """Check one value against the annotation ``tp``; its converted form when valid."""
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        return _check_table(value, tp, where, problems)
    origin, args = get_origin(tp), get_args(tp)
    if origin is dict:
        if not isinstance(value, dict):
            problems.append(f"{where}: expected a table, got {_kind(value)}. {_TABLE_HINT}")
            return None
        key_type, value_type = args
        out: dict[Any, Any] = {}
        for key, item in value.items():
            try:
                ckey = msgspec.convert(key, key_type, strict=False)
            except msgspec.ValidationError:
                problems.append(
                    f"{_join(where, key)}: not a valid key here: expected "
                    f"{_describe(key_type)}, got {json.dumps(key)}{_did_you_mean(key, key_type)}"
                )
                continue
            out[ckey] = _check_value(item, value_type, _join(where, key), problems)
        return out
    if origin in (tuple, list) and (len(args) == 1 or args[1:] == (Ellipsis,)):
        if not isinstance(value, list):
            problems.append(
                f"{where}: expected a list, got {_kind(value)}. Write it in brackets: "
                f'{where.rsplit(".", 1)[-1]} = ["..."]'
            )
            return None
        items = [_check_value(v, args[0], f"{where}[{i}]", problems) for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    try:
        converted = msgspec.convert(value, tp, strict=False)
    except msgspec.ValidationError:
        problems.append(_type_problem(value, tp, where))
        return None
    # NaN slips through every "must be more than" check (all comparisons are false), and
    # a Decimal NaN makes them raise; no setting has a use for it.
    if (isinstance(converted, float) and math.isnan(converted)) or (
        isinstance(converted, Decimal) and converted.is_nan()
    ):
        problems.append(f"{where}: expected a number, got NaN. Write a finite number")
        return None
    return converted


_TABLE_HINT = 'Write it as a table: a [header] with key = value lines, or { key = "value" }'


def _unknown_key(where: str, key: str, allowed: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    if not where:
        tables = ", ".join(f"[{name}]" for name in allowed)
        return f"{_join(where, key)}: unknown table. The file may hold only {tables}.{hint}"
    return f"{_join(where, key)}: unknown key. [{where}] allows: {', '.join(allowed)}.{hint}"


def _type_problem(value: object, tp: Any, where: str) -> str:
    expected = _describe(tp)
    choices = _choices(tp)
    if choices is not None:
        shown = json.dumps(value) if isinstance(value, str) else _kind(value)
        return f"{where}: expected {expected}, got {shown}{_did_you_mean(value, tp)}"
    base = _without_none(tp)
    got = _kind(value)
    if base in (float, int, Decimal) and isinstance(value, str):
        # Numeric strings convert, so this one is not a number at all.
        got = f"a string that is not {expected}"
    text = f"{where}: expected {expected}, got {got}"
    if ".credentials." in where:
        return (
            f"{text}. Write the name of the environment variable that holds it, in double "
            'quotes (e.g. "BTSE_MAIN_KEY"); the secret itself never goes in the file'
        )
    if base is Decimal:
        return f'{text}. Write a number such as 0.01, or a string such as "1e-6"'
    if base in (float, int):
        return f"{text}. Write {expected}, without quotes"
    if base is bool:
        return f"{text}. Write true or false, without quotes"
    if base is str:
        return f'{text}. Put the value in double quotes: "..."'
    return text


def _range_problem(where: str, message: str, fields: dict[str, msgspec.structs.FieldInfo]) -> str:
    """A table's own check (``retention must be at least ...``) placed at its key."""
    first, _, rest = message.partition(" ")
    if first in fields and rest:
        return f"{_join(where, first)}: {rest}"
    return f"{where}: {message}"


# -- describing types and values -------------------------------------------------------


def _without_none(tp: Any) -> Any:
    """``X`` for ``X | None`` (an omitted key is the None; TOML has no null)."""
    if get_origin(tp) in (Union, UnionType):
        rest = [a for a in get_args(tp) if a is not NoneType]
        if len(rest) == 1:
            return rest[0]
    return tp


def _choices(tp: Any) -> list[str] | None:
    """The allowed spellings of a Literal or Enum type, else None."""
    tp = _without_none(tp)
    if get_origin(tp) is Literal:
        return [str(a) for a in get_args(tp)]
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return [str(m.value) for m in tp]
    return None


def _describe(tp: Any) -> str:
    choices = _choices(tp)
    if choices is not None:
        if len(choices) <= 8:
            return "one of " + ", ".join(json.dumps(c) for c in choices)
        name = re.sub(r"(?<!^)(?=[A-Z])", " ", _without_none(tp).__name__).lower()
        return f"one of the {name}s (e.g. {choices[0]})"
    tp = _without_none(tp)
    if tp in (float, Decimal):
        return "a number"
    if tp is int:
        return "a whole number"
    if tp is str:
        return "a string"
    if tp is bool:
        return "true or false"
    if get_origin(tp) is dict or (isinstance(tp, type) and issubclass(tp, msgspec.Struct)):
        return "a table"
    if get_origin(tp) in (tuple, list):
        return "a list"
    return getattr(tp, "__name__", str(tp))


def _kind(value: object) -> str:
    """What a TOML value is, in words; never the value itself (it could be a secret)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else "a decimal number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (datetime, date, time)):
        return "a date or time"
    return type(value).__name__


def _did_you_mean(value: object, tp: Any) -> str:
    choices = _choices(tp)
    if choices is None or not isinstance(value, str):
        return ""
    close = difflib.get_close_matches(value, choices, n=1)
    if not close and value.lower() in choices:
        close = [value.lower()]
    elif not close and value.upper() in choices:
        close = [value.upper()]
    return f". Did you mean {json.dumps(close[0])}?" if close else ""
