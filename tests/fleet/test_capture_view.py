"""Decoding, reading and redacting captures (§1.10 `/api/captures/{id}`).

Fixtures are shaped like the real thing: the §1.10 JSON with base64 bodies, llama-server
chat streams with a role-only first chunk, content deltas, a final chunk with
`finish_reason` and `timings`, then a `choices: []` usage chunk and `data: [DONE]`
(bench-facts §2.1, §2.2).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from swapdeck.fleet.capture_view import (
    REDACTED,
    BodyKind,
    CaptureFormatError,
    RawCapture,
    build_view,
    capture_from_api,
    capture_from_object,
    redact_json,
    redact_text,
    sse_events,
)
from swapdeck.history.values import StoredCapture

TIMINGS = {"cache_n": 236, "prompt_n": 76, "prompt_ms": 52.1, "prompt_per_token_ms": 0.69,
           "prompt_per_second": 1458.7, "predicted_n": 9, "predicted_ms": 101.2,
           "predicted_per_token_ms": 11.2, "predicted_per_second": 79.0}


def b64(value: str | bytes) -> str:
    raw = value.encode() if isinstance(value, str) else value
    return base64.b64encode(raw).decode()


def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
    body = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1755850509,
            "model": "qwen3-30b", "choices": [{"index": 0, "delta": delta,
                                                "finish_reason": finish}], **extra}
    return "data: " + json.dumps(body) + "\n\n"


def chat_request(**extra: Any) -> str:
    return json.dumps({
        "model": "qwen3-30b", "stream": True, "max_tokens": 64,
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": [{"type": "text", "text": "Capital of France?"},
                                         {"type": "image_url", "image_url": {"url": "x"}}]},
        ], **extra})


def llama_server_stream() -> str:
    return (chunk({"role": "assistant", "content": None})
            + chunk({"reasoning_content": "The user asks "})
            + chunk({"reasoning_content": "for a capital."})
            + chunk({"content": "Paris"})
            + chunk({"content": "."})
            + chunk({}, "stop", timings=TIMINGS)
            + "data: " + json.dumps({"choices": [], "usage": {"prompt_tokens": 312,
                                                               "completion_tokens": 9},
                                      "timings": TIMINGS}) + "\n\n"
            + "data: [DONE]\n\n")


def api_capture(req: str | None, resp: str | bytes | None, *,
                resp_type: str = "text/event-stream") -> dict[str, Any]:
    """The §1.10 JSON exactly as llama-swap serves it."""
    return {"id": 42, "req_path": "/v1/chat/completions",
            "req_headers": {"Content-Type": "application/json", "Authorization": "[REDACTED]",
                            "User-Agent": "OpenAI/Python 1.99.0"},
            "req_body": b64(req) if req is not None else None,
            "resp_headers": {"Content-Type": resp_type},
            "resp_body": b64(resp) if resp is not None else None}


def test_streamed_chat_is_reassembled_with_reasoning_apart() -> None:
    """§1.10 base64 bodies; bench-facts §2.2 stream shape (final chunk, usage chunk, DONE)."""
    view = build_view(capture_from_api(api_capture(chat_request(), llama_server_stream())))
    assert view.req_path == "/v1/chat/completions"
    assert view.response.kind is BodyKind.SSE
    assert view.answer is not None
    assert view.answer.content == "Paris."
    assert view.answer.reasoning == "The user asks for a capital."
    assert view.answer.finish_reason == "stop"
    assert view.answer.streamed and view.answer.events == 7
    assert [(t.role, t.content) for t in view.conversation] == [
        ("system", "You are terse."), ("user", "Capital of France?\n[image_url]")]
    assert "[DONE]" in view.response.text
    assert view.has_chat


def test_plain_json_chat_answer_and_pretty_request() -> None:
    response = json.dumps({
        "choices": [{"index": 0, "finish_reason": "length",
                     "message": {"role": "assistant", "content": "Paris",
                                 "reasoning_content": "easy"}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 1}, "timings": TIMINGS})
    view = build_view(capture_from_api(api_capture(chat_request(stream=False), response,
                                                   resp_type="application/json")))
    assert view.response.kind is BodyKind.JSON
    assert view.answer is not None
    assert (view.answer.content, view.answer.reasoning) == ("Paris", "easy")
    assert view.answer.finish_reason == "length" and not view.answer.streamed
    assert view.request.kind is BodyKind.JSON
    assert view.request.text.startswith("{\n  \"model\": \"qwen3-30b\"")


def test_secret_headers_and_json_keys_are_redacted() -> None:
    """§1.10: Authorization/Proxy-Authorization/Cookie/Set-Cookie/X-Api-Key are redacted;
    we redact again, plus api_key/apiKey/password/token JSON keys."""
    raw = RawCapture(
        req_path="/v1/chat/completions",
        req_headers={"authorization": "Bearer sk-live-123", "X-Api-Key": "k-1",
                     "Cookie": "session=abc", "Proxy-Authorization": "Basic Zm9v",
                     "Accept": "application/json"},
        resp_headers={"Set-Cookie": "id=1", "Content-Type": "application/json"},
        req_body=chat_request(api_key="sk-body", extra_body={"apiKey": "sk-2",
                                                             "password": "hunter2",
                                                             "token": "t-3"}).encode(),
        resp_body=json.dumps({"choices": [{"message": {"content": "ok"}}],
                              "token": "resp-secret"}).encode(),
    )
    view = build_view(raw)
    headers = dict(view.req_headers)
    assert headers["authorization"] == REDACTED
    assert headers["X-Api-Key"] == REDACTED
    assert headers["Cookie"] == REDACTED
    assert headers["Proxy-Authorization"] == REDACTED
    assert headers["Accept"] == "application/json"
    assert dict(view.resp_headers)["Set-Cookie"] == REDACTED
    for secret in ("sk-live-123", "sk-body", "sk-2", "hunter2", "t-3", "resp-secret", "abc"):
        assert secret not in view.request.text + view.response.text
        assert secret not in repr(view)
    assert view.request.text.count(REDACTED) == 4


def test_redaction_reaches_sse_payloads_and_truncated_text() -> None:
    stream = "data: " + json.dumps({"choices": [], "api_key": "sk-in-stream"}) + "\n\n"
    view = build_view(RawCapture("/v1/chat/completions", {}, {"Content-Type":
                                                             "text/event-stream"},
                                 None, stream.encode()))
    assert "sk-in-stream" not in view.response.text
    cut = '{"model": "m", "password": "p@ss\\"word", "messages": [{"role": "us'
    truncated = build_view(RawCapture("/v1/chat/completions", {}, {}, cut.encode(), None,
                                      req_truncated=True))
    assert truncated.request.kind is BodyKind.TEXT
    assert "p@ss" not in truncated.request.text
    assert redact_text('"Token" : "x"') == f'"Token" : "{REDACTED}"'
    assert "request body was cut at the history size cap" in truncated.notes


def test_redact_json_keeps_innocent_token_fields() -> None:
    value = {"max_tokens": 5, "usage": {"prompt_tokens": 3}, "eos_token": "</s>",
             "nested": [{"token": "secret"}]}
    assert redact_json(value) == {"max_tokens": 5, "usage": {"prompt_tokens": 3},
                                  "eos_token": "</s>", "nested": [{"token": REDACTED}]}


def test_failed_request_keeps_only_the_request() -> None:
    """§1.10: failed (non-200) requests store the request only (v229+)."""
    view = build_view(capture_from_api(api_capture(chat_request(), None)), status_code=503)
    assert view.response.kind is BodyKind.EMPTY
    assert view.answer is None
    assert any("failed (503)" in note for note in view.notes)


def test_binary_route_and_binary_body() -> None:
    """§1.10: binary routes store only parts (e.g. /v1/audio/speech has no response body)."""
    speech = capture_from_api({"id": 3, "req_path": "/v1/audio/speech", "req_headers": {},
                               "resp_headers": {"Content-Type": "audio/mpeg"},
                               "req_body": b64('{"input": "hi", "voice": "af"}'),
                               "resp_body": None})
    view = build_view(speech, status_code=200)
    assert view.notes == ("no response body was captured for this route",)
    blob = build_view(RawCapture("/v1/images/edits", {}, {}, bytes(range(256)) * 4, None))
    assert blob.request.kind is BodyKind.BINARY
    assert blob.request.text == "binary body, 1,024 bytes (not shown)"


def test_completions_prompt_and_inline_think() -> None:
    request = json.dumps({"model": "m", "prompt": "Once upon", "stream": True})
    stream = ("data: " + json.dumps({"choices": [{"index": 0, "text": "<think>plot</think>"}]})
              + "\n\n" + "data: " + json.dumps({"choices": [{"index": 0, "text": " a time",
                                                             "finish_reason": "stop"}]})
              + "\n\ndata: [DONE]\n\n")
    view = build_view(RawCapture("/v1/completions", {}, {"Content-Type": "text/event-stream"},
                                 request.encode(), stream.encode()))
    assert [(t.role, t.content) for t in view.conversation] == [("prompt", "Once upon")]
    assert view.answer is not None
    assert (view.answer.reasoning, view.answer.content) == ("plot", "a time")


def test_anthropic_messages_stream() -> None:
    request = json.dumps({"model": "m", "system": "Be brief.",
                          "messages": [{"role": "user", "content": "hi"}]})
    events = [
        ("message_start", {"type": "message_start", "message": {"id": "msg_1"}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "thinking_delta", "thinking": "hmm"}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 1,
                                 "delta": {"type": "text_delta", "text": "Hello"}}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}}),
    ]
    stream = "".join(f"event: {name}\r\ndata: {json.dumps(data)}\r\n\r\n"
                     for name, data in events)
    view = build_view(RawCapture("/v1/messages", {}, {"content-type": "text/event-stream"},
                                 request.encode(), stream.encode()))
    assert [t.role for t in view.conversation] == ["system", "user"]
    assert view.answer is not None
    assert (view.answer.content, view.answer.reasoning) == ("Hello", "hmm")
    assert view.answer.finish_reason == "end_turn"
    assert "event: content_block_delta" in view.response.text


def test_stream_error_is_noted() -> None:
    stream = "data: " + json.dumps({"error": {"message": "context size exceeded",
                                              "code": 400}}) + "\n\n"
    view = build_view(RawCapture("/v1/chat/completions", {}, {}, None, stream.encode()))
    assert view.answer is not None and view.answer.error == "context size exceeded"
    assert "the response reports an error: context size exceeded" in view.notes


def test_sse_events_join_multiline_data_and_keep_a_cut_tail() -> None:
    text = "event: x\ndata: a\ndata:b\n\n: comment\ndata: tail"
    assert sse_events(text) == [("x", "a\nb"), ("", "tail")]


def test_display_is_clipped_for_huge_bodies() -> None:
    big = json.dumps({"messages": [{"role": "user", "content": "x" * 5000}]})
    view = build_view(RawCapture("/v1/chat/completions", {}, {}, big.encode(), None),
                      max_chars=1000)
    assert view.request.clipped
    assert view.request.text.endswith("… (clipped for display)")
    assert view.conversation[0].content == "x" * 5000


def test_bad_capture_fields_name_the_field() -> None:
    with pytest.raises(CaptureFormatError, match="req_body is not base64"):
        capture_from_api({"req_path": "/v1/chat/completions", "req_body": "not base64!!"})
    with pytest.raises(CaptureFormatError, match="resp_headers"):
        capture_from_api({"req_path": "/x", "resp_headers": ["a"]})


def test_store_capture_object_is_read_by_attribute() -> None:
    stored = StoredCapture(req_path="/v1/chat/completions",
                           req_headers={"Authorization": "Bearer x"},
                           resp_headers={"Content-Type": "text/event-stream"},
                           req_body=chat_request().encode(),
                           resp_body=llama_server_stream().encode()[:200],
                           resp_truncated=True)
    raw = capture_from_object(stored)
    assert raw.resp_truncated and raw.req_body == stored.req_body
    view = build_view(raw)
    assert dict(view.req_headers)["Authorization"] == REDACTED
    assert view.answer is not None and view.answer.streamed
    assert "response body was cut at the history size cap" in view.notes


def test_embeddings_are_bodies_not_a_chat() -> None:
    """§1.1: /v1/embeddings takes `input` too, but it is no conversation."""
    request = json.dumps({"model": "nomic-embed", "input": "hello"})
    response = json.dumps({"data": [{"embedding": [0.1, 0.2]}]})
    view = build_view(RawCapture("/v1/embeddings", {}, {"Content-Type": "application/json"},
                                 request.encode(), response.encode()))
    assert not view.has_chat
    assert view.request.kind is view.response.kind is BodyKind.JSON
