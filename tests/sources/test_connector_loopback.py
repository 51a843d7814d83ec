"""The connector against scripted llama-swap hosts on loopback, serving the doc's bytes."""

from __future__ import annotations

import json
import random
from typing import Any
from urllib.parse import unquote

import pytest

from swapdeck.config import HostConfig
from swapdeck.events import (
    ActivityRecorded,
    EngineVersion,
    FrameRejected,
    GapSuspected,
    InflightCount,
    InflightRequest,
    InflightSnapshot,
    Liveness,
    LivenessChanged,
    LogLines,
    LogSource,
    ModelInfo,
    ModelsListed,
    ModelState,
    PerfSampled,
    ProfileChanged,
)
from swapdeck.sources.base import ActionError, ResumePoint
from swapdeck.sources.errors import AUTH_FAILED
from swapdeck.sources.llamaswap import LlamaSwapConnector
from swapdeck.sources.perfpoll import PerfAvailability, PerfPoller
from swapdeck.sources.reconnect import ReconnectPolicy
from swapdeck.sources.rest import json_getter
from swapdeck.sources.session import make_session
from swapdeck.sources.timestamps import parse_rfc3339
from tests.sources.conftest import StartHost
from tests.sources.docbytes import (
    INFLIGHT_ENTRY,
    MODEL_OBJECT,
    NESTED_RECORD,
    PEER_OBJECT,
    frame,
    sse,
)
from tests.sources.fakehost import FakeHost
from tests.sources.recorder import Recorder, following

NO_RESUME = ResumePoint()
FAST = ReconnectPolicy(base_s=0.01, cap_s=0.05, open_after=3, probe_interval_s=0.05)


def config(host: FakeHost, **extra: Any) -> HostConfig:
    return HostConfig(name=extra.pop("name", "gpu1"), url=host.url, **extra)


def connector(host: FakeHost, resume: ResumePoint = NO_RESUME, *,
              perf_interval_s: float | None = None, **extra: Any) -> LlamaSwapConnector:
    cfg = config(host, **extra)
    if perf_interval_s is not None:
        # Below the 5 s a real host samples at (§1.9), only so a test sees several polls.
        cfg = cfg.model_copy(update={"perf_interval_s": perf_interval_s})
    return LlamaSwapConnector(cfg, resume=resume, rng=random.Random(0), policy=FAST)


def nested(remote_id: int, stamp: str) -> dict[str, Any]:
    row: dict[str, Any] = json.loads(NESTED_RECORD)
    return row | {"id": remote_id, "timestamp": stamp}


def flat(remote_id: int, second: int) -> str:
    return json.dumps({"id": remote_id, "timestamp": f"2026-08-22T10:15:{second:02d}.25-07:00",
                       "model": "m", "cache_tokens": -1, "input_tokens": 10,
                       "output_tokens": 20, "prompt_per_second": -1, "tokens_per_second": 55.1,
                       "duration_ms": 900, "has_capture": False})


def v250_on_connect() -> list[bytes]:
    """§2.2 connect order: logData proxy, logData upstream, modelStatus, uiConfig,
    profileChanged, inflight snapshot."""
    return [sse(f) for f in (
        frame("logData", {"source": "proxy", "data": "[INFO] listening on :8080\n"}),
        frame("logData", {"source": "upstream",
                          "data": "build: 6497 (cd08fc3e) with cc for x86_64-linux-gnu\n"}),
        frame("modelStatus", f"[{MODEL_OBJECT},{PEER_OBJECT}]"),
        frame("uiConfig", {"activity": {"session_id": ["X-Session-ID"]}}),
        frame("profileChanged", {"active": None}),
        frame("inflight", {"operation": "snapshot", "requests": [json.loads(INFLIGHT_ENTRY)]}),
    )]


async def test_a_failed_running_read_is_retried_so_running_models_get_their_ttl(
        start_host: StartHost) -> None:
    """§1.3: `/running` is the only place the running models' TTLs come from; one failed
    read must not leave their countdowns unknown for the rest of the connection."""
    host = await start_host(on_connect=v250_on_connect, running_failures=2)
    rec = Recorder()
    async with following(connector(host), rec):
        listed = await rec.wait_for(ModelsListed, lambda e: e.models[0].ttl_s == 300)
    assert listed.models[0].id == "qwen3-30b"
    assert sum(1 for _, path, _ in host.requests if path == "/running") == 3


