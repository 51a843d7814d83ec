"""`/api/events` per era: bytes, connect order, live messages, chunked logs, faults (§2)."""

from __future__ import annotations

import json
import random
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from swapdeck.sim.bus import EventBus
from swapdeck.sim.era import Era, traits_for
from swapdeck.sim.logs import split_arbitrarily

from .conftest import ALL_ERAS, HostFactory, SseReader, client_for

CONNECT_ORDER = {
    "v200": ["logData", "logData", "modelStatus", "inflight"],
    "v230": ["logData", "logData", "modelStatus", "inflight"],
    "v236": ["logData", "logData", "modelStatus", "inflight"],
    "v250": ["logData", "logData", "modelStatus", "uiConfig", "profileChanged", "inflight"],
}
FIRST_MODEL_BYTES = {  # §2.2 apiModel, struct order; aliases from v236, caps/ctx at v250
    "v200": b'{\\"id\\":\\"alpha\\",\\"name\\":\\"Alpha Chat\\",\\"description\\":\\"\\",'
            b'\\"state\\":\\"stopped\\",\\"unlisted\\":false,\\"peerID\\":\\"\\"}',
    "v236": b'{\\"id\\":\\"alpha\\",\\"name\\":\\"Alpha Chat\\",\\"description\\":\\"\\",'
            b'\\"state\\":\\"stopped\\",\\"unlisted\\":false,\\"peerID\\":\\"\\",'
            b'\\"aliases\\":[\\"a\\"]}',
    "v250": b'{\\"id\\":\\"alpha\\",\\"name\\":\\"Alpha Chat\\",\\"description\\":\\"\\",'
            b'\\"state\\":\\"stopped\\",\\"unlisted\\":false,\\"peerID\\":\\"\\",'
            b'\\"aliases\\":[\\"a\\"],\\"capabilities\\":{\\"function_calling\\":true},'
            b'\\"context_length\\":8192}',
}


@pytest.mark.parametrize("era", ALL_ERAS)
async def test_connect_order_and_framing(make_host: HostFactory, era: str) -> None:
    """§2.1 framing (no id:/retry:, double-encoded envelope) and §2.2 connect order per era
    (uiConfig v240+, profileChanged v241+)."""
    host = await make_host(era)
    async with client_for(host) as client, SseReader(client) as sse:
        assert sse.response is not None
        assert sse.response.headers["content-type"] == "text/event-stream"
        assert sse.response.headers["x-accel-buffering"] == "no"
        frames = [await sse.frame() for _ in CONNECT_ORDER[era]]
    for frame in frames:
        assert frame.startswith(b'event:message\ndata:{"type":"')
        assert frame.endswith(b"\"}\n\n") and frame.count(b"\n") == 3
    kinds = [json.loads(f.split(b"\n")[1][5:])["type"] for f in frames]
    assert kinds == CONNECT_ORDER[era]
    assert frames[0].startswith(b'event:message\ndata:{"type":"logData","data":"{\\"data\\":')
    assert b'\\"source\\":\\"proxy\\"}"}' in frames[0]  # §12: map keys sorted
    assert b'\\"source\\":\\"upstream\\"}"}' in frames[1]
    expected_model = FIRST_MODEL_BYTES.get(era, FIRST_MODEL_BYTES["v200"])
    assert frames[2].startswith(b'event:message\ndata:{"type":"modelStatus","data":"['
                                + expected_model + b",")


@pytest.mark.parametrize(("era", "inflight"), [
    ("v200", {"total": 0}), ("v236", {"requests": []}), ("v250", {"operation": "snapshot"})])
async def test_inflight_on_connect(make_host: HostFactory, era: str, inflight: object) -> None:
    """§2.4 / §2.2: the three inflight shapes; an empty v240+ snapshot omits `requests`."""
    host = await make_host(era)
    async with client_for(host) as client, SseReader(client) as sse:
        assert await sse.until("inflight") == inflight


@pytest.mark.parametrize("era", ["v200", "v230"])
async def test_metrics_arrays(make_host: HostFactory, era: str) -> None:
    """§2.4: v140..v235 send all in-memory records on connect, then one-element arrays."""
    host = await make_host(era)
    first = await host.serve_request("alpha")
    async with client_for(host) as client, SseReader(client) as sse:
        snapshot = await sse.until("metrics")
        assert [r["id"] for r in snapshot] == [first] == [0]
        second = await host.serve_request("alpha")
        live = await sse.until("metrics")
    assert [r["id"] for r in live] == [second] == [1]
    assert ("req_path" in live[0]) == (era == "v230")  # flat records <=v208 (§3.1)


