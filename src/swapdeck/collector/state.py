"""The fleet state a headless collector keeps: the reducer's, with small windows.

The cockpit keeps 2,000 finished requests, 2,000 log lines per source and an hour of perf
samples per host, because it shows them. The collector shows none of it — its gauges read
each host's liveness, models, in-flight requests, last request per model (kept on the
model, not in the window) and newest GPU sample — and with 50 busy hosts those windows
cost tens of megabytes. So its hosts are built with short windows; the reducer is the
same, only the deques are shorter. (GPU history windows are created by the reducer per
GPU index and keep their default length.)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from swapdeck.events import LogSource
from swapdeck.fleet.state import FleetState, HostState, LogTail, log_key

ACTIVITY_KEPT = 16
"""Recent requests kept per host (a debugging aid only: nothing reads them to export)."""
SYS_SAMPLES_KEPT = 2


def collector_state(host_names: Iterable[str]) -> FleetState:
    state = FleetState()
    for name in host_names:
        # Log lines are counted (`total`) but not kept: the collector exports no logs.
        logs = {log_key(source): LogTail(lines=deque(maxlen=0))
                for source in (LogSource.PROXY, LogSource.UPSTREAM)}
        state.hosts[name] = HostState(name, activity=deque(maxlen=ACTIVITY_KEPT),
                                      sys_history=deque(maxlen=SYS_SAMPLES_KEPT), logs=logs)
    return state
