"""Model-dispatched inference over real HTTP (§1.1): chat/text completions and embeddings.

Streams are paced at the model's prefill and decode rates, sleeping per chunk; above ~50 tokens
per second several tokens share a chunk so a fast model does not cost a wake-up per token.
`X-Sim-Fault` (faults.py) bends a response into a bench edge case.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Any

from aiohttp import web

from swapdeck.sim.captures import flatten_headers
from swapdeck.sim.completion import (
    CompletionPlan,
    Kind,
    chunk_groups,
    content_chunk,
    estimate_prompt_tokens,
    final_chunks,
    render_embeddings,
    render_json,
    role_chunk,
    token_texts,
)
from swapdeck.sim.core import CaptureParts, HostCore
from swapdeck.sim.faults import FAULT_HEADER, Faults, parse_faults
from swapdeck.sim.inflight import InflightEntry
from swapdeck.sim.process import LoadAborted, ModelProcess
from swapdeck.sim.records import (
    FAILED_TOKENS,
    Completed,
    TokenCounts,
    tokens_from_timings,
    tokens_from_usage,
)
from swapdeck.sim.server import Route, route, to_response
from swapdeck.sim.simulate import CANCELLED_MESSAGE, upstream_error_message
from swapdeck.sim.timings import plan_timings, speed_factor
from swapdeck.sim.wire import error_reply, upstream_error_body

CHUNK_INTERVAL_S = 0.02
PATH_KINDS: dict[str, Kind | None] = {"/v1/chat/completions": "chat", "/v1/completions": "text",
                                      "/completion": "text", "/v1/embeddings": None}
"""The inference the simulated llama-server answers."""
VERSIONLESS = {"/v/chat/completions": "/v1/chat/completions",
               "/v/completions": "/v1/completions", "/v/embeddings": "/v1/embeddings"}
"""§1.1: llama-swap strips the `/v`; the request is recorded under the path it came on."""
UNSIMULATED = (
    "/v1/responses", "/v1/messages", "/v1/messages/count_tokens", "/reranking", "/rerank",
    "/v1/rerank", "/v1/reranking", "/infill", "/v1/audio/speech", "/v1/audio/voices",
    "/v1/images/generations", "/sdapi/v1/txt2img", "/sdapi/v1/img2img",
    "/audioapi/v1/tasks/run", "/v/responses", "/v/messages", "/v/messages/count_tokens",
    "/v/rerank", "/v/reranking",
)
"""The rest of §1.1's JSON POST routes. llama-swap routes them like any inference (model
from the body, load, in-flight, a record); the simulated upstream has no such endpoint and
answers llama-server's 404, which llama-swap passes through and records (§3.1)."""
UPSTREAM_MISSING = "File Not Found"


def _texts(body: dict[str, Any]) -> list[str]:
    if isinstance(body.get("messages"), list):
        return [str(m.get("content", "")) for m in body["messages"] if isinstance(m, dict)]
    for key in ("prompt", "input"):
        value = body.get(key)
        if isinstance(value, str):
            return [value]
        if isinstance(value, list):
            return [str(v) for v in value]
    return [""]


def _output_tokens(body: dict[str, Any], rng: random.Random) -> tuple[int, str]:
    """How many tokens the model generates and why it stops."""
    natural = rng.randint(48, 320)
    limit = next((body[k] for k in ("max_tokens", "max_completion_tokens", "n_predict")
                  if isinstance(body.get(k), int) and body[k] >= 0), None)
    if limit is None:
        return natural, "stop"
    if body.get("ignore_eos") is True or limit < natural:
        return limit, "length"
    return natural, "stop"


def _cached_tokens(core: HostCore, model_id: str, prompt: str, enabled: bool) -> int:
    """llama-server reuses the longest common prefix with the slot's previous prompt."""
    previous = core.prompt_cache.get(model_id, "")
    core.prompt_cache[model_id] = prompt
    if not enabled:
        return 0
    common = 0
    for a, b in zip(previous, prompt, strict=False):
        if a != b:
            break
        common += 1
    return common // 4


def _error(core: HostCore, request: web.Request, status: int, message: str) -> web.Response:
    return to_response(error_reply(core.traits, status, message, request.headers.get("Accept", "")))


