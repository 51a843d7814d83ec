"""Memory, fit and decode-speed estimates for one model on one box. Pure functions.

Memory (bytes) = weights + KV cache + activations + runtime overhead.
- weights: the GGUF file size when known (it *is* what gets loaded), else params × bpw / 8.
  MoE models keep **all** experts resident, so weights use the total parameter count.
- KV cache, exact when the shape is known: 2 (K and V) × layers × kv_heads × head_dim ×
  context × bytes per element (f16 2, q8_0 1.0625, q4_0 0.5625); sliding-window layers hold
  at most `sliding_window` tokens. Fallback when the shape is unknown: 20 kB per token per
  billion parameters at f16 — the upper end of current GQA models (Llama-3-8B 16 kB,
  Qwen3-8B 18 kB, Qwen2.5-7B 7.5 kB); old MHA models are larger, so give their shape. For MoE
  the fallback counts 4 × the active parameters (attention is sized like a dense model of
  about that size), never the expert total.
- activations: 256 MiB + 24 KiB per context token (llama.cpp's compute buffers grow with it).
- overhead: 256 MiB for the runtime process itself.

Fit, with usable memory (`memory_budget`): full GPU if it fits the pooled usable VRAM;
partial offload if it fits VRAM + usable RAM (discrete GPUs only — unified memory has no
separate RAM to spill into); CPU only if there is no GPU (or it is past a unified GPU's limit)
and it fits usable RAM; else won't fit. Usable VRAM per card = VRAM − max(512 MiB, min(5 %,
2 GiB)) for the driver context and fragmentation; with several cards, 5 % more is lost because
llama.cpp splits by whole layers and keeps a compute buffer on each card. Usable RAM = RAM −
min(max(15 %, 4 GiB), 32 GiB, 50 %) for the OS and everything else.

Speed: decode is memory-bound, so tokens/s = effective bandwidth / bytes read per token.
Bytes per token = weights × (active / total params) + half the KV cache (the context is on
average half full). Effective bandwidth = published peak × backend efficiency. Layer split
across GPUs runs the cards one after the other, so their bandwidths combine as a byte-weighted
*harmonic* mean (not a sum), × 0.92 per extra card for the hand-offs. Partial offload reads
the GPU share at GPU speed and the rest at CPU speed: time = g·B/GPU + (1−g)·B/CPU, which
always lands between the two pure speeds. A GPU whose bandwidth is unknown is counted as no
faster than system RAM and the result is marked a lower bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from swapdeck.pool.hardware import Backend, HardwareProfile
from swapdeck.pool.quant import QuantSpec, normalize_quant

GIB = 1024**3
MIB = 1024**2

KV_BYTES_PER_ELEMENT = {"f16": 2.0, "q8_0": 1.0625, "q4_0": 0.5625}
KV_FALLBACK_BYTES_PER_TOKEN_PER_BPARAM = 20_000.0
ACTIVATION_BASE_BYTES = 256 * MIB
ACTIVATION_BYTES_PER_TOKEN = 24 * 1024
RUNTIME_OVERHEAD_BYTES = 256 * MIB
MULTI_GPU_SPLIT_LOSS = 0.05
SPLIT_PENALTY_PER_EXTRA_GPU = 0.92
MOE_ROUTING_EFFICIENCY = 0.85
# Share of peak bandwidth llama.cpp reaches while decoding. Set so that an 8B Q4_K_M model
# (≈4.9 GB read per token) lands where commonly reported tg128 results are: ~130 t/s on an
# RTX 4090 (1008 GB/s), ~50 t/s on an M2 Max (400 GB/s), 10–15 t/s on dual-channel DDR5.
BACKEND_EFFICIENCY = {
    Backend.CUDA: 0.65, Backend.METAL: 0.62, Backend.ROCM: 0.55,
    Backend.OTHER_GPU: 0.50, Backend.CPU: 0.55,
}
CPU_EFFICIENCY = 0.55


class Fit(StrEnum):
    FULL_GPU = "full_gpu"
    PARTIAL_OFFLOAD = "partial_offload"
    CPU_ONLY = "cpu_only"
    WONT_FIT = "wont_fit"

    @property
    def runnability(self) -> int:
        """Order of "how runnable": full GPU 3 > partial 2 > CPU 1 > won't fit 0."""
        return {"full_gpu": 3, "partial_offload": 2, "cpu_only": 1, "wont_fit": 0}[self.value]


class SpeedBasis(StrEnum):
    ESTIMATED = "estimated"
    LOWER_BOUND = "lower_bound"
    MEASURED = "measured"
    CANNOT_RUN = "cannot_run"


@dataclass(frozen=True, slots=True)
class ModelShape:
    total_params: float
    """Parameter count (not billions)."""
    active_params: float | None = None
    """Parameters used per token for MoE; None for dense models."""
    layers: int | None = None
    kv_heads: int | None = None
    head_dim: int | None = None
    sliding_window: int | None = None
    sliding_layer_fraction: float = 0.0
    """Share of layers using the sliding window (gemma-3: 5/6, gpt-oss: 1/2)."""

    @property
    def active(self) -> float:
        return self.active_params if self.active_params is not None else self.total_params

    @property
    def is_moe(self) -> bool:
        return self.active_params is not None and self.active_params < self.total_params


