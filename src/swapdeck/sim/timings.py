"""llama-server's `timings` object and how long a request takes on a simulated model.

Formulas follow the newer llama-server builds (bench-facts §2.3): the first generated token is
free (it comes from the last prompt batch), so decoding `n` tokens takes `n - 1` steps and
`predicted_per_second = 1e3 * (n - 1) / predicted_ms`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from swapdeck.sim.model import SimModel

_MIN_PREDICTED_MS = 0.001  # llama-server clamps predicted_ms to >= 1 µs


@dataclass(frozen=True, slots=True)
class Timings:
    cache_n: int
    prompt_n: int
    prompt_ms: float
    predicted_n: int
    predicted_ms: float

    @property
    def prompt_per_second(self) -> float:
        return 1e3 * self.prompt_n / self.prompt_ms

    @property
    def predicted_per_second(self) -> float:
        return 1e3 * max(0, self.predicted_n - 1) / self.predicted_ms

    def to_json(self) -> dict[str, Any]:
        """Exact keys and order of `server_slot_stats::to_json` (bench-facts §2.1)."""
        steps = max(1, self.predicted_n - 1)
        return {
            "cache_n": self.cache_n,
            "prompt_n": self.prompt_n,
            "prompt_ms": round(self.prompt_ms, 3),
            "prompt_per_token_ms": round(self.prompt_ms / self.prompt_n, 6),
            "prompt_per_second": round(self.prompt_per_second, 6),
            "predicted_n": self.predicted_n,
            "predicted_ms": round(self.predicted_ms, 3),
            "predicted_per_token_ms": round(self.predicted_ms / steps, 6),
            "predicted_per_second": round(self.predicted_per_second, 6),
        }


def speed_factor(model: SimModel, seed: int, concurrent: int) -> float:
    """How fast one request runs relative to `model`'s nominal rates: its jitter, drawn
    deterministically from `seed` (one per request from the host's seeded generator), and
    the slot contention of `concurrent` requests on the model."""
    spread = ((seed % 10_007) / 10_006 * 2 - 1) * model.speed_jitter
    return (1 + spread) / (1 + model.slot_contention * max(0, concurrent - 1))


def plan_timings(model: SimModel, *, prompt_tokens: int, cached_tokens: int,
                 output_tokens: int, speed: float = 1.0) -> Timings:
    """Server-side timings of one request on `model` running at `speed` × its rates.

    llama.cpp always re-evaluates at least the last prompt token, so at most
    `prompt_tokens - 1` tokens come from the cache.
    """
    if speed <= 0:
        raise ValueError(f"speed must be > 0, got {speed}")
    if prompt_tokens < 1:
        raise ValueError(f"prompt_tokens must be >= 1, got {prompt_tokens}")
    if output_tokens < 0:
        raise ValueError(f"output_tokens must be >= 0, got {output_tokens}")
    cache_n = max(0, min(cached_tokens, prompt_tokens - 1))
    prompt_n = prompt_tokens - cache_n
    prompt_ms = 1e3 * prompt_n / (model.prefill_tps * speed)
    steps = max(0, output_tokens - 1)
    predicted_ms = max(_MIN_PREDICTED_MS, 1e3 * steps / (model.decode_tps * speed))
    return Timings(cache_n, prompt_n, prompt_ms, output_tokens, predicted_ms)
