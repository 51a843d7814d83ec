"""Evidence grading, ageing, merging, and measured speed from this box only."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swapdeck.pool.evidence import (
    DAY_S,
    GRADE_CONFIDENCE,
    RECENCY_FLOOR,
    UNKNOWN_SOURCE_WEIGHT,
    Grade,
    Metric,
    Observation,
    measured_speed,
    merge_quality,
    recency,
    weigh,
)

NOW = 1_760_000_000.0


def quality(value: float, grade: Grade = Grade.DIRECT, source: str = "open-llm-leaderboard",
            age_days: float = 0.0, model: str = "m") -> Observation:
    return Observation(model, source, grade, Metric.QUALITY, value, NOW - age_days * DAY_S)


def test_recency_halves_every_half_life_and_has_a_floor() -> None:
    assert recency(0) == 1.0
    assert recency(270 * DAY_S) == pytest.approx(0.5)
    assert recency(540 * DAY_S) == pytest.approx(0.25)
    assert recency(100 * 365 * DAY_S) == RECENCY_FLOOR
    assert recency(-5 * DAY_S) == 1.0  # a clock skewed into the future is not a bonus


def test_grades_are_ordered_from_measured_to_self_reported() -> None:
    confidences = [GRADE_CONFIDENCE[grade] for grade in Grade]
    assert confidences == sorted(confidences, reverse=True)


def test_weight_is_confidence_times_recency_times_source() -> None:
    weighted = weigh(quality(60, Grade.VARIANT, "some-blog", age_days=270), now=NOW)
    assert weighted.weight == pytest.approx(0.85 * 0.5 * UNKNOWN_SOURCE_WEIGHT)
    assert (weighted.confidence, weighted.source_weight) == (0.85, UNKNOWN_SOURCE_WEIGHT)


def test_merge_is_the_weighted_mean_and_lists_what_it_used() -> None:
    evidence = merge_quality([quality(80), quality(40, Grade.SELF_REPORTED, "model-card")],
                             now=NOW)
    w_direct, w_self = 1.0, 0.35 * 0.6
    assert evidence.value == pytest.approx((80 * w_direct + 40 * w_self) / (w_direct + w_self))
    assert evidence.total_weight == pytest.approx(w_direct + w_self)
    assert len(evidence.used) == 2 and evidence.weakest_grade is Grade.SELF_REPORTED


def test_fresh_evidence_outweighs_stale_evidence() -> None:
    evidence = merge_quality([quality(90, age_days=1000), quality(50)], now=NOW)
    assert evidence.value is not None and evidence.value < 60


def test_no_quality_observation_means_no_value() -> None:
    speed_only = Observation("m", "swapdeck-bench", Grade.MEASURED, Metric.DECODE_TPS, 30, NOW)
    evidence = merge_quality([speed_only], now=NOW)
    assert evidence.value is None and evidence.used == () and evidence.weakest_grade is None


def test_values_are_clamped_to_the_0_100_scale() -> None:
    assert merge_quality([quality(250)], now=NOW).value == 100.0


@settings(deadline=None)
@given(st.lists(st.tuples(st.floats(0, 100), st.sampled_from(list(Grade)),
                          st.floats(0, 3000)), min_size=1, max_size=8), st.randoms())
def test_merge_is_bounded_and_independent_of_input_order(
    raw: list[tuple[float, Grade, float]], rng: random.Random
) -> None:
    observations = [quality(v, g, age_days=a) for v, g, a in raw]
    shuffled = list(observations)
    rng.shuffle(shuffled)
    first, second = merge_quality(observations, now=NOW), merge_quality(shuffled, now=NOW)
    assert first == second
    assert first.value is not None
    assert min(v for v, _, _ in raw) - 1e-9 <= first.value <= max(v for v, _, _ in raw) + 1e-9


def test_measured_speed_counts_only_runs_on_this_box_and_the_newest_wins() -> None:
    def run(value: float, at: float, box: str, run_id: str) -> Observation:
        return Observation("m", "swapdeck-bench", Grade.MEASURED, Metric.DECODE_TPS, value, at,
                           hardware_fingerprint=box, run_id=run_id)

    runs = [run(40, NOW - 100, "this", "r1"), run(44, NOW - 10, "this", "r2"),
            run(90, NOW, "other-box", "r3")]
    measured = measured_speed(runs, "this")
    assert measured is not None
    assert (measured.tokens_per_s, measured.run_id, measured.runs) == (44, "r2", 2)
    assert (measured.low, measured.high) == (40, 44)
    assert measured_speed(runs, "nobody") is None
