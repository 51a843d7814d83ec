"""The whole data plane against simulated hosts: connectors → hub → reducer → SQLite, and a
swapdeck restart that brings the picture back from SQLite before any host answers."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from swapdeck.config import Config, parse_config
from swapdeck.events import HostEvent, Liveness, ModelState, PerfSampled
from swapdeck.fleet.runtime import FleetRuntime
from swapdeck.sim import Era, SimHost, SimModel

MODELS = [SimModel("llama-3.1-8b", load_s=0.05, decode_tps=2000.0, prefill_tps=20000.0),
          SimModel("qwen3-8b", load_s=0.05, decode_tps=2000.0, prefill_tps=20000.0)]


async def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def config_for(hosts: dict[str, SimHost], data_dir: Path) -> Config:
    return parse_config({
        "data_dir": str(data_dir),
        "hosts": [{"name": name, "url": host.url, "perf_interval_s": 5, "health_interval_s": 1,
                   "control": True} for name, host in hosts.items()],
    })


async def test_history_survives_restart_and_perf_resumes_from_its_watermark(
        tmp_path: Path) -> None:
    """§1.9 (`after` watermark), §3.1 (records), §12 (ids per epoch)."""
    hosts = {
        "modern": SimHost(Era.V250, name="modern", seed=3, models=MODELS, perf_every_s=0.05),
        "legacy": SimHost(Era.V230, name="legacy", seed=4, models=MODELS, perf_every_s=0.05),
    }
    for host in hosts.values():
        await host.start()
    await asyncio.sleep(0.3)  # a few perf samples in the hosts' rings before we connect
    config = config_for(hosts, tmp_path)
    try:
        async with FleetRuntime(config, writer_interval_s=0.05) as runtime:
            await wait_for(lambda: all(runtime.state.host(n).liveness is Liveness.CONNECTED
                                       and runtime.state.host(n).models for n in hosts))
            for host in hosts.values():
                for model in ("llama-3.1-8b", "qwen3-8b", "llama-3.1-8b"):
                    await host.serve_request(model, prompt_tokens=50, output_tokens=20)
            await wait_for(lambda: all(runtime.state.host(n).requests_seen == 3 for n in hosts))
            await wait_for(lambda: all(runtime.state.host(n).sys_history for n in hosts))
            live = {n: runtime.state.host(n) for n in hosts}
            expected_models = {n: {m: v.info.state for m, v in h.models.items()}
                               for n, h in live.items()}
            expected_ids = {n: [r.remote_id for r in h.activity] for n, h in live.items()}
        # Quitting flushed everything: every request the hosts hold is stored once.
        with sqlite3.connect(config.database_path) as db:
            for name, host in hosts.items():
                stored = [row[0] for row in db.execute(
                    "SELECT remote_id FROM requests WHERE host = ? ORDER BY remote_id", (name,))]
                assert stored == host.held_activity_ids() == sorted(expected_ids[name])
            newest_perf = {name: db.execute("SELECT MAX(at) FROM perf_sys WHERE host = ?",
                                            (name,)).fetchone()[0] for name in hosts}

        # swapdeck restarts while every host is down: the picture comes back from SQLite.
        for host in hosts.values():
            await host.go_down()
        runtime = FleetRuntime(config, writer_interval_s=0.05)
        heard: list[HostEvent] = []
        async with runtime:
            runtime.hub.add_listener(heard.append)
            for name in hosts:
                rebuilt = runtime.state.host(name)
                assert {m: v.info.state for m, v in rebuilt.models.items()} == \
                    expected_models[name]
                assert [r.remote_id for r in rebuilt.activity] == expected_ids[name]
                assert rebuilt.sys_history, "perf history must come back too"
                assert rebuilt.swap_version in ("v250", "v230")
                # Connected when swapdeck quit is a memory, not a fact: no host reads as
                # connected (or takes actions) before it answers again.
                assert rebuilt.liveness is not Liveness.CONNECTED
                assert rebuilt.last_seen is not None
            assert runtime.store is not None
            resume = await runtime.store.resume_points()
            for name in hosts:
                assert resume[name].perf_watermark is not None
                assert abs(resume[name].perf_watermark - newest_perf[name]) < 1e-3

            # The hosts come back: polling resumes after the watermark, nothing refetched.
            for host in hosts.values():
                await host.come_up()
            await wait_for(lambda: all(
                any(isinstance(e, PerfSampled) and e.host == n and e.sys for e in heard)
                for n in hosts), timeout=20)
            for event in heard:
                if isinstance(event, PerfSampled):
                    assert all(s.at > newest_perf[event.host] for s in event.sys)
            await wait_for(lambda: all(runtime.state.host(n).liveness is Liveness.CONNECTED
                                       for n in hosts), timeout=20)
            # Reconciling with hosts that still hold the same rows adds no duplicates.
            for name in hosts:
                assert runtime.state.host(name).requests_seen == 3
            assert runtime.state.host("modern").models["llama-3.1-8b"].info.state in (
                ModelState.READY, ModelState.STOPPED, ModelState.STARTING, ModelState.STOPPING)
        with sqlite3.connect(config.database_path) as db:
            for name, host in hosts.items():
                count = db.execute("SELECT COUNT(*) FROM requests WHERE host = ?",
                                   (name,)).fetchone()[0]
                assert count == len(host.held_activity_ids()) == 3
    finally:
        for host in hosts.values():
            await host.stop()
