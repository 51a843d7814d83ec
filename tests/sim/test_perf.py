"""`/api/performance` (§1.9) and the load-following sample synthesis."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from swapdeck.sim.hardware import pick_hardware
from swapdeck.sim.perf import Load, PerfSynth

from .conftest import HostFactory, client_for


async def _samples(client: httpx.AsyncClient, count: int) -> dict[str, Any]:
    for _ in range(300):
        body: dict[str, Any] = (await client.get("/api/performance")).json()
        if body["sys_stats"] and len(body["sys_stats"]) >= count:
            return body
        await asyncio.sleep(0.02)
    raise AssertionError("performance samples did not arrive")


async def test_empty_ring_gives_null_arrays(make_host: HostFactory) -> None:
    """§1.9: either array is null when the ring is empty and no `after` was given."""
    host = await make_host("v236", perf_every_s=3600)
    async with client_for(host) as client:
        response = await client.get("/api/performance")
        after = await client.get("/api/performance",
                                 params={"after": "2026-01-01T00:00:00-07:00"})
    assert response.text == '{"enabled":true,"sys_stats":null,"gpu_stats":null}'
    assert after.json() == {"enabled": True, "sys_stats": [], "gpu_stats": []}


async def test_after_is_strictly_newer_and_gpus_are_flat(make_host: HostFactory) -> None:
    """§1.9: `after` keeps samples strictly newer; gpu_stats is flat over samples x GPUs."""
    host = await make_host("v250", gpus=2, perf_every_s=0.03)
    async with client_for(host) as client:
        body = await _samples(client, 2)
        last = body["sys_stats"][-1]["timestamp"]
        newer = (await client.get("/api/performance", params={"after": last})).json()
    stamps = [s["timestamp"] for s in body["sys_stats"]]
    assert all(str(s).endswith("-07:00") for s in stamps)
    assert last not in [s["timestamp"] for s in newer["sys_stats"]]
    gpu_ids = [g["id"] for g in body["gpu_stats"]]
    assert gpu_ids[:4] == [0, 1, 0, 1]
    assert body["gpu_stats"][0]["mem_total_mb"] == pick_hardware(0, 2).gpu.vram_mb


async def test_unencoded_plus_in_after_is_400(make_host: HostFactory) -> None:
    """§12: `+` in an unencoded offset arrives as a space -> 400; URL-encoded it works."""
    host = await make_host("v230", perf_every_s=3600)
    stamp = datetime(2026, 8, 22, 10, 15, 5, tzinfo=timezone(timedelta(hours=2))).isoformat()
    async with client_for(host) as client:
        raw = await client.get(f"/api/performance?after={stamp}")
        encoded = await client.get("/api/performance", params={"after": stamp})
        garbage = await client.get("/api/performance", params={"after": "yesterday"})
    assert raw.status_code == 400 and garbage.status_code == 400
    assert encoded.status_code == 200


def test_samples_follow_the_load() -> None:
    """GPU utilisation is high while decoding, VRAM tracks loaded models (§1.9)."""
    hardware = pick_hardware(3, 2)
    synth = PerfSynth(hardware, 3, 5.0)
    idle_sys, idle_gpus = synth.sample(Load(0, 0, 0.0, 0, 0), 1_000_000_000)
    busy_sys, busy_gpus = synth.sample(Load(0, 3, 18_000.0, 10, 10), 6_000_000_000)
    assert all(g.util_pct <= 2 for g in idle_gpus)
    assert all(g.util_pct >= 84 for g in busy_gpus)
    assert all(b.mem_used_mb - i.mem_used_mb >= 9_000 for i, b in zip(idle_gpus, busy_gpus,
                                                                       strict=True))
    assert busy_sys.load_avg[0] > idle_sys.load_avg[0]
    again = PerfSynth(hardware, 3, 5.0)
    assert again.sample(Load(0, 0, 0.0, 0, 0), 1_000_000_000) == (idle_sys, idle_gpus)
