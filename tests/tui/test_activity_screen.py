"""The Activity screen with Pilot: live rows, filters, follow/pause, paging, in-flight."""

from __future__ import annotations

from pathlib import Path

import pytest

from swapdeck.events import (
    ActivityRecorded,
    InflightCount,
    InflightRequest,
    InflightSnapshot,
    ModelInfo,
    ModelsListed,
    ModelState,
)
from swapdeck.history.store import HistoryStore
from swapdeck.tui.screens.activity import ActivityScreen
from swapdeck.tui.widgets.activity_filter_bar import ActivityFilterBar
from swapdeck.tui.widgets.activity_table import ActivityTable
from swapdeck.tui.widgets.activity_window import ActivityFilter
from tests.tui.conftest import NOW, FedRuntime, make_app, make_config, screen_text, wait_for_mode
from tests.tui.test_activity_support import (
    ScreenHarness,
    record,
    settle,
    unknown_record,
    until,
    utc,
)

pytestmark = pytest.mark.usefixtures("utc")
__all__ = ["utc"]


def activity_app(runtime: FedRuntime) -> ScreenHarness:
    return ScreenHarness(runtime, lambda rt: ActivityScreen(rt, lambda: NOW))


def shown(app: ScreenHarness) -> list[tuple[str, int]]:
    table = app.screen.query_one(ActivityTable)
    return [(row.host, row.record.remote_id) for row in table.rows]


def two_hosts() -> FedRuntime:
    return FedRuntime(make_config([("gpu-1", False), ("gpu-2", False)]))


async def test_rows_arrive_newest_first_with_dashes_for_unknowns() -> None:
    """§3.1: -1 is unknown and reads "—", never 0; rows of all hosts, newest first."""
    runtime = two_hosts()
    app = activity_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        runtime.hub.emit(ActivityRecorded("gpu-1", NOW, (record(1), unknown_record(3))))
        runtime.hub.emit(ActivityRecorded("gpu-2", NOW, (record(2, model="gemma-3-12b"),)))
        await until(pilot, lambda: len(shown(app)) == 3)
        assert shown(app) == [("gpu-1", 3), ("gpu-2", 2), ("gpu-1", 1)]
        lines = screen_text(app).splitlines()
        newest = next(line for line in lines if "›" in line)
        assert "gpu-1" in newest and "qwen3-30b" in newest
        assert newest.count("—") == 3  # cached, prefill and decode
        assert "88.4" in next(line for line in lines if "gemma-3-12b" in line)
        assert "● following" in screen_text(app)


async def test_filters_by_host_model_and_errors_from_the_keyboard() -> None:
    runtime = two_hosts()
    app = activity_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        runtime.hub.emit(ActivityRecorded("gpu-1", NOW, (
            record(1), record(2, model="gemma-3-12b"), record(3, status=500))))
        runtime.hub.emit(ActivityRecorded("gpu-2", NOW, (record(4), record(5, status=503))))
        await until(pilot, lambda: len(shown(app)) == 5)
        screen = app.screen
        assert isinstance(screen, ActivityScreen)

        await pilot.press("slash")  # host selector: all hosts → gpu-1
        await pilot.press("enter", "down", "enter")
        await until(pilot, lambda: len(shown(app)) == 3)
        assert screen.filter.host == "gpu-1"
        assert shown(app) == [("gpu-1", 3), ("gpu-1", 2), ("gpu-1", 1)]

        await pilot.press("tab", "enter", "down", "enter")  # model selector: first model
        await until(pilot, lambda: len(shown(app)) == 1)
        assert screen.filter.model == "gemma-3-12b"
        assert shown(app) == [("gpu-1", 2)]

        await pilot.press("escape", "e")  # back to the table; errors only, any model
        screen.query_one("#filter-model").clear()  # type: ignore[attr-defined]
        await until(pilot, lambda: screen.filter.model is None)
        assert screen.filter.errors_only and screen.filter.model is None
        assert shown(app) == [("gpu-1", 3)]
        assert "filtered" in screen_text(app)


async def test_pause_counts_new_rows_and_space_follows_again() -> None:
    runtime = two_hosts()
    app = activity_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        runtime.hub.emit(ActivityRecorded("gpu-1", NOW, (record(1), record(2))))
        await until(pilot, lambda: len(shown(app)) == 2)
        await pilot.press("space")
        runtime.hub.emit(ActivityRecorded("gpu-2", NOW, (record(3), record(4), record(5))))
        await settle(pilot, app)
        assert shown(app) == [("gpu-1", 2), ("gpu-1", 1)]  # counted, not inserted
        assert "paused — 3 new" in screen_text(app)
        await pilot.press("space")
        await until(pilot, lambda: len(shown(app)) == 5)
        assert shown(app)[:3] == [("gpu-2", 5), ("gpu-2", 4), ("gpu-2", 3)]
        assert "● following" in screen_text(app)


async def test_moving_off_the_newest_row_pauses() -> None:
    runtime = two_hosts()
    app = activity_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        runtime.hub.emit(ActivityRecorded("gpu-1", NOW, (record(1), record(2))))
        await until(pilot, lambda: len(shown(app)) == 2)
        await pilot.press("down")
        runtime.hub.emit(ActivityRecorded("gpu-1", NOW, (record(3),)))
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, ActivityScreen)
        assert not screen.following and screen.new_while_paused == 1
        assert screen.query_one(ActivityTable).cursor_row is not None
        assert screen.query_one(ActivityTable).cursor_row.record.remote_id == 1  # type: ignore[union-attr]