async def test_v250_host_full_connect(start_host: StartHost) -> None:
    """§6 recipe on a v250 host: version, events, REST activity, TTLs, perf (§1.3, §1.9)."""
    host = await start_host(on_connect=v250_on_connect, activity=[
        nested(41, "2026-08-22T10:15:08-07:00"), nested(42, "2026-08-22T10:15:09-07:00")])
    rec = Recorder()
    conn = connector(host)
    async with following(conn, rec):
        swap = await rec.wait_for(EngineVersion)
        assert (swap.component, swap.version, swap.commit, swap.build_date) == (
            "llama-swap", "v250", "60226b6", "2026-08-14T...")
        connected = await rec.wait_for(LivenessChanged)
        assert (connected.liveness, connected.attempt, connected.last_error) == (
            Liveness.CONNECTED, 0, "")
        batch = await rec.wait_for(ActivityRecorded)
        assert [(r.remote_id, r.epoch) for r in batch.records] == [(41, 0), (42, 0)]
        assert batch.records[1].finished_at == parse_rfc3339("2026-08-22T10:15:09-07:00")
        listed = await rec.wait_for(ModelsListed, lambda e: e.models[0].ttl_s == 300)
        assert listed.models == (
            ModelInfo(id="qwen3-30b", state=ModelState.READY, name="Qwen3 30B A3B",
                      aliases=("qwen",), context_length=32768, ttl_s=300),
            ModelInfo(id="openrouter/z-ai/glm-4.7", state=ModelState.PEER,
                      peer_id="openrouter"))
        logs = rec.of(LogLines)
        assert [(e.source, e.lines) for e in logs[:2]] == [
            (LogSource.PROXY, ("[INFO] listening on :8080",)),
            (LogSource.UPSTREAM, ("build: 6497 (cd08fc3e) with cc for x86_64-linux-gnu",))]
        engine = await rec.wait_for(EngineVersion, lambda e: e.component == "llama-server")
        assert (engine.version, engine.commit) == ("b6497", "cd08fc3e")
        assert (await rec.wait_for(ProfileChanged)).active is None
        inflight = await rec.wait_for(InflightSnapshot)
        assert inflight.requests[0] == InflightRequest(
            id="7", model="qwen3-30b",
            started_at=parse_rfc3339("2026-08-22T10:15:03.1234-07:00"),
            req_path="/v1/chat/completions", method="POST", remote_ip="192.168.1.50",
            user_agent="OpenAI/Python 1.99.0", resp_bytes=18342, elapsed_ms=5120)
        perf = await rec.wait_for(PerfSampled)
        assert (len(perf.sys), [g.name for g in perf.gpus]) == (1, ["NVIDIA GeForce RTX 3090"])

        # §2.2 `activity {"id"}`: a burst of ids, fetched newest-first, paged as needed.
        seen = len(rec.events)
        host.activity += [nested(i, "2026-08-22T10:16:00-07:00") for i in range(43, 171)]
        for i in range(43, 171, 40):
            host.push_frame(frame("activity", {"id": i}))
        live = await rec.wait_for(ActivityRecorded, after=seen)
        assert [r.remote_id for r in live.records][:3] == [43, 44, 45]
        await rec.wait_until(lambda: sum(len(e.records) for e in rec.of(ActivityRecorded))
                             == 130)
        ids = [r.remote_id for e in rec.of(ActivityRecorded) for r in e.records]
        assert ids == sorted(set(ids))  # oldest first, nothing twice
    pages = [q for m, p, q in host.requests if p == "/api/metrics/activity"]
    assert pages[0] == "limit=500&page=1&sort=id&order=desc"
    # Live pages are sized from the announced ids, never below 50 (activitysync.py).
    assert all(50 <= int(q.split("&")[0].removeprefix("limit=")) <= 129 for q in pages[1:])
    assert not rec.of(FrameRejected)
    assert (conn.stats.frames_ok, conn.stats.frames_malformed) == (6 + 4, 0)