async def test_live_messages_v250(make_host: HostFactory) -> None:
    """§2.2: modelStatus full list on each transition; inflight upsert on start and on
    response headers, remove on completion; activity {"id"} after the row is stored."""
    host = await make_host("v250")
    async with client_for(host) as client, SseReader(client) as sse:
        await sse.initial(len(CONNECT_ORDER["v250"]))
        record_id = await host.serve_request("alpha")
        seen: list[tuple[str, Any]] = []
        while not seen or seen[-1][0] != "activity":
            kind, payload = await sse.message()
            if kind != "logData":
                seen.append((kind, payload))
    states = [next(m["state"] for m in p if m["id"] == "alpha")
              for k, p in seen if k == "modelStatus"]
    assert states == ["starting", "ready"]
    ops = [p["operation"] for k, p in seen if k == "inflight"]
    assert ops[0] == "upsert" and ops[-1] == "remove" and ops.count("upsert") >= 2
    started = next(p for k, p in seen if k == "inflight")["request"]
    assert started["resp_headers"] == {} and started["model"] == "alpha"
    assert started["req_headers"]["User-Agent"] == "swapdeck-sim/1.0"
    assert seen[-1] == ("activity", {"id": record_id})


async def test_inflight_full_list_v236(make_host: HostFactory) -> None:
    """§2.4: v235..v239 send the full list `{"requests":[{id,timestamp,model,req_path,method}]}`."""
    host = await make_host("v236")
    async with client_for(host) as client, SseReader(client) as sse:
        await sse.initial(len(CONNECT_ORDER["v236"]))
        task = host.core.spawn(host.serve_request("alpha"))
        listed = await sse.until("inflight", lambda p: bool(p["requests"]))
        emptied = await sse.until("inflight", lambda p: not p["requests"])
        await task
    assert list(listed["requests"][0]) == ["id", "timestamp", "model", "req_path", "method"]
    assert listed["requests"][0]["id"] == "1"
    assert emptied == {"requests": []}


async def test_log_data_arrives_in_arbitrary_chunks(make_host: HostFactory) -> None:
    """§2.2 logData: chunks are arbitrary — several lines in one, lines split across chunks."""
    host = await make_host("v250", seed=5)
    chunks: list[str] = []
    async with client_for(host) as client, SseReader(client) as sse:
        await sse.initial(len(CONNECT_ORDER["v250"]))
        for _ in range(10):
            await host.serve_request("alpha")
        history = host.core.logs.upstream.history()  # empty at connect: all of it went live
        while "".join(chunks) != history:
            kind, payload = await sse.message()
            if kind == "logData" and payload["source"] == "upstream":
                chunks.append(payload["data"])
    assert any(chunk.count("\n") > 1 for chunk in chunks)
    assert any(not chunk.endswith("\n") for chunk in chunks)


@given(st.text(max_size=300), st.integers(0, 2**32))
def test_split_arbitrarily_keeps_every_character(text: str, seed: int) -> None:
    pieces = split_arbitrarily(text, random.Random(seed))
    assert "".join(pieces) == text
    assert all(pieces)


@pytest.mark.parametrize("era", ["v200", "v230", "v250"])
async def test_malformed_frames_then_real_ones(make_host: HostFactory, era: str) -> None:
    """Fault knob: four kinds of garbage, then the real frame still arrives (§2.1 decode)."""
    host = await make_host(era)
    async with client_for(host) as client, SseReader(client) as sse:
        await sse.initial(len(CONNECT_ORDER[era]))
        host.inject_malformed(4)
        await host.serve_request("alpha")
        broken = [await sse.frame() for _ in range(4)]
        after = await sse.until("modelStatus")
    data_lines = [f.split(b"\n")[1][5:] for f in broken]
    with pytest.raises(json.JSONDecodeError):
        json.loads(data_lines[0])
    envelope = json.loads(data_lines[1])
    with pytest.raises(json.JSONDecodeError):
        json.loads(envelope["data"])
    assert json.loads(data_lines[2])["type"] not in CONNECT_ORDER["v250"] + ["metrics",
                                                                         "activity"]
    record_type, bad = json.loads(data_lines[3])["type"], json.loads(
        json.loads(data_lines[3])["data"])
    if era == "v250":
        assert record_type == "activity" and not isinstance(bad["id"], int)
    else:
        assert record_type == "metrics" and not isinstance(bad[0]["id"], int)
    assert isinstance(after, list)


async def test_malformed_before_connect_lands_in_connect_frames(make_host: HostFactory) -> None:
    host = await make_host("v236")
    host.inject_malformed(1)
    async with client_for(host) as client, SseReader(client) as sse:
        with pytest.raises(json.JSONDecodeError):
            await sse.message()
        assert (await sse.message())[0] == "logData"


async def test_drop_streams_cuts_the_connection(make_host: HostFactory) -> None:
    """A dropped stream ends without the terminating chunk: the client sees an error."""
    host = await make_host("v250")
    async with client_for(host) as client, SseReader(client) as sse:
        await sse.initial(len(CONNECT_ORDER["v250"]))
        await host.drop_streams()
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await sse.frame()


def test_event_bus_drops_when_a_connection_buffer_is_full() -> None:
    """§2.3: per-connection buffer (25 in the gin era); further messages are dropped."""
    drops: list[object] = []
    bus = EventBus(traits_for(Era.V200), drops.append)
    subscriber = bus.open([])
    for index in range(40):
        bus.publish("inflight", {"total": index})
    data = subscriber.take()
    assert data.count(b"\n\n") == 25
    assert subscriber.dropped == 15 and len(drops) == 1
