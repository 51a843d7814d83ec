"""Memory, fit and speed estimates against hand-computed numbers."""

from __future__ import annotations

from typing import Any

import pytest

from swapdeck.pool.estimate import (
    ACTIVATION_BASE_BYTES,
    ACTIVATION_BYTES_PER_TOKEN,
    BACKEND_EFFICIENCY,
    CPU_EFFICIENCY,
    GIB,
    MOE_ROUTING_EFFICIENCY,
    RUNTIME_OVERHEAD_BYTES,
    SPLIT_PENALTY_PER_EXTRA_GPU,
    Fit,
    ModelShape,
    SpeedBasis,
    bytes_per_token,
    estimate_fit,
    estimate_memory,
    estimate_speed,
    kv_cache_bytes,
    memory_budget,
)
from swapdeck.pool.hardware import Backend, HardwareProfile, profile_from_json

LLAMA3_8B = ModelShape(8.03e9, layers=32, kv_heads=8, head_dim=128)


def hardware(gpus: list[tuple[str, float]] | None = None, ram_gib: float = 64,
             cpu: str = "AMD Ryzen 9 7950X", **extra: Any) -> HardwareProfile:
    data: dict[str, Any] = {
        "gpus": [{"name": name, "vram_bytes": int(gib * GIB)} for name, gib in gpus or []],
        "ram_bytes": int(ram_gib * GIB), "cpu_name": cpu, "cpu_cores": 16, **extra,
    }
    return profile_from_json(data)


def test_exact_kv_cache_for_llama3_8b_is_one_gib_at_8k() -> None:
    size, method = kv_cache_bytes(LLAMA3_8B, 8192)
    assert size == 2 * 32 * 8 * 128 * 8192 * 2 == GIB
    assert method.startswith("exact")
    q8, _ = kv_cache_bytes(LLAMA3_8B, 8192, "q8_0")
    assert q8 == int(GIB * 1.0625 / 2)


def test_sliding_window_layers_hold_at_most_the_window() -> None:
    shape = ModelShape(1e9, layers=6, kv_heads=1, head_dim=1, sliding_window=10,
                       sliding_layer_fraction=5 / 6)
    size, _ = kv_cache_bytes(shape, 100)
    assert size == pytest.approx(2 * 6 * (100 / 6 + 10 * 5 / 6) * 2, abs=1)


def test_kv_fallback_without_a_shape_and_for_moe_uses_active_params() -> None:
    dense, method = kv_cache_bytes(ModelShape(8e9), 1000)
    assert dense == 20_000 * 8 * 1000 and method.startswith("fallback")
    moe, _ = kv_cache_bytes(ModelShape(100e9, active_params=5e9), 1000)
    assert moe == 20_000 * 20 * 1000


def test_memory_is_weights_plus_kv_plus_activations_plus_overhead() -> None:
    memory = estimate_memory(LLAMA3_8B, "Q4_K_M", context_tokens=8192,
                             file_size_bytes=4_920_000_000)
    assert memory.weights_bytes == 4_920_000_000 and memory.weights_method == "file size"
    assert memory.kv_cache_bytes == GIB
    assert memory.activations_bytes == ACTIVATION_BASE_BYTES + ACTIVATION_BYTES_PER_TOKEN * 8192
    assert memory.total_bytes == 4_920_000_000 + GIB + memory.activations_bytes + \
        RUNTIME_OVERHEAD_BYTES


def test_without_a_file_size_weights_are_params_times_bits() -> None:
    memory = estimate_memory(LLAMA3_8B, "Q8_0", context_tokens=512)
    assert memory.weights_bytes == int(8.03e9 * 8.5 / 8)


def test_unknown_quant_is_estimated_as_16_bit_and_says_so() -> None:
    memory = estimate_memory(LLAMA3_8B, "mystery", context_tokens=512)
    assert memory.weights_bytes == int(8.03e9 * 2)
    assert "unknown" in memory.weights_method and not memory.quant.known


