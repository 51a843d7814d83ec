"""The Bench screen against a simulated llama-swap host on loopback: plan, run, results,
baseline, verdict, cancel (llama-swap-api §1.1 inference, §1.3 `/running`)."""

from __future__ import annotations

import dataclasses
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.widgets import DataTable, Select, Static

from swapdeck.bench.store import BenchStore
from swapdeck.bench.suite_dirs import (
    PREFERRED_SUITE,
    bundled_suites_dir,
    find_suites,
    resolve_suite,
)
from swapdeck.config import parse_config
from swapdeck.events import ActivityRecord, ActivityRecorded, ModelState
from swapdeck.sim import SimHost, SimModel
from swapdeck.tui.bench_modals import BenchPlanModal
from swapdeck.tui.screens.bench import BenchScreen
from tests.tui.conftest import FedRuntime, host_events, make_config, told, until

SUITE = """
name = "tui"
[grid]
prompt_tokens = [64]
gen_tokens = [6]
concurrency = [1, 2]
[run]
repetitions = {reps}
warmup = 1
"""


class Harness(App[None]):
    def __init__(self, screen: BenchScreen) -> None:
        super().__init__()
        self.bench = screen

    def on_mount(self) -> None:
        self.push_screen(self.bench)


@pytest.fixture
async def sim() -> Any:
    host = SimHost("v250", models=(SimModel("fast", load_s=0.05, prefill_tps=40_000.0,
                                            decode_tps=400.0),))
    await host.start()
    yield host
    await host.stop()


def setup(tmp_path: Path, sim: SimHost, reps: int = 3,
          models: dict[str, ModelState] | None = None) -> tuple[FedRuntime, BenchScreen]:
    suites = tmp_path / "suites"
    suites.mkdir()
    (suites / "tui.toml").write_text(SUITE.format(reps=reps), encoding="utf-8")
    config = parse_config({"data_dir": str(tmp_path), "hosts": [
        {"name": "sim", "url": sim.url}]})
    runtime = FedRuntime(config, host_events("sim", models=models or {"fast": ModelState.READY}))
    screen = BenchScreen(runtime, time.time, suite_dirs=[suites])
    return runtime, screen


OWN_REQUEST = ActivityRecord(
    remote_id=0, epoch=0, finished_at=0.0, model="fast", req_path="/v1/chat/completions",
    status_code=200, content_type="text/event-stream", cache_tokens=0, input_tokens=64,
    output_tokens=6, prompt_tps=4000.0, decode_tps=400.0, duration_ms=40)


def status(screen: BenchScreen) -> str:
    return str(screen.query_one("#bench-status", Static).render())


async def test_run_shows_results_then_a_rerun_is_judged_against_the_baseline(
        tmp_path: Path, sim: SimHost) -> None:
    runtime, screen = setup(tmp_path, sim)
    async with runtime, Harness(screen).run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: screen.query_one("#pick-model").value == "fast",
                    "the only host and model picked")
        await pilot.press("r")
        await until(pilot, lambda: isinstance(pilot.app.screen, BenchPlanModal), "the plan")
        plan = str(pilot.app.screen.query_one("#plan-body", Static).render())
        assert "2 cell(s), 12 requests" in plan and "estimated duration" in plan
        await pilot.press("y")
        await until(pilot, lambda: "run 1: done" in status(screen), "the first run")
        table = screen.query_one(DataTable)
        assert table.row_count == 2
        assert "no baseline yet" in status(screen)

        await pilot.press("b")
        await until(pilot, lambda: "now the baseline" in status(screen), "baseline set")
        # The host's activity now holds run 1's own requests (and one from someone else):
        # only that one is traffic from others.
        done = time.time()
        runtime.hub.emit(ActivityRecorded("sim", done, tuple(
            dataclasses.replace(OWN_REQUEST, remote_id=i, finished_at=done - 0.5)
            for i in range(1, 13))))
        await pilot.press("r")
        await until(pilot, lambda: isinstance(pilot.app.screen, BenchPlanModal), "the plan")
        modal = pilot.app.screen
        assert isinstance(modal, BenchPlanModal)
        assert modal.recent == 0 and not modal.query("#plan-traffic")
        await pilot.press("n")
        await until(pilot, lambda: pilot.app.screen is screen, "the plan declined")
        runtime.hub.emit(ActivityRecorded("sim", done + 10, (
            dataclasses.replace(OWN_REQUEST, remote_id=99, finished_at=done + 10),)))
        await pilot.press("r")
        await until(pilot, lambda: isinstance(pilot.app.screen, BenchPlanModal), "the plan")
        warning = str(pilot.app.screen.query_one("#plan-traffic", Static).render())
        assert "finished 1 request(s) from others" in warning
        await pilot.press("y")
        await until(pilot, lambda: "run 2: done" in status(screen), "the rerun", timeout_s=30)
        assert "against baseline run 1" in status(screen)
        verdicts = {str(table.get_row_at(i)[-2]) for i in range(table.row_count)}
        assert verdicts <= {"PASS", "WARN", "UNSTABLE"} and verdicts  # never FAIL on a rerun
        # Reloaded from the store (here: b on run 2), each cell keeps its verdict.
        await pilot.press("b")
        await until(pilot, lambda: "run 2 is now the baseline" in status(screen), "run 2")
        again = {str(table.get_row_at(i)[-2]) for i in range(table.row_count)}
        assert again == verdicts
    async with await BenchStore.open(tmp_path / "history.sqlite") as store:
        runs = await store.runs()
        assert [r.status for r in runs] == ["done", "done"]
        assert runs[0].compared_to == runs[1].id


