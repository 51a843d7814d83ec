"""A keyed DataTable for the Pool screen's candidates and installed models.

`show` rebuilds the table only when the columns or the rows' order change (a filter, a new
model) and otherwise updates just the cells that differ, in one batch — the Fleet table's
approach, so a progress tick does not redraw every row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text
from textual.content import Content
from textual.widgets import DataTable

from swapdeck.tui.widgets.fleet_table import to_rich
from swapdeck.tui.widgets.pool_cells import Column

Row = tuple[str, Mapping[str, Content]]


class PoolTable(DataTable[Text]):
    DEFAULT_CSS = """
    PoolTable {
        height: auto;
        scrollbar-size-vertical: 1;
    }
    """

    def __init__(self, *, id: str) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, id=id)
        self._order: list[str] = []
        self._columns: list[Column] = []
        self._cells: dict[tuple[str, str], Content] = {}

    @property
    def keys(self) -> list[str]:
        return list(self._order)

    def show(self, columns: Sequence[Column], rows: Sequence[Row]) -> None:
        parse = self.app.stylesheet.parse_style
        order = [key for key, _ in rows]
        selected = self.selected_key()
        wanted = list(columns)
        with self.app.batch_update():
            if wanted != self._columns:
                self.clear(columns=True)
                for key, label, width, _least, _most in wanted:
                    self.add_column(label, key=key, width=width)
                self._columns = wanted
                self._order = []
            names = [column[0] for column in wanted]
            if order != self._order:
                self.clear()
                self._cells.clear()
                for key, cells in rows:
                    self._cells.update({(key, name): cells[name] for name in names})
                    self.add_row(*(to_rich(cells[name], parse) for name in names), key=key)
                self._order = order
                if selected in order:
                    self.move_cursor(row=order.index(selected), scroll=False)
                return
            for key, cells in rows:
                for name in names:
                    value = cells[name]
                    old = self._cells.get((key, name))
                    if old is not None and old.is_same(value):
                        continue
                    self._cells[(key, name)] = value
                    self.update_cell(key, name, to_rich(value, parse))

    def selected_key(self) -> str | None:
        if not self._order or not 0 <= self.cursor_row < len(self._order):
            return None
        return self._order[self.cursor_row]

    def select_key(self, key: str) -> None:
        if key in self._order:
            self.move_cursor(row=self._order.index(key))
