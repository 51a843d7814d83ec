"""The hand-written page parses with prometheus_client's own parsers, awkward names too."""

from __future__ import annotations

import math

from swapdeck.collector.exposition import CollectorVitals, HostExtras, fleet_families, render
from swapdeck.collector.metrics import FleetCounters
from swapdeck.collector.page import OPENMETRICS_TYPE, TEXT_TYPE, wants_openmetrics
from swapdeck.events import (
    ActivityRecord,
    ActivityRecorded,
    GpuSample,
    InflightCount,
    Liveness,
    LivenessChanged,
    ModelInfo,
    ModelsListed,
    ModelState,
    PerfSampled,
)
from swapdeck.fleet.state import FleetState

from .conftest import OPENMETRICS, parse_page

NOW = 1_795_000_000.0
HOST = 'lab "3090"\\a\nb'
MODEL = 'qwen3:30b "q4" ünï\\code'


def fed() -> tuple[FleetCounters, FleetState]:
    counters = FleetCounters([HOST, "quiet"], model_cap=4)
    state = FleetState([HOST, "quiet"])
    record = ActivityRecord(
        remote_id=1, epoch=0, finished_at=NOW - 5, model=MODEL, req_path="/v1/messages",
        status_code=200, content_type="application/json", cache_tokens=0, input_tokens=12,
        output_tokens=3, prompt_tps=1e3, decode_tps=2.5, duration_ms=50)
    for event in (
        ModelsListed(HOST, NOW, (ModelInfo(MODEL, ModelState.READY),
                                 ModelInfo("idle", ModelState.STOPPED))),
        LivenessChanged(HOST, NOW, Liveness.CONNECTED, last_seen=NOW - 2),
        ActivityRecorded(HOST, NOW, (record,)),
        InflightCount(HOST, NOW, 3),
        PerfSampled(HOST, NOW, (), (
            GpuSample(NOW - 1, 0, "RTX 3090", mem_used_mb=1024, mem_total_mb=24576,
                      util_pct=97, temp_c=61, power_w=312.4),
            GpuSample(NOW - 1, 1, "RTX 3090"),  # nothing known: only its age is shown
        )),
    ):
        state.apply(event)
        counters.observe(event)
    return counters, state


def test_both_formats_parse_and_agree() -> None:
    counters, state = fed()
    families = fleet_families(counters, state, NOW, {HOST: HostExtras(last_seen=NOW - 1)},
                              CollectorVitals(events_applied=5, history_pending=0))
    om_body, om_type = render(families, OPENMETRICS)
    text_body, text_type = render(families, "text/plain;version=0.0.4")
    assert (om_type, text_type) == (OPENMETRICS_TYPE, TEXT_TYPE)
    assert om_body.endswith(b"# EOF\n") and not text_body.endswith(b"# EOF\n")
    om = parse_page(om_body.decode(), openmetrics=True)
    text = parse_page(text_body.decode(), openmetrics=False)

    labels = {"host": HOST, "model": MODEL}
    assert om.value("swapdeck_requests_total", **labels, path="/v1/messages",
                    status="200") == 1
    assert om.value("swapdeck_prompt_tokens_total", **labels) == 12
    assert om.value("swapdeck_decode_tokens_per_second_bucket", **labels, le="2.5") == 1
    assert om.value("swapdeck_decode_tokens_per_second_bucket", **labels, le="1.0") == 0
    assert om.value("swapdeck_request_duration_seconds_bucket", **labels, le="0.05") == 1
    assert math.isclose(om.value("swapdeck_request_duration_seconds_sum", **labels), 0.05)
    assert om.value("swapdeck_model_state", **labels, swapdeck_model_state="ready") == 1
    assert om.value("swapdeck_model_last_request_timestamp_seconds", **labels) == NOW - 5
    # a count-only host (§2.4) has no per-model in-flight numbers, only its total
    assert om.series("swapdeck_model_inflight_requests") == {}
    assert om.value("swapdeck_host_inflight_requests", host=HOST) == 3
    assert om.value("swapdeck_host_last_seen_age_seconds", host=HOST) == 1
    gpu = {"host": HOST, "gpu": "0", "name": "RTX 3090"}
    assert om.value("swapdeck_gpu_memory_used_bytes", **gpu) == 1024 * 1024 * 1024
    assert om.get("swapdeck_gpu_power_watts", **{**gpu, "gpu": "1"}) is None
    assert om.value("swapdeck_gpu_sample_age_seconds", **{**gpu, "gpu": "1"}) == 1
    # a host never heard from has counters but no liveness or age yet
    assert om.value("swapdeck_host_reconnects_total", host="quiet") == 0
    assert om.value("swapdeck_host_up", host="quiet") == 0
    assert om.get("swapdeck_host_last_seen_age_seconds", host="quiet") is None
    assert om.value("swapdeck_collector_events_total") == 5
    assert om.samples == text.samples


def test_stale_gpu_readings_are_left_out() -> None:
    """§1.9, issue #1155: a frozen GPU sampler keeps serving its last sample."""
    counters, state = fed()
    families = fleet_families(counters, state, NOW + 600,
                              {HOST: HostExtras(gpu_stale_after_s=60)})
    page = parse_page(render(families, OPENMETRICS)[0].decode(), openmetrics=True)
    assert page.series("swapdeck_gpu_utilization_percent") == {}
    assert page.value("swapdeck_gpu_sample_age_seconds", host=HOST, gpu="0",
                      name="RTX 3090") == 601


def test_negotiation() -> None:
    assert wants_openmetrics("application/openmetrics-text;version=1.0.0,text/plain;q=0.5")
    assert not wants_openmetrics("text/plain;version=0.0.4;q=1,*/*;q=0.1")
    assert not wants_openmetrics("")
