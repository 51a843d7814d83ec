"""The three per-model histograms the collector keeps, and how one is counted (pure).

Each histogram is declared once, with the record field it reads, which records count and
its bucket bounds; the live counter (`observe`) and the history seed (a SQL `CASE` over the
`requests` table, see `seed.py`) are both built from that one declaration, so a restarted
collector puts every stored request in the bucket the running one did.

Bucket semantics are Prometheus' `le`: a value lands in the first bucket whose bound is
>= the value. Duration is bucketed on integer milliseconds (as stored) so that Python and
SQLite compare exactly the same numbers; it is exposed in seconds.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from swapdeck.events import ActivityRecord


@dataclass(frozen=True, slots=True)
class HistogramSpec:
    key: str
    name: str
    """The metric family name, without `_bucket`/`_sum`/`_count`."""
    help: str
    column: str
    """The `requests` column holding the observed value."""
    where: str
    """SQL condition for the rows that count: the same rule as `value_of` returning a value."""
    bounds: tuple[float, ...]
    """Upper bounds in the stored unit, ascending; +Inf is implied."""
    divisor: float
    """Stored unit / divisor = exposed unit (ms / 1000 = s for durations)."""
    value_of: Callable[[ActivityRecord], float | None]
    """The value a live record contributes, or None when it does not count."""


def _duration_ms(record: ActivityRecord) -> float | None:
    return float(record.duration_ms) if record.duration_ms >= 0 else None


def _rate(value: float, record: ActivityRecord) -> float | None:
    # Failed requests carry 0 for every token field (§3.1) and -1 means unknown: neither
    # is a speed. History stores non-finite rates as -1, so they never count either.
    if not record.ok or not math.isfinite(value) or value <= 0:
        return None
    return value


DURATION = HistogramSpec(
    key="duration", name="swapdeck_request_duration_seconds",
    help="Request duration as llama-swap records it: max(wall, prompt+predicted) (§3.1).",
    column="duration_ms", where="duration_ms >= 0",
    bounds=(50, 100, 250, 500, 1000, 2500, 5000, 10_000, 20_000, 30_000, 60_000, 120_000,
            300_000, 600_000),
    divisor=1000.0, value_of=_duration_ms)

PREFILL = HistogramSpec(
    key="prefill", name="swapdeck_prefill_tokens_per_second",
    help="Prompt processing speed of successful requests (tokens.prompt_per_second, §3.1).",
    column="prompt_tps", where="is_error = 0 AND prompt_tps > 0",
    bounds=(10, 25, 50, 100, 250, 500, 1000, 2000, 3000, 5000, 10_000, 20_000, 50_000),
    divisor=1.0, value_of=lambda r: _rate(r.prompt_tps, r))

DECODE = HistogramSpec(
    key="decode", name="swapdeck_decode_tokens_per_second",
    help="Generation speed of successful requests (tokens.tokens_per_second, §3.1).",
    column="decode_tps", where="is_error = 0 AND decode_tps > 0",
    bounds=(1, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 80, 100, 150, 200, 300, 500, 1000),
    divisor=1.0, value_of=lambda r: _rate(r.decode_tps, r))

HISTOGRAMS: tuple[HistogramSpec, ...] = (DURATION, PREFILL, DECODE)


def bucket_sql(spec: HistogramSpec) -> str:
    """A SQL expression giving a row's bucket index, matching `Histogram.observe`."""
    whens = " ".join(f"WHEN {spec.column} <= {bound!r} THEN {index}"
                     for index, bound in enumerate(spec.bounds))
    return f"CASE {whens} ELSE {len(spec.bounds)} END"


@dataclass(slots=True)
class Histogram:
    """Non-cumulative bucket counts (the last one is +Inf) and the sum, in stored units."""

    bounds: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = [0] * (len(self.bounds) + 1)

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value

    def add_bucket(self, index: int, count: int, total: float) -> None:
        """Fold in a seeded aggregate: `count` values summing to `total` in bucket `index`."""
        self.counts[index] += count
        self.total += total

    @property
    def count(self) -> int:
        return sum(self.counts)

    def cumulative(self, les: Sequence[str]) -> list[tuple[str, int]]:
        """(bucket, cumulative count) pairs, one per bucket name in `les` (+Inf last)."""
        out: list[tuple[str, int]] = []
        running = 0
        for le, count in zip(les, self.counts, strict=True):
            running += count
            out.append((le, running))
        return out


def le_labels(spec: HistogramSpec) -> tuple[str, ...]:
    """The `le` label values of a histogram's buckets in the exposed unit, `+Inf` last.

    Written the way Prometheus' own clients write them ("0.05", "1.0"), so every scrape
    of every series names a bucket identically."""
    return (*(_le(bound / spec.divisor) for bound in spec.bounds), "+Inf")


def _le(bound: float) -> str:
    return repr(float(bound)) if bound != int(bound) else f"{bound:.1f}"


def new_histograms(specs: Sequence[HistogramSpec] = HISTOGRAMS) -> dict[str, Histogram]:
    return {spec.key: Histogram(spec.bounds) for spec in specs}
