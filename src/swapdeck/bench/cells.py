"""Per-cell summaries of a run's samples: validity, distributions, throughput and goodput.

Pure. Warmup samples never count. A cold (cache-busted) cell in which any request reused
cached prompt tokens is invalid: it is reported, never averaged in (bench-facts §0.4).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from swapdeck.bench.sample import RequestSample
from swapdeck.bench.stats import Distribution, describe
from swapdeck.bench.suite import SuiteSlo

SUMMARY_METRICS = ("ttfr_ms", "ttft_ms", "tpot_ms", "e2e_ms", "tg_norm", "tg_client",
                   "pp_server", "client_cpu_ms")
COMPARED_METRICS = ("tg_norm", "tg_client", "ttft_ms")


@dataclass(frozen=True, slots=True)
class CellSummary:
    cell: str
    prompt_tokens: int
    gen_tokens: int
    concurrency: int
    requests: int
    failed: int
    cache_hits: int
    invalid: str | None
    distributions: dict[str, Distribution]
    itl: Distribution | None
    duration_s: float | None
    output_tps: float | None
    """Σ generated tokens / wall time of the cell's measured requests (vLLM `output_throughput`)."""
    request_rate: float | None
    goodput: float | None
    """Requests per second meeting every SLO; None when the suite sets none."""
    errors: tuple[str, ...]


def group_by_cell(samples: Iterable[RequestSample]) -> dict[str, list[RequestSample]]:
    cells: dict[str, list[RequestSample]] = {}
    for sample in samples:
        cells.setdefault(sample.cell, []).append(sample)
    return cells


def invalid_reason(measured: Sequence[RequestSample], *, cache_bust: bool) -> str | None:
    ok = [s for s in measured if s.ok]
    if not measured:
        return "no measured requests"
    if not ok:
        return f"all {len(measured)} requests failed"
    hits = [s for s in ok if s.cache_hit]
    if cache_bust and hits:
        return (f"cache hit in a cold cell: {len(hits)} of {len(ok)} requests reused cached "
                f"prompt tokens (cache_n up to {max(s.cache_n or 0 for s in hits)})")
    return None


def meets_slo(sample: RequestSample, slo: SuiteSlo) -> bool:
    checks = ((slo.ttft_ms, sample.ttft_ms), (slo.tpot_ms, sample.tpot_ms),
              (slo.e2e_ms, sample.e2e_ms))
    for limit, value in checks:
        if limit is not None and (value is None or value > limit):
            return False
    return sample.ok


def summarize_cell(samples: Sequence[RequestSample], *, cache_bust: bool,
                   slo: SuiteSlo | None = None) -> CellSummary:
    first = samples[0]
    measured = [s for s in samples if not s.warmup]
    ok = [s for s in measured if s.ok]
    dists: dict[str, Distribution] = {}
    for name in SUMMARY_METRICS:
        dist = describe([v for s in ok if (v := s.metric(name)) is not None])
        if dist is not None:
            dists[name] = dist
    itl = describe([gap for s in ok for gap in s.itl_ms])
    duration = _duration_s(ok)
    output_tps = rate = goodput = None
    if duration:
        output_tps = sum(s.n_out or 0 for s in ok) / duration
        rate = len(ok) / duration
        if slo is not None and any(v is not None for v in (slo.ttft_ms, slo.tpot_ms, slo.e2e_ms)):
            goodput = sum(1 for s in ok if meets_slo(s, slo)) / duration
    errors = tuple(sorted({s.error or f"HTTP {s.status}" for s in measured if not s.ok}))
    return CellSummary(
        cell=first.cell, prompt_tokens=first.prompt_tokens_target,
        gen_tokens=first.gen_tokens_target, concurrency=first.concurrency,
        requests=len(measured), failed=len(measured) - len(ok),
        cache_hits=sum(1 for s in ok if s.cache_hit),
        invalid=invalid_reason(measured, cache_bust=cache_bust), distributions=dists, itl=itl,
        duration_s=duration, output_tps=output_tps, request_rate=rate, goodput=goodput,
        errors=errors)


def _duration_s(samples: Sequence[RequestSample]) -> float | None:
    spans = [(s.started_at, s.started_at + s.e2e_ms / 1e3) for s in samples
             if s.e2e_ms is not None]
    if not spans:
        return None
    duration = max(end for _, end in spans) - min(start for start, _ in spans)
    return duration if duration > 0 else None


def summarize_run(samples: Iterable[RequestSample], *, cache_bust: bool,
                  slo: SuiteSlo | None = None) -> list[CellSummary]:
    grouped = group_by_cell(samples)
    return [summarize_cell(cell, cache_bust=cache_bust, slo=slo) for cell in grouped.values()]


def comparable_values(samples: Iterable[RequestSample]) -> dict[str, dict[str, list[float]]]:
    """cell -> metric -> values of the measured, successful requests (input to compare_runs)."""
    values: dict[str, dict[str, list[float]]] = {}
    for sample in samples:
        if sample.warmup or not sample.ok:
            continue
        cell = values.setdefault(sample.cell, {name: [] for name in COMPARED_METRICS})
        for name in COMPARED_METRICS:
            value = sample.metric(name)
            if value is not None:
                cell[name].append(value)
    return values
