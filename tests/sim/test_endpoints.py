"""Each era serves exactly its endpoints, in its shapes (§1, §10)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import httpx
import pytest

from swapdeck.sim import SimHost

from .conftest import ALL_ERAS, FAST_MODELS, HostFactory, client_for, wait_for

# path -> eras that serve it (GET); everything else must be Go's plain 404 (§0, §10).
GET_MATRIX = {
    "/api/version": set(ALL_ERAS),
    "/v1/models": set(ALL_ERAS),
    "/models": {"v250"},
    "/running": set(ALL_ERAS),
    "/api/metrics": {"v200", "v230"},
    "/api/metrics/activity": {"v236", "v250"},
    "/api/metrics/stats": {"v236", "v250"},
    "/api/performance": {"v230", "v236", "v250"},
    "/metrics": {"v230", "v236", "v250"},
    "/api/hardware": {"v250"},
    "/logs": set(ALL_ERAS),
    "/health": set(ALL_ERAS),
    "/api/profiles": {"v250"},
}


@pytest.mark.parametrize("era", ALL_ERAS)
async def test_endpoint_matrix(make_host: HostFactory, era: str) -> None:
    """§10: what each version has; missing ones answer `404 page not found` (§0)."""
    host = await make_host(era)
    async with client_for(host) as client:
        for path, eras in GET_MATRIX.items():
            response = await client.get(path)
            if era in eras:
                assert response.status_code == 200, (era, path, response.text)
            else:
                assert response.status_code == 404, (era, path)
                assert response.text.startswith("404 page not found"), (era, path)
        cancel = await client.post("/api/inflight/1/cancel")
        assert cancel.status_code == 404
        if era in ("v200", "v230"):  # v235+ only
            assert cancel.text.startswith("404 page not found")
        else:  # route exists, request does not
            assert cancel.json()["error"] == "request not found"


async def test_profiles_v241(make_host: HostFactory) -> None:
    """§1.7: GET /api/profiles and PUT /api/profiles/active; clearing says so on SSE."""
    host = await make_host("v250")
    async with client_for(host) as client:
        assert (await client.get("/api/profiles")).json() == {"active": None, "profiles": []}
        cleared = await client.put("/api/profiles/active", json={"name": None})
        assert cleared.status_code == 200 and cleared.json() == {"active": None}
        unknown = await client.put("/api/profiles/active", json={"name": "coding"})
        assert unknown.status_code == 404 and "coding" in unknown.json()["error"]


@pytest.mark.parametrize("era", ALL_ERAS)
async def test_version(make_host: HostFactory, era: str) -> None:
    """§1.7: `{"version","commit","build_date"}` with the release tag as version."""
    host = await make_host(era)
    async with client_for(host) as client:
        body = (await client.get("/api/version")).json()
    assert list(body) == ["version", "commit", "build_date"]
    assert body["version"] == era
    assert len(body["commit"]) == 7


async def test_models_list_v250(make_host: HostFactory) -> None:
    """§1.2: unlisted models hidden, sorted by id, status, meta.llamaswap, capabilities."""
    host = await make_host("v250")
    async with client_for(host) as client:
        await host.serve_request("a")
        body = (await client.get("/v1/models")).json()
        alias_body = (await client.get("/models")).json()
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == ["alpha", "beta"]
    alpha = body["data"][0]
    assert alpha["status"] == {"value": "loaded"}
    assert alpha["meta"] == {"llamaswap": {"type": "model", "aliases": ["a"]}}
    assert alpha["capabilities"] == {"function_calling": True}
    assert alpha["context_length"] == 8192
    assert body["data"][1]["status"] == {"value": "unloaded"}
    assert [m["id"] for m in alias_body["data"]] == ["alpha", "beta"]


@pytest.mark.parametrize("era", ["v200", "v230"])
async def test_models_list_before_v236_has_no_status(make_host: HostFactory, era: str) -> None:
    """§1.2: `status` since v236; §12: no meta.llamaswap.type before v250."""
    host = await make_host(era)
    async with client_for(host) as client:
        body = (await client.get("/v1/models")).json()
    assert all("status" not in m and "meta" not in m for m in body["data"])


async def test_models_list_v236_status_without_meta(make_host: HostFactory) -> None:
    """§12: `meta.llamaswap.type` is absent at v236."""
    host = await make_host("v236")
    async with client_for(host) as client:
        body = (await client.get("/v1/models")).json()
    assert all("meta" not in m and m["status"]["value"] == "unloaded" for m in body["data"])


@pytest.mark.parametrize(("era", "shows_starting"), [("v200", False), ("v230", True),
                                                      ("v250", True)])
async def test_running_per_era(make_host: HostFactory, era: str, shows_starting: bool) -> None:
    """§1.3: <=v217 lists only ready processes; v218+ also starting/stopping; v186+ fields."""
    host = await make_host(era, models=[replace(m, load_s=0.25) for m in FAST_MODELS])
    async with client_for(host) as client:
        loading = host.core.spawn(host.serve_request("alpha"))
        await _until_state(host, "alpha", "starting")
        during = (await client.get("/running")).json()["running"]
        await loading
        after = (await client.get("/running")).json()["running"]
    assert [r["state"] for r in during] == (["starting"] if shows_starting else [])
    assert list(after[0]) == ["model", "state", "cmd", "proxy", "ttl", "name", "description"]
    assert after[0]["model"] == "alpha" and after[0]["state"] == "ready"
    assert after[0]["proxy"].startswith("http://localhost:")


async def _until_state(host: SimHost, model: str, state: str) -> None:
    await wait_for(lambda: host.core.procs.procs[model].state.value == state)


@pytest.mark.parametrize("era", ["v230", "v250"])
async def test_hardware_and_prometheus(make_host: HostFactory, era: str) -> None:
    """§1.7 /api/hardware (v247+); §1.8 Prometheus names for sys and per-GPU series."""
    host = await make_host(era, gpus=2, perf_every_s=0.05)
    async with client_for(host) as client:
        await _wait_perf(client)
        prom = (await client.get("/metrics")).text
        hardware = await client.get("/api/hardware")
    assert 'llamaswap_gpu_util_percent{id="1",' in prom
    assert 'llamaswap_load_average{interval="5m"}' in prom
    if era == "v250":
        body = hardware.json()
        assert len(body["accelerators"]) == 2
        assert body["accelerators"][0]["memory"]["capacity_bytes"] > 0
    else:
        assert hardware.status_code == 404


async def _wait_perf(client: httpx.AsyncClient) -> None:
    for _ in range(200):
        body = (await client.get("/api/performance")).json()
        if body["sys_stats"]:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("no performance sample arrived")


@pytest.mark.parametrize(("era", "status"), [("v200", 404), ("v250", 405)])
async def test_wrong_method(make_host: HostFactory, era: str, status: int) -> None:
    """§0: Go 1.22 ServeMux answers 405 for a known path with the wrong method; gin 404s."""
    host = await make_host(era)
    async with client_for(host) as client:
        response = await client.delete("/running")
        preflight = await client.options("/v1/models")
    assert response.status_code == status
    assert (preflight.status_code, preflight.headers["access-control-allow-origin"]) == (204, "*")


async def test_cancel_inflight_request(make_host: HostFactory) -> None:
    """§1.7: POST /api/inflight/{id}/cancel cancels the request's context; the request ends
    with a 502 record (v229+ records failures, §12)."""
    slow = replace(FAST_MODELS[0], decode_tps=50.0)
    host = await make_host("v250", models=[slow, *FAST_MODELS[1:]])
    async with client_for(host) as client:
        request = host.core.spawn(host.serve_request("alpha", output_tokens=500))
        await wait_for(lambda: host.core.decoding == 1)
        (entry_id,) = host.core.inflight.entries
        response = await client.post(f"/api/inflight/{entry_id}/cancel")
        record_id = await request
        streamed = host.core.spawn(client.post("/v1/chat/completions", json={
            "model": "alpha", "max_tokens": 500, "messages": [{"role": "user", "content": "x"}]}))
        await wait_for(lambda: len(host.core.inflight.entries) == 1 and host.core.decoding == 1)
        (entry_id,) = host.core.inflight.entries
        await client.post(f"/api/inflight/{entry_id}/cancel")
        cut = await streamed
    assert response.json() == {"msg": "ok"}
    rows = {row.id: row.done for row in host.core.activity.rows()}
    assert record_id is not None
    assert rows[record_id].status == 502 and rows[record_id].error_msg == "context canceled"
    assert cut.status_code == 502
    assert len(rows) == 2 and not host.core.inflight.entries
