"""Inference over HTTP (§1.1): llama-server-like streams and the `X-Sim-Fault` variants."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from swapdeck.sim import SimHost

from .conftest import HostFactory, client_for

TIMINGS_KEYS = ["cache_n", "prompt_n", "prompt_ms", "prompt_per_token_ms", "prompt_per_second",
                "predicted_n", "predicted_ms", "predicted_per_token_ms", "predicted_per_second"]


def _chat(max_tokens: int = 12, stream: bool = True, **extra: Any) -> dict[str, Any]:
    return {"model": "alpha", "stream": stream, "max_tokens": max_tokens,
            "messages": [{"role": "user", "content": "Explain swap groups briefly."}], **extra}


async def _stream(host: SimHost, body: dict[str, Any],
                  fault: str | None = None) -> tuple[httpx.Response, list[bytes]]:
    headers = {"X-Sim-Fault": fault} if fault else {}
    async with client_for(host) as client:
        response = await client.post("/v1/chat/completions", json=body, headers=headers)
    events = [e for e in response.content.split(b"\n\n") if e]
    return response, events


def _payloads(events: list[bytes]) -> list[dict[str, Any]]:
    return [json.loads(e[len(b"data: "):]) for e in events if e != b"data: [DONE]"]


def _last_record(host: SimHost) -> dict[str, Any]:
    row = host.core.activity.rows()[-1]
    return host.core.render_row(row.id, row.done)


async def test_stream_shape(make_host: HostFactory) -> None:
    """bench-facts §2.2: role-only first chunk, content deltas, finish chunk with `timings`
    (exact keys), a usage chunk with `choices: []`, then `data: [DONE]`."""
    host = await make_host("v250")
    response, events = await _stream(host, _chat(max_tokens=12))
    assert response.headers["content-type"] == "text/event-stream"
    assert all(e.startswith(b"data: ") for e in events)
    assert events[-1] == b"data: [DONE]"
    chunks = _payloads(events)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": None}
    content = [c["choices"][0]["delta"]["content"] for c in chunks[1:-2]]
    assert content and all(isinstance(text, str) and text for text in content)
    finish, usage = chunks[-2], chunks[-1]
    assert finish["choices"][0]["finish_reason"] == "length"
    assert finish["choices"][0]["delta"] == {}
    assert list(finish["timings"]) == TIMINGS_KEYS
    assert usage["choices"] == []
    assert usage["usage"]["completion_tokens"] == 12 == finish["timings"]["predicted_n"]
    timings = finish["timings"]
    assert timings["prompt_n"] + timings["cache_n"] == usage["usage"]["prompt_tokens"]
    assert chunks[0]["system_fingerprint"] == "b6497-cd08fc3e"
    assert chunks[0]["object"] == "chat.completion.chunk"
    record = _last_record(host)
    assert record["tokens"]["output_tokens"] == 12
    assert record["resp_content_type"] == "text/event-stream"


async def test_non_streaming_has_usage_and_timings(make_host: HostFactory) -> None:
    """bench-facts §2.2: non-stream responses carry top-level `usage` and `timings`."""
    host = await make_host("v236")
    async with client_for(host) as client:
        body = (await client.post("/v1/chat/completions", json=_chat(stream=False))).json()
        text = (await client.post("/v1/completions", json={
            "model": "a", "prompt": "Once", "max_tokens": 5})).json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["role"] == "assistant"
    assert list(body["timings"]) == TIMINGS_KEYS
    assert body["usage"]["completion_tokens"] == body["timings"]["predicted_n"]
    assert text["object"] == "text_completion" and text["usage"]["completion_tokens"] == 5


async def test_repeated_prompt_hits_the_cache_unless_disabled(make_host: HostFactory) -> None:
    """bench-facts §0 rule 4: llama-server reuses the common prefix; `cache_prompt:false`
    forces `cache_n == 0`."""
    host = await make_host("v250")
    async with client_for(host) as client:
        await client.post("/v1/chat/completions", json=_chat(stream=False))
        warm = (await client.post("/v1/chat/completions", json=_chat(stream=False))).json()
        cold = (await client.post("/v1/chat/completions",
                                  json=_chat(stream=False, cache_prompt=False))).json()
    assert warm["timings"]["cache_n"] > 0
    assert cold["timings"]["cache_n"] == 0


async def test_fault_reasoning(make_host: HostFactory) -> None:
    host = await make_host("v250")
    _, events = await _stream(host, _chat(max_tokens=9), "reasoning")
    deltas = [c["choices"][0]["delta"] for c in _payloads(events)[1:-2]]
    kinds = ["reasoning_content" if "reasoning_content" in d else "content" for d in deltas]
    assert kinds[0] == "reasoning_content" and kinds[-1] == "content"
    assert kinds == sorted(kinds, key=lambda k: k == "content")  # all reasoning comes first


async def test_fault_usage_only_final(make_host: HostFactory) -> None:
    """No timings anywhere: llama-swap records usage counts, rates -1 (§3.1)."""
    host = await make_host("v250")
    _, events = await _stream(host, _chat(max_tokens=6), "usage-only-final")
    chunks = _payloads(events)
    assert all("timings" not in c for c in chunks)
    assert chunks[-1]["usage"]["completion_tokens"] == 6
    tokens = _last_record(host)["tokens"]
    assert (tokens["prompt_per_second"], tokens["tokens_per_second"]) == (-1, -1)
    assert tokens["output_tokens"] == 6 and tokens["cache_tokens"] == -1


async def test_fault_no_role_chunk(make_host: HostFactory) -> None:
    host = await make_host("v250")
    _, events = await _stream(host, _chat(max_tokens=4), "no-role-chunk")
    assert "role" not in _payloads(events)[0]["choices"][0]["delta"]


async def test_fault_status_500(make_host: HostFactory) -> None:
    """An upstream error passes through (llama-server error object) and is recorded with
    status, zero tokens and error_msg (§3.1)."""
    host = await make_host("v230")
    response, _ = await _stream(host, _chat(), "status=500")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == 500
    record = _last_record(host)
    assert record["resp_status_code"] == 500 and record["tokens"]["output_tokens"] == 0
    assert record["error_msg"] == response.json()["error"]["message"]


async def test_fault_drop_after(make_host: HostFactory) -> None:
    """The connection closes after N content chunks: the client sees a broken body."""
    host = await make_host("v250")
    async with client_for(host) as client:
        received = b""
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            async with client.stream("POST", "/v1/chat/completions", json=_chat(max_tokens=50),
                                     headers={"X-Sim-Fault": "drop-after=2, no-role-chunk"},
                                     ) as response:
                async for chunk in response.aiter_raw():
                    received += chunk
    assert received.count(b"data: ") == 2 and b"[DONE]" not in received
    assert host.served == 1


async def test_bad_fault_header_is_400(make_host: HostFactory) -> None:
    host = await make_host("v250")
    response, _ = await _stream(host, _chat(), "explode")
    assert response.status_code == 400
    assert "unknown fault 'explode'" in response.json()["error"]


@pytest.mark.parametrize("era", ["v200", "v250"])
async def test_unknown_model_is_404(make_host: HostFactory, era: str) -> None:
    """§1.1: unknown model -> 404 in the era's error shape (§0)."""
    host = await make_host(era)
    async with client_for(host) as client:
        response = await client.post("/v1/chat/completions", json={**_chat(), "model": "nope"})
    assert response.status_code == 404
    assert "no router for requested model" in response.text


