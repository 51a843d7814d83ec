"""Host-level faults: config reload and restart per era (§12), outages, latency."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from .conftest import HostFactory, SseReader, client_for


@pytest.mark.parametrize(("era", "ids_after", "logs_kept"), [
    ("v200", [0], False), ("v230", [0], True), ("v236", [1, 2], True), ("v250", [1, 2], True)])
async def test_config_reload_resets_per_era(make_host: HostFactory, era: str,
                                            ids_after: list[int], logs_kept: bool) -> None:
    """§12: the gin era restarts ids at 0 and empties ring, captures and log histories; v236+
    keeps the store and the logs but loses captures. (v230: ring reset, logs kept — see the
    report.)"""
    host = await make_host(era)
    first = await host.serve_request("alpha")
    marker = "llama-swap listening on"
    assert marker in host.core.logs.proxy.history()
    await host.config_reload()
    assert first is not None and first not in host.core.captures
    assert (marker in host.core.logs.proxy.history()) == logs_kept
    await host.serve_request("alpha")
    assert host.held_activity_ids() == ids_after


async def test_reload_restarts_inflight_ids(make_host: HostFactory) -> None:
    """§12: in-flight ids restart at 1 after a reload (v236+)."""
    host = await make_host("v250")
    await host.serve_request("alpha")
    await host.serve_request("alpha")
    await host.config_reload()
    async with client_for(host) as client, SseReader(client) as sse:
        await sse.initial(6)
        task = host.core.spawn(host.serve_request("alpha"))
        upsert = await sse.until("inflight")
        await task
    assert upsert["request"]["id"] == "1"


async def test_reload_cuts_an_internal_request_without_recording_it(
        make_host: HostFactory) -> None:
    host = await make_host("v250")
    await host.serve_request("alpha")
    slow = host.core.spawn(host.serve_request("alpha", prompt_tokens=40_000))
    while not host.core.prefilling:
        await asyncio.sleep(0.005)
    await host.config_reload()
    assert await slow is None
    assert host.served == 2


async def test_restart_on_the_same_port_drops_streams(make_host: HostFactory) -> None:
    """A restart is a new process: open streams break, the URL stays, models start stopped."""
    host = await make_host("v236")
    url = host.url
    await host.serve_request("alpha")
    async with client_for(host) as client:
        async with SseReader(client) as sse:
            await sse.initial(4)
            await host.restart()
            with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError, StopAsyncIteration)):
                await sse.frame()
        assert host.url == url
        running = (await client.get("/running")).json()
    assert running == {"running": []}


async def test_go_down_refuses_connections_and_come_up_restores(make_host: HostFactory) -> None:
    host = await make_host("v230")
    await host.serve_request("alpha")
    await host.go_down()
    assert not host.is_up
    async with client_for(host) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("/health")
        await host.come_up()
        response = await client.get("/api/metrics")
    assert [r["id"] for r in response.json()] == [0]  # state survived the outage


async def test_latency_delays_rest_but_not_the_sse_body(make_host: HostFactory) -> None:
    host = await make_host("v250")
    async with client_for(host) as client, SseReader(client) as sse:
        await sse.initial(6)
        host.set_latency(5.0)
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/running", timeout=0.2)
        task = host.core.spawn(host.serve_request("alpha"))
        assert (await sse.until("activity", timeout=2.0))["id"] == 1
        await task
        host.set_latency(0)
        assert (await client.get("/running")).status_code == 200
