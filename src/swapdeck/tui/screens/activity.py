"""Activity: every finished request across the fleet, live, newest first.

Data flow: the hub wakes the screen at most every 0.1 s with the hosts that changed
(never per event); the screen takes those hosts' new records (by `requests_seen`), merges
the ones matching the filter into a bounded window (≤ 1,000 rows) in one batch and points
the Line-API table at it. While paused, new rows are only counted. Older rows come from
SQLite in a worker when the person goes past the oldest row.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Static

from swapdeck.events import ActivityRecord
from swapdeck.fleet.activity_stats import model_stats
from swapdeck.tui.screens import RuntimeLike
from swapdeck.tui.screens.capture import CaptureScreen
from swapdeck.tui.widgets.activity_filter_bar import ActivityFilterBar
from swapdeck.tui.widgets.activity_inflight import InflightPanel, inflight_picture
from swapdeck.tui.widgets.activity_stats_panel import ModelStatsPanel
from swapdeck.tui.widgets.activity_table import ActivityTable
from swapdeck.tui.widgets.activity_window import (
    ActivityFilter,
    ActivityWindow,
    FeedRow,
    NewRecordTracker,
    TimeOrder,
    hosts_of,
    initial_rows,
    known_models,
    merge_older,
    older_in_memory,
)

PAGE_SIZE = 200
STATS_INTERVAL_S = 0.5
"""Percentiles over the window are recomputed at most this often (they are not free)."""
INFLIGHT_INTERVAL_S = 0.25
"""The in-flight panel is for a glance: four repaints a second are plenty."""
NARROW_BELOW = 140
"""Below this width the per-model panel moves under the table."""

RenderProbe = Callable[[Sequence[FeedRow], float], None]
"""Called after a refresh has painted: the rows it added and `time.perf_counter()`."""


class ActivityScreen(Screen[None]):
    DEFAULT_CSS = """
    ActivityScreen {
        layout: vertical;
        #activity-body { height: 1fr; }
        #activity-table { width: 1fr; height: 1fr; }
        #activity-stats { width: 54; height: 1fr; border-left: vkey $panel-lighten-1; }
        #activity-status { height: 1; padding: 0 1; background: $panel; color: $text-muted; }
        &.-narrow #activity-body { layout: vertical; }
        &.-narrow #activity-stats { width: 1fr; height: 5; border-left: none;
                                    border-top: hkey $panel-lighten-1; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_follow", "Follow/pause"),
        Binding("slash", "focus_filter", "Filter"),
        Binding("e", "toggle_errors", "Errors only"),
        Binding("escape", "focus_table", "Table", show=False),
    ]

    def __init__(self, runtime: RuntimeLike, clock: Callable[[], float]) -> None:
        super().__init__()
        self.runtime = runtime
        self.clock = clock
        self.filter = ActivityFilter()
        self.following = True
        self.new_while_paused = 0
        self.render_probe: RenderProbe | None = None
        self.message = ""
        self._window = ActivityWindow()
        self._tracker = NewRecordTracker()
        self._time_order = TimeOrder()
        self._seen_models: set[str] = set()
        self._history_exhausted = False
        self._paging = False
        self._unsubscribe: Callable[[], None] | None = None
        self._dirty_hosts: set[str] = set()
        self._refresh_pending = False
        self._stats_at = 0.0
        self._stats_scheduled = False
        self._status_text = ""
        self._inflight_at = 0.0
        self._inflight_scope: tuple[str | None, str | None] | None = None
        """The (host, model) filter the in-flight panel was last drawn for."""

    def compose(self) -> ComposeResult:
        yield ActivityFilterBar(id="activity-filters")
        yield InflightPanel(id="activity-inflight")
        with Horizontal(id="activity-body"):
            yield ActivityTable(self.clock, id="activity-table")
            yield ModelStatsPanel(id="activity-stats")
        yield Static("", id="activity-status", markup=False)  # messages may hold "[...]"
        yield Footer()

    # ------------------------------------------------------------------ lifecycle

    @property
    def table(self) -> ActivityTable:
        return self.query_one(ActivityTable)

    def on_mount(self) -> None:
        self._apply_layout_class(self.app.size.width)
        self._size_panels(self.app.size.height)
        self._rebuild()
        self.table.focus()
        self.set_interval(1.0, self._tick)

    def on_screen_resume(self) -> None:
        if self._unsubscribe is None:
            self._unsubscribe = self.runtime.hub.subscribe(self._on_hub_wake, min_interval_s=0.1)
        if self.following:
            self._rebuild()
        else:
            self._refresh_feed()

    def on_screen_suspend(self) -> None:
        self._stop_listening()

    def on_unmount(self) -> None:
        self._stop_listening()

    def _stop_listening(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def on_resize(self) -> None:
        self._apply_layout_class(self.size.width)
        self._size_panels(self.size.height)

    def _size_panels(self, height: int) -> None:
        rows = 2 if height < 34 else 5
        panel = self.query_one(InflightPanel)
        if panel.max_rows != rows:
            panel.max_rows = rows

    def _apply_layout_class(self, width: int) -> None:
        self.set_class(width < NARROW_BELOW, "-narrow")

    # ------------------------------------------------------------------ data in

    def _on_hub_wake(self, changed: frozenset[str]) -> None:
        # Called from the hub's delivery task: note what changed and let the screen's own
        # message loop do the work, once, however many wake-ups queue meanwhile.
        self._dirty_hosts |= changed
        if not self._refresh_pending:
            self._refresh_pending = True
            self.call_later(self._refresh_feed)

    def _refresh_feed(self) -> None:
        self._refresh_pending = False
        changed, self._dirty_hosts = self._dirty_hosts, set()
        state = self.runtime.state
        self._time_order.update(state)
        fresh = self._tracker.take_new(state, changed or None)
        self._note_models(fresh)
        matching = [row for row in fresh if self.filter.matches(row.host, row.record)]
        if self.following:
            added = self._window.add_newer(matching)
            if added:
                self.table.show(self._window.rows, at_top=True)
                self._probe(matching)
                self._update_stats()
        else:
            self.new_while_paused += len(matching)
        if time.monotonic() - self._inflight_at >= INFLIGHT_INTERVAL_S:
            self._update_inflight()
        self._update_status()

    def _rebuild(self) -> None:
        """The window from memory for the current filter, following the newest row."""
        state = self.runtime.state
        self._tracker.mark_all_seen(state)
        self._time_order.update(state)
        rows = initial_rows(state, self.filter, with_history=self.runtime.store is not None,
                            capacity=self._window.capacity, in_order=self._time_order.in_order)
        self._window.replace(rows)
        self._note_models(rows)
        self.following = True
        self.new_while_paused = 0
        self._history_exhausted = False
        self.table.show(self._window.rows, at_top=True)
        self._update_filter_options()
        self._update_stats(force=True)
        if (self.filter.host, self.filter.model) != self._inflight_scope:
            # The panel shows only host and model filters (errors are finished requests);
            # otherwise its own cadence keeps it fresh, and a key is answered sooner.
            self._update_inflight()
        self._update_status()

    def _note_models(self, rows: Sequence[FeedRow]) -> None:
        before = len(self._seen_models)
        self._seen_models.update(row.record.model for row in rows)
        if len(self._seen_models) != before:
            self._update_filter_options()

    def _update_filter_options(self) -> None:
        state = self.runtime.state
        bar = self.query_one(ActivityFilterBar)
        bar.set_hosts(hosts_of(state, [h.name for h in self.runtime.config.hosts]))
        bar.set_models(known_models(state, self._seen_models))

    def _probe(self, rows: Sequence[FeedRow]) -> None:
        probe = self.render_probe
        if probe is not None and rows:
            batch = list(rows)
            self.call_after_refresh(lambda: probe(batch, time.perf_counter()))

    def _tick(self) -> None:
        """Once a second: in-flight elapsed times move even when no event arrives."""
        if self.is_current:
            self._update_inflight()

    # ------------------------------------------------------------------ panels

    def _update_inflight(self) -> None:
        self._inflight_at = time.monotonic()
        self._inflight_scope = (self.filter.host, self.filter.model)
        names = hosts_of(self.runtime.state, [h.name for h in self.runtime.config.hosts])
        panel = self.query_one(InflightPanel)
        picture = inflight_picture(self.runtime.state, names, self.filter, self.clock(),
                                   limit=panel.max_rows)
        panel.show(picture)

    def _update_stats(self, force: bool = False) -> None:
        now = time.monotonic()
        wait = STATS_INTERVAL_S - (now - self._stats_at)
        if not force and wait > 0:
            if not self._stats_scheduled:  # a trailing update, so the last batch counts
                self._stats_scheduled = True
                self.set_timer(wait, self._trailing_stats)
            return
        self._stats_at = now
        self.query_one(ModelStatsPanel).show(model_stats(self._window.records()),
                                             len(self._window))

    def _trailing_stats(self) -> None:
        self._stats_scheduled = False
        self._update_stats(force=True)

    def _update_status(self) -> None:
        parts = []
        if self.following:
            parts.append("● following")
        else:
            parts.append(f"❚❚ paused — {self.new_while_paused:,} new (space: follow)")
        if self.message:
            parts.append(self.message)
        parts.append(f"{len(self._window):,} rows")
        if not self.filter.is_empty:
            parts.append("filtered")
        status = " · ".join(parts)
        if status != self._status_text:  # one line, fixed height: never a layout pass
            self._status_text = status
            self.query_one("#activity-status", Static).update(status, layout=False)

    # ------------------------------------------------------------------ actions

    def action_toggle_follow(self) -> None:
        if self.following:
            self.following = False
            self.message = ""
            self._update_status()
        else:
            self.message = ""
            self._rebuild()

    def action_focus_filter(self) -> None:
        self.query_one(ActivityFilterBar).focus_first()

    def action_focus_table(self) -> None:
        self.table.focus()

    def action_toggle_errors(self) -> None:
        # Straight to the rebuild (the checkbox follows quietly): a key answered in one
        # step, not after three messages queued behind a busy fleet's refreshes.
        flt = ActivityFilter(self.filter.host, self.filter.model, not self.filter.errors_only)
        self.query_one(ActivityFilterBar).show_errors_only(flt.errors_only)
        self.filter = flt
        self.message = ""
        self._rebuild()

    def on_activity_filter_bar_changed(self, event: ActivityFilterBar.Changed) -> None:
        if event.filter == self.filter:
            return  # selectors report their start-up values too
        self.filter = event.filter
        self.message = ""
        self._rebuild()

    def on_activity_table_left_top(self, event: ActivityTable.LeftTop) -> None:
        if self.following:
            self.following = False
            self._update_status()

    def on_activity_table_chosen(self, event: ActivityTable.Chosen) -> None:
        row = event.row
        self.app.push_screen(CaptureScreen(self.runtime, row.host, row.record))

    def on_activity_table_wants_older(self, event: ActivityTable.WantsOlder) -> None:
        if not self._paging and not self._history_exhausted:
            self._paging = True
            self.message = "loading older requests…"
            self._update_status()
            self._load_older()

    # ------------------------------------------------------------------ paging

    @work(exclusive=True, group="activity-older", exit_on_error=False)
    async def _load_older(self) -> None:
        try:
            await self._page_in_older()
        finally:
            self._paging = False
            self._update_status()

    async def _page_in_older(self) -> None:
        flt = self.filter
        oldest = self._window.oldest_key
        before = oldest if oldest is not None else (float("inf"), "", 0, 0)
        memory = older_in_memory(self.runtime.state, flt, before, PAGE_SIZE)
        stored: list[tuple[str, ActivityRecord]] = []
        store = self.runtime.store
        if store is not None:
            try:
                stored = list(await store.activity_page(
                    before=oldest, limit=PAGE_SIZE, host=flt.host, model=flt.model,
                    errors_only=flt.errors_only))
            except Exception as exc:  # a locked or damaged database must not kill the screen
                self.message = f"could not read older requests: {exc}"
                return
        if flt != self.filter:
            return  # the filter changed while we waited; that rebuild wins
        page = merge_older(stored, memory, PAGE_SIZE)
        added, dropped = self._window.add_older(page)
        if added == 0:
            self._history_exhausted = True
            self.message = ("no older requests stored" if store is not None else
                            "no older requests (no history database)")
            return
        self.message = f"+{added} older"
        if dropped:
            self.following = False  # the newest rows made room: the window left the live edge
        self.table.show(self._window.rows, at_top=False, dropped_above=dropped)
        self._note_models(page)
        self._update_stats(force=True)
