"""Per-model aggregates of the rows in the window: count, errors, p50/p95 decode and prefill."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static

from swapdeck.fleet.activity_stats import ModelStats
from swapdeck.tui.widgets.activity_columns import fit, fmt_rate

NUMBER_COLUMNS = (("n", 5), ("err", 4), ("dec50", 5), ("dec95", 5), ("pre50", 5), ("pre95", 5))


def render_stats(stats: Sequence[ModelStats], width: int, max_rows: int,
                 window_rows: int) -> Text:
    """One header line, then a line per model (busiest first), "+N more" when cut."""
    numbers = sum(w + 1 for _, w in NUMBER_COLUMNS)
    model_width = max(8, width - numbers)
    title = "model (t/s)"
    header = fit(title, model_width) + "".join(" " + fit(name, w, right=True)
                                                for name, w in NUMBER_COLUMNS)
    text = Text()
    text.append(header, style="bold underline")
    if not stats:
        text.append("\nno requests in view", style="dim")
        return text
    shown = stats if len(stats) <= max_rows else stats[: max(0, max_rows - 1)]
    for item in shown:
        text.append("\n")
        text.append(fit(item.model, model_width))
        values = (str(item.count), str(item.errors), fmt_rate(item.decode_p50),
                  fmt_rate(item.decode_p95), fmt_rate(item.prefill_p50),
                  fmt_rate(item.prefill_p95))
        for (name, w), value in zip(NUMBER_COLUMNS, values, strict=True):
            text.append(" ")
            text.append(fit(value, w, right=True),
                        style="bold red" if name == "err" and item.errors else "")
    hidden = len(stats) - len(shown)
    if hidden > 0:
        text.append(f"\n+{hidden} more model{'s' if hidden != 1 else ''}", style="dim")
    return text


class ModelStatsPanel(Static):
    DEFAULT_CSS = """
    ModelStatsPanel {
        padding: 0 1;
        background: $boost;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self._last = ""
        self._stats: Sequence[ModelStats] = ()
        self._window_rows = 0

    def show(self, stats: Sequence[ModelStats], window_rows: int) -> None:
        self._stats, self._window_rows = stats, window_rows
        width = self.content_region.width or 47
        rows = max(1, self.content_region.height - 1) if self.content_region.height else 10
        text = render_stats(stats, width, rows, window_rows)
        if text.plain != self._last:
            self._last = text.plain
            self.update(text, layout=False)  # a fixed-size panel: no layout pass needed

    def on_resize(self) -> None:
        self.show(self._stats, self._window_rows)  # the lines were cut for the old size
