"""The demo's model catalog: real models from the shipped catalog, served as small stand-ins.

Each demo entry is a shipped catalog entry (its shape, quant, licence, bracket — so the
ranking is the real ranking for the box) whose download is a file of deterministic bytes
1/1000 the size of the real GGUF, with a real sha256 computed at start. The file says what it
is in its first line; it is not a model. Where the demo fleet serves the same model, the id is
the fleet's (`llama-3.1-8b`…), so the fleet's activity and loaded states reach the pool.

The demo's disk budget is small on purpose: the pre-installed models leave room for the
small picks, while the 32 GB-bracket models can only come in by evicting something — so a
newcomer sees an eviction plan before anything is deleted.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from swapdeck.pool.catalog import (
    Catalog,
    CatalogEntry,
    CatalogError,
    entry_to_json,
    parse_catalog,
)
from swapdeck.pool.rank import Candidate
from swapdeck.pool.session_values import CatalogSource

DEMO_SCALE = 1000
"""A demo file is the real GGUF's size divided by this (GB → MB)."""
DEMO_PICKS: tuple[tuple[str, str], ...] = (
    # (demo id, shipped catalog id); demo ids match the demo fleet's models where it has them
    ("llama-3.2-3b", "llama-3.2-3b-instruct-q4_k_m"),
    ("qwen3-4b-q4_k_m", "qwen3-4b-q4_k_m"),
    ("llama-3.1-8b", "llama-3.1-8b-instruct-q4_k_m"),
    ("qwen3-8b-q4_k_m", "qwen3-8b-q4_k_m"),
    ("gemma-3-12b", "gemma-3-12b-it-q4_k_m"),
    ("qwen3-14b-q4_k_m", "qwen3-14b-q4_k_m"),
    ("qwen3-30b-a3b", "qwen3-30b-a3b-q4_k_m"),
    ("qwen3-32b-q4_k_m", "qwen3-32b-q4_k_m"),
)
DEMO_PREINSTALLED: tuple[str, ...] = ("llama-3.2-3b", "llama-3.1-8b", "gemma-3-12b")
DEMO_BUDGET_GB = 0.028
"""28 MB (a 28 GB box at demo scale): the pre-installed models take 14.1 MB, so the small
picks fit while the 18.7 and 20.1 MB models each need an eviction."""
MIN_FILE_BYTES = 4096
BLOCK_BYTES = 1 << 20


def demo_bytes(model_id: str, size: int) -> bytes:
    """`size` deterministic bytes for `model_id`, the same on every run and machine."""
    header = (f"swapdeck demo stand-in for {model_id}: deterministic bytes, not a model\n"
              ).encode()
    # One random MiB, each copy stamped with its index: every MiB differs (so a resumed
    # download that restarted at the wrong offset cannot hash right) at the cost of a copy.
    block = random.Random(f"swapdeck-demo:{model_id}").randbytes(BLOCK_BYTES)
    copies = -(-max(0, size - len(header)) // BLOCK_BYTES)
    body = b"".join(index.to_bytes(8, "big") + block[8:] for index in range(copies))
    return (header + body)[:size]


@dataclass(frozen=True, slots=True)
class DemoCatalog:
    catalog: Catalog
    candidates: tuple[Candidate, ...]
    """What the ranking sees: the real model's file size, not the stand-in's."""
    files: Mapping[str, bytes]
    """File name → bytes, as the loopback server serves them under `/files/<name>`."""

    def source(self, base_url: str) -> CatalogSource:
        urls = {entry.id: f"{base_url.rstrip('/')}/files/{entry.file}"
                for entry in self.catalog.entries}
        return CatalogSource(self.catalog, self.candidates, urls,
                             f"demo catalog at {base_url} (1/{DEMO_SCALE} scale stand-ins)")

    def catalog_json(self) -> bytes:
        data = {"schema": 1, "version": self.catalog.version,
                "reference_context": self.catalog.reference_context,
                "entries": [entry_to_json(e) for e in self.catalog.entries]}
        return json.dumps(data, indent=2).encode()


def build_demo_catalog(shipped: Catalog, *, scale: int = DEMO_SCALE,
                       picks: tuple[tuple[str, str], ...] = DEMO_PICKS) -> DemoCatalog:
    """Hash every stand-in (real sha256s, computed now) and validate the result like any
    catalog file; raises `CatalogError` if a pick is missing from `shipped`."""
    entries: list[CatalogEntry] = []
    candidates: list[Candidate] = []
    files: dict[str, bytes] = {}
    for demo_id, shipped_id in picks:
        real = shipped.get(shipped_id)
        if real is None:
            raise CatalogError(f"demo catalog: {shipped_id} is not in the shipped catalog")
        size = max(MIN_FILE_BYTES, real.size_bytes // scale)
        data = demo_bytes(demo_id, size)
        file_name = f"{demo_id}.gguf"
        files[file_name] = data
        entries.append(replace(
            real, id=demo_id, repo=f"swapdeck-demo/{demo_id}", file=file_name,
            size_bytes=size, size_exact=True,
            size_source=f"demo stand-in: 1/{scale} of {real.size_bytes} bytes",
            sha256=hashlib.sha256(data).hexdigest(),
            sha256_source="computed by swapdeck demo at start"))
        candidates.append(replace(real.candidate(), id=demo_id))
    catalog = parse_catalog({"schema": 1, "version": f"demo-{shipped.version}",
                             "reference_context": shipped.reference_context,
                             "entries": [entry_to_json(e) for e in entries]}, "<demo catalog>")
    return DemoCatalog(catalog, tuple(candidates), files)


# --------------------------------------------------------------------------- demo files


def pool_toml(models_dir: Path, config_path: Path, budget_gb: float = DEMO_BUDGET_GB) -> str:
    """The `[pool]` table of the demo's swapdeck config."""
    def quoted(value: str) -> str:
        return json.dumps(value)  # JSON string escapes are valid TOML escapes

    return "\n".join([
        "[pool]", 'install_target = "llama-swap"', f"models_dir = {quoted(str(models_dir))}",
        f"llama_swap_config = {quoted(str(config_path))}", f"disk_budget_gb = {budget_gb}",
        "hub_offline = true", ""])


LLAMA_SWAP_CONFIG = """\
# llama-swap config for the swapdeck demo's GPU box (llama-swap-api.md §5).
#
# swapdeck's Pool screen edits the `models:` map below: an install adds a
# `models.<id>` entry whose cmd starts llama-server on the downloaded GGUF, an
# eviction removes it again. Before each edit it saves a timestamped backup next
# to this file. Entries it did not add (like nomic-embed) are never touched.
#
# llama-swap re-reads this file when started with -watch-config (2 s poll), or
# on SIGHUP. In the demo no llama-swap reads it: the files are stand-ins.

healthCheckTimeout: 120   # seconds a model may take to pass its health check
logLevel: info
startPort: 10001          # the first ${PORT} handed to a model's cmd
globalTTL: 0              # 0: models stay loaded until swapped out

models:
  # Hand-written, not managed by the pool: an embedding model that runs beside
  # the chat models (see the group below).
  "nomic-embed":
    name: "Nomic Embed v1.5"
    cmd: llama-server --port ${PORT} -m /opt/models/nomic-embed-text-v1.5.Q8_0.gguf --embedding
    unlisted: true

groups:
  "embed":
    swap: false
    exclusive: false
    persistent: true
    members: ["nomic-embed"]
"""
