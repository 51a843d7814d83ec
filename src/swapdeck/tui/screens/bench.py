"""Bench: pick a suite, a host and a model; confirm the plan; watch it run; read the verdict.

The run is the same as `swapdeck bench run` (`swapdeck.bench.session.run_and_store`), in a
worker: progress comes back through a callback and is drawn at most every 0.1 s; cancelling
the worker stores the run as cancelled. Results show per cell with the verdict against the
host + model + suite baseline, and three plotext charts: TTFT and decode t/s against
concurrency, and decode t/s over the history of runs with the baseline marked.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, ProgressBar, Select, Static
from textual_plotext import PlotextPlot

from swapdeck.bench.plan import plan_run
from swapdeck.bench.render import CELL_HEADER, cell_rows
from swapdeck.bench.report import Judgement, LoadedRun, judge_stored, load_run
from swapdeck.bench.runner import BenchError, Progress
from swapdeck.bench.series import by_concurrency, history_points
from swapdeck.bench.session import run_and_store
from swapdeck.bench.store import BenchStore
from swapdeck.bench.suite import Suite, load_suite
from swapdeck.bench.suite_dirs import PREFERRED_SUITE, default_suite_dirs, find_suites
from swapdeck.bench.target import target_for_host
from swapdeck.bench.traffic import (
    RECENT_TRAFFIC_S,
    foreign_inflight_ids,
    new_marker,
    recent_requests,
)
from swapdeck.config import ConfigError
from swapdeck.events import Liveness, ModelState
from swapdeck.history.values import HistoryError
from swapdeck.tui.bench_modals import BenchPlanModal
from swapdeck.tui.clock import Clock
from swapdeck.tui.screens import RuntimeLike

DRAW_INTERVAL_S = 0.1
HISTORY_RUNS = 20
VERDICT_STYLE = {"PASS": "bold green", "WARN": "bold yellow", "UNSTABLE": "bold magenta",
                 "FAIL": "bold white on red"}


def first_connected_host(runtime: RuntimeLike) -> str | None:
    """The first configured host that is connected, else the only one configured."""
    names = [h.name for h in runtime.config.hosts]
    connected = [n for n in names if runtime.state.host(n).liveness is Liveness.CONNECTED]
    if connected:
        return connected[0]
    return names[0] if len(names) == 1 else None


def verdict_text(verdict: str | None) -> Text:
    return Text(verdict or "—", style=VERDICT_STYLE.get(verdict or "", "dim"))


class BenchScreen(Screen[None]):
    DEFAULT_CSS = """
    BenchScreen {
        layout: vertical;
        #bench-pickers { height: 3; }
        #bench-pickers Select { width: 1fr; }
        #bench-status { height: 1; padding: 0 1; background: $panel; }
        #bench-status.-problem { color: $warning; }
        #bench-progress { height: 1; padding: 0 1; }
        #bench-results { height: 1fr; min-height: 5; }
        #bench-charts { height: 14; }
        #bench-charts PlotextPlot { width: 1fr; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "run", "Run", id="bench.run"),
        Binding("x", "cancel", "Cancel run", id="bench.cancel"),
        Binding("b", "baseline", "Make baseline", id="bench.baseline"),
    ]

    def __init__(self, runtime: RuntimeLike, clock: Clock, *,
                 suite_dirs: Sequence[Path] | None = None, database: Path | None = None) -> None:
        super().__init__()
        self.runtime = runtime
        self.clock = clock
        self.suites = find_suites(suite_dirs if suite_dirs is not None else default_suite_dirs())
        self.database = database or runtime.config.database_path
        self.running = False
        self.status = "pick a suite, a host and a model, then r to run"
        self.last_run_id: int | None = None
        self._progress: Progress | None = None
        self._last_draw = 0.0

    def compose(self) -> ComposeResult:
        hosts = [(h.name, h.name) for h in self.runtime.config.hosts]
        with Horizontal(id="bench-pickers"):
            yield Select([(p.stem, str(p)) for p in self.suites], prompt="suite",
                         id="pick-suite")
            yield Select(hosts, prompt="host", id="pick-host")
            yield Select([], prompt="model", id="pick-model")
        yield Static(self.status, id="bench-status")
        yield ProgressBar(id="bench-progress", show_eta=False)
        table: DataTable[Any] = DataTable(id="bench-results", cursor_type="row",
                                          zebra_stripes=True)
        yield table
        with Horizontal(id="bench-charts"):
            yield PlotextPlot(id="chart-ttft")
            yield PlotextPlot(id="chart-tg")
            yield PlotextPlot(id="chart-history")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*CELL_HEADER[:-1], "verdict", "note")
        # An idle bar pulses as if something ran: it shows from the first run on.
        self.query_one("#bench-progress", ProgressBar).display = False
        # Something runnable is picked from the start: r then shows a plan at once.
        if self.suites:
            suite = next((p for p in self.suites if p.name == PREFERRED_SUITE), self.suites[0])
            self.query_one("#pick-suite", Select).value = str(suite)
        host = first_connected_host(self.runtime)
        if host is not None:
            self.query_one("#pick-host", Select).value = host

    # ------------------------------------------------------------------ selection

    def _picked(self, widget: str) -> str | None:
        value = self.query_one(widget, Select).value
        return value if isinstance(value, str) else None

    @on(Select.Changed, "#pick-host")
    def _host_changed(self, event: Select.Changed) -> None:
        host = self._picked("#pick-host")
        state = self.runtime.state.host(host) if host else None
        models = sorted(state.models) if state else []
        picker = self.query_one("#pick-model", Select)
        picker.set_options([(m, m) for m in models])
        if state is not None:
            # A model already loaded benches without a swap; else the only one there is.
            ready = [m for m in models if state.models[m].info.state is ModelState.READY]
            if ready or len(models) == 1:
                picker.value = (ready or models)[0]

    @on(Select.Changed)
    def _selection_changed(self, event: Select.Changed) -> None:
        if not self.running:
            self._load_latest()

    # ------------------------------------------------------------------ actions

    def set_status(self, text: str, *, problem: bool = False) -> None:
        self.status = text
        status = self.query_one("#bench-status", Static)
        status.update(text)
        status.set_class(problem, "-problem")

    def action_run(self) -> None:
        if self.running:
            self.set_status("a run is already going; x cancels it", problem=True)
            return
        path, host, model = (self._picked("#pick-suite"), self._picked("#pick-host"),
                             self._picked("#pick-model"))
        if not (path and host and model):
            self.set_status("pick a suite, a host and a model first", problem=True)
            return
        try:
            suite = load_suite(Path(path))
        except ConfigError as exc:
            self.set_status(str(exc), problem=True)
            return
        self._confirm_run(Path(path), suite, host, model)

    @work(exclusive=True, group="bench-confirm", exit_on_error=False)
    async def _confirm_run(self, path: Path, suite: Suite, host: str, model: str) -> None:
        """The plan, with the host's recent traffic from others (not swapdeck's own runs,
        which the store remembers) — then the run, if the person says yes."""
        activity = self.runtime.state.host(host).activity
        plan = plan_run(suite, model, activity)
        now = self.clock()
        own: list[tuple[float, float | None]] = []
        if self.database.exists():
            try:
                store = await BenchStore.open(self.database)
                try:
                    own = await store.run_windows(host, since=now - RECENT_TRAFFIC_S)
                finally:
                    await store.close()
            except HistoryError as exc:
                self.set_status(str(exc), problem=True)
                return
        recent = recent_requests(activity, now, own_runs=own)
        modal = BenchPlanModal(suite.name, host, model, plan, recent)
        if await self.app.push_screen_wait(modal):
            self._run(path, host, model)

    def action_cancel(self) -> None:
        if self.running:
            self.workers.cancel_group(self, "bench-run")
            self.set_status("cancelling…")

    def action_baseline(self) -> None:
        if self.running:
            self.notify("A run is in progress; b marks a finished run", severity="warning",
                        timeout=4)
        elif self.last_run_id is None:
            self.notify("No run yet for this host, model and suite", severity="warning",
                        timeout=4)
        else:
            self._set_baseline(self.last_run_id)

    # ------------------------------------------------------------------ workers

    @work(exclusive=True, group="bench-run", exit_on_error=False)
    async def _run(self, path: Path, host: str, model: str) -> None:
        self.running = True
        self._progress = None
        self.query_one("#bench-progress", ProgressBar).display = True
        try:
            suite = load_suite(path)
            target = target_for_host(self.runtime.config.host(host), model)
            marker = new_marker()
            state = self.runtime.state

            def foreign() -> frozenset[str]:
                return foreign_inflight_ids(state.host(host).inflight.values(), marker)

            store = await BenchStore.open(self.database)
            try:
                self.set_status(f"running {suite.name} on {host} / {model}…")
                result = await run_and_store(store, suite, target, source=path,
                                             foreign_inflight=foreign, marker=marker,
                                             on_progress=self._on_progress, clock=self.clock)
                self.last_run_id = result.run_id
                # The run is over once it is stored: b (baseline) must work the moment its
                # result is on screen, not only after the store has closed.
                self.running = False
                await self._show(store, result.loaded, result.judgement)
            finally:
                await store.close()
        except (BenchError, HistoryError, ConfigError) as exc:
            self.set_status(str(exc), problem=True)
        except asyncio.CancelledError:
            self.set_status("run cancelled; what it measured is stored as cancelled",
                            problem=True)
            raise
        finally:
            self.running = False

    def _on_progress(self, event: Progress) -> None:
        self._progress = event
        now = time.monotonic()
        if event.phase != "done" and now - self._last_draw < DRAW_INTERVAL_S:
            return
        self._last_draw = now
        bar = self.query_one("#bench-progress", ProgressBar)
        bar.update(total=event.total, progress=event.done)
        detail = f"{event.cell or event.phase} ({event.cell_index + 1}/{event.cells})"
        last = event.last
        if last is not None and last.ttft_ms is not None:
            detail += f"  TTFT {last.ttft_ms:.0f} ms"
        if last is not None and (last.tg_norm or last.tg_client):
            detail += f"  {(last.tg_norm or last.tg_client or 0):.1f} t/s"
        if event.phase != "done":
            self.set_status(f"{event.done}/{event.total} requests  {detail}")

    @work(exclusive=True, group="bench-load", exit_on_error=False)
    async def _load_latest(self) -> None:
        path, host, model = (self._picked("#pick-suite"), self._picked("#pick-host"),
                             self._picked("#pick-model"))
        # Whatever was on screen belonged to the previous pick: it goes, and so does the
        # run b would make the baseline.
        self.last_run_id = None
        if not (path and host and model):
            self._clear_results()
            return
        try:
            name = load_suite(Path(path)).name
            runs = []
            if self.database.exists():
                store = await BenchStore.open(self.database)
                try:
                    runs = await store.runs(host=host, model=model, suite_name=name, limit=1)
                    if runs:
                        self.last_run_id = runs[0].id
                        await self._show_stored(store, runs[0].id)
                finally:
                    await store.close()
            if not runs:
                self._clear_results()
                self.set_status(f"no run of {name} on {host} / {model} yet: r runs it")
        except (ConfigError, HistoryError) as exc:
            self.set_status(str(exc), problem=True)

    @work(exclusive=True, group="bench-load", exit_on_error=False)
    async def _set_baseline(self, run_id: int) -> None:
        try:
            store = await BenchStore.open(self.database)
            try:
                run = await store.set_baseline(run_id, now=self.clock())
                await self._show_stored(store, run_id)
            finally:
                await store.close()
            self.set_status(f"run {run.id} is now the baseline for {run.host} / {run.model} / "
                            f"{run.suite_name}")
        except HistoryError as exc:
            self.set_status(str(exc), problem=True)

    # ------------------------------------------------------------------ drawing

    async def _show_stored(self, store: BenchStore, run_id: int) -> None:
        """A stored run with its per-cell verdicts, judged again against the run it was
        compared to (the store keeps the overall verdict; the judging is deterministic)."""
        loaded = await load_run(store, run_id)
        compared_to = loaded.run.compared_to
        judgement = (await judge_stored(store, compared_to, run_id)
                     if compared_to is not None and compared_to != run_id else None)
        await self._show(store, loaded, judgement)

    async def _show(self, store: BenchStore, loaded: LoadedRun,
                    judgement: Judgement | None) -> None:
        run = loaded.run
        verdicts = {c.cell: c.verdict.value if c.verdict else None
                    for c in judgement.result.cells} if judgement else {}
        table = self.query_one(DataTable)
        table.clear()
        for summary, row in zip(loaded.cells, cell_rows(loaded.cells), strict=True):
            table.add_row(*row[:-1], verdict_text(verdicts.get(summary.cell)), row[-1],
                          key=summary.cell)
        baseline = await store.baseline(run.host, run.model, run.suite_name)
        history = list(reversed(await store.runs(host=run.host, model=run.model,
                                                 suite_name=run.suite_name,
                                                 limit=HISTORY_RUNS)))
        cells = [(r.id, (await load_run(store, r.id)).cells) for r in history
                 if r.status == "done"]
        self._draw_charts(loaded, history_points(cells, baseline))
        verdict = run.verdict or (judgement.result.verdict.value if judgement else None)
        summary = f"run {run.id}: {run.status}"
        if verdict:
            summary += f", {verdict} against baseline run {run.compared_to or baseline}"
        elif baseline is None:
            summary += "; no baseline yet (b makes this run the baseline)"
        if run.polluted:
            summary += f"; POLLUTED by {len(run.foreign_requests)} foreign request(s)"
        self.set_status(summary, problem=verdict in ("FAIL", "UNSTABLE") or run.polluted)

    def _clear_results(self) -> None:
        self.query_one(DataTable).clear()
        for widget in ("#chart-ttft", "#chart-tg", "#chart-history"):
            plot = self.query_one(widget, PlotextPlot)
            plot.plt.clear_data()
            plot.plt.clear_figure()
            plot.refresh()

    def _draw_charts(self, loaded: LoadedRun, history: Sequence[Any]) -> None:
        for widget, metric, title, unit in (("#chart-ttft", "ttft_ms", "TTFT p50", "ms"),
                                            ("#chart-tg", "decode", "decode p50", "t/s")):
            plot = self.query_one(widget, PlotextPlot)
            plt = plot.plt
            plt.clear_data()
            plt.clear_figure()
            for series in by_concurrency(loaded.cells, metric):
                plt.plot(list(series.x), list(series.y), label=series.label, marker="braille")
            plt.title(f"{title} vs concurrency")
            plt.xlabel("concurrency")
            plt.ylabel(unit)
            plot.refresh()
        plot = self.query_one("#chart-history", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        if history:
            xs = list(range(1, len(history) + 1))
            plt.plot(xs, [p.decode for p in history], marker="braille", label="decode t/s")
            marked = [(x, p.decode) for x, p in zip(xs, history, strict=True) if p.baseline]
            if marked:
                plt.scatter([m[0] for m in marked], [m[1] for m in marked], marker="B",
                            label="baseline")
            plt.xticks(xs, [str(p.run_id) for p in history])
        plt.title(f"decode t/s by run ({history[0].cell})" if history else "decode t/s by run")
        plt.xlabel("run")
        plot.refresh()
