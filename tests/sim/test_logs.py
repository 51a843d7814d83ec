"""Logs (§1.6): `/logs`, `/logs/stream[/{id}]`, per-model logs, the engine banner."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from swapdeck.sim.logs import LogStreamSubscriber

from .conftest import HostFactory, client_for

BUILD_LINE = "build: 6497 (cd08fc3e) with cc for x86_64-linux-gnu"


async def test_logs_hold_access_lines_but_not_perf_polls(make_host: HostFactory) -> None:
    """§0: every request except /api/performance and /metrics writes an access-log line;
    `/logs` is the proxy history with the default logToStdout."""
    host = await make_host("v250", perf_every_s=3600)
    async with client_for(host, **{"User-Agent": "sim-test/1"}) as client:
        await client.get("/running")
        await client.get("/api/performance")
        await client.get("/metrics")
        text = (await client.get("/logs")).text
    assert '[INFO] Request 127.0.0.1 "GET /running HTTP/1.1" 200 ' in text
    assert '"sim-test/1"' in text
    assert "/api/performance" not in text and "GET /metrics" not in text


async def test_model_log_stream_has_banner_history_then_live(make_host: HostFactory) -> None:
    """§1.6: history first, then live bytes; the model's own log carries the llama-server
    banner with its build line and ANSI colours."""
    host = await make_host("v236", build="6497", build_commit="cd08fc3e")
    await host.serve_request("alpha")
    async with client_for(host) as client, client.stream("GET", "/logs/stream/a") as response:
        assert response.headers["content-type"].startswith("text/plain")
        chunks = response.aiter_text()
        history = await asyncio.wait_for(chunks.__anext__(), 3)
        assert BUILD_LINE in history and "\x1b[" in history
        await host.serve_request("alpha", output_tokens=7)
        live = ""
        while "eval time" not in live:
            live += await asyncio.wait_for(chunks.__anext__(), 3)
    assert "prompt eval time" in live


async def test_no_history_and_bad_id(make_host: HostFactory) -> None:
    """§1.6: `?no-history` skips the history; a bad id is 400."""
    host = await make_host("v250")
    await host.serve_request("alpha")
    async with client_for(host) as client:
        bad = await client.get("/logs/stream/nope")
        async with client.stream("GET", "/logs/stream/upstream?no-history") as response:
            chunks = response.aiter_text()
            await host.serve_request("alpha")
            first = await asyncio.wait_for(chunks.__anext__(), 3)
    assert bad.status_code == 400
    assert BUILD_LINE not in first  # the banner was history, not live


async def test_drop_streams_ends_log_streams(make_host: HostFactory) -> None:
    """A dropped log stream ends without the terminating chunk (not a clean end)."""
    host = await make_host("v200")
    async with client_for(host) as client, client.stream("GET", "/logs/stream") as response:
        chunks = response.aiter_raw()
        await asyncio.wait_for(chunks.__anext__(), 3)
        await host.drop_streams()
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            while True:
                await asyncio.wait_for(chunks.__anext__(), 3)


def test_slow_log_subscriber_gets_a_dropped_marker() -> None:
    """§1.6: a 10-slot channel; overflow is dropped and marked `— N bytes dropped —`."""
    subscriber = LogStreamSubscriber()
    for index in range(14):
        subscriber.feed(f"line {index:02d}\n")
    first = subscriber.take()
    subscriber.feed("after\n")
    assert first.count("\n") == 10
    assert subscriber.take() == "\n— 32 bytes dropped —\nafter\n"
