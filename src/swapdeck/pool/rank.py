"""Rank candidate models for one box. Pure and deterministic.

    score = 100 × C × Q × √S

- Q, quality in [0, 1): the benchmark evidence shrunk toward a size prior,
  Q = (Σ wᵢ·vᵢ/100 + W₀·prior) / (Σ wᵢ + W₀) × (1 − quant penalty), with W₀ = 0.5 (a prior
  worth half a fresh direct benchmark) and prior = p / (p + 10) for p billions of
  dense-equivalent parameters (MoE: √(total × active)). Evidence weights wᵢ come from
  `evidence.py` (grade × recency × source).
- S, speed in [0, 1): S = t / (t + 10) for decode speed t tokens/s — the measured speed from
  swapdeck's own bench on this box when there is one, else the estimate (its lower bound
  when a GPU's bandwidth is unknown). Half marks at 10 t/s; the square root makes speed a
  tie-breaker between good models rather than a reason to pick a tiny one.
- C, context in [0.5, 1]: 1 when the model's context window covers the requested context,
  else 0.5 + 0.5 × (window / requested).

Every factor is strictly below 1 (the prior is < 1 and always carries weight; t/(t+10) < 1), so
the score stays under 100 and two different models do not saturate into a tie at the top.
A model that cannot run scores 0 and is dropped unless `include_unrunnable`. Order: score
descending, then id in code-point order.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from swapdeck.pool.estimate import (
    GIB,
    Fit,
    FitEstimate,
    MemoryBudget,
    MemoryEstimate,
    ModelShape,
    SpeedBasis,
    SpeedEstimate,
    dense_equivalent_billions,
    estimate_fit,
    estimate_memory,
    estimate_speed,
    memory_budget,
)
from swapdeck.pool.evidence import (
    DEFAULT_HALF_LIFE_DAYS,
    DEFAULT_SOURCE_WEIGHTS,
    Observation,
    QualityEvidence,
    measured_speed,
    merge_quality,
)
from swapdeck.pool.hardware import HardwareProfile

PRIOR_WEIGHT = 0.5
PRIOR_HALF_POINT_B = 10.0
SPEED_HALF_POINT_TPS = 10.0


@dataclass(frozen=True, slots=True)
class Candidate:
    id: str
    shape: ModelShape
    quant: str
    context_length: int
    file_size_bytes: int | None = None
    name: str = ""


@dataclass(frozen=True, slots=True)
class RankedModel:
    id: str
    name: str
    score: float
    fit: FitEstimate
    memory: MemoryEstimate
    speed: SpeedEstimate
    evidence: QualityEvidence
    quality: float
    """Q in the score formula, 0–1."""
    prior: float
    context_tokens: int
    context_factor: float

    @property
    def runnable(self) -> bool:
        return self.fit.verdict is not Fit.WONT_FIT

    def explain(self) -> list[str]:
        """Why this row scored what it did, one fact a line."""
        m = self.memory
        lines = [
            f"score {self.score:.1f} = 100 × context {self.context_factor:.2f} × quality "
            f"{self.quality:.3f} × √speed {_speed_factor(self.speed.tokens_per_s):.3f}",
            f"fit: {self.fit.verdict.value} — {self.fit.reason}",
            f"memory {m.total_bytes / GIB:.2f} GiB = weights {m.weights_bytes / GIB:.2f} "
            f"({m.weights_method}) + KV {m.kv_cache_bytes / GIB:.2f} ({m.kv_method}) + "
            f"activations {m.activations_bytes / GIB:.2f} + overhead {m.overhead_bytes / GIB:.2f}",
            f"speed {self.speed.tokens_per_s:.1f} t/s [{self.speed.basis.value}]: "
            f"{self.speed.detail}",
        ]
        if not self.evidence.used:
            lines.append(f"quality: no benchmark evidence; size prior {self.prior:.3f}")
        for used in self.evidence.used:
            obs = used.observation
            lines.append(
                f"evidence {obs.source} {obs.grade.value} {obs.value:g} weight {used.weight:.3f} "
                f"(confidence {used.confidence:.2f} × recency {used.recency:.2f} × "
                f"source {used.source_weight:.2f})")
        if m.quant.quality_penalty:
            lines.append(f"quant {m.quant.id}: quality × {1 - m.quant.quality_penalty:.3f}")
        return lines

    def to_dict(self) -> dict[str, Any]:
        m, s = self.memory, self.speed
        return {
            "id": self.id, "name": self.name, "score": round(self.score, 3),
            "fit": self.fit.verdict.value, "fit_reason": self.fit.reason,
            "gpu_fraction": round(self.fit.gpu_fraction, 4),
            "headroom_bytes": self.fit.headroom_bytes,
            "memory": {
                "total_bytes": m.total_bytes, "weights_bytes": m.weights_bytes,
                "kv_cache_bytes": m.kv_cache_bytes, "activations_bytes": m.activations_bytes,
                "overhead_bytes": m.overhead_bytes, "weights_method": m.weights_method,
                "kv_method": m.kv_method, "quant": m.quant.id, "quant_known": m.quant.known,
            },
            "speed": {"tokens_per_s": round(s.tokens_per_s, 3), "low": round(s.low, 3),
                      "high": None if s.high is None else round(s.high, 3),
                      "basis": s.basis.value, "detail": s.detail},
            "quality": round(self.quality, 5), "prior": round(self.prior, 5),
            "evidence": [
                {"source": u.observation.source, "grade": u.observation.grade.value,
                 "value": u.observation.value, "weight": round(u.weight, 5),
                 "observed_at": u.observation.observed_at}
                for u in self.evidence.used
            ],
            "context_tokens": self.context_tokens,
            "context_factor": round(self.context_factor, 4),
            "explain": self.explain(),
        }


def rank(
    candidates: Iterable[Candidate],
    hardware: HardwareProfile,
    observations: Iterable[Observation],
    *,
    now: float,
    context_tokens: int,
    include_unrunnable: bool = False,
    source_weights: Mapping[str, float] = DEFAULT_SOURCE_WEIGHTS,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
) -> list[RankedModel]:
    """Every candidate scored on this box, best first; unrunnable ones only when asked."""
    by_model: dict[str, list[Observation]] = defaultdict(list)
    for obs in observations:
        by_model[obs.model_id].append(obs)
    budget = memory_budget(hardware)
    fingerprint = hardware.fingerprint
    rows = []
    for candidate in candidates:
        row = score_candidate(candidate, hardware, by_model.get(candidate.id, ()), now=now,
                              context_tokens=context_tokens, budget=budget,
                              fingerprint=fingerprint, source_weights=source_weights,
                              half_life_days=half_life_days)
        if row.runnable or include_unrunnable:
            rows.append(row)
    rows.sort(key=lambda row: (-row.score, row.id))
    return rows


def score_candidate(
    candidate: Candidate,
    hardware: HardwareProfile,
    observations: Sequence[Observation],
    *,
    now: float,
    context_tokens: int,
    budget: MemoryBudget | None = None,
    fingerprint: str | None = None,
    source_weights: Mapping[str, float] = DEFAULT_SOURCE_WEIGHTS,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
) -> RankedModel:
    context = max(1, min(context_tokens, candidate.context_length))
    memory = estimate_memory(candidate.shape, candidate.quant, context_tokens=context,
                             file_size_bytes=candidate.file_size_bytes)
    fit = estimate_fit(memory, budget if budget is not None else memory_budget(hardware))
    speed = estimate_speed(memory, candidate.shape, fit, hardware)
    measured = measured_speed(observations, fingerprint or hardware.fingerprint)
    if measured is not None and fit.verdict is not Fit.WONT_FIT:
        run = measured.run_id or "unnamed run"
        speed = SpeedEstimate(
            measured.tokens_per_s, measured.low, measured.high, SpeedBasis.MEASURED,
            f"measured by swapdeck bench {run} on this box ({measured.runs} run(s); "
            f"estimate was {speed.tokens_per_s:.1f} t/s)")
    evidence = merge_quality(observations, now=now, source_weights=source_weights,
                             half_life_days=half_life_days)
    prior = size_prior(candidate.shape)
    quality = quality_score(evidence, prior, memory.quant.quality_penalty)
    context_factor = 1.0 if candidate.context_length >= context_tokens else \
        0.5 + 0.5 * candidate.context_length / context_tokens
    score = 0.0
    if fit.verdict is not Fit.WONT_FIT:
        score = 100.0 * context_factor * quality * math.sqrt(_speed_factor(speed.tokens_per_s))
    return RankedModel(candidate.id, candidate.name or candidate.id, score, fit, memory, speed,
                       evidence, quality, prior, context, context_factor)


def size_prior(shape: ModelShape) -> float:
    size = dense_equivalent_billions(shape)
    return size / (size + PRIOR_HALF_POINT_B)


def quality_score(evidence: QualityEvidence, prior: float, quant_penalty: float) -> float:
    merged_weight = evidence.total_weight if evidence.value is not None else 0.0
    merged = (evidence.value or 0.0) / 100.0
    blended = (merged_weight * merged + PRIOR_WEIGHT * prior) / (merged_weight + PRIOR_WEIGHT)
    return blended * (1.0 - quant_penalty)


def _speed_factor(tokens_per_s: float) -> float:
    rate = max(0.0, tokens_per_s)
    return rate / (rate + SPEED_HALF_POINT_TPS)