async def test_embeddings(make_host: HostFactory) -> None:
    host = await make_host("v250")
    async with client_for(host) as client:
        body = (await client.post("/v1/embeddings", json={"model": "emb",
                                                          "input": ["a", "b"]})).json()
    assert [d["index"] for d in body["data"]] == [0, 1]
    assert _last_record(host)["tokens"]["output_tokens"] == 0


async def test_upstream_passthrough_loads_the_model(make_host: HostFactory) -> None:
    """§1.5: /upstream/<model>/... loads it; no slash -> 301; ignorePaths -> 409 when
    unloaded; POSTs to inference paths are metered."""
    host = await make_host("v250")
    async with client_for(host) as client:
        assert (await client.get("/upstream/alpha")).status_code == 301
        assert (await client.get("/upstream/beta/app.js")).status_code == 409
        props = (await client.get("/upstream/beta/props")).json()
        assert props["build_info"] == "b6497-cd08fc3e"
        assert host.core.procs.procs["beta"].state.value == "ready"
        await client.post("/upstream/alpha/v1/chat/completions", json=_chat(stream=False))
    assert _last_record(host)["model"] == "alpha"


async def test_the_rest_of_the_inference_routes_are_routed_like_any_other(
        make_host: HostFactory) -> None:
    """§1.1: llama-swap routes /v1/rerank, /v1/messages … by the body's model (loading it,
    recording the request); the simulated llama-server has no such endpoint and answers its
    own 404, which llama-swap passes through and records (§3.1). Versionless /v/… paths are
    the /v1/… ones."""
    host = await make_host("v250")
    async with client_for(host) as client:
        rerank = await client.post("/v1/rerank", json={"model": "alpha", "query": "q",
                                                       "documents": ["a"]})
        assert rerank.status_code == 404
        assert rerank.json()["error"]["message"] == "File Not Found"  # upstream's, not Go's
        record = _last_record(host)
        assert (record["req_path"], record["resp_status_code"]) == ("/v1/rerank", 404)
        assert record["error_msg"] == "File Not Found"
        unknown = await client.post("/v1/messages", json={"model": "nope"})
        assert unknown.status_code == 404 and "no router for requested model" in unknown.text
        chat = await client.post("/v/chat/completions", json=_chat(stream=False))
        assert chat.status_code == 200 and chat.json()["choices"][0]["message"]["content"]
        assert _last_record(host)["req_path"] == "/v/chat/completions"


async def test_older_eras_serve_only_the_long_standing_inference_routes(
        make_host: HostFactory) -> None:
    """§1.1 lists the full set at HEAD without versions; older eras claim none of it."""
    host = await make_host("v236")
    async with client_for(host) as client:
        response = await client.post("/v1/rerank", json={"model": "alpha"})
    assert response.status_code == 404 and response.text.startswith("404 page not found")