async def inference(core: HostCore, request: web.Request, params: dict[str, str], *,
                    req_path: str | None = None, model_name: str | None = None,
                    ) -> web.StreamResponse:
    path = req_path or request.path
    raw = await request.read()
    core.net_recv += len(raw)
    try:
        decoded = json.loads(raw) if raw else None
    except ValueError:
        decoded = None
    body: dict[str, Any] = decoded if isinstance(decoded, dict) else {}
    name = model_name or body.get("model")
    if not isinstance(name, str) or not name:
        return _error(core, request, 404, "no model id could be identified")
    proc = core.procs.resolve(name)
    if proc is None:
        return _error(core, request, 404, "no router for requested model")
    faults = parse_faults(request.headers.get(FAULT_HEADER))
    if isinstance(faults, str):
        return _error(core, request, 400, faults)
    entry = core.begin(model=proc.model.id, req_path=path, method="POST",
                       req_headers=flatten_headers(request.headers),
                       remote_ip=request.headers.get("X-Forwarded-For") or request.remote or "")
    exchange = _Exchange(core, request, proc, entry, path, body, raw, faults)
    try:
        return await exchange.run()
    except asyncio.CancelledError:
        # Cut by /api/inflight/{id}/cancel, the client leaving, or the server going away.
        if entry.cancel_reason == "server":
            core.served += 1
        elif exchange.response is not None:  # 200 already sent: a body without usage (§3.1)
            exchange.record(200, FAILED_TOKENS, 0.0)
        else:
            exchange.record_failure(502, CANCELLED_MESSAGE)
        if entry.cancel_reason != "api":
            raise
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
        if exchange.response is not None and request.transport is not None:
            request.transport.close()
            return exchange.response
        return _error(core, request, 502, CANCELLED_MESSAGE)