async def test_v200_host_legacy_metrics_reconnect_and_reload(start_host: StartHost) -> None:
    """§2.4 `metrics` arrays and `{"total":N}`; §12 gin reload restarts ids at 0."""
    ring = [flat(0, 1), flat(1, 2)]
    host = await start_host(
        version='{"version":"v200","commit":"abc1234","build_date":"2025-06-01"}',
        rest_activity=False, performance=None,
        on_connect=lambda: [
            sse(frame("modelStatus", [{"id": "m", "name": "", "description": "",
                                        "state": "unknown", "unlisted": False, "peerID": ""}])),
            sse(frame("metrics", "[" + ",".join(ring) + "]")),
            sse(frame("inflight", {"total": 1})),
        ])
    rec = Recorder()
    conn = connector(host, perf_interval_s=0.01)
    async with following(conn, rec):
        first = await rec.wait_for(ActivityRecorded)
        assert [(r.remote_id, r.epoch, r.req_path, r.status_code) for r in first.records] == [
            (0, 0, None, None), (1, 0, None, None)]
        assert (await rec.wait_for(InflightCount)).total == 1
        assert (await rec.wait_for(ModelsListed)).models[0].state is ModelState.UNKNOWN

        ring.append(flat(2, 3))
        host.push_frame(frame("metrics", f"[{ring[-1]}]"))
        live = await rec.wait_for(ActivityRecorded, lambda e: e.records[0].remote_id == 2)
        assert len(live.records) == 1

        # An abrupt drop: the reconnect replays the ring; nothing is recorded twice.
        seen = len(rec.events)
        await host.drop_streams(abrupt=True)
        await rec.wait_for(LivenessChanged, lambda e: e.liveness is Liveness.CONNECTED,
                           after=seen)
        await rec.wait_for(InflightCount, after=seen)
        ring.append(flat(3, 4))
        host.push_frame(frame("metrics", f"[{ring[-1]}]"))
        after_drop = await rec.wait_for(ActivityRecorded, after=seen)
        assert [r.remote_id for r in after_drop.records] == [3]

        # A config reload: the stream closes cleanly and the ids begin again at 0.
        seen = len(rec.events)
        ring[:] = [flat(0, 30)]
        await host.drop_streams(abrupt=False)
        gap = await rec.wait_for(GapSuspected, after=seen)
        assert (gap.window_start, gap.window_end) == (
            parse_rfc3339("2026-08-22T10:15:04.25-07:00"),
            parse_rfc3339("2026-08-22T10:15:30.25-07:00"))
        restarted = await rec.wait_for(ActivityRecorded, after=seen)
        assert [(r.remote_id, r.epoch) for r in restarted.records] == [(0, 1)]
    quiet = [lv for lv in rec.liveness() if lv[0] is Liveness.RECONNECTING]
    assert quiet[-1] == (Liveness.RECONNECTING, 1, "")  # the reload was not an error
    assert conn.stats.reconnects == 2
    # §1.9: /api/performance is v212+; a 404 stops polling for that connection.
    assert sum(1 for _, p, _ in host.requests if p == "/api/performance") <= host.connections


@pytest.mark.parametrize(("performance", "status"), [(None, 404), ("disabled", 503)])
async def test_perf_polling_stops_when_not_served_or_disabled(
        start_host: StartHost, performance: str | None, status: int) -> None:
    """§1.9: 404 before v212; 503 `{"enabled":false}` when disabled. Polling stops."""
    host = await start_host(on_connect=v250_on_connect, performance=performance)
    rec = Recorder()
    conn = connector(host, perf_interval_s=0.01, health_interval_s=0.01)
    async with following(conn, rec):
        await rec.wait_for(LivenessChanged)
        # Health checks run at the same cadence: ten of them leave room for ten polls.
        await rec.wait_until(lambda: sum(p == "/health" for _, p, _ in host.requests) >= 10)
    assert sum(1 for _, p, _ in host.requests if p == "/api/performance") == 1
    assert not rec.of(PerfSampled)


async def test_perf_polls_repeat_while_served(start_host: StartHost) -> None:
    """§1.9: poll every interval, each with the last watermark."""
    host = await start_host(on_connect=v250_on_connect)
    rec = Recorder()
    async with following(connector(host, perf_interval_s=0.01), rec):
        await rec.wait_until(lambda: sum(p == "/api/performance"
                                         for _, p, _ in host.requests) >= 3)
    queries = [q for _, p, q in host.requests if p == "/api/performance"]
    assert queries[0] == ""
    assert {unquote(q) for q in queries[1:]} == {"after=2026-08-22T10:15:05-07:00"}
    assert len(rec.of(PerfSampled)) == 1  # the same sample is never sent twice


