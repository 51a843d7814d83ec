"""The hub: runs one connector per host and fans their events out.

Each event goes, synchronously and in order, to the fleet reducer, the history writer's
buffer and any listeners (the collector's counters). Subscribers — the TUI — are not
called per event: they are woken at most every `min_interval_s` with the set of hosts that
changed since their last wake-up, and read the state themselves. A busy fleet therefore
costs the screen a bounded number of refreshes per second, never one per event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from swapdeck.events import HostEvent
from swapdeck.fleet.state import FleetState
from swapdeck.sources.base import Connector

log = logging.getLogger(__name__)

Subscriber = Callable[[frozenset[str]], Awaitable[None] | None]
Listener = Callable[[HostEvent], None]


class EventSink(Protocol):
    """Where history goes: `HistoryStore` satisfies this."""

    def submit(self, event: HostEvent) -> None: ...


@dataclass
class _Subscription:
    callback: Subscriber
    min_interval_s: float
    dirty: set[str] = field(default_factory=set)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


class Hub:
    def __init__(self, connectors: Iterable[Connector], *, state: FleetState | None = None,
                 history: EventSink | None = None) -> None:
        self.connectors: dict[str, Connector] = {c.host: c for c in connectors}
        self.state = state if state is not None else FleetState(self.connectors)
        for name in self.connectors:
            self.state.host(name)
        self.history = history
        self.events_applied = 0
        self._listeners: list[Listener] = []
        self._subscriptions: list[_Subscription] = []
        self._tasks: dict[str, asyncio.Task[None]] = {}

    # ------------------------------------------------------------------ events in

    def emit(self, event: HostEvent) -> None:
        """Handed to every connector; never blocks, never raises into the connector."""
        self.state.apply(event)
        self.events_applied += 1
        if self.history is not None:
            self.history.submit(event)
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:  # a broken listener must not stop the data plane
                log.exception("event listener failed")
        for sub in self._subscriptions:
            sub.dirty.add(event.host)
            sub.wake.set()

    def replay(self, events: Iterable[HostEvent]) -> None:
        """Apply stored events (history rebuild) without writing them back to history."""
        for event in events:
            self.state.apply(event)
            for sub in self._subscriptions:
                sub.dirty.add(event.host)
                sub.wake.set()

    # ------------------------------------------------------------------ events out

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def subscribe(self, callback: Subscriber, *, min_interval_s: float = 0.1) -> Callable[[], None]:
        """Call `callback(changed_hosts)` at most every `min_interval_s`; returns unsubscribe."""
        sub = _Subscription(callback, min_interval_s)
        self._subscriptions.append(sub)
        sub.task = asyncio.get_running_loop().create_task(self._deliver(sub))

        def unsubscribe() -> None:
            if sub in self._subscriptions:
                self._subscriptions.remove(sub)
            if sub.task is not None:
                sub.task.cancel()

        return unsubscribe

    async def _deliver(self, sub: _Subscription) -> None:
        while True:
            await sub.wake.wait()
            sub.wake.clear()
            changed, sub.dirty = frozenset(sub.dirty), set()
            try:
                result = sub.callback(changed)
                if asyncio.iscoroutine(result):
                    await result
            except Exception:
                log.exception("subscriber failed")
            await asyncio.sleep(sub.min_interval_s)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        for name, connector in self.connectors.items():
            if name not in self._tasks:
                self._tasks[name] = loop.create_task(self._follow(connector), name=f"follow:{name}")

    async def _follow(self, connector: Connector) -> None:
        # A connector handles its own reconnects; if it ever crashes, say so and stop that
        # host only — the rest of the fleet keeps going.
        try:
            await connector.run(self.emit)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("connector for %s stopped unexpectedly", connector.host)

    async def stop(self) -> None:
        tasks = [*self._tasks.values(), *(s.task for s in self._subscriptions if s.task)]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        for sub in self._subscriptions:
            sub.task = None
        self._subscriptions.clear()
        for connector in self.connectors.values():
            close = getattr(connector, "aclose", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    await close()
