"""Activity records (§3.1): what llama-swap keeps about a finished request, in each era's shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from swapdeck.sim.era import EraTraits
from swapdeck.sim.timefmt import rfc3339
from swapdeck.sim.timings import Timings

UNKNOWN = -1


@dataclass(frozen=True, slots=True)
class TokenCounts:
    """What llama-swap could read from the upstream body; -1 = unknown (§3.1)."""

    cache_tokens: int
    input_tokens: int
    output_tokens: int
    prompt_per_second: float
    tokens_per_second: float
    draft_tokens: int = UNKNOWN
    """-1: no speculative decoding (the simulated servers never draft)."""
    draft_acc_tokens: int = UNKNOWN


FAILED_TOKENS = TokenCounts(0, 0, 0, 0.0, 0.0, draft_tokens=0, draft_acc_tokens=0)
"""Non-200 or unparseable bodies: all token fields 0, not -1 (§3.1, §12)."""


def tokens_from_timings(timings: Timings) -> TokenCounts:
    """llama-server bodies carry `timings`: counts and both rates are known."""
    return TokenCounts(timings.cache_n, timings.prompt_n, timings.predicted_n,
                       round(timings.prompt_per_second, 2), round(timings.predicted_per_second, 2))


def tokens_from_usage(prompt_tokens: int, completion_tokens: int) -> TokenCounts:
    """A body with `usage` only: counts known, cache and rates unknown."""
    return TokenCounts(UNKNOWN, prompt_tokens, completion_tokens, float(UNKNOWN), float(UNKNOWN))


@dataclass(frozen=True, slots=True)
class Completed:
    """One finished proxied request, before it has an id."""

    model: str
    req_path: str
    status: int
    content_type: str
    finished_ns: int
    duration_ms: int
    tokens: TokenCounts
    error_msg: str = ""


def duration_ms(wall_ms: float, timings: Timings | None) -> int:
    """max(wall time, prompt_ms + predicted_ms) (§3.1)."""
    server_ms = timings.prompt_ms + timings.predicted_ms if timings else 0.0
    return int(max(wall_ms, server_ms))


def is_recorded(traits: EraTraits, status: int) -> bool:
    """Failed requests are not recorded at all before v229 (§12)."""
    return status == 200 or traits.failures_recorded


def render_record(traits: EraTraits, record_id: int, done: Completed, *, has_capture: bool,
                  whole_seconds: bool) -> dict[str, Any]:
    """The record as the era serialises it (struct field order of §3.1)."""
    stamp = rfc3339(done.finished_ns, whole_seconds=whole_seconds)
    tokens = done.tokens
    if traits.flat_records:
        return {
            "id": record_id, "timestamp": stamp, "model": done.model,
            "cache_tokens": tokens.cache_tokens, "input_tokens": tokens.input_tokens,
            "output_tokens": tokens.output_tokens,
            "prompt_per_second": tokens.prompt_per_second,
            "tokens_per_second": tokens.tokens_per_second,
            "duration_ms": done.duration_ms, "has_capture": has_capture,
        }
    record: dict[str, Any] = {
        "id": record_id, "timestamp": stamp, "model": done.model, "req_path": done.req_path,
        "resp_content_type": done.content_type, "resp_status_code": done.status,
        "tokens": {
            "cache_tokens": tokens.cache_tokens,
            "draft_tokens": tokens.draft_tokens,
            "draft_acc_tokens": tokens.draft_acc_tokens,
            "input_tokens": tokens.input_tokens,
            "output_tokens": tokens.output_tokens,
            "prompt_per_second": tokens.prompt_per_second,
            "tokens_per_second": tokens.tokens_per_second,
        },
        "duration_ms": done.duration_ms, "has_capture": has_capture,
    }
    if done.error_msg:
        record["error_msg"] = done.error_msg  # omitempty
    return record
