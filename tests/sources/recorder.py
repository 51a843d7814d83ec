"""Collects a connector's events and waits for the one a test expects (no sleeps)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

from swapdeck.events import ActivityRecorded, HostEvent, Liveness, LivenessChanged
from swapdeck.sources.base import Connector

E = TypeVar("E")


class Recorder:
    def __init__(self) -> None:
        self.events: list[HostEvent] = []
        self._changed = asyncio.Event()

    def __call__(self, event: HostEvent) -> None:
        self.events.append(event)
        self._changed.set()

    def of(self, kind: type[E], after: int = 0) -> list[E]:
        return [e for e in self.events[after:] if isinstance(e, kind)]

    def mark(self) -> int:
        """Where the next event will land: pass it as `after` to look only at later ones."""
        return len(self.events)

    def liveness(self) -> list[tuple[Liveness, int, str]]:
        return [(e.liveness, e.attempt, e.last_error) for e in self.of(LivenessChanged)]

    async def wait_for(self, kind: type[E], predicate: Callable[[E], bool] = lambda _: True,
                       *, after: int = 0, timeout: float = 10.0) -> E:
        """The first event of `kind` at index >= `after` matching `predicate`."""
        async with asyncio.timeout(timeout):
            while True:
                for event in self.events[after:]:
                    if isinstance(event, kind) and predicate(event):
                        return event
                self._changed.clear()
                await self._changed.wait()

    async def connected(self, after: int = 0) -> LivenessChanged:
        return await self.wait_for(LivenessChanged, lambda e: e.liveness is Liveness.CONNECTED,
                                   after=after)

    async def activity(self, remote_id: int, after: int = 0) -> ActivityRecorded:
        return await self.wait_for(
            ActivityRecorded, lambda e: any(r.remote_id == remote_id for r in e.records),
            after=after)

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not condition():
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.02):  # conditions on host-side state too
                        await self._changed.wait()


@contextlib.asynccontextmanager
async def following(connector: Connector, recorder: Recorder) -> AsyncIterator[None]:
    task = asyncio.create_task(connector.run(recorder))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task  # anything but the cancellation (a crash in run) fails the test
