"""The Activity screen's filter bar: host, model, errors only — all reachable by keyboard.

`/` focuses the host selector; Tab moves on to the model selector and the errors-only
checkbox; Enter or Space opens a selector, arrows pick, Enter confirms; Escape returns to
the table.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Checkbox, Label, Select

from swapdeck.tui.widgets.activity_window import ActivityFilter


class ActivityFilterBar(Horizontal):
    DEFAULT_CSS = """
    ActivityFilterBar {
        height: 1;
        background: $panel;
        & > Label { padding: 0 1; color: $text-muted; }
        & > #filter-host { width: 1fr; max-width: 24; }
        & > #filter-model { width: 2fr; max-width: 36; margin-left: 1; }
        & > #filter-errors { width: auto; margin-left: 1; }
    }
    """

    class Changed(Message):
        def __init__(self, flt: ActivityFilter) -> None:
            super().__init__()
            self.filter = flt

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._hosts: tuple[str, ...] = ()
        self._models: tuple[str, ...] = ()

    def compose(self) -> ComposeResult:
        yield Label("filter")
        yield Select[str]((), prompt="all hosts", compact=True, id="filter-host")
        yield Select[str]((), prompt="all models", compact=True, id="filter-model")
        yield Checkbox("errors only", compact=True, id="filter-errors")

    # ------------------------------------------------------------------ state

    @property
    def current(self) -> ActivityFilter:
        host = self.query_one("#filter-host", Select).value
        model = self.query_one("#filter-model", Select).value
        return ActivityFilter(
            host=host if isinstance(host, str) else None,
            model=model if isinstance(model, str) else None,
            errors_only=self.query_one("#filter-errors", Checkbox).value,
        )

    def set_hosts(self, hosts: Sequence[str]) -> None:
        if tuple(hosts) != self._hosts:
            self._hosts = tuple(hosts)
            self._set_options("#filter-host", self._hosts)

    def set_models(self, models: Sequence[str]) -> None:
        if tuple(models) != self._models:
            self._models = tuple(models)
            self._set_options("#filter-model", self._models)

    def _set_options(self, selector: str, values: Sequence[str]) -> None:
        select: Select[str] = self.query_one(selector, Select)
        keep = select.value
        with select.prevent(Select.Changed):
            select.set_options((value, value) for value in values)
            if isinstance(keep, str) and keep in values:
                select.value = keep

    def show_errors_only(self, value: bool) -> None:
        """Tick or untick the box for a choice the screen already made (no message)."""
        box = self.query_one("#filter-errors", Checkbox)
        with box.prevent(Checkbox.Changed):
            box.value = value

    def focus_first(self) -> None:
        self.query_one("#filter-host", Select).focus()

    # ------------------------------------------------------------------ events

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        self.post_message(self.Changed(self.current))

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        self.post_message(self.Changed(self.current))
