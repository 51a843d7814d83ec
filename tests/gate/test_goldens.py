"""The recorded baseline: a readable JSON file that round-trips, and names what is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from swapdeck.config import ConfigError
from swapdeck.gate.correctness import Answer, GoldenPrompt
from swapdeck.gate.goldens import (
    Baseline,
    ModelFingerprint,
    baseline_dict,
    goldens_from,
    parse_baseline,
    read_baseline,
    write_baseline,
)
from swapdeck.gate.speed import SideValues


def a_baseline() -> Baseline:
    prompts = [GoldenPrompt("fact", "What is the capital of France?", 16, ("Paris",)),
               GoldenPrompt("plain", "Hi", 8)]
    answers = [Answer("The capital of France is Paris.", (504, 3575, 2), "stop", "b0-unknown"),
               Answer("Hello!", None, "stop", None)]
    return Baseline(
        recorded_at="2025-11-22T23:10:00Z",
        engine={"build": "b0-unknown", "release": "b11434", "sha256": "a" * 64},
        model=ModelFingerprint("m.gguf", "c" * 64, 98_000_000, {"n_params": 134_515_008}),
        hardware={"cpu": "x", "logical_cpus": 2}, hardware_fingerprint="f" * 64,
        request={"temperature": 0.0, "top_k": 1}, goldens=goldens_from(prompts, answers),
        speed_suite={"name": "engine-gate"},
        speed={"pp64/tg32/c1": SideValues({"tg_norm": [40.0, 41.0]}, 2)})


def test_round_trip_through_a_readable_file(tmp_path: Path) -> None:
    baseline = a_baseline()
    path = tmp_path / "baseline.json"
    write_baseline(path, baseline)
    text = path.read_text()
    assert '"expected_text": "The capital of France is Paris."' in text, "reviewers read it"
    loaded = read_baseline(path)
    # The file keeps no fingerprint per answer (the engine block names the build).
    expected = [Answer(g.answer.text, g.answer.token_ids, g.answer.finish_reason, None)
                for g in baseline.goldens]
    assert [g.answer for g in loaded.goldens] == expected
    assert [g.prompt for g in loaded.goldens] == [g.prompt for g in baseline.goldens]
    assert loaded.speed == baseline.speed and loaded.model == baseline.model
    assert loaded.engine == baseline.engine and loaded.speed_suite == baseline.speed_suite


def mutated(change: dict[str, object]) -> dict[str, object]:
    data = baseline_dict(a_baseline())
    data.update(change)
    return data


@pytest.mark.parametrize(("change", "key"), [
    ({"kind": "other"}, "kind"),
    ({"version": 9}, "version"),
    ({"prompts": []}, "prompts"),
    ({"prompts": [{"id": "x", "prompt": "y", "max_tokens": 4, "expected_text": "z",
                   "token_ids": ["a"]}]}, "prompts[0].token_ids"),
    ({"prompts": [{"id": "x", "prompt": "y", "max_tokens": 0, "expected_text": "z",
                   "token_ids": []}]}, "prompts[0].max_tokens"),
    ({"prompts": [{"prompt": "y", "max_tokens": 4, "expected_text": "z",
                   "token_ids": []}]}, "prompts[0].id"),
    ({"model": {"sha256": "x"}}, "model.size_bytes"),
    ({"speed": {"cells": {"c": {"requests": 1}}}}, "speed.cells"),
])
def test_bad_baselines_name_the_key(change: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_baseline(mutated(change), "b.json")
    assert error.value.key == key


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="readable baseline"):
        read_baseline(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ConfigError, match="expected JSON"):
        read_baseline(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text(json.dumps([1]))
    with pytest.raises(ConfigError, match="swapdeck-gate-baseline"):
        read_baseline(tmp_path / "list.json")
