"""Event -> row mapping, field by field, without a database."""

from __future__ import annotations

import json
import math

from swapdeck.events import (
    EngineVersion,
    FrameRejected,
    GapSuspected,
    HostEvent,
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
    ProfileChanged,
)
from swapdeck.history.batch import WriterState, rows_for_events
from swapdeck.history.rows import (
    ACTIVITY_COLUMNS,
    GPU_COLUMNS,
    SYS_COLUMNS,
    activity_rows,
    gpu_row,
    gpu_sample_from_row,
    models_from_json,
    models_to_json,
    record_from_row,
    sys_row,
    sys_sample_from_row,
)

from .conftest import T0, activity, gpu_sample, perf, record, sys_sample


def test_activity_row_carries_every_field() -> None:
    """§3.1 record fields, including -1 unknowns, draft counts, error and metadata."""
    rec = record(42, epoch=3, at=T0 + 9, status=503, error="503 Service Unavailable",
                 cache_tokens=-1, prompt_tps=-1.0, draft_tokens=12, draft_accepted=9,
                 has_capture=True, metadata={"selector": "coding-model"})
    (row,) = activity_rows("gpu1", [rec])
    by_name = dict(zip(ACTIVITY_COLUMNS, row, strict=True))
    assert by_name == {
        "host": "gpu1", "epoch": 3, "remote_id": 42, "finished_at": T0 + 9,
        "model": "qwen3-30b", "req_path": "/v1/chat/completions", "status_code": 503,
        "content_type": "text/event-stream", "cache_tokens": -1, "input_tokens": 312,
        "output_tokens": 587, "prompt_tps": -1.0, "decode_tps": 88.4, "duration_ms": 6871,
        "has_capture": 1, "draft_tokens": 12, "draft_accepted": 9,
        "error_msg": "503 Service Unavailable", "metadata": '{"selector": "coding-model"}',
        "is_error": 1,
    }
    assert record_from_row(row) == ("gpu1", rec)


def test_pre_v209_record_has_no_status_and_is_not_an_error() -> None:
    """§12: before v209 only 200s were recorded and there is no status or path."""
    rec = record(0, status=None, req_path=None, content_type=None)
    (row,) = activity_rows("old", [rec])
    by_name = dict(zip(ACTIVITY_COLUMNS, row, strict=True))
    assert (by_name["status_code"], by_name["req_path"], by_name["is_error"]) == (None, None, 0)
    assert by_name["metadata"] is None
    assert record_from_row(row) == ("old", rec)


def test_non_finite_values_never_reach_not_null_columns() -> None:
    good = record(1, decode_tps=math.nan)
    bad_time = record(2, at=math.inf)
    rows = list(activity_rows("gpu1", [good, bad_time]))
    assert len(rows) == 1
    assert dict(zip(ACTIVITY_COLUMNS, rows[0], strict=True))["decode_tps"] == -1.0


def test_sys_row_stores_unknown_as_null_and_reads_back_minus_one() -> None:
    sample = sys_sample(T0, cpu=(10.0, 30.0), load_avg_1=-1.0)
    row = sys_row("gpu1", sample)
    by_name = dict(zip(SYS_COLUMNS, row, strict=True))
    assert by_name["cpu_pct"] == 20.0
    assert json.loads(by_name["cpu_per_core"]) == [10.0, 30.0]
    assert by_name["load_avg_1"] is None
    assert by_name["mem_used_mb"] == 20_000.0
    assert sys_sample_from_row(row) == sample


def test_sys_row_without_cores_has_no_cpu_value() -> None:
    row = sys_row("gpu1", sys_sample(T0, cpu=()))
    assert dict(zip(SYS_COLUMNS, row, strict=True))["cpu_pct"] is None


def test_gpu_row_round_trips_with_unknown_fields() -> None:
    """§1.9 gpu_stats: a reading the host could not take is -1 and must not become 0."""
    sample = gpu_sample(T0, index=1, util=97.0, power_w=-1.0)
    row = gpu_row("gpu1", sample)
    by_name = dict(zip(GPU_COLUMNS, row, strict=True))
    assert (by_name["gpu_index"], by_name["util_pct"], by_name["power_w"]) == (1, 97.0, None)
    assert gpu_sample_from_row(row) == sample


def test_models_json_round_trip() -> None:
    models = (
        ModelInfo(id="qwen3-30b", state=ModelState.READY, name="Qwen", aliases=("coder",),
                  context_length=32768, ttl_s=300),
        ModelInfo(id="peer-llama", state=ModelState.PEER, peer_id="gpu2", unlisted=True),
    )
    assert models_from_json(models_to_json(models)) == models


