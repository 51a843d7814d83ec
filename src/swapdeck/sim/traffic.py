"""Seeded client traffic: which request comes next and when (Poisson arrivals).

`TrafficPlanner` is pure given its seed: the same seed yields the same sequence of gaps and
(model, path, sizes, status) choices, whatever the timing of the requests it starts. Popular
models are asked for more often (Zipf weights) and clients stick to a model for a while, so
swaps happen but do not dominate.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from swapdeck.sim.model import SimModel

STICKINESS = 0.8
"""Chance that the next request asks for the same model as the previous one."""

CLIENTS = (
    ("192.168.1.50", "OpenAI/Python 1.99.0"),
    ("192.168.1.61", "open-webui/0.6.18"),
    ("10.0.0.23", "curl/8.5.0"),
    ("192.168.1.77", "aider/0.86.1"),
    ("10.0.0.41", "continue/1.0.14"),
)


@dataclass(frozen=True, slots=True)
class RequestPlan:
    model: str
    path: str
    prompt_tokens: int
    output_tokens: int
    cached_tokens: int
    status: int
    remote_ip: str
    user_agent: str


class TrafficPlanner:
    def __init__(self, models: Sequence[SimModel], seed: int) -> None:
        if not models:
            raise ValueError("traffic needs at least one model")
        self._models = list(models)
        self._weights = [1.0 / (rank + 1) ** 1.3 for rank in range(len(self._models))]
        self._rng = random.Random(f"traffic:{seed}")
        self._last: SimModel | None = None

    def next_gap_s(self, rate_per_s: float) -> float:
        if rate_per_s <= 0:
            raise ValueError(f"rate_per_s must be > 0, got {rate_per_s}")
        return self._rng.expovariate(rate_per_s)

    def next_plan(self) -> RequestPlan:
        rng = self._rng
        if self._last is not None and rng.random() < STICKINESS:
            model = self._last
        else:
            model = rng.choices(self._models, weights=self._weights)[0]
        self._last = model
        remote_ip, user_agent = rng.choice(CLIENTS)
        prompt = int(min(6000, max(12, rng.lognormvariate(5.4, 0.9))))
        if model.is_embedding:
            path, output, cached = "/v1/embeddings", 0, 0
        else:
            path = "/v1/chat/completions" if rng.random() < 0.9 else "/v1/completions"
            output = int(min(1200, max(8, rng.lognormvariate(4.8, 0.7))))
            # Multi-turn chats reuse their prefix: about a third hit the prompt cache.
            cached = int(prompt * rng.uniform(0.5, 0.95)) if rng.random() < 0.35 else 0
        roll = rng.random()
        status = 500 if roll < 0.015 else 400 if roll < 0.025 else 200
        return RequestPlan(model.id, path, prompt, output, cached, status, remote_ip, user_agent)
