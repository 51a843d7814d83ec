"""Statistics against known distributions and against numpy/scipy definitions."""

from __future__ import annotations

import numpy as np
import pytest

from swapdeck.bench.stats import (
    describe,
    mann_whitney_p,
    max_relative_deviation,
    median_ci,
    ratio_of_medians_ci,
)


def test_describe_matches_the_textbook_definitions() -> None:
    values = [float(v) for v in range(1, 101)]
    d = describe(values)
    assert d is not None
    assert d.count == 100 and d.mean == 50.5 and d.median == 50.5 and d.p50 == 50.5
    assert d.p90 == pytest.approx(np.percentile(values, 90))
    assert d.p99 == pytest.approx(99.01)
    assert d.std == pytest.approx(np.std(values, ddof=1))
    assert (d.min, d.max) == (1.0, 100.0)
    assert d.ci_low is not None and d.ci_high is not None
    assert d.ci_low < 50.5 < d.ci_high


def test_describe_edge_cases() -> None:
    assert describe([]) is None
    one = describe([7.0])
    assert one is not None and one.std == 0 and one.ci_low is None and one.cv == 0.0
    assert describe([float("nan"), 1.0, 2.0]) is not None  # non-finite values are dropped


def test_the_bootstrap_is_reproducible_with_its_fixed_seed() -> None:
    data = np.random.default_rng(1).normal(100, 10, 30)
    assert median_ci(data) == median_ci(data)


def test_median_ci_covers_the_true_median_about_95_percent_of_the_time() -> None:
    """Normal(100, 10): the true median is 100; 200 independent samples of 40 values."""
    rng = np.random.default_rng(7)
    covered = 0
    for trial in range(200):
        sample = rng.normal(100.0, 10.0, 40)
        low, high = median_ci(sample, seed=trial, resamples=999)
        covered += low <= 100.0 <= high
    assert 0.88 <= covered / 200 <= 0.995


def test_median_ci_narrows_as_samples_grow() -> None:
    rng = np.random.default_rng(3)
    small = median_ci(rng.exponential(5.0, 15))
    large = median_ci(rng.exponential(5.0, 600))
    assert (large[1] - large[0]) < (small[1] - small[0])
    # exponential(scale 5): median = 5 ln 2
    assert large[0] < 5 * np.log(2) < large[1]


def test_ratio_ci_brackets_the_true_ratio_and_excludes_one_for_a_real_shift() -> None:
    rng = np.random.default_rng(11)
    base = rng.normal(100.0, 2.0, 20)
    cand = rng.normal(85.0, 2.0, 20)
    low, high = ratio_of_medians_ci(cand, base)
    assert low < 0.85 < high and high < 1.0
    same_low, same_high = ratio_of_medians_ci(rng.normal(100, 2, 20), base)
    assert same_low < 1.0 < same_high


def test_mann_whitney_known_values() -> None:
    # fully separated groups of 5: exact two-sided p = 2 / C(10, 5)
    assert mann_whitney_p([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]) == pytest.approx(2 / 252)
    # one value each, different: the only two orderings -> p = 1
    assert mann_whitney_p([1.0], [2.0]) == 1.0
    # identical constant groups: no evidence at all
    assert mann_whitney_p([3.0] * 6, [3.0] * 6) == 1.0
    assert mann_whitney_p([], [1.0]) == 1.0
    # separated groups of 12 with ties inside each: normal approximation, tiny p
    assert mann_whitney_p([100.0] * 12, [80.0] * 12) < 1e-5


def test_mann_whitney_matches_scipy_on_random_and_tied_samples() -> None:
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    for _ in range(300):
        n1, n2 = (int(v) for v in rng.integers(1, 15, 2))
        if rng.random() < 0.5:
            x, y = list(rng.normal(0, 1, n1)), list(rng.normal(rng.normal(), 1, n2))
        else:  # many ties: the asymptotic branch with the tie correction
            x, y = list(rng.integers(0, 5, n1) * 1.0), list(rng.integers(0, 6, n2) * 1.0)
        expected = float(stats.mannwhitneyu(x, y, alternative="two-sided").pvalue)
        if not np.isfinite(expected):
            expected = 1.0
        assert mann_whitney_p(x, y) == pytest.approx(expected, abs=1e-12)


def test_max_relative_deviation() -> None:
    assert max_relative_deviation([10, 10, 16]) == pytest.approx(0.6)
    assert max_relative_deviation([0, 0]) == 0.0
    assert max_relative_deviation([]) == 0.0