async def test_another_pick_clears_the_last_pick_s_results_and_its_baseline_key(
        tmp_path: Path, sim: SimHost) -> None:
    """The table, charts and the run b would mark belong to one suite / host / model."""
    runtime, screen = setup(tmp_path, sim, models={"fast": ModelState.READY,
                                                   "other": ModelState.STOPPED})
    async with runtime, Harness(screen).run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: screen.query_one("#pick-model").value == "fast", "picked")
        await pilot.press("r")
        await until(pilot, lambda: isinstance(pilot.app.screen, BenchPlanModal), "the plan")
        await pilot.press("y")
        await until(pilot, lambda: "run 1: done" in status(screen) and not screen.running,
                    "the run")
        assert screen.query_one(DataTable).row_count == 2
        screen.query_one("#pick-model", Select).value = "other"
        await until(pilot, lambda: "no run of tui on sim / other yet" in status(screen),
                    "the empty pick")
        assert screen.query_one(DataTable).row_count == 0 and screen.last_run_id is None
        await pilot.press("b")
        await told(pilot, pilot.app, "No run yet for this host, model and suite")


async def test_declining_the_plan_sends_nothing(tmp_path: Path, sim: SimHost) -> None:
    runtime, screen = setup(tmp_path, sim)
    async with runtime, Harness(screen).run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: screen.query_one("#pick-model").value == "fast", "picked")
        await pilot.press("r")
        await until(pilot, lambda: isinstance(pilot.app.screen, BenchPlanModal), "the plan")
        await pilot.press("n")
        await pilot.pause()
        assert not screen.running and sim.served == 0


async def test_cancel_stores_a_cancelled_run(tmp_path: Path, sim: SimHost) -> None:
    runtime, screen = setup(tmp_path, sim, reps=200)
    async with runtime, Harness(screen).run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: screen.query_one("#pick-model").value == "fast", "picked")
        await pilot.press("r")
        await until(pilot, lambda: isinstance(pilot.app.screen, BenchPlanModal), "the plan")
        await pilot.press("y")
        await until(pilot, lambda: "requests" in status(screen) and sim.served > 6, "running")
        await pilot.press("x")
        await until(pilot, lambda: "cancelled" in status(screen) and not screen.running,
                    "cancelled")
    with sqlite3.connect(tmp_path / "history.sqlite") as conn:
        assert conn.execute("SELECT status FROM bench_runs").fetchall() == [("cancelled",)]


async def test_the_screen_opens_with_something_runnable_picked(tmp_path: Path) -> None:
    """The short suite, the first connected host, and a model it already has loaded (no
    swap to pay), so r shows a plan at once."""
    suites = tmp_path / "suites"
    suites.mkdir()
    for name in ("sweep", "smoke"):
        (suites / f"{name}.toml").write_text(SUITE.format(reps=3), encoding="utf-8")
    config = make_config([("asleep", False), ("gpu2", False)], tmp_path)
    runtime = FedRuntime(config, host_events(
        "gpu2", models={"a-stopped": ModelState.STOPPED, "b-ready": ModelState.READY}))
    screen = BenchScreen(runtime, time.time, suite_dirs=[suites])
    async with runtime, Harness(screen).run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: screen.query_one("#pick-model").value == "b-ready",
                    "the loaded model picked")
        assert screen.query_one("#pick-suite").value == str(suites / "smoke.toml")
        assert screen.query_one("#pick-host").value == "gpu2"


def test_the_shipped_suites_are_found_beside_the_code_and_by_name(tmp_path: Path) -> None:
    bundled = bundled_suites_dir()
    assert bundled is not None and (bundled / PREFERRED_SUITE).is_file()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "smoke.toml").write_text(SUITE.format(reps=3), encoding="utf-8")
    assert resolve_suite(Path("smoke"), [mine, bundled]) == mine / "smoke.toml"
    assert resolve_suite(Path("sweep.toml"), [mine, bundled]) == bundled / "sweep.toml"
    assert resolve_suite(Path("nope"), [mine, bundled]) == Path("nope")
    assert resolve_suite(Path("sub/smoke"), [mine, bundled]) == Path("sub/smoke")


def test_suites_are_found_by_name_first_folder_wins(tmp_path: Path) -> None:
    mine, bundled = tmp_path / "mine", tmp_path / "bundled"
    mine.mkdir()
    bundled.mkdir()
    (mine / "smoke.toml").write_text("x", encoding="utf-8")
    (bundled / "smoke.toml").write_text("y", encoding="utf-8")
    (bundled / "sweep.toml").write_text("z", encoding="utf-8")
    assert find_suites([mine, bundled, tmp_path / "none"]) == [mine / "smoke.toml",
                                                                bundled / "sweep.toml"]
