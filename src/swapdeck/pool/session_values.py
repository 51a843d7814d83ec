"""What a pool session works with and shows: where models come from, and its two jobs.

`CatalogSource` is the offer (the shipped catalog and the Hub, or the demo's loopback
catalog); `InstallJob` and `BenchJob` are what the screen draws while the session works.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

from swapdeck.pool.catalog import Catalog, load_catalog
from swapdeck.pool.download import Downloader
from swapdeck.pool.errors import PoolError
from swapdeck.pool.hardware import HardwareProfile
from swapdeck.pool.hardware_probe import load_hardware_profile
from swapdeck.pool.installers.base import (
    Installer,
    InstallTarget,
    Phase,
    Progress,
    TransferControl,
    target_from_catalog,
)
from swapdeck.pool.installers.llamaswap import LlamaSwapInstaller
from swapdeck.pool.installers.ollama import OllamaInstaller
from swapdeck.pool.manager import InstallPlan
from swapdeck.pool.rank import Candidate
from swapdeck.pool.settings import PoolSettings

HardwareLoader = Callable[[float], HardwareProfile]
UsesSource = Callable[[], Mapping[str, float]]
"""Model id → newest time the fleet saw it serve a request (any model; the session keeps
the ones in the pool)."""
USE_FEED_INTERVAL_S = 60.0
"""`record_uses` is fed in batches about once a minute, not per request."""
PROGRESS_EVERY_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class CatalogSource:
    """The models on offer: a catalog, what the ranking sees of each, and where to get them."""

    catalog: Catalog
    candidates: tuple[Candidate, ...]
    urls: Mapping[str, str] = field(default_factory=dict)
    """Direct download URLs by entry id; an entry not named here comes from the Hub."""
    label: str = "shipped catalog"

    @classmethod
    def shipped(cls) -> CatalogSource:
        catalog = load_catalog()
        return cls(catalog, tuple(catalog.candidates()), {}, f"shipped catalog {catalog.version}")

    def target(self, entry_id: str, *, score: float, ollama: bool = False) -> InstallTarget:
        entry = self.catalog.get(entry_id)
        if entry is None:
            raise PoolError(f"{entry_id}: not in the {self.label}")
        # Ollama pulls a Hub GGUF by `hf.co/<repo>:<quant>`.
        tag = f"hf.co/{entry.repo}:{entry.quant}" if ollama else None
        target = target_from_catalog(entry, score=score, ollama_name=tag)
        url = self.urls.get(entry_id)
        return replace(target, url=url) if url else target


class JobState(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    """Stopped with its partial kept: it resumes on the next start or the next install."""


@dataclass(eq=False)
class InstallJob:
    plan: InstallPlan
    control: TransferControl
    started_at: float
    resumed: bool = False
    """Carried on from the journal after a restart."""
    state: JobState = JobState.RUNNING
    progress: Progress | None = None
    evicted: list[str] = field(default_factory=list)
    phases: list[Phase] = field(default_factory=list)
    """Every phase the install went through, in order (evict, download, verify…)."""
    message: str = ""
    finished_at: float | None = None

    @property
    def model_id(self) -> str:
        return self.plan.target.id

    @property
    def paused(self) -> bool:
        return self.state is JobState.RUNNING and self.control.paused


@dataclass(eq=False)
class BenchJob:
    model_id: str
    host: str
    state: JobState = JobState.RUNNING
    message: str = ""


def hardware_cache_dir() -> Path:
    """Where the probed profile is cached for 24 h (the same place `swapdeck rank` uses)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "swapdeck"


def default_hardware(settings: PoolSettings, cache_dir: Path) -> HardwareLoader:
    """The cached probe (24 h) with the config's `[pool.hardware]` override on top."""
    return lambda now: load_hardware_profile(cache_dir, now=now, override=settings.hardware)


def default_installers(settings: PoolSettings) -> dict[str, Installer]:
    """The llama-swap installer (with progress every 256 kB, so small files still move the
    bar), and the Ollama one when Ollama is the target or already holds pool models — a box
    without Ollama is not asked about it on every start."""
    models_dir = settings.models_dir.expanduser()
    downloader = Downloader(models_dir, progress_every_bytes=PROGRESS_EVERY_BYTES)
    installers: dict[str, Installer] = {"llama-swap": LlamaSwapInstaller(settings, downloader)}
    if settings.install_target == "ollama":
        installers["ollama"] = OllamaInstaller(settings.ollama_url)
    return installers


