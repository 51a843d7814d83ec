"""What every connector offers the hub, whatever engine it speaks to."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from swapdeck.events import HostEvent

Emit = Callable[[HostEvent], None]
"""Connectors hand events to the hub through this; it never blocks and never raises."""


@dataclass(frozen=True, slots=True)
class ResumePoint:
    """Where a host's history left off, read from SQLite before the connector starts.

    It lets a restarted swapdeck reconcile without duplicates, notice a gap, and resume
    `/api/performance?after=` without refetching the hour it already has.
    """

    activity_epoch: int = 0
    last_activity_id: int | None = None
    last_activity_at: float | None = None
    perf_watermark: float | None = None
    """Timestamp (unix seconds) of the newest stored perf sample."""


class ActionError(Exception):
    """A host refused or failed an action; the message is meant for a person."""


class Connector(Protocol):
    host: str

    async def run(self, emit: Emit) -> None:
        """Follow the host until cancelled: connect, reconcile, stream, reconnect."""
        ...

    async def warm(self, model: str) -> None: ...

    async def unload(self, model: str) -> None: ...

    async def unload_all(self) -> None: ...

    async def health(self) -> bool: ...
