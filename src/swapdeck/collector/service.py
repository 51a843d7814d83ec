"""The collector: the fleet's data plane with no UI — hub, history writer, retention — plus
its counters, its log and its metrics endpoint.

    async with CollectorService(config) as collector:   # seeded, connected, serving
        await stop.wait()                                # SIGTERM / SIGINT set it
    # leaving flushed the history and closed the file

Order matters on the way in: counters are seeded from history *before* the runtime opens
(once events flow, the writer adds rows the seed would count twice), and they join the hub
before any connector runs. On the way out the endpoint closes first, then the runtime,
whose exit flushes every buffered event.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import sys
import time
from types import TracebackType
from typing import TextIO

from swapdeck.collector.errors import CollectorError
from swapdeck.collector.exposition import CollectorVitals, HostExtras, fleet_families, render
from swapdeck.collector.logfmt import EventLog
from swapdeck.collector.metrics import FleetCounters
from swapdeck.collector.seed import CounterSeed, load_seed
from swapdeck.collector.server import MetricsServer
from swapdeck.collector.state import collector_state
from swapdeck.config import Config
from swapdeck.fleet.runtime import FleetRuntime
from swapdeck.history.database import open_database
from swapdeck.history.values import HistoryError
from swapdeck.sources.base import HEADLESS

GPU_STALE_MIN_S = 60.0
GPU_STALE_POLLS = 3
"""A GPU reading older than this many of the host's perf polls (or a minute) is stale."""


async def read_seed(config: Config) -> CounterSeed:
    """Aggregates from the history file, creating (and migrating) it on first run."""
    try:
        db = await open_database(config.database_path, read_only=False)
    except HistoryError as exc:
        raise CollectorError(str(exc)) from None
    try:
        with db.errors("summing stored requests for the counters"):
            return await load_seed(db.conn, [h.name for h in config.hosts])
    except HistoryError as exc:
        raise CollectorError(str(exc)) from None
    finally:
        await db.close()


class CollectorService:
    def __init__(self, config: Config, *, stream: TextIO | None = None) -> None:
        self.config = config
        self.settings = config.collector
        self.log = EventLog(stream if stream is not None else sys.stderr)
        self.counters = FleetCounters([h.name for h in config.hosts],
                                      model_cap=self.settings.max_models_per_host)
        self.runtime = FleetRuntime(config, writer_interval_s=self.settings.writer_interval_s,
                                    listeners=(self.counters.observe, self.log.observe),
                                    state=collector_state(h.name for h in config.hosts),
                                    profile=HEADLESS)
        self.server: MetricsServer | None = None
        self.url = ""
        self._log_task: asyncio.Task[None] | None = None
        self._entered = False

    async def __aenter__(self) -> CollectorService:
        token = self.settings.resolve_bearer_token(source=self.config.source or "<config>")
        self._log_task = asyncio.get_running_loop().create_task(self.log.run(),
                                                                name="collector-log")
        try:
            await self._start(token)
        except BaseException:
            await self._stop()
            raise
        return self

    async def _start(self, token: str | None) -> None:
        path = self.config.database_path
        self.log.say("info", "starting", hosts=len(self.config.hosts), database=str(path),
                     loop=_running_loop_name())
        seed = await read_seed(self.config)
        self.counters.seed(seed)
        self.log.say("info", "counters seeded from history",
                     requests=sum(a.count for a in seed.requests))
        try:
            await self.runtime.__aenter__()
        except HistoryError as exc:
            raise CollectorError(str(exc)) from None
        self._entered = True
        self.server = MetricsServer(self.scrape, token=token)
        self.url = await self.server.start(self.settings.bind, self.settings.port)
        self.log.say("info", "serving metrics", url=self.url,
                     auth="bearer" if token else "none")
        if token is None and not _is_loopback(self.settings.bind):
            self.log.say("warning", "metrics are open to the network without a token",
                         bind=self.settings.bind,
                         hint="set [collector] bearer_token_env or bearer_token_file")

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self._stop()

    async def _stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
            self.server = None
        if self._entered:
            self._entered = False
            self.log.say("info", "stopping", pending=self._pending())
            try:
                await self.runtime.__aexit__(None, None, None)
            except HistoryError as exc:
                self.log.say("error", "history flush failed", error=str(exc))
            else:
                self.log.say("info", "stopped, history flushed",
                             events=self.runtime.hub.events_applied,
                             requests_counted=self.counters.records_counted)
        task, self._log_task = self._log_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _pending(self) -> int:
        store = self.runtime.store
        return store.pending if store is not None else 0

    # ------------------------------------------------------------------ scraping

    def scrape(self, accept: str) -> tuple[bytes, str]:
        """The metrics page now, in the format `accept` asks for."""
        now = time.time()
        hub = self.runtime.hub
        extras = {
            host.name: HostExtras(
                last_seen=_last_seen(hub.connectors.get(host.name)),
                gpu_stale_after_s=max(GPU_STALE_MIN_S, GPU_STALE_POLLS * host.perf_interval_s))
            for host in self.config.hosts}
        vitals = CollectorVitals(events_applied=hub.events_applied,
                                 history_pending=self._pending())
        return render(fleet_families(self.counters, self.runtime.state, now, extras, vitals),
                      accept)


def _last_seen(connector: object) -> float | None:
    # The llama-swap connector stamps every byte it reads (ConnectorStats.last_seen); the
    # reducer only learns last-seen with liveness changes, too coarse for an age gauge.
    stats = getattr(connector, "stats", None)
    seen = getattr(stats, "last_seen", None)
    return seen if isinstance(seen, float) else None


def _is_loopback(bind: str) -> bool:
    if bind == "localhost":
        return True
    try:
        return ipaddress.ip_address(bind).is_loopback
    except ValueError:
        return False


async def run_collector(config: Config, stop: asyncio.Event, *,
                        stream: TextIO | None = None) -> None:
    """Collect until `stop` is set, then shut down cleanly (history flushed)."""
    async with CollectorService(config, stream=stream):
        await stop.wait()


def _running_loop_name() -> str:
    """`uvloop` or `asyncio`: which loop `swapdeck collect` got (eventloop.py)."""
    return "uvloop" if type(asyncio.get_running_loop()).__module__.startswith("uvloop") \
        else "asyncio"
