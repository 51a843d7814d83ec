"""What the capture inspector shows: a request/response pair decoded, redacted and read.

llama-swap keeps the last requests' bodies in memory and serves them from
`/api/captures/{id}` (§1.10): bodies are base64 (`[]byte` in Go), already decompressed,
either may be `null`; headers are flattened to their first value and llama-swap redacts
the usual secret headers itself. We redact again — headers and any `api_key` / `apiKey` /
`password` / `token`-like JSON key — because a capture may come from an older host, from
our own history, or through a proxy that added its own.

Everything here is pure: bytes in, a `CaptureView` out. A chat completion becomes a
conversation (messages by role) and an answer; a streamed (SSE) response is reassembled
from its `data:` events into the answer text with reasoning kept apart from content.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from swapdeck.fleet.capture_chat import (
    Answer,
    ChatTurn,
    is_text_generation,
    read_answer,
    read_conversation,
)

REDACTED = "[REDACTED]"
SECRET_HEADERS = frozenset({
    "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key",
})
SECRET_JSON_KEYS = frozenset({
    "api_key", "apikey", "password", "token", "access_token", "refresh_token",
    "client_secret", "secret", "authorization",
})
EXPIRED_MESSAGE = "capture expired — the host no longer holds it"
DEFAULT_MAX_CHARS = 200_000
"""Display cap per body: a 5 MB capture would make any text view crawl."""

_SECRET_TEXT = re.compile(
    r'("(?:' + "|".join(re.escape(k) for k in sorted(SECRET_JSON_KEYS)) + r')"\s*:\s*)'
    r'"(?:[^"\\]|\\.)*"', re.IGNORECASE)


class CaptureFormatError(ValueError):
    """A capture that is not shaped like §1.10; the message names the field."""


@dataclass(frozen=True, slots=True)
class RawCapture:
    """One stored request/response pair, bodies as raw bytes (None when not captured)."""

    req_path: str
    req_headers: Mapping[str, str]
    resp_headers: Mapping[str, str]
    req_body: bytes | None
    resp_body: bytes | None
    req_truncated: bool = False
    resp_truncated: bool = False


class BodyKind(StrEnum):
    EMPTY = "empty"
    JSON = "json"
    SSE = "sse"
    TEXT = "text"
    BINARY = "binary"


@dataclass(frozen=True, slots=True)
class BodyView:
    kind: BodyKind
    text: str
    """Pretty JSON, SSE events (each JSON payload redacted), plain text, or a one-line note."""
    size: int
    truncated: bool = False
    """The stored body was cut on the way in (history size cap)."""
    clipped: bool = False
    """`text` was cut at the display cap."""


@dataclass(frozen=True, slots=True)
class CaptureView:
    req_path: str
    req_headers: tuple[tuple[str, str], ...]
    resp_headers: tuple[tuple[str, str], ...]
    request: BodyView
    response: BodyView
    conversation: tuple[ChatTurn, ...]
    answer: Answer | None
    notes: tuple[str, ...] = ()

    @property
    def has_chat(self) -> bool:
        return bool(self.conversation) or self.answer is not None


# --------------------------------------------------------------------------- input shapes


def decode_body(value: object, field_name: str = "body") -> bytes | None:
    """Bytes from whatever carries a body: bytes as they are, a str as §1.10 base64."""
    if value is None:
        return None
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise CaptureFormatError(f"capture field {field_name} is not base64") from None
    raise CaptureFormatError(
        f"capture field {field_name}: expected base64 text or bytes, got {type(value).__name__}")


def _headers(value: object, field_name: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise CaptureFormatError(f"capture field {field_name}: expected an object of headers")
    headers: dict[str, str] = {}
    for name, raw in value.items():
        # Flattened to the first value by llama-swap; tolerate a list from anything else.
        first = raw[0] if isinstance(raw, list | tuple) and raw else raw
        headers[str(name)] = "" if first is None else str(first)
    return headers


def capture_from_api(obj: Mapping[str, Any]) -> RawCapture:
    """A `RawCapture` from the JSON of `GET /api/captures/{id}` (§1.10)."""
    return RawCapture(
        req_path=str(obj.get("req_path") or ""),
        req_headers=_headers(obj.get("req_headers"), "req_headers"),
        resp_headers=_headers(obj.get("resp_headers"), "resp_headers"),
        req_body=decode_body(obj.get("req_body"), "req_body"),
        resp_body=decode_body(obj.get("resp_body"), "resp_body"),
    )


def capture_from_object(obj: object) -> RawCapture:
    """A `RawCapture` from the connector's `Capture` or the store's `StoredCapture`.

    Read by attribute name so that either dataclass (both: req/resp headers and bodies)
    works without this module importing the connector or the store.
    """
    if isinstance(obj, RawCapture):
        return obj
    if isinstance(obj, Mapping):
        return capture_from_api(obj)
    return RawCapture(
        req_path=str(getattr(obj, "req_path", "") or ""),
        req_headers=_headers(getattr(obj, "req_headers", None), "req_headers"),
        resp_headers=_headers(getattr(obj, "resp_headers", None), "resp_headers"),
        req_body=decode_body(getattr(obj, "req_body", None), "req_body"),
        resp_body=decode_body(getattr(obj, "resp_body", None), "resp_body"),
        req_truncated=bool(getattr(obj, "req_truncated", False)),
        resp_truncated=bool(getattr(obj, "resp_truncated", False)),
    )


# --------------------------------------------------------------------------- redaction


def redact_headers(headers: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """Headers sorted by name, secret ones replaced by `[REDACTED]`."""
    items = ((name, REDACTED if name.lower() in SECRET_HEADERS else value)
             for name, value in headers.items())
    return tuple(sorted(items, key=lambda item: item[0].lower()))


def redact_json(value: Any) -> Any:
    """A copy of a JSON value with every secret-named key's value replaced."""
    if isinstance(value, dict):
        return {key: REDACTED if str(key).lower() in SECRET_JSON_KEYS else redact_json(item)
                for key, item in value.items()}
    if isinstance(value, list):
        return [redact_json(item) for item in value]
    return value


