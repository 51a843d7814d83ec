"""End to end over loopback: the Logs screen following a per-model log of a simulated
llama-swap through the real connector (§1.6 `/logs/stream/<model>`)."""

from __future__ import annotations

import time
from pathlib import Path

from textual.widgets import Select

from swapdeck.config import parse_config
from swapdeck.fleet.runtime import FleetRuntime
from swapdeck.sim import SimHost, SimModel
from swapdeck.tui.screens.logs import LogsScreen
from swapdeck.tui.widgets.log_view import LogView
from tests.tui.test_activity_support import ScreenHarness, until

FAST = SimModel("qwen3-30b-a3b", load_s=0.05, prefill_tps=50_000.0, decode_tps=5_000.0)


def lines(app: ScreenHarness) -> list[str]:
    return [text.plain for text in app.screen.query_one(LogView)._entries]


async def test_per_model_log_from_a_simulated_host(tmp_path: Path) -> None:
    """The model's own log starts with llama-server's banner (`build: <n> (<commit>)`)."""
    host = SimHost("v250", name="rig", models=[FAST], build="6497", build_commit="cd08fc3e")
    url = await host.start()
    try:
        await host.serve_request("qwen3-30b-a3b", output_tokens=4)  # loads the model
        config = parse_config({"data_dir": str(tmp_path), "hosts": [{"name": "rig", "url": url}]})
        app = ScreenHarness(FleetRuntime(config), lambda rt: LogsScreen(rt, time.time))
        async with app.run_test(size=(120, 30)) as pilot:
            await until(pilot, lambda: app.ready.is_set() and bool(lines(app)), timeout=10)
            assert any("Request" in line or "[INFO]" in line for line in lines(app))  # proxy
            select = app.screen.query_one("#log-source", Select)
            await until(pilot, lambda: ("model: qwen3-30b-a3b", "model:qwen3-30b-a3b")
                        in select._options, timeout=10)
            select.value = "model:qwen3-30b-a3b"
            await until(pilot, lambda: any(line.startswith("build: 6497 (cd08fc3e)")
                                           for line in lines(app)), timeout=10)
            assert any(line.startswith("build: 6497 (cd08fc3e)") for line in lines(app))
            screen = app.screen
            assert isinstance(screen, LogsScreen) and screen.problem == ""
    finally:
        await host.stop()
