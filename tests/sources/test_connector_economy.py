"""What the connector leaves out on a busy host, and that it loses nothing by it: health
probes while frames flow (§2.1), activity pages sized from the announced ids (§6), and the
headless profile without log lines."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from swapdeck.config import HostConfig
from swapdeck.events import (
    ActivityRecorded,
    EngineVersion,
    FrameRejected,
    Liveness,
    LivenessChanged,
    LogLines,
)
from swapdeck.sources.activitysync import LIVE_PAGE, RECONCILE_PAGE, live_page_size
from swapdeck.sources.base import HEADLESS, LIVE, FollowProfile
from swapdeck.sources.errors import describe_transport_error
from swapdeck.sources.llamaswap import LlamaSwapConnector
from swapdeck.sources.reconnect import ReconnectPolicy
from swapdeck.sources.session import make_session
from swapdeck.sources.sse import open_event_stream
from tests.sources.conftest import StartHost
from tests.sources.docbytes import frame
from tests.sources.recorder import Recorder, following
from tests.sources.test_connector_loopback import nested, v250_on_connect

FAST = ReconnectPolicy(base_s=0.01, cap_s=0.05, open_after=3, probe_interval_s=0.05)


def follow(url: str, *, profile: FollowProfile = LIVE, **extra: Any) -> LlamaSwapConnector:
    return LlamaSwapConnector(HostConfig(name="gpu1", url=url, **extra), rng=random.Random(0),
                              policy=FAST, profile=profile)


def test_live_page_size() -> None:
    assert live_page_size(None, 10) == LIVE_PAGE == live_page_size(10, None)
    assert live_page_size(12, 10) == LIVE_PAGE  # a few new rows: the usual page
    assert live_page_size(10, 10) == LIVE_PAGE
    assert live_page_size(3, 900) == LIVE_PAGE  # a restarted host counts from 1 again
    assert live_page_size(130, 10) == 121  # a burst: all of it and one row held
    assert live_page_size(10_000, 10) == RECONCILE_PAGE


async def test_frames_stand_in_for_health_probes(start_host: StartHost) -> None:
    """§2.1 has no heartbeat; frames arriving prove the stream alive, silence is probed."""
    host = await start_host(on_connect=v250_on_connect, health_ok=False)
    rec = Recorder()
    async with following(follow(host.url, health_interval_s=0.05), rec):
        await rec.connected()
        for _ in range(40):  # 0.4 s of a busy host, eight health intervals
            host.push_frame(frame("inflight", {"operation": "remove", "id": "1"}))
            await asyncio.sleep(0.01)
        assert [r for r in host.requests if r[1] == "/health"] == []
        assert rec.liveness() == [(Liveness.CONNECTED, 0, "")]
        lost = await rec.wait_for(LivenessChanged, lambda e: e.liveness is Liveness.RECONNECTING)
        assert lost.last_error == "health check: HTTP 503: no"


async def test_a_burst_announced_at_once_comes_in_one_page(start_host: StartHost) -> None:
    """§6: 120 new rows after one `activity {"id"}` are one request, parsed only down to
    the first row held; a malformed row below it is not read again."""
    held = [nested(41, "2026-08-22T10:15:08-07:00") | {"model": 7},  # malformed, old
            nested(42, "2026-08-22T10:15:09-07:00")]
    host = await start_host(on_connect=v250_on_connect, activity=held)
    rec = Recorder()
    async with following(follow(host.url), rec):
        await rec.activity(42)
        rejected_at_reconcile = len(rec.of(FrameRejected))
        asked_before = len(host.requests)
        host.activity += [nested(i, "2026-08-22T10:16:00-07:00") for i in range(43, 163)]
        host.push_frame(frame("activity", {"id": 162}))
        await rec.activity(162)
        live = [q for _, p, q in host.requests[asked_before:] if p == "/api/metrics/activity"]
        assert live == ["limit=121&page=1&sort=id&order=desc"]
        ids = [r.remote_id for e in rec.of(ActivityRecorded) for r in e.records]
        assert ids == list(range(42, 163))
        assert len(rec.of(FrameRejected)) == rejected_at_reconcile == 1


async def test_headless_profile_keeps_the_build_but_no_log_lines(
        start_host: StartHost) -> None:
    host = await start_host(on_connect=v250_on_connect)
    rec = Recorder()
    async with following(follow(host.url, profile=HEADLESS), rec):
        engine = await rec.wait_for(EngineVersion, lambda e: e.component == "llama-server")
        assert (engine.version, engine.commit) == ("b6497", "cd08fc3e")
        host.push_frame(frame("logData", {"source": "proxy", "data": "[INFO] more\n"}))
        host.push_frame(frame("activity", {"id": 1}))
        await rec.wait_until(lambda: host.requests[-1][1] == "/api/metrics/activity")
    assert rec.of(LogLines) == []
    assert not rec.of(FrameRejected)


async def test_stream_transport_errors_read_like_the_rest(start_host: StartHost) -> None:
    host = await start_host(on_connect=v250_on_connect)
    cfg = HostConfig(name="gpu1", url=host.url)
    session = make_session(cfg)
    try:
        async with open_event_stream(session) as stream:
            assert stream.status == 200
            events = stream.events()
            await anext(events)
            await host.drop_streams(abrupt=True)
            with pytest.raises(aiohttp.ClientError) as dropped:
                while True:
                    await anext(events)
        assert describe_transport_error(dropped.value).startswith("connection dropped: ")
        await host.stop()
        with pytest.raises(aiohttp.ClientError) as refused:
            async with open_event_stream(session):
                pass
        assert describe_transport_error(refused.value).startswith("cannot connect: ")
    finally:
        await session.close()


async def test_refused_stream_reads_its_body(start_host: StartHost) -> None:
    host = await start_host(on_connect=v250_on_connect, api_key="sk-right")
    session = make_session(HostConfig(name="gpu1", url=host.url, api_key="sk-wrong"))
    try:
        async with open_event_stream(session) as stream:
            assert stream.status == 401
            assert await stream.body()
    finally:
        await session.close()


async def test_gathering_reads_a_busy_stream_in_few_batches(start_host: StartHost) -> None:
    """Messages flushed one by one 10 ms apart come back together, whole and in order."""
    host = await start_host(on_connect=list)
    session = make_session(HostConfig(name="gpu1", url=host.url))

    async def send() -> None:
        for i in range(10):
            host.push_frame(frame("activity", {"id": i}))
            await asyncio.sleep(0.01)

    try:
        async with open_event_stream(session) as stream:
            sender = asyncio.create_task(send())
            batches: list[list[str]] = []
            async for batch in stream.batches(gather_s=0.3):
                batches.append([event.data for event in batch])
                if sum(map(len, batches)) == 10:
                    break
            await sender
    finally:
        await session.close()
    assert [data for batch in batches for data in batch] == [
        frame("activity", {"id": i}) for i in range(10)]
    assert len(batches) <= 3


async def test_a_page_instead_of_an_event_stream_is_a_clear_error() -> None:
    """A proxy's login page answered with 200 is not read as an empty stream (§2)."""
    async def version(_: web.Request) -> web.Response:
        return web.json_response({"version": "v250"})

    async def login_page(_: web.Request) -> web.Response:
        return web.Response(text="<html>please log in</html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/api/version", version)
    app.router.add_get("/api/events", login_page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    rec = Recorder()
    try:
        async with following(follow(f"http://127.0.0.1:{runner.addresses[0][1]}"), rec):
            failed = await rec.wait_for(LivenessChanged, lambda e: bool(e.last_error))
    finally:
        await runner.cleanup()
    assert failed.last_error == "/api/events: expected an event stream, got text/html"
