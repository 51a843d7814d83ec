"""The demo's catalog and pool: stand-in files with real hashes served on loopback, a
realistic llama-swap config, pre-installed models, and a big model that needs an eviction."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import aiohttp

from swapdeck.pool.catalog import Bracket, load_catalog
from swapdeck.pool.demo_catalog import (
    DEMO_BUDGET_GB,
    DEMO_PICKS,
    DEMO_PREINSTALLED,
    DEMO_SCALE,
    build_demo_catalog,
    demo_bytes,
)
from swapdeck.pool.installers.llamaswap_config import model_ids
from swapdeck.pool.session import PoolSession
from swapdeck.pool.settings import PoolSettings
from swapdeck.pool.state import load_pool
from swapdeck.sim.catalog_server import start_demo_pool
from tests.pool.test_session_fixtures import fixed_profile

SCALE = 100_000
"""1/100000 of the real GGUFs: 20–430 kB files, quick to hash and to serve."""


def test_stand_ins_are_deterministic_and_say_what_they_are() -> None:
    data = demo_bytes("qwen3-8b", 3_000_000)
    assert data == demo_bytes("qwen3-8b", 3_000_000) and len(data) == 3_000_000
    assert data.startswith(b"swapdeck demo stand-in for qwen3-8b: deterministic bytes, not a")
    assert data != demo_bytes("qwen3-4b", 3_000_000)
    first, second = data[100:100 + 1_000_000], data[100 + 1_000_000:100 + 2_000_000]
    assert first != second  # every MiB differs: a resume at the wrong offset cannot hash right


def test_the_demo_catalog_is_the_real_ranking_with_small_verified_files() -> None:
    shipped = load_catalog()
    demo = build_demo_catalog(shipped, scale=SCALE)
    assert [e.id for e in demo.catalog.entries] == [pick for pick, _ in DEMO_PICKS]
    for (demo_id, shipped_id), entry, candidate in zip(DEMO_PICKS, demo.catalog.entries,
                                                       demo.candidates, strict=True):
        real = shipped.get(shipped_id)
        assert real is not None
        data = demo.files[entry.file]
        assert entry.sha256 == hashlib.sha256(data).hexdigest() and entry.sha256_known
        assert entry.size_bytes == len(data) == max(4096, real.size_bytes // SCALE)
        assert entry.bracket is real.bracket and entry.shape == real.shape
        assert candidate.id == demo_id and candidate.file_size_bytes == real.size_bytes
    for bracket in Bracket:  # parse_catalog's rule: one recommended entry per bracket
        assert sum(e.recommended for e in demo.catalog.in_bracket(bracket)) == 1
    source = demo.source("http://127.0.0.1:8765")
    assert source.target("llama-3.1-8b", score=1.0).download_url() == \
        "http://127.0.0.1:8765/files/llama-3.1-8b.gguf"


async def test_the_demo_pool_starts_filled_and_its_big_model_needs_an_eviction(
        tmp_path: Path) -> None:
    pool = await start_demo_pool(tmp_path, rate_bps=None, scale=SCALE, hardware=fixed_profile)
    try:
        async with aiohttp.ClientSession() as client, \
                client.get(pool.server.base_url + "/catalog.json") as reply:
            served = json.loads(await reply.read())
        assert [e["id"] for e in served["entries"]] == [pick for pick, _ in DEMO_PICKS]
        assert "[pool]" in pool.config_toml and "hub_offline = true" in pool.config_toml

        state = load_pool(tmp_path / "pool.json")
        assert sorted(e.id for e in state.entries) == sorted(DEMO_PREINSTALLED)
        assert all(e.verified for e in state.entries)
        config = tmp_path / "pool" / "llama-swap" / "config.yaml"
        text = config.read_text(encoding="utf-8")
        assert text.startswith("# llama-swap config for the swapdeck demo")
        assert set(model_ids(text, config)) == {"nomic-embed", *DEMO_PREINSTALLED}

        budget_gb = DEMO_BUDGET_GB * DEMO_SCALE / SCALE
        assert f"disk_budget_gb = {budget_gb}" in pool.config_toml
        settings = PoolSettings(models_dir=tmp_path / "pool" / "models",
                                llama_swap_config=config, disk_budget_gb=budget_gb)
        session = PoolSession(settings, tmp_path, hardware=fixed_profile,
                              catalog=lambda: pool.source)
        await session.start()
        assert not (await session.plan_install("qwen3-4b-q4_k_m")).eviction.victims
        big = await session.plan_install("qwen3-30b-a3b")
        assert big.eviction.victims and big.eviction.covers
        await session.aclose()
        port = pool.server.port
    finally:
        await pool.stop()

    again = await start_demo_pool(tmp_path, rate_bps=None, scale=SCALE, hardware=fixed_profile)
    try:
        assert again.server.port == port  # a resumed download finds the same URL
        assert len(load_pool(tmp_path / "pool.json").entries) == len(DEMO_PREINSTALLED)
    finally:
        await again.stop()
