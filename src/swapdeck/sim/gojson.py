"""JSON bytes the way Go's encoding/json writes them.

Clients must parse rather than match bytes, but the simulator should still put the real bytes on
the wire so that a client that *does* match bytes fails here first (§12). Differences from
Python's `json.dumps` that matter:

* compact separators, non-ASCII written raw, `<` `>` `&` U+2028 U+2029 escaped as `\\u003c`...;
* integral floats written without `.0` (`61`, not `61.0`), exponents as `1e-7` / `1e+21`;
* struct fields keep declaration order, map keys are sorted: callers build dicts in struct
  order and wrap Go maps with `go_map` (§12: `{"data":…,"source":…}`, `{"error":…,"src":…}`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

_HTML_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                 ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


def go_map(value: Mapping[str, Any]) -> dict[str, Any]:
    """A Go map: Go writes its keys sorted."""
    return {key: value[key] for key in sorted(value)}


def go_string(text: str) -> str:
    encoded = json.dumps(text, ensure_ascii=False)
    for raw, escaped in _HTML_ESCAPES:
        if raw in encoded:
            encoded = encoded.replace(raw, escaped)
    return encoded


def go_float(number: float) -> str:
    """strconv.FormatFloat(f, 'f' or 'e', -1, 64) as encoding/json picks it."""
    if math.isnan(number) or math.isinf(number):
        raise ValueError(f"Go's encoding/json cannot encode {number!r}")
    magnitude = abs(number)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        text = repr(number)  # shortest round-trip, already in exponent form here
        mantissa, _, exponent = text.partition("e")
        sign = exponent[0] if exponent[0] in "+-" else "+"
        digits = exponent.lstrip("+-").lstrip("0") or "0"
        return f"{mantissa}e{sign}{digits}"
    if number.is_integer():
        return str(int(number))
    text = repr(number)
    if "e" in text:  # Python switches to exponents earlier than Go does
        text = format(Decimal(text), "f")
    return text


def go_dumps(value: Any) -> str:
    parts: list[str] = []
    _encode(value, parts)
    return "".join(parts)


def _encode(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(go_string(value))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(go_float(value))
    elif isinstance(value, Mapping):
        out.append("{")
        first = True
        for key, item in value.items():
            if not first:
                out.append(",")
            first = False
            out.append(go_string(str(key)))
            out.append(":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as Go JSON")
