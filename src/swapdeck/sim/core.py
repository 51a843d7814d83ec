"""The state of one simulated llama-swap server and the life of a proxied request.

`HostCore` knows nothing about sockets: the HTTP edge (`server.py`) and the simulated clients
(`SimHost.serve_request`, the traffic generator) both go through `begin` -> `acquire` ->
`finish`, so inflight entries, activity records, captures, logs and SSE messages are the same
whichever way a request arrived.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from swapdeck.sim.activity import ActivityLog
from swapdeck.sim.bus import EventBus, SseSubscriber
from swapdeck.sim.captures import Capture, CaptureBuffer
from swapdeck.sim.engine_output import request_failure_line, request_lines, startup_banner
from swapdeck.sim.era import Era, EraTraits, traits_for
from swapdeck.sim.gojson import go_map
from swapdeck.sim.hardware import pick_hardware
from swapdeck.sim.inflight import InflightEntry, InflightTracker
from swapdeck.sim.logs import LogHub, LogStreamSubscriber
from swapdeck.sim.model import SimModel, launch_cmd
from swapdeck.sim.perf import Load, PerfRing, PerfSynth
from swapdeck.sim.process import ModelProcess, ProcessTable, ProcState
from swapdeck.sim.records import Completed, is_recorded, render_record
from swapdeck.sim.timefmt import go_duration
from swapdeck.sim.timings import Timings
from swapdeck.sim.views import model_status
from swapdeck.sim.wire import sse_frame

T = TypeVar("T")
PROGRESS_EVERY_NS = 250_000_000  # v240+ upserts at most every 250 ms while bytes flow (§2.2)


@dataclass(frozen=True, slots=True)
class CaptureParts:
    req_headers: dict[str, str]
    req_body: Callable[[], bytes | None]
    resp_headers: dict[str, str] | None
    resp_body: Callable[[], bytes | None]
    size: int


@dataclass(frozen=True, slots=True)
class HostSettings:
    name: str
    seed: int
    api_key: str | None
    models: tuple[SimModel, ...]
    gpus: int
    perf_every_s: float
    metrics_max_in_memory: int
    persistent_store: bool
    capture_buffer_mb: int
    build: str
    build_commit: str


class HostCore:
    def __init__(self, era: Era, settings: HostSettings) -> None:
        self.era = era
        self.traits: EraTraits = traits_for(era)
        self.settings = settings
        self.hardware = pick_hardware(settings.seed, settings.gpus)
        self.fingerprint = f"b{settings.build}-{settings.build_commit}"
        self.rng = random.Random(f"host:{settings.seed}")
        self.started_ns = time.time_ns()
        self.served = 0
        self.prefilling = 0
        self.decoding = 0
        self.net_recv = 0
        self.net_sent = 0
        self._task_id = 0
        self.prompt_cache: dict[str, str] = {}
        self.activity = self._new_activity()
        self.captures = CaptureBuffer(settings.capture_buffer_mb)
        self.logs = LogHub(self.rng, [m.id for m in settings.models])
        self.perf_ring = PerfRing(settings.perf_every_s) if self.traits.performance else None
        self.perf_synth = PerfSynth(self.hardware, settings.seed, settings.perf_every_s)
        self.bus = EventBus(self.traits, self._on_sse_drop)
        self.log_streams: set[LogStreamSubscriber] = set()
        self._log_unsubscribe: list[Callable[[], None]] = []
        self.inflight = InflightTracker(self.traits.inflight_shape)
        self.procs = self._new_processes()
        self._background: set[asyncio.Task[Any]] = set()

    # ------------------------------------------------------------------ construction

    def _new_activity(self) -> ActivityLog:
        return ActivityLog(store=self.traits.activity_store,
                           max_in_memory=self.settings.metrics_max_in_memory,
                           persistent=self.settings.persistent_store)

    def _new_processes(self) -> ProcessTable:
        return ProcessTable(self.settings.models, on_transition=self._on_transition,
                            on_output=self._on_process_output, banner=self._banner,
                            clock=time.monotonic)

    def _banner(self, proc: ModelProcess) -> list[str]:
        return startup_banner(proc.model, proc.port, self.hardware, build=self.settings.build,
                              commit=self.settings.build_commit)

    def spawn(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """A background task the host owns (cancelled by `cancel_background`)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def cancel_background(self) -> None:
        tasks = list(self._background)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # ------------------------------------------------------------------ state changes

    def _on_transition(self, proc: ModelProcess, old: ProcState, new: ProcState) -> None:
        model = proc.model
        if new is ProcState.STARTING:
            cmd = " ".join(launch_cmd(model, proc.port).split())
            self.logs.log("INFO", f"<{model.id}> Executing start command: {cmd}, env: []")
        elif new is ProcState.READY:
            self.logs.log("INFO", f"<{model.id}> Health check passed on "
                                  f"http://localhost:{proc.port}/health")
        elif new is ProcState.STOPPING:
            self.logs.log("INFO", f"<{model.id}> Stopping process, current state: {old.value}")
            self.logs.upstream_text(model.id, "srv    operator(): operator(): cleaning up "
                                              "before exit...\n")
        elif new is ProcState.STOPPED and old is ProcState.STARTING:
            self.logs.log("WARN", f"<{model.id}> start aborted, process stopped")
        elif new is ProcState.STOPPED:
            self.logs.log("INFO", f"<{model.id}> Process stopped")
        self.bus.publish("modelStatus", model_status(self.traits, self.procs_iter()))

    def _on_process_output(self, proc: ModelProcess, lines: list[str]) -> None:
        self.logs.upstream_text(proc.model.id, "".join(lines))

    def procs_iter(self) -> list[ModelProcess]:
        return list(self.procs.procs.values())

    def _on_sse_drop(self, subscriber: SseSubscriber) -> None:
        if not self.traits.gin:  # the gin era dropped silently (§2.3)
            self.logs.log("WARN", "handleAPIEvents sendBuffer full, dropped message")

    def current_load(self) -> Load:
        return Load(self.prefilling, self.decoding, self.procs.loaded_vram_mb(), self.net_recv,
                    self.net_sent)

    # ------------------------------------------------------------------ SSE

    def open_events(self) -> SseSubscriber:
        """A new `/api/events` connection with the era's on-connect frames (§2.2)."""
        now_ns = time.time_ns()
        frames = [
            sse_frame("logData", go_map({"data": self.logs.proxy.history(), "source": "proxy"})),
            sse_frame("logData", go_map({"data": self.logs.upstream.history(),
                                         "source": "upstream"})),
            sse_frame("modelStatus", model_status(self.traits, self.procs_iter())),
        ]
        if self.traits.metrics_stream and len(self.activity):
            frames.append(sse_frame("metrics", [self.render_row(r.id, r.done)
                                                for r in self.activity.rows()]))
        if self.traits.ui_config:
            frames.append(sse_frame("uiConfig", {"activity": {
                "session_id": ["X-Session-ID", "X-Litellm-Session-Id"]}}))
        if self.traits.profiles:
            frames.append(sse_frame("profileChanged", {"active": None}))
        frames.append(sse_frame("inflight", self.inflight.on_connect(now_ns)))
        first = not self.bus.active
        subscriber = self.bus.open(frames)
        if first:
            for source, monitor in (("proxy", self.logs.proxy), ("upstream", self.logs.upstream)):
                self._log_unsubscribe.append(monitor.subscribe(self._log_forwarder(source)))
        return subscriber

    def _log_forwarder(self, source: str) -> Callable[[str], None]:
        def forward(chunk: str) -> None:
            self.bus.publish("logData", go_map({"data": chunk, "source": source}))
        return forward

    def close_events(self, subscriber: SseSubscriber) -> None:
        self.bus.leave(subscriber)
        if not self.bus.active:
            for unsubscribe in self._log_unsubscribe:
                unsubscribe()
            self._log_unsubscribe.clear()

    # ------------------------------------------------------------------ requests

    def next_task_id(self) -> int:
        self._task_id += 1
        return self._task_id

    def begin(self, *, model: str, req_path: str, method: str, req_headers: dict[str, str],
              remote_ip: str) -> InflightEntry:
        now_ns = time.time_ns()
        entry = self.inflight.add(now_ns=now_ns, model=model, req_path=req_path, method=method,
                                  req_headers=req_headers, remote_ip=remote_ip)
        entry.task = asyncio.current_task()
        payload = self.inflight.on_upsert(entry, now_ns, started=True)
        if payload is not None:
            self.bus.publish("inflight", payload)
        return entry

    def responding(self, entry: InflightEntry, resp_headers: dict[str, str]) -> None:
        entry.resp_headers = resp_headers
        now_ns = time.time_ns()
        entry.last_progress_ns = now_ns
        payload = self.inflight.on_upsert(entry, now_ns, started=False)
        if payload is not None:
            self.bus.publish("inflight", payload)

    def progress(self, entry: InflightEntry, nbytes: int) -> None:
        entry.resp_bytes += nbytes
        self.net_sent += nbytes
        now_ns = time.time_ns()
        if now_ns - entry.last_progress_ns >= PROGRESS_EVERY_NS:
            entry.last_progress_ns = now_ns
            payload = self.inflight.on_upsert(entry, now_ns, started=False)
            if payload is not None:
                self.bus.publish("inflight", payload)

    def finish(self, entry: InflightEntry, done: Completed, capture: CaptureParts | None, *,
               access: tuple[str, int, str] | None = None) -> int | None:
        """End a request: inflight remove, logs, then the record if the era keeps it.

        `access` = (user agent, response bytes, remote ip) for requests that did not come
        through the HTTP edge, which writes its own access-log line.
        """
        self.inflight.remove(entry)
        self.bus.publish("inflight", self.inflight.on_remove(entry, time.time_ns()))
        self.served += 1
        if access is not None:
            user_agent, size, remote_ip = access
            wall_ns = max(0, done.finished_ns - entry.started_ns)
            self.logs.log("INFO", f'Request {remote_ip} "POST {done.req_path} HTTP/1.1" '
                                  f'{done.status} {size} "{user_agent}" {go_duration(wall_ns)}')
        if not is_recorded(self.traits, done.status):
            return None
        row = self.activity.add(done)
        if capture is not None and self.captures.enabled:
            self.captures.add(Capture(row.id, done.req_path, capture.req_headers,
                                      capture.req_body, capture.resp_headers, capture.resp_body,
                                      capture.size))
        if self.traits.metrics_stream:
            self.bus.publish("metrics", [self.render_row(row.id, done)])
        elif self.traits.activity_store:
            self.bus.publish("activity", {"id": row.id})
        return row.id

    def engine_log(self, model_id: str, text: str) -> None:
        self.logs.upstream_text(model_id, text)

    def request_log(self, model_id: str, timings: Timings | None, error: str = "") -> None:
        task = self.next_task_id()
        if error:
            self.engine_log(model_id, request_failure_line(task, error))
        elif timings is not None:
            self.engine_log(model_id, request_lines(task, task % 4, timings))

    def render_row(self, record_id: int, done: Completed) -> dict[str, Any]:
        return render_record(self.traits, record_id, done, has_capture=record_id in self.captures,
                             whole_seconds=self.traits.activity_store)

    # ------------------------------------------------------------------ new server

    def cancel_requests(self) -> None:
        for entry in list(self.inflight.entries.values()):
            entry.cancel_reason = "server"
            if entry.task is not None and entry.task is not asyncio.current_task():
                entry.task.cancel()

    def new_server(self, *, restart: bool) -> None:
        """State a fresh llama-swap server starts with (§12): restart = new OS process;
        otherwise a config reload inside the same process."""
        self.procs.shutdown()
        self.cancel_requests()
        self.close_streams(abort=restart)
        self.procs = self._new_processes()
        self.inflight = InflightTracker(self.traits.inflight_shape)
        self.captures.clear()
        self.prompt_cache.clear()
        keep_activity = (self.traits.activity_store and self.settings.persistent_store
                         if restart else self.traits.reload_keeps_activity)
        if not keep_activity:
            self.activity = self._new_activity()
        if restart or not self.traits.reload_keeps_logs:
            self.logs.clear()
        if restart and self.perf_ring is not None:
            self.perf_ring.clear()

    def close_streams(self, *, abort: bool) -> None:
        """End every `/api/events` and `/logs/stream` response (abort = drop the connection)."""
        self.bus.close_all(abort=abort)
        for unsubscribe in self._log_unsubscribe:
            unsubscribe()
        self._log_unsubscribe.clear()
        for subscriber in list(self.log_streams):
            subscriber.close(abort=abort)
        self.log_streams.clear()
