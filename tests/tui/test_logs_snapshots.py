"""Snapshots of the Logs screen at 80×24 and 160×48 (fixed lines, ANSI colours kept).

Update with `.venv/bin/pytest tests/tui --snapshot-update` and look at the SVGs.
"""

from __future__ import annotations

from typing import Any

from swapdeck.events import HostEvent, LogLines, LogSource, ModelInfo, ModelsListed, ModelState
from swapdeck.tui.screens.logs import LogsScreen
from swapdeck.tui.widgets.log_view import LogView
from tests.tui.conftest import NOW, FedRuntime, make_config
from tests.tui.test_activity_support import ScreenHarness, until

UPSTREAM = (
    "build: 6497 (cd08fc3e) with cc (GCC) 13.2.0 for x86_64-linux-gnu",
    "system info: n_threads = 16, n_threads_batch = 16, total_threads = 32",
    "\x1b[32mmain: model loaded\x1b[0m",
    "srv  log_server_r: request: POST /v1/chat/completions 127.0.0.1 200",
    "slot launch_slot_: id  0 | task 42 | processing task",
    "slot update_slots: id  0 | task 42 | prompt processing progress, n_past = 312, "
    "n_tokens = 312, progress = 1.000000",
    "\x1b[33mW\x1b[0m slot update_slots: id  0 | task 42 | context shift: n_keep = 0, "
    "n_discard = 2048 — the prompt was longer than the context",
    "\x1b[31m\x1b[1mE\x1b[0m \x1b[31msrv    operator(): got exception: "
    "{\"code\":500,\"message\":\"context size exceeded\"}\x1b[0m",
    "slot      release: id  0 | task 42 | stop processing: n_past = 899, truncated = 0",
    "srv  update_slots: all slots are idle",
    "srv  params_from_: Chat format: Hermes 2 Pro, thinking = 1, grammar: none, samplers: "
    "penalties;dry;top_n_sigma;top_k;typ_p;top_p;min_p;xtc;temperature, top_k = 20, "
    "top_p = 0.950, min_p = 0.000, temp = 0.600, n_predict = -1, mirostat = 0",
)


def proxy_lines() -> tuple[str, ...]:
    lines = []
    for i in range(30):
        lines.append(f'[INFO] Request 192.168.1.{20 + i % 7} "POST /v1/chat/completions '
                     f'HTTP/1.1" 200 {800 + i * 17} "OpenAI/Python 1.99.0" {1.1 + i / 10:.1f}s')
    lines.insert(12, "[WARN] <qwen3-30b-a3b> health check timed out after 5s, retrying")
    lines.insert(20, "[INFO] <gemma-3-12b> swapping out: another model in the group was requested")
    return tuple(lines)


def events() -> list[HostEvent]:
    return [
        ModelsListed("rig-a", NOW, (ModelInfo("qwen3-30b-a3b", ModelState.READY),)),
        LogLines("rig-a", NOW, LogSource.PROXY, proxy_lines()),
        LogLines("rig-a", NOW, LogSource.UPSTREAM, UPSTREAM),
    ]


def snapshot_app(source: str) -> ScreenHarness:
    runtime = FedRuntime(make_config([("rig-a", False), ("rig-b", False)]), events())

    def make_screen(rt: Any) -> LogsScreen:
        screen = LogsScreen(rt, lambda: NOW)
        screen.source = source
        return screen

    return ScreenHarness(runtime, make_screen)


async def wait_for_lines(pilot: Any) -> None:
    app = pilot.app
    await until(pilot, lambda: app.ready.is_set() and app.screen.query_one(LogView).line_count)
    await pilot.pause(0.2)


def test_logs_proxy_80x24(snap_compare: Any) -> None:
    assert snap_compare(snapshot_app("proxy"), terminal_size=(80, 24), run_before=wait_for_lines)


def test_logs_upstream_wrapped_160x48(snap_compare: Any) -> None:
    async def wrapped(pilot: Any) -> None:
        await wait_for_lines(pilot)
        await pilot.press("w")

    assert snap_compare(snapshot_app("upstream"), terminal_size=(160, 48), run_before=wrapped)