async def test_malformed_frames_are_skipped_and_counted(start_host: StartHost) -> None:
    """§2.1/§2.2: broken envelopes, unknown types and bad records never end the stream."""
    bad_record = json.dumps({"id": 5, "timestamp": "2026-08-22T10:15:09-07:00", "model": 5})
    frames = [
        sse("{not json"),
        sse('{"type":"modelStatus","data":"[{\\"id\\""}'),
        sse(frame("perfsys", {"cpu": 1})),
        sse(frame("metrics", f"[{bad_record},{flat(6, 1)}]")),
        sse(frame("modelStatus", f"[{MODEL_OBJECT}]")),
    ]
    host = await start_host(rest_activity=False, version=None, performance=None,
                            on_connect=lambda: frames)
    rec = Recorder()
    conn = connector(host)
    async with following(conn, rec):
        await rec.wait_for(ModelsListed)
    reasons = [e.reason for e in rec.of(FrameRejected)]
    assert reasons == ["envelope is not JSON", "envelope data is not JSON",
                       "unknown message type", "malformed activity record"]
    assert (conn.stats.frames_malformed, conn.stats.records_rejected) == (3, 1)
    assert conn.stats.frames_ok == 2
    assert [r.remote_id for e in rec.of(ActivityRecorded) for r in e.records] == [6]
    assert rec.of(EngineVersion)[0].version == "<v173"  # §1.7: no /api/version before v173


async def test_401_is_shown_on_that_host_only_and_retried_until_fixed(
        start_host: StartHost) -> None:
    """§7: a wrong key is an auth error on its own host; other hosts carry on."""
    locked = await start_host(api_key="sk-test-key", on_connect=v250_on_connect)
    other = await start_host(on_connect=v250_on_connect)
    bad_rec, good_rec = Recorder(), Recorder()
    bad = connector(locked, name="locked", api_key="sk-wrong")
    good = connector(other, name="open")
    async with following(bad, bad_rec), following(good, good_rec):
        down = await bad_rec.wait_for(LivenessChanged)
        assert (down.host, down.liveness, down.last_error) == ("locked", Liveness.DOWN,
                                                               AUTH_FAILED)
        assert (await good_rec.wait_for(LivenessChanged)).liveness is Liveness.CONNECTED
        await bad_rec.wait_until(lambda: sum(p == "/api/version" for _, p, _ in locked.requests)
                                 >= 3)
        assert len(bad_rec.of(LivenessChanged)) == 1  # said once, not once per retry
        locked.api_key = None  # a person fixes the key (here: the host drops it)
        up = await bad_rec.wait_for(LivenessChanged, lambda e: e.liveness is Liveness.CONNECTED)
        assert up.host == "locked"
    assert all(e.host == "open" for e in good_rec.events)
    assert bad.stats.last_error == AUTH_FAILED


async def test_the_right_key_is_sent_as_bearer(start_host: StartHost) -> None:
    """§7: `Authorization: Bearer KEY`."""
    host = await start_host(api_key="sk-test-key", on_connect=v250_on_connect)
    rec = Recorder()
    async with following(connector(host, api_key="sk-test-key"), rec):
        assert (await rec.wait_for(LivenessChanged)).liveness is Liveness.CONNECTED


async def test_breaker_goes_down_then_probes_back(start_host: StartHost) -> None:
    """§2.3: reconnect with backoff; a host gone for good is `down` and probed slowly."""
    host = await start_host(on_connect=v250_on_connect)
    rec = Recorder()
    conn = connector(host)
    async with following(conn, rec):
        await rec.wait_for(LivenessChanged)
        await host.stop()
        down = await rec.wait_for(LivenessChanged, lambda e: e.liveness is Liveness.DOWN)
        assert down.attempt == 3
        assert down.last_error.startswith("/api/version: cannot connect")
        assert down.last_seen is not None
        await host.start()
        await rec.wait_for(LivenessChanged, lambda e: e.liveness is Liveness.CONNECTED,
                           after=rec.events.index(down))
    states = [lv[:2] for lv in rec.liveness()]
    assert states == [(Liveness.CONNECTED, 0), (Liveness.RECONNECTING, 1),
                      (Liveness.RECONNECTING, 2), (Liveness.DOWN, 3), (Liveness.CONNECTED, 0)]
    assert rec.liveness()[1][2].startswith("event stream: connection")


