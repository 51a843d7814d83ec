"""Per-model aggregates over a set of finished requests (the Activity screen's side panel).

Pure: the caller passes the records it shows (the visible window), nothing is read from a
clock or a database. Rates the host could not measure keep llama-swap's `-1` sentinel and
failed requests carry `0` rates (§3.1); neither is a measurement, so both are left out of
the percentiles rather than dragging them down. A model with no measured rate gets `None`
percentiles, which the screen shows as "—", never 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from swapdeck.events import ActivityRecord


@dataclass(frozen=True, slots=True)
class ModelStats:
    model: str
    count: int
    errors: int
    decode_p50: float | None
    decode_p95: float | None
    prefill_p50: float | None
    prefill_p95: float | None


def is_measured_rate(value: float) -> bool:
    """A tokens-per-second value the host really measured (not -1, not 0, not NaN)."""
    return math.isfinite(value) and value > 0


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation between closest ranks.

    The same definition numpy uses by default, so numbers can be checked by hand:
    p50 of [10, 20, 30, 40] is 25. `sorted_values` must be ascending.
    """
    if not sorted_values:
        return None
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, got {q}")
    position = (len(sorted_values) - 1) * q / 100
    low = math.floor(position)
    high = math.ceil(position)
    if low == high:
        return float(sorted_values[low])
    fraction = position - low
    return float(sorted_values[low] + (sorted_values[high] - sorted_values[low]) * fraction)


@dataclass(slots=True)
class _Accumulator:
    count: int = 0
    errors: int = 0
    decode: list[float] = field(default_factory=list)
    prefill: list[float] = field(default_factory=list)


def model_stats(records: Iterable[ActivityRecord]) -> list[ModelStats]:
    """One `ModelStats` per model, busiest first (ties by model id, so the order is stable)."""
    by_model: dict[str, _Accumulator] = {}
    for record in records:
        acc = by_model.get(record.model)
        if acc is None:
            acc = by_model[record.model] = _Accumulator()
        acc.count += 1
        if not record.ok:
            acc.errors += 1
        if is_measured_rate(record.decode_tps):
            acc.decode.append(record.decode_tps)
        if is_measured_rate(record.prompt_tps):
            acc.prefill.append(record.prompt_tps)
    result = []
    for model, acc in by_model.items():
        decode = sorted(acc.decode)
        prefill = sorted(acc.prefill)
        result.append(ModelStats(
            model=model, count=acc.count, errors=acc.errors,
            decode_p50=percentile(decode, 50), decode_p95=percentile(decode, 95),
            prefill_p50=percentile(prefill, 50), prefill_p95=percentile(prefill, 95),
        ))
    result.sort(key=lambda s: (-s.count, s.model))
    return result
