"""Close -> reopen gives back the same picture and where each host left off."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from swapdeck.events import (
    ActivityRecorded,
    EngineVersion,
    HostEvent,
    InflightCount,
    Liveness,
    LivenessChanged,
    ModelInfo,
    ModelsListed,
    ModelState,
    ModelStateChanged,
    PerfSampled,
)
from swapdeck.history import HistoryStore
from swapdeck.history.picture import as_memory
from swapdeck.sources.base import ResumePoint

from .conftest import T0, activity, gpu_sample, perf, record, sys_sample


def fleet_history() -> list[HostEvent]:
    models = (ModelInfo("qwen3-30b", ModelState.STOPPED, name="Qwen3 30B", ttl_s=300),
              ModelInfo("llama-8b", ModelState.READY, aliases=("small",)))
    return [
        EngineVersion("gpu1", T0, "llama-swap", "v250", commit="08f1076c", build_date="2026-03"),
        EngineVersion("gpu1", T0, "llama-server", "b6000"),
        ModelsListed("gpu1", T0 + 1, models),
        ModelStateChanged("gpu1", T0 + 2, "qwen3-30b", ModelState.STOPPED, ModelState.READY),
        LivenessChanged("gpu1", T0 + 3, Liveness.CONNECTED, last_seen=T0 + 3),
        activity("gpu1", *(record(i, at=T0 + i) for i in range(1, 11))),
        activity("gpu1", record(1, epoch=1, at=T0 + 20)),  # host restarted: ids begin again
        # a sample two hours old, one 30 min old and one at the watermark
        perf("gpu1", sys=(sys_sample(T0 - 7200), sys_sample(T0 - 1800), sys_sample(T0 + 30)),
             gpus=(gpu_sample(T0 + 30, 0), gpu_sample(T0 + 30, 1, power_w=-1.0))),
        LivenessChanged("gpu2", T0 + 5, Liveness.DOWN, last_error="connection refused",
                        last_seen=T0 - 100),
        InflightCount("gpu2", T0 + 6, total=3),
    ]


async def test_rebuild_after_restart(db_path: Path) -> None:
    first = await HistoryStore.open(db_path)
    for event in fleet_history():
        first.submit(event)
    await first.close()

    second = await HistoryStore.open(db_path)
    events = await second.rebuild_events(activity_limit=5, perf_window_s=3600)
    points = await second.resume_points()
    await second.close()

    gpu1 = [e for e in events if e.host == "gpu1"]
    assert [type(e).__name__ for e in gpu1] == [
        "EngineVersion", "EngineVersion", "ModelsListed", "LivenessChanged",
        "ActivityRecorded", "PerfSampled"]
    assert gpu1[0] == EngineVersion("gpu1", T0, "llama-swap", "v250", commit="08f1076c",
                                    build_date="2026-03")
    assert gpu1[1] == EngineVersion("gpu1", T0, "llama-server", "b6000")
    assert gpu1[2] == ModelsListed("gpu1", T0 + 2, (
        ModelInfo("qwen3-30b", ModelState.READY, name="Qwen3 30B", ttl_s=300),
        ModelInfo("llama-8b", ModelState.READY, aliases=("small",))))
    assert gpu1[3] == LivenessChanged("gpu1", T0 + 3, Liveness.CONNECTED, last_seen=T0 + 3)

    recent = gpu1[4]
    assert isinstance(recent, ActivityRecorded)
    # the newest 5, oldest first, the new epoch's id 1 last
    assert [(r.epoch, r.remote_id) for r in recent.records] == [
        (0, 7), (0, 8), (0, 9), (0, 10), (1, 1)]
    assert recent.records[0] == record(7, at=T0 + 7)

    sampled = gpu1[5]
    assert isinstance(sampled, PerfSampled)
    assert [s.at for s in sampled.sys] == [T0 - 1800, T0 + 30]  # last hour before the watermark
    assert sampled.sys[-1] == sys_sample(T0 + 30)
    assert sampled.gpus == (gpu_sample(T0 + 30, 0), gpu_sample(T0 + 30, 1, power_w=-1.0))

    gpu2 = [e for e in events if e.host == "gpu2"]
    assert gpu2 == [LivenessChanged("gpu2", T0 + 5, Liveness.DOWN,
                                    last_error="connection refused", last_seen=T0 - 100)]

    assert points == {
        "gpu1": ResumePoint(activity_epoch=1, last_activity_id=1, last_activity_at=T0 + 20,
                            perf_watermark=T0 + 30),
        "gpu2": ResumePoint(),
    }


async def test_resume_point_survives_activity_pruning(db_path: Path) -> None:
    """Where a host left off is kept beside its rows, not derived from them."""
    store = await HistoryStore.open(db_path)
    store.submit(activity("gpu1", record(41, epoch=2, at=T0)))
    await store.flush()
    report = await store.run_retention(now=T0 + 365 * 86400)
    assert report.activity_deleted == 1
    assert await store.activity_page() == []
    assert (await store.resume_points())["gpu1"] == ResumePoint(
        activity_epoch=2, last_activity_id=41, last_activity_at=T0)
    await store.close()


async def test_liveness_change_tracking_continues_after_restart(db_path: Path) -> None:
    store = await HistoryStore.open(db_path)
    store.submit(LivenessChanged("gpu1", T0, Liveness.CONNECTED))
    await store.close()
    store = await HistoryStore.open(db_path)
    store.submit(LivenessChanged("gpu1", T0 + 1, Liveness.CONNECTED))  # no change: no row
    store.submit(LivenessChanged("gpu1", T0 + 2, Liveness.DOWN))
    await store.close()
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT old, new FROM model_events ORDER BY id").fetchall() == [
            (None, "connected"), ("connected", "down")]


async def test_empty_history_rebuilds_nothing(store: HistoryStore) -> None:
    assert await store.rebuild_events() == []
    assert await store.resume_points() == {}


def test_a_remembered_connection_is_only_connecting_until_the_host_answers() -> None:
    """A past run's "connected" must not let a host that now hangs read as connected (and
    accept actions) until its first read times out; last-seen and the rest stay."""
    remembered = [
        LivenessChanged("gpu1", T0 + 3, Liveness.CONNECTED, last_seen=T0 + 3),
        LivenessChanged("gpu2", T0 + 5, Liveness.DOWN, attempt=4, last_error="refused",
                        last_seen=T0 + 1),
    ]
    assert as_memory(remembered) == [
        LivenessChanged("gpu1", T0 + 3, Liveness.RECONNECTING, attempt=0, last_seen=T0 + 3),
        remembered[1],
    ]
