"""Greedy correctness (bench-facts §8.2): reading llama-server's answer, the divergence budget,
must-contain checks, defects, and UNSTABLE for a build that disagrees with itself (§8.2.4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from swapdeck.bench.compare import Verdict
from swapdeck.gate.correctness import (
    DEFAULT_PROMPTS,
    Answer,
    DivergenceBudget,
    GoldenPrompt,
    check_prompt,
    first_divergence,
    greedy_body,
    judge_correctness,
    longest_run,
    parse_answer,
    same_answer,
)

RECORDED = Path(__file__).parent / "recorded"
BUDGET = DivergenceBudget(prefix_tokens=4, min_agreement=0.8)
PROMPT = GoldenPrompt("p", "Say something.", 16, ("paris",))


def answer(ids: list[int], text: str = "The capital is Paris.",
           finish: str | None = "length") -> Answer:
    return Answer(text, tuple(ids), finish, "b0-unknown")


def test_a_recorded_llama_server_answer_carries_its_token_ids() -> None:
    """`n_probs:1` makes llama-server list each generated token with its id (§2.4)."""
    body = json.loads((RECORDED / "greedy-chat-capital.json").read_text())
    parsed = parse_answer(body)
    assert parsed.text == "The capital of France is Paris."
    assert parsed.token_ids == (504, 3575, 282, 4649, 314, 7042, 30, 2)
    assert parsed.finish_reason == "stop" and parsed.fingerprint == "b0-unknown"


def test_without_probabilities_there_are_no_ids() -> None:
    body = json.loads((RECORDED / "greedy-chat-capital-no-probs.json").read_text())
    parsed = parse_answer(body)
    assert parsed.token_ids is None and parsed.text == "The capital of France is Paris."
    with pytest.raises(ValueError, match="choices"):
        parse_answer({"choices": []})
    with pytest.raises(ValueError, match="JSON object"):
        parse_answer([1])


def test_the_request_is_greedy_and_uncached() -> None:
    body = greedy_body(DEFAULT_PROMPTS[0])
    assert body["temperature"] == 0.0 and body["top_k"] == 1 and body["seed"] == 42
    assert body["cache_prompt"] is False and body["n_probs"] == 1
    assert body["max_tokens"] == DEFAULT_PROMPTS[0].max_tokens and body["stream"] is False


def test_default_prompts_are_distinct_and_checked() -> None:
    assert len({p.id for p in DEFAULT_PROMPTS}) == len(DEFAULT_PROMPTS) >= 8
    assert all(p.must_contain for p in DEFAULT_PROMPTS)


def test_divergence_helpers() -> None:
    assert first_divergence([1, 2, 3], [1, 2, 3]) is None
    assert first_divergence([1, 2, 3], [1, 9, 3]) == 1
    assert first_divergence([1, 2, 3], [1, 2]) == 2
    assert longest_run([1, 1, 2, 2, 2, 3]) == 3 and longest_run([]) == 0
    assert same_answer(answer([1]), Answer("The capital is Paris.", None, None, None))
    assert not same_answer(answer([1]), answer([2]))


def test_identical_answers_pass() -> None:
    check = check_prompt(PROMPT, answer(list(range(16))), answer(list(range(16))), BUDGET)
    assert check.ok and check.identical and check.agreed == 16


def test_a_late_flip_is_within_the_budget_an_early_one_is_not() -> None:
    golden = answer(list(range(16)))
    late = check_prompt(PROMPT, golden, answer([*range(12), 99, 98, 97, 96]), BUDGET)
    assert late.ok and late.first_divergence == 12 and late.agreed == 12
    early = check_prompt(PROMPT, golden, answer([0, 1, 99, *range(3, 16)]), BUDGET)
    assert not early.ok and early.divergence_problem is not None
    assert "token 2" in early.divergence_problem


def test_must_contain_is_enforced_only_where_the_pinned_build_holds_it() -> None:
    golden = answer([1, 2, 3, 4], text="Paris it is")
    wrong = check_prompt(PROMPT, golden, answer([1, 2, 3, 4], text="Lyon"), BUDGET)
    assert wrong.missing == ("paris",) and not wrong.ok
    weak = GoldenPrompt("q", "x", 8, ("berlin",))
    held = check_prompt(weak, golden, answer([1, 2, 3, 4], text="Lyon"), BUDGET)
    assert held.not_enforced == ("berlin",) and held.missing == () and held.ok


def test_defects_that_the_golden_does_not_have() -> None:
    golden = answer(list(range(12)), text="fine")
    stuck = check_prompt(GoldenPrompt("s", "x"), golden,
                         answer([0, 1, 2, 3] + [7] * 9, text="fine \ufffd"), BUDGET)
    assert len(stuck.defects) == 2
    same = check_prompt(GoldenPrompt("s", "x"), answer([5] * 12, text="a"),
                        answer([5] * 12, text="a"), BUDGET)
    assert same.defects == () and same.ok


def test_same_tokens_but_a_different_stop_is_a_divergence() -> None:
    check = check_prompt(PROMPT, answer([1, 2, 3], finish="stop"),
                         answer([1, 2, 3], finish="length"), BUDGET)
    assert check.first_divergence == 3 and check.divergence_problem is not None


def test_running_on_past_the_golden_stop_is_a_divergence_at_the_stop() -> None:
    """A build whose end-of-generation broke repeats the short answer, then keeps going:
    every golden token matches, but the golden's stop is its last token (bench-facts)."""
    golden = answer([1, 2, 3], text="Paris.", finish="stop")
    runs_on = check_prompt(PROMPT, golden, answer([1, 2, 3, 9, 9, 8], text="Paris. And more",
                                                  finish="length"), BUDGET)
    assert not runs_on.ok and runs_on.first_divergence == 3
    assert runs_on.divergence_problem == ("runs on past token 3, where the pinned build stops "
                                          "(finishes with 'length')")
    # Past the budget's prefix a run-on is a late divergence like any other.
    long_golden = answer(list(range(6)), finish="stop")
    late = check_prompt(PROMPT, long_golden, answer([*range(6), 7], finish="length"), BUDGET)
    assert late.ok and late.first_divergence == 6


