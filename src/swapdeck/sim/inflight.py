"""Requests in progress and the three `inflight` payload shapes (§2.2, §2.4).

* v192..v234: `{"total":N}` on every change;
* v235..v239: `{"requests":[{id,timestamp,model,req_path,method}]}`, the full list each time;
* v240+: `snapshot` on connect, `upsert` on start / response headers / progress, `remove`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from swapdeck.sim.era import InflightShape
from swapdeck.sim.timefmt import rfc3339


@dataclass(slots=True)
class InflightEntry:
    id: str
    started_ns: int
    model: str
    req_path: str
    method: str
    req_headers: dict[str, str]
    remote_ip: str
    resp_headers: dict[str, str] = field(default_factory=dict)
    resp_bytes: int = 0
    task: asyncio.Task[Any] | None = None
    cancel_reason: str = ""
    """Why the request was cut: `api` (/api/inflight/{id}/cancel) or `server` (reload/restart)."""
    last_progress_ns: int = 0


class InflightTracker:
    def __init__(self, shape: InflightShape) -> None:
        self.shape = shape
        self.entries: dict[str, InflightEntry] = {}
        self._next_id = 1  # a per-server counter: restarts at 1 with a new server (§12)

    def add(self, *, now_ns: int, model: str, req_path: str, method: str,
            req_headers: dict[str, str], remote_ip: str) -> InflightEntry:
        entry = InflightEntry(str(self._next_id), now_ns, model, req_path, method, req_headers,
                              remote_ip)
        self._next_id += 1
        self.entries[entry.id] = entry
        return entry

    def remove(self, entry: InflightEntry) -> None:
        self.entries.pop(entry.id, None)

    # ------------------------------------------------------------------ payloads

    def _full(self, entry: InflightEntry, now_ns: int) -> dict[str, Any]:
        return {
            "id": entry.id,
            "timestamp": rfc3339(entry.started_ns),
            "model": entry.model,
            "req_path": entry.req_path,
            "method": entry.method,
            "req_headers": entry.req_headers,
            "remote_ip": entry.remote_ip,
            "resp_headers": entry.resp_headers,
            "resp_bytes": entry.resp_bytes,
            "elapsed_ms": (now_ns - entry.started_ns) // 1_000_000,
            "metadata": {"fifo_priority": "0"},
        }

    @staticmethod
    def _brief(entry: InflightEntry) -> dict[str, Any]:
        return {"id": entry.id, "timestamp": rfc3339(entry.started_ns), "model": entry.model,
                "req_path": entry.req_path, "method": entry.method}

    def on_connect(self, now_ns: int) -> dict[str, Any]:
        if self.shape == "total":
            return {"total": len(self.entries)}
        if self.shape == "list":
            return {"requests": [self._brief(e) for e in self.entries.values()]}
        snapshot: dict[str, Any] = {"operation": "snapshot"}
        if self.entries:  # `requests` is omitempty (§2.2)
            snapshot["requests"] = [self._full(e, now_ns) for e in self.entries.values()]
        return snapshot

    def on_upsert(self, entry: InflightEntry, now_ns: int, *,
                  started: bool) -> dict[str, Any] | None:
        """Payload for a start or progress; older shapes only speak on start."""
        if self.shape == "operations":
            return {"operation": "upsert", "request": self._full(entry, now_ns)}
        if not started:
            return None
        return self.on_connect(now_ns)

    def on_remove(self, entry: InflightEntry, now_ns: int) -> dict[str, Any]:
        if self.shape == "operations":
            return {"operation": "remove", "id": entry.id}
        return self.on_connect(now_ns)
