"""One host as a bordered card; its body comes from the pure `card_lines`.

The card is not focusable: the Fleet screen owns the cursor (so the keys work the same in
card and table view) and hands each card what to show. A click selects the line under the
mouse, which is all the mouse is needed for.
"""

from __future__ import annotations

from textual import events
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.widget import Widget

from swapdeck.events import Liveness
from swapdeck.tui.widgets.card_lines import CardInput, card_lines, row_at_line


class HostCard(Widget):
    can_focus = False

    class RowClicked(Message):
        def __init__(self, host: str, row: int) -> None:
            self.host = host
            self.row = row
            super().__init__()

    def __init__(self, host_name: str, *, id: str | None = None) -> None:
        super().__init__(classes="host-card", id=id)
        self.host_name = host_name
        self.card: CardInput | None = None
        self._lines: tuple[int, list[Content]] | None = None
        self.border_title = host_name

    def _lines_for(self, width: int) -> list[Content]:
        if self.card is None:
            return [Content.styled("waiting for the first event…", "dim")]
        if self._lines is None or self._lines[0] != width:
            self._lines = (width, card_lines(self.card, width))
        return self._lines[1]

    def show(self, card: CardInput) -> None:
        self.card = card
        self._lines = None
        self.host_name = card.host.name
        self.border_title = card.host.name
        liveness = card.host.liveness
        self.set_class(card.cursor is not None, "-selected")
        self.set_class(liveness is Liveness.DOWN, "-down")
        self.set_class(liveness is Liveness.RECONNECTING, "-reconnecting")
        self.border_subtitle = "" if card.control else "read-only"
        width, height = self.content_size
        # A new height needs a layout pass; a hidden card (no size yet) always gets one.
        self.refresh(layout=width == 0 or len(self._lines_for(width)) != height)

    def render(self) -> Content:
        return Content("\n").join(self._lines_for(self.content_size.width))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines_for(width))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or self.card is None:
            return
        row = row_at_line(self.card, self.content_size.width, offset.y)
        if row is not None:
            self.post_message(self.RowClicked(self.host_name, row))
