"""In-memory request/response captures (§1.10 `/api/captures/{id}`), FIFO-evicted by size.

llama-swap keeps zstd-compressed CBOR blobs up to `captureBuffer` MB. Bodies of simulated
(internal) requests are rendered lazily, only when someone asks for the capture, so a host
serving hundreds of requests a second does not build bodies nobody reads; their size for the
eviction budget is an estimate of the compressed size.
"""

from __future__ import annotations

import base64
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from swapdeck.sim.gojson import go_map

BodySource = Callable[[], bytes | None]

REDACTED_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie",
                              "x-api-key"})


def flatten_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """First value per canonical header name, secrets redacted (§1.10, §7); a Go map."""
    flat: dict[str, str] = {}
    for name, value in headers.items():
        canonical = "-".join(part.capitalize() for part in name.split("-"))
        if canonical in flat:
            continue
        flat[canonical] = "[REDACTED]" if name.lower() in REDACTED_HEADERS else value
    return go_map(flat)


@dataclass(frozen=True, slots=True)
class Capture:
    id: int
    req_path: str
    req_headers: dict[str, str]
    req_body: BodySource
    resp_headers: dict[str, str] | None
    resp_body: BodySource
    size: int


def _b64(source: BodySource) -> str | None:
    body = source()
    return None if body is None else base64.b64encode(body).decode("ascii")


def render_capture(capture: Capture, *, with_req_path: bool) -> dict[str, Any]:
    rendered: dict[str, Any] = {"id": capture.id}
    if with_req_path:
        rendered["req_path"] = capture.req_path
    rendered.update({
        "req_headers": capture.req_headers,
        "req_body": _b64(capture.req_body),
        "resp_headers": capture.resp_headers,
        "resp_body": _b64(capture.resp_body),
    })
    return rendered


class CaptureBuffer:
    def __init__(self, capacity_mb: int) -> None:
        if capacity_mb < 0:
            raise ValueError(f"capture_buffer_mb must be >= 0, got {capacity_mb}")
        self._capacity = capacity_mb * 1024 * 1024
        self._items: OrderedDict[int, Capture] = OrderedDict()
        self._used = 0

    @property
    def enabled(self) -> bool:
        return self._capacity > 0

    def add(self, capture: Capture) -> bool:
        """Store it, evicting the oldest until it fits; False when it can never fit."""
        if not self.enabled or capture.size > self._capacity:
            return False
        while self._used + capture.size > self._capacity and self._items:
            _, evicted = self._items.popitem(last=False)
            self._used -= evicted.size
        self._items[capture.id] = capture
        self._used += capture.size
        return True

    def get(self, capture_id: int) -> Capture | None:
        return self._items.get(capture_id)

    def __contains__(self, capture_id: int) -> bool:
        return capture_id in self._items

    def clear(self) -> None:
        self._items.clear()
        self._used = 0
