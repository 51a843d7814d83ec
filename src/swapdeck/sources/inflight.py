"""SSE `inflight` in its three shapes (§2.2, §2.4) -> inflight events.

* v192..v234 `{"total":3}` -> `InflightCount`;
* v235..v239 `{"requests":[{id,timestamp,model,req_path,method,metadata?}]}`, the full list
  every time -> `InflightSnapshot`;
* v240+ `{"operation":"snapshot"|"upsert"|"remove", ...}` -> snapshot / upsert / remove.
  An empty snapshot is `{"operation":"snapshot"}` (`requests` is omitempty).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from swapdeck.events import (
    InflightCount,
    InflightRemoved,
    InflightRequest,
    InflightSnapshot,
    InflightUpsert,
)
from swapdeck.sources.jsonfields import (
    FieldError,
    as_list,
    as_object,
    get_int,
    get_str,
)
from swapdeck.sources.timestamps import TimestampError, parse_rfc3339

InflightEvent = InflightCount | InflightSnapshot | InflightUpsert | InflightRemoved


def parse_inflight(host: str, at: float, raw: object) -> InflightEvent:
    """One `inflight` payload of any era -> one event; raises FieldError."""
    obj = as_object(raw, "inflight")
    operation = obj.get("operation")
    if operation is None:
        if "total" in obj:
            return InflightCount(host=host, at=at, total=get_int(obj, "total"))
        if "requests" in obj:
            return InflightSnapshot(host=host, at=at, requests=_entries(obj.get("requests")))
        raise FieldError("inflight: expected `operation`, `requests` or `total`")
    if operation == "snapshot":
        return InflightSnapshot(host=host, at=at, requests=_entries(obj.get("requests")))
    if operation == "upsert":
        return InflightUpsert(host=host, at=at, request=parse_inflight_entry(obj.get("request")))
    if operation == "remove":
        return InflightRemoved(host=host, at=at, request_id=_request_id(obj))
    raise FieldError(f"inflight: unknown operation {operation!r}")


def _entries(raw: object) -> tuple[InflightRequest, ...]:
    if raw is None:
        return ()
    return tuple(parse_inflight_entry(item) for item in as_list(raw, "requests"))


def parse_inflight_entry(raw: object) -> InflightRequest:
    """`InflightRequestEntry` (§2.2); the v235..v239 subset leaves the rest at defaults."""
    obj = as_object(raw, "inflight request")
    stamp = obj.get("timestamp")
    try:
        started = parse_rfc3339(get_str(obj, "timestamp")) if stamp is not None else None
    except TimestampError as exc:
        raise FieldError(f"timestamp: {exc}") from None
    headers = obj.get("req_headers")
    elapsed = obj.get("elapsed_ms")
    return InflightRequest(
        id=_request_id(obj),
        model=get_str(obj, "model", ""),
        started_at=started,
        req_path=get_str(obj, "req_path", ""),
        method=get_str(obj, "method", ""),
        remote_ip=get_str(obj, "remote_ip", ""),
        user_agent=_user_agent(headers),
        resp_bytes=get_int(obj, "resp_bytes", 0),
        elapsed_ms=None if elapsed is None else get_int(obj, "elapsed_ms"),
        # `resp_headers` stays empty until the upstream answered (queued or loading).
        responding=bool(obj.get("resp_headers")),
    )


def _request_id(obj: Mapping[str, Any]) -> str:
    """A per-server counter sent as a string; accept a bare number too."""
    value = obj.get("id")
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise FieldError("id: expected a request id string")


def _user_agent(headers: object) -> str:
    if not isinstance(headers, dict):
        return ""
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == "user-agent" and isinstance(value, str):
            return value
    return ""
