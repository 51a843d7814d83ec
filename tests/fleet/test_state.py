"""The fleet reducer: events in, per-host picture out, deterministic and bounded."""

from __future__ import annotations

from swapdeck.events import (
    ActivityRecord,
    ActivityRecorded,
    EngineVersion,
    FrameRejected,
    GapSuspected,
    GpuSample,
    InflightCount,
    InflightRemoved,
    InflightRequest,
    InflightSnapshot,
    InflightUpsert,
    Liveness,
    LivenessChanged,
    LogLines,
    LogSource,
    ModelInfo,
    ModelsListed,
    ModelState,
    ModelStateChanged,
    PerfSampled,
    SysSample,
)
from swapdeck.fleet.state import ACTIVITY_WINDOW, LOG_WINDOW, FleetState, ttl_remaining


def record(remote_id: int, at: float, model: str = "qwen", status: int = 200) -> ActivityRecord:
    return ActivityRecord(
        remote_id=remote_id, epoch=0, finished_at=at, model=model,
        req_path="/v1/chat/completions", status_code=status, content_type="text/event-stream",
        cache_tokens=-1, input_tokens=10, output_tokens=20, prompt_tps=-1, decode_tps=50.0,
        duration_ms=400)


def listed(at: float, **states: ModelState) -> ModelsListed:
    models = tuple(ModelInfo(id=m, state=s, ttl_s=60) for m, s in states.items())
    return ModelsListed("a", at, models)


def test_seq_is_monotonic_per_host_and_fleet() -> None:
    fleet = FleetState(["a", "b"])
    fleet.apply(listed(1.0, qwen=ModelState.STOPPED))
    fleet.apply(FrameRejected("b", 2.0, "bad json"))
    fleet.apply(FrameRejected("b", 3.0, "bad json"))
    assert fleet.hosts["a"].seq == 1
    assert fleet.hosts["b"].seq == 2
    assert fleet.seq == 3
    assert fleet.hosts["b"].frames_rejected == 2


def test_models_listed_keeps_state_since_and_last_use_across_lists() -> None:
    fleet = FleetState(["a"])
    fleet.apply(listed(1.0, qwen=ModelState.STOPPED))
    fleet.apply(listed(2.0, qwen=ModelState.STARTING))
    fleet.apply(listed(5.0, qwen=ModelState.READY))
    fleet.apply(ActivityRecorded("a", 9.0, (record(1, 9.0),)))
    fleet.apply(listed(12.0, qwen=ModelState.READY))
    view = fleet.hosts["a"].models["qwen"]
    assert view.info.state is ModelState.READY
    assert view.state_since == 5.0
    assert view.last_request_done == 9.0


def test_state_change_event_updates_one_model() -> None:
    fleet = FleetState(["a"])
    fleet.apply(listed(1.0, qwen=ModelState.READY, gemma=ModelState.STOPPED))
    fleet.apply(ModelStateChanged("a", 3.0, "qwen", ModelState.READY, ModelState.STOPPING))
    host = fleet.hosts["a"]
    assert host.models["qwen"].info.state is ModelState.STOPPING
    assert host.models["qwen"].info.ttl_s == 60
    assert host.models["gemma"].info.state is ModelState.STOPPED


def test_ttl_countdown_follows_llama_swap_rule() -> None:
    """§4: stop when ready, nothing in flight and now - lastUse > ttl."""
    fleet = FleetState(["a"])
    fleet.apply(listed(0.0, qwen=ModelState.STOPPED))
    fleet.apply(listed(10.0, qwen=ModelState.READY))
    host = fleet.hosts["a"]
    assert ttl_remaining(host, "qwen", now=20.0) == 50.0  # counted from ready
    fleet.apply(ActivityRecorded("a", 30.0, (record(1, 30.0),)))
    assert ttl_remaining(host, "qwen", now=40.0) == 50.0  # counted from last request done
    fleet.apply(InflightUpsert("a", 41.0, InflightRequest(id="7", model="qwen")))
    assert ttl_remaining(host, "qwen", now=45.0) is None  # frozen while busy
    fleet.apply(InflightRemoved("a", 46.0, "7"))
    assert ttl_remaining(host, "qwen", now=200.0) == 0.0
    fleet.apply(listed(201.0, qwen=ModelState.STOPPED))
    assert ttl_remaining(host, "qwen", now=202.0) is None


