"""`swapdeck rank` end to end: JSON and table output, flags, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from swapdeck.cli import main
from swapdeck.pool.hardware import profile_from_json, profile_to_json
from swapdeck.pool.hardware_parsers import GIB

GPU_BOX: dict[str, Any] = {
    "gpus": [{"name": "NVIDIA GeForce RTX 3090", "vram_bytes": 24 * GIB}],
    "ram_bytes": 64 * GIB, "cpu_name": "AMD Ryzen 9 7950X", "cpu_cores": 16,
    "probed_at": 1_760_000_000.0,
}


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("SWAPDECK_CONFIG", raising=False)


def write(tmp_path: Path, name: str, data: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")
    return path


def test_json_output_ranks_the_catalog_for_the_given_box(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "box.json", profile_to_json(profile_from_json(GPU_BOX)))
    assert main(["rank", "--hardware", str(path), "--json", "--context", "4096"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["schema_version"] == 1 and data["context_tokens"] == 4096
    assert data["hardware"]["gpus"][0]["bandwidth_gbs"] == 936.2
    scores = [model["score"] for model in data["models"]]
    assert scores == sorted(scores, reverse=True) and len(scores) >= 10
    assert all(model["fit"] != "wont_fit" for model in data["models"])
    assert {"memory", "speed", "evidence", "explain"} <= set(data["models"][0])


def test_all_includes_what_cannot_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    small = {**GPU_BOX, "gpus": [], "ram_bytes": 8 * GIB}
    path = write(tmp_path, "small.json", small)
    assert main(["rank", "--hardware", str(path), "--json", "--all"]) == 0
    fits = [model["fit"] for model in json.loads(capsys.readouterr().out)["models"]]
    assert "wont_fit" in fits and "cpu_only" in fits


def test_table_output_and_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    unknown = {**GPU_BOX, "gpus": [{"name": "NVIDIA Graphics Device", "vram_bytes": 16 * GIB}]}
    path = write(tmp_path, "unknown.json", unknown)
    assert main(["rank", "--hardware", str(path)]) == 0
    out = capsys.readouterr().out
    assert "model" in out and "score" in out and "fit" in out
    assert "≥" in out  # lower-bound speeds for the unknown card
    assert "warning: GPU 'NVIDIA Graphics Device'" in out


def test_measured_evidence_shows_as_measured(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    box = profile_from_json(GPU_BOX)
    path = write(tmp_path, "box.json", profile_to_json(box))
    evidence = write(tmp_path, "evidence.json", [{
        "model_id": "qwen3-8b-q4_k_m", "source": "swapdeck-bench", "grade": "measured",
        "metric": "decode_tps", "value": 61.5, "observed_at": 1_760_000_000.0,
        "hardware_fingerprint": box.fingerprint, "run_id": "bench-7",
    }])
    assert main(["rank", "--hardware", str(path), "--json", "--evidence", str(evidence)]) == 0
    models = {m["id"]: m for m in json.loads(capsys.readouterr().out)["models"]}
    assert models["qwen3-8b-q4_k_m"]["speed"]["basis"] == "measured"
    assert models["qwen3-8b-q4_k_m"]["speed"]["tokens_per_s"] == 61.5


@pytest.mark.parametrize(("args", "needle"), [
    (["--hardware", "{missing}"], "cannot read"),
    (["--hardware", "{bad}"], "cpu_name: expected a string"),
    (["--context", "0"], "--context: expected a positive number"),
    (["--evidence", "{bad_evidence}"], "expected model_id"),
])
def test_expected_failures_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], needle: str
) -> None:
    names = {"missing": str(tmp_path / "nope.json"),
             "bad": str(write(tmp_path, "bad.json", {"ram_bytes": 5})),
             "bad_evidence": str(write(tmp_path, "ev.json", [{"model_id": "x"}]))}
    hardware = ["--hardware", str(write(tmp_path, "ok.json", GPU_BOX))]
    argv = ["rank", *hardware, *[arg.format(**names) for arg in args]]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("swapdeck rank: ") and needle in err and "\n" not in err


def test_bad_pool_config_is_a_config_error(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    config = write(tmp_path, "config.toml", "[pool]\ncontext_tokens = -3\n")
    hardware = write(tmp_path, "ok.json", GPU_BOX)
    assert main(["--config", str(config), "rank", "--hardware", str(hardware)]) == 2
    err = capsys.readouterr().err
    assert "config error" in err and "pool.context_tokens" in err


def test_pool_config_context_is_the_default(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    config = write(tmp_path, "config.toml", "[pool]\ncontext_tokens = 2048\n")
    hardware = write(tmp_path, "ok.json", GPU_BOX)
    assert main(["--config", str(config), "rank", "--hardware", str(hardware), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["context_tokens"] == 2048


def test_probing_this_machine_works_and_caches(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rank", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["models"]
    assert (tmp_path / "cache" / "swapdeck" / "hardware.json").exists()
