"""End to end over loopback: a simulated llama-swap, the real connector and runtime, the
Activity screen, Enter, and the capture inspector (§1.10 `/api/captures/{id}`)."""

from __future__ import annotations

import time
from pathlib import Path

from textual.widgets import Static

from swapdeck.config import parse_config
from swapdeck.fleet.runtime import FleetRuntime
from swapdeck.sim import SimHost, SimModel
from swapdeck.tui.screens.activity import ActivityScreen
from swapdeck.tui.screens.capture import CaptureScreen
from swapdeck.tui.widgets.activity_table import ActivityTable
from tests.tui.conftest import screen_text
from tests.tui.test_activity_support import ScreenHarness, until

FAST = SimModel("qwen3-30b-a3b", load_s=0.05, prefill_tps=50_000.0, decode_tps=5_000.0)


async def test_a_streamed_capture_from_a_simulated_host(tmp_path: Path) -> None:
    """v250 host: SSE `activity {"id"}` → REST row → screen; Enter → `/api/captures/{id}`
    (base64 bodies) → a streamed chat reassembled, Authorization redacted by the host."""
    host = SimHost("v250", name="rig", models=[FAST])
    url = await host.start()
    try:
        remote_id = await host.serve_request("qwen3-30b-a3b", output_tokens=12)
        assert remote_id is not None
        config = parse_config({"data_dir": str(tmp_path), "hosts": [{"name": "rig", "url": url}]})
        app = ScreenHarness(FleetRuntime(config), lambda rt: ActivityScreen(rt, time.time))
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: app.ready.is_set()
                        and len(app.screen.query_one(ActivityTable).rows) == 1, timeout=10)
            row = app.screen.query_one(ActivityTable).rows[0]
            assert (row.host, row.record.remote_id) == ("rig", remote_id)
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, CaptureScreen)
                        and app.screen.outcome is not None, timeout=10)
            screen = app.screen
            assert isinstance(screen, CaptureScreen)
            assert screen.outcome is not None and screen.outcome.origin == "host"
            assert screen.view is not None and screen.view.answer is not None
            assert screen.view.answer.streamed and screen.view.answer.content
            assert screen.view.response.text.rstrip().endswith("data: [DONE]")
            assert "ASSISTANT" in screen_text(app)

            # llama-swap keeps captures in memory only (§1.10): the copy kept when it was
            # opened is what shows once the host is gone.
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, ActivityScreen))
            await host.go_down()
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, CaptureScreen)
                        and app.screen.outcome is not None, timeout=10)
            again = app.screen
            assert isinstance(again, CaptureScreen) and again.outcome is not None
            assert again.outcome.origin == "history", again.outcome.message
            assert again.view is not None and again.view.answer is not None
            assert again.view.answer.content == screen.view.answer.content
            note = again.query_one("#capture-status", Static)
            await until(pilot, lambda: "from swapdeck's history" in str(note.render()))
            assert "from swapdeck's history" in str(note.render())
    finally:
        await host.stop()
