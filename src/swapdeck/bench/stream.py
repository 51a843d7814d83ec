"""Reading one streamed chat completion: SSE framing and what each chunk means for timing.

Pure: callers hand in bytes as they arrive with the `perf_counter()` time they were read,
and get back the request's raw observations. Definitions follow bench-facts §0 and §1.1:

* TTFR: first chunk with a non-empty `choices` (a role-only chunk counts), except
  `prompt_progress` chunks, whose role-only delta would fire it during prefill (§2.2);
* TTFT: first chunk whose delta carries `content`, `reasoning_content`/`reasoning` or
  `tool_calls`; TTFO: first non-reasoning content;
* E2E: the last *token* chunk (never the finish chunk, the usage chunk or `[DONE]`);
* `timings`/`usage`: read from every chunk that carries them, `choices: []` ones included;
  the last one wins.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

DONE = "[DONE]"


class SseDecoder:
    """Incremental `text/event-stream` decoder: bytes in, complete `data` payloads out.

    One TCP read may hold several events or half of one (bench-facts §9); comments
    (`:` lines, used as pings) and other fields are skipped.
    """

    def __init__(self) -> None:
        self._pending = b""
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[str]:
        self._pending += chunk
        events: list[str] = []
        while True:
            end = self._pending.find(b"\n")
            if end < 0:
                return events
            line = self._pending[:end].rstrip(b"\r").decode("utf-8", errors="replace")
            self._pending = self._pending[end + 1:]
            if not line:
                if self._data:
                    events.append("\n".join(self._data))
                    self._data = []
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            if name == "data":
                self._data.append(value[1:] if value.startswith(" ") else value)

    def close(self) -> list[str]:
        """Whatever a stream that ended without a blank line still held."""
        rest = self.feed(b"\n\n") if self._pending or self._data else []
        return rest


@dataclass(slots=True)
class StreamObservation:
    """Everything one response stream said, with times relative to the clock the caller uses."""

    first_choice_at: float | None = None
    first_token_at: float | None = None
    first_output_at: float | None = None
    token_chunk_times: list[float] = field(default_factory=list)
    first_chunk_tokens: int = 0
    reasoning_chunks: int = 0
    content_chunks: int = 0
    tool_call_chunks: int = 0
    timings: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None
    fingerprint: str | None = None
    finish_reason: str | None = None
    done: bool = False
    error: str | None = None
    bad_chunks: int = 0

    @property
    def token_chunks(self) -> int:
        return len(self.token_chunk_times)


def _non_empty(value: Any) -> bool:
    return value is not None and value != "" and value != []


class StreamReader:
    """Feeds SSE bytes into a `StreamObservation`."""

    def __init__(self) -> None:
        self.decoder = SseDecoder()
        self.observation = StreamObservation()

    def feed(self, chunk: bytes, at: float) -> None:
        for payload in self.decoder.feed(chunk):
            self.on_event(payload, at)

    def close(self, at: float) -> StreamObservation:
        for payload in self.decoder.close():
            self.on_event(payload, at)
        return self.observation

    def on_event(self, payload: str, at: float) -> None:
        seen = self.observation
        text = payload.strip()
        if text == DONE:
            seen.done = True
            return
        try:
            chunk = json.loads(text)
        except ValueError:
            seen.bad_chunks += 1
            return
        if not isinstance(chunk, dict):
            seen.bad_chunks += 1
            return
        self._on_chunk(chunk, at)

    def _on_chunk(self, chunk: dict[str, Any], at: float) -> None:
        seen = self.observation
        error = chunk.get("error")
        if error is not None:
            message = error.get("message") if isinstance(error, dict) else error
            seen.error = str(message)
        if isinstance(chunk.get("timings"), dict):
            seen.timings = chunk["timings"]
        if isinstance(chunk.get("usage"), dict):
            seen.usage = chunk["usage"]
        if isinstance(chunk.get("system_fingerprint"), str):
            seen.fingerprint = chunk["system_fingerprint"]
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices:
            return
        if "prompt_progress" not in chunk and seen.first_choice_at is None:
            seen.first_choice_at = at
        for choice in choices:
            if isinstance(choice, dict):
                self._on_choice(choice, at)

    def _on_choice(self, choice: dict[str, Any], at: float) -> None:
        seen = self.observation
        if isinstance(choice.get("finish_reason"), str):
            seen.finish_reason = choice["finish_reason"]
        delta = choice.get("delta")
        if not isinstance(delta, dict):
            return
        reasoning = _non_empty(delta.get("reasoning_content")) or _non_empty(
            delta.get("reasoning"))
        content = _non_empty(delta.get("content"))
        tools = _non_empty(delta.get("tool_calls"))
        if not (reasoning or content or tools):
            return
        if seen.first_token_at is None:
            seen.first_token_at = at
            seen.first_chunk_tokens = _tokens_in(delta)
        if (content or tools) and seen.first_output_at is None:
            seen.first_output_at = at
        seen.reasoning_chunks += int(reasoning)
        seen.content_chunks += int(content)
        seen.tool_call_chunks += int(tools)
        seen.token_chunk_times.append(at)


def _tokens_in(delta: dict[str, Any]) -> int:
    """Tokens a chunk carries: `token_ids`/`tokens` when the server sends them, else one."""
    for key in ("token_ids", "tokens"):
        ids = delta.get(key)
        if isinstance(ids, list) and ids:
            return len(ids)
    return 1
