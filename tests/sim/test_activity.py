"""Activity records, the legacy ring, the v236+ store API and captures (§1.10, §3, §12)."""

from __future__ import annotations

import base64
import json
import re

import pytest

from .conftest import HostFactory, client_for

LOCAL_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?-07:00$")


async def test_legacy_ring_null_then_oldest_first_with_eviction(make_host: HostFactory) -> None:
    """§12: `/api/metrics` is `null` before the first record; §1.10: oldest first, a ring of
    metricsMaxInMemory; §3.1: legacy ids start at 0."""
    host = await make_host("v230", metrics_max_in_memory=3)
    async with client_for(host) as client:
        empty = await client.get("/api/metrics")
        assert empty.text == "null"
        for _ in range(5):
            await host.serve_request("alpha")
        body = (await client.get("/api/metrics")).json()
    assert [r["id"] for r in body] == [2, 3, 4] == host.held_activity_ids()


async def test_flat_record_v200(make_host: HostFactory) -> None:
    """§3.1: <=v208 flat shape (v190+ has cache_tokens/prompt_per_second/has_capture);
    timestamps with the host's offset and nanoseconds (§0)."""
    host = await make_host("v200")
    await host.serve_request("alpha", prompt_tokens=300, output_tokens=40, cached_tokens=100)
    async with client_for(host) as client:
        (record,) = (await client.get("/api/metrics")).json()
    assert list(record) == ["id", "timestamp", "model", "cache_tokens", "input_tokens",
                            "output_tokens", "prompt_per_second", "tokens_per_second",
                            "duration_ms", "has_capture"]
    assert (record["cache_tokens"], record["input_tokens"], record["output_tokens"]) == (
        100, 200, 40)
    assert record["prompt_per_second"] == 50000 and record["tokens_per_second"] == 2000
    assert LOCAL_STAMP.match(record["timestamp"]) and "." in record["timestamp"]


@pytest.mark.parametrize(("era", "recorded"), [("v200", False), ("v230", True),
                                                ("v236", True)])
async def test_failed_requests_recorded_only_from_v229(make_host: HostFactory, era: str,
                                                       recorded: bool) -> None:
    """§12: failed requests are not recorded before v229; from v229 with token fields 0
    (not -1) and error_msg (§3.1)."""
    host = await make_host(era)
    record_id = await host.serve_request("alpha", status=500)
    assert (record_id is not None) == recorded
    assert host.served == 1
    if recorded:
        (row,) = host.core.activity.rows()
        record = host.core.render_row(row.id, row.done)
        assert record["resp_status_code"] == 500
        # "all token fields 0 (not -1)" (§3.1): Go's zero value, the draft counts included.
        assert set(record["tokens"].values()) == {0}
        assert record["error_msg"] == "failed to decode the batch, n_batch = 2048, ret = -3"


async def test_store_paging_sorting_and_model_filter(make_host: HostFactory) -> None:
    """§1.10: limit/page/sort/order/model; default newest first; store ids start at 1;
    store rows have 1 s resolution (§0)."""
    host = await make_host("v250")
    for index in range(7):
        await host.serve_request("beta" if index % 3 == 0 else "alpha",
                                 output_tokens=10 + index)
    async with client_for(host) as client:
        first = (await client.get("/api/metrics/activity", params={"limit": 3})).json()
        page3 = (await client.get("/api/metrics/activity",
                                  params={"limit": 3, "page": 3})).json()
        by_generated = (await client.get("/api/metrics/activity", params={
            "sort": "generated", "order": "asc", "model": "alpha"})).json()
    assert [r["id"] for r in first["data"]] == [7, 6, 5]
    assert (first["page"], first["limit"], first["total"], first["total_pages"]) == (1, 3, 7, 3)
    assert [r["id"] for r in page3["data"]] == [1]
    assert [r["tokens"]["output_tokens"] for r in by_generated["data"]] == [11, 12, 14, 15]
    assert by_generated["total"] == 4
    assert all(LOCAL_STAMP.match(r["timestamp"]) and "." not in r["timestamp"]
               for r in first["data"])


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "1000"}, {"page": "0"},
                                    {"sort": "colour"}, {"order": "up"}, {"limit": "ten"}])
