"""Fixed inputs for the pool session and Pool screen tests: one box, one catalog, small files.

The hardware profile is a fixed JSON document (a 24 GiB RTX 4090 box with explicit bandwidth
figures and one probe warning), the catalog a fixed list of real model shapes whose downloads
are stand-ins of a few hundred kB with real sha256s, so rankings, sizes and hashes are the
same on every run and machine. `pool_settings` puts the models dir and the llama-swap config
under a temp dir; `install_all` fills a pool through a real session against a loopback server.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import pytest

from swapdeck.pool.catalog import parse_catalog
from swapdeck.pool.demo_catalog import LLAMA_SWAP_CONFIG, demo_bytes
from swapdeck.pool.hardware import HardwareProfile, profile_from_json
from swapdeck.pool.rank import Candidate
from swapdeck.pool.session import PoolSession
from swapdeck.pool.session_values import CatalogSource, JobState
from swapdeck.pool.settings import PoolSettings
from swapdeck.sim.catalog_server import CatalogServer

NOW = 1_750_000_000.0
GIB = 1 << 30

HARDWARE_JSON: dict[str, Any] = {
    "schema": 1, "probed_at": NOW - 3600,
    "gpus": [{"name": "NVIDIA GeForce RTX 4090", "vram_bytes": 24 * GIB, "bandwidth_gbs": 1008.0,
              "bandwidth_source": "published: NVIDIA GeForce RTX 4090 spec sheet",
              "bandwidth_warning": None}],
    "ram_bytes": 64 * GIB, "cpu_name": "AMD Ryzen 9 7950X 16-Core Processor", "cpu_cores": 16,
    "cpu_bandwidth_gbs": 83.2, "cpu_bandwidth_source": "published: DDR5-5200, 2 channels",
    "unified_memory": False, "backend": "cuda",
    "warnings": ["lscpu exited 127: CPU name read from /proc/cpuinfo"],
}

# id, name, bracket, recommended, family, org, quant, params, active, (layers, kv heads,
# head dim), context, the real GGUF's size (what the ranking sees), the stand-in's size
MODELS: tuple[tuple[Any, ...], ...] = (
    ("llama-3.2-3b", "Llama 3.2 3B Instruct Q4_K_M", 4, True, "llama3.2", "meta-llama",
     "Q4_K_M", 3_210_000_000, None, (28, 8, 128), 131072, 1_966_000_000, 200_000),
    ("qwen3-4b", "Qwen3 4B Q4_K_M", 8, False, "qwen3", "Qwen", "Q4_K_M", 4_020_000_000, None,
     (36, 8, 128), 32768, 2_500_000_000, 250_000),
    ("llama-3.1-8b", "Llama 3.1 8B Instruct Q4_K_M", 8, False, "llama3.1", "meta-llama",
     "Q4_K_M", 8_030_000_000, None, (32, 8, 128), 131072, 4_918_000_000, 490_000),
    ("qwen3-8b", "Qwen3 8B Q4_K_M", 8, True, "qwen3", "Qwen", "Q4_K_M", 8_190_000_000, None,
     (36, 8, 128), 32768, 5_016_000_000, 500_000),
    ("gemma-3-12b", "Gemma 3 12B IT Q4_K_M", 16, False, "gemma3", "google", "Q4_K_M",
     11_800_000_000, None, (48, 8, 256), 131072, 7_228_000_000, 720_000),
    ("qwen3-14b", "Qwen3 14B Q4_K_M", 16, True, "qwen3", "Qwen", "Q4_K_M", 14_800_000_000, None,
     (40, 8, 128), 32768, 9_000_000_000, 900_000),
    ("qwen3-30b-a3b", "Qwen3 30B-A3B Q4_K_M", 32, False, "qwen3", "Qwen", "Q4_K_M",
     30_500_000_000, 3_300_000_000, (48, 4, 128), 32768, 18_681_000_000, 1_000_000),
    ("llama-3.3-70b", "Llama 3.3 70B Instruct Q4_K_M", 32, True, "llama3.3", "meta-llama",
     "Q4_K_M", 70_600_000_000, None, (80, 8, 128), 131072, 43_242_000_000, 1_100_000),
)
BUDGET_GB = 0.0012
"""1.2 MB: the three models `install_all` puts in leave 260 kB free."""
SEEDED = ("llama-3.2-3b", "qwen3-4b", "llama-3.1-8b")


def fixed_profile(_now: float = NOW) -> HardwareProfile:
    return profile_from_json(HARDWARE_JSON, "<fixed hardware>")


def catalog_files() -> dict[str, bytes]:
    return {f"{row[0]}.gguf": demo_bytes(row[0], row[12]) for row in MODELS}


def catalog_source(base_url: str, files: dict[str, bytes] | None = None,
                   sha_overrides: dict[str, str] | None = None) -> CatalogSource:
    """The fixed catalog, downloading from `base_url/files/<id>.gguf`."""
    files = files if files is not None else catalog_files()
    entries = []
    for (model_id, name, bracket, recommended, family, org, quant, params, active,
         (layers, kv_heads, head_dim), context, _real, size) in MODELS:
        data = files[f"{model_id}.gguf"]
        entries.append({
            "id": model_id, "name": name, "bracket_gb": bracket, "recommended": recommended,
            "repo": f"test/{model_id}", "file": f"{model_id}.gguf", "quant": quant,
            "size_bytes": size, "size_exact": True, "size_source": "test stand-in",
            "sha256": (sha_overrides or {}).get(model_id, hashlib.sha256(data).hexdigest()),
            "sha256_source": "test", "context_length": context, "license": "test",
            "params_total": params, "params_active": active, "family": family, "org": org,
            "shape": {"layers": layers, "kv_heads": kv_heads, "head_dim": head_dim}})
    catalog = parse_catalog({"schema": 1, "version": "test-1", "reference_context": 8192,
                             "entries": entries}, "<test catalog>")
    candidates = tuple(Candidate(e.id, e.shape, e.quant, e.context_length, row[11], e.name)
                       for e, row in zip(catalog.entries, MODELS, strict=True))
    urls = {e.id: f"{base_url}/files/{e.file}" for e in catalog.entries}
    return CatalogSource(catalog, candidates, urls, "test catalog")


def pool_settings(root: Path, budget_gb: float = BUDGET_GB) -> PoolSettings:
    config = root / "llama-swap" / "config.yaml"
    if not config.exists():
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(LLAMA_SWAP_CONFIG, encoding="utf-8")
    return PoolSettings(models_dir=root / "models", llama_swap_config=config,
                        disk_budget_gb=budget_gb)


def make_session(root: Path, source: CatalogSource, **kwargs: Any) -> PoolSession:
    settings = kwargs.pop("settings", None) or pool_settings(root)
    return PoolSession(settings, root / "data", hardware=fixed_profile,
                       catalog=lambda: source, clock=kwargs.pop("clock", lambda: NOW), **kwargs)


async def install_all(root: Path, source: CatalogSource, model_ids: Iterable[str] = SEEDED,
                      **kwargs: Any) -> None:
    """Install through a real session (download, verify, config edit), then close it."""
    session = make_session(root, source, **kwargs)
    await session.start()
    try:
        for model_id in model_ids:
            await session.install(await session.plan_install(model_id))
            job = await session.wait_for_job()
            assert job is not None and job.state is JobState.DONE, job and job.message
    finally:
        await session.aclose()


@pytest.fixture
async def server() -> AsyncIterator[CatalogServer]:
    """The demo catalog's files served on loopback (`sim.catalog_server`), stopped after."""
    served = CatalogServer(catalog_files())
    await served.start()
    try:
        yield served
    finally:
        await served.stop()
