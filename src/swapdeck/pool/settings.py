"""The `[pool]` section of swapdeck's config: where models go and what the box may hold."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GpuOverride(_Strict):
    name: str
    vram_gb: Annotated[float, Field(gt=0)]
    bandwidth_gbs: Annotated[float, Field(gt=0)] | None = None
    """Memory bandwidth in GB/s; None = look the name up in the published-figures table."""


class HardwareOverride(_Strict):
    """What the user says the box has; wins over every probe, field by field."""

    gpus: tuple[GpuOverride, ...] | None = None
    ram_gb: Annotated[float, Field(gt=0)] | None = None
    cpu_name: str | None = None
    cpu_bandwidth_gbs: Annotated[float, Field(gt=0)] | None = None
    unified_memory: bool | None = None


class PoolSettings(_Strict):
    install_target: Literal["llama-swap", "ollama", "advisory"] = "llama-swap"
    models_dir: Path = Path("~/models")
    llama_swap_config: Path | None = None
    """The host's llama-swap config.yaml that installs and evictions edit (backup first)."""
    llama_server_cmd: str = "llama-server --port ${PORT} -m {path}"
    """Template of the `cmd:` written for a new model entry; `{path}` is the GGUF's path."""
    ollama_url: str = "http://127.0.0.1:11434"
    disk_budget_gb: Annotated[float, Field(ge=0)] = 100.0
    allowed_orgs: tuple[str, ...] = ()
    """Hugging Face orgs installs may come from; empty = any org in the shipped catalog."""
    allowed_families: tuple[str, ...] = ()
    context_tokens: Annotated[int, Field(gt=0)] = 8192
    hardware: HardwareOverride | None = None
    hub_offline: bool = False
    """Never ask the Hugging Face Hub; use the shipped catalog and the on-disk cache only."""
