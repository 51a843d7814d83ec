"""The Logs screen with Pilot: sources, regex filter, follow/pause, wrap, ANSI, copy."""

from __future__ import annotations

import pytest
from rich.style import Style
from textual.screen import Screen

from swapdeck.events import LogLines, LogSource, ModelInfo, ModelsListed, ModelState
from swapdeck.tui.screens.logs import LogsScreen, compile_filter
from swapdeck.tui.widgets.log_view import LogView
from tests.tui.conftest import NOW, FedRuntime, make_config, screen_text
from tests.tui.test_activity_support import ModelLogConnector, ScreenHarness, settle, until

RED_ERROR = "\x1b[31m[ERROR]\x1b[0m upstream exited with code 1"
"""An upstream line as llama-server writes it: ANSI colours (§1.6 — raw process output)."""


def logs_app(runtime: FedRuntime) -> ScreenHarness:
    return ScreenHarness(runtime, lambda rt: LogsScreen(rt, lambda: NOW))


def view(app: ScreenHarness) -> LogView:
    return app.screen.query_one(LogView)


def shown(app: ScreenHarness) -> list[str]:
    return [text.plain for text in view(app)._entries]


def proxy(host: str, *lines: str) -> LogLines:
    return LogLines(host, NOW, LogSource.PROXY, lines)


def request_line(i: int) -> str:
    return f'[INFO] Request 192.168.1.{i} "POST /v1/chat/completions HTTP/1.1" 200 812 "curl" 1.2s'


def runtime_with_logs(*extra: LogLines) -> tuple[FedRuntime, ModelLogConnector]:
    runtime = FedRuntime(make_config([("gpu-1", False), ("gpu-2", False)]), [
        ModelsListed("gpu-1", NOW, (ModelInfo("qwen3-30b", ModelState.READY),
                                    ModelInfo("gemma-3-12b", ModelState.STOPPED))),
        proxy("gpu-1", *(request_line(i) for i in range(40))),
        LogLines("gpu-1", NOW, LogSource.UPSTREAM, ("srv  load_model: loading", RED_ERROR)),
        proxy("gpu-2", "[INFO] gpu-2 proxy up"),
        *extra,
    ])
    connector = ModelLogConnector("gpu-1")
    runtime.connectors["gpu-1"] = connector  # type: ignore[assignment]
    return runtime, connector


async def test_switching_host_and_source_and_following_a_model_log() -> None:
    """§1.6: proxy and upstream tails come from the stream; a per-model log is followed in a
    worker that stops when the person leaves that source."""
    runtime, connector = runtime_with_logs()
    app = logs_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        assert shown(app)[-1] == request_line(39) and len(shown(app)) == 40

        await pilot.press("shift+tab", "shift+tab")  # focus: log → filter → source
        assert app.focused is not None and app.focused.id == "log-source"
        await pilot.press("enter", "down", "enter")  # upstream
        await until(pilot, lambda: len(shown(app)) == 2)
        assert shown(app) == ["srv  load_model: loading", "[ERROR] upstream exited with code 1"]

        await pilot.press("enter", "down", "enter")  # model: gemma-3-12b (sorted)
        await until(pilot, lambda: connector.following == ["gemma-3-12b"])
        connector.queue.put_nowait(("gemma line 1", "gemma line 2"))
        await until(pilot, lambda: len(shown(app)) == 2)
        assert shown(app) == ["gemma line 1", "gemma line 2"]
        assert "model gemma-3-12b @ gpu-1" in screen_text(app)

        await pilot.press("enter", "up", "up", "enter")  # back to the proxy log
        await until(pilot, lambda: connector.closed == ["gemma-3-12b"])
        assert connector.closed == ["gemma-3-12b"]
        assert len(shown(app)) == 40

        await pilot.press("enter", "down", "down", "down", "enter")  # model: qwen3-30b
        await until(pilot, lambda: connector.following[-1:] == ["qwen3-30b"])
        await pilot.press("shift+tab", "enter", "down", "enter")  # host gpu-2: no such model
        await until(pilot, lambda: shown(app) == ["[INFO] gpu-2 proxy up"])
        assert "proxy @ gpu-2" in screen_text(app)
        assert connector.closed == ["gemma-3-12b", "qwen3-30b"]


