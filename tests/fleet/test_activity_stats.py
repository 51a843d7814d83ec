"""Per-model aggregates of the Activity screen's side panel."""

from __future__ import annotations

import pytest

from swapdeck.events import UNKNOWN, ActivityRecord
from swapdeck.fleet.activity_stats import ModelStats, model_stats, percentile


def record(model: str, decode: float, prefill: float, status: int | None = 200,
           rid: int = 0) -> ActivityRecord:
    return ActivityRecord(remote_id=rid, epoch=0, finished_at=1000.0 + rid, model=model,
                          req_path="/v1/chat/completions", status_code=status,
                          content_type="application/json", cache_tokens=0, input_tokens=10,
                          output_tokens=20, prompt_tps=prefill, decode_tps=decode,
                          duration_ms=100)


def test_percentile_matches_linear_interpolation_by_hand() -> None:
    assert percentile([10.0, 20.0, 30.0, 40.0], 50) == 25.0
    assert percentile([10.0, 20.0, 30.0, 40.0], 95) == pytest.approx(38.5)
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) is None
    with pytest.raises(ValueError, match=r"within 0\.\.100"):
        percentile([1.0], 101)


def test_unknown_and_failed_rates_are_not_measurements() -> None:
    """§3.1: -1 means unknown; failed requests carry 0 token fields — neither is a rate."""
    records = [
        record("qwen", 80.0, 1500.0, rid=1),
        record("qwen", 40.0, float(UNKNOWN), rid=2),
        record("qwen", 0.0, 0.0, status=500, rid=3),
        record("qwen", float(UNKNOWN), 1000.0, status=None, rid=4),  # pre-v209: no status
        record("gemma", float(UNKNOWN), float(UNKNOWN), rid=5),
    ]
    stats = model_stats(records)
    assert stats == [
        ModelStats("qwen", count=4, errors=1, decode_p50=60.0, decode_p95=pytest.approx(78.0),
                   prefill_p50=1250.0, prefill_p95=pytest.approx(1475.0)),
        ModelStats("gemma", count=1, errors=0, decode_p50=None, decode_p95=None,
                   prefill_p50=None, prefill_p95=None),
    ]


def test_order_is_busiest_first_then_by_name() -> None:
    records = [record("b", 1, 1, rid=1), record("a", 1, 1, rid=2), record("c", 1, 1, rid=3),
               record("c", 1, 1, rid=4)]
    assert [s.model for s in model_stats(records)] == ["c", "a", "b"]
    assert model_stats([]) == []
