"""What a run will cost before it starts: cells, requests and an estimated duration. Pure.

The estimate uses the model's recent finished requests on the host (llama-swap's activity
rows carry prefill and decode t/s, llama-swap-api §3.1): one request takes about
`pp / prompt_tps + (tg − 1) / decode_tps`, and a round of `c` concurrent requests is costed
as if they ran one after another (an upper bound: batching only makes it faster). Without
such rows there is no estimate, never a made-up one.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass

from swapdeck.bench.suite import Suite
from swapdeck.events import ActivityRecord

PROBE_REQUESTS = 3


@dataclass(frozen=True, slots=True)
class RunPlan:
    cells: int
    requests: int
    """Per model, warmups included, probes excluded."""
    estimated_s: float | None
    basis: str
    """Where the estimate comes from, in words."""


def _rates(records: Iterable[ActivityRecord], model: str) -> tuple[float, float] | None:
    prompt, decode = [], []
    for record in records:
        if record.model != model or not record.ok:
            continue
        if record.prompt_tps > 0:
            prompt.append(record.prompt_tps)
        if record.decode_tps > 0:
            decode.append(record.decode_tps)
    if not prompt or not decode:
        return None
    return statistics.median(prompt), statistics.median(decode)


def plan_run(suite: Suite, model: str, recent: Iterable[ActivityRecord]) -> RunPlan:
    cells = suite.cells()
    requests = suite.requests_per_model()
    rates = _rates(recent, model)
    if rates is None:
        return RunPlan(len(cells), requests, None,
                       f"no recent requests to {model} on this host to estimate from")
    prompt_tps, decode_tps = rates
    rounds = suite.run.warmup + suite.run.repetitions
    total = 0.0
    for cell in cells:
        one = cell.prompt_tokens / prompt_tps + (cell.gen_tokens - 1) / decode_tps
        total += rounds * cell.concurrency * one
    total += PROBE_REQUESTS * (64 / prompt_tps + 1 / decode_tps)
    return RunPlan(len(cells), requests, total,
                   f"recent {model} speed: {prompt_tps:.0f} prompt t/s, "
                   f"{decode_tps:.1f} decode t/s")