def test_batch_routes_each_event_kind() -> None:
    events: list[HostEvent] = [
        activity("gpu1", record(1, at=T0 + 1), record(2, at=T0 + 2)),
        perf("gpu1", sys=(sys_sample(T0 + 5),), gpus=(gpu_sample(T0 + 5), gpu_sample(T0 + 5, 1))),
        ModelStateChanged("gpu1", T0 + 6, "qwen3-30b", ModelState.STOPPED, ModelState.STARTING),
        GapSuspected("gpu1", T0 + 7, window_start=T0 - 60, window_end=T0, reason="ids jumped"),
        LivenessChanged("gpu1", T0 + 8, Liveness.DOWN, last_error="connection refused"),
        EngineVersion("gpu1", T0 + 9, "llama-swap", "v250", commit="08f1076c"),
        EngineVersion("gpu1", T0 + 9, "llama-server", "b6000", build_date="2026-01-01"),
        LogLines("gpu1", T0, LogSource.PROXY, ("a line",)),
        ProfileChanged("gpu1", T0, "coding"),
        FrameRejected("gpu1", T0, "bad json"),
        FrameRejected("gpu1", T0, "bad json"),
    ]
    batch, state = rows_for_events(events, WriterState())
    assert [r[2] for r in batch.requests] == [1, 2]
    assert len(batch.perf_sys) == 1 and len(batch.perf_gpu) == 2
    assert batch.model_events == [
        ("gpu1", T0 + 6, "state", "qwen3-30b", "stopped", "starting", None, None, ""),
        ("gpu1", T0 + 7, "gap_suspected", None, None, None, T0 - 60, T0, "ids jumped"),
        ("gpu1", T0 + 8, "liveness", None, None, "down", None, None, "connection refused"),
    ]
    patch = batch.hosts["gpu1"]
    assert (patch.activity_epoch, patch.last_activity_id, patch.last_activity_at) == (0, 2, T0 + 2)
    assert patch.perf_watermark == T0 + 5
    assert (patch.liveness, patch.last_error) == ("down", "connection refused")
    assert (patch.swap_version, patch.swap_commit) == ("v250", "08f1076c")
    assert (patch.engine_component, patch.engine_version, patch.engine_build_date) == (
        "llama-server", "b6000", "2026-01-01")
    assert patch.frames_rejected == 2
    # A lone state change still keeps the stored model list current.
    assert models_from_json(patch.models_json or "") == (
        ModelInfo(id="qwen3-30b", state=ModelState.STARTING),)
    assert state.liveness == {"gpu1": Liveness.DOWN}
    assert batch.row_count == 2 + 1 + 2 + 3 + 1


def test_liveness_event_only_when_kind_changes() -> None:
    events = [
        LivenessChanged("h", T0, Liveness.RECONNECTING, attempt=1, last_error="timeout"),
        LivenessChanged("h", T0 + 1, Liveness.RECONNECTING, attempt=2, last_error="timeout"),
        LivenessChanged("h", T0 + 2, Liveness.CONNECTED, last_seen=T0 + 2),
    ]
    batch, state = rows_for_events(events, WriterState(liveness={"h": Liveness.CONNECTED}))
    assert [(r[4], r[5]) for r in batch.model_events] == [
        ("connected", "reconnecting"), ("reconnecting", "connected")]
    patch = batch.hosts["h"]
    assert (patch.liveness, patch.liveness_attempt, patch.last_seen, patch.last_error) == (
        "connected", 0, T0 + 2, "")
    # Next batch starts from the state this one ended in.
    again, _ = rows_for_events([LivenessChanged("h", T0 + 3, Liveness.CONNECTED)], state)
    assert again.model_events == []


def test_input_state_is_not_mutated() -> None:
    """A failed flush retries the same events from the same state and gets the same rows."""
    before = WriterState(liveness={"h": Liveness.CONNECTED})
    events = [LivenessChanged("h", T0, Liveness.DOWN)]
    first, _ = rows_for_events(events, before)
    second, _ = rows_for_events(events, before)
    assert first.model_events == second.model_events != []
    assert before.liveness == {"h": Liveness.CONNECTED}


def test_models_listed_then_state_change_updates_that_model_only() -> None:
    listed = ModelsListed("h", T0, (ModelInfo("a", ModelState.STOPPED, name="A"),
                                    ModelInfo("b", ModelState.READY)))
    change = ModelStateChanged("h", T0 + 1, "a", ModelState.STOPPED, ModelState.READY)
    batch, _ = rows_for_events([listed, change], WriterState())
    patch = batch.hosts["h"]
    assert models_from_json(patch.models_json or "") == (
        ModelInfo("a", ModelState.READY, name="A"), ModelInfo("b", ModelState.READY))
    assert patch.models_at == T0 + 1


def test_inflight_count_folds_snapshots_upserts_and_removals() -> None:
    """§2.4: newer hosts send ids (snapshot/upsert/remove), v192..v234 only a total."""
    req = InflightRequest
    events: list[HostEvent] = [
        InflightSnapshot("new", T0, (req("1", "m"), req("2", "m"))),
        InflightUpsert("new", T0 + 1, req("3", "m")),
        InflightUpsert("new", T0 + 2, req("3", "m")),
        InflightRemoved("new", T0 + 3, "1"),
        InflightCount("old", T0 + 4, total=5),
    ]
    batch, state = rows_for_events(events, WriterState())
    assert (batch.hosts["new"].inflight_count, batch.hosts["new"].inflight_at) == (2, T0 + 3)
    assert batch.hosts["old"].inflight_count == 5
    assert state.inflight["new"] == frozenset({"2", "3"})


def test_highest_epoch_then_id_is_the_resume_point() -> None:
    """§12: ids restart after a reload, so a new epoch outranks any id of the old one."""
    events = [activity("h", record(900, epoch=1, at=T0), record(2, epoch=2, at=T0 + 1)),
              activity("h", record(800, epoch=1, at=T0 + 2))]
    batch, _ = rows_for_events(events, WriterState())
    patch = batch.hosts["h"]
    assert (patch.activity_epoch, patch.last_activity_id, patch.last_activity_at) == (
        2, 2, T0 + 1)