def test_moe_keeps_every_expert_resident() -> None:
    moe = ModelShape(30.5e9, active_params=3.3e9, layers=48, kv_heads=4, head_dim=128)
    memory = estimate_memory(moe, "Q4_K_M", context_tokens=4096)
    assert memory.weights_bytes == int(30.5e9 * 4.9 / 8)


def test_budget_single_and_multi_gpu_and_ram_reserve() -> None:
    one = memory_budget(hardware([("NVIDIA GeForce RTX 3090", 24)]))
    assert one.usable_vram_bytes == 24 * GIB - int(0.05 * 24 * GIB)  # 5 % < the 2 GiB cap
    assert one.usable_ram_bytes == 64 * GIB - int(0.15 * 64 * GIB)
    two = memory_budget(hardware([("NVIDIA GeForce RTX 4090", 24)] * 2))
    assert two.usable_vram_bytes == int(2 * one.usable_vram_bytes * 0.95)
    assert "2 GPUs pooled" in two.how
    small = memory_budget(hardware(ram_gib=8))
    assert small.usable_ram_bytes == 4 * GIB and small.gpu_count == 0


def test_fit_verdicts() -> None:
    box = memory_budget(hardware([("NVIDIA GeForce RTX 3090", 24)], ram_gib=64))

    def fit(gib: float) -> Fit:
        memory = estimate_memory(ModelShape(1e9), "Q8_0", context_tokens=1,
                                 file_size_bytes=int(gib * GIB))
        return estimate_fit(memory, box).verdict
    assert fit(10) is Fit.FULL_GPU
    assert fit(40) is Fit.PARTIAL_OFFLOAD
    assert fit(200) is Fit.WONT_FIT
    cpu_box = memory_budget(hardware(ram_gib=64))
    memory = estimate_memory(ModelShape(1e9), "Q8_0", context_tokens=1, file_size_bytes=20 * GIB)
    assert estimate_fit(memory, cpu_box).verdict is Fit.CPU_ONLY


def test_unified_memory_never_spills_to_partial_offload() -> None:
    mac = hardware([("Apple M2 Max", 24)], ram_gib=32, unified_memory=True, backend="metal")
    budget = memory_budget(mac)
    memory = estimate_memory(ModelShape(1e9), "Q8_0", context_tokens=1, file_size_bytes=25 * GIB)
    assert estimate_fit(memory, budget).verdict is Fit.CPU_ONLY


def test_cpu_only_speed_is_bandwidth_over_bytes_per_token() -> None:
    box = hardware(cpu="AMD EPYC 9654 96-Core Processor")
    memory = estimate_memory(LLAMA3_8B, "Q4_K_M", context_tokens=8192, file_size_bytes=5 * 10**9)
    fit = estimate_fit(memory, memory_budget(box))
    speed = estimate_speed(memory, LLAMA3_8B, fit, box)
    expected = 460.8e9 * CPU_EFFICIENCY / (5e9 + GIB / 2)
    assert speed.tokens_per_s == pytest.approx(expected)
    assert speed.low < speed.tokens_per_s < (speed.high or 0)
    assert speed.basis is SpeedBasis.ESTIMATED and "460.8 GB/s" in speed.detail


def test_full_gpu_speed_uses_the_published_bandwidth() -> None:
    box = hardware([("NVIDIA GeForce RTX 4090", 24)])
    memory = estimate_memory(LLAMA3_8B, "Q4_K_M", context_tokens=8192, file_size_bytes=5 * 10**9)
    speed = estimate_speed(memory, LLAMA3_8B, estimate_fit(memory, memory_budget(box)), box)
    assert speed.tokens_per_s == pytest.approx(
        1008e9 * BACKEND_EFFICIENCY[Backend.CUDA] / bytes_per_token(memory, LLAMA3_8B))


