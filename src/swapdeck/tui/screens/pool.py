"""Pool: which models this box should hold, which it holds, and installing / evicting them.

Top to bottom: the box (hardware, disk budget, install target), the catalog ranked for it
(Enter says why; f / s / t filter by family, bracket and fit), the installed pool (last use,
llama-swap config and load state, upgrade proposals), and the live install line.

The screen only looks: the app's `PoolSession` (`widgets.pool_runtime.pool_session`) does
the work in its own tasks, so a download keeps going on other screens and resumes after a
restart. The screen redraws when the session's `revision` moves (checked every 0.2 s) and
every second for ages and the fleet's load states. Every change goes through a modal that
shows the exact plan first.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.events import DescendantFocus, Resize
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from swapdeck.bench.target import target_for_host
from swapdeck.config import ConfigError
from swapdeck.pool.errors import PoolError, human_bytes
from swapdeck.pool.session import PoolSession
from swapdeck.pool.session_bench import QUICK_SUITE
from swapdeck.pool.session_hub import summary as hub_summary
from swapdeck.pool.session_values import InstallJob, JobState
from swapdeck.pool.session_view import (
    CandidateFilter,
    filter_rows,
    upgrade_proposals,
    why_lines,
)
from swapdeck.tui.clock import Clock
from swapdeck.tui.pool_flows import confirm_evict, confirm_install
from swapdeck.tui.pool_modals import WhyModal
from swapdeck.tui.screens import RuntimeLike
from swapdeck.tui.widgets.pool_cells import (
    CANDIDATE_COLUMNS,
    INSTALLED_COLUMNS,
    RowMarks,
    candidate_cells,
    choose_columns,
    installed_cells,
)
from swapdeck.tui.widgets.pool_header import HeaderFacts, PoolHeader, hardware_detail_lines
from swapdeck.tui.widgets.pool_runtime import (
    bench_host,
    last_uses,
    loaded_on,
    pool_session,
)
from swapdeck.tui.widgets.pool_status import PoolStatus, detail_text
from swapdeck.tui.widgets.pool_tables import PoolTable

POLL_S = 0.2


class PoolScreen(Screen[None]):
    HELP_TITLE = "Pool"
    AUTO_FOCUS = "#pool-candidates"
    DEFAULT_CSS = """
    PoolScreen {
        layout: vertical;
        #pool-filters, #pool-installed-title {
            height: 1; padding: 0 1; background: $boost;
            text-wrap: nowrap; text-overflow: ellipsis;
        }
        #pool-candidates { height: 1fr; min-height: 4; }
        #pool-installed { height: auto; max-height: 8; }
        #pool-detail { height: auto; max-height: 2; padding: 0 1; color: $text-muted;
                       text-wrap: nowrap; text-overflow: ellipsis; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "cursor(1)", "Down", show=False, id="pool.down"),
        Binding("up,k", "cursor(-1)", "Up", show=False, id="pool.up"),
        Binding("i", "install", "Install", id="pool.install"),
        Binding("e", "evict", "Evict", id="pool.evict"),
        Binding("u", "upgrade", "Upgrade", id="pool.upgrade", show=False),
        Binding("b", "bench", "Bench", id="pool.bench"),
        Binding("p", "pause", "Pause", id="pool.pause"),
        Binding("x", "cancel_install", "Cancel", id="pool.cancel"),
        Binding("f", "filter_family", "Family filter", id="pool.family", show=False),
        Binding("s", "filter_bracket", "Bracket filter", id="pool.bracket", show=False),
        Binding("t", "filter_fit", "Fit filter", id="pool.fit", show=False),
        Binding("h", "hardware", "Hardware", id="pool.hardware", show=False),
        Binding("r", "refresh", "Refresh", id="pool.refresh", show=False),
        Binding("H", "check_hub", "Check Hub", id="pool.hub", show=False),
    ]

    def __init__(self, runtime: RuntimeLike, clock: Clock) -> None:
        super().__init__(id="pool-screen")
        self.runtime = runtime
        self.clock = clock
        self.filter = CandidateFilter()
        self.session: PoolSession | None = None
        """The app's session, found (or made and started) on mount."""
        self._seen = -1
        self._table = "pool-candidates"
        self._announced: set[str] = set()
        self._told_about: InstallJob | None = None
        """The last install whose end was announced (held, so it is never confused with
        a new one)."""

    def compose(self) -> ComposeResult:
        yield PoolHeader(id="pool-header")
        yield Static(id="pool-filters")
        yield PoolTable(id="pool-candidates")
        yield Static(id="pool-installed-title")
        yield PoolTable(id="pool-installed")
        yield Static(id="pool-detail")
        yield PoolStatus(id="pool-status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.session = pool_session(self.app, self.runtime, self.clock)
        self.set_interval(POLL_S, self._poll)
        self.set_interval(1.0, self._tick)
        self.redraw()

    async def on_unmount(self) -> None:
        # Mode screens unmount only when the app closes: stop the session without losing
        # anything (a running download keeps its partial and resumes on the next start).
        if self.session is not None:
            await self.session.aclose()

    # ------------------------------------------------------------------ refresh

    def _poll(self) -> None:
        if self.session is not None and self.session.revision != self._seen:
            self._announce()
            if self.is_current:
                self.redraw()

    def _tick(self) -> None:
        if self.is_current:
            self.redraw()

    def on_screen_resume(self) -> None:
        self.redraw()

    def on_resize(self, event: Resize) -> None:
        self.redraw()

    def on_descendant_focus(self, event: DescendantFocus) -> None:
        if isinstance(event.widget, PoolTable) and event.widget.id:
            self._table = event.widget.id

    def _announce(self) -> None:
        """Say once what the person should know: problems, and how an install ended."""
        session = self.session
        assert session is not None
        for problem in session.problems:
            if problem not in self._announced:
                self._announced.add(problem)
                self.notify(problem, title="Pool", severity="warning", timeout=12)
        job = session.job
        if job is not None and job.state is not JobState.RUNNING and job is not self._told_about:
            self._told_about = job
            self._job_ended(job)

    def _job_ended(self, job: InstallJob) -> None:
        if job.state is JobState.DONE:
            self.notify(f"{job.model_id} installed" + (
                f"; evicted {', '.join(job.evicted)}" if job.evicted else ""),
                title="Pool", timeout=6)
        else:
            self.notify(job.message, title=f"Install {job.state.value}", timeout=15,
                        severity="error" if job.state is JobState.FAILED else "warning")

    def redraw(self) -> None:
        session = self.session
        if session is None or not self.is_mounted:
            return
        self._seen = session.revision
        now = self.clock()
        width = max(40, self.size.width - 1)  # a vertical scrollbar may take a cell
        self.query_one(PoolHeader).show(HeaderFacts.of(session))
        self.query_one(PoolStatus).show(session.job, session.bench)
        source = session.source
        filters = self.query_one("#pool-filters", Static)
        if source is None:
            filters.update(Content.styled(session.catalog_error or "loading the catalog…",
                                          "$error" if session.catalog_error else "dim"))
            return
        catalog = source.catalog
        rows = filter_rows(session.ranking, catalog, self.filter)
        marks = RowMarks.of(session)
        filters.update(Content.assemble(
            ("Candidates ", "bold"), f"{len(rows)} of {len(session.ranking)} · ",
            (self.filter.describe(), "$accent"), (f" · {source.label}", "dim")))
        self.query_one("#pool-candidates", PoolTable).show(
            choose_columns(CANDIDATE_COLUMNS, width),
            [(row.id, candidate_cells(row, catalog.get(row.id), marks)) for row in rows])
        self._show_installed(now, width)

    def _last_uses(self) -> dict[str, float]:
        assert self.session is not None
        return last_uses(self.session.state.entries, self.runtime.state)

    def _show_installed(self, now: float, width: int) -> None:
        session = self.session
        assert session is not None and session.source is not None
        entries = session.state.entries
        proposals = upgrade_proposals(entries, session.source.catalog, session.ranking)
        loaded, uses = loaded_on(self.runtime.state), self._last_uses()
        columns = choose_columns(INSTALLED_COLUMNS, width)
        upgrade_cells = next((c[2] for c in columns if c[0] == "upgrade"), 0)
        table = self.query_one("#pool-installed", PoolTable)
        table.show(columns, [(e.id, installed_cells(
            e, now=now, last_use=uses.get(e.id), configured=session.configured,
            loaded_on=loaded.get(e.id, []), proposal=proposals.get(e.id),
            upgrade_cells=upgrade_cells)) for e in entries])
        free = max(0, session.policy.budget_bytes - session.state.used_bytes)
        self.query_one("#pool-installed-title", Static).update(Content.assemble(
            ("Installed ", "bold"), f"{len(entries)} model(s) · "
            f"{human_bytes(session.state.used_bytes)} · {human_bytes(free)} free"))
        detail = detail_text(proposals.get(table.selected_key() or ""), session.waiting,
                             session.resumable)
        self.query_one("#pool-detail", Static).update(detail)

    # ------------------------------------------------------------------ selection

    def action_cursor(self, delta: int) -> None:
        table = self.query_one(f"#{self._table}", PoolTable)
        if not table.has_focus:
            table.focus()
        table.move_cursor(row=max(0, table.cursor_row + delta))

    def _selected(self, table_id: str | None = None) -> str | None:
        table = self.query_one(f"#{table_id or self._table}", PoolTable)
        return table.selected_key()

    @on(DataTable.RowHighlighted, "#pool-installed")
    def _installed_moved(self, event: DataTable.RowHighlighted) -> None:
        self.redraw()  # the line under the table follows the cursor (its upgrade proposal)

    @on(DataTable.RowSelected)
    def _why(self, event: DataTable.RowSelected) -> None:
        event.stop()
        session = self.session
        model_id = event.row_key.value
        if session is None or session.source is None or model_id is None:
            return
        row = session.row(model_id)
        if row is None:
            self.notify(f"{model_id} is not in the {session.source.label}: no ranking to explain",
                        severity="warning")
            return
        self.app.push_screen(WhyModal(f"Why {row.name} scores {row.score:.1f} here",
                                      why_lines(row, session.source.catalog.get(model_id))))

    # ------------------------------------------------------------------ install / evict

    def action_install(self) -> None:
        if self._table != "pool-candidates":
            self.notify("Pick a model in the ranked table (Tab switches tables); u installs an "
                        "installed model's upgrade", severity="warning")
            return
        model_id = self._selected()
        if model_id is not None:
            self._confirm_install(model_id)

    def action_upgrade(self) -> None:
        session = self.session
        model_id = self._selected("pool-installed")
        if session is None or session.source is None or model_id is None:
            return
        proposal = upgrade_proposals(session.state.entries, session.source.catalog,
                                     session.ranking).get(model_id)
        if proposal is None:
            self.notify(f"no upgrade proposed for {model_id}", severity="warning")
            return
        self._confirm_install(proposal.target.id)

    @work(exclusive=True, group="pool-confirm", exit_on_error=False)
    async def _confirm_install(self, model_id: str) -> None:
        await confirm_install(self, model_id)

    def action_evict(self) -> None:
        model_id = self._selected()
        session = self.session
        if session is None or model_id is None:
            return
        if session.state.find(model_id) is None:
            self.notify(f"{model_id} is not installed", severity="warning")
            return
        self._confirm_evict(model_id)

    @work(exclusive=True, group="pool-confirm", exit_on_error=False)
    async def _confirm_evict(self, model_id: str) -> None:
        await confirm_evict(self, model_id)

    def action_pause(self) -> None:
        if self.session is None or self.session.toggle_pause() is None:
            self.notify("No install is running", severity="warning", timeout=4)
        self.redraw()

    def action_cancel_install(self) -> None:
        if self.session is None or not self.session.cancel():
            self.notify("No install is running", severity="warning", timeout=4)
        self.redraw()

    # ------------------------------------------------------------------ bench and filters

    def action_bench(self) -> None:
        session, model_id = self.session, self._selected()
        if session is None or model_id is None:
            return
        host = bench_host(self.runtime.config.hosts, self.runtime.state, model_id)
        try:
            if isinstance(host, str):
                raise PoolError(host)
            session.start_bench(model_id, target_for_host(host, model_id))
        except (ConfigError, PoolError) as exc:
            self.notify(str(exc), title="No bench", severity="warning", timeout=12)
            return
        self.notify(f"quick bench ({QUICK_SUITE.requests_per_model()} requests) of {model_id} "
                    f"on {host.name}; its speed becomes measured evidence", timeout=6)

    def action_hardware(self) -> None:
        session = self.session
        if session is None or session.hardware is None:
            self.notify("Still probing this box's hardware", timeout=4)
            return
        self.app.push_screen(WhyModal("This box, and where each figure came from",
                                      hardware_detail_lines(session.hardware, session.settings,
                                                            self.clock())))

    def _set_filter(self, chosen: CandidateFilter) -> None:
        self.filter = chosen
        self.redraw()

    def action_filter_family(self) -> None:
        session = self.session
        if session is not None and session.source is not None:
            families = sorted({e.family for e in session.source.catalog.entries})
            self._set_filter(self.filter.next_family(families))

    def action_filter_bracket(self) -> None:
        self._set_filter(self.filter.next_bracket())

    def action_filter_fit(self) -> None:
        self._set_filter(self.filter.next_fit())

    def action_refresh(self) -> None:
        self._refresh()

    @work(exclusive=True, group="pool-hub", exit_on_error=False)
    async def action_check_hub(self) -> None:
        """Exact sizes and sha256 for the catalog from the Hub (or its 24 h cache)."""
        if self.session is None or self.session.source is None:
            return
        self.notify("Asking the Hub for exact sizes and sha256…", timeout=3)
        result = await self.session.check_hub()
        if result is not None:
            self.notify(hub_summary(result), timeout=6,
                        severity="warning" if result.warnings else "information")

    @work(exclusive=True, group="pool-refresh", exit_on_error=False)
    async def _refresh(self) -> None:
        if self.session is not None:
            await self.session.feed_uses()
            await self.session.refresh()
