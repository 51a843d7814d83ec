"""Decoding JSON text, and typed reads from it failing with a message that names the field.

Every parser in this package reads untrusted JSON from a host of unknown version; a wrong
type must become one clear `FieldError` (turned into `FrameRejected` upstream), never an
`AttributeError` deep inside a parser.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

import orjson

_MISSING: Any = object()
_T = TypeVar("_T")

INT64_BOUND = 2**63
"""Integers are read in the open range (-2**63, 2**63): Go's int64 and SQLite's INTEGER.

Open at the bottom too because orjson turns an integer literal beyond 64 bits into a float,
and -2**63 - 1 rounds to exactly -2**63 as a float: excluding the bound keeps every such
literal out whichever decoder read it.
"""


def decode_json(text: str | bytes) -> Any:
    """`json.loads(text)`, a few times faster on the stream's hot path.

    orjson reads every strict RFC 8259 document; whatever it refuses (NaN, Infinity,
    lone surrogates, overflowing floats, or text that is not JSON at all) goes to the
    standard library, so the result and the error message are exactly `json.loads`'s.
    Integer literals beyond 64 bits are the one difference (orjson gives a float); `get_int`
    refuses both forms alike.
    """
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


class FieldError(ValueError):
    """A JSON value is missing or has the wrong type; the message names the field."""


def as_object(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise FieldError(f"{what}: expected a JSON object, got {_kind(value)}")
    return value


def as_list(value: object, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise FieldError(f"{what}: expected a JSON array, got {_kind(value)}")
    return value


def get_int(obj: Mapping[str, Any], key: str, default: int = _MISSING) -> int:
    value = obj.get(key, _MISSING)
    if value is _MISSING or (value is None and default is not _MISSING):
        return _default(key, default)
    # JSON has one number type; Go writes whole floats without a dot, but be lenient
    # about `12.0` while refusing booleans, which Python counts as ints.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldError(f"{key}: expected an integer, got {_kind(value)}")
    if isinstance(value, float):
        if not value.is_integer():
            raise FieldError(f"{key}: expected an integer, got {value!r}")
        value = int(value)
    if not -INT64_BOUND < value < INT64_BOUND:
        # Without this a huge id would reach SQLite and fail the whole batch (OverflowError).
        raise FieldError(f"{key}: expected a 64-bit integer, got a number out of range")
    return value


def get_float(obj: Mapping[str, Any], key: str, default: float = _MISSING) -> float:
    value = obj.get(key, _MISSING)
    if value is _MISSING or (value is None and default is not _MISSING):
        return _default(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldError(f"{key}: expected a number, got {_kind(value)}")
    return float(value)


def get_str(obj: Mapping[str, Any], key: str, default: str = _MISSING) -> str:
    value = obj.get(key, _MISSING)
    if value is _MISSING or (value is None and default is not _MISSING):
        return _default(key, default)
    if not isinstance(value, str):
        raise FieldError(f"{key}: expected a string, got {_kind(value)}")
    return value


def get_bool(obj: Mapping[str, Any], key: str, default: bool = _MISSING) -> bool:
    value = obj.get(key, _MISSING)
    if value is _MISSING or (value is None and default is not _MISSING):
        return _default(key, default)
    if not isinstance(value, bool):
        raise FieldError(f"{key}: expected true or false, got {_kind(value)}")
    return value


def get_str_map(obj: Mapping[str, Any], key: str) -> dict[str, str]:
    """A string-keyed map whose values are shown as text (absent or null = empty)."""
    value = obj.get(key)
    if value is None:
        return {}
    mapping = as_object(value, key)
    return {str(k): v if isinstance(v, str) else _compact(v) for k, v in mapping.items()}


def get_str_list(obj: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = obj.get(key)
    if value is None:
        return ()
    items = as_list(value, key)
    if not all(isinstance(item, str) for item in items):
        raise FieldError(f"{key}: expected an array of strings")
    return tuple(items)


def get_float_list(obj: Mapping[str, Any], key: str) -> tuple[float, ...]:
    value = obj.get(key)
    if value is None:
        return ()
    items = as_list(value, key)
    if not all(isinstance(item, int | float) and not isinstance(item, bool) for item in items):
        raise FieldError(f"{key}: expected an array of numbers")
    return tuple(float(item) for item in items)


def _default(key: str, default: _T) -> _T:
    if default is _MISSING:
        raise FieldError(f"{key}: missing")
    return default


def _compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
