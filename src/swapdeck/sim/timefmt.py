"""Go `time.Time` text: RFC3339Nano with the host's local offset (§0), and strict parsing.

Simulated hosts live at a fixed non-UTC offset so that a client which drops the offset, or
assumes UTC, shows its bug in every test.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

SIM_UTC_OFFSET = timezone(timedelta(hours=-7))
"""Local offset of every simulated host."""

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$"
)


def rfc3339(unix_ns: int, *, whole_seconds: bool = False) -> str:
    """Go's MarshalJSON text for a time: fraction trimmed of trailing zeros, or absent."""
    seconds, nanos = divmod(unix_ns, 1_000_000_000)
    local = datetime.fromtimestamp(seconds, tz=SIM_UTC_OFFSET)
    stamp = local.strftime("%Y-%m-%dT%H:%M:%S")
    if nanos and not whole_seconds:
        stamp += "." + f"{nanos:09d}".rstrip("0")
    return stamp + _offset_text(local)


def _offset_text(local: datetime) -> str:
    offset = local.utcoffset() or timedelta(0)
    if not offset:
        return "Z"
    total = int(offset.total_seconds())
    sign = "-" if total < 0 else "+"
    hours, minutes = divmod(abs(total) // 60, 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def parse_rfc3339(text: str) -> int | None:
    """Unix nanoseconds, or None when `text` is not RFC3339 (e.g. `+` that arrived as a space)."""
    match = _RFC3339.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, zone = match.group(7), match.group(8)
    if zone == "Z":
        tz = UTC
    else:
        sign = -1 if zone[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=tz)
    except ValueError:
        return None
    nanos = int((fraction or "0").ljust(9, "0"))
    return int(moment.timestamp()) * 1_000_000_000 + nanos


def go_duration(nanos: int) -> str:
    """time.Duration.String() for the access log: `345µs`, `1.234ms`, `2.5s`."""
    if nanos < 1_000:
        return f"{nanos}ns"
    for unit, size in (("µs", 1_000), ("ms", 1_000_000)):
        if nanos < size * 1_000:
            return _trim(nanos / size) + unit
    if nanos < 60_000_000_000:
        return _trim(nanos / 1_000_000_000) + "s"
    minutes, rest = divmod(nanos, 60_000_000_000)
    return f"{minutes}m{_trim(rest / 1_000_000_000)}s"


def _trim(value: float) -> str:
    return f"{value:.9f}".rstrip("0").rstrip(".")
