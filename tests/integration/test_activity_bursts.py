"""A v236+ host that writes rows faster than one page is read loses nothing (§1.10, §6)."""

from __future__ import annotations

import asyncio
import time

from swapdeck.config import HostConfig
from swapdeck.events import ActivityRecorded, HostEvent, Liveness, LivenessChanged
from swapdeck.sim import Era, SimHost, SimModel
from swapdeck.sources.llamaswap import LlamaSwapConnector

MODEL = SimModel("fast", load_s=0.01, decode_tps=100_000.0, prefill_tps=1_000_000.0)


async def test_bursts_larger_than_a_page_arrive_complete_and_in_order() -> None:
    host = SimHost(Era.V250, name="burst", seed=1, models=[MODEL])
    await host.start()
    events: list[HostEvent] = []
    connector = LlamaSwapConnector(HostConfig(name="burst", url=host.url, health_interval_s=5))
    task = asyncio.create_task(connector.run(events.append))
    try:
        deadline = time.monotonic() + 10
        while not any(isinstance(e, LivenessChanged) and e.liveness is Liveness.CONNECTED
                      for e in events):
            assert time.monotonic() < deadline, "never connected"
            await asyncio.sleep(0.02)
        for _ in range(5):  # bursts of 100: twice the live page size, while we follow
            await asyncio.gather(*(host.serve_request("fast", prompt_tokens=5,
                                                      output_tokens=2) for _ in range(100)))
        expected = host.held_activity_ids()
        assert len(expected) == 500
        while True:
            seen = [r.remote_id for e in events if isinstance(e, ActivityRecorded)
                    for r in e.records]
            if len(seen) >= 500 or time.monotonic() > deadline + 20:
                break
            await asyncio.sleep(0.05)
        assert sorted(seen) == expected  # every row once
        assert seen == sorted(seen)  # oldest first, as ActivityRecorded promises
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await connector.aclose()
        await host.stop()