async def test_failed_health_check_tears_the_stream_down(start_host: StartHost) -> None:
    """§2.1: no heartbeat, so a periodic /health decides whether the host is alive."""
    host = await start_host(on_connect=v250_on_connect)
    rec = Recorder()
    async with following(connector(host, health_interval_s=0.05), rec):
        await rec.wait_for(LivenessChanged)
        host.health_ok = False
        lost = await rec.wait_for(LivenessChanged,
                                  lambda e: e.liveness is Liveness.RECONNECTING)
        assert lost.last_error == "health check: HTTP 503: no"
        host.health_ok = True
        await rec.wait_for(LivenessChanged, lambda e: e.liveness is Liveness.CONNECTED,
                           after=rec.events.index(lost))


async def test_perf_after_is_url_encoded_and_resumed(start_host: StartHost) -> None:
    """§12: an unencoded `+` in `after` arrives as a space and gets 400; §1.9 `after`."""
    host = await start_host(on_connect=v250_on_connect)
    rec = Recorder()
    watermark = parse_rfc3339("2026-08-22T10:15:00-07:00")
    async with following(connector(host, resume=ResumePoint(perf_watermark=watermark)), rec):
        perf = await rec.wait_for(PerfSampled)
    assert perf.sys[0].at == parse_rfc3339("2026-08-22T10:15:05-07:00")
    query = next(q for _, p, q in host.requests if p == "/api/performance")
    assert "+" not in query and unquote(query) == "after=2026-08-22T17:15:00.000000+00:00"


async def test_perf_watermark_keeps_the_hosts_own_offset(start_host: StartHost) -> None:
    """§1.9/§12: the next `after` is the newest sample's own text, `+02:00` encoded."""
    samples = {"sys_stats": [{"timestamp": "2026-08-22T19:15:05.5+02:00",
                              "cpu_util_per_core": [1.0], "mem_total_mb": 1,
                              "mem_used_mb": 1}], "gpu_stats": None}
    host = await start_host(performance=json.dumps(samples))
    poller = PerfPoller("gpu1", None)
    async with make_session(config(host)) as session:
        first = await poller.poll(json_getter(session), 0.0)
        second = await poller.poll(json_getter(session), 0.0)
    assert first[0] is PerfAvailability.AVAILABLE and len(first[1]) == 1
    assert second == (PerfAvailability.AVAILABLE, [])
    queries = [q for _, p, q in host.requests if p == "/api/performance"]
    assert queries[0] == "" and "+" not in queries[1]  # a bare `+` would arrive as a space
    assert unquote(queries[1]) == "after=2026-08-22T19:15:05.5+02:00"


async def test_rest_restart_opens_an_epoch_and_suspects_a_gap(start_host: StartHost) -> None:
    """§12: a v236+ host with the in-memory store restarts its ids at 1."""
    host = await start_host(on_connect=v250_on_connect, activity=[
        nested(1, "2026-08-22T10:15:01-07:00"), nested(2, "2026-08-22T10:15:02-07:00")])
    stored_at = parse_rfc3339("2026-08-22T09:00:00-07:00")
    resume = ResumePoint(activity_epoch=3, last_activity_id=40, last_activity_at=stored_at)
    rec = Recorder()
    conn = connector(host, resume=resume)
    async with following(conn, rec):
        gap = await rec.wait_for(GapSuspected)
        batch = await rec.wait_for(ActivityRecorded)
        # §1.10: captures are per life of the host; an older epoch's id means another request.
        assert await conn.fetch_capture(3, 42) is None
        capture = await conn.fetch_capture(4, 42)
    assert (gap.window_start, gap.window_end) == (stored_at,
                                                  parse_rfc3339("2026-08-22T10:15:01-07:00"))
    assert [(r.remote_id, r.epoch) for r in batch.records] == [(1, 4), (2, 4)]
    assert capture is not None and capture.req_body == b'{"model":"qwen3-30b",'


