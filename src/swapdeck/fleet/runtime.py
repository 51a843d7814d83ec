"""Wires a config into a running data plane: history, rebuilt state, connectors, hub.

Used the same way by `swapdeck status`, the TUI and the collector:

    async with FleetRuntime(config) as runtime:
        runtime.state ...            # already holds the last known picture from SQLite
        runtime.hub.subscribe(...)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from types import TracebackType

from swapdeck.config import Config, ConfigError, HostConfig, HostKind
from swapdeck.fleet.actions import ActionQueue
from swapdeck.fleet.hub import Hub, Listener
from swapdeck.fleet.state import FleetState
from swapdeck.history.picture import as_memory
from swapdeck.history.store import HistoryStore
from swapdeck.sources.base import LIVE, Connector, FollowProfile, ResumePoint

log = logging.getLogger(__name__)

RETENTION_INTERVAL_S = 300.0
"""Rollups are 5-minute buckets: recomputing them more often buys nothing."""


def make_connector(host: HostConfig, resume: ResumePoint,
                   profile: FollowProfile = LIVE) -> Connector:
    if host.kind is HostKind.LLAMA_SWAP:
        from swapdeck.sources.llamaswap import LlamaSwapConnector

        return LlamaSwapConnector(host, resume=resume, profile=profile)
    raise ConfigError("", f"hosts.{host.name}.kind",
                      f"expected 'llama-swap' (support for {host.kind.value!r} is not built yet)")


class FleetRuntime:
    def __init__(self, config: Config, *, history: bool = True, read_only: bool = False,
                 writer_interval_s: float = 0.5, retention: bool = True,
                 listeners: Sequence[Listener] = (), state: FleetState | None = None,
                 profile: FollowProfile = LIVE) -> None:
        """`listeners` join the hub before any connector runs (the collector's counters
        must not miss the first event); `state` replaces the default reducer state (the
        collector keeps smaller windows: it shows no activity list); `profile` says what
        the connectors follow (the collector wants no log lines)."""
        self.config = config
        self._listeners = tuple(listeners)
        self._profile = profile
        self._use_history = history
        self._read_only = read_only
        self._writer_interval_s = writer_interval_s
        self._retention = retention and not read_only
        self._retention_task: asyncio.Task[None] | None = None
        self.store: HistoryStore | None = None
        self.state = state if state is not None else FleetState(h.name for h in config.hosts)
        self.hub: Hub
        self.actions: ActionQueue

    async def __aenter__(self) -> FleetRuntime:
        try:
            return await self._start()
        except BaseException:
            if self.store is not None:  # a half-started runtime leaves no open database
                with contextlib.suppress(Exception):
                    await self.store.close()
            raise

    async def _start(self) -> FleetRuntime:
        resume: dict[str, ResumePoint] = {}
        if self._use_history:
            path = self.config.database_path
            path.parent.mkdir(parents=True, exist_ok=True)
            self.store = await HistoryStore.open(path, self.config.history,
                                                 read_only=self._read_only)
            if not self._read_only:
                for host in self.config.hosts:
                    await self.store.register_host(host.name, host.url)
            resume = await self.store.resume_points()
        connectors = [make_connector(h, resume.get(h.name, ResumePoint()), self._profile)
                      for h in self.config.hosts]
        sink = self.store if self.store is not None and not self._read_only else None
        self.hub = Hub(connectors, state=self.state, history=sink)
        for listener in self._listeners:
            self.hub.add_listener(listener)
        if self.store is not None:
            # The last known picture comes back before any host answers; its liveness
            # is a memory until each host answers again.
            self.hub.replay(as_memory(await self.store.rebuild_events()))
            if sink is not None:
                self.store.start_writer(self._writer_interval_s)
            if self._retention:
                self._retention_task = asyncio.get_running_loop().create_task(
                    self._retain(self.store), name="history-retention")
        controls = {h.name: h.control for h in self.config.hosts}
        self.actions = ActionQueue(self.hub.connectors, self.state,
                                   control=lambda name: controls.get(name, False))
        await self.hub.start()
        return self

    async def _retain(self, store: HistoryStore) -> None:
        while True:
            try:
                await store.run_retention(time.time())
            except Exception as exc:  # a failed pass is retried next time; history stays intact
                log.warning("history retention failed: %s", exc)
            await asyncio.sleep(RETENTION_INTERVAL_S)

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._retention_task is not None:
            self._retention_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retention_task
        with contextlib.suppress(Exception):
            await self.actions.aclose()
        await self.hub.stop()
        if self.store is not None:
            await self.store.close()  # flushes what is buffered: nothing is lost on quit