@dataclass(frozen=True, slots=True)
class MemoryEstimate:
    weights_bytes: int
    kv_cache_bytes: int
    activations_bytes: int
    overhead_bytes: int
    context_tokens: int
    quant: QuantSpec
    weights_method: str
    kv_method: str

    @property
    def total_bytes(self) -> int:
        return self.weights_bytes + self.kv_cache_bytes + self.activations_bytes + \
            self.overhead_bytes


@dataclass(frozen=True, slots=True)
class MemoryBudget:
    usable_vram_bytes: int
    usable_ram_bytes: int
    unified: bool
    gpu_count: int
    how: str


@dataclass(frozen=True, slots=True)
class FitEstimate:
    verdict: Fit
    gpu_fraction: float
    """Share of the model's bytes placed on GPU memory (0 for CPU only)."""
    headroom_bytes: int
    """Usable memory left over in the chosen placement; negative when it won't fit."""
    reason: str


@dataclass(frozen=True, slots=True)
class SpeedEstimate:
    tokens_per_s: float
    low: float
    high: float | None
    """None when only a lower bound is known."""
    basis: SpeedBasis
    detail: str


def kv_cache_bytes(
    shape: ModelShape, context_tokens: int, kv_quant: str = "f16"
) -> tuple[int, str]:
    per_element = KV_BYTES_PER_ELEMENT.get(kv_quant.lower(), 2.0)
    if shape.layers and shape.kv_heads and shape.head_dim:
        window = shape.sliding_window
        fraction = min(max(shape.sliding_layer_fraction, 0.0), 1.0) if window else 0.0
        tokens = (1 - fraction) * context_tokens + fraction * min(context_tokens, window or 0)
        size = 2 * shape.layers * shape.kv_heads * shape.head_dim * tokens * per_element
        return int(size), (f"exact: 2×{shape.layers} layers×{shape.kv_heads} kv heads×"
                           f"{shape.head_dim} dim×{context_tokens} tokens×{per_element:g} B")
    billions = (4 * shape.active if shape.is_moe else shape.total_params) / 1e9
    size = KV_FALLBACK_BYTES_PER_TOKEN_PER_BPARAM * billions * context_tokens * per_element / 2
    return int(size), "fallback: 20 kB per token per billion params at f16 (shape unknown)"


def estimate_memory(
    shape: ModelShape,
    quant: str | QuantSpec,
    *,
    context_tokens: int,
    file_size_bytes: int | None = None,
    kv_quant: str = "f16",
) -> MemoryEstimate:
    spec = quant if isinstance(quant, QuantSpec) else normalize_quant(quant)
    if file_size_bytes is not None and file_size_bytes > 0:
        weights, method = file_size_bytes, "file size"
    else:
        weights = int(shape.total_params * spec.bytes_per_weight)
        method = f"{shape.total_params / 1e9:.2f}B params × {spec.bits_per_weight:g} bpw"
        if not spec.known:
            method += f" (quant {spec.id!r} unknown: assumed 16-bit)"
    kv, kv_method = kv_cache_bytes(shape, context_tokens, kv_quant)
    activations = ACTIVATION_BASE_BYTES + ACTIVATION_BYTES_PER_TOKEN * context_tokens
    return MemoryEstimate(weights, kv, activations, RUNTIME_OVERHEAD_BYTES, context_tokens,
                          spec, method, kv_method)


def card_reserve_bytes(vram_bytes: int) -> int:
    return max(512 * MIB, min(int(0.05 * vram_bytes), 2 * GIB))


def ram_reserve_bytes(ram_bytes: int) -> int:
    return int(min(max(0.15 * ram_bytes, 4 * GIB), 32 * GIB, 0.5 * ram_bytes))


def memory_budget(hardware: HardwareProfile) -> MemoryBudget:
    usable_ram = max(0, hardware.ram_bytes - ram_reserve_bytes(hardware.ram_bytes))
    per_card = [max(0, gpu.vram_bytes - card_reserve_bytes(gpu.vram_bytes))
                for gpu in hardware.gpus]
    pooled = sum(per_card)
    how = "no GPU"
    if len(per_card) > 1:
        pooled = int(pooled * (1 - MULTI_GPU_SPLIT_LOSS))
        how = f"{len(per_card)} GPUs pooled, less a reserve per card and 5 % for the layer split"
    elif per_card:
        how = "1 GPU, less the driver reserve"
    if hardware.unified_memory:
        pooled = min(pooled, usable_ram)
        how += "; unified memory (no separate RAM to spill into)"
    return MemoryBudget(pooled, usable_ram, hardware.unified_memory, len(per_card), how)