def redact_text(text: str) -> str:
    """Secret JSON keys redacted in text that did not parse (a truncated body, say)."""
    return _SECRET_TEXT.sub(lambda m: m.group(1) + '"' + REDACTED + '"', text)


# --------------------------------------------------------------------------- bodies


def _as_text(body: bytes, truncated: bool) -> str | None:
    """The body as text, or None when it is binary."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        if truncated and exc.start >= len(body) - 3:
            return body[:exc.start].decode("utf-8")  # cut inside the last character
        text = body.decode("utf-8", errors="replace")
        bad = text.count("\ufffd")
        return text if bad * 100 <= len(text) else None


def _clip(text: str, max_chars: int) -> tuple[str, bool]:
    if len(text) <= max_chars:
        return text, False
    return text[:max_chars] + "\n… (clipped for display)", True


def is_sse(headers: Mapping[str, str], text: str) -> bool:
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    if "text/event-stream" in content_type.lower():
        return True
    head = text.lstrip()[:6]
    return head.startswith(("data:", "event:"))


def sse_events(text: str) -> list[tuple[str, str]]:
    """(event name, data) per SSE event: multi-line `data:` joined, one leading space cut."""
    events: list[tuple[str, str]] = []
    name = ""
    data: list[str] = []
    for raw_line in text.split("\n"):
        line = raw_line.removesuffix("\r")
        if not line:
            if data:
                events.append((name, "\n".join(data)))
            name, data = "", []
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif line.startswith("event:"):
            name = line[6:].strip()
    if data:  # a stream cut before its final blank line
        events.append((name, "\n".join(data)))
    return events


def _sse_payloads(text: str) -> tuple[list[Any], list[str]]:
    """JSON payloads of the events, and the events shown as redacted text lines."""
    payloads: list[Any] = []
    shown: list[str] = []
    for name, data in sse_events(text):
        prefix = f"event: {name}\n" if name else ""
        try:
            payload = json.loads(data)
        except ValueError:
            shown.append(prefix + "data: " + redact_text(data))
            continue
        payloads.append(payload)
        shown.append(prefix + "data: " + json.dumps(redact_json(payload), ensure_ascii=False))
    return payloads, shown


def _body_view(body: bytes | None, headers: Mapping[str, str], truncated: bool,
               max_chars: int) -> tuple[BodyView, Any, list[Any] | None]:
    """The view of one body, its parsed JSON (or None) and its SSE payloads (or None)."""
    if not body:
        return BodyView(BodyKind.EMPTY, "", 0, truncated), None, None
    size = len(body)
    text = _as_text(body, truncated)
    if text is None:
        note = f"binary body, {size:,} bytes (not shown)"
        return BodyView(BodyKind.BINARY, note, size, truncated), None, None
    if is_sse(headers, text):
        payloads, shown = _sse_payloads(text)
        clipped_text, clipped = _clip("\n".join(shown), max_chars)
        return BodyView(BodyKind.SSE, clipped_text, size, truncated, clipped), None, payloads
    try:
        parsed = json.loads(text)
    except ValueError:
        clipped_text, clipped = _clip(redact_text(text), max_chars)
        return BodyView(BodyKind.TEXT, clipped_text, size, truncated, clipped), None, None
    pretty = json.dumps(redact_json(parsed), indent=2, ensure_ascii=False)
    clipped_text, clipped = _clip(pretty, max_chars)
    return BodyView(BodyKind.JSON, clipped_text, size, truncated, clipped), parsed, None


def build_view(capture: RawCapture, *, status_code: int | None = None,
               max_chars: int = DEFAULT_MAX_CHARS) -> CaptureView:
    """Everything the inspector shows for one capture; never raises on odd bodies."""
    request, request_json, _ = _body_view(capture.req_body, capture.req_headers,
                                          capture.req_truncated, max_chars)
    response, response_json, sse = _body_view(capture.resp_body, capture.resp_headers,
                                              capture.resp_truncated, max_chars)
    conversation = (read_conversation(redact_json(request_json))
                    if request_json and is_text_generation(capture.req_path) else ())
    answer = read_answer(response_json, sse)
    notes: list[str] = []
    if capture.req_truncated:
        notes.append("request body was cut at the history size cap")
    if capture.resp_truncated:
        notes.append("response body was cut at the history size cap")
    if capture.resp_body is None:
        if status_code is not None and not 200 <= status_code < 300:
            notes.append(f"no response body: the request failed ({status_code}) and hosts "
                         "keep only the request of a failed request")
        else:
            notes.append("no response body was captured for this route")
    if answer is not None and answer.error:
        notes.append(f"the response reports an error: {answer.error}")
    return CaptureView(
        req_path=capture.req_path,
        req_headers=redact_headers(capture.req_headers),
        resp_headers=redact_headers(capture.resp_headers),
        request=request, response=response,
        conversation=conversation, answer=answer, notes=tuple(notes),
    )
