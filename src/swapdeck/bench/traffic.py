"""Other people's requests on a host we benchmark: before a run (recent activity) and during
it (foreign in-flight requests), from the fleet's normalised events.

A bench request announces itself with a User-Agent carrying the run's marker, so in-flight
entries that carry it are ours. Hosts before v240 do not report request headers (§2.4): an
entry without a User-Agent cannot be attributed and counts as foreign, so a run on such a
host with any overlap is flagged rather than silently trusted.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence

from swapdeck import __version__
from swapdeck.events import ActivityRecord, InflightRequest

RECENT_TRAFFIC_S = 60.0
OWN_RUN_SLACK_S = 2.0
"""llama-swap records a request when its body is done, a moment after our client saw it."""
TIMESTAMP_PRECISION_S = 1.0
"""Activity timestamps come with second precision (llama-swap-api §3.1): truncated down."""


def new_marker() -> str:
    """A token unique to one run, carried in every request's User-Agent."""
    return f"run-{secrets.token_hex(6)}"


def bench_user_agent(marker: str) -> str:
    return f"swapdeck-bench/{__version__} ({marker})"


def foreign_inflight_ids(requests: Iterable[InflightRequest], marker: str) -> frozenset[str]:
    return frozenset(r.id for r in requests if marker not in r.user_agent)


def recent_requests(activity: Iterable[ActivityRecord], now: float,
                    window_s: float = RECENT_TRAFFIC_S,
                    own_runs: Sequence[tuple[float, float | None]] = ()) -> int:
    """Requests the host finished in the last `window_s` seconds, not counting those that
    finished during swapdeck's own runs (`own_runs`: their start and finish times)."""

    def ours(at: float) -> bool:
        return any(start - TIMESTAMP_PRECISION_S <= at
                   <= (end if end is not None else now) + OWN_RUN_SLACK_S
                   for start, end in own_runs)

    return sum(1 for record in activity
               if record.finished_at >= now - window_s and not ours(record.finished_at))
