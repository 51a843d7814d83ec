"""Reading a captured text-generation exchange as a conversation and an answer.

A chat request becomes its turns (messages by role); a response — a JSON body or the
`data:` payloads of an SSE stream — becomes the assistant's answer, with reasoning kept
apart from content. Pure: parsed JSON in, small values out (used by `capture_view`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ChatTurn:
    role: str
    content: str


@dataclass(frozen=True, slots=True)
class Answer:
    """The assistant's answer, from a JSON response or reassembled from SSE events."""

    content: str
    reasoning: str = ""
    finish_reason: str | None = None
    streamed: bool = False
    events: int = 0
    """SSE `data:` events read (0 for a plain JSON response)."""
    error: str = ""


# --------------------------------------------------------------------------- chat reading

TEXT_GENERATION_PATHS = ("/chat/completions", "/completions", "/responses", "/messages",
                         "/completion", "/infill")
"""§1.1 inference paths whose request is a prompt and whose response is text; embeddings,
rerank, audio and images are shown as bodies only."""


def is_text_generation(path: str) -> bool:
    return not path or path.rstrip("/").endswith(TEXT_GENERATION_PATHS)



def _text_of(content: Any) -> str:
    """Message content as text: a string, or OpenAI/Anthropic content parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict):
                text = part.get("text")
                parts.append(text if isinstance(text, str) else f"[{part.get('type', 'part')}]")
        return "\n".join(parts)
    return json.dumps(content, ensure_ascii=False)


def _tool_calls_text(calls: Any) -> str:
    if not isinstance(calls, list):
        return ""
    lines = []
    for call in calls:
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            lines.append(f"→ {function.get('name', '?')}({function.get('arguments', '')})")
    return "\n".join(lines)


def _turn(message: Any) -> ChatTurn | None:
    if not isinstance(message, dict):
        return None
    text = _text_of(message.get("content"))
    calls = _tool_calls_text(message.get("tool_calls"))
    return ChatTurn(str(message.get("role") or "?"), "\n".join(t for t in (text, calls) if t))


def read_conversation(request: Any) -> tuple[ChatTurn, ...]:
    """The prompt side: chat `messages` by role (with an Anthropic `system` or a
    Responses `instructions` first), a Responses `input`, or a completions `prompt`."""
    if not isinstance(request, dict):
        return ()
    turns: list[ChatTurn] = []
    for key in ("system", "instructions"):
        if request.get(key):
            turns.append(ChatTurn("system", _text_of(request[key])))
    for key in ("messages", "input"):
        value = request.get(key)
        if isinstance(value, str):
            turns.append(ChatTurn("user", value))
        elif isinstance(value, list):
            turns.extend(t for t in map(_turn, value) if t is not None)
    prompt = request.get("prompt")
    if isinstance(prompt, str | list):
        text = prompt if isinstance(prompt, str) else "\n".join(str(p) for p in prompt)
        turns.append(ChatTurn("prompt", text))
    return tuple(turns)


_THINK = re.compile(r"\s*<think>(.*?)(?:</think>\s*(.*))?\Z", re.DOTALL)


def _answer(content: list[str], reasoning: list[str], finish: str | None, *,
            streamed: bool = False, events: int = 0, error: str = "") -> Answer:
    text, thought = "".join(content), "".join(reasoning)
    if not thought and (match := _THINK.match(text)):
        # Models without a reasoning parser put their thinking inline.
        thought, text = match.group(1), match.group(2) or ""
    return Answer(text, thought.strip("\n"), finish, streamed, events, error)


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        return str(error.get("message") or json.dumps(error, ensure_ascii=False))
    return str(error)


def _answer_from_json(obj: dict[str, Any]) -> Answer | None:
    content: list[str] = []
    reasoning: list[str] = []
    finish: str | None = None
    if "error" in obj:
        return Answer("", error=_error_text(obj["error"]))
    choices = obj.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        first = choices[0]
        message = first.get("message")
        if isinstance(message, dict):
            content.append(_text_of(message.get("content")))
            content.append(_tool_calls_text(message.get("tool_calls")))
            reasoning.append(str(message.get("reasoning_content") or message.get("reasoning")
                                 or ""))
        elif isinstance(first.get("text"), str):
            content.append(first["text"])
        finish = first.get("finish_reason")
    elif isinstance(obj.get("content"), list):  # Anthropic /v1/messages
        for block in obj["content"]:
            if isinstance(block, dict):
                content.append(str(block.get("text") or ""))
                reasoning.append(str(block.get("thinking") or ""))
        finish = obj.get("stop_reason")
    elif isinstance(obj.get("output"), list):  # Responses API
        for item in obj["output"]:
            if isinstance(item, dict):
                target = reasoning if item.get("type") == "reasoning" else content
                target.append(_text_of(item.get("content") or item.get("summary")))
        finish = obj.get("status")
    elif isinstance(obj.get("content"), str):  # llama-server native /completion
        content.append(obj["content"])
        finish = obj.get("stop_type")
    else:
        return None
    return _answer(content, reasoning, finish if isinstance(finish, str) else None)


def _answer_from_stream(payloads: list[Any]) -> Answer:
    content: list[str] = []
    reasoning: list[str] = []
    finish: str | None = None
    error = ""
    for p in payloads:
        if not isinstance(p, dict):
            continue
        if "error" in p:
            error = _error_text(p["error"])
        for choice in p.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta")
            if isinstance(delta, dict):
                content.append(delta.get("content") or "")
                reasoning.append(delta.get("reasoning_content") or delta.get("reasoning") or "")
                for call in delta.get("tool_calls") or ():
                    function = call.get("function") if isinstance(call, dict) else None
                    if isinstance(function, dict):
                        name = function.get("name")
                        content.append((f"\n→ {name}" if name else "")
                                       + str(function.get("arguments") or ""))
            elif isinstance(choice.get("text"), str):
                content.append(choice["text"])
            finish = choice.get("finish_reason") or finish
        kind = p.get("type")
        delta = p.get("delta")
        if kind == "response.output_text.delta" and isinstance(delta, str):
            content.append(delta)
        elif kind in ("response.reasoning_text.delta", "response.reasoning_summary_text.delta") \
                and isinstance(delta, str):
            reasoning.append(delta)
        elif kind == "content_block_delta" and isinstance(delta, dict):
            content.append(str(delta.get("text") or ""))
            reasoning.append(str(delta.get("thinking") or ""))
        elif kind == "message_delta" and isinstance(delta, dict):
            finish = delta.get("stop_reason") or finish
        elif "choices" not in p and isinstance(p.get("content"), str):  # native /completion
            content.append(p["content"])
            if p.get("stop") is True:
                finish = p.get("stop_type") or finish
    return _answer([c for c in content if isinstance(c, str)],
                   [r for r in reasoning if isinstance(r, str)],
                   finish if isinstance(finish, str) else None,
                   streamed=True, events=len(payloads), error=error)


def read_answer(response: Any, sse_payloads: list[Any] | None) -> Answer | None:
    """The answer from a streamed response's payloads, else from a JSON response."""
    if sse_payloads is not None:
        return _answer_from_stream(sse_payloads)
    if isinstance(response, dict):
        return _answer_from_json(response)
    return None
