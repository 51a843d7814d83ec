"""The hub fans events to state, history and listeners, and coalesces subscribers."""

from __future__ import annotations

import asyncio

from swapdeck.events import FrameRejected, HostEvent
from swapdeck.fleet.hub import Hub
from swapdeck.sources.base import Emit


class ScriptedConnector:
    """Emits a fixed burst of events, then idles (or crashes, to test isolation)."""

    def __init__(self, host: str, count: int, crash: bool = False) -> None:
        self.host = host
        self.count = count
        self.crash = crash

    async def run(self, emit: Emit) -> None:
        for i in range(self.count):
            emit(FrameRejected(self.host, float(i), "test"))
            if i % 100 == 0:
                await asyncio.sleep(0)
        if self.crash:
            raise RuntimeError("boom")
        await asyncio.Event().wait()

    async def warm(self, model: str) -> None: ...
    async def unload(self, model: str) -> None: ...
    async def unload_all(self) -> None: ...
    async def health(self) -> bool:
        return True


class ListSink:
    def __init__(self) -> None:
        self.events: list[HostEvent] = []

    def submit(self, event: HostEvent) -> None:
        self.events.append(event)


async def test_events_reach_state_history_and_listeners_in_order() -> None:
    sink = ListSink()
    hub = Hub([ScriptedConnector("a", 1000), ScriptedConnector("b", 10, crash=True)],
              history=sink)
    heard: list[HostEvent] = []
    hub.add_listener(heard.append)
    wakeups: list[frozenset[str]] = []
    hub.subscribe(wakeups.append, min_interval_s=0.05)
    await hub.start()
    for _ in range(100):
        await asyncio.sleep(0.01)
        if hub.events_applied == 1010:
            break
    await asyncio.sleep(0.12)
    assert hub.state.hosts["a"].frames_rejected == 1000
    assert hub.state.hosts["b"].frames_rejected == 10  # its crash stopped only itself
    assert len(sink.events) == len(heard) == 1010
    assert [e.at for e in sink.events if e.host == "a"] == [float(i) for i in range(1000)]
    # 1010 events, a handful of wake-ups, and together they name every changed host.
    assert 1 <= len(wakeups) < 20
    assert frozenset().union(*wakeups) == {"a", "b"}
    await hub.stop()


async def test_replay_rebuilds_state_without_writing_history_again() -> None:
    sink = ListSink()
    hub = Hub([], history=sink)
    hub.replay([FrameRejected("old", 1.0, "stored")])
    assert hub.state.hosts["old"].frames_rejected == 1
    assert sink.events == []
    await hub.stop()


async def test_a_failing_subscriber_does_not_stop_delivery() -> None:
    hub = Hub([ScriptedConnector("a", 3)])
    calls: list[int] = []

    def broken(changed: frozenset[str]) -> None:
        calls.append(1)
        raise ValueError("subscriber bug")

    hub.subscribe(broken, min_interval_s=0.01)
    await hub.start()
    await asyncio.sleep(0.05)
    hub.emit(FrameRejected("a", 9.0, "later"))
    await asyncio.sleep(0.05)
    assert len(calls) >= 2
    await hub.stop()
