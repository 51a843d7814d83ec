"""Ranking throughput: `rank` over 10,000 generated candidates on three boxes.

Candidates are generated from a fixed seed (dense and MoE, every common quant, with and
without a known shape or file size), each with two benchmark observations and, for one in
ten, a measured speed on the box. Boxes: one 24 GB GPU, two 24 GB GPUs, and a CPU-only EPYC.
Prints the best of `--rounds` runs per box, and per 1,000 candidates.

    .venv/bin/python benchmarks/rank.py [--candidates 10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

from swapdeck.pool.estimate import GIB, ModelShape
from swapdeck.pool.evidence import Grade, Metric, Observation
from swapdeck.pool.hardware import HardwareProfile, profile_from_json
from swapdeck.pool.rank import Candidate, rank

NOW = 1_760_000_000.0
QUANTS = ["Q2_K", "Q3_K_M", "Q4_K_M", "Q4_0", "IQ4_XS", "Q5_K_M", "Q6_K", "Q8_0", "F16",
          "MXFP4", "MLX-4bit", "q4", "unknown-quant"]


def profiles() -> dict[str, HardwareProfile]:
    def box(gpus: list[tuple[str, int]], ram_gib: int, cpu: str) -> HardwareProfile:
        data: dict[str, Any] = {
            "gpus": [{"name": name, "vram_bytes": gib * GIB} for name, gib in gpus],
            "ram_bytes": ram_gib * GIB, "cpu_name": cpu, "cpu_cores": 16,
        }
        return profile_from_json(data)

    return {
        "24 GB GPU (RTX 4090)": box([("NVIDIA GeForce RTX 4090", 24)], 64, "AMD Ryzen 9 7950X"),
        "2-GPU box (2x RTX 3090)": box([("NVIDIA GeForce RTX 3090", 24)] * 2, 128,
                                       "AMD Ryzen 9 7950X"),
        "CPU-only (EPYC 9654)": box([], 384, "AMD EPYC 9654 96-Core Processor"),
    }


def generate(count: int, fingerprints: list[str], seed: int = 11,
             ) -> tuple[list[Candidate], list[Observation]]:
    rng = random.Random(seed)
    candidates: list[Candidate] = []
    observations: list[Observation] = []
    for index in range(count):
        total = 10 ** rng.uniform(8, 11.5)
        active = total * rng.uniform(0.03, 0.3) if rng.random() < 0.2 else None
        known_shape = rng.random() < 0.8
        shape = ModelShape(
            total, active_params=active,
            layers=rng.randint(12, 96) if known_shape else None,
            kv_heads=rng.choice([1, 2, 4, 8, 16]) if known_shape else None,
            head_dim=rng.choice([64, 128, 256]) if known_shape else None,
            sliding_window=rng.choice([None, None, 1024, 4096]),
            sliding_layer_fraction=rng.choice([0.5, 5 / 6]),
        )
        file_size = int(total * rng.uniform(0.3, 1.1)) if rng.random() < 0.5 else None
        model_id = f"org{index % 97}/model-{index:05d}"
        candidates.append(Candidate(model_id, shape, rng.choice(QUANTS),
                                    rng.choice([4096, 8192, 32768, 131072]), file_size))
        for source in ("open-llm-leaderboard", "model-card"):
            observations.append(Observation(
                model_id, source, rng.choice(list(Grade)[1:]), Metric.QUALITY,
                rng.uniform(10, 90), NOW - rng.uniform(0, 900) * 86_400))
        if rng.random() < 0.1:
            observations.append(Observation(
                model_id, "swapdeck-bench", Grade.MEASURED, Metric.DECODE_TPS,
                rng.uniform(1, 200), NOW - rng.uniform(0, 30) * 86_400,
                hardware_fingerprint=rng.choice(fingerprints), run_id=f"run-{index}"))
    return candidates, observations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    boxes = profiles()
    candidates, observations = generate(args.candidates,
                                        [p.fingerprint for p in boxes.values()])
    print(f"ranking {len(candidates):,} candidates ({len(observations):,} observations), "
          f"best of {args.rounds}")
    for label, hardware in boxes.items():
        best = float("inf")
        rows = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            rows = rank(candidates, hardware, observations, now=NOW, context_tokens=8192,
                        include_unrunnable=True)
            best = min(best, time.perf_counter() - start)
        runnable = sum(1 for row in rows if row.runnable)
        per_k = best / len(candidates) * 1000
        print(f"  {label:26s} {best * 1000:8.1f} ms total  {per_k * 1000:7.2f} ms per 1k  "
              f"({runnable:,} runnable)")


if __name__ == "__main__":
    main()
