"""The llama-swap connector against the simulator (`swapdeck.sim`), one host per era.

Everything crosses real loopback HTTP: the simulator serves what each llama-swap version
serves (§10) and the connector must turn every era into the same events.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import pytest

from swapdeck.config import HostConfig
from swapdeck.events import (
    ActivityRecorded,
    EngineVersion,
    FrameRejected,
    GapSuspected,
    InflightCount,
    InflightRemoved,
    InflightSnapshot,
    InflightUpsert,
    Liveness,
    LivenessChanged,
    LogLines,
    LogSource,
    ModelsListed,
    ModelState,
    ModelStateChanged,
    PerfSampled,
)
from swapdeck.sim import Era, SimHost
from swapdeck.sources.base import ActionError, ResumePoint
from swapdeck.sources.errors import AUTH_FAILED
from swapdeck.sources.llamaswap import LlamaSwapConnector
from swapdeck.sources.reconnect import ReconnectPolicy
from tests.sources.recorder import Recorder

E = TypeVar("E")
ERAS = [Era.V200, Era.V230, Era.V236, Era.V250]
FAST = ReconnectPolicy(base_s=0.01, cap_s=0.05, open_after=4, probe_interval_s=0.05)
MODEL = "llama-3.1-8b"


def make_connector(host: SimHost, *, api_key: str | None = None,
                   resume: ResumePoint | None = None) -> LlamaSwapConnector:
    config = HostConfig(name=host.name, url=host.url, api_key=api_key)
    # Poll perf faster than a real host samples (§1.9), only so a short test sees it.
    config = config.model_copy(update={"perf_interval_s": 0.05})
    return LlamaSwapConnector(config, resume=resume or ResumePoint(), rng=random.Random(1),
                              policy=FAST)


@contextlib.asynccontextmanager
async def following(connector: LlamaSwapConnector, rec: Recorder) -> AsyncIterator[None]:
    task = asyncio.create_task(connector.run(rec))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def sim(era: Era, **kwargs: Any) -> AsyncIterator[SimHost]:
    host = SimHost(era, name=f"sim-{era}", seed=3, perf_every_s=0.05, **kwargs)
    await host.start()
    try:
        yield host
    finally:
        await host.stop()


@pytest.mark.parametrize("era", ERAS)
async def test_each_era_becomes_the_same_events(era: Era) -> None:
    """§6 recipe, §2.2/§2.4 per-era stream shapes, §3.1 record shapes, §1.9 perf."""
    async with sim(era) as host:
        rec = Recorder()
        conn = make_connector(host)
        async with following(conn, rec):
            swap = await rec.wait_for(EngineVersion)
            assert (swap.host, swap.component, swap.version) == (host.name, "llama-swap", era)
            await rec.connected()
            listed = await rec.wait_for(ModelsListed)
            assert [m.id for m in listed.models] == sorted(m.id for m in host.models)
            assert all(m.state is ModelState.STOPPED for m in listed.models)

            remote_id = await host.serve_request(MODEL, prompt_tokens=120, output_tokens=7)
            assert remote_id is not None
            batch = await rec.activity(remote_id)
            (record,) = [r for r in batch.records if r.remote_id == remote_id]
            assert (record.epoch, record.model) == (0, MODEL)
            assert (record.input_tokens, record.output_tokens) == (120, 7)
            assert record.duration_ms > 0 and record.decode_tps > 0
            if era is Era.V200:  # §3.1: flat records have no path or status
                assert (record.req_path, record.status_code) == (None, None)
            else:
                assert (record.req_path, record.status_code) == ("/v1/chat/completions", 200)
            assert record.remote_id == host.held_activity_ids()[-1]

            transitions = [(e.old, e.new) for e in rec.of(ModelStateChanged) if e.model == MODEL]
            assert transitions[:2] == [(ModelState.STOPPED, ModelState.STARTING),
                                       (ModelState.STARTING, ModelState.READY)]
            engine = await rec.wait_for(EngineVersion, lambda e: e.component == "llama-server")
            assert (engine.version, engine.commit) == ("b6497", "cd08fc3e")
            ttl = await rec.wait_for(ModelsListed,
                                     lambda e: any(m.ttl_s is not None for m in e.models))
            assert {m.id: m.ttl_s for m in ttl.models}[MODEL] == 0  # §1.3 `ttl`
            assert rec.of(LogLines)[0].source in (LogSource.PROXY, LogSource.UPSTREAM)

            if era in (Era.V200, Era.V230):  # §2.4 `{"total":N}`
                assert rec.of(InflightCount)
            elif era is Era.V236:  # §2.4 full list every time
                assert any(s.requests for s in rec.of(InflightSnapshot))
            else:  # §2.2 operations
                upsert = rec.of(InflightUpsert)[0]
                assert upsert.request.model == MODEL
                assert any(r.request_id == upsert.request.id for r in rec.of(InflightRemoved))
            if era is Era.V200:  # §1.9: /api/performance is v212+
                assert not rec.of(PerfSampled)
            else:
                perf = await rec.wait_for(PerfSampled)
                assert perf.sys and perf.gpus
                assert [g.index for g in perf.gpus] == sorted(g.index for g in perf.gpus)
        assert not rec.of(FrameRejected)
        assert conn.stats.frames_malformed == 0


@pytest.mark.parametrize("era", ERAS)
async def test_malformed_frames_are_skipped_and_counted(era: Era) -> None:
    """§2.1: broken frames (four kinds from the simulator) never end the stream."""
    async with sim(era) as host:
        rec = Recorder()
        conn = make_connector(host)
        async with following(conn, rec):
            await rec.wait_for(ModelsListed)
            host.inject_malformed(4)
            remote_id = await host.serve_request(MODEL, output_tokens=3)
            assert remote_id is not None
            await rec.activity(remote_id)
    rejected = rec.of(FrameRejected)
    assert len(rejected) == 4
    assert [e.reason for e in rejected[:3]] == [
        "envelope is not JSON", "envelope data is not JSON", "unknown message type"]
    # A record with wrong field types: inside a `metrics` array the frame is fine and the
    # record is counted (§2.4); v236+ sends only `activity {"id"}`, so the frame is bad.
    if era in (Era.V200, Era.V230):
        assert rejected[3].reason == "malformed activity record"
        assert (conn.stats.frames_malformed, conn.stats.records_rejected) == (3, 1)
    else:
        assert rejected[3].reason == "malformed activity payload"
        assert (conn.stats.frames_malformed, conn.stats.records_rejected) == (4, 0)
    assert conn.stats.reconnects == 0


@pytest.mark.parametrize("era", ERAS)
async def test_config_reload_is_a_quiet_reconnect(era: Era) -> None:
    """§2.3: every reload closes the stream; §12: gin/v230 ids restart, the v236+ store stays."""
    async with sim(era) as host:
        rec = Recorder()
        conn = make_connector(host)
        async with following(conn, rec):
            await rec.connected()
            first = await host.serve_request(MODEL, output_tokens=3)
            assert first is not None
            await rec.activity(first)
            mark = rec.mark()
            await host.config_reload()
            await rec.connected(after=mark)
            lost = rec.of(LivenessChanged, after=mark)[0]
            assert (lost.liveness, lost.attempt, lost.last_error) == (
                Liveness.RECONNECTING, 1, "")
            second = await host.serve_request(MODEL, output_tokens=3)
            assert second is not None
            batch = await rec.activity(second, after=mark)
        (record,) = [r for r in batch.records if r.remote_id == second]
        ids_restarted = era in (Era.V200, Era.V230)
        assert record.epoch == (1 if ids_restarted else 0)
        assert second == (first if ids_restarted else first + 1)
        assert bool(rec.of(GapSuspected)) == ids_restarted
        assert not any(e.liveness is Liveness.DOWN for e in rec.of(LivenessChanged))


@pytest.mark.parametrize("era", ERAS)
async def test_kill_and_restart_mid_stream(era: Era) -> None:
    """§12: a restart without a persistent store begins the ids again: a new epoch, a gap."""
    async with sim(era, persistent_store=False) as host:
        rec = Recorder()
        conn = make_connector(host)
        async with following(conn, rec):
            await rec.connected()
            ids = [await host.serve_request(MODEL, output_tokens=2) for _ in range(3)]
            assert ids == host.held_activity_ids()
            last = ids[-1]
            assert last is not None
            await rec.activity(last)
            mark = rec.mark()
            await host.restart()
            await rec.connected(after=mark)
            dropped = rec.of(LivenessChanged, after=mark)[0]
            assert dropped.liveness is Liveness.RECONNECTING
            assert dropped.last_error.startswith("event stream: connection")
            new_id = await host.serve_request(MODEL, output_tokens=2)
            assert new_id is not None
            assert new_id == ids[0]  # the simulator really restarted its ids
            batch = await rec.activity(new_id, after=mark)
            gap = await rec.wait_for(GapSuspected, after=mark)
        assert [(r.remote_id, r.epoch) for r in batch.records] == [(new_id, 1)]
        assert gap.window_end == batch.records[0].finished_at
        assert conn.epoch == 1
        stored = [(r.epoch, r.remote_id) for e in rec.of(ActivityRecorded) for r in e.records]
        assert len(stored) == len(set(stored)) == 4


@pytest.mark.parametrize("era", [Era.V200, Era.V250])
async def test_host_down_then_up_again(era: Era) -> None:
    """§2.3 backoff; a host that stays away is `down` until `/health` answers again."""
    async with sim(era) as host:
        rec = Recorder()
        conn = make_connector(host)
        async with following(conn, rec):
            await rec.connected()
            before = await host.serve_request(MODEL, output_tokens=2)
            assert before is not None
            await rec.activity(before)
            await host.go_down()
            down = await rec.wait_for(LivenessChanged, lambda e: e.liveness is Liveness.DOWN)
            assert "cannot connect" in down.last_error and down.last_seen is not None
            mark = rec.mark()
            await host.come_up()
            await rec.connected(after=mark)
            after = await host.serve_request(MODEL, output_tokens=2)
            assert after is not None
            await rec.activity(after, after=mark)
        seen = [r.remote_id for e in rec.of(ActivityRecorded) for r in e.records]
        assert seen == [before, after]  # the replay after reconnecting added nothing twice


@pytest.mark.parametrize("era", ERAS)
async def test_wrong_api_key(era: Era) -> None:
    """§7: 401 `unauthorized: invalid or missing API key`; the right Bearer key connects
    (case-sensitive scheme in the gin era, §12)."""
    async with sim(era, api_key="sk-test-key") as host:
        wrong, right = Recorder(), Recorder()
        async with (following(make_connector(host, api_key="sk-nope"), wrong),
                    following(make_connector(host, api_key="sk-test-key"), right)):
            down = await wrong.wait_for(LivenessChanged)
            await right.connected()
        assert (down.liveness, down.last_error) == (Liveness.DOWN, AUTH_FAILED)
        assert not wrong.of(ModelsListed)


@pytest.mark.parametrize("era", [Era.V200, Era.V250])
async def test_actions_against_the_simulator(era: Era) -> None:
    """§1.4 unload, §1.5 a warm-up through `/upstream` (loads, not metered), §1.10
    captures, §1.6 per-model log, §0 errors."""
    async with sim(era) as host:
        rec = Recorder()
        conn = make_connector(host)
        async with following(conn, rec):
            await rec.wait_for(ModelsListed)
            await conn.warm(MODEL)
            await rec.wait_for(ModelStateChanged,
                               lambda e: e.model == MODEL and e.new is ModelState.READY)
            assert host.served == 0 and host.held_activity_ids() == []
            await host.serve_request(MODEL, prompt_tokens=5, output_tokens=1)
            record = (await rec.wait_for(ActivityRecorded)).records[0]
            assert record.output_tokens == 1
            capture = await conn.fetch_capture(record.epoch, record.remote_id)
            assert capture is not None and capture.req_body is not None
            logs = conn.follow_log(MODEL)
            first = await anext(logs)
            assert first.source is LogSource.MODEL and first.model == MODEL and first.lines
            await logs.aclose()
            await conn.unload(MODEL)
            await rec.wait_for(ModelStateChanged,
                               lambda e: e.model == MODEL and e.new is ModelState.STOPPED)
            with pytest.raises(ActionError, match=r"^unload nope: HTTP 404: "):
                await conn.unload("nope")
            await conn.unload_all()
            assert await conn.health()
