"""Sending one streamed chat completion and timing it (bench-facts §1.1, §9).

The body is encoded before the clock starts; the clock starts right before the POST
(`t_send`, vLLM's `start_time`, taken after the concurrency semaphore); each network read is
timestamped when it arrives, and the CPU time spent parsing it is added to the request's
client cost, so a slow client shows up in the data instead of in the latencies.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import httpx

from swapdeck.bench.sample import RequestContext, RequestSample, build_sample, failed_sample
from swapdeck.bench.stream import StreamReader

ERROR_BODY_LIMIT = 300


@dataclass(frozen=True, slots=True)
class ChatSettings:
    model: str
    max_tokens: int
    temperature: float
    seed: int
    cache_prompt: bool


def chat_body(settings: ChatSettings, prompt: str) -> dict[str, Any]:
    """A request whose generation length is fixed: `ignore_eos` + `max_tokens`/`n_predict`."""
    return {
        "model": settings.model,
        "messages": [{"role": "user", "content": prompt}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": settings.max_tokens,
        "n_predict": settings.max_tokens,
        "ignore_eos": True,
        "temperature": settings.temperature,
        "seed": settings.seed,
        "cache_prompt": settings.cache_prompt,
    }


def error_message(status: int, body: bytes) -> str:
    """One line from an error body: `error.message`, a plain `message`, or the raw text."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        decoded = json.loads(text)
    except ValueError:
        decoded = None
    if isinstance(decoded, dict):
        inner = decoded.get("error")
        if isinstance(inner, dict) and inner.get("message"):
            text = str(inner["message"])
        elif isinstance(inner, str):
            text = inner
        elif decoded.get("message"):
            text = str(decoded["message"])
    text = " ".join(text.split())[:ERROR_BODY_LIMIT]
    return f"HTTP {status}: {text}" if text else f"HTTP {status}"


async def send_chat(client: httpx.AsyncClient, path: str, body: dict[str, Any],
                    ctx: RequestContext, *, headers: dict[str, str],
                    timeout_s: float) -> RequestSample:
    """One timed request; a kept-alive connection the server had already closed is retried
    once on a fresh one (the server never saw that attempt: nothing came back on it)."""
    payload = json.dumps(body).encode()
    for attempt in range(2):
        try:
            return await _send_once(client, path, payload, ctx, headers=headers,
                                    timeout_s=timeout_s, stale_is_error=attempt == 1)
        except _StaleConnection:
            continue
    raise AssertionError("unreachable: the second attempt never raises _StaleConnection")


class _StaleConnection(Exception):
    """The server closed a kept-alive connection before answering anything on it."""


async def _send_once(client: httpx.AsyncClient, path: str, payload: bytes,
                     ctx: RequestContext, *, headers: dict[str, str], timeout_s: float,
                     stale_is_error: bool) -> RequestSample:
    send_headers = {**headers, "Content-Type": "application/json",
                    "Accept": "text/event-stream"}
    timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0))
    reader = StreamReader()
    cpu_s = 0.0
    status: int | None = None
    sent_at = time.perf_counter()
    try:
        async with client.stream("POST", path, content=payload, headers=send_headers,
                                 timeout=timeout) as response:
            status = response.status_code
            if status != 200:
                raw = await response.aread()
                return failed_sample(ctx, status=status, error=error_message(status, raw))
            async for chunk in response.aiter_bytes():
                at = time.perf_counter()
                cpu_before = time.process_time()
                reader.feed(chunk, at)
                cpu_s += time.process_time() - cpu_before
    except httpx.TimeoutException:
        return _partial(ctx, reader, sent_at, status, cpu_s,
                        f"timed out after {timeout_s:g} s")
    except httpx.RemoteProtocolError as exc:
        if status is None and not stale_is_error:
            raise _StaleConnection from None
        return _partial(ctx, reader, sent_at, status, cpu_s, f"connection failed: {exc}")
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        return _partial(ctx, reader, sent_at, status, cpu_s, f"connection failed: {reason}")
    cpu_before = time.process_time()
    seen = reader.close(time.perf_counter())
    cpu_s += time.process_time() - cpu_before
    return build_sample(ctx, sent_at=sent_at, seen=seen, status=status,
                        error=seen.error, client_cpu_ms=cpu_s * 1e3)


def _partial(ctx: RequestContext, reader: StreamReader, sent_at: float, status: int | None,
             cpu_s: float, error: str) -> RequestSample:
    """A stream that broke: keep what arrived (TTFT may be real), but the request failed."""
    seen = reader.close(time.perf_counter())
    return build_sample(ctx, sent_at=sent_at, seen=seen, status=status, error=error,
                        client_cpu_ms=cpu_s * 1e3)