async def test_rest_restart_within_the_same_second(start_host: StartHost) -> None:
    """§0 1 s rows + §12 restart: the host's newest id below ours means a new epoch."""
    stamp = "2026-08-22T10:15:01-07:00"
    host = await start_host(on_connect=v250_on_connect,
                            activity=[nested(1, stamp), nested(2, stamp)])
    resume = ResumePoint(activity_epoch=0, last_activity_id=5,
                         last_activity_at=parse_rfc3339(stamp))
    rec = Recorder()
    async with following(connector(host, resume=resume), rec):
        batch = await rec.wait_for(ActivityRecorded)
    assert [(r.remote_id, r.epoch) for r in batch.records] == [(1, 1), (2, 1)]
    assert len(rec.of(GapSuspected)) == 1


async def test_health_probes_stay_out_of_the_host_s_proxy_log(start_host: StartHost) -> None:
    """§0: every request but `/wol-health`, `/api/performance` and `/metrics` is a proxy log
    line; §1.7: `/wol-health` answers like `/health`. A host without it (a 404) is probed on
    `/health` from then on."""
    modern = await start_host(wol_health=True)
    older = await start_host()
    for host in (modern, older):
        conn = connector(host)
        try:
            assert await conn.health() and await conn.health()
        finally:
            await conn.aclose()
    assert [path for _, path, _ in modern.requests] == ["/wol-health", "/wol-health"]
    assert [path for _, path, _ in older.requests] == ["/wol-health", "/health", "/health"]


async def test_warm_loads_a_model_that_does_not_chat(start_host: StartHost) -> None:
    """§1.5: an embeddings or rerank server rejects a chat completion, and one with no
    `/health` still answers `/upstream` once loaded: both count as warmed."""
    host = await start_host(models=("nomic-embed", "whisper"), without_health=("whisper",))
    conn = connector(host)
    try:
        await conn.warm("nomic-embed")
        await conn.warm("whisper")
    finally:
        await conn.aclose()
    assert host.bodies == []  # no chat completion was sent


async def test_actions_and_their_errors(start_host: StartHost) -> None:
    """§1.4 unload (ids may contain `/`), §0 error shapes, §1.6 per-model log stream."""
    host = await start_host()
    conn = connector(host)
    try:
        await _exercise_actions(host, conn)
    finally:
        await conn.aclose()


async def _exercise_actions(host: FakeHost, conn: LlamaSwapConnector) -> None:
    await conn.warm("qwen3-30b")  # §1.5: as the web UI loads a model; not metered
    assert ("GET", "/upstream/qwen3-30b/health", "") in host.requests
    with pytest.raises(ActionError, match=r"^warm nope: HTTP 404: model not found$"):
        await conn.warm("nope")
    await conn.warm("org/model")  # an id with a slash: a one-token chat completion
    assert host.bodies[-1]["max_tokens"] == 1 and host.bodies[-1]["model"] == "org/model"
    await conn.unload("org/model")
    assert ("POST", "/api/models/unload/org/model", "") in host.requests
    with pytest.raises(ActionError, match=r"^unload nope: HTTP 404: model not found$"):
        await conn.unload("nope")
    with pytest.raises(ActionError, match="no router for requested model"):
        await conn.warm("org/nope")
    await conn.unload_all()
    assert await conn.health()
    assert await conn.fetch_capture(0, 7) is None  # 404 capture not found: expired
    lines = [e async for e in conn.follow_log("qwen3-30b")]
    assert [(e.source, e.model, e.lines) for e in lines] == [
        (LogSource.MODEL, "qwen3-30b", ("[INFO] one",)),
        (LogSource.MODEL, "qwen3-30b", ("[INFO] two",)),
        (LogSource.MODEL, "qwen3-30b", ("tail without newline",))]
    with pytest.raises(ActionError, match="HTTP 400: invalid log id"):
        _ = [e async for e in conn.follow_log("missing")]
    await host.stop()
    with pytest.raises(ActionError, match=r"^unload all: cannot connect"):
        await conn.unload_all()
    assert not await conn.health()


async def test_old_host_unload_fallbacks(start_host: StartHost) -> None:
    """§1.4: `GET /unload` where `POST /api/models/unload` is missing; no per-model
    unload before v161."""
    host = await start_host(new_unload_api=False)
    conn = connector(host)
    await conn.unload_all()
    assert ("GET", "/unload", "") in host.requests
    with pytest.raises(ActionError, match="needs v161"):
        await conn.unload("qwen3-30b")
    await conn.aclose()