async def test_a_model_log_that_fails_says_so() -> None:
    runtime, _ = runtime_with_logs()
    runtime.connectors["gpu-2"] = ModelLogConnector("gpu-2")  # type: ignore[assignment]
    app = logs_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, LogsScreen)
        runtime.hub.emit(ModelsListed("gpu-2", NOW, (ModelInfo("llama-3.1-8b",
                                                               ModelState.READY),)))
        runtime.connectors["gpu-2"].follow_log = None  # type: ignore[method-assign,assignment]
        screen.on_log_source_bar_source_changed(
            type("Event", (), {"host": "gpu-2", "source": "model:llama-3.1-8b"})())  # type: ignore[arg-type]
        await until(pilot, lambda: "cannot follow per-model logs" in screen_text(app))
        assert "gpu-2: this connector cannot follow per-model logs" in screen_text(app)


async def test_regex_filter_and_an_invalid_regex() -> None:
    runtime, _ = runtime_with_logs()
    app = logs_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("slash", *"1\\.3[0-9]")
        await until(pilot, lambda: len(shown(app)) == 10)
        assert shown(app)[0] == request_line(30)
        await pilot.press("(")  # "1\.3[0-9](" does not compile: the last good filter stays
        await until(pilot, lambda: "invalid regex" in screen_text(app))
        assert len(shown(app)) == 10
        assert "invalid regex '1\\\\.3[0-9](': missing )" in screen_text(app)
        await pilot.press("backspace")
        await until(pilot, lambda: "invalid regex" not in screen_text(app))
        runtime.hub.emit(proxy("gpu-1", request_line(35), request_line(77)))
        await until(pilot, lambda: len(shown(app)) == 11)
        assert shown(app)[-1] == request_line(35)  # new lines are filtered too
        await pilot.press("enter")  # back to the log
        assert isinstance(app.focused, LogView)


OWN_READS = (
    '[INFO] Request 127.0.0.1 "GET /api/metrics/activity?limit=50&page=1 HTTP/1.1" 200 18461 '
    '"swapdeck" 3.9ms',
    '[INFO] Request 127.0.0.1 "GET /running HTTP/1.1" 200 312 "swapdeck" 1.1ms',
)
OWN_ACTION = ('[INFO] Request 127.0.0.1 "GET /upstream/qwen3-30b/health HTTP/1.1" 200 15 '
              '"swapdeck" 2s')
SOMEONE_ELSES_READ = '[INFO] Request 10.0.0.9 "GET /running HTTP/1.1" 200 312 "curl/8.5.0" 1ms'


async def test_swapdeck_s_own_reads_are_hidden_from_the_proxy_log_until_o() -> None:
    """§0: every read swapdeck makes is an access line in the proxy log; on a busy host
    its activity reads would be half of it. A warm-up (an action) and others' reads stay."""
    runtime, _ = runtime_with_logs(proxy("gpu-1", *OWN_READS, OWN_ACTION, SOMEONE_ELSES_READ))
    app = logs_app(runtime)
    async with app.run_test(size=(140, 30)) as pilot:
        await settle(pilot, app)
        assert shown(app)[-2:] == [OWN_ACTION, SOMEONE_ELSES_READ]
        assert not set(OWN_READS) & set(shown(app))
        assert "own reads hidden (o)" in screen_text(app)
        await pilot.press("o")
        await until(pilot, lambda: len(shown(app)) == 44)
        assert shown(app)[-4:-2] == list(OWN_READS)
        assert "own reads shown (o)" in screen_text(app)


def test_smart_case() -> None:
    assert compile_filter("error")[0] is not None
    assert compile_filter("error")[0].search("ERROR")  # type: ignore[union-attr]
    assert not compile_filter("Error")[0].search("ERROR")  # type: ignore[union-attr]
    assert compile_filter("") == (None, "")
    assert compile_filter("[")[1].startswith("invalid regex '[': ")


