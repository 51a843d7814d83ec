"""`GET /api/captures/{id}` (§1.10, v190+): a stored request/response pair.

Bodies arrive base64-encoded (Go `[]byte`) and already decompressed, or `null` when the
route stores no such part. llama-swap redacts credentials in the headers; they are
redacted again here so a capture from an older or misconfigured host never shows a key.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from swapdeck.sources.jsonfields import FieldError, as_object, get_int, get_str, get_str_map

REDACTED = "[REDACTED]"
_SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})


@dataclass(frozen=True, slots=True)
class Capture:
    remote_id: int
    req_path: str
    req_headers: Mapping[str, str]
    req_body: bytes | None
    """None when the host stored no request body for this route."""
    resp_headers: Mapping[str, str]
    resp_body: bytes | None
    """None when not stored (binary routes, and failed requests since v229)."""


def parse_capture(raw: object) -> Capture:
    obj = as_object(raw, "capture")
    return Capture(
        remote_id=get_int(obj, "id"),
        req_path=get_str(obj, "req_path", ""),
        req_headers=redact_headers(get_str_map(obj, "req_headers")),
        req_body=_body(obj, "req_body"),
        resp_headers=redact_headers(get_str_map(obj, "resp_headers")),
        resp_body=_body(obj, "resp_body"),
    )


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: REDACTED if name.lower() in _SECRET_HEADERS else value
            for name, value in headers.items()}


def _body(obj: Mapping[str, Any], key: str) -> bytes | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise FieldError(f"{key}: expected base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise FieldError(f"{key}: expected base64 text ({exc})") from None
