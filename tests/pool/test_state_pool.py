"""pool.json: atomic, versioned, migrated; pure state changes; the effective policy."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from swapdeck.pool.errors import NotAllowed, PoolStateInvalid
from swapdeck.pool.settings import PoolSettings
from swapdeck.pool.state import (
    GB,
    POOL_VERSION,
    PoolEntry,
    PoolState,
    check_allowed,
    effective_policy,
    load_pool,
    record_use,
    save_pool,
    with_allowed_org,
    with_budget,
    with_entry,
    write_file_atomically,
)


def entry(model_id: str, size: int = 100, **extra: object) -> PoolEntry:
    return PoolEntry(id=model_id, installer="llama-swap", size_bytes=size, installed_at=10.0,
                     **extra)  # type: ignore[arg-type]


def test_round_trip_keeps_everything_and_a_backup(tmp_path: Path) -> None:
    path = tmp_path / "data" / "pool.json"
    first = with_entry(PoolState(), entry("b", score=3.5, sha256="ab" * 32, verified=True))
    save_pool(path, first)
    second = with_entry(with_budget(first, 5 * GB), entry("a", last_used_at=99.0))
    save_pool(path, second)
    assert load_pool(path) == second
    assert [e.id for e in load_pool(path).entries] == ["a", "b"]
    assert load_pool(path.with_name("pool.json.bak")) == first
    assert json.loads(path.read_text())["version"] == POOL_VERSION
    leftovers = [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_missing_file_is_an_empty_pool(tmp_path: Path) -> None:
    assert load_pool(tmp_path / "pool.json") == PoolState()


def test_corrupt_or_newer_files_are_refused_with_the_path(tmp_path: Path) -> None:
    path = tmp_path / "pool.json"
    path.write_text("{ not json")
    with pytest.raises(PoolStateInvalid, match=r"pool\.json: expected JSON"):
        load_pool(path)
    path.write_text(json.dumps({"version": POOL_VERSION + 1, "entries": []}))
    with pytest.raises(PoolStateInvalid, match="newer swapdeck"):
        load_pool(path)
    path.write_text(json.dumps({"version": POOL_VERSION, "entries": [{"id": "x"}]}))
    with pytest.raises(PoolStateInvalid, match=r"entries\.0"):
        load_pool(path)


def test_unversioned_he_pool_is_migrated(tmp_path: Path) -> None:
    """ranking-facts §5: HE's pool state (camelCase, GiB, ISO times) is version 0."""
    path = tmp_path / "pool.json"
    path.write_text(json.dumps({
        "diskBudgetGb": 50, "diskUsedGb": 4.5, "allowedOrgs": ["Qwen"], "allowedFamilies": [],
        "lastRefreshAt": "2026-11-01T00:00:00Z",
        "entries": [{"ollamaName": "qwen3:8b", "hfRepoId": "Qwen/Qwen3-8B", "sizeOnDiskGb": 4.5,
                     "installedAt": "2026-10-01T12:00:00Z", "lastUsedAt": None,
                     "currentScore": 61.5}],
    }))
    state = load_pool(path)
    assert state.version == POOL_VERSION
    assert state.disk_budget_bytes == 50 * 2**30 and state.allowed_orgs == ("Qwen",)
    (only,) = state.entries
    assert (only.id, only.installer, only.org, only.score) == ("qwen3:8b", "ollama", "Qwen", 61.5)
    assert only.size_bytes == round(4.5 * 2**30) and only.last_used_at is None
    assert only.installed_at == 1790856000.0  # 2026-10-01T12:00:00Z


def test_record_use_moves_forward_only_and_ignores_strangers() -> None:
    state = with_entry(PoolState(), entry("a"))
    used = record_use(state, "a", 500.0)
    assert used.find("a").last_used_at == 500.0  # type: ignore[union-attr]
    assert record_use(used, "a", 400.0) == used
    assert record_use(used, "not-in-pool", 900.0) == used


def test_policy_overlays_pool_json_on_the_config() -> None:
    settings = PoolSettings(disk_budget_gb=20, allowed_orgs=("Qwen",))
    state = with_allowed_org(PoolState(), "bartowski")
    policy = effective_policy(settings, state)
    assert policy.budget_bytes == 20 * GB
    assert policy.allowed_orgs == ("Qwen", "bartowski")
    assert effective_policy(settings, with_budget(state, 7)).budget_bytes == 7


def test_allow_lists_gate_orgs_and_families() -> None:
    policy = effective_policy(PoolSettings(allowed_orgs=("Qwen",),
                                           allowed_families=("qwen3",)), PoolState())
    check_allowed(policy, "qwen3-8b", "qwen", "Qwen3")  # case does not matter
    with pytest.raises(NotAllowed, match="swapdeck pool allow meta-llama"):
        check_allowed(policy, "llama-8b", "meta-llama", "qwen3")
    with pytest.raises(NotAllowed, match="family 'llama'"):
        check_allowed(policy, "x", "Qwen", "llama")
    check_allowed(effective_policy(PoolSettings(), PoolState()), "any", "anyone", "any")


def test_atomic_write_keeps_the_file_mode(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("old")
    os.chmod(path, 0o640)
    write_file_atomically(path, b"new")
    assert path.read_text() == "new" and (path.stat().st_mode & 0o777) == 0o640