def test_inflight_three_shapes() -> None:
    """§2.4: count-only (v192..v234), full list (v235..v239), operations (v240+)."""
    fleet = FleetState(["a"])
    host = fleet.hosts["a"]
    fleet.apply(InflightCount("a", 1.0, 3))
    assert host.inflight_count == 3
    fleet.apply(InflightSnapshot("a", 2.0, (InflightRequest("1", "qwen", started_at=1.5),
                                            InflightRequest("2", "gemma", started_at=1.0))))
    assert host.inflight_count == 2
    assert host.oldest_inflight_start() == 1.0
    fleet.apply(InflightUpsert("a", 3.0, InflightRequest("3", "qwen")))
    fleet.apply(InflightRemoved("a", 4.0, "2"))
    assert sorted(host.inflight) == ["1", "3"]
    assert host.inflight_for("qwen") == 2


def test_a_count_only_host_knows_no_model_s_share_and_freezes_every_ttl() -> None:
    """§2.2: v192..v234 send only `{"total":N}`. No model may read "nothing in flight", and
    llama-swap's TTL cannot fire for a model that may be serving one of those requests."""
    fleet = FleetState(["a"])
    fleet.apply(listed(0.0, qwen=ModelState.STOPPED))
    fleet.apply(listed(10.0, qwen=ModelState.READY))
    host = fleet.hosts["a"]
    fleet.apply(InflightCount("a", 11.0, 2))
    assert host.inflight_for("qwen") is None
    assert ttl_remaining(host, "qwen", now=20.0) is None
    fleet.apply(InflightCount("a", 21.0, 0))
    assert host.inflight_for("qwen") is None
    assert ttl_remaining(host, "qwen", now=30.0) == 40.0


def test_losing_the_stream_clears_inflight_and_counts_a_reconnect() -> None:
    fleet = FleetState(["a"])
    host = fleet.hosts["a"]
    fleet.apply(LivenessChanged("a", 1.0, Liveness.CONNECTED, last_seen=1.0))
    fleet.apply(InflightUpsert("a", 2.0, InflightRequest("3", "qwen")))
    fleet.apply(LivenessChanged("a", 3.0, Liveness.RECONNECTING, attempt=1,
                                last_error="connection reset", last_seen=2.5))
    assert host.inflight_count == 0
    assert host.reconnects == 1
    assert (host.liveness, host.attempt, host.last_error, host.last_seen) == (
        Liveness.RECONNECTING, 1, "connection reset", 2.5)


def test_activity_and_logs_are_bounded_windows() -> None:
    fleet = FleetState(["a"])
    host = fleet.hosts["a"]
    burst = tuple(record(i, float(i)) for i in range(ACTIVITY_WINDOW + 10))
    fleet.apply(ActivityRecorded("a", 1.0, burst))
    fleet.apply(ActivityRecorded("a", 1.0, (record(99999, 1.0, status=500),)))
    assert len(host.activity) == ACTIVITY_WINDOW
    assert host.requests_seen == ACTIVITY_WINDOW + 11
    assert host.errors_seen == 1
    fleet.apply(LogLines("a", 1.0, LogSource.PROXY, tuple(f"l{i}" for i in range(LOG_WINDOW + 5))))
    fleet.apply(LogLines("a", 1.0, LogSource.MODEL, ("x",), model="qwen"))
    assert len(host.logs["proxy"].lines) == LOG_WINDOW
    assert host.logs["proxy"].total == LOG_WINDOW + 5
    assert list(host.logs["model:qwen"].lines) == ["x"]


def test_perf_samples_are_appended_once_even_when_replayed_twice() -> None:
    fleet = FleetState(["a"])
    sys = SysSample(at=5.0, cpu_util_per_core=(10.0, 30.0), mem_total_mb=64000, mem_used_mb=2000)
    gpu = GpuSample(at=5.0, index=0, name="RTX 3090", util_pct=97, mem_used_mb=21500,
                    mem_total_mb=24576, temp_c=61, power_w=312.4)
    event = PerfSampled("a", 5.0, (sys,), (gpu,))
    fleet.apply(event)
    fleet.apply(event)
    host = fleet.hosts["a"]
    assert len(host.sys_history) == 1
    assert host.latest_sys is not None and host.latest_sys.cpu_util == 20.0
    assert host.latest_gpus() == [gpu]


def test_versions_and_gaps() -> None:
    fleet = FleetState(["a"])
    fleet.apply(EngineVersion("a", 1.0, "llama-swap", "v250", commit="60226b6"))
    fleet.apply(EngineVersion("a", 2.0, "llama-server", "b6497", commit="cd08fc3e"))
    fleet.apply(GapSuspected("a", 3.0, 100.0, 200.0, "ring overflowed"))
    host = fleet.hosts["a"]
    assert host.swap_version == "v250"
    assert (host.engine_build, host.engine_commit) == ("b6497", "cd08fc3e")
    assert host.gaps[0].window_end == 200.0


def test_unknown_host_is_added_on_first_event() -> None:
    fleet = FleetState()
    fleet.apply(FrameRejected("new", 1.0, "x"))
    assert "new" in fleet.hosts
