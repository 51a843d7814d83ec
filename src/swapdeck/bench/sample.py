"""One benchmark request as stored: raw observations plus the metrics derived from them.

Derivations are pure and follow bench-facts §1.1; `tg_norm` is computed the same way for
every llama.cpp build (§2.3): `1000 * (predicted_n - 1) / predicted_ms`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from swapdeck.bench.stream import StreamObservation


@dataclass(frozen=True, slots=True)
class RequestSample:
    cell: str
    prompt_tokens_target: int
    gen_tokens_target: int
    concurrency: int
    index: int
    """Position within the cell (warmups first, counted from 0)."""
    warmup: bool
    started_at: float
    """Wall-clock send time (unix seconds), for ordering and display."""
    status: int | None
    error: str | None
    ttfr_ms: float | None
    ttft_ms: float | None
    ttfo_ms: float | None
    e2e_ms: float | None
    tpot_ms: float | None
    itl_ms: tuple[float, ...]
    n_in: int | None
    n_out: int | None
    tg_client: float | None
    """Client decode t/s: tokens after the first chunk / (last token − first token)."""
    cache_n: int | None
    prompt_n: int | None
    prompt_ms: float | None
    predicted_n: int | None
    predicted_ms: float | None
    tg_norm: float | None
    pp_server: float | None
    finish_reason: str | None
    fingerprint: str | None
    client_cpu_ms: float
    """CPU time swapdeck spent parsing this response (`time.process_time`)."""
    timings: dict[str, Any] | None = field(default=None, compare=False)

    @property
    def ok(self) -> bool:
        return self.error is None and self.status == 200

    @property
    def cache_hit(self) -> bool:
        return self.cache_n is not None and self.cache_n > 0

    @property
    def cpu_per_token_ms(self) -> float | None:
        return self.client_cpu_ms / self.n_out if self.n_out else None

    def metric(self, name: str) -> float | None:
        value = getattr(self, name)
        return float(value) if isinstance(value, int | float) else None


def _number(mapping: dict[str, Any] | None, key: str) -> float | None:
    if mapping is None:
        return None
    value = mapping.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _count(mapping: dict[str, Any] | None, key: str) -> int | None:
    value = _number(mapping, key)
    return int(value) if value is not None else None


def tg_norm(predicted_n: int | None, predicted_ms: float | None) -> float | None:
    """Server decode t/s with one formula for every build: decode steps over decode time."""
    if predicted_n is None or predicted_ms is None or predicted_n < 2 or predicted_ms <= 0:
        return None
    return 1000.0 * (predicted_n - 1) / predicted_ms


def cached_tokens(timings: dict[str, Any] | None, usage: dict[str, Any] | None) -> int | None:
    """`timings.cache_n`, else `usage.prompt_tokens_details.cached_tokens`, else unknown."""
    cache_n = _count(timings, "cache_n")
    if cache_n is not None:
        return cache_n
    details = usage.get("prompt_tokens_details") if usage else None
    return _count(details, "cached_tokens") if isinstance(details, dict) else None


@dataclass(frozen=True, slots=True)
class RequestContext:
    cell: str
    prompt_tokens_target: int
    gen_tokens_target: int
    concurrency: int
    index: int
    warmup: bool
    started_at: float


def build_sample(ctx: RequestContext, *, sent_at: float, seen: StreamObservation,
                 status: int | None, error: str | None, client_cpu_ms: float) -> RequestSample:
    """Turn what the stream said (perf_counter times) into a stored sample (milliseconds)."""

    def since_send(at: float | None) -> float | None:
        return None if at is None else (at - sent_at) * 1e3

    times = seen.token_chunk_times
    itl = tuple((b - a) * 1e3 for a, b in itertools.pairwise(times))
    timings, usage = seen.timings, seen.usage
    predicted_n = _count(timings, "predicted_n")
    n_out = _count(usage, "completion_tokens")
    if n_out is None:
        n_out = predicted_n if predicted_n is not None else (seen.token_chunks or None)
    n_in = _count(usage, "prompt_tokens")
    prompt_n = _count(timings, "prompt_n")
    cache_n = cached_tokens(timings, usage)
    if n_in is None and prompt_n is not None:
        n_in = prompt_n + (cache_n or 0)
    ttft = since_send(seen.first_token_at)
    e2e = since_send(times[-1]) if times else None
    tpot = None
    if ttft is not None and e2e is not None and n_out is not None and n_out > 1:
        tpot = (e2e - ttft) / (n_out - 1)
    tg_client = None
    after_first = (n_out or 0) - seen.first_chunk_tokens
    if len(times) > 1 and after_first > 0 and times[-1] > times[0]:
        tg_client = after_first / (times[-1] - times[0])
    if error is None and status == 200 and seen.first_token_at is None:
        error = "stream ended without a token"
    if error is None and status == 200 and not seen.done and seen.finish_reason is None:
        error = "stream cut before it finished"
    return RequestSample(
        cell=ctx.cell, prompt_tokens_target=ctx.prompt_tokens_target,
        gen_tokens_target=ctx.gen_tokens_target, concurrency=ctx.concurrency, index=ctx.index,
        warmup=ctx.warmup, started_at=ctx.started_at, status=status, error=error,
        ttfr_ms=since_send(seen.first_choice_at), ttft_ms=ttft,
        ttfo_ms=since_send(seen.first_output_at), e2e_ms=e2e, tpot_ms=tpot, itl_ms=itl,
        n_in=n_in, n_out=n_out, tg_client=tg_client, cache_n=cache_n, prompt_n=prompt_n,
        prompt_ms=_number(timings, "prompt_ms"), predicted_n=predicted_n,
        predicted_ms=_number(timings, "predicted_ms"),
        tg_norm=tg_norm(predicted_n, _number(timings, "predicted_ms")),
        pp_server=_number(timings, "prompt_per_second"), finish_reason=seen.finish_reason,
        fingerprint=seen.fingerprint, client_cpu_ms=client_cpu_ms, timings=timings)


def failed_sample(ctx: RequestContext, *, status: int | None, error: str,
                  client_cpu_ms: float = 0.0) -> RequestSample:
    """A request that never produced a stream (refused, 5xx, timeout)."""
    return build_sample(ctx, sent_at=0.0, seen=StreamObservation(), status=status, error=error,
                        client_cpu_ms=client_cpu_ms)
