"""A simulated model: what llama-swap's config would say about it, plus how fast it runs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

START_PORT = 10001
"""First `${PORT}` handed to a model process (§5 fixture uses `startPort: 10001`)."""


@dataclass(frozen=True)
class SimModel:
    id: str
    name: str = ""
    ttl: int = 0
    """Seconds of idleness before llama-swap unloads it (§4); 0 = never."""
    aliases: tuple[str, ...] = ()
    group: str = "default"
    """Swap group: loading a model stops the other members of its group (§4)."""
    load_s: float = 1.0
    prefill_tps: float = 800.0
    decode_tps: float = 40.0
    unlisted: bool = False
    # Additions beyond the agreed constructor (all defaulted, so existing callers are unaffected):
    context_length: int = 32768
    """Reported at v250 in /v1/models and modelStatus (§1.2, §2.2); 0 = omit."""
    capabilities: tuple[str, ...] = ()
    """Capability names shown at v250 (`vision`, `function_calling`, `embedding`, ...)."""
    vram_mb: int = 6000
    speed_jitter: float = 0.0
    """Run-to-run spread of a request's speed (0.06 = ±6 %); 0 keeps rates exact for tests."""
    slot_contention: float = 0.0
    """Per-request slowdown for each other request on the model at once (parallel slots
    share memory bandwidth); 0 = none."""
    """VRAM the loaded model occupies; drives the simulated GPU memory (§1.9)."""

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("SimModel.id must not be empty")
        if self.prefill_tps <= 0 or self.decode_tps <= 0:
            raise ValueError(f"SimModel {self.id!r}: prefill_tps and decode_tps must be > 0")
        if self.load_s < 0:
            raise ValueError(f"SimModel {self.id!r}: load_s must be >= 0")

    @property
    def is_embedding(self) -> bool:
        return "embedding" in self.capabilities


DEFAULT_MODELS: tuple[SimModel, ...] = (
    SimModel("llama-3.1-8b", name="Llama 3.1 8B Instruct", aliases=("llama",), load_s=0.05,
             prefill_tps=4000.0, decode_tps=400.0, capabilities=("function_calling",),
             context_length=131072, vram_mb=6100),
    SimModel("qwen3-30b-a3b", name="Qwen3 30B A3B", aliases=("qwen",), load_s=0.05,
             prefill_tps=3000.0, decode_tps=300.0, capabilities=("function_calling",),
             vram_mb=18900),
    SimModel("nomic-embed", name="Nomic Embed v1.5", group="embed", load_s=0.02,
             prefill_tps=20000.0, decode_tps=1000.0, unlisted=True,
             capabilities=("embedding",), context_length=8192, vram_mb=300),
)
"""Models of a SimHost built without a catalog: fast enough for tests."""


def check_catalog(models: Sequence[SimModel]) -> tuple[SimModel, ...]:
    """Reject catalogs llama-swap would reject: duplicate ids or an alias that names two models."""
    seen: dict[str, str] = {}
    for model in models:
        for name in (model.id, *model.aliases):
            if name in seen:
                raise ValueError(f"model name {name!r} is used by both {seen[name]!r} and "
                                 f"{model.id!r}")
            seen[name] = model.id
    if not models:
        raise ValueError("a simulated host needs at least one model")
    return tuple(models)  # given order: the traffic generator favours the first models


def launch_cmd(model: SimModel, port: int) -> str:
    """The macro-expanded `cmd` that /running shows (§1.3), multi-line like a `|` block."""
    flags = "--embedding" if model.is_embedding else f"-c {model.context_length} -ngl 99"
    return (f"/opt/llama.cpp/llama-server --port {port}\n"
            f"  -m /models/{model.id}.gguf {flags}\n")
