"""The capture inspector: fetched from the host (or our history), read, redacted (§1.10)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from textual.widgets import TabbedContent, TextArea

from swapdeck.events import ActivityRecorded
from swapdeck.fleet.capture_view import EXPIRED_MESSAGE
from swapdeck.fleet.hub import Hub
from swapdeck.history.store import HistoryStore
from swapdeck.history.values import StoredCapture
from swapdeck.sources.capture import Capture
from swapdeck.tui.screens.activity import ActivityScreen
from swapdeck.tui.screens.capture import CaptureScreen, load_capture
from swapdeck.tui.widgets.activity_table import ActivityTable
from tests.fleet.test_capture_view import chat_request, llama_server_stream
from tests.tui.conftest import NOW, FedRuntime, make_config, screen_text
from tests.tui.test_activity_support import (
    CaptureConnector,
    ScreenHarness,
    record,
    settle,
    until,
    utc,
)

pytestmark = pytest.mark.usefixtures("utc")
__all__ = ["utc"]


def host_capture(rid: int) -> Capture:
    """What the connector returns for `/api/captures/{id}`: bodies decoded, headers as sent
    (llama-swap redacts Authorization itself, §1.10 — this one pretends an older host did not)."""
    return Capture(remote_id=rid, req_path="/v1/chat/completions",
                   req_headers={"Authorization": "Bearer sk-live-secret",
                                "Content-Type": "application/json"},
                   req_body=chat_request(api_key="sk-in-body").encode(),
                   resp_headers={"Content-Type": "text/event-stream"},
                   resp_body=llama_server_stream().encode())


def runtime_with(connector: CaptureConnector) -> FedRuntime:
    runtime = FedRuntime(make_config([("gpu-1", False)]),
                         [ActivityRecorded("gpu-1", NOW, (record(1), record(2)))])
    runtime.connectors["gpu-1"] = connector  # type: ignore[assignment]
    return runtime


async def test_enter_opens_the_inspector_with_chat_request_and_response() -> None:
    """§1.10 capture of a streamed chat completion: the SSE `data:` events are reassembled into
    the answer, reasoning apart; secrets never reach the screen."""
    connector = CaptureConnector("gpu-1", {2: host_capture(2)})
    app = ScreenHarness(runtime_with(connector), lambda rt: ActivityScreen(rt, lambda: NOW))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("enter")  # the newest row: request #2
        await until(pilot, lambda: isinstance(app.screen, CaptureScreen)
                    and app.screen.view is not None)
        screen = app.screen
        assert isinstance(screen, CaptureScreen)
        assert connector.asked == [(0, 2)]
        text = screen_text(app)
        assert "qwen3-30b on gpu-1 · /v1/chat/completions · status 200" in text
        for expected in ("SYSTEM", "You are terse.", "USER", "Capital of France?", "ASSISTANT",
                         "7 streamed events, finish: stop", "reasoning",
                         "The user asks for a capital.", "answer", "Paris."):
            assert expected in text
        request = screen.query_one("#capture-request", TextArea).text
        assert request.startswith("POST /v1/chat/completions\nAuthorization: [REDACTED]\n")
        assert '"api_key": "[REDACTED]"' in request
        assert "sk-live-secret" not in request + text and "sk-in-body" not in request
        await pilot.press("right_square_bracket", "right_square_bracket")
        assert screen.query_one(TabbedContent).active == "tab-response"
        response = screen.query_one("#capture-response", TextArea).text
        assert response.startswith("HTTP 200\nContent-Type: text/event-stream\n\ndata: {")
        assert response.rstrip().endswith("data: [DONE]")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ActivityScreen))
        assert isinstance(app.screen, ActivityScreen)


async def test_an_expired_capture_says_so() -> None:
    """§1.10: 404 `capture not found` once evicted — the connector answers None. Opened with
    the mouse this time: a click selects a row, a double click opens it."""
    connector = CaptureConnector("gpu-1", {})
    app = ScreenHarness(runtime_with(connector), lambda rt: ActivityScreen(rt, lambda: NOW))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.click(ActivityTable, offset=(12, 2))  # line 0 is the header: row #1
        assert app.screen.query_one(ActivityTable).cursor == 1
        await pilot.click(ActivityTable, offset=(12, 2), times=2)
        await until(pilot, lambda: connector.asked == [(0, 1)])
        await until(pilot, lambda: isinstance(app.screen, CaptureScreen)
                    and app.screen.outcome is not None)
        assert EXPIRED_MESSAGE in screen_text(app)
        assert not app.screen.query_one(TabbedContent).display


async def test_history_copy_when_the_host_is_down(tmp_path: Path) -> None:
    store = await HistoryStore.open(tmp_path / "history.sqlite")
    try:
        await store.store_capture("gpu-1", 0, 2, StoredCapture(
            req_path="/v1/embeddings", req_headers={"X-Api-Key": "k"},
            req_body=json.dumps({"model": "nomic-embed", "input": "hello"}).encode(),
            resp_headers={"Content-Type": "application/json"},
            resp_body=json.dumps({"data": [{"embedding": [0.1, 0.2]}]}).encode()))
        down = CaptureConnector("gpu-1", {}, error=httpx.ConnectError("connection refused"))
        runtime = SimpleNamespace(hub=Hub([down]), store=store)
        outcome = await load_capture(runtime, "gpu-1", record(2))  # type: ignore[arg-type]
        assert outcome.origin == "history" and outcome.capture is not None
        assert outcome.message == ("gpu-1 did not answer (connection refused); from swapdeck's "
                                   "history: the host no longer holds it")
        missing = await load_capture(runtime, "gpu-1", record(1))  # type: ignore[arg-type]
        assert missing.capture is None
        assert missing.message == ("gpu-1 did not answer (connection refused), and the history "
                                   "holds no copy")

        app = ScreenHarness(runtime_with(down), lambda rt: CaptureScreen(rt, "gpu-1", record(2)))
        app.runtime.store = store
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot, app)
            screen = app.screen
            assert isinstance(screen, CaptureScreen) and screen.view is not None
            # Not a chat: no chat tab, the request shows first, the key header redacted.
            assert screen.query_one(TabbedContent).active == "tab-request"
            assert "X-Api-Key: [REDACTED]" in screen.query_one("#capture-request",
                                                                TextArea).text
            assert "from swapdeck's history" in screen_text(app)
    finally:
        await store.close()


async def test_expired_without_a_connector_or_store() -> None:
    runtime = SimpleNamespace(hub=Hub([]), store=None)
    outcome = await load_capture(runtime, "gone", record(1))  # type: ignore[arg-type]
    assert (outcome.capture, outcome.message) == (None, EXPIRED_MESSAGE)
