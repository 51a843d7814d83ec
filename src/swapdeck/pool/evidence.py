"""Benchmark evidence: graded, aged and merged into one quality figure per model. Pure.

An observation says "source S saw value V for model M at time T", with a grade for how
closely it applies to the exact candidate:

    grade          confidence  meaning
    measured          1.00     swapdeck's own bench, on this box (speed: replaces the estimate)
    direct            1.00     a benchmark of this very model
    variant           0.85     the same model in another quant or packaging
    base              0.70     the base model of this fine-tune
    interpolated      0.50     read off the curve of the model's size siblings
    self-reported     0.35     the model card's own claim

Weight of one observation = confidence × recency × source weight, with recency =
max(0.05, 0.5 ^ (age_days / half_life_days)) (half-life 270 days: a leaderboard result from
last year still counts, at half). Quality values are on a 0–100 scale, merged as the weighted
mean. Speed observations (`decode_tps`) only count as *measured* when they were taken on this
box (same hardware fingerprint); the newest such run wins, because a driver or runtime
upgrade changes speed and the latest run is the one that describes the box now.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

DAY_S = 86_400.0
DEFAULT_HALF_LIFE_DAYS = 270.0
RECENCY_FLOOR = 0.05
SWAPDECK_BENCH_SOURCE = "swapdeck-bench"


class Grade(StrEnum):
    MEASURED = "measured"
    DIRECT = "direct"
    VARIANT = "variant"
    BASE = "base"
    INTERPOLATED = "interpolated"
    SELF_REPORTED = "self-reported"


class Metric(StrEnum):
    QUALITY = "quality"
    """0–100, higher is better, as the source normalises it."""
    DECODE_TPS = "decode_tps"
    """Generated tokens per second."""


GRADE_CONFIDENCE: Mapping[Grade, float] = {
    Grade.MEASURED: 1.0, Grade.DIRECT: 1.0, Grade.VARIANT: 0.85, Grade.BASE: 0.70,
    Grade.INTERPOLATED: 0.50, Grade.SELF_REPORTED: 0.35,
}
DEFAULT_SOURCE_WEIGHTS: Mapping[str, float] = {
    SWAPDECK_BENCH_SOURCE: 1.0,
    "open-llm-leaderboard": 1.0,
    "livebench": 1.0,
    "artificial-analysis": 0.9,
    "lmarena": 0.8,
    "model-card": 0.6,
    "hf-popularity": 0.25,
}
UNKNOWN_SOURCE_WEIGHT = 0.5


@dataclass(frozen=True, slots=True)
class Observation:
    model_id: str
    source: str
    grade: Grade
    metric: Metric
    value: float
    observed_at: float
    """Unix seconds."""
    hardware_fingerprint: str | None = None
    """For speed: the `HardwareProfile.fingerprint` of the box it was measured on."""
    run_id: str | None = None


@dataclass(frozen=True, slots=True)
class WeightedObservation:
    observation: Observation
    weight: float
    confidence: float
    recency: float
    source_weight: float


@dataclass(frozen=True, slots=True)
class QualityEvidence:
    value: float | None
    """Weighted mean on 0–100, None without any quality observation."""
    total_weight: float
    used: tuple[WeightedObservation, ...]

    @property
    def weakest_grade(self) -> Grade | None:
        order = list(Grade)
        grades = [w.observation.grade for w in self.used]
        return max(grades, key=order.index) if grades else None


@dataclass(frozen=True, slots=True)
class MeasuredSpeed:
    tokens_per_s: float
    run_id: str | None
    observed_at: float
    runs: int
    low: float
    high: float


def recency(age_s: float, half_life_days: float = DEFAULT_HALF_LIFE_DAYS) -> float:
    """0.5 per half-life of age, floored; an observation from the future counts as fresh."""
    age_days = max(0.0, age_s) / DAY_S
    return max(RECENCY_FLOOR, float(0.5 ** (age_days / half_life_days)))


def weigh(
    observation: Observation,
    *,
    now: float,
    source_weights: Mapping[str, float] = DEFAULT_SOURCE_WEIGHTS,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
) -> WeightedObservation:
    confidence = GRADE_CONFIDENCE[observation.grade]
    fresh = recency(now - observation.observed_at, half_life_days)
    source = source_weights.get(observation.source, UNKNOWN_SOURCE_WEIGHT)
    return WeightedObservation(observation, confidence * fresh * source, confidence, fresh, source)


def merge_quality(
    observations: Iterable[Observation],
    *,
    now: float,
    source_weights: Mapping[str, float] = DEFAULT_SOURCE_WEIGHTS,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
) -> QualityEvidence:
    """Weighted mean of the quality observations; values are clamped to 0–100."""
    used = tuple(
        weigh(obs, now=now, source_weights=source_weights, half_life_days=half_life_days)
        for obs in sorted(observations, key=_order)
        if obs.metric is Metric.QUALITY
    )
    used = tuple(w for w in used if w.weight > 0)
    total = sum(w.weight for w in used)
    if total <= 0:
        return QualityEvidence(None, 0.0, ())
    value = sum(w.weight * min(100.0, max(0.0, w.observation.value)) for w in used) / total
    return QualityEvidence(value, total, used)


def measured_speed(
    observations: Iterable[Observation], hardware_fingerprint: str
) -> MeasuredSpeed | None:
    """The newest decode-speed run taken on this box, with the spread of all such runs."""
    runs = sorted(
        (obs for obs in observations
         if obs.metric is Metric.DECODE_TPS and obs.value > 0
         and obs.hardware_fingerprint == hardware_fingerprint),
        key=lambda obs: (obs.observed_at, obs.run_id or "", obs.value),
    )
    if not runs:
        return None
    newest = runs[-1]
    values = [obs.value for obs in runs]
    return MeasuredSpeed(newest.value, newest.run_id, newest.observed_at, len(runs),
                         min(values), max(values))


def _order(obs: Observation) -> tuple[str, str, float, float, str]:
    """A fixed order, so the floating-point sum is the same whatever order they came in."""
    return (obs.source, obs.grade.value, obs.observed_at, obs.value, obs.run_id or "")
