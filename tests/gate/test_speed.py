"""Speed verdicts per bench-facts §7.2 through the bench's `compare_metric`, and the gate's
own rules: errors and broken measurements, interleaved rounds, confirmation of a FAIL."""

from __future__ import annotations

import pytest

from swapdeck.bench.compare import Verdict
from swapdeck.bench.sample import RequestContext, failed_sample
from swapdeck.gate.speed import (
    DECODE_RULE,
    GATE_RULES,
    PREFILL_RULE,
    CellOutcome,
    SideValues,
    SpeedResult,
    judge_cell,
    needs_confirmation,
    side_values,
    split_rounds,
)

STEADY = [40.0, 40.4, 39.8, 40.2, 40.1, 39.9, 40.3, 39.7, 40.0, 40.2, 39.9, 40.1]


def side(tg: list[float], pp: list[float] | None = None, **extra: object) -> SideValues:
    values = {"tg_norm": list(tg), "pp_server": list(pp if pp is not None else
                                                      [v * 2 for v in tg])}
    return SideValues(values=values, requests=len(tg), **extra)  # type: ignore[arg-type]


def test_the_same_speed_passes() -> None:
    result = judge_cell("pp64/tg32/c1", side(STEADY), side(list(reversed(STEADY))))
    assert result.verdict is Verdict.PASS and result.note is None
    assert {m.rule.metric for m in result.metrics} == {r.metric for r in GATE_RULES}


def test_prefill_and_ttft_are_reported_and_gated_only_when_asked() -> None:
    """Decode decides by default; prefill is compared for the reader (CV 12-25% on a 2-core
    VM for a short prompt would make every run UNSTABLE)."""
    noisy_prefill = side(STEADY, pp=[80.0, 50.0, 95.0, 60.0, 90.0, 55.0, 85.0, 70.0, 65.0, 90.0,
                                     52.0, 93.0])
    result = judge_cell("c", side(STEADY), noisy_prefill)
    assert result.verdict is Verdict.PASS
    assert [m.rule.metric for m in result.info] == ["pp_server"]
    assert result.info[0].verdict is Verdict.UNSTABLE
    gated = judge_cell("c", side(STEADY), noisy_prefill, (DECODE_RULE, PREFILL_RULE))
    assert gated.verdict is Verdict.UNSTABLE and gated.info == ()


def test_half_the_speed_fails_and_a_small_loss_warns_at_most() -> None:
    slow = judge_cell("c", side(STEADY), side([v * 0.5 for v in STEADY]))
    assert slow.verdict is Verdict.FAIL
    tg = next(m for m in slow.metrics if m.rule.metric == "tg_norm")
    assert tg.ratio == pytest.approx(0.5, rel=0.01) and tg.ci_high < 1 and tg.p_value < 0.01
    slight = judge_cell("c", side(STEADY), side([v * 0.93 for v in STEADY]))
    assert slight.verdict is Verdict.WARN


def test_noise_is_unstable_not_a_verdict() -> None:
    noisy = [40.0, 20.0, 41.0, 44.0, 25.0, 39.0, 40.0, 30.0, 42.0, 38.0]
    result = judge_cell("c", side(noisy), side(STEADY[:10]))
    assert result.verdict is Verdict.UNSTABLE and needs_confirmation(result)
    assert any(m.unstable_reason for m in result.metrics)


def test_failed_candidate_requests_fail_broken_measurements_are_unstable() -> None:
    broken = side(STEADY, errors=("HTTP 500: boom",))
    assert judge_cell("c", side(STEADY), broken).verdict is Verdict.FAIL
    pinned_broken = judge_cell("c", broken, side(STEADY))
    assert pinned_broken.verdict is Verdict.UNSTABLE and "pinned" in (pinned_broken.note or "")
    cached = judge_cell("c", side(STEADY), side(STEADY, cache_hits=2))
    assert cached.verdict is Verdict.UNSTABLE and "cache hit" in (cached.note or "")
    short = judge_cell("c", side(STEADY), side(STEADY, wrong_length=1))
    assert short.verdict is Verdict.UNSTABLE
    empty = judge_cell("c", SideValues({}, 0), side(STEADY))
    assert empty.verdict is Verdict.UNSTABLE
    no_values = judge_cell("c", SideValues({"tg_norm": []}, 3), SideValues({}, 3))
    assert no_values.verdict is Verdict.UNSTABLE and no_values.note == "no comparable values"


def test_the_confirmation_decides() -> None:
    fail = judge_cell("c", side(STEADY), side([v * 0.5 for v in STEADY]))
    passed = judge_cell("c", side(STEADY), side(STEADY), attempt=2)
    assert needs_confirmation(fail) and not needs_confirmation(passed)
    assert CellOutcome(fail, passed).verdict is Verdict.PASS
    assert CellOutcome(fail, fail).verdict is Verdict.FAIL
    assert CellOutcome(passed).final is passed
    result = SpeedResult((CellOutcome(fail, fail), CellOutcome(passed)), GATE_RULES, True)
    assert result.verdict is Verdict.FAIL
    assert SpeedResult((), GATE_RULES, True).verdict is Verdict.UNSTABLE


def test_rounds_split_evenly() -> None:
    assert split_rounds(12, 3) == [4, 4, 4]
    assert split_rounds(10, 3) == [4, 3, 3]
    assert split_rounds(2, 3) == [1, 1]
    assert sum(split_rounds(24, 3)) == 24


def test_side_values_from_samples_and_back() -> None:
    ctx = RequestContext("c", 64, 32, 1, 0, False, 0.0)
    failed = failed_sample(ctx, status=500, error="HTTP 500: boom")
    values = side_values([failed], 32)
    assert values.requests == 1 and values.errors == ("HTTP 500: boom",)
    again = SideValues.from_dict(side(STEADY, cache_hits=1).as_dict())
    assert again == side(STEADY, cache_hits=1)
    with pytest.raises(ValueError, match="values"):
        SideValues.from_dict({"requests": 1})
