"""Error bodies of every era (§0, §7), performance samples (§1.9), captures (§1.10)."""

from __future__ import annotations

import json

import pytest

from swapdeck.events import GpuSample, PerfSampled
from swapdeck.sources.capture import REDACTED, parse_capture
from swapdeck.sources.errors import error_text, http_failure, is_missing_route
from swapdeck.sources.perf import parse_performance
from swapdeck.sources.timestamps import parse_rfc3339
from tests.sources.docbytes import AUTH_ERROR_V250, CAPTURE, GO_404, PERFORMANCE


@pytest.mark.parametrize(("body", "text"), [
    (b'{"src":"llama-swap","error":{"message":"model not found","type":"invalid_request_error",'
     b'"param":null,"code":"not_found"}}', "model not found"),
    (b'{"error":"model not found","src":"llama-swap"}', "model not found"),
    (b'{"error":"no local server found for requested model"}',
     "no local server found for requested model"),
    (b"llama-swap: model not found", "model not found"),
    (b"<html><body><h1>Error</h1><p>model not found</p></body></html>", "Error model not found"),
    (b"", "not found"),
])
def test_error_text_of_every_era(body: bytes, text: str) -> None:
    """§0: HEAD object, v218..v250 string, <=v217 `{"error"}` or text, HTML, empty."""
    assert error_text(404, body) == text


def test_http_failure_and_auth() -> None:
    """§7: 401 is stated plainly."""
    assert http_failure("unload m", 404, b'{"error":"model not found","src":"llama-swap"}') == \
        "unload m: HTTP 404: model not found"
    assert http_failure("/api/events", 401, AUTH_ERROR_V250.encode()) == \
        "/api/events: auth failed: invalid or missing API key"
    assert is_missing_route(404, GO_404.encode() + b"\n")
    assert not is_missing_route(404, b'{"error":"model not found"}')


def test_performance_from_the_doc() -> None:
    """§1.9: one sys sample and one GPU sample, field by field."""
    batch = parse_performance("h", json.loads(PERFORMANCE), after=None)
    at = parse_rfc3339("2026-08-22T10:15:05-07:00")
    assert batch.watermark == at
    assert batch.watermark_text == "2026-08-22T10:15:05-07:00"
    event = batch.event
    assert isinstance(event, PerfSampled)
    (sys,) = event.sys
    assert (sys.at, sys.cpu_util_per_core, sys.mem_total_mb, sys.mem_used_mb) == (
        at, (12.5, 3.0), 64218.0, 20112.0)
    assert (sys.swap_total_mb, sys.swap_used_mb, sys.load_avg_1, sys.load_avg_15) == (
        8191.0, 0.0, 1.2, 0.7)
    assert event.gpus == (GpuSample(at=at, index=0, name="NVIDIA GeForce RTX 3090",
                                    uuid="GPU-1b2c...", temp_c=61.0, util_pct=97.0,
                                    mem_util_pct=41.0, mem_used_mb=21500.0,
                                    mem_total_mb=24576.0, power_w=312.4, fan_pct=55.0),)


def test_performance_groups_gpus_and_drops_what_is_not_newer() -> None:
    """§1.9: gpu_stats is flat over samples x GPUs; `after` is strictly newer."""
    def gpu(index: int, stamp: str) -> dict[str, object]:
        return {"timestamp": stamp, "id": index, "name": f"g{index}"}

    raw = {"sys_stats": None, "gpu_stats": [
        gpu(1, "2026-08-22T10:00:10Z"), gpu(0, "2026-08-22T10:00:10Z"),
        gpu(1, "2026-08-22T10:00:05Z"), gpu(0, "2026-08-22T10:00:05Z"),
        gpu(0, "2026-08-22T10:00:00Z")]}
    batch = parse_performance("h", raw, after=parse_rfc3339("2026-08-22T10:00:00Z"))
    assert batch.event is not None
    assert [(g.index, g.at % 60) for g in batch.event.gpus] == [(0, 5), (0, 10), (1, 5), (1, 10)]
    assert batch.watermark_text == "2026-08-22T10:00:10Z"


def test_empty_performance_ring() -> None:
    """§1.9: either array may be null when the ring is empty."""
    batch = parse_performance("h", {"enabled": True, "sys_stats": None, "gpu_stats": None},
                              after=5.0)
    assert (batch.event, batch.watermark, batch.watermark_text) == (None, 5.0, None)


def test_capture_from_the_doc() -> None:
    """§1.10: base64 bodies, flattened headers, credentials redacted."""
    capture = parse_capture(json.loads(CAPTURE))
    assert capture.remote_id == 42
    assert capture.req_path == "/v1/chat/completions"
    assert capture.req_body == b'{"model":"qwen3-30b",'
    assert capture.resp_body == b'data: {"choices":['
    assert capture.req_headers["Authorization"] == REDACTED
    assert capture.resp_headers == {"Content-Type": "text/event-stream"}
    leaky = parse_capture({"id": 1, "req_headers": {"X-Api-Key": "sk-secret"},
                           "req_body": None, "resp_body": None})
    assert leaky.req_headers == {"X-Api-Key": REDACTED}
    assert (leaky.req_body, leaky.resp_body) == (None, None)
