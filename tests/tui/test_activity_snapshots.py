"""Snapshots of the Activity screen at 80×24 and 160×48, from fixed events and a frozen clock.

Update with `.venv/bin/pytest tests/tui --snapshot-update` and look at the SVGs.
"""

from __future__ import annotations

from typing import Any

import pytest

from swapdeck.events import (
    ActivityRecorded,
    HostEvent,
    InflightCount,
    InflightRequest,
    InflightSnapshot,
)
from swapdeck.tui.screens.activity import ActivityScreen
from swapdeck.tui.widgets.activity_table import ActivityTable
from tests.tui.conftest import NOW, FedRuntime, make_config
from tests.tui.test_activity_support import ScreenHarness, record, unknown_record, until, utc

pytestmark = pytest.mark.usefixtures("utc")
__all__ = ["utc"]

MODELS = ("qwen3-30b-a3b", "gemma-3-12b", "llama-3.1-8b")
PATHS = ("/v1/chat/completions", "/v1/completions", "/v1/chat/completions", "/v1/embeddings")


def fleet_events() -> list[HostEvent]:
    """Three hosts of different eras: rates unknown on the oldest (§3.1), a few failures."""
    events: list[HostEvent] = []
    for h, host in enumerate(("rig-a", "rig-b", "old-box")):
        records = []
        for i in range(1, 25):
            rid = h * 100 + i
            at = NOW - 300 + i * 11 + h * 3
            model = MODELS[(i + h) % 3]
            if host == "old-box":  # ≤v208: no path or status, rates mostly unknown
                records.append(unknown_record(rid, at=at, model=model, status=None, path=None,
                                              prompt=40 + i, generated=90 + i))
            elif i % 9 == 0:
                records.append(record(rid, at=at, model=model, status=503,
                                      path=PATHS[i % 4], duration_ms=30_000))
            else:
                records.append(record(rid, at=at, model=model, path=PATHS[i % 4],
                                      cached=(i * 37) % 900, prompt=120 + i * 13,
                                      generated=60 + i * 29, prefill=900.0 + i * 41,
                                      decode=35.0 + (i * 7) % 60, duration_ms=800 + i * 230))
        events.append(ActivityRecorded(host, NOW, tuple(records)))
    events.append(InflightSnapshot("rig-a", NOW, (
        InflightRequest("41", "qwen3-30b-a3b", started_at=NOW - 42.3, method="POST",
                        req_path="/v1/chat/completions", responding=True),
        InflightRequest("42", "gemma-3-12b", started_at=NOW - 3.1, method="POST",
                        req_path="/v1/chat/completions"),
    )))
    events.append(InflightSnapshot("rig-b", NOW, (
        InflightRequest("7", "llama-3.1-8b", started_at=NOW - 8.0, method="POST",
                        req_path="/v1/completions", responding=True),)))
    events.append(InflightCount("old-box", NOW, 2))
    return events


def snapshot_app() -> ScreenHarness:
    runtime = FedRuntime(make_config([("rig-a", False), ("rig-b", False), ("old-box", False)]),
                         fleet_events())
    return ScreenHarness(runtime, lambda rt: ActivityScreen(rt, lambda: NOW))


async def wait_for_rows(pilot: Any) -> None:
    app = pilot.app
    await until(pilot, lambda: app.ready.is_set()
                and len(app.screen.query_one(ActivityTable).rows) == 72)
    await pilot.pause(0.6)  # the per-model panel's trailing refresh


def test_activity_80x24(snap_compare: Any) -> None:
    assert snap_compare(snapshot_app(), terminal_size=(80, 24), run_before=wait_for_rows)


def test_activity_160x48(snap_compare: Any) -> None:
    assert snap_compare(snapshot_app(), terminal_size=(160, 48), run_before=wait_for_rows)
