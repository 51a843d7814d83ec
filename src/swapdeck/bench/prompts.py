"""Prompts of an exact token length, each opened by a nonce that defeats prefix caching.

llama.cpp reuses the longest common *prefix* (including its host-RAM prompt cache), so the
nonce goes at the START of the user message (bench-facts §0.4). The rest is a filler of
common words that is the same for every request of a cell.

Sizing: the chat template adds tokens around the message, so the target is the server's
`usage.prompt_tokens`. With a tokenizer endpoint (llama-server `/tokenize`) the content is
counted exactly and the template overhead is measured once per model; without one, two
probe requests calibrate tokens per word and the overhead (`Calibration`).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

FILLER_WORDS = (
    "the", "river", "ran", "past", "an", "old", "mill", "where", "children", "played", "in",
    "summer", "and", "their", "voices", "carried", "over", "water", "to", "quiet", "fields",
    "of", "wheat", "that", "moved", "with", "wind", "like", "a", "slow", "green", "sea",
    "under", "long", "afternoon", "light", "while", "farmers", "walked", "home", "from",
    "market", "talking", "about", "rain", "prices", "weather", "next", "year", "harvest",
)
MAX_SIZING_STEPS = 8

TokenCounter = Callable[[str], Awaitable[int]]


def filler(words: int, seed: int) -> str:
    """`words` deterministic filler words, each with its leading space."""
    rng = random.Random(seed)
    return "".join(" " + rng.choice(FILLER_WORDS) for _ in range(max(0, words)))


def make_nonce(rng: random.Random) -> str:
    return f"[{rng.getrandbits(48):012x}]"


@dataclass(frozen=True, slots=True)
class Calibration:
    """Prompt tokens ≈ overhead + tokens_per_word × words (the nonce counts as part of it)."""

    overhead: float
    tokens_per_word: float

    @classmethod
    def from_probes(cls, words_a: int, tokens_a: int, words_b: int,
                    tokens_b: int) -> Calibration:
        if words_b == words_a or tokens_b <= tokens_a:
            raise ValueError(f"calibration probes did not grow: {words_a} words -> {tokens_a} "
                             f"tokens, {words_b} words -> {tokens_b} tokens")
        per_word = (tokens_b - tokens_a) / (words_b - words_a)
        return cls(overhead=tokens_a - per_word * words_a, tokens_per_word=per_word)

    def words_for(self, prompt_tokens: int) -> int:
        return max(1, round((prompt_tokens - self.overhead) / self.tokens_per_word))


@dataclass(frozen=True, slots=True)
class SizedPrompt:
    text: str
    expected_tokens: int | None
    """What the server should report as prompt tokens; None when only estimated."""


async def sized_exact(count: TokenCounter, *, nonce: str, content_tokens: int, seed: int,
                      template_overhead: int) -> SizedPrompt:
    """A message of exactly `content_tokens` tokens (by the server's own tokenizer).

    Filler words are mostly one token each, so each step corrects the word count by the
    token error; it settles in one or two steps. If it cannot hit the count exactly it
    keeps the closest text not above the target.
    """
    words = max(1, content_tokens - await count(nonce))
    best: tuple[int, str] | None = None
    for _ in range(MAX_SIZING_STEPS):
        text = nonce + filler(words, seed)
        tokens = await count(text)
        if tokens == content_tokens:
            return SizedPrompt(text, tokens + template_overhead)
        if tokens < content_tokens and (best is None or tokens > best[0]):
            best = (tokens, text)
        step = content_tokens - tokens
        words = max(1, words + (step if abs(step) > 1 else (1 if step > 0 else -1)))
    if best is None:
        text = nonce + filler(1, seed)
        best = (await count(text), text)
    return SizedPrompt(best[1], best[0] + template_overhead)


def sized_calibrated(calibration: Calibration, *, nonce: str, prompt_tokens: int,
                     seed: int) -> SizedPrompt:
    return SizedPrompt(nonce + filler(calibration.words_for(prompt_tokens), seed), None)
