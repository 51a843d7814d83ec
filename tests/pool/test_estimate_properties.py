"""Properties of the estimator over wide inputs (hypothesis)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from swapdeck.pool.estimate import (
    BACKEND_EFFICIENCY,
    CPU_EFFICIENCY,
    GIB,
    Fit,
    FitEstimate,
    ModelShape,
    estimate_fit,
    estimate_memory,
    estimate_speed,
    memory_budget,
)
from swapdeck.pool.hardware import Backend, GpuInfo, HardwareProfile

QUANTS = ["Q2_K", "Q3_K_M", "Q4_K_M", "Q4_0", "IQ4_XS", "Q5_K_M", "Q6_K", "Q8_0", "F16", "MXFP4"]

shapes = st.builds(
    ModelShape,
    total_params=st.floats(1e8, 2e11),
    layers=st.one_of(st.none(), st.integers(1, 120)),
    kv_heads=st.one_of(st.none(), st.integers(1, 64)),
    head_dim=st.sampled_from([64, 128, 256]),
)


@st.composite
def moe_shapes(draw: st.DrawFn) -> ModelShape:
    total = draw(st.floats(2e9, 7e11))
    active = draw(st.floats(1e8, total * 0.5))
    return ModelShape(total, active_params=active, layers=draw(st.integers(8, 96)),
                      kv_heads=draw(st.integers(1, 16)), head_dim=128)


def box(vram_gib: list[float], ram_gib: float, gpu_gbs: float = 900.0,
        cpu_gbs: float = 80.0) -> HardwareProfile:
    gpus = tuple(GpuInfo(f"card{i}", int(v * GIB), gpu_gbs, "test figure")
                 for i, v in enumerate(vram_gib))
    return HardwareProfile(
        gpus=gpus, ram_bytes=int(ram_gib * GIB), cpu_name="test cpu", cpu_cores=8,
        cpu_bandwidth_gbs=cpu_gbs, cpu_bandwidth_source="test figure", unified_memory=False,
        backend=Backend.CUDA if gpus else Backend.CPU, probed_at=0.0,
    )


def evaluate(shape: ModelShape, quant: str, context: int, hardware: HardwareProfile,
             ) -> tuple[FitEstimate, float]:
    memory = estimate_memory(shape, quant, context_tokens=context)
    fit = estimate_fit(memory, memory_budget(hardware))
    return fit, estimate_speed(memory, shape, fit, hardware).tokens_per_s


vram_lists = st.lists(st.floats(1, 96), min_size=0, max_size=4)


@settings(deadline=None)
@given(shapes, st.sampled_from(QUANTS), st.integers(256, 131072), vram_lists,
       st.floats(2, 512), st.floats(0, 64), st.floats(0, 256))
def test_more_memory_never_makes_a_model_less_runnable_or_slower(
    shape: ModelShape, quant: str, context: int, vram: list[float], ram: float,
    more_vram: float, more_ram: float,
) -> None:
    # GPU bandwidth ≥ CPU bandwidth, as on every real box with a discrete GPU worth using
    small = box(vram, ram)
    big = box([v + more_vram for v in vram], ram + more_ram)
    fit_small, speed_small = evaluate(shape, quant, context, small)
    fit_big, speed_big = evaluate(shape, quant, context, big)
    assert fit_big.verdict.runnability >= fit_small.verdict.runnability
    assert speed_big >= speed_small * (1 - 1e-9)


@settings(deadline=None)
@given(shapes, st.sampled_from(QUANTS), st.integers(256, 65536), st.floats(2, 512),
       st.floats(1, 96))
def test_adding_a_gpu_never_makes_a_model_less_runnable(
    shape: ModelShape, quant: str, context: int, ram: float, vram: float
) -> None:
    without, _ = evaluate(shape, quant, context, box([], ram))
    with_gpu, _ = evaluate(shape, quant, context, box([vram], ram))
    assert with_gpu.verdict.runnability >= without.verdict.runnability


@settings(deadline=None)
@given(moe_shapes(), st.floats(1.01, 5.0), st.sampled_from(QUANTS), st.integers(256, 32768),
       st.booleans())
def test_moe_speed_depends_on_active_params_only_but_memory_on_all(
    shape: ModelShape, growth: float, quant: str, context: int, on_gpu: bool
) -> None:
    bigger = replace(shape, total_params=shape.total_params * growth)
    # room for both models in one placement: all on one huge GPU, or all in RAM
    hardware = box([100_000.0], 200_000.0) if on_gpu else box([], 200_000.0)
    memory_small = estimate_memory(shape, quant, context_tokens=context)
    memory_big = estimate_memory(bigger, quant, context_tokens=context)
    assert memory_big.total_bytes > memory_small.total_bytes
    fit_small, speed_small = evaluate(shape, quant, context, hardware)
    fit_big, speed_big = evaluate(bigger, quant, context, hardware)
    assert fit_small.verdict is fit_big.verdict
    assert fit_small.verdict in (Fit.FULL_GPU, Fit.CPU_ONLY)
    assert abs(speed_big - speed_small) <= 1e-6 * speed_small


@settings(deadline=None)
@given(st.one_of(shapes, moe_shapes()), st.sampled_from(QUANTS), st.integers(256, 65536),
       st.floats(0.01, 0.99), st.floats(20, 5000), st.floats(5, 600))
def test_partial_offload_speed_lies_between_cpu_only_and_full_gpu(
    shape: ModelShape, quant: str, context: int, gpu_share: float, gpu_gbs: float,
    cpu_gbs: float,
) -> None:
    hardware = box([24.0], 64.0, gpu_gbs=gpu_gbs, cpu_gbs=cpu_gbs)
    memory = estimate_memory(shape, quant, context_tokens=context)

    def speed(verdict: Fit, share: float) -> float:
        fit = FitEstimate(verdict, share, 0, "given")
        return estimate_speed(memory, shape, fit, hardware).tokens_per_s

    cpu, gpu = speed(Fit.CPU_ONLY, 0.0), speed(Fit.FULL_GPU, 1.0)
    partial = speed(Fit.PARTIAL_OFFLOAD, gpu_share)
    assert min(cpu, gpu) * (1 - 1e-9) <= partial <= max(cpu, gpu) * (1 + 1e-9)
    # and it moves toward the GPU's speed as more of the model sits on the GPU
    if gpu_gbs * BACKEND_EFFICIENCY[Backend.CUDA] > cpu_gbs * CPU_EFFICIENCY:
        assert speed(Fit.PARTIAL_OFFLOAD, min(0.99, gpu_share + 0.01)) >= partial


@settings(deadline=None)
@given(shapes, st.integers(256, 131072), st.text(min_size=1, max_size=12))
def test_unknown_quant_memory_is_never_below_q8_0(shape: ModelShape, context: int,
                                                   raw: str) -> None:
    memory = estimate_memory(shape, raw, context_tokens=context)
    assume(not memory.quant.known)
    q8 = estimate_memory(shape, "Q8_0", context_tokens=context)
    assert memory.weights_bytes >= q8.weights_bytes
    assert memory.total_bytes >= q8.total_bytes
