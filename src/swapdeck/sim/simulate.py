"""Requests from simulated clients: the whole proxied lifecycle without any HTTP.

Used by `SimHost.serve_request` and the traffic generator. A request sleeps through its
prefill and its decode in one step each (no per-token wake-ups), so a process can drive many
hosts at tens of requests per second; the bodies are rendered only if a capture is read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus

from swapdeck.sim.captures import flatten_headers
from swapdeck.sim.completion import (
    CompletionPlan,
    prompt_text,
    render_embeddings,
    render_json,
    render_stream,
    request_body,
    token_texts,
)
from swapdeck.sim.core import CaptureParts, HostCore
from swapdeck.sim.faults import NO_FAULTS
from swapdeck.sim.inflight import InflightEntry
from swapdeck.sim.process import LoadAborted, ModelProcess
from swapdeck.sim.records import (
    FAILED_TOKENS,
    Completed,
    TokenCounts,
    duration_ms,
    tokens_from_timings,
    tokens_from_usage,
)
from swapdeck.sim.timings import Timings, plan_timings, speed_factor
from swapdeck.sim.wire import upstream_error_body

UPSTREAM_ERRORS = {
    400: "the request exceeds the available context size, try increasing it",
    500: "failed to decode the batch, n_batch = 2048, ret = -3",
    503: "Loading model",
}
CANCELLED_MESSAGE = "context canceled"


def upstream_error_message(status: int) -> str:
    """What llama-server says for a failure; llama-swap copies it into `error_msg` (§3.1)."""
    if status in UPSTREAM_ERRORS:
        return UPSTREAM_ERRORS[status]
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} upstream error"


@dataclass(frozen=True, slots=True)
class Outcome:
    completed: Completed
    capture: CaptureParts
    resp_size: int


@dataclass(frozen=True, slots=True)
class SimulatedRequest:
    model: str
    path: str
    prompt_tokens: int
    output_tokens: int
    cached_tokens: int
    status: int
    remote_ip: str
    user_agent: str


async def run_simulated(core: HostCore, request: SimulatedRequest) -> int | None:
    """Serve one request end to end; the activity id, or None when the era does not record it."""
    proc = core.procs.resolve(request.model)
    if proc is None:
        raise ValueError(f"host {core.settings.name}: unknown model {request.model!r}")
    if not request.path.startswith("/"):
        raise ValueError(f"path must start with '/', got {request.path!r}")
    offered = {"Content-Type": "application/json", "User-Agent": request.user_agent}
    if core.settings.api_key:
        offered["Authorization"] = f"Bearer {core.settings.api_key}"
    req_headers = flatten_headers(offered)
    entry = core.begin(model=proc.model.id, req_path=request.path, method="POST",
                       req_headers=req_headers, remote_ip=request.remote_ip)
    started = time.monotonic()
    seed = core.rng.getrandbits(32)
    core.net_recv += request.prompt_tokens * 4 + 120
    try:
        outcome = await _acquire_and_run(core, proc, entry, request, req_headers, started, seed)
    except asyncio.CancelledError:
        if not entry.cancel_reason:
            raise
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
        if entry.cancel_reason == "server":  # the server that knew it is gone (§12)
            core.served += 1
            return None
        outcome = _failure(proc, request, req_headers, started, 502, CANCELLED_MESSAGE, seed)
    access = (request.user_agent, outcome.resp_size, request.remote_ip)
    return core.finish(entry, outcome.completed, outcome.capture, access=access)


async def _acquire_and_run(core: HostCore, proc: ModelProcess, entry: InflightEntry,
                           request: SimulatedRequest, req_headers: dict[str, str],
                           started: float, seed: int) -> Outcome:
    try:
        await core.procs.acquire(proc)
    except LoadAborted as exc:
        return _failure(proc, request, req_headers, started, 502, str(exc), seed)
    try:
        return await _upstream(core, proc, entry, request, req_headers, started, seed)
    finally:
        core.procs.release(proc)


async def _upstream(core: HostCore, proc: ModelProcess, entry: InflightEntry,
                    request: SimulatedRequest, req_headers: dict[str, str],
                    started: float, seed: int) -> Outcome:
    model = proc.model
    embedding = model.is_embedding or request.path.endswith("/embeddings")
    timings = plan_timings(model, prompt_tokens=request.prompt_tokens,
                           cached_tokens=0 if embedding else request.cached_tokens,
                           output_tokens=0 if embedding else request.output_tokens,
                           speed=speed_factor(model, seed, proc.in_flight))
    if request.status != 200:
        await asyncio.sleep(min(timings.prompt_ms / 1e3, 0.05))
        message = upstream_error_message(request.status)
        core.request_log(model.id, None, message)
        return _failure(proc, request, req_headers, started, request.status, message, seed)
    core.prefilling += 1
    try:
        await asyncio.sleep(timings.prompt_ms / 1e3)
    finally:
        core.prefilling -= 1
    stream = request.path.endswith("/chat/completions") and not embedding
    content_type = "text/event-stream" if stream else "application/json"
    core.responding(entry, {"Content-Type": content_type})
    if embedding:
        size = 200 + 16 * 12
        core.progress(entry, size)
        tokens = tokens_from_usage(request.prompt_tokens, 0)
        body: Callable[[], bytes | None] = lambda: render_embeddings(  # noqa: E731
            model.id, 1, request.prompt_tokens, seed)
        return _success(proc, request, req_headers, started, content_type, tokens, None, body,
                        size, seed)
    core.decoding += 1
    try:
        await asyncio.sleep(timings.predicted_ms / 1e3)
    finally:
        core.decoding -= 1
    size = 420 + request.output_tokens * (175 if stream else 6)
    core.progress(entry, size)
    core.request_log(model.id, timings)
    plan_args = (core, model.id, request.path, timings, seed)
    body = lambda: _render_completion(*plan_args, stream=stream)  # noqa: E731
    return _success(proc, request, req_headers, started, content_type,
                    tokens_from_timings(timings), timings, body, size, seed)


def _render_completion(core: HostCore, model_id: str, path: str, timings: Timings, seed: int, *,
                       stream: bool) -> bytes:
    plan = CompletionPlan(
        kind="chat" if path.endswith("/chat/completions") else "text",
        completion_id=f"chatcmpl-{seed:08x}", created=int(time.time()), model=model_id,
        fingerprint=core.fingerprint, pieces=tuple(token_texts(seed, timings.predicted_n)),
        timings=timings, finish_reason="stop", faults=NO_FAULTS)
    return render_stream(plan, 1) if stream else render_json(plan)


def _request_capture(request: SimulatedRequest, seed: int) -> Callable[[], bytes | None]:
    return lambda: request_body(request.model, request.path,
                                prompt_text(seed, request.prompt_tokens),
                                max_tokens=request.output_tokens,
                                stream=request.path.endswith("/chat/completions"))


def _estimated_capture_size(request: SimulatedRequest, resp_size: int) -> int:
    """Roughly the zstd-compressed size of both bodies (text compresses ~3:1)."""
    return (request.prompt_tokens * 4 + resp_size) // 3 + 200


def _success(proc: ModelProcess, request: SimulatedRequest, req_headers: dict[str, str],
             started: float, content_type: str, tokens: TokenCounts, timings: Timings | None,
             body: Callable[[], bytes | None], size: int, seed: int) -> Outcome:
    wall_ms = (time.monotonic() - started) * 1e3
    done = Completed(proc.model.id, request.path, 200, content_type, time.time_ns(),
                     duration_ms(wall_ms, timings), tokens)
    capture = CaptureParts(req_headers, _request_capture(request, seed),
                           {"Content-Type": content_type}, body,
                           _estimated_capture_size(request, size))
    return Outcome(done, capture, size)


def _failure(proc: ModelProcess, request: SimulatedRequest, req_headers: dict[str, str],
             started: float, status: int, message: str, seed: int) -> Outcome:
    """Non-200: token fields 0, the upstream message, and a request-only capture (§1.10)."""
    wall_ms = (time.monotonic() - started) * 1e3
    done = Completed(proc.model.id, request.path, status, "application/json", time.time_ns(),
                     int(wall_ms), FAILED_TOKENS, message)
    capture = CaptureParts(req_headers, _request_capture(request, seed), None,
                           lambda: None, _estimated_capture_size(request, 0))
    return Outcome(done, capture, len(upstream_error_body(status, message)))
