"""Bodies a simulated llama-server answers with: OpenAI-style chat/text completions.

Streams look like llama-server's (bench-facts §2.2): a role-only first chunk, content chunks,
a final chunk with `finish_reason` and `timings`, a usage chunk with `choices: []`, then
`data: [DONE]`. Key order follows llama-server's ordered JSON. All functions are pure; pacing
is the HTTP edge's job.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Literal

from swapdeck.sim.faults import Faults
from swapdeck.sim.gojson import go_dumps
from swapdeck.sim.timings import Timings

DONE = b"data: [DONE]\n\n"
Kind = Literal["chat", "text"]

_WORDS = ("the", "model", "swap", "token", "cache", "layer", "prompt", "answer", "quickly",
          "because", "memory", "batch", "context", "server", "and", "of", "to", "is", "a",
          "with", "on", "GPU", "latency", "stream", "request", "weights", "small", "value")


def token_texts(seed: int, count: int) -> list[str]:
    """`count` deterministic token strings (one word each, with its leading space)."""
    rng = random.Random(seed)
    return [(" " if i else "") + rng.choice(_WORDS) for i in range(count)]


def prompt_text(seed: int, tokens: int) -> str:
    """About `tokens` tokens of user text (~4 characters per token)."""
    rng = random.Random(seed)
    words: list[str] = []
    length = 0
    while length < tokens * 4:
        word = rng.choice(_WORDS)
        words.append(word)
        length += len(word) + 1
    return " ".join(words)


def estimate_prompt_tokens(texts: list[str]) -> int:
    """Roughly what a tokenizer would count, plus the chat template's per-message overhead."""
    return max(1, sum(-(-len(t) // 4) + 4 for t in texts))


@dataclass(frozen=True, slots=True)
class CompletionPlan:
    kind: Kind
    completion_id: str
    created: int
    model: str
    fingerprint: str
    pieces: tuple[str, ...]
    timings: Timings
    finish_reason: str
    faults: Faults

    @property
    def reasoning_n(self) -> int:
        return len(self.pieces) // 3 if self.faults.reasoning else 0

    @property
    def prompt_tokens(self) -> int:
        return self.timings.prompt_n + self.timings.cache_n


def _sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + go_dumps(payload).encode() + b"\n\n"


def _envelope(plan: CompletionPlan, choices: list[dict[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {"choices": choices, "created": plan.created}
    body["id"] = plan.completion_id
    body["model"] = plan.model
    body["system_fingerprint"] = plan.fingerprint
    body["object"] = "chat.completion.chunk" if plan.kind == "chat" else "text_completion"
    return body


def _choice(plan: CompletionPlan, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    if plan.kind == "chat":
        return {"finish_reason": finish, "index": 0, "delta": delta}
    return {"text": delta.get("content") or "", "index": 0, "logprobs": None,
            "finish_reason": finish}


def role_chunk(plan: CompletionPlan) -> bytes:
    return _sse(_envelope(plan, [_choice(plan, {"role": "assistant", "content": None}, None)]))


def content_chunk(plan: CompletionPlan, text: str, *, reasoning: bool) -> bytes:
    delta = {"reasoning_content": text} if reasoning else {"content": text}
    if plan.kind == "text":
        delta = {"content": text}
    return _sse(_envelope(plan, [_choice(plan, delta, None)]))


def usage_json(plan: CompletionPlan, *, with_cache: bool) -> dict[str, Any]:
    usage: dict[str, Any] = {"completion_tokens": plan.timings.predicted_n,
                             "prompt_tokens": plan.prompt_tokens,
                             "total_tokens": plan.prompt_tokens + plan.timings.predicted_n}
    if with_cache:
        usage["prompt_tokens_details"] = {"cached_tokens": plan.timings.cache_n}
    return usage


def final_chunks(plan: CompletionPlan) -> bytes:
    """The finish chunk, the usage chunk and `[DONE]` (timings absent for usage-only-final)."""
    with_timings = not plan.faults.usage_only_final
    finish = _envelope(plan, [_choice(plan, {}, plan.finish_reason)])
    usage = _envelope(plan, [])
    usage["usage"] = usage_json(plan, with_cache=with_timings)
    if with_timings:
        finish["timings"] = plan.timings.to_json()
        usage["timings"] = plan.timings.to_json()
    return _sse(finish) + _sse(usage) + DONE


def chunk_groups(plan: CompletionPlan, tokens_per_chunk: int) -> list[tuple[str, bool, int]]:
    """Content chunks as (text, is_reasoning, tokens); the first token always travels alone."""
    groups: list[tuple[str, bool, int]] = []
    split = plan.reasoning_n
    for part, reasoning in ((plan.pieces[:split], True), (plan.pieces[split:], False)):
        index = 0
        while index < len(part):
            size = 1 if not groups else tokens_per_chunk
            piece = part[index:index + size]
            groups.append(("".join(piece), reasoning, len(piece)))
            index += size
    return groups


def render_stream(plan: CompletionPlan, tokens_per_chunk: int) -> bytes:
    """The whole streamed body at once (captures of simulated requests)."""
    parts = [] if plan.faults.no_role_chunk else [role_chunk(plan)]
    groups = chunk_groups(plan, tokens_per_chunk)
    limit = plan.faults.drop_after
    for count, (text, reasoning, _tokens) in enumerate(groups):
        if limit is not None and count >= limit:
            return b"".join(parts)
        parts.append(content_chunk(plan, text, reasoning=reasoning))
    parts.append(final_chunks(plan))
    return b"".join(parts)


def render_json(plan: CompletionPlan) -> bytes:
    """The non-streaming response: message (or text), usage and top-level timings."""
    split = plan.reasoning_n
    content = "".join(plan.pieces[split:])
    if plan.kind == "chat":
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if split:
            message["reasoning_content"] = "".join(plan.pieces[:split])
        choice: dict[str, Any] = {"finish_reason": plan.finish_reason, "index": 0,
                                  "message": message}
    else:
        choice = {"text": content, "index": 0, "logprobs": None,
                  "finish_reason": plan.finish_reason}
    body: dict[str, Any] = {"choices": [choice], "created": plan.created, "model": plan.model,
                            "system_fingerprint": plan.fingerprint,
                            "object": "chat.completion" if plan.kind == "chat"
                            else "text_completion",
                            "usage": usage_json(plan, with_cache=not plan.faults.usage_only_final),
                            "id": plan.completion_id}
    if not plan.faults.usage_only_final:
        body["timings"] = plan.timings.to_json()
    return go_dumps(body).encode()


def render_embeddings(model: str, inputs: int, prompt_tokens: int, seed: int) -> bytes:
    rng = random.Random(seed)
    data = [{"embedding": [round(rng.uniform(-0.1, 0.1), 6) for _ in range(16)],
             "index": i, "object": "embedding"} for i in range(inputs)]
    body = {"model": model, "object": "list",
            "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
            "data": data}
    return go_dumps(body).encode()


def request_body(model: str, path: str, prompt: str, *, max_tokens: int, stream: bool) -> bytes:
    """What a typical client would have sent (captures of simulated requests)."""
    if path.endswith("/embeddings"):
        payload: dict[str, Any] = {"model": model, "input": prompt}
    elif path.endswith("/chat/completions"):
        payload = {"model": model, "messages": [{"role": "user", "content": prompt}],
                   "max_tokens": max_tokens, "stream": stream}
    else:
        payload = {"model": model, "prompt": prompt, "max_tokens": max_tokens, "stream": stream}
    return go_dumps(payload).encode()