def test_the_set_verdict() -> None:
    prompts = [GoldenPrompt(f"p{i}", "x", 16, ("paris",)) for i in range(4)]
    golden = [answer(list(range(16)))] * 4
    assert judge_correctness(prompts, golden, golden, BUDGET).verdict is Verdict.PASS

    one_late = [*golden[:3], answer([*range(10), *range(90, 96)])]
    result = judge_correctness(prompts, golden, one_late, BUDGET)
    assert result.verdict is Verdict.PASS and result.full_matches == 3
    assert result.agreement == pytest.approx((16 * 3 + 10) / 64)

    # Every prompt flips at token 8: prefixes hold, but only 50% of the tokens agree.
    halves = [answer([*range(8), *range(80, 88)])] * 4
    result = judge_correctness(prompts, golden, halves, BUDGET)
    assert result.verdict is Verdict.FAIL and result.divergence_only
    assert any("50.0%" in r for r in result.reasons)
    unstable = judge_correctness(prompts, golden, halves, BUDGET,
                                 unstable="the candidate changed its answer")
    assert unstable.verdict is Verdict.UNSTABLE
    assert "the candidate changed its answer" in unstable.reasons

    wrong = [*golden[:3], answer(list(range(16)), text="Lyon")]
    result = judge_correctness(prompts, golden, wrong, BUDGET, unstable="noise")
    assert result.verdict is Verdict.FAIL and not result.divergence_only, \
        "a failed content check is a FAIL even when a build is noisy"

    smoke = judge_correctness(prompts, golden, golden, BUDGET, smoke=["meta differs"])
    assert smoke.verdict is Verdict.FAIL and smoke.reasons == ("meta differs",)
    with pytest.raises(ValueError, match="line up"):
        judge_correctness(prompts, golden[:2], golden, BUDGET)