async def test_store_rejects_bad_parameters(make_host: HostFactory,
                                            params: dict[str, str]) -> None:
    """§1.10: bad value -> 400."""
    host = await make_host("v236")
    async with client_for(host) as client:
        response = await client.get("/api/metrics/activity", params=params)
    assert response.status_code == 400
    assert response.json()["src"] == "llama-swap"


async def test_stats_totals_and_histograms(make_host: HostFactory) -> None:
    """§1.10 stats: totals over stored rows; histograms of rates > 0 with 5..20 bins; null
    when no value."""
    host = await make_host("v236")
    async with client_for(host) as client:
        empty = (await client.get("/api/metrics/stats")).json()
        await host.serve_request("alpha", prompt_tokens=120, output_tokens=30, cached_tokens=20)
        await host.serve_request("beta", prompt_tokens=80, output_tokens=10)
        await host.serve_request("beta", status=500)
        stats = (await client.get("/api/metrics/stats")).json()
        beta = (await client.get("/api/metrics/stats", params={"model": "beta"})).json()
    assert empty["prompt_histogram"] is None and empty["gen_histogram"] is None
    assert (stats["total_requests"], stats["total_input_tokens"], stats["total_output_tokens"],
            stats["total_cache_tokens"]) == (3, 180, 40, 20)
    histogram = stats["gen_histogram"]
    assert list(histogram) == ["bins", "min", "max", "binSize", "p50", "p95", "p99"]
    assert 5 <= len(histogram["bins"]) <= 20 and sum(histogram["bins"]) == 2
    assert beta["total_requests"] == 2


@pytest.mark.parametrize(("era", "persistent", "ids_after"), [
    ("v230", True, [0]), ("v236", False, [1]), ("v236", True, [1, 2, 3]),
    ("v250", None, [1])])
async def test_restart_keeps_ids_only_with_a_persistent_store(
        make_host: HostFactory, era: str, persistent: bool | None,
        ids_after: list[int]) -> None:
    """§12: ids restart after a restart unless the v236+ store is a file (store.path);
    §3.2: unset (None here) is llama-swap's default, the in-memory store."""
    host = await (make_host(era) if persistent is None
                  else make_host(era, persistent_store=persistent))
    await host.serve_request("alpha")
    await host.serve_request("alpha")
    await host.restart()
    await host.serve_request("alpha")
    assert host.held_activity_ids() == ids_after


async def test_capture_shape_and_redaction(make_host: HostFactory) -> None:
    """§1.10: base64 bodies, headers flattened with secrets redacted, `has_capture`."""
    host = await make_host("v250", api_key="sk-secret")
    async with client_for(host) as client:
        response = await client.post("/v1/chat/completions", json={
            "model": "alpha", "messages": [{"role": "user", "content": "hello"}],
            "max_tokens": 4})
        assert response.status_code == 200
        (row,) = (await client.get("/api/metrics/activity")).json()["data"]
        capture = (await client.get(f"/api/captures/{row['id']}")).json()
    assert row["has_capture"] is True
    assert list(capture) == ["id", "req_path", "req_headers", "req_body", "resp_headers",
                             "resp_body"]
    assert capture["req_headers"]["Authorization"] == "[REDACTED]"
    assert json.loads(base64.b64decode(capture["req_body"]))["model"] == "alpha"
    assert json.loads(base64.b64decode(capture["resp_body"]))["usage"]["completion_tokens"] == 4


async def test_capture_evicted_then_not_found(make_host: HostFactory) -> None:
    """§1.10: FIFO eviction by captureBuffer; 404 `capture not found`; 400 for a bad id;
    failed requests keep the request only."""
    host = await make_host("v236", capture_buffer_mb=1)
    # Huge prompts (mostly cached, so prefill stays quick): two do not fit in 1 MB.
    first = await host.serve_request("alpha", prompt_tokens=500_000, cached_tokens=499_990)
    second = await host.serve_request("alpha", prompt_tokens=500_000, cached_tokens=499_990)
    failed = await host.serve_request("alpha", status=503)
    async with client_for(host) as client:
        gone = await client.get(f"/api/captures/{first}")
        kept = await client.get(f"/api/captures/{second}")
        failed_capture = (await client.get(f"/api/captures/{failed}")).json()
        bad = await client.get("/api/captures/abc")
    assert gone.status_code == 404 and gone.json()["error"] == "capture not found"
    assert kept.status_code == 200
    assert failed_capture["req_body"] is not None and failed_capture["resp_body"] is None
    assert bad.status_code == 400
