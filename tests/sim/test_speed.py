"""Simulated request speed: exact by default, spread and contention when a model asks."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from swapdeck.sim import SimModel
from swapdeck.sim.timings import plan_timings, speed_factor

MODEL = SimModel("m", prefill_tps=1000.0, decode_tps=50.0)
VARIED = replace(MODEL, speed_jitter=0.06, slot_contention=0.18)


@given(st.integers(min_value=0, max_value=2**32 - 1), st.integers(min_value=0, max_value=64))
def test_exact_models_run_at_their_nominal_rates(seed: int, concurrent: int) -> None:
    assert speed_factor(MODEL, seed, concurrent) == 1.0


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_jitter_stays_within_its_band(seed: int) -> None:
    assert 0.94 - 1e-12 <= speed_factor(VARIED, seed, 1) <= 1.06 + 1e-12


@given(st.integers(min_value=0, max_value=2**32 - 1), st.integers(min_value=1, max_value=32))
def test_more_concurrency_never_speeds_a_request_up(seed: int, concurrent: int) -> None:
    assert speed_factor(VARIED, seed, concurrent + 1) < speed_factor(VARIED, seed, concurrent)


def test_timings_follow_the_speed() -> None:
    """bench-facts §2.3: predicted_per_second = 1e3 * (n - 1) / predicted_ms."""
    nominal = plan_timings(MODEL, prompt_tokens=101, cached_tokens=0, output_tokens=51)
    half = plan_timings(MODEL, prompt_tokens=101, cached_tokens=0, output_tokens=51, speed=0.5)
    assert nominal.predicted_per_second == 50.0
    assert half.predicted_per_second == 25.0
    assert half.prompt_per_second == nominal.prompt_per_second / 2
