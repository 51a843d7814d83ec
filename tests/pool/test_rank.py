"""Ranking: every row explains itself, the order is fixed, measured speed wins."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from swapdeck.pool.catalog import load_catalog
from swapdeck.pool.estimate import GIB, Fit, ModelShape, SpeedBasis
from swapdeck.pool.evidence import DAY_S, Grade, Metric, Observation
from swapdeck.pool.hardware import HardwareProfile, profile_from_json
from swapdeck.pool.rank import Candidate, rank, size_prior

NOW = 1_760_000_000.0


def hardware(gpus: list[tuple[str, float]] | None = None, ram_gib: float = 64,
             cpu: str = "AMD EPYC 7763 64-Core Processor") -> HardwareProfile:
    data: dict[str, Any] = {
        "gpus": [{"name": name, "vram_bytes": int(gib * GIB)} for name, gib in gpus or []],
        "ram_bytes": int(ram_gib * GIB), "cpu_name": cpu, "cpu_cores": 64,
    }
    return profile_from_json(data)


def dense(model_id: str, billions: float, ctx: int = 32768, quant: str = "Q4_K_M") -> Candidate:
    return Candidate(model_id, ModelShape(billions * 1e9, layers=32, kv_heads=8, head_dim=128),
                     quant, ctx)


def test_a_cpu_only_box_gets_a_ranking_of_the_whole_catalog() -> None:
    rows = rank(load_catalog().candidates(), hardware(ram_gib=64), [], now=NOW,
                context_tokens=8192)
    assert len(rows) >= 10
    assert all(row.fit.verdict is Fit.CPU_ONLY and row.score > 0 for row in rows)
    assert all(row.speed.basis is SpeedBasis.ESTIMATED for row in rows)


def test_unrunnable_models_are_filtered_unless_asked_and_then_score_0_last() -> None:
    candidates = [dense("small", 1), dense("huge", 400)]
    box = hardware(ram_gib=16)
    assert [row.id for row in rank(candidates, box, [], now=NOW, context_tokens=4096)] == ["small"]
    rows = rank(candidates, box, [], now=NOW, context_tokens=4096, include_unrunnable=True)
    assert [row.id for row in rows] == ["small", "huge"]
    assert rows[1].score == 0 and rows[1].fit.verdict is Fit.WONT_FIT and not rows[1].runnable


def test_ties_are_broken_by_id_in_code_point_order() -> None:
    same = [dense(name, 7) for name in ("b", "a", "B", "_")]
    rows = rank(same, hardware(), [], now=NOW, context_tokens=4096)
    assert len({row.score for row in rows}) == 1
    assert [row.id for row in rows] == ["B", "_", "a", "b"]


def test_score_is_the_documented_formula() -> None:
    (row,) = rank([dense("m", 8)], hardware([("NVIDIA GeForce RTX 3090", 24)]), [], now=NOW,
                  context_tokens=8192)
    speed = row.speed.tokens_per_s
    assert row.prior == pytest.approx(8 / 18)
    assert row.quality == pytest.approx(row.prior * (1 - 0.04))  # no evidence: the prior
    assert row.score == pytest.approx(100 * 1.0 * row.quality * math.sqrt(speed / (speed + 10)))


def test_evidence_moves_quality_and_is_listed_with_grade_and_weight() -> None:
    observations = [Observation("m", "open-llm-leaderboard", Grade.DIRECT, Metric.QUALITY, 80,
                                NOW - 10 * DAY_S)]
    (row,) = rank([dense("m", 8)], hardware(), observations, now=NOW, context_tokens=4096)
    (used,) = row.evidence.used
    expected = (used.weight * 0.8 + 0.5 * row.prior) / (used.weight + 0.5) * (1 - 0.04)
    assert row.quality == pytest.approx(expected)
    assert any("open-llm-leaderboard direct 80" in line for line in row.explain())


def test_score_stays_below_100_with_perfect_evidence_and_speed() -> None:
    perfect = [Observation("m", "open-llm-leaderboard", Grade.DIRECT, Metric.QUALITY, 100, NOW)
               for _ in range(50)]
    box = hardware([("NVIDIA H200", 141)])
    fast = Candidate("m", ModelShape(500e9, layers=2, kv_heads=1, head_dim=64), "F16", 10**6,
                     file_size_bytes=10**6)
    (row,) = rank([fast], box, perfect, now=NOW, context_tokens=4096)
    assert 90 < row.score < 100


def test_measured_speed_on_this_box_replaces_the_estimate() -> None:
    box = hardware([("NVIDIA GeForce RTX 3090", 24)])
    measured = Observation("m", "swapdeck-bench", Grade.MEASURED, Metric.DECODE_TPS, 77.0, NOW,
                           hardware_fingerprint=box.fingerprint, run_id="run-42")
    elsewhere = Observation("m", "swapdeck-bench", Grade.MEASURED, Metric.DECODE_TPS, 500.0, NOW,
                            hardware_fingerprint="another-box", run_id="run-43")
    (row,) = rank([dense("m", 8)], box, [measured, elsewhere], now=NOW, context_tokens=4096)
    assert row.speed.basis is SpeedBasis.MEASURED and row.speed.tokens_per_s == 77.0
    assert "run-42" in row.speed.detail and "estimate was" in row.speed.detail
    (estimated,) = rank([dense("m", 8)], box, [elsewhere], now=NOW, context_tokens=4096)
    assert estimated.speed.basis is SpeedBasis.ESTIMATED


def test_short_context_window_costs_score_and_caps_the_kv_cache() -> None:
    long_ctx, short_ctx = dense("long", 8, ctx=32768), dense("short", 8, ctx=4096)
    rows = {row.id: row for row in rank([long_ctx, short_ctx], hardware(), [], now=NOW,
                                        context_tokens=8192)}
    assert rows["short"].context_factor == pytest.approx(0.75)
    assert rows["short"].context_tokens == 4096 and rows["long"].context_tokens == 8192
    assert rows["short"].score < rows["long"].score


def test_unknown_gpu_rows_say_their_speed_is_a_lower_bound() -> None:
    (row,) = rank([dense("m", 8)], hardware([("NVIDIA Graphics Device", 16)]), [], now=NOW,
                  context_tokens=4096)
    assert row.speed.basis is SpeedBasis.LOWER_BOUND and row.speed.high is None


def test_every_row_explains_itself_and_serialises_to_json() -> None:
    rows = rank(load_catalog().candidates(), hardware([("NVIDIA GeForce RTX 4090", 24)]), [],
                now=NOW, context_tokens=8192, include_unrunnable=True)
    for row in rows:
        text = "\n".join(row.explain())
        assert "fit: " in text and "memory " in text and "weights" in text and "KV" in text
        assert "speed " in text and f"[{row.speed.basis.value}]" in text
        data = json.loads(json.dumps(row.to_dict()))
        assert data["id"] == row.id and data["fit"] == row.fit.verdict.value
        assert data["memory"]["total_bytes"] == row.memory.total_bytes


def test_moe_prior_uses_the_dense_equivalent_size() -> None:
    moe = ModelShape(30e9, active_params=3e9)
    assert size_prior(moe) == pytest.approx(math.sqrt(90) / (math.sqrt(90) + 10))
