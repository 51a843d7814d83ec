"""Distribution statistics for one cell's samples: percentiles and a bootstrap CI of the median.

Pure and deterministic: the bootstrap uses a fixed seed, so the same samples always give
the same interval (bench-facts §7.2 asks for a fixed RNG seed for reproducibility).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from swapdeck.bench.mannwhitney import mann_whitney_two_sided

BOOTSTRAP_SEED = 20240611
BOOTSTRAP_RESAMPLES = 9999
CONFIDENCE = 0.95


@dataclass(frozen=True, slots=True)
class Distribution:
    count: int
    mean: float
    std: float
    """Sample standard deviation (n − 1); 0 for a single value."""
    min: float
    max: float
    median: float
    p50: float
    p90: float
    p95: float
    p99: float
    ci_low: float | None
    ci_high: float | None
    """Bootstrap 95% CI of the median; None below 3 samples, where it means nothing."""

    @property
    def cv(self) -> float:
        """Coefficient of variation; inf when the mean is 0 and values differ."""
        if self.mean == 0:
            return 0.0 if self.std == 0 else math.inf
        return self.std / abs(self.mean)

    def as_dict(self) -> dict[str, float | int | None]:
        return {"count": self.count, "mean": self.mean, "std": self.std, "min": self.min,
                "max": self.max, "median": self.median, "p50": self.p50, "p90": self.p90,
                "p95": self.p95, "p99": self.p99, "ci_low": self.ci_low,
                "ci_high": self.ci_high, "cv": self.cv}


def describe(values: Sequence[float], *, seed: int = BOOTSTRAP_SEED,
             resamples: int = BOOTSTRAP_RESAMPLES) -> Distribution | None:
    """Summary of `values` (None when empty). Percentiles interpolate linearly (numpy default)."""
    data = np.asarray([v for v in values if math.isfinite(v)], dtype=float)
    if data.size == 0:
        return None
    p50, p90, p95, p99 = (float(x) for x in np.percentile(data, [50, 90, 95, 99]))
    low: float | None = None
    high: float | None = None
    if data.size >= 3:
        low, high = median_ci(data, seed=seed, resamples=resamples)
    return Distribution(
        count=int(data.size), mean=float(data.mean()),
        std=float(data.std(ddof=1)) if data.size > 1 else 0.0,
        min=float(data.min()), max=float(data.max()), median=float(np.median(data)),
        p50=p50, p90=p90, p95=p95, p99=p99, ci_low=low, ci_high=high)


def median_ci(values: Sequence[float] | np.ndarray, *, seed: int = BOOTSTRAP_SEED,
              resamples: int = BOOTSTRAP_RESAMPLES,
              confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Percentile-bootstrap CI of the median: resample with replacement, take the quantiles."""
    data = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, data.size, size=(resamples, data.size))
    medians = np.median(data[picks], axis=1)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(medians, [alpha, 1.0 - alpha])
    return float(low), float(high)


def ratio_of_medians_ci(candidate: Sequence[float] | np.ndarray,
                        baseline: Sequence[float] | np.ndarray, *,
                        seed: int = BOOTSTRAP_SEED, resamples: int = BOOTSTRAP_RESAMPLES,
                        confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Bootstrap CI of median(candidate)/median(baseline), each group resampled on its own."""
    cand = np.asarray(candidate, dtype=float)
    base = np.asarray(baseline, dtype=float)
    rng = np.random.default_rng(seed)
    cand_medians = np.median(cand[rng.integers(0, cand.size, size=(resamples, cand.size))],
                             axis=1)
    base_medians = np.median(base[rng.integers(0, base.size, size=(resamples, base.size))],
                             axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = cand_medians / base_medians
    ratios = ratios[np.isfinite(ratios)]
    if ratios.size == 0:
        return math.nan, math.nan
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(ratios, [alpha, 1.0 - alpha])
    return float(low), float(high)


def mann_whitney_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided Mann–Whitney U p-value (scipy's `method="auto"` choices); 1.0 if undefined."""
    if len(a) == 0 or len(b) == 0:
        return 1.0
    p = mann_whitney_two_sided(a, b)
    return p if math.isfinite(p) else 1.0


def max_relative_deviation(values: Sequence[float]) -> float:
    """The largest |x − median| / |median|: pyperf warns when a value is ≥ 50% off."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return 0.0
    median = float(np.median(data))
    if median == 0:
        return 0.0 if bool(np.all(data == 0)) else math.inf
    return float(np.max(np.abs(data - median)) / abs(median))
