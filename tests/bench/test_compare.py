"""Verdicts (bench-facts §7.2) on samples with known shifts and noise."""

from __future__ import annotations

import numpy as np
import pytest

from swapdeck.bench.compare import (
    DEFAULT_RULES,
    Verdict,
    compare_metric,
    compare_runs,
    worst,
)

TG, TTFT = DEFAULT_RULES


def normal(mean: float, sd: float, n: int = 12, seed: int = 0) -> list[float]:
    return [float(x) for x in np.random.default_rng(seed).normal(mean, sd, n)]


def verdict(rule: object, base: list[float], cand: list[float]) -> Verdict:
    result = compare_metric(rule, base, cand)  # type: ignore[arg-type]
    assert result is not None
    return result.verdict


def test_same_distribution_passes() -> None:
    assert verdict(TG, normal(100, 1, seed=1), normal(100, 1, seed=2)) is Verdict.PASS


def test_a_significant_drop_beyond_the_fail_threshold_fails() -> None:
    result = compare_metric(TG, normal(100, 1, seed=1), normal(85, 1, seed=2))
    assert result is not None and result.verdict is Verdict.FAIL
    assert result.ratio == pytest.approx(0.85, abs=0.01)
    assert result.ci_high < 1.0 and result.p_value < 0.01
    assert result.change_pct == pytest.approx(-15, abs=1)


def test_a_significant_drop_between_warn_and_fail_warns() -> None:
    assert verdict(TG, normal(100, 1, seed=1), normal(93, 1, seed=2)) is Verdict.WARN


def test_a_small_significant_drop_passes() -> None:
    assert verdict(TG, normal(100, 0.5, seed=1), normal(97, 0.5, seed=2)) is Verdict.PASS


def test_a_big_drop_without_enough_samples_only_warns() -> None:
    """n = 3 per side: Mann–Whitney cannot reach p < 0.01, so no FAIL."""
    assert verdict(TG, [100.0, 101.0, 99.0], [80.0, 81.0, 79.0]) is Verdict.WARN


def test_an_improvement_never_fails() -> None:
    assert verdict(TG, normal(100, 1, seed=1), normal(130, 1, seed=2)) is Verdict.PASS


def test_latency_is_the_mirror_image() -> None:
    assert verdict(TTFT, normal(100, 1, seed=1), normal(125, 1, seed=2)) is Verdict.FAIL
    assert verdict(TTFT, normal(100, 1, seed=1), normal(114, 1, seed=2)) is Verdict.WARN
    assert verdict(TTFT, normal(100, 1, seed=1), normal(80, 1, seed=2)) is Verdict.PASS


def test_noisy_groups_are_unstable_not_failed() -> None:
    result = compare_metric(TG, normal(100, 20, seed=1), normal(70, 1, seed=2))
    assert result is not None and result.verdict is Verdict.UNSTABLE
    assert result.unstable_reason is not None and "baseline CV" in result.unstable_reason


def test_one_wild_sample_makes_the_cell_unstable() -> None:
    base = [100.0] * 80 + [160.0]  # CV stays under 10%, but one value is 60% off
    result = compare_metric(TG, base, [100.0] * 81)
    assert result is not None and result.verdict is Verdict.UNSTABLE
    assert "60% from its median" in (result.unstable_reason or "")


def test_severity_order() -> None:
    assert worst([Verdict.PASS, Verdict.WARN]) is Verdict.WARN
    assert worst([Verdict.UNSTABLE, Verdict.WARN]) is Verdict.UNSTABLE
    assert worst([Verdict.UNSTABLE, Verdict.FAIL, Verdict.PASS]) is Verdict.FAIL
    assert worst([]) is Verdict.PASS


def test_compare_runs_cell_by_cell() -> None:
    base = {"a": {"tg_norm": normal(100, 1, seed=1), "ttft_ms": normal(50, 0.5, seed=3)},
            "b": {"tg_norm": normal(100, 1, seed=4), "ttft_ms": normal(50, 0.5, seed=5)},
            "gone": {"tg_norm": normal(100, 1), "ttft_ms": normal(50, 1)}}
    cand = {"a": {"tg_norm": normal(100, 1, seed=6), "ttft_ms": normal(50, 0.5, seed=7)},
            "b": {"tg_norm": normal(80, 1, seed=8), "ttft_ms": normal(50, 0.5, seed=9)},
            "new": {"tg_norm": normal(100, 1), "ttft_ms": normal(50, 1)},
            "cached": {"tg_norm": normal(100, 1), "ttft_ms": normal(50, 1)}}
    result = compare_runs(base | {"cached": cand["cached"]}, cand,
                          invalid={"cached": "cache hit in a cold cell"})
    by_cell = {c.cell: c for c in result.cells}
    assert by_cell["a"].verdict is Verdict.PASS
    assert by_cell["b"].verdict is Verdict.FAIL
    assert by_cell["new"].verdict is None and by_cell["new"].note == "not in the baseline run"
    assert by_cell["gone"].note == "not in the candidate run"
    assert by_cell["cached"].verdict is Verdict.UNSTABLE
    assert "cache hit" in (by_cell["cached"].note or "")
    assert result.verdict is Verdict.FAIL and result.failed


def test_client_decode_rate_stands_in_when_a_server_sends_no_timings() -> None:
    base = {"a": {"tg_norm": [], "tg_client": normal(50, 0.5, seed=1), "ttft_ms": [10.0] * 12}}
    cand = {"a": {"tg_norm": [], "tg_client": normal(40, 0.5, seed=2), "ttft_ms": [10.0] * 12}}
    result = compare_runs(base, cand)
    metrics = {m.rule.metric: m.verdict for m in result.cells[0].metrics}
    assert metrics == {"tg_client": Verdict.FAIL, "ttft_ms": Verdict.PASS}
