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


class InflightReader:
    """`parse_inflight` for one stream, without parsing the same entry twice.

    v235..v239 resend the whole list on every change (§2.2), so a host with ten requests
    in flight sends each entry ten times or more; v240+ snapshots repeat entries too. Each
    entry parsed is kept by id with the object it came from; an entry equal to that object
    (a C-level dict comparison) reuses the parsed request. Entries that changed, as v240+
    upserts do every 250 ms while bytes flow, are parsed again. Only the ids of the latest
    snapshot and of live upserts are kept, so memory follows what is in flight.
    """

    MAX_REMEMBERED = 4096
    """Ids whose `remove` never came (a dropped stream) are forgotten past this."""

    def __init__(self, host: str) -> None:
        self.host = host
        self._parsed: dict[object, tuple[object, InflightRequest]] = {}

    def read(self, at: float, raw: object) -> InflightEvent:
        """One `inflight` payload -> one event; raises FieldError, like `parse_inflight`."""
        obj = as_object(raw, "inflight")
        operation = obj.get("operation")
        if operation == "upsert":
            return InflightUpsert(host=self.host, at=at, request=self._entry(obj.get("request")))
        if operation == "remove":
            event = InflightRemoved(host=self.host, at=at, request_id=_request_id(obj))
            self._parsed.pop(obj.get("id"), None)
            return event
        if operation == "snapshot" or (operation is None and "requests" in obj
                                       and "total" not in obj):
            return InflightSnapshot(host=self.host, at=at, requests=self._snapshot(obj))
        return parse_inflight(self.host, at, obj)

    def forget(self) -> None:
        """A new stream: its first snapshot is the truth."""
        self._parsed.clear()

    def _snapshot(self, obj: Mapping[str, Any]) -> tuple[InflightRequest, ...]:
        raw = obj.get("requests")
        previous, self._parsed = self._parsed, {}
        if raw is None:
            return ()
        return tuple(self._entry(item, previous) for item in as_list(raw, "requests"))

    def _entry(self, raw: object,
               previous: dict[object, tuple[object, InflightRequest]] | None = None
               ) -> InflightRequest:
        known = self._parsed if previous is None else previous
        key = raw.get("id") if isinstance(raw, dict) else None
        if isinstance(key, str | int):
            cached = known.get(key)
            if cached is not None and cached[0] == raw:
                request = cached[1]
            else:
                request = parse_inflight_entry(raw)
            if len(self._parsed) >= self.MAX_REMEMBERED:
                self._parsed.clear()
            self._parsed[key] = (raw, request)
            return request
        return parse_inflight_entry(raw)  # raises the usual FieldError


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
