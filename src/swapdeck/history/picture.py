"""A stored hosts row back into the events that describe it (pure).

Replayed into the fleet reducer before any host answers, these bring back what swapdeck
last knew: the versions, the model list, and the liveness with its last error and
last-seen time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from swapdeck.events import EngineVersion, HostEvent, Liveness, LivenessChanged, ModelsListed
from swapdeck.history.batch import LLAMA_SWAP
from swapdeck.history.rows import models_from_json

log = logging.getLogger(__name__)

HOST_PICTURE_COLUMNS = (
    "name", "liveness", "liveness_at", "liveness_attempt", "last_seen", "last_error",
    "swap_version", "swap_commit", "swap_build_date", "swap_version_at",
    "engine_component", "engine_version", "engine_commit", "engine_build_date",
    "engine_version_at", "models_json", "models_at",
)


def host_picture_events(row: Mapping[str, Any]) -> list[HostEvent]:
    """EngineVersion(s), ModelsListed, LivenessChanged — whichever the row knows."""
    host = str(row["name"])
    events: list[HostEvent] = []
    if row["swap_version"] is not None:
        events.append(EngineVersion(
            host=host, at=float(row["swap_version_at"]), component=LLAMA_SWAP,
            version=str(row["swap_version"]), commit=str(row["swap_commit"] or ""),
            build_date=str(row["swap_build_date"] or "")))
    if row["engine_version"] is not None:
        events.append(EngineVersion(
            host=host, at=float(row["engine_version_at"]),
            component=str(row["engine_component"]), version=str(row["engine_version"]),
            commit=str(row["engine_commit"] or ""),
            build_date=str(row["engine_build_date"] or "")))
    if row["models_json"] is not None:
        try:
            models = models_from_json(str(row["models_json"]))
        except ValueError as exc:
            log.warning("history: host %s: skipping its stored model list: %s", host, exc)
        else:
            events.append(ModelsListed(host=host, at=float(row["models_at"]), models=models))
    liveness = _liveness(row["liveness"])
    if liveness is not None:
        last_seen = row["last_seen"]
        events.append(LivenessChanged(
            host=host, at=float(row["liveness_at"]), liveness=liveness,
            attempt=int(row["liveness_attempt"] or 0), last_error=str(row["last_error"] or ""),
            last_seen=None if last_seen is None else float(last_seen)))
    return events


def _liveness(raw: object) -> Liveness | None:
    if raw is None:
        return None
    try:
        return Liveness(str(raw))
    except ValueError:
        return None


def as_memory(events: Iterable[HostEvent]) -> list[HostEvent]:
    """The picture of a past run as a memory, not a fact: a host stored as connected is
    "connecting" (attempt 0, last-seen kept) until it answers again. Without this a host
    that now hangs would read as connected until the first read timed out, and the action
    queue would accept work for it. A follower of a live collector's database keeps the
    stored liveness: there it is the collector's current view."""
    return [replace(e, liveness=Liveness.RECONNECTING, attempt=0, last_error="")
            if isinstance(e, LivenessChanged) and e.liveness is Liveness.CONNECTED else e
            for e in events]
