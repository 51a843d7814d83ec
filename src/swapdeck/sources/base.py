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


@dataclass(frozen=True, slots=True)
class FollowProfile:
    """How much of a host a consumer wants, and how fresh.

    The cockpit shows log tails and wants a finished request on screen within a quarter
    second. The headless collector keeps no log lines (only the engine build read from
    them) and is scraped every 15 s or so, so it fetches activity less often and reads
    each stream in batches: on a busy fleet those choices are most of its CPU.
    """

    log_lines: bool = True
    """Emit `LogLines`; without them the upstream log is still read for the engine build."""
    activity_spacing_s: float = 0.25
    """Least time between two live activity fetches over REST (v236+; llama-swap's own UI
    waits 1 s, §9). Rows are never lost by waiting: the next fetch pages back to the last
    row held."""
    stream_gather_s: float = 0.0
    """Leave the event stream's socket unread this long after each read, so a busy host's
    messages arrive together rather than one wake-up each (sse.py), and in-flight updates
    superseded within the batch are never parsed (inflightfold.py); events are that late.
    Most of the collector's saving: on 50 hosts at ~18 req/s each its CPU per request fell
    from ~400 µs at 0.2 s to ~210 µs at 1 s (benchmarks/collector.py)."""


LIVE = FollowProfile()
HEADLESS = FollowProfile(log_lines=False, activity_spacing_s=2.0, stream_gather_s=1.0)
"""The collector: a second late in-flight gauge or model state is nothing to a Prometheus
scraping every 15 s, or to a TUI attached to its history."""


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
