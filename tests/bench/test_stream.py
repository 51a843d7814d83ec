"""The stream reader and sample derivations, on hand-built llama-server-shaped streams.

Shapes follow bench-facts §2.2 (role chunk with the first token, finish chunk with `timings`,
usage chunk with `choices: []`, `[DONE]`), and the traps of §1.1/§9.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from swapdeck.bench.sample import RequestContext, build_sample, cached_tokens, tg_norm
from swapdeck.bench.stream import SseDecoder, StreamReader

TIMINGS = {"cache_n": 0, "prompt_n": 40, "prompt_ms": 20.0, "prompt_per_token_ms": 0.5,
           "prompt_per_second": 2000.0, "predicted_n": 5, "predicted_ms": 40.0,
           "predicted_per_token_ms": 10.0, "predicted_per_second": 100.0}
CTX = RequestContext("pp40/tg5/c1", 40, 5, 1, 0, False, 1_700_000_000.0)


def sse(payload: Any) -> bytes:
    return b"data: " + (payload if isinstance(payload, bytes) else json.dumps(payload).encode()) \
        + b"\n\n"


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None,
          **extra: Any) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {"id": "c", "object": "chat.completion.chunk", "choices": choices,
            "system_fingerprint": "b6497-cd08fc3e", **extra}


def feed(events: list[tuple[float, Any]]) -> StreamReader:
    reader = StreamReader()
    for at, payload in events:
        reader.feed(sse(payload), at)
    reader.close(events[-1][0] if events else 0.0)
    return reader


def test_decoder_handles_split_reads_several_events_comments_and_crlf() -> None:
    decoder = SseDecoder()
    assert decoder.feed(b": ping\n\ndata: {\"a\"") == []
    assert decoder.feed(b": 1}\r\n\r\ndata: x\n\ndata: [DO") == ['{"a": 1}', "x"]
    assert decoder.feed(b"NE]\n\n") == ["[DONE]"]
    assert decoder.feed(b"event: message\nid: 3\ndata: y\n") == []
    assert decoder.close() == ["y"]


def test_a_normal_stream_gives_every_metric() -> None:
    reader = feed([
        (1.010, chunk({"role": "assistant", "content": "Hello"})),
        (1.020, chunk({"content": " there"})),
        (1.030, chunk({"content": " my"})),
        (1.040, chunk({"content": " good"})),
        (1.050, chunk({"content": " friend"})),
        (1.051, chunk({}, "length", timings=TIMINGS)),
        (1.052, chunk(None, usage={"prompt_tokens": 40, "completion_tokens": 5,
                                    "total_tokens": 45}, timings=TIMINGS)),
        (1.053, b"[DONE]"),
    ])
    s = build_sample(CTX, sent_at=1.0, seen=reader.observation, status=200, error=None,
                     client_cpu_ms=0.5)
    assert s.ok and s.finish_reason == "length" and s.fingerprint == "b6497-cd08fc3e"
    assert s.ttfr_ms == pytest.approx(10.0) and s.ttft_ms == pytest.approx(10.0)
    assert s.e2e_ms == pytest.approx(50.0)  # the last token chunk, not finish/usage/[DONE]
    assert s.tpot_ms == pytest.approx(10.0)  # (50 − 10) / (5 − 1)
    assert s.itl_ms == pytest.approx((10.0, 10.0, 10.0, 10.0))
    assert s.tg_client == pytest.approx(4 / 0.040)
    assert (s.n_in, s.n_out, s.cache_n, s.prompt_n, s.predicted_n) == (40, 5, 0, 40, 5)
    assert s.tg_norm == pytest.approx(100.0) and s.pp_server == 2000.0
    assert s.cpu_per_token_ms == pytest.approx(0.1)


def test_role_only_first_chunk_sets_ttfr_but_not_ttft() -> None:
    reader = feed([
        (2.005, chunk({"role": "assistant", "content": None})),
        (2.030, chunk({"content": "a"})),
        (2.040, chunk({"content": "b"})),
        (2.041, chunk({}, "length", timings=dict(TIMINGS, predicted_n=2, predicted_ms=10.0))),
        (2.042, b"[DONE]"),
    ])
    s = build_sample(CTX, sent_at=2.0, seen=reader.observation, status=200, error=None,
                     client_cpu_ms=0.0)
    assert s.ttfr_ms == pytest.approx(5.0)
    assert s.ttft_ms == pytest.approx(30.0)


def test_reasoning_counts_for_ttft_and_ttfo_waits_for_content() -> None:
    reader = feed([
        (0.010, chunk({"role": "assistant", "reasoning_content": "hmm"})),
        (0.020, chunk({"reasoning": "so"})),
        (0.030, chunk({"content": "yes"})),
        (0.031, b"[DONE]"),
    ])
    seen = reader.observation
    assert seen.first_token_at == 0.010 and seen.first_output_at == 0.030
    assert seen.reasoning_chunks == 2 and seen.content_chunks == 1


def test_tool_calls_count_as_output() -> None:
    reader = feed([(0.5, chunk({"tool_calls": [{"index": 0, "function": {"name": "f"}}]})),
                   (0.6, b"[DONE]")])
    assert reader.observation.first_token_at == 0.5
    assert reader.observation.first_output_at == 0.5


def test_prompt_progress_chunks_do_not_fire_ttfr() -> None:
    """§2.2: `return_progress` prefill chunks carry a role-only delta."""
    reader = feed([
        (0.1, chunk({"role": "assistant", "content": None},
                    prompt_progress={"total": 40, "cache": 0, "processed": 20, "time_ms": 5})),
        (0.2, chunk({"content": "x"})),
        (0.3, b"[DONE]"),
    ])
    assert reader.observation.first_choice_at == 0.2


def test_the_last_timings_win_and_usage_only_chunks_are_read() -> None:
    early = dict(TIMINGS, predicted_n=1, predicted_ms=1.0)
    reader = feed([(0.1, chunk({"content": "x"}, timings=early)),
                   (0.2, chunk({"content": "y"}, timings=TIMINGS)),
                   (0.3, chunk(None, usage={"prompt_tokens": 40, "completion_tokens": 2})),
                   (0.4, b"[DONE]")])
    assert reader.observation.timings == TIMINGS
    assert reader.observation.usage == {"prompt_tokens": 40, "completion_tokens": 2}


def test_usage_only_final_still_counts_tokens_without_timings() -> None:
    reader = feed([(0.01, chunk({"content": "a"})), (0.02, chunk({"content": "b"})),
                   (0.03, chunk({"content": "c"})), (0.031, chunk({}, "length")),
                   (0.032, chunk(None, usage={"prompt_tokens": 9, "completion_tokens": 3})),
                   (0.033, b"[DONE]")])
    s = build_sample(CTX, sent_at=0.0, seen=reader.observation, status=200, error=None,
                     client_cpu_ms=0.0)
    assert s.ok and s.timings is None and s.tg_norm is None and s.cache_n is None
    assert (s.n_in, s.n_out) == (9, 3)
    assert s.tg_client == pytest.approx(2 / 0.02)


def test_an_error_chunk_fails_the_request() -> None:
    reader = feed([(0.1, {"error": {"code": 500, "message": "slot unavailable"}})])
    s = build_sample(CTX, sent_at=0.0, seen=reader.observation, status=200,
                     error=reader.observation.error, client_cpu_ms=0.0)
    assert not s.ok and s.error == "slot unavailable"


def test_a_stream_cut_before_it_finished_is_a_failure() -> None:
    reader = feed([(0.1, chunk({"content": "a"})), (0.2, chunk({"content": "b"}))])
    s = build_sample(CTX, sent_at=0.0, seen=reader.observation, status=200, error=None,
                     client_cpu_ms=0.0)
    assert s.error == "stream cut before it finished"
    assert s.ttft_ms == pytest.approx(100.0)  # what did arrive is kept


def test_garbage_lines_are_counted_not_fatal() -> None:
    reader = feed([(0.1, b"{not json"), (0.2, chunk({"content": "a"})), (0.3, b"[DONE]")])
    assert reader.observation.bad_chunks == 1 and reader.observation.done


@pytest.mark.parametrize(("n", "ms", "expected"), [(33, 320.0, 100.0), (2, 10.0, 100.0),
                                                   (1, 5.0, None), (10, 0.0, None),
                                                   (None, 10.0, None)])
def test_tg_norm_uses_decode_steps_for_every_build(n: int | None, ms: float,
                                                   expected: float | None) -> None:
    """§2.3: old builds divide by n, new by n − 1; tg_norm always by n − 1."""
    assert tg_norm(n, ms) == (pytest.approx(expected) if expected is not None else None)


def test_cached_tokens_falls_back_to_usage_details() -> None:
    assert cached_tokens({"cache_n": 3}, {"prompt_tokens_details": {"cached_tokens": 9}}) == 3
    assert cached_tokens(None, {"prompt_tokens_details": {"cached_tokens": 9}}) == 9
    assert cached_tokens(None, {"prompt_tokens": 4}) is None
