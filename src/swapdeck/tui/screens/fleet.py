"""The Fleet screen: totals on top, then a card per host — or one line per host when the
cards would not fit (nvitop-style auto / cards / table, `v` cycles). Under the table, the
selected host's card fills the room that is left.

The screen never waits on the network: it reads `FleetState` when the hub says hosts
changed (coalesced, at most every 0.1 s), re-reads every second for ages and countdowns,
and hands actions to the app, which confirms them and queues them. It never changes the
state itself — the host's own events move the display.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, VerticalScroll
from textual.events import Resize
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input

from swapdeck.fleet.actions import ActionKind
from swapdeck.gate.settings import pinned_build_name, pinned_lock
from swapdeck.sources.local import LocalProbe, LocalReading, local_host_names, runs_here
from swapdeck.tui.clock import Clock
from swapdeck.tui.modals import ModelPickerModal
from swapdeck.tui.screens import RuntimeLike
from swapdeck.tui.widgets.action_target import Next, choose_target
from swapdeck.tui.widgets.card_lines import CardInput, card_lines, card_rows
from swapdeck.tui.widgets.fleet_table import FleetTable
from swapdeck.tui.widgets.fleet_totals import FleetTotalsBar, fleet_totals
from swapdeck.tui.widgets.host_card import HostCard

VIEW_MODES = ("auto", "cards", "table")
CARD_MIN_WIDTH = 76
"""Columns of cards: one per 76 cells (80×24 → 1, 160×48 → 2, 240 wide → 3)."""
LOCAL_PROBE_S = 2.0
LocalReader = Callable[[float], LocalReading]


class FleetScreen(Screen[None]):
    HELP_TITLE = "Fleet"
    AUTO_FOCUS = ""  # the screen owns the cursor; focus goes to the table or the filter only
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "cursor(1)", "Down", show=False, id="fleet.down"),
        Binding("up,k", "cursor(-1)", "Up", show=False, id="fleet.up"),
        Binding("w", "warm", "Warm", id="fleet.warm"),
        Binding("u", "unload", "Unload", id="fleet.unload"),
        Binding("U", "unload_all", "Unload all", id="fleet.unload_all"),
        Binding("v", "cycle_view", "View", id="fleet.view"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="fleet.clear_filter"),
    ]

    class ActionRequested(Message):
        """Asks the app to confirm and queue an action (the app owns the modal flow)."""

        def __init__(self, host: str, kind: ActionKind, model: str | None) -> None:
            self.host = host
            self.kind = kind
            self.model = model
            super().__init__()

    def __init__(self, runtime: RuntimeLike, clock: Clock) -> None:
        super().__init__(id="fleet-screen")
        self.runtime = runtime
        self.clock = clock
        self.view_mode = "auto"
        self.effective_view = "cards"
        self.sel_host: str | None = None
        self.sel_model: str | None = None
        self.filter_text = ""
        self._cards: dict[str, HostCard] = {}
        self._detail = HostCard("", id="detail-card")
        self._configs = {h.name: h for h in runtime.config.hosts}
        self._is_local: dict[str, bool] = {}
        self._local: LocalReading | None = None
        self._probe: LocalProbe | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._actions_seen: tuple[tuple[int, str], ...] = ()

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield FleetTotalsBar(id="totals")
        yield Input(placeholder="filter hosts and models — Enter keeps it, Esc clears",
                    id="fleet-filter", classes="-hidden")
        with VerticalScroll(id="cards-scroll", can_focus=False):
            yield Container(id="cards")
        yield FleetTable()
        with VerticalScroll(id="detail-scroll", can_focus=False):
            yield self._detail
        yield Footer(compact=True)

    async def on_mount(self) -> None:
        names = self.host_names()
        local_names = local_host_names()
        self._is_local = {n: n in self._configs and runs_here(self._configs[n], local_names)
                          for n in names}
        self._cards = {name: HostCard(name) for name in names}
        await self.query_one("#cards", Container).mount_all(self._cards.values())
        if names:
            self.sel_host = names[0]
        self._unsubscribe = self.runtime.hub.subscribe(self._on_fleet_changed,
                                                       min_interval_s=0.1)
        self.set_interval(1.0, self._tick)
        self.set_interval(0.25, self._check_actions)
        if any(self._is_local.values()):
            self._probe_local()
            self.set_interval(LOCAL_PROBE_S, self._probe_local)
        self._choose_view()
        self.refresh_fleet()

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._probe is not None:
            self._probe.close()

    def host_names(self) -> list[str]:
        return list(self.runtime.state.hosts)

    def visible_hosts(self) -> list[str]:
        needle = self.filter_text.strip().lower()
        if not needle:
            return self.host_names()
        visible = []
        for name in self.host_names():
            config = self._configs.get(name)
            haystack = [name, *(config.tags if config else ()),
                        *self.runtime.state.host(name).models]
            if any(needle in text.lower() for text in haystack):
                visible.append(name)
        return visible

    def _columns(self) -> int:
        return max(1, self.size.width // CARD_MIN_WIDTH)

    def _cards_fit(self) -> bool:
        columns = self._columns()
        width = self.size.width // columns - 4  # border and padding
        now = self.clock()
        heights = [len(card_lines(self.card_input(name, now), width)) + 2
                   for name in self.visible_hosts()]
        rows = [max(heights[i:i + columns]) for i in range(0, len(heights), columns)]
        filter_line = 0 if self.query_one("#fleet-filter").has_class("-hidden") else 1
        return sum(rows) <= self.size.height - 2 - filter_line

    def _choose_view(self) -> None:
        if not self.is_mounted or self.size.height == 0:
            return
        view = self.view_mode if self.view_mode != "auto" else (
            "cards" if self._cards_fit() else "table")
        cards = self.query_one("#cards", Container)
        cards.styles.grid_size_columns = self._columns()
        if view == self.effective_view and cards.parent is not None and self.is_mounted:
            self._apply_view_visibility(view)
            return
        self.effective_view = view
        self._apply_view_visibility(view)
        self.refresh_fleet()

    def _apply_view_visibility(self, view: str) -> None:
        table = self.query_one(FleetTable)
        self.query_one("#cards-scroll").display = view == "cards"
        table.display = view == "table"
        self.query_one("#detail-scroll").display = view == "table"
        if view == "table" and not isinstance(self.focused, Input):
            table.focus()
            if self.sel_host:
                table.select_host(self.sel_host)
        elif view == "cards" and self.focused is table:
            self.set_focus(None)

    def on_resize(self, event: Resize) -> None:
        self._choose_view()

    # ------------------------------------------------------------------ refresh

    def _on_fleet_changed(self, changed: frozenset[str]) -> None:
        if self.is_current:
            self.refresh_fleet(changed)

    def on_screen_resume(self) -> None:
        self.refresh_fleet()

    def _tick(self) -> None:
        if self.is_current:
            self._choose_view()
            self.refresh_fleet()

    def _check_actions(self) -> None:
        seen = tuple((a.id, a.status.value) for a in self.runtime.actions.history)
        if seen != self._actions_seen:
            self._actions_seen = seen
            if self.is_current:
                self.refresh_fleet()

    def _pinned_build(self) -> str | None:
        """The engine build of the config's pin (`[gate] lock`), read once: cards flag
        hosts that run anything else."""
        if not hasattr(self, "_pinned"):
            self._pinned = pinned_build_name(pinned_lock(self.runtime.config))
        return self._pinned

    def card_input(self, name: str, now: float) -> CardInput:
        config = self._configs.get(name)
        actions = self.runtime.actions
        outcomes = tuple(a for a in reversed(actions.history)
                         if a.host == name and a.finished_at is not None)[:3]
        local = self._is_local.get(name, False)
        cursor = None
        if name == self.sel_host:
            rows = card_rows(self.runtime.state.host(name))
            cursor = rows.index(self.sel_model) if self.sel_model in rows else 0
        return CardInput(host=self.runtime.state.host(name),
                         control=bool(config and config.control), is_local=local,
                         local=self._local if local else None,
                         queue=tuple(actions.queued(name)), outcomes=outcomes, now=now,
                         cursor=cursor, pinned_build=self._pinned_build())

    def refresh_fleet(self, changed: Iterable[str] | None = None) -> None:
        if not self.is_mounted:
            return
        now = self.clock()
        visible = self.visible_hosts()
        state = self.runtime.state
        for name in state.hosts:
            if name not in self._cards:  # a host that appeared after mount
                self._cards[name] = card = HostCard(name)
                self.query_one("#cards", Container).mount(card)
        if self.effective_view == "cards":
            wanted = set(visible) if changed is None else set(changed) & set(visible)
            for name, card in self._cards.items():
                card.display = name in visible
                if name in wanted:
                    card.show(self.card_input(name, now))
        else:
            self.query_one(FleetTable).show([self.card_input(n, now) for n in visible],
                                           width=self.size.width)
            self._show_detail(now)
        label = self.effective_view if self.view_mode != "auto" else f"auto ({self.effective_view})"
        self.query_one(FleetTotalsBar).show(fleet_totals(state.hosts.values(), now), label,
                                            self.size.width)

    def _show_detail(self, now: float) -> None:
        """The table's selected host, as a card (no model cursor: the table selects hosts)."""
        detail = self.query_one("#detail-scroll")
        if self.sel_host is None or self.sel_host not in self.runtime.state.hosts:
            detail.display = False
            return
        detail.display = True
        card = self.card_input(self.sel_host, now)
        self._detail.show(CardInput(host=card.host, control=card.control,
                                    is_local=card.is_local, local=card.local, queue=card.queue,
                                    outcomes=card.outcomes, now=now,
                                    pinned_build=card.pinned_build))

    def _got_local(self, reading: LocalReading) -> None:
        self._local = reading
        self.refresh_fleet([n for n, local in self._is_local.items() if local])

    @work(thread=True, exclusive=True, group="local-probe", exit_on_error=False)
    def _probe_local(self) -> None:
        reader: LocalReader | None = getattr(self.app, "local_reader", None)
        if reader is None:
            if self._probe is None:
                self._probe = LocalProbe()  # NVML init blocks: only ever in this thread
            reader = self._probe.read
        reading = reader(self.clock())
        self.app.call_from_thread(self._got_local, reading)

    # ------------------------------------------------------------------ selection

    def select(self, host: str | None, model: str | None = None) -> None:
        previous = self.sel_host
        self.sel_host, self.sel_model = host, model
        if self.effective_view == "table" and host:
            self.query_one(FleetTable).select_host(host)
        self.refresh_fleet({n for n in (previous, host) if n})
        card = self._cards.get(host or "")
        if card is not None and self.effective_view == "cards":
            card.scroll_visible(animate=False)

    def select_host(self, name: str) -> None:
        """Jump to a host (command palette): clear a filter that hides it, select its line."""
        if name not in self.visible_hosts():
            self.query_one("#fleet-filter", Input).value = ""
        self.select(name, None)

    def action_cursor(self, delta: int) -> None:
        if self.effective_view == "table":
            table = self.query_one(FleetTable)
            table.move_cursor(row=max(0, table.cursor_row + delta))
            return
        flat = [(h, m) for h in self.visible_hosts()
                for m in card_rows(self.runtime.state.host(h))]
        if not flat:
            return
        here = (self.sel_host, self.sel_model)
        if here not in flat:  # the model went away: its host line is where the cursor is
            here = (self.sel_host, None)
        index = flat.index(here) if here in flat else (-1 if delta > 0 else 0)
        host, model = flat[max(0, min(len(flat) - 1, index + delta))]
        self.select(host, model)

    def on_host_card_row_clicked(self, event: HostCard.RowClicked) -> None:
        rows = card_rows(self.runtime.state.host(event.host))
        self.select(event.host, rows[event.row] if event.row < len(rows) else None)

    @on(DataTable.RowHighlighted, "#fleet-table")
    def _table_moved(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None and event.row_key.value != self.sel_host:
            self.sel_host, self.sel_model = event.row_key.value, None
            if self.effective_view == "table":
                self._show_detail(self.clock())

    @on(DataTable.RowSelected, "#fleet-table")
    def _table_opened(self, event: DataTable.RowSelected) -> None:
        """Enter on a host line: show its card (cards view, that host selected)."""
        self.view_mode = "cards"
        self._choose_view()
        if event.row_key.value is not None:
            self.select(event.row_key.value, None)

    def action_cycle_view(self) -> None:
        self.view_mode = VIEW_MODES[(VIEW_MODES.index(self.view_mode) + 1) % len(VIEW_MODES)]
        self._choose_view()
        self.refresh_fleet()

    # ------------------------------------------------------------------ filter

    def action_focus_filter(self) -> None:
        box = self.query_one("#fleet-filter", Input)
        box.remove_class("-hidden")
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#fleet-filter", Input)
        if box.value or not box.has_class("-hidden"):
            box.value = ""
            box.add_class("-hidden")
            self._leave_filter()

    def _leave_filter(self) -> None:
        if self.effective_view == "table":
            self.query_one(FleetTable).focus()
        else:
            self.set_focus(None)

    @on(Input.Changed, "#fleet-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        visible = self.visible_hosts()
        if self.sel_host not in visible:
            self.sel_host, self.sel_model = (visible[0] if visible else None), None
        self._choose_view()
        self.refresh_fleet()

    @on(Input.Submitted, "#fleet-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if not event.value:
            event.input.add_class("-hidden")
        self._leave_filter()

    # ------------------------------------------------------------------ actions

    def _request(self, kind: ActionKind) -> None:
        host = self.sel_host
        if host is None:
            self.notify("Select a host first (↑/↓)", severity="warning")
            return
        config = self._configs.get(host)
        model = self.sel_model if self.effective_view == "cards" else None
        target = choose_target(self.runtime.state.host(host), kind, model,
                               controllable=bool(config and config.control))
        if target.next is Next.SAY:
            self.notify(target.message, severity="warning")
        elif target.next is Next.PICK:
            self._pick_then_request(host, kind, list(target.choices))
        else:
            self.post_message(self.ActionRequested(host, kind, target.model))

    def _pick_then_request(self, host: str, kind: ActionKind, candidates: list[str]) -> None:
        state = self.runtime.state.host(host)
        choices = [(m, f"{m}  ({state.models[m].info.state.value})") for m in candidates]
        verb = "Warm" if kind is ActionKind.WARM else "Unload"

        def picked(model: str | None) -> None:
            if model:
                self.post_message(self.ActionRequested(host, kind, model))

        self.app.push_screen(ModelPickerModal(f"{verb} which model on {host}?", choices), picked)

    def action_warm(self) -> None:
        self._request(ActionKind.WARM)

    def action_unload(self) -> None:
        self._request(ActionKind.UNLOAD)

    def action_unload_all(self) -> None:
        self._request(ActionKind.UNLOAD_ALL)
