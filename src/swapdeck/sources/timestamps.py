"""RFC3339 timestamps as llama-swap writes them, to and from unix seconds.

Go marshals `time.Time` as RFC3339Nano with the server's local offset (§0), e.g.
`2026-08-22T10:15:09.123456789-07:00`; activity rows from the v236+ store have whole
seconds. Python's `fromisoformat` drops digits past microseconds, so the fraction is read
here by hand to keep the nanoseconds that survive a float.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, timezone

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class TimestampError(ValueError):
    """Not an RFC3339 timestamp."""


def parse_rfc3339(text: str) -> float:
    """Unix seconds (UTC) of an RFC3339 timestamp with any offset and up to 9 fraction digits."""
    match = _RFC3339.match(text)
    if match is None:
        raise TimestampError(f"expected an RFC3339 timestamp, got {text[:40]!r}")
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction = match.group(7)
    offset = match.group(8)
    if offset in ("Z", "z"):
        tz = UTC
    else:
        sign = 1 if offset[0] == "+" else -1
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        whole = datetime(year, month, day, hour, minute, second, tzinfo=tz)
    except ValueError as exc:
        raise TimestampError(f"expected a real date and time, got {text[:40]!r} ({exc})") from None
    return whole.timestamp() + (float(fraction) if fraction else 0.0)


def format_rfc3339(unix_s: float) -> str:
    """UTC RFC3339 with microseconds and an explicit `+00:00` offset.

    The `+` must be URL-encoded when sent as a query value (§12); callers pass it through
    httpx `params`, which does.
    """
    # Floor, not round: rounding up could skip a sample less than a microsecond newer.
    micros = math.floor(unix_s * 1_000_000)
    moment = _EPOCH + timedelta(microseconds=micros)
    return moment.isoformat(timespec="microseconds")
