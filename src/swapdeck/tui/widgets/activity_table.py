"""The activity table: a Line-API view over the bounded, newest-first window.

A stock DataTable measures every inserted cell and removes rows in O(N) (tui-anchors §4.1:
10–13 ms per live event at 2,000 rows); at a fleet's thousand requests a second that is
not affordable. This widget holds a reference to the window's row list and renders only
the visible lines, each cached by row key, so a refresh that adds a hundred rows costs
about what painting one screen costs.

Line 0 is the column header; row `i` is painted on line `i + 1 - scroll_y`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from swapdeck.tui.widgets.activity_columns import (
    DASH,
    PlacedColumn,
    cell_values,
    fit,
    is_multi_day,
    layout_columns,
)
from swapdeck.tui.widgets.activity_window import FeedRow, RowKey

CURSOR_MARK = "›"


@dataclass(frozen=True, slots=True)
class _Palette:
    header: Style
    plain: tuple[Style, Style, Style]
    """normal, unknown ("—"), error."""
    cursor: tuple[Style, Style, Style]


class ActivityTable(ScrollView, can_focus=True):
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "activity-table--header",
        "activity-table--cursor",
        "activity-table--error",
        "activity-table--unknown",
    }
    DEFAULT_CSS = """
    ActivityTable {
        background: $surface;
        color: $foreground;
        overflow-x: hidden;
        overflow-y: auto;
        & > .activity-table--header { text-style: bold; background: $panel; }
        & > .activity-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
        }
        &:focus > .activity-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        & > .activity-table--error { color: $error; text-style: bold; }
        & > .activity-table--unknown { color: $text-muted; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "first", "Newest", show=False),
        Binding("end", "last", "Oldest", show=False),
        Binding("enter", "choose", "Inspect"),
    ]

    class Chosen(Message):
        """Enter (or a double click) on a row: open its capture."""

        def __init__(self, row: FeedRow) -> None:
            super().__init__()
            self.row = row

    class LeftTop(Message):
        """The person moved away from the newest row (cursor or scroll): stop following."""

    class WantsOlder(Message):
        """The person went past the oldest row: page older rows in."""

    def __init__(self, clock: Callable[[], float], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._clock = clock
        self._rows: Sequence[FeedRow] = ()
        self._columns: list[PlacedColumn] = []
        self._layout_for: tuple[int, bool] | None = None
        self._cache: LRUCache[tuple[RowKey, bool, int], Strip] = LRUCache(512)
        self._programmatic_scroll = False
        self._palette: _Palette | None = None
        self.cursor = 0

    # ------------------------------------------------------------------ data in

    @property
    def rows(self) -> Sequence[FeedRow]:
        return self._rows

    @property
    def cursor_row(self) -> FeedRow | None:
        return self._rows[self.cursor] if 0 <= self.cursor < len(self._rows) else None

    def show(self, rows: Sequence[FeedRow], *, at_top: bool, dropped_above: int = 0) -> None:
        """Display `rows` (newest first). `at_top`: cursor and view on the newest row;
        otherwise the cursor stays on its row and the view on its rows, `dropped_above`
        rows having left the top."""
        cursor_key = None if at_top else self._key_at(self.cursor)
        self._rows = rows
        self.virtual_size = Size(self.size.width, len(rows) + 1)
        if at_top:
            self.cursor = 0
            self._scroll_quietly(0)
        else:
            index = self._index_of(cursor_key)
            self.cursor = index if index is not None else max(0, min(self.cursor - dropped_above,
                                                                    len(rows) - 1))
            if dropped_above:
                self._scroll_quietly(max(0, round(self.scroll_y) - dropped_above))
        self.refresh()

    def _key_at(self, index: int) -> RowKey | None:
        return self._rows[index].key if 0 <= index < len(self._rows) else None

    def _index_of(self, key: RowKey | None) -> int | None:
        if key is None:
            return None
        for index, row in enumerate(self._rows):
            if row.key == key:
                return index
        return None

    def _scroll_quietly(self, y: int) -> None:
        self._programmatic_scroll = True
        try:
            self.scroll_to(y=y, animate=False, immediate=True)
        finally:
            self._programmatic_scroll = False

    # ------------------------------------------------------------------ navigation

    @property
    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _move(self, index: int) -> None:
        if not self._rows:
            return
        target = max(0, min(index, len(self._rows) - 1))
        old = self.cursor
        self.cursor = target
        self._ensure_visible()
        if target != old:
            self.refresh()
        if target > 0 and old == 0:
            self.post_message(self.LeftTop())

    def _ensure_visible(self) -> None:
        top = round(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor > top + self._page - 1:
            self.scroll_to(y=self.cursor - self._page + 1, animate=False, immediate=True)

    def action_cursor_up(self) -> None:
        self._move(self.cursor - 1)

    def action_cursor_down(self) -> None:
        if self._rows and self.cursor >= len(self._rows) - 1:
            self.post_message(self.WantsOlder())
        self._move(self.cursor + 1)

    def action_page_up(self) -> None:
        self._move(self.cursor - self._page)

    def action_page_down(self) -> None:
        if self._rows and self.cursor >= len(self._rows) - 1:
            self.post_message(self.WantsOlder())
        self._move(self.cursor + self._page)

    def action_first(self) -> None:
        self._move(0)

    def action_last(self) -> None:
        self._move(len(self._rows) - 1)

    def action_choose(self) -> None:
        row = self.cursor_row
        if row is not None:
            self.post_message(self.Chosen(row))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        index = round(self.scroll_y) + offset.y - 1
        if not 0 <= index < len(self._rows):
            return
        already = index == self.cursor
        self._move(index)
        if already and event.chain >= 2:
            self.action_choose()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self._programmatic_scroll or not self._rows:
            return
        if new_value > old_value and old_value < 1:
            self.post_message(self.LeftTop())
        if new_value >= self.max_scroll_y and new_value > old_value:
            self.post_message(self.WantsOlder())

    # ------------------------------------------------------------------ painting

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._forget_styles()

    def on_focus(self, event: events.Focus) -> None:
        self._forget_styles()  # the cursor's colours differ with focus
        self.refresh()

    def on_blur(self, event: events.Blur) -> None:
        self._forget_styles()
        self.refresh()

    def _forget_styles(self) -> None:
        self._palette = None
        self._cache.clear()

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(event.size.width, len(self._rows) + 1)
        self._cache.clear()

    def _styles(self) -> _Palette:
        # Looking styles up costs more than painting a row; they change only with CSS,
        # theme or focus, so they are worked out once.
        if self._palette is None:
            base = self.rich_style
            cursor = base + self.get_component_rich_style("activity-table--cursor")
            error = self.get_component_rich_style("activity-table--error", partial=True)
            unknown = self.get_component_rich_style("activity-table--unknown", partial=True)
            self._palette = _Palette(
                header=base + self.get_component_rich_style("activity-table--header"),
                plain=(base, base + unknown, base + error),
                cursor=(cursor, cursor + unknown, cursor + error),
            )
        return self._palette

    def _current_columns(self, width: int, now: float) -> list[PlacedColumn]:
        oldest = self._rows[-1].record.finished_at if self._rows else None
        wanted = (width, is_multi_day(oldest, now))
        if wanted != self._layout_for:
            self._layout_for = wanted
            self._columns = layout_columns(width, multi_day=wanted[1])
            self._cache.clear()
        return self._columns

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        now = self._clock()
        columns = self._current_columns(width, now)
        palette = self._styles()
        if y == 0:
            return self._header_strip(columns, width, palette.header)
        index = round(self.scroll_y) + y - 1
        if not 0 <= index < len(self._rows):
            return Strip.blank(width, palette.plain[0])
        row = self._rows[index]
        is_cursor = index == self.cursor
        day = time.localtime(now).tm_yday  # a row's time gains its date at midnight
        key = (row.key, is_cursor, day)
        cached = self._cache.get(key)
        if cached is not None and cached.cell_length == width:
            return cached
        strip = self._row_strip(row, columns, width,
                                palette.cursor if is_cursor else palette.plain, is_cursor, now)
        self._cache[key] = strip
        return strip

    def _header_strip(self, columns: list[PlacedColumn], width: int, style: Style) -> Strip:
        text = " " + " ".join(fit(p.column.title, p.width, right=p.right) for p in columns)
        return Strip([Segment(fit(text, width), style)], width)

    def _row_strip(self, row: FeedRow, columns: list[PlacedColumn], width: int,
                   styles: tuple[Style, Style, Style], is_cursor: bool, now: float) -> Strip:
        """One row; neighbouring cells of one style share a segment (fewer to composite)."""
        normal, unknown, error = styles
        values = cell_values(row.host, row.record, now)
        failed = not row.record.ok
        segments: list[Segment] = []
        run: list[str] = [CURSOR_MARK if is_cursor else " "]
        run_style = normal
        for number, placed in enumerate(columns):
            value = values[placed.column.key]
            if value == DASH:
                style = unknown
            elif failed and placed.column.key == "status":
                style = error
            else:
                style = normal
            cell = fit(value, placed.width, right=placed.right)
            if style is not run_style:
                if number:
                    run.append(" ")
                segments.append(Segment("".join(run), run_style))
                run, run_style = [cell], style
            else:
                if number:
                    run.append(" ")
                run.append(cell)
        segments.append(Segment("".join(run), run_style))
        strip = Strip(segments)
        used = strip.cell_length
        if used < width:
            return Strip([*segments, Segment(" " * (width - used), normal)], width)
        return strip.crop(0, width) if used > width else strip
