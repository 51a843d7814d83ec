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

_MINUTE_LEN = len("2026-08-22T10:15")
_PREFIX_LEN = len("2026-08-22T10:15:09")
_MEMO_LIMIT = 4096
_minute_starts: dict[tuple[str, str], float] = {}
"""(text up to the minute, offset) -> unix seconds at the start of that minute, for texts
already parsed in full. Records of a live host share minutes (and v236+ store rows have
whole seconds, §0), so most timestamps only need their seconds and fraction read. A memo
of a pure function: it changes no result, and it is emptied past `_MEMO_LIMIT` entries."""


class TimestampError(ValueError):
    """Not an RFC3339 timestamp."""


def parse_rfc3339(text: str) -> float:
    """Unix seconds (UTC) of an RFC3339 timestamp with any offset and up to 9 fraction digits.

    Same result as `parse_rfc3339_uncached` for every text; this one skips the regex and the
    datetime arithmetic when the minute and offset were seen before.
    """
    end = len(text)
    if end > _PREFIX_LEN:
        # A remembered key is a valid minute and a valid offset, so only what lies between
        # them is left to check, exactly as the regex would: `:(\d{2})(\.\d{1,9})?`.
        offset_start = end - 1 if text[-1] in "Zz" else end - 6
        if offset_start >= _PREFIX_LEN:
            minute_start = _minute_starts.get((text[:_MINUTE_LEN], text[offset_start:]))
            if minute_start is not None and text[_MINUTE_LEN] == ":":
                seconds = text[_MINUTE_LEN + 1:_PREFIX_LEN]
                # isdecimal() is Unicode category Nd, the same set as `\d` in a str regex;
                # 60 and over is not a real second (datetime refuses it: the long way says so).
                if seconds.isdecimal() and (second := int(seconds)) < 60:
                    if offset_start == _PREFIX_LEN:
                        return minute_start + second
                    fraction = text[_PREFIX_LEN:offset_start]
                    if (fraction[0] == "." and len(fraction) <= 10
                            and fraction[1:].isdecimal()):
                        return minute_start + second + float(fraction)
    return parse_rfc3339_uncached(text)


def parse_rfc3339_uncached(text: str) -> float:
    """`parse_rfc3339` the long way: the regex, then datetime; remembers the minute."""
    match = _RFC3339.match(text)
    if match is None:
        raise TimestampError(f"expected an RFC3339 timestamp, got {text[:40]!r}")
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction = match.group(7)
    offset = match.group(8)
    try:
        if offset in ("Z", "z"):
            tz = UTC
        else:
            # Inside the try: an offset of 24 hours or more is refused by `timezone` itself.
            sign = 1 if offset[0] == "+" else -1
            hours, minutes = int(offset[1:3]), int(offset[4:6])
            tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
        whole = datetime(year, month, day, hour, minute, second, tzinfo=tz)
    except ValueError as exc:
        raise TimestampError(f"expected a real date and time, got {text[:40]!r} ({exc})") from None
    seconds = whole.timestamp()
    # `$` also matches before a final newline; only texts that end with the offset are
    # remembered, so a lookup never has to reason about that case. Whole seconds are exact
    # in a float, so the minute's start plus the second is the same number.
    if match.end(8) == len(text):
        if len(_minute_starts) >= _MEMO_LIMIT:
            _minute_starts.clear()
        _minute_starts[(text[:_MINUTE_LEN], offset)] = seconds - second
    return seconds + (float(fraction) if fraction else 0.0)


def format_rfc3339(unix_s: float) -> str:
    """UTC RFC3339 with microseconds and an explicit `+00:00` offset.

    The `+` must be URL-encoded when sent as a query value (§12); callers pass it through
    httpx `params`, which does.
    """
    # Floor, not round: rounding up could skip a sample less than a microsecond newer.
    micros = math.floor(unix_s * 1_000_000)
    moment = _EPOCH + timedelta(microseconds=micros)
    return moment.isoformat(timespec="microseconds")
