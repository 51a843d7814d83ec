"""Bytes on the wire that do not depend on host state: SSE frames, error bodies, 404s.

Everything here is pure: a function of the era and the request's headers, returning a
`Reply` (status, headers, body) that the HTTP edge turns into a response.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any

from swapdeck.sim.era import EraTraits
from swapdeck.sim.gojson import go_dumps, go_map

JSON = "application/json"
GIN_JSON = "application/json; charset=utf-8"
TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


def sse_frame(message_type: str, payload: Any) -> bytes:
    """One `/api/events` message: the payload is JSON inside a JSON string (§2.1)."""
    envelope = {"type": message_type, "data": go_dumps(payload)}  # struct: type, then data
    return b"event:message\ndata:" + go_dumps(envelope).encode() + b"\n\n"


def json_reply(traits: EraTraits, payload: Any, status: int = 200) -> Reply:
    content_type = GIN_JSON if traits.gin else JSON
    return Reply(status, go_dumps(payload).encode(), {"Content-Type": content_type})


def text_reply(text: str, status: int = 200) -> Reply:
    return Reply(status, text.encode(), {"Content-Type": TEXT})


def error_reply(traits: EraTraits, status: int, message: str, accept: str) -> Reply:
    """llama-swap's own error body, content-negotiated per era (§0, §12)."""
    accept = accept.lower()
    if traits.gin:
        # gin sendErrorResponse: JSON only when asked for, else the bare message.
        if "application/json" in accept:
            return json_reply(traits, go_map({"error": message}), status)
        return text_reply(message, status)
    if "application/json" in accept or not ("text/html" in accept or "text/plain" in accept):
        return json_reply(traits, go_map({"error": message, "src": "llama-swap"}), status)
    if "text/html" in accept:
        page = (f"<!DOCTYPE html><html><head><title>{status} Error</title></head><body>"
                f"<h1>llama-swap</h1><p>{escape(message)}</p></body></html>")
        return Reply(status, page.encode(), {"Content-Type": "text/html; charset=utf-8"})
    return text_reply(f"llama-swap: {message}", status)


UNAUTHORIZED_MESSAGE = "unauthorized: invalid or missing API key"


def unauthorized_reply(traits: EraTraits, accept: str) -> Reply:
    """§7: 401, a Basic challenge, and the era's error body."""
    reply = error_reply(traits, 401, UNAUTHORIZED_MESSAGE, accept)
    headers = {**reply.headers, "WWW-Authenticate": 'Basic realm="llama-swap"'}
    return Reply(reply.status, reply.body, headers)


def not_found_reply(traits: EraTraits) -> Reply:
    """Router 404 for a path the era does not have (§0): gin omits net/http's newline."""
    if traits.gin:
        return Reply(404, b"404 page not found", {"Content-Type": "text/plain"})
    return Reply(404, b"404 page not found\n",
                 {"Content-Type": TEXT, "X-Content-Type-Options": "nosniff"})


def method_not_allowed_reply(traits: EraTraits, allowed: list[str]) -> Reply:
    """Go 1.22 ServeMux answers 405 with an Allow header; gin (no HandleMethodNotAllowed) 404s."""
    if traits.gin:
        return not_found_reply(traits)
    return Reply(405, b"Method Not Allowed\n",
                 {"Content-Type": TEXT, "X-Content-Type-Options": "nosniff",
                  "Allow": ", ".join(sorted(set(allowed)))})


def upstream_error_body(status: int, message: str) -> bytes:
    """llama-server's own error object, passed through llama-swap untouched (§1.1)."""
    kinds = {400: "invalid_request_error", 404: "not_found_error", 501: "not_supported_error",
             503: "unavailable_error"}
    error = {"code": status, "message": message, "type": kinds.get(status, "server_error")}
    return go_dumps({"error": error}).encode()