async def test_scrolling_up_pauses_counts_new_lines_and_f_follows() -> None:
    runtime, _ = runtime_with_logs()
    app = logs_app(runtime)
    async with app.run_test(size=(100, 20)) as pilot:
        await settle(pilot, app)
        log = view(app)
        assert log.following and log.scroll_y == log.max_scroll_y > 0
        await pilot.press("pageup")
        assert not log.following
        runtime.hub.emit(proxy("gpu-1", "late 1", "late 2", "late 3"))
        await until(pilot, lambda: "3 new lines" in screen_text(app))
        assert "paused proxy @ gpu-1 — 3 new lines (f: follow)" in screen_text(app)
        assert "late 1" not in shown(app)  # counted, not written under the reader's eyes
        await pilot.press("f")
        await until(pilot, lambda: shown(app)[-1] == "late 3")
        assert log.following and log.scroll_y == log.max_scroll_y
        assert "● following" in screen_text(app)
        await pilot.press("pageup")
        await pilot.press("end")  # back at the end by hand: following again
        await until(pilot, lambda: log.following)
        assert log.following


async def test_wrap_toggle_and_ansi_colours_kept() -> None:
    long_line = "\x1b[33mWARN\x1b[0m " + "context shift " * 20
    runtime, _ = runtime_with_logs(LogLines("gpu-1", NOW, LogSource.UPSTREAM, (long_line,)))
    app = logs_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, LogsScreen)
        screen.query_one("#log-source").value = "upstream"  # type: ignore[attr-defined]
        await until(pilot, lambda: len(shown(app)) == 3)
        log = view(app)
        error = log._entries[1]
        assert error.plain == "[ERROR] upstream exited with code 1"
        red = [span for span in error.spans
               if isinstance(span.style, Style) and span.style.color is not None
               and span.style.color.number == 1]  # ANSI 31: red, kept as the terminal's own
        assert [(span.start, span.end) for span in red] == [(0, 7)]
        assert len(log._rows) == 3
        await pilot.press("w")
        assert log.wrap and len(log._rows) > 3  # the long line now takes several rows
        assert "wrap on" in screen_text(app)
        await pilot.press("w")
        assert not log.wrap and len(log._rows) == 3


async def test_copy_visible_lines() -> None:
    runtime, _ = runtime_with_logs()
    app = logs_app(runtime)
    async with app.run_test(size=(100, 12)) as pilot:
        await settle(pilot, app)
        await pilot.press("c")
        copied = app.clipboard.splitlines()
        assert copied[-1] == request_line(39)
        assert len(copied) == view(app).scrollable_content_region.height
        assert "\x1b" not in app.clipboard


@pytest.mark.parametrize("count", [2500])
async def test_more_lines_than_the_tail_keeps(count: int) -> None:
    """A burst bigger than the 2,000-line tail while paused: resuming starts over cleanly."""
    runtime, _ = runtime_with_logs()
    app = logs_app(runtime)
    async with app.run_test(size=(100, 20)) as pilot:
        await settle(pilot, app)
        await pilot.press("pageup")
        runtime.hub.emit(proxy("gpu-1", *(f"burst {i}" for i in range(count))))
        await until(pilot, lambda: "2,000 new lines" in screen_text(app))
        await pilot.press("f")
        await until(pilot, lambda: shown(app)[-1] == f"burst {count - 1}")
        assert len(shown(app)) == 2000 and shown(app)[0] == f"burst {count - 2000}"


async def test_leaving_the_screen_stops_a_model_log_and_coming_back_restarts_it() -> None:
    runtime, connector = runtime_with_logs()
    app = logs_app(runtime)
    async with app.run_test(size=(100, 20)) as pilot:
        await settle(pilot, app)
        app.screen.query_one("#log-source").value = "model:qwen3-30b"  # type: ignore[attr-defined]
        await until(pilot, lambda: connector.following == ["qwen3-30b"])
        connector.queue.put_nowait(("before",))
        await until(pilot, lambda: shown(app) == ["before"])
        await app.push_screen(Screen())  # another screen on top: this one is suspended
        await until(pilot, lambda: connector.closed == ["qwen3-30b"])
        assert connector.closed == ["qwen3-30b"]
        app.pop_screen()
        await until(pilot, lambda: connector.following == ["qwen3-30b", "qwen3-30b"])
        connector.queue.put_nowait(("after",))
        await until(pilot, lambda: shown(app) == ["after"])  # a fresh stream, a fresh view
        assert shown(app) == ["after"]
