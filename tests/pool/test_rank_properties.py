"""Properties of `rank` over generated candidates and boxes (hypothesis)."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from swapdeck.pool.estimate import GIB, ModelShape
from swapdeck.pool.hardware import Backend, GpuInfo, HardwareProfile
from swapdeck.pool.rank import Candidate, rank

NOW = 1_760_000_000.0
QUANTS = ["Q3_K_M", "Q4_K_M", "Q5_K_M", "Q8_0", "F16", "mystery"]


@st.composite
def candidates(draw: st.DrawFn) -> list[Candidate]:
    count = draw(st.integers(1, 12))
    result = []
    for index in range(count):
        total = draw(st.floats(1e8, 2e11))
        active = draw(st.one_of(st.none(), st.floats(1e8, total)))
        shape = ModelShape(total, active_params=active, layers=draw(st.integers(4, 96)),
                           kv_heads=draw(st.integers(1, 16)), head_dim=128)
        # a few shared ids-to-be and equal shapes make ties likely
        name = draw(st.sampled_from(["a", "b", "B", "é", "m-1", "m-10"])) + str(index % 3)
        result.append(Candidate(f"{name}#{index}", shape, draw(st.sampled_from(QUANTS)),
                                draw(st.sampled_from([2048, 8192, 32768]))))
    return result


def box(vram_gib: list[float], ram_gib: float) -> HardwareProfile:
    gpus = tuple(GpuInfo(f"card{i}", int(v * GIB), 900.0, "test figure")
                 for i, v in enumerate(vram_gib))
    return HardwareProfile(
        gpus=gpus, ram_bytes=int(ram_gib * GIB), cpu_name="test cpu", cpu_cores=8,
        cpu_bandwidth_gbs=80.0, cpu_bandwidth_source="test figure", unified_memory=False,
        backend=Backend.CUDA if gpus else Backend.CPU, probed_at=0.0,
    )


boxes = st.builds(box, st.lists(st.floats(1, 96), max_size=3), st.floats(2, 512))


@settings(deadline=None)
@given(candidates(), boxes, st.integers(0, 2**32 - 1), st.integers(512, 65536))
def test_order_is_deterministic_whatever_order_candidates_come_in(
    items: list[Candidate], hardware: HardwareProfile, seed: int, context: int
) -> None:
    shuffled = list(items)
    random.Random(seed).shuffle(shuffled)
    first = rank(items, hardware, [], now=NOW, context_tokens=context, include_unrunnable=True)
    second = rank(shuffled, hardware, [], now=NOW, context_tokens=context,
                  include_unrunnable=True)
    assert [(r.id, r.score) for r in first] == [(r.id, r.score) for r in second]
    keys = [(-r.score, r.id) for r in first]
    assert keys == sorted(keys)
    assert all(0 <= r.score < 100 for r in first)


@settings(deadline=None, max_examples=50)
@given(candidates(), st.lists(st.floats(1, 96), max_size=3), st.floats(2, 512),
       st.floats(0, 64), st.floats(0, 256), st.integers(512, 65536))
def test_more_memory_never_ranks_a_model_as_less_runnable(
    items: list[Candidate], vram: list[float], ram: float, more_vram: float, more_ram: float,
    context: int,
) -> None:
    small = {r.id: r for r in rank(items, box(vram, ram), [], now=NOW, context_tokens=context,
                                   include_unrunnable=True)}
    big = {r.id: r for r in rank(items, box([v + more_vram for v in vram], ram + more_ram), [],
                                 now=NOW, context_tokens=context, include_unrunnable=True)}
    for model_id, row in small.items():
        grown = big[model_id]
        assert grown.fit.verdict.runnability >= row.fit.verdict.runnability
        assert grown.score >= row.score * (1 - 1e-9)
    runnable_small = {i for i, r in small.items() if r.runnable}
    runnable_big = {i for i, r in big.items() if r.runnable}
    assert runnable_small <= runnable_big
