"""Helpers shared by the Activity, Logs and capture tests (no tests in here).

`ScreenHarness` mounts one of our screens in a tiny App over a `FedRuntime` (the shared
TUI conftest's runtime-like object: real FleetState, real Hub, no network), entering the
runtime inside the app's event loop as the real app does.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
from textual.app import App
from textual.screen import Screen

from swapdeck.events import UNKNOWN, ActivityRecord, LogLines, LogSource
from swapdeck.sources.base import Emit
from tests.tui.conftest import NOW, FedRuntime


@pytest.fixture
def utc() -> Iterator[None]:
    """Local time = UTC, so the time column reads the same on every machine."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


def record(rid: int, *, at: float | None = None, model: str = "qwen3-30b", status: int | None = 200,
           path: str | None = "/v1/chat/completions", cached: int = 1024, prompt: int = 312,
           generated: int = 587, prefill: float = 1450.2, decode: float = 88.4,
           duration_ms: int = 6871, epoch: int = 0) -> ActivityRecord:
    """A §3.1-shaped record; failed requests carry 0 token fields as llama-swap records them."""
    failed = status is not None and not 200 <= status < 300
    return ActivityRecord(
        remote_id=rid, epoch=epoch, finished_at=NOW - 100 + rid if at is None else at,
        model=model, req_path=path, status_code=status,
        content_type="text/event-stream", cache_tokens=0 if failed else cached,
        input_tokens=0 if failed else prompt, output_tokens=0 if failed else generated,
        prompt_tps=0.0 if failed else prefill, decode_tps=0.0 if failed else decode,
        duration_ms=duration_ms, has_capture=True,
        error_msg="503 Service Unavailable" if failed else "")


def unknown_record(rid: int, **kwargs: Any) -> ActivityRecord:
    """A record whose host could not read the cache count nor the rates (-1, §3.1)."""
    return record(rid, cached=UNKNOWN, prefill=float(UNKNOWN), decode=float(UNKNOWN), **kwargs)


class QuietConnector:
    """A connector that streams nothing; subclasses add what a test needs."""

    def __init__(self, host: str) -> None:
        self.host = host

    async def run(self, emit: Emit) -> None:
        await asyncio.Event().wait()

    async def health(self) -> bool:
        return True


class CaptureConnector(QuietConnector):
    """Answers `fetch_capture` from a dict; a missing key answers None (404, expired)."""

    def __init__(self, host: str, captures: dict[int, Any], *,
                 error: Exception | None = None) -> None:
        super().__init__(host)
        self.captures = captures
        self.error = error
        self.asked: list[tuple[int, int]] = []

    async def fetch_capture(self, epoch: int, remote_id: int) -> Any:
        self.asked.append((epoch, remote_id))
        if self.error is not None:
            raise self.error
        return self.captures.get(remote_id)


class ModelLogConnector(QuietConnector):
    """`follow_log(model)` yields what the test puts in its queue, until cancelled."""

    def __init__(self, host: str) -> None:
        super().__init__(host)
        self.queue: asyncio.Queue[tuple[str, ...]] = asyncio.Queue()
        self.following: list[str] = []
        self.closed: list[str] = []

    async def follow_log(self, model: str) -> AsyncIterator[LogLines]:
        self.following.append(model)
        try:
            while True:
                lines = await self.queue.get()
                yield LogLines(self.host, NOW, LogSource.MODEL, lines, model=model)
        finally:
            self.closed.append(model)


class ScreenHarness(App[None]):
    """Enters the runtime, then shows one screen built by `make_screen(runtime)`."""

    def __init__(self, runtime: FedRuntime, make_screen: Callable[[Any], Screen[Any]]) -> None:
        super().__init__()
        self.animation_level = "none"  # smooth scrolling only slows the tests down
        self.runtime = runtime
        self.make_screen = make_screen
        self._stack = AsyncExitStack()
        self.ready = asyncio.Event()

    async def on_mount(self) -> None:
        await self._stack.enter_async_context(self.runtime)
        await self.push_screen(self.make_screen(self.runtime))
        self.ready.set()

    async def on_unmount(self) -> None:
        await self._stack.aclose()


async def until(pilot: Any, condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Pause until `condition()` holds (or `timeout` passes; the test's assert then says
    what was wrong). Faster and steadier than a fixed sleep on a busy machine."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition() and loop.time() < deadline:
        await pilot.pause(0.03)


async def settle(pilot: Any, app: ScreenHarness) -> None:
    """Let the hub deliver (at most every 0.1 s), workers finish and the screen refresh."""
    await asyncio.wait_for(app.ready.wait(), 5)
    await pilot.pause(0.15)
    await app.workers.wait_for_complete()
    await pilot.pause()