async def test_older_rows_are_paged_in_from_sqlite(tmp_path: Path) -> None:
    """Rows beyond memory come from the real history store, keyset-paged (newest first)."""
    store = await HistoryStore.open(tmp_path / "history.sqlite")
    old = tuple(record(i, at=NOW - 10_000 + i) for i in range(1, 301))
    store.submit(ActivityRecorded("gpu-1", NOW, old))
    store.submit(ActivityRecorded("gpu-2", NOW, (record(7, at=NOW - 20_000, status=500),)))
    await store.flush()
    runtime = two_hosts()
    runtime.store = store
    app = activity_app(runtime)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot, app)
            live = tuple(record(1000 + i, at=NOW - 50 + i) for i in range(5))
            runtime.hub.emit(ActivityRecorded("gpu-1", NOW, live))
            await until(pilot, lambda: len(shown(app)) == 5)
            assert len(shown(app)) == 5
            await pilot.press("end", "pagedown")  # past the oldest row
            await until(pilot, lambda: len(shown(app)) > 5)
            rows = shown(app)
            assert len(rows) == 5 + 200
            assert rows[5] == ("gpu-1", 300) and rows[-1] == ("gpu-1", 101)
            await pilot.press("end", "down")
            await until(pilot, lambda: len(shown(app)) > 205)
            await pilot.press("end", "down")
            await until(pilot, lambda: len(shown(app)) > 305)
            rows = shown(app)
            assert rows[-1] == ("gpu-2", 7) and len(rows) == 5 + 300 + 1
            await pilot.press("end", "down")
            await until(pilot, lambda: "no older requests stored" in screen_text(app))
            assert "no older requests stored" in screen_text(app)
            assert not app.screen.following  # type: ignore[attr-defined]
    finally:
        await store.close()


async def test_paging_errors_only_asks_the_store_for_errors() -> None:
    runtime = two_hosts()
    app = activity_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        runtime.hub.emit(ActivityRecorded("gpu-1", NOW, tuple(
            record(i, status=500 if i % 2 else 200) for i in range(1, 9))))
        await until(pilot, lambda: len(shown(app)) == 8)
        await pilot.press("e")
        await until(pilot, lambda: len(shown(app)) == 4)
        assert [rid for _, rid in shown(app)] == [7, 5, 3, 1]
        await pilot.press("end", "down")
        await until(pilot, lambda: "no older" in screen_text(app))
        assert "no older requests (no history database)" in screen_text(app)


async def test_inflight_panel_lists_running_requests_across_hosts() -> None:
    """§2.2 inflight entries; §2.4 count-only hosts get a line saying so."""
    runtime = FedRuntime(make_config([("gpu-1", False), ("old", False)]))
    app = activity_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        runtime.hub.emit(InflightSnapshot("gpu-1", NOW, (
            InflightRequest("7", "qwen3-30b", started_at=NOW - 12.5,
                            req_path="/v1/chat/completions", method="POST", responding=True),
            InflightRequest("8", "gemma-3-12b", started_at=NOW - 2,
                            req_path="/v1/completions", method="POST"),
        )))
        runtime.hub.emit(InflightCount("old", NOW, 3))
        await until(pilot, lambda: "In flight: 5" in screen_text(app))
        text = screen_text(app)
        assert "In flight: 5 on 2 hosts" in text
        lines = text.splitlines()
        first = next(i for i, line in enumerate(lines) if "12.5s" in line)
        assert "answering" in lines[first] and "qwen3-30b" in lines[first]
        assert "POST /v1/chat/completions" in lines[first]
        assert "2.0s" in lines[first + 1] and "waiting" in lines[first + 1]
        assert "· old 3 (count only)" in text

        # Errors-only is about finished requests: the panel stays as it is. A model filter
        # narrows it at once (the count-only host cannot say which model it serves).
        screen = app.screen
        assert isinstance(screen, ActivityScreen)
        await pilot.press("e")
        await until(pilot, lambda: screen.filter.errors_only)
        assert "In flight: 5 on 2 hosts" in screen_text(app)
        screen.post_message(ActivityFilterBar.Changed(
            ActivityFilter(None, "gemma-3-12b", errors_only=True)))
        await until(pilot, lambda: "In flight: 1" in screen_text(app))
        assert "In flight: 1 on 1 host" in screen_text(app)
        assert "qwen3-30b" not in screen_text(app).split("In flight")[1].splitlines()[1]


async def test_model_filter_offers_catalog_and_seen_models() -> None:
    runtime = two_hosts()
    app = activity_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        runtime.hub.emit(ModelsListed("gpu-1", NOW, (ModelInfo("zeta", ModelState.STOPPED),)))
        runtime.hub.emit(ActivityRecorded("gpu-2", NOW, (record(1, model="alpha"),)))
        await until(pilot, lambda: len(shown(app)) == 1)
        select = app.screen.query_one("#filter-model")
        assert [value for _, value in select._options[1:]] == ["alpha", "zeta"]  # type: ignore[attr-defined]


async def test_through_the_app_shell(tmp_path: Path) -> None:
    """Key 2 in SwapdeckApp shows this screen with the fleet's rows."""
    runtime = FedRuntime(make_config([("gpu-1", False)]),
                         [ActivityRecorded("gpu-1", NOW, (record(1), record(2)))])
    app = make_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_mode(app, pilot, "fleet")
        await pilot.press("2")
        await wait_for_mode(app, pilot, "activity")
        assert isinstance(app.screen, ActivityScreen)
        await until(pilot, lambda: len(app.screen.query_one(ActivityTable).rows) == 2)
        assert [row.record.remote_id for row in app.screen.query_one(ActivityTable).rows] == [2, 1]
        await pilot.press("slash")
        assert app.focused is not None and app.focused.id == "filter-host"