class _Exchange:
    """One proxied inference request from acquire to record."""

    def __init__(self, core: HostCore, request: web.Request, proc: ModelProcess,
                 entry: InflightEntry, path: str, body: dict[str, Any], raw: bytes,
                 faults: Faults) -> None:
        self.core, self.request, self.proc, self.entry = core, request, proc, entry
        self.path, self.body, self.raw, self.faults = path, body, raw, faults
        self.started = time.monotonic()
        self.response: web.StreamResponse | None = None
        self.written: list[bytes] = []
        self.content_type = "application/json"
        self.recorded = False

    def record(self, status: int, tokens: TokenCounts, server_ms: float, error: str = "") -> None:
        if self.recorded:
            return
        self.recorded = True
        wall_ms = (time.monotonic() - self.started) * 1e3
        done = Completed(self.proc.model.id, self.path, status, self.content_type, time.time_ns(),
                         int(max(wall_ms, server_ms)), tokens, error)
        body = b"".join(self.written) if status == 200 else None
        capture = CaptureParts(flatten_headers(self.request.headers), lambda: self.raw,
                               {"Content-Type": self.content_type} if body is not None else None,
                               lambda: body, (len(self.raw) + len(body or b"")) // 3 + 200)
        self.core.finish(self.entry, done, capture)

    def record_failure(self, status: int, message: str) -> None:
        self.record(status, FAILED_TOKENS, 0.0, message)

    async def run(self) -> web.StreamResponse:
        try:
            await self.core.procs.acquire(self.proc)
        except LoadAborted as exc:
            self.record_failure(502, str(exc))
            return _error(self.core, self.request, 502, str(exc))
        try:
            return await self._upstream()
        finally:
            self.core.procs.release(self.proc)

    async def _upstream(self) -> web.StreamResponse:
        if self.path in UNSIMULATED:
            self.record_failure(404, UPSTREAM_MISSING)
            return web.Response(status=404, body=upstream_error_body(404, UPSTREAM_MISSING),
                                content_type="application/json")
        core, model, body = self.core, self.proc.model, self.body
        rng = random.Random(core.rng.getrandbits(32))
        texts = _texts(body)
        prompt_tokens = estimate_prompt_tokens(texts)
        kind = PATH_KINDS.get(VERSIONLESS.get(self.path, self.path), "chat")
        embedding = kind is None or model.is_embedding
        output, finish = (0, "stop") if embedding else _output_tokens(body, rng)
        cached = 0 if embedding else _cached_tokens(core, model.id, "\n".join(texts),
                                                    body.get("cache_prompt", True) is not False)
        timings = plan_timings(model, prompt_tokens=prompt_tokens, cached_tokens=cached,
                               output_tokens=output,
                               speed=speed_factor(model, rng.getrandbits(32),
                                                  self.proc.in_flight))
        if self.faults.status != 200:
            await asyncio.sleep(min(timings.prompt_ms / 1e3, 0.05))
            message = upstream_error_message(self.faults.status)
            core.request_log(model.id, None, message)
            payload = upstream_error_body(self.faults.status, message)
            self.record_failure(self.faults.status, message)
            return web.Response(status=self.faults.status, body=payload,
                                content_type="application/json")
        core.prefilling += 1
        try:
            await asyncio.sleep(timings.prompt_ms / 1e3)
        finally:
            core.prefilling -= 1
        if embedding:
            payload = render_embeddings(model.id, len(texts), prompt_tokens, rng.getrandbits(32))
            return self._whole(payload, tokens_from_usage(prompt_tokens, 0), timings.prompt_ms)
        plan = CompletionPlan(kind or "chat", f"chatcmpl-{rng.getrandbits(64):016x}",
                              int(time.time()), model.id, core.fingerprint,
                              tuple(token_texts(rng.getrandbits(32), output)), timings, finish,
                              self.faults)
        usage_only = self.faults.usage_only_final
        tokens = (tokens_from_usage(prompt_tokens, output) if usage_only
                  else tokens_from_timings(timings))
        server_ms = 0.0 if usage_only else timings.prompt_ms + timings.predicted_ms
        core.decoding += 1
        try:
            if body.get("stream") is True:
                return await self._stream(plan, tokens, server_ms)
            await asyncio.sleep(timings.predicted_ms / 1e3)
            core.request_log(model.id, timings)
            return self._whole(render_json(plan), tokens, server_ms)
        finally:
            core.decoding -= 1

    def _whole(self, payload: bytes, tokens: TokenCounts, server_ms: float) -> web.Response:
        self.core.responding(self.entry, {"Content-Type": self.content_type})
        self.core.progress(self.entry, len(payload))
        self.written.append(payload)
        self.record(200, tokens, server_ms)
        return web.Response(body=payload, content_type="application/json")

    async def _stream(self, plan: CompletionPlan, tokens: TokenCounts,
                      server_ms: float) -> web.StreamResponse:
        self.content_type = "text/event-stream"
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                               "Cache-Control": "no-cache",
                                               "Server": "llama.cpp"})
        self.response = response
        await response.prepare(self.request)
        self.core.responding(self.entry, {"Content-Type": self.content_type})
        decode_tps = self.proc.model.decode_tps
        per_chunk = max(1, round(decode_tps * CHUNK_INTERVAL_S))
        if not plan.faults.no_role_chunk:
            await self._write(response, role_chunk(plan))
        for index, (text, reasoning, count) in enumerate(chunk_groups(plan, per_chunk)):
            if plan.faults.drop_after is not None and index >= plan.faults.drop_after:
                # llama-swap saw a body without usage or timings: unparseable, all zeros (§3.1).
                self.record(200, FAILED_TOKENS, 0.0)
                if self.request.transport is not None:
                    self.request.transport.close()
                return response
            if index:
                await asyncio.sleep(count / decode_tps)
            await self._write(response, content_chunk(plan, text, reasoning=reasoning))
        await self._write(response, final_chunks(plan))
        if not plan.faults.usage_only_final:
            self.core.request_log(self.proc.model.id, plan.timings)
        self.record(200, tokens, server_ms)
        return response

    async def _write(self, response: web.StreamResponse, data: bytes) -> None:
        self.written.append(data)
        self.core.progress(self.entry, len(data))
        await response.write(data)


ROUTES: list[Route] = [
    *(route("POST", path, inference) for path in PATH_KINDS),
    *(route("POST", path, inference, lambda t: t.all_inference_routes)
      for path in (*VERSIONLESS, *UNSIMULATED)),
]
