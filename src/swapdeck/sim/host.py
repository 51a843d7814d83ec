"""`SimHost`: one simulated llama-swap host of a given protocol era, on real loopback HTTP.

The host owns a `HostCore` (models, activity, logs, SSE fan-out) and the I/O around it: the
aiohttp listener, the 1 s TTL ticker (§4), the perf sampler (§1.9), the traffic generator and
the fault knobs tests use (drop streams, malformed frames, reload, restart, outage, latency).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from swapdeck.sim import api_handlers, inference_handlers, stream_handlers, upstream_handlers
from swapdeck.sim.core import HostCore, HostSettings
from swapdeck.sim.era import Era, parse_era
from swapdeck.sim.model import DEFAULT_MODELS, SimModel, check_catalog
from swapdeck.sim.server import Dispatcher
from swapdeck.sim.simulate import SimulatedRequest, run_simulated
from swapdeck.sim.traffic import TrafficPlanner

TTL_TICK_S = 1.0  # llama-swap's TTL goroutine ticks every second (§4)
ROUTES = [*api_handlers.ROUTES, *stream_handlers.ROUTES, *inference_handlers.ROUTES,
          *upstream_handlers.ROUTES]


class SimHost:
    def __init__(self, era: Era | str, *, name: str = "sim", seed: int = 0,
                 api_key: str | None = None, models: Sequence[SimModel] | None = None,
                 gpus: int = 1, perf_every_s: float = 5.0, metrics_max_in_memory: int = 1000,
                 persistent_store: bool = False, capture_buffer_mb: int = 5,
                 build: str = "6497", build_commit: str = "cd08fc3e") -> None:
        """`persistent_store=False` is llama-swap's default (§3.2): an in-memory activity
        store pruned to the newest `metrics_max_in_memory` rows, whose ids restart with the
        process (§12). True is a host configured with `store.path`."""
        if perf_every_s <= 0:
            raise ValueError(f"perf_every_s must be > 0, got {perf_every_s}")
        self.era = parse_era(era)
        self.name = name
        self.seed = seed
        self.api_key = api_key
        self.models = check_catalog(list(models) if models is not None else DEFAULT_MODELS)
        self._core = HostCore(self.era, HostSettings(
            name=name, seed=seed, api_key=api_key, models=self.models, gpus=gpus,
            perf_every_s=perf_every_s, metrics_max_in_memory=metrics_max_in_memory,
            persistent_store=persistent_store, capture_buffer_mb=capture_buffer_mb,
            build=build, build_commit=build_commit))
        self.url = ""
        self._bind = "127.0.0.1"
        self._port = 0
        self._runner: web.AppRunner | None = None
        self._dispatcher = Dispatcher(lambda: self._core, ROUTES)
        self._tickers: list[asyncio.Task[None]] = []
        self._traffic: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ introspection

    @property
    def core(self) -> HostCore:
        """The simulated server's state, for tests that need to look inside."""
        return self._core

    @property
    def port(self) -> int:
        return self._port

    @property
    def is_up(self) -> bool:
        return self._runner is not None

    @property
    def served(self) -> int:
        """Requests finished, recorded or not."""
        return self._core.served

    def held_activity_ids(self) -> list[int]:
        """Ids the host still holds (ring or store), ascending."""
        return self._core.activity.ids()

    # ------------------------------------------------------------------ lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        if self._runner is not None:
            raise RuntimeError(f"simulated host {self.name!r} is already started at {self.url}")
        await self._listen(host, port)
        self._start_tickers()
        self._core.logs.log("INFO", f"llama-swap listening on {self._bind}:{self._port}")
        return self.url

    async def stop(self) -> None:
        self.stop_traffic()
        await self._stop_tickers()
        self._core.cancel_requests()
        self._core.close_streams(abort=True)
        await self._unlisten()
        self._core.procs.shutdown()
        await self._core.cancel_background()

    async def restart(self) -> None:
        """Stop and start on the same port: a new llama-swap process (§12 for what survives)."""
        if not self._port:
            raise RuntimeError(f"simulated host {self.name!r} was never started")
        await self._stop_tickers()
        self._core.new_server(restart=True)
        await self._unlisten()
        await self._core.cancel_background()
        self._core.started_ns = time.time_ns()
        await self._listen(self._bind, self._port)
        self._start_tickers()
        self._core.logs.log("INFO", f"llama-swap listening on {self._bind}:{self._port}")

    async def config_reload(self) -> None:
        """§5/§12: processes shut down, SSE closed, a fresh server with era-specific resets."""
        self._core.logs.log("INFO", "config file changed, reloading configuration")
        self._core.new_server(restart=False)
        await self._core.cancel_background()
        self._core.logs.log("INFO", "configuration reloaded")

    async def go_down(self) -> None:
        """Stop listening: connections are refused and open streams die."""
        self._core.close_streams(abort=True)
        await self._unlisten()

    async def come_up(self) -> None:
        if self._runner is None:
            await self._listen(self._bind, self._port)

    async def _listen(self, host: str, port: int) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatcher.__call__)
        runner = web.AppRunner(app, handle_signals=False, access_log=None,
                               handler_cancellation=True, shutdown_timeout=0.2)
        await runner.setup()
        site = web.TCPSite(runner, host, port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise OSError(exc.errno, f"simulated host {self.name!r} cannot listen on "
                                     f"{host}:{port}: {exc.strerror}") from None
        self._runner = runner
        address: Any = runner.addresses[0]
        self._bind, self._port = host, int(address[1])
        self.url = f"http://{host}:{self._port}"

    async def _unlisten(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    # ------------------------------------------------------------------ tickers

    def _start_tickers(self) -> None:
        self._tickers = [asyncio.create_task(self._ttl_loop())]
        if self._core.perf_ring is not None:
            self._tickers.append(asyncio.create_task(self._perf_loop()))

    async def _stop_tickers(self) -> None:
        tickers, self._tickers = self._tickers, []
        for task in tickers:
            task.cancel()
        await asyncio.gather(*tickers, return_exceptions=True)

    async def _ttl_loop(self) -> None:
        while True:
            await asyncio.sleep(TTL_TICK_S)
            core = self._core
            for proc in core.procs.expired(time.monotonic()):
                core.logs.log("INFO", f"<{proc.model.id}> Unloading model, TTL of "
                                      f"{proc.model.ttl}s reached")
                core.spawn(core.procs.stop(proc))

    def sample_perf_now(self) -> None:
        """Take one perf sample now, as a host that has been up for a tick would have."""
        core = self._core
        if core.perf_ring is not None:
            core.perf_ring.add(*core.perf_synth.sample(core.current_load(), time.time_ns()))

    async def _perf_loop(self) -> None:
        every = self._core.settings.perf_every_s
        while True:
            await asyncio.sleep(every)
            self.sample_perf_now()

    # ------------------------------------------------------------------ traffic

    async def serve_request(self, model: str, *, path: str = "/v1/chat/completions",
                            prompt_tokens: int = 200, output_tokens: int = 100,
                            cached_tokens: int = 0, status: int = 200) -> int | None:
        """One request from a simulated client, through the whole lifecycle (no HTTP)."""
        request = SimulatedRequest(model, path, prompt_tokens, output_tokens, cached_tokens,
                                   status, "192.168.1.50", "swapdeck-sim/1.0")
        return await run_simulated(self._core, request)

    def start_traffic(self, rate_per_s: float, *, seed: int | None = None) -> None:
        """Poisson arrivals at `rate_per_s`, choices drawn from a planner seeded by `seed`."""
        self.stop_traffic()
        planner = TrafficPlanner(self.models, self.seed if seed is None else seed)
        planner.next_gap_s(rate_per_s)  # validates the rate before the task starts
        self._traffic = asyncio.create_task(self._traffic_loop(planner, rate_per_s))

    def stop_traffic(self) -> None:
        if self._traffic is not None:
            self._traffic.cancel()
            self._traffic = None

    async def _traffic_loop(self, planner: TrafficPlanner, rate_per_s: float) -> None:
        while True:
            await asyncio.sleep(planner.next_gap_s(rate_per_s))
            plan = planner.next_plan()
            request = SimulatedRequest(plan.model, plan.path, plan.prompt_tokens,
                                       plan.output_tokens, plan.cached_tokens, plan.status,
                                       plan.remote_ip, plan.user_agent)
            self._core.spawn(self._quietly(request))

    async def _quietly(self, request: SimulatedRequest) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await run_simulated(self._core, request)

    # ------------------------------------------------------------------ faults

    async def drop_streams(self) -> None:
        """Cut every open `/api/events` and `/logs/stream` connection mid-body."""
        self._core.close_streams(abort=True)
        await asyncio.sleep(0)

    def inject_malformed(self, count: int = 1) -> None:
        """The next `count` SSE frames are malformed (4 rotating kinds); real frames follow."""
        self._core.bus.inject_malformed(count)

    def set_latency(self, seconds: float) -> None:
        """Delay every REST response by `seconds` (SSE bodies flow undelayed)."""
        if seconds < 0:
            raise ValueError(f"latency must be >= 0, got {seconds}")
        self._dispatcher.latency_s = seconds