def test_layer_split_pays_a_penalty_per_extra_card_not_a_bandwidth_sum() -> None:
    memory = estimate_memory(LLAMA3_8B, "Q4_K_M", context_tokens=8192, file_size_bytes=5 * 10**9)
    one_box = hardware([("NVIDIA GeForce RTX 4090", 24)])
    two_box = hardware([("NVIDIA GeForce RTX 4090", 24)] * 2)
    one = estimate_speed(memory, LLAMA3_8B, estimate_fit(memory, memory_budget(one_box)), one_box)
    two = estimate_speed(memory, LLAMA3_8B, estimate_fit(memory, memory_budget(two_box)), two_box)
    assert two.tokens_per_s == pytest.approx(one.tokens_per_s * SPLIT_PENALTY_PER_EXTRA_GPU)


def test_partial_offload_reads_the_cpu_share_at_cpu_speed() -> None:
    box = hardware([("NVIDIA GeForce RTX 3090", 24)], ram_gib=128)
    shape = ModelShape(70e9, layers=80, kv_heads=8, head_dim=128)
    memory = estimate_memory(shape, "Q4_K_M", context_tokens=4096, file_size_bytes=42 * 10**9)
    fit = estimate_fit(memory, memory_budget(box))
    assert fit.verdict is Fit.PARTIAL_OFFLOAD and 0 < fit.gpu_fraction < 1
    speed = estimate_speed(memory, shape, fit, box)
    per_token = bytes_per_token(memory, shape)
    gpu = 936.2e9 * BACKEND_EFFICIENCY[Backend.CUDA]
    cpu = 83.2e9 * CPU_EFFICIENCY
    g = fit.gpu_fraction
    seconds = g * per_token / gpu + (1 - g) * per_token / cpu
    assert speed.tokens_per_s == pytest.approx(1 / seconds)
    assert "read from CPU" in speed.detail


def test_unknown_gpu_bandwidth_gives_a_lower_bound_not_a_made_up_figure() -> None:
    box = hardware([("NVIDIA Graphics Device", 16)])
    memory = estimate_memory(LLAMA3_8B, "Q4_K_M", context_tokens=4096, file_size_bytes=5 * 10**9)
    speed = estimate_speed(memory, LLAMA3_8B, estimate_fit(memory, memory_budget(box)), box)
    assert speed.basis is SpeedBasis.LOWER_BOUND and speed.high is None
    assert speed.tokens_per_s == pytest.approx(
        83.2e9 * CPU_EFFICIENCY / bytes_per_token(memory, LLAMA3_8B))
    assert "lower bound" in speed.detail


def test_a_model_that_cannot_run_is_0_with_a_reason() -> None:
    box = hardware(ram_gib=16)
    memory = estimate_memory(LLAMA3_8B, "Q4_K_M", context_tokens=4096, file_size_bytes=40 * GIB)
    fit = estimate_fit(memory, memory_budget(box))
    speed = estimate_speed(memory, LLAMA3_8B, fit, box)
    assert fit.verdict is Fit.WONT_FIT and fit.headroom_bytes < 0
    assert speed.tokens_per_s == 0 and speed.basis is SpeedBasis.CANNOT_RUN
    assert speed.detail.startswith("cannot run: needs")


def test_moe_reads_only_active_weights_per_token() -> None:
    moe = ModelShape(30e9, active_params=3e9, layers=48, kv_heads=4, head_dim=128)
    memory = estimate_memory(moe, "Q4_K_M", context_tokens=4096, file_size_bytes=18 * 10**9)
    assert bytes_per_token(memory, moe) == pytest.approx(1.8e9 + memory.kv_cache_bytes / 2)
    box = hardware()
    speed = estimate_speed(memory, moe, estimate_fit(memory, memory_budget(box)), box)
    assert speed.tokens_per_s == pytest.approx(
        83.2e9 * CPU_EFFICIENCY * MOE_ROUTING_EFFICIENCY / bytes_per_token(memory, moe))
