"""The `/api/events` envelope (§2.1): an SSE `message` whose data is JSON holding JSON.

`event:message` / `data:{"type":"modelStatus","data":"[{\\"id\\":...}]"}` — the envelope's
`data` is a JSON *string* that must be decoded a second time. Go writes map keys sorted
(§12), so nothing here depends on key order or bytes. Both layers go through orjson on
the hot path, with `json.loads`'s results and messages (`decode_json`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from swapdeck.sources.jsonfields import decode_json


class MalformedFrame(ValueError):
    """A frame that cannot be decoded; `reason` is short and stable, `detail` is for people."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class Envelope(NamedTuple):
    """A tuple, not a frozen dataclass: built once per frame, and a tuple costs a fraction."""

    type: str
    payload: Any
    """The decoded inner JSON value."""


def decode_envelope(event_name: str, data: str) -> Envelope:
    """Decode one SSE event from `/api/events`; raises `MalformedFrame`."""
    # llama-swap names every event `message` (both the gin and net/http eras, §2.1); an
    # unnamed event is the SSE default and means the same.
    if event_name not in ("message", ""):
        raise MalformedFrame("unexpected SSE event name", event_name[:60])
    try:
        outer = decode_json(data)
    except ValueError as exc:
        raise MalformedFrame("envelope is not JSON", _excerpt(data, exc)) from None
    if not isinstance(outer, dict):
        raise MalformedFrame("envelope is not a JSON object", data[:80])
    kind = outer.get("type")
    if not isinstance(kind, str) or not kind:
        raise MalformedFrame("envelope has no type", data[:80])
    inner = outer.get("data")
    if not isinstance(inner, str):
        raise MalformedFrame("envelope data is not a JSON string", f"type {kind}")
    try:
        payload = decode_json(inner)
    except ValueError as exc:
        raise MalformedFrame("envelope data is not JSON", f"type {kind}: {_excerpt(inner, exc)}"
                            ) from None
    return Envelope(kind, payload)


def _excerpt(text: str, exc: ValueError) -> str:
    return f"{exc} in {text[:60]!r}"
