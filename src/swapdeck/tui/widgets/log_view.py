"""A log tail widget: ANSI colours kept, regex filter, word wrap, follow/pause, selection.

Line API (toolong's approach, tui-anchors §3): lines are parsed from ANSI once
(`Text.from_ansi`, cached by the raw string) and only the visible rows are painted. New
lines arrive in batches (`append_lines`), never one write per line — the doc measured
per-line writes at 4–15× the cost.

Following: after each batch the view jumps to the end. Scrolling up pauses; the owner is
told (`Paused`) and stops appending (it counts instead); scrolling back to the end, or the
owner calling `follow()`, resumes (`ReachedEnd`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.selection import Selection
from textual.strip import Strip

MAX_LINES = 2000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f]")
"""Control characters other than ESC (kept for ANSI parsing) would garble the screen."""


class LogView(ScrollView, can_focus=True):
    ALLOW_SELECT = True
    DEFAULT_CSS = """
    LogView {
        background: $surface;
        color: $foreground;
        overflow-y: scroll;
        overflow-x: auto;
        &:focus { background-tint: $foreground 5%; }
        &.-wrap { overflow-x: hidden; }
    }
    """

    class Paused(Message):
        """The person scrolled away from the newest line."""

    class ReachedEnd(Message):
        """The person scrolled back to the newest line."""

    def __init__(self, *, max_lines: int = MAX_LINES, id: str | None = None) -> None:
        super().__init__(id=id)
        self.max_lines = max_lines
        self.pattern: re.Pattern[str] | None = None
        self.hidden: re.Pattern[str] | None = None
        """Lines it matches are left out whatever the filter (swapdeck's own polling)."""
        self.wrap = False
        self.following = True
        self._raw: list[str] = []
        """Every line given (up to max_lines), filter or not: a new pattern re-reads them."""
        self._entries: list[Text] = []
        """The lines that pass the filter, parsed."""
        self._entry_rows: list[int] = []
        self._rows: list[Text] = []
        """What is painted: entries, or their wrapped pieces."""
        self._row_base = 0
        """Absolute number of `_rows[0]`: keeps the strip cache valid when old rows go."""
        self._widest = 0
        self._wrapped_for = 0
        self._parsed: LRUCache[str, Text] = LRUCache(4 * MAX_LINES)
        self._strips: LRUCache[tuple[int, int, int], Strip] = LRUCache(1024)
        self._quiet_scroll = False

    # ------------------------------------------------------------------ content

    @property
    def line_count(self) -> int:
        """Lines shown (after the filter)."""
        return len(self._entries)

    @property
    def raw_count(self) -> int:
        return len(self._raw)

    def parse(self, raw: str) -> Text:
        text = self._parsed.get(raw)
        if text is None:
            text = Text.from_ansi(_CONTROL.sub("", raw.expandtabs()), no_wrap=True, end="")
            self._parsed[raw] = text
        return text

    def matches(self, raw: str) -> bool:
        if self.pattern is None and self.hidden is None:
            return True
        plain = self.parse(raw).plain
        return ((self.pattern is None or self.pattern.search(plain) is not None)
                and (self.hidden is None or self.hidden.search(plain) is None))

    def set_lines(self, lines: Iterable[str]) -> None:
        """Replace everything (a new source, a new filter, a gap too big to append)."""
        self._raw = list(lines)[-self.max_lines:]
        self._entries, self._entry_rows, self._rows = [], [], []
        self._row_base += 1_000_000  # fresh cache keys; nothing old can be hit
        self._widest = 0
        self._add_entries(self._raw)
        self._after_change()

    def append_lines(self, lines: Sequence[str]) -> None:
        """Add a batch of new lines at the end; the oldest beyond `max_lines` go."""
        if not lines:
            return
        self._raw.extend(lines)
        excess = len(self._raw) - self.max_lines
        if excess > 0:
            dropped = self._raw[:excess]
            del self._raw[:excess]
            self._drop_entries(sum(1 for raw in dropped if self.matches(raw)))
        self._add_entries(lines)
        self._after_change()

    def set_pattern(self, pattern: re.Pattern[str] | None) -> None:
        self.pattern = pattern
        self.set_lines(self._raw)

    def set_hidden(self, hidden: re.Pattern[str] | None) -> None:
        self.hidden = hidden
        self.set_lines(self._raw)

    def set_wrap(self, wrap: bool) -> None:
        top_entry = self._entry_at_row(round(self.scroll_y))
        self.wrap = wrap
        self.set_class(wrap, "-wrap")
        self._rewrap()
        if not self.following:
            self._scroll_quietly(self._first_row_of(top_entry))

    def _add_entries(self, raw_lines: Iterable[str]) -> None:
        width = self._wrap_width()
        for raw in raw_lines:
            if not self.matches(raw):
                continue
            text = self.parse(raw)
            self._entries.append(text)
            pieces = self._pieces(text, width)
            self._entry_rows.append(len(pieces))
            self._rows.extend(pieces)
            if not self.wrap:
                self._widest = max(self._widest, cell_len(text.plain))
        excess = len(self._entries) - self.max_lines
        if excess > 0:
            self._drop_entries(excess)

    def _drop_entries(self, count: int) -> None:
        if count <= 0:
            return
        rows = sum(self._entry_rows[:count])
        del self._entries[:count]
        del self._entry_rows[:count]
        del self._rows[:rows]
        self._row_base += rows

    def _pieces(self, text: Text, width: int) -> list[Text]:
        if not self.wrap or width <= 0 or cell_len(text.plain) <= width:
            return [text]
        return list(text.wrap(self.app.console, width, overflow="fold", no_wrap=False))

    def _wrap_width(self) -> int:
        return self.scrollable_content_region.width if self.wrap else 0

    def _rewrap(self) -> None:
        width = self._wrap_width()
        self._wrapped_for = width
        self._rows, self._entry_rows = [], []
        self._row_base += 1_000_000
        self._widest = 0
        for text in self._entries:
            pieces = self._pieces(text, width)
            self._entry_rows.append(len(pieces))
            self._rows.extend(pieces)
            if not self.wrap:
                self._widest = max(self._widest, cell_len(text.plain))
        self._after_change()

    def _entry_at_row(self, row: int) -> int:
        seen = 0
        for index, count in enumerate(self._entry_rows):
            seen += count
            if seen > row:
                return index
        return max(0, len(self._entry_rows) - 1)

    def _first_row_of(self, entry: int) -> int:
        return sum(self._entry_rows[:entry])

    def _after_change(self) -> None:
        self.virtual_size = Size(self._widest if not self.wrap else 0, len(self._rows))
        if self.following:
            self._scroll_quietly(self.max_scroll_y)
        self.refresh()

    # ------------------------------------------------------------------ follow / pause

    def follow(self) -> None:
        self.following = True
        self._scroll_quietly(self.max_scroll_y)

    def _scroll_quietly(self, y: int) -> None:
        self._quiet_scroll = True
        try:
            self.scroll_to(y=y, animate=False, immediate=True)
        finally:
            self._quiet_scroll = False

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self._quiet_scroll:
            return
        # Only "away from the end" pauses: layout clamping a scroll position (on resize or
        # on first paint) also moves it up, but leaves it at the end.
        at_end = new_value >= self.max_scroll_y
        if new_value < old_value and self.following and not at_end:
            self.following = False
            self.post_message(self.Paused())
        elif at_end and not self.following:
            self.following = True
            self.post_message(self.ReachedEnd())

    def on_resize(self, event: events.Resize) -> None:
        if self.wrap and self._wrap_width() != self._wrapped_for:
            self._rewrap()
        elif self.following:
            self.follow()

    # ------------------------------------------------------------------ reading out

    def visible_text(self) -> str:
        top = round(self.scroll_y)
        rows = self._rows[top: top + self.scrollable_content_region.height]
        return "\n".join(row.plain for row in rows)

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        return selection.extract("\n".join(row.plain for row in self._rows)), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self._strips.clear()
        self.refresh()

    # ------------------------------------------------------------------ painting

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        index = scroll_y + y
        style = self.rich_style
        if not 0 <= index < len(self._rows):
            return Strip.blank(width, style)
        selection = self.text_selection
        key = (self._row_base + index, scroll_x, width)
        if selection is None and (cached := self._strips.get(key)) is not None:
            return cached
        text = self._rows[index]
        if selection is not None and (span := selection.get_span(index)) is not None:
            start, end = span
            text = text.copy()
            text.stylize(self.screen.get_component_rich_style("screen--selection"), start,
                         len(text) if end == -1 else end)
        strip = Strip(list(text.render(self.app.console)), cell_len(text.plain))
        strip = strip.crop_extend(scroll_x, scroll_x + width, style).apply_style(style)
        strip = strip.apply_offsets(scroll_x, index)
        if selection is None:
            self._strips[key] = strip
        return strip