def estimate_fit(memory: MemoryEstimate, budget: MemoryBudget) -> FitEstimate:
    need = memory.total_bytes
    vram, ram = budget.usable_vram_bytes, budget.usable_ram_bytes
    if budget.gpu_count and need <= vram:
        return FitEstimate(Fit.FULL_GPU, 1.0, vram - need, "fits in GPU memory")
    if budget.gpu_count and not budget.unified and vram > 0 and need <= vram + ram:
        share = vram / need
        return FitEstimate(Fit.PARTIAL_OFFLOAD, share, vram + ram - need,
                           f"{share:.0%} on GPU, the rest in system RAM")
    if need <= ram:
        why = "no GPU" if not budget.gpu_count else "too big for the GPU's share of memory"
        return FitEstimate(Fit.CPU_ONLY, 0.0, ram - need, f"runs on the CPU ({why})")
    room = vram + ram if budget.gpu_count and not budget.unified else max(vram, ram)
    return FitEstimate(Fit.WONT_FIT, 0.0, room - need,
                       f"needs {need / GIB:.1f} GiB, {room / GIB:.1f} GiB usable")


def bytes_per_token(memory: MemoryEstimate, shape: ModelShape) -> float:
    active_share = shape.active / shape.total_params if shape.is_moe else 1.0
    return memory.weights_bytes * active_share + memory.kv_cache_bytes / 2


def estimate_speed(
    memory: MemoryEstimate, shape: ModelShape, fit: FitEstimate, hardware: HardwareProfile
) -> SpeedEstimate:
    if fit.verdict is Fit.WONT_FIT:
        return SpeedEstimate(0.0, 0.0, 0.0, SpeedBasis.CANNOT_RUN, f"cannot run: {fit.reason}")
    per_token = bytes_per_token(memory, shape)
    moe = MOE_ROUTING_EFFICIENCY if shape.is_moe else 1.0
    cpu_bw = hardware.cpu_bandwidth_gbs * 1e9 * CPU_EFFICIENCY * moe
    cpu_text = f"CPU {hardware.cpu_bandwidth_gbs:g} GB/s ({hardware.cpu_bandwidth_source})"
    if fit.verdict is Fit.CPU_ONLY:
        rate = cpu_bw / per_token
        low, high = _band(memory, 0.7, 1.3)
        return SpeedEstimate(rate, rate * low, rate * high, SpeedBasis.ESTIMATED,
                             f"{cpu_text} × {CPU_EFFICIENCY:g} / "
                             f"{per_token / 1e9:.2f} GB per token")
    gpu_bw, gpu_text, known = _gpu_bandwidth(hardware)
    gpu_eff = BACKEND_EFFICIENCY[hardware.backend]
    gpu_rate_bw = (gpu_bw * 1e9 * gpu_eff * moe) if known else cpu_bw
    g = fit.gpu_fraction
    seconds = g * per_token / gpu_rate_bw + (1 - g) * per_token / cpu_bw
    rate = 1.0 / seconds
    low, high = _band(memory, 0.8, 1.2) if g >= 1.0 else _band(memory, 0.6, 1.15)
    placement = "" if g >= 1.0 else f", {1 - g:.0%} of each token read from {cpu_text}"
    if not known:
        return SpeedEstimate(rate, rate, None, SpeedBasis.LOWER_BOUND,
                             f"lower bound: {gpu_text}, counted as no faster than system RAM"
                             f"{placement}")
    return SpeedEstimate(rate, rate * low, rate * high, SpeedBasis.ESTIMATED,
                         f"{gpu_text} × {gpu_eff:g} / {per_token / 1e9:.2f} GB per token"
                         f"{placement}")


def _gpu_bandwidth(hardware: HardwareProfile) -> tuple[float, str, bool]:
    """Byte-weighted harmonic mean over the cards (layer split runs them in turn)."""
    gpus = hardware.gpus
    unknown = [gpu.name for gpu in gpus if gpu.bandwidth_gbs is None]
    if unknown:
        return 0.0, f"bandwidth of {', '.join(unknown)} unknown", False
    weights = [max(1, gpu.vram_bytes) for gpu in gpus]
    total = sum(weights)
    harmonic = total / sum(w / (gpu.bandwidth_gbs or 1.0) for w, gpu in zip(weights, gpus,
                                                                            strict=True))
    penalty = SPLIT_PENALTY_PER_EXTRA_GPU ** (len(gpus) - 1)
    names = ", ".join(sorted({gpu.name for gpu in gpus}))
    source = gpus[0].bandwidth_source or "unknown source"
    if len(gpus) == 1:
        return harmonic, f"{names} {harmonic:g} GB/s ({source})", True
    return (harmonic * penalty,
            f"{len(gpus)}× {names} layer split: {harmonic:g} GB/s × {penalty:.3f} ({source})", True)


def _band(memory: MemoryEstimate, low: float, high: float) -> tuple[float, float]:
    """Confidence band around the estimate, widened for each guess that went into it."""
    if not memory.quant.known:
        low *= 0.8
    if memory.weights_method != "file size":
        low, high = low * 0.9, high * 1.1
    if memory.kv_method.startswith("fallback"):
        low, high = low * 0.95, high * 1.05
    return low, high


def dense_equivalent_billions(shape: ModelShape) -> float:
    """Size used for a quality prior: √(total × active) for MoE, a common rule of thumb."""
    if shape.is_moe:
        return math.sqrt(shape.total_params * shape.active) / 1e9
    return shape.total_params / 1e9
