"""The model state machine (§4): load, swap groups, unload endpoints (§1.4), TTL."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from swapdeck.sim import SimHost, SimModel
from swapdeck.sim.process import ProcState

from .conftest import FAST_MODELS, HostFactory, SseReader, client_for, wait_for


def _state(host: SimHost, model: str) -> str:
    return host.core.procs.procs[model].state.value


async def _status_lists(sse: SseReader, done: tuple[str, str]) -> list[dict[str, str]]:
    """Every modelStatus as {model: state} until model `done[0]` reaches state `done[1]`."""
    lists: list[dict[str, str]] = []
    while not lists or lists[-1].get(done[0]) != done[1]:
        kind, payload = await sse.message()
        if kind == "modelStatus":
            lists.append({m["id"]: m["state"] for m in payload})
    return lists


async def test_swap_stops_the_other_member_of_the_group(make_host: HostFactory) -> None:
    """§4: loading a model stops the other members of its group (swap), each transition a
    full `modelStatus` list; models of other groups keep running."""
    host = await make_host("v250")
    await host.serve_request("emb", path="/v1/embeddings")
    await host.serve_request("alpha")
    async with client_for(host) as client, SseReader(client) as sse:
        await sse.initial(6)
        task = host.core.spawn(host.serve_request("beta"))
        lists = await _status_lists(sse, ("beta", "ready"))
        await task
    assert [(s["alpha"], s["beta"]) for s in lists] == [
        ("stopping", "stopped"), ("stopped", "stopped"), ("stopped", "starting"),
        ("stopped", "ready")]
    assert all(s["emb"] == "ready" and len(s) == 3 for s in lists)


async def test_a_swap_waits_for_in_flight_requests(make_host: HostFactory) -> None:
    """§4: a stop drains in-flight requests first, so a swap never cuts one short."""
    slow = replace(FAST_MODELS[0], decode_tps=200.0)
    host = await make_host("v250", models=[slow, *FAST_MODELS[1:]])
    long_request = host.core.spawn(host.serve_request("alpha", output_tokens=80))
    await wait_for(lambda: host.core.decoding == 1)
    swap = host.core.spawn(host.serve_request("beta"))
    await asyncio.sleep(0.1)
    assert _state(host, "alpha") == "ready"  # still serving the long request
    record_id = await long_request
    await swap
    rows = {r.id: r.done for r in host.core.activity.rows()}
    assert record_id is not None
    assert rows[record_id].status == 200 and rows[record_id].tokens.output_tokens == 80
    assert _state(host, "alpha") == "stopped"


@pytest.mark.parametrize("era", ["v200", "v250"])
async def test_unload_endpoints(make_host: HostFactory, era: str) -> None:
    """§1.4: POST /api/models/unload/{model} (alias accepted) -> "OK"; unknown -> 404;
    POST /api/models/unload -> {"msg":"ok"}; GET /unload -> "OK"; all block until stopped."""
    host = await make_host(era)
    async with client_for(host, Accept="application/json") as client:
        await host.serve_request("alpha")
        one = await client.post("/api/models/unload/a")
        assert (one.status_code, one.text, _state(host, "alpha")) == (200, "OK", "stopped")
        missing = await client.post("/api/models/unload/nope")
        assert missing.status_code == 404 and missing.json()["error"] == "model not found"
        await host.serve_request("alpha")
        await host.serve_request("emb", path="/v1/embeddings")
        every = await client.post("/api/models/unload")
        assert every.json() == {"msg": "ok"}
        assert {_state(host, m.id) for m in FAST_MODELS} == {"stopped"}
        await host.serve_request("beta")
        assert (await client.get("/unload")).text == "OK"
        assert _state(host, "beta") == "stopped"


async def test_unload_aborts_a_start(make_host: HostFactory) -> None:
    """§4: starting -> stopped when an unload aborts the start; the waiting request fails
    (recorded from v229 with status 502 and error_msg)."""
    slow = replace(FAST_MODELS[0], load_s=5.0)
    host = await make_host("v250", models=[slow, *FAST_MODELS[1:]])
    request = host.core.spawn(host.serve_request("alpha"))
    await wait_for(lambda: _state(host, "alpha") == "starting")
    async with client_for(host) as client:
        assert (await client.post("/api/models/unload/alpha")).text == "OK"
    record_id = await request
    assert record_id is not None
    done = {r.id: r.done for r in host.core.activity.rows()}[record_id]
    assert done.status == 502 and "stopped while starting" in done.error_msg
    assert _state(host, "alpha") == "stopped"


async def test_ttl_unloads_an_idle_model(make_host: HostFactory) -> None:
    """§4: ticking every 1 s, a ready model with nothing in flight stops once
    now - lastUse > ttl; one that has no ttl stays."""
    models = [replace(FAST_MODELS[0], ttl=1), replace(FAST_MODELS[2], ttl=0)]
    host = await make_host("v236", models=models)
    await host.serve_request("alpha")
    await host.serve_request("emb", path="/v1/embeddings")
    assert _state(host, "alpha") == "ready"
    await wait_for(lambda: _state(host, "alpha") == "stopped", timeout=5.0)
    assert _state(host, "emb") == "ready"
    assert "TTL of 1s reached" in host.core.logs.proxy.history()


def test_catalog_rejects_ambiguous_names() -> None:
    with pytest.raises(ValueError, match="'x' is used by both"):
        SimHost("v250", models=[SimModel("x"), SimModel("y", aliases=("x",))])


def test_unknown_era_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown simulator era 'v999'"):
        SimHost("v999")


async def test_reload_shuts_processes_down_then_fresh(make_host: HostFactory) -> None:
    """§4/§5: on reload every process ends at `shutdown`, then a fresh set at `stopped`."""
    host = await make_host("v250")
    await host.serve_request("alpha")
    async with client_for(host) as client, SseReader(client) as sse:
        await sse.initial(6)
        await host.config_reload()
        await sse.until("modelStatus",
                        lambda p: {m["state"] for m in p} == {ProcState.SHUTDOWN.value})
        with pytest.raises(StopAsyncIteration):  # §2.3: the stream ends cleanly on reload
            await sse.frame()
    assert _state(host, "alpha") == "stopped"
