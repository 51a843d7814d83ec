"""Text gauges: numbers with their unit, bars, block sparklines and load colours.

Pure string builders shared by the host cards and the dense fleet table. Unknown values
(llama-swap's -1, or None) always come out as "—", never as 0. Colours are theme variable
names (`$gauge-hot`…) so a theme decides them; the text alone stays readable under NO_COLOR.
"""

from __future__ import annotations

from collections.abc import Sequence

from swapdeck.events import UNKNOWN

DASH = "—"
SPARK_LEVELS = " ▁▂▃▄▅▆▇█"
BAR_PARTIALS = " ▏▎▍▌▋▊▉"


def known(value: float | None) -> bool:
    return value is not None and value != UNKNOWN and value >= 0


def pct(value: float | None) -> str:
    return f"{value:3.0f}%" if value is not None and known(value) else f"{DASH:>4}"


def celsius(value: float | None) -> str:
    return f"{value:.0f}°C" if value is not None and known(value) else DASH


def watts(value: float | None) -> str:
    return f"{value:.0f} W" if value is not None and known(value) else DASH


def gib(used_mb: float | None, total_mb: float | None) -> str:
    """"18.2/24.0 GiB"; either side unknown → "—" for that side."""
    if not (used_mb is not None and known(used_mb)) and not (
            total_mb is not None and known(total_mb)):
        return DASH
    used = f"{used_mb / 1024:.1f}" if used_mb is not None and known(used_mb) else DASH
    total = f"{total_mb / 1024:.1f}" if total_mb is not None and known(total_mb) else DASH
    return f"{used}/{total} GiB"


def fraction(used: float | None, total: float | None) -> float | None:
    if used is None or total is None or not known(used) or not known(total) or total <= 0:
        return None
    return min(1.0, max(0.0, used / total))


def bar(value: float | None, width: int) -> str:
    """A bar of `width` cells for a 0..1 fraction, eighth-block precise; unknown → dots."""
    if width <= 0:
        return ""
    if value is None:
        return "·" * width
    eighths = round(min(1.0, max(0.0, value)) * width * 8)
    full, part = divmod(eighths, 8)
    text = "█" * full + (BAR_PARTIALS[part] if part and full < width else "")
    return text + "░" * (width - len(text))


def level_style(value: float | None, warn: float = 0.6, hot: float = 0.85) -> str:
    """The theme colour for a load fraction (nvitop-style thresholds)."""
    if value is None:
        return "dim"
    if value >= hot:
        return "$gauge-hot"
    if value >= warn:
        return "$gauge-warn"
    return "$gauge-ok"


def temp_style(temp_c: float | None) -> str:
    if temp_c is None or not known(temp_c):
        return "dim"
    return level_style(temp_c, warn=70.0, hot=83.0)


def sparkline(values: Sequence[float], width: int, *, low: float | None = None,
              high: float | None = None) -> str:
    """Block sparkline, newest at the right, `width` cells; unknown samples are skipped.

    Long series are cut into `width` buckets keeping each bucket's maximum (a one-sample
    spike must stay visible); short series are right-aligned so "now" is always the edge.
    """
    if width <= 0:
        return ""
    samples = [v for v in values if known(v)]
    if not samples:
        return " " * width
    if len(samples) > width:
        buckets: list[float] = []
        for cell in range(width):
            start = cell * len(samples) // width
            end = max(start + 1, (cell + 1) * len(samples) // width)
            buckets.append(max(samples[start:end]))
        samples = buckets
    lo = min(samples) if low is None else low
    hi = max(samples) if high is None else high
    span = hi - lo
    top = len(SPARK_LEVELS) - 1
    cells = []
    for value in samples:
        if span <= 0:
            level = top // 2  # a flat series is a flat line, not a full or empty one
        else:
            level = round((min(max(value, lo), hi) - lo) / span * (top - 1)) + 1
        cells.append(SPARK_LEVELS[level])
    return "".join(cells).rjust(width)
