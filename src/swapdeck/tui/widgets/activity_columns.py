"""Columns of the activity table: which fit a given width, and how each value reads.

Pure (no Textual): the table widget asks `layout_columns(width)` on resize and
`row_cells(...)` per visible row. Unknown values — llama-swap's -1 (§3.1), a missing
status before v209 — read "—", never 0.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size

from swapdeck.events import ActivityRecord

DASH = "—"
GUTTER = 1
"""A one-cell column left of every row that carries the cursor mark (readable without colour)."""


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    title: str
    min_width: int
    max_width: int
    priority: int
    """Lower survives longer when the terminal is narrow."""
    right: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("time", "time", 8, 8, 1),
    Column("host", "host", 6, 16, 2),
    Column("model", "model", 10, 32, 1),
    Column("path", "path", 10, 26, 6),
    Column("status", "status", 6, 6, 3, right=True),
    Column("cached", "cached", 6, 6, 7, right=True),
    Column("prompt", "prompt", 6, 6, 4, right=True),
    Column("gen", "gen", 6, 6, 4, right=True),
    Column("prefill", "prefill", 7, 7, 5, right=True),
    Column("decode", "decode", 6, 6, 3, right=True),
    Column("duration", "dur", 7, 7, 3, right=True),
)
TIME_WIDTH_MULTI_DAY = 14


@dataclass(frozen=True, slots=True)
class PlacedColumn:
    column: Column
    width: int

    @property
    def right(self) -> bool:
        return self.column.right


def layout_columns(width: int, *, multi_day: bool = False,
                   columns: Sequence[Column] = COLUMNS) -> list[PlacedColumn]:
    """The columns that fit `width` cells (with one space between and the gutter), widths
    grown towards their maximum, in display order."""
    def min_width(column: Column) -> int:
        if column.key == "time" and multi_day:
            return TIME_WIDTH_MULTI_DAY
        return column.min_width

    chosen = sorted(columns, key=lambda c: c.priority)
    while chosen:
        needed = GUTTER + sum(min_width(c) for c in chosen) + len(chosen) - 1
        if needed <= width:
            break
        chosen.pop()  # the lowest priority goes first
    widths = {c.key: min_width(c) for c in chosen}
    spare = width - (GUTTER + sum(widths.values()) + max(0, len(chosen) - 1))
    growable = [c for c in chosen if c.max_width > widths[c.key]]
    while spare > 0 and growable:
        # One cell at a time, round robin: host, model and path share what is left.
        for column in list(growable):
            if spare == 0:
                break
            widths[column.key] += 1
            spare -= 1
            if widths[column.key] >= column.max_width:
                growable.remove(column)
    return [PlacedColumn(c, widths[c.key]) for c in columns if c.key in widths]


# --------------------------------------------------------------------------- values


def fmt_count(value: int) -> str:
    if value < 0:
        return DASH
    if value < 10_000:
        return str(value)
    if value < 1_000_000:
        return f"{value / 1000:.1f}k"
    return f"{value / 1_000_000:.1f}M"


def fmt_rate(value: float | None) -> str:
    if value is None or not math.isfinite(value) or value < 0:
        return DASH
    if value < 100:
        return f"{value:.1f}"
    if value < 10_000:
        return f"{value:.0f}"
    return f"{value / 1000:.1f}k"


def fmt_duration_ms(ms: float | None) -> str:
    if ms is None or not math.isfinite(ms) or ms < 0:
        return DASH
    if ms < 1000:
        return f"{ms:.0f}ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def fmt_time(at: float, now: float) -> str:
    """Local wall-clock time; with the date when it is not today's."""
    local = time.localtime(at)
    if time.localtime(now)[:3] == local[:3]:
        return time.strftime("%H:%M:%S", local)
    return time.strftime("%m-%d %H:%M:%S", local)


def is_multi_day(oldest: float | None, now: float) -> bool:
    return oldest is not None and time.localtime(oldest)[:3] != time.localtime(now)[:3]


def fmt_status(code: int | None) -> str:
    return DASH if code is None else str(code)


def cell_values(host: str, record: ActivityRecord, now: float) -> dict[str, str]:
    return {
        "time": fmt_time(record.finished_at, now),
        "host": host,
        "model": record.model,
        "path": record.req_path or DASH,
        "status": fmt_status(record.status_code),
        "cached": fmt_count(record.cache_tokens),
        "prompt": fmt_count(record.input_tokens),
        "gen": fmt_count(record.output_tokens),
        # No tokens, no rate: a failed request's 0.0 t/s would read as a stalled model.
        "prefill": fmt_rate(record.prompt_tps) if record.input_tokens != 0 else DASH,
        "decode": fmt_rate(record.decode_tps) if record.output_tokens != 0 else DASH,
        "duration": fmt_duration_ms(record.duration_ms),
    }


def fit(text: str, width: int, *, right: bool = False) -> str:
    """`text` cut with an ellipsis or padded to exactly `width` terminal cells."""
    if width <= 0:
        return ""
    length = cell_len(text)
    if length > width:
        return set_cell_size(text, width - 1) + "…"
    padding = " " * (width - length)
    return padding + text if right else text + padding
