"""The fleet at a glance: one line of totals above the host cards.

`fleet_totals` is pure (state and `now` in); `totals_line` words it; `FleetTotalsBar` shows it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from textual.content import Content
from textual.widgets import Static

from swapdeck.events import Liveness, ModelState
from swapdeck.fleet.state import HostState
from swapdeck.tui.widgets.gauges import DASH, known

RATE_WINDOW_S = 300.0


@dataclass(frozen=True, slots=True)
class FleetTotals:
    hosts_total: int
    hosts_connected: int
    models_ready: int
    models_loading: int
    inflight: int
    requests_per_min: float | None
    """Finished requests per minute over the last 5 minutes; None before any host answered."""
    vram_used_mb: float | None
    vram_total_mb: float | None


def fleet_totals(hosts: Iterable[HostState], now: float,
                 window_s: float = RATE_WINDOW_S) -> FleetTotals:
    total = connected = ready = loading = inflight = finished = 0
    heard_from_any = False
    used = capacity = 0.0
    vram_known = False
    for host in hosts:
        total += 1
        if host.liveness is Liveness.CONNECTED:
            connected += 1
        if host.last_seen is not None or host.liveness is Liveness.CONNECTED:
            heard_from_any = True
        for view in host.models.values():
            if view.info.state is ModelState.READY:
                ready += 1
            elif view.info.state in (ModelState.STARTING, ModelState.STOPPING):
                loading += 1
        inflight += host.inflight_count
        for record in reversed(host.activity):  # newest first: stop at the window's edge
            if record.finished_at < now - window_s:
                break
            if record.finished_at <= now:
                finished += 1
        for gpu in host.latest_gpus():
            if known(gpu.mem_used_mb) and known(gpu.mem_total_mb):
                used += gpu.mem_used_mb
                capacity += gpu.mem_total_mb
                vram_known = True
    return FleetTotals(
        hosts_total=total, hosts_connected=connected, models_ready=ready,
        models_loading=loading, inflight=inflight,
        requests_per_min=finished / (window_s / 60) if heard_from_any else None,
        vram_used_mb=used if vram_known else None,
        vram_total_mb=capacity if vram_known else None,
    )


def totals_line(totals: FleetTotals, view_name: str = "", width: int = 200) -> Content:
    """The totals in words; below 120 columns in a shorter form that fits 80."""
    hosts_style = "$success" if totals.hosts_connected == totals.hosts_total else "$warning"
    rate = DASH if totals.requests_per_min is None else f"{totals.requests_per_min:.1f}"
    if totals.vram_used_mb is None or totals.vram_total_mb is None:
        vram = DASH
    else:
        vram = f"{totals.vram_used_mb / 1024:.1f}/{totals.vram_total_mb / 1024:.1f} GiB"
    hosts = (f"{totals.hosts_connected}/{totals.hosts_total}", f"bold {hosts_style}")
    ready = (str(totals.models_ready), "bold")
    inflight = (str(totals.inflight), "bold")
    if width < 120:
        loading = f" (+{totals.models_loading})" if totals.models_loading else ""
        parts = [Content.assemble(hosts, " hosts"), Content.assemble(ready, f" ready{loading}"),
                 Content.assemble(inflight, " in flight"),
                 Content.assemble((rate, "bold"), " req/min"),
                 Content.assemble(("VRAM ", "dim"), (vram, "bold"))]
        return Content(" · ").join(parts)
    loading = f" (+{totals.models_loading} loading)" if totals.models_loading else ""
    parts = [
        Content.assemble(("hosts ", "dim"), hosts, " connected"),
        Content.assemble(("models ", "dim"), ready, f" ready{loading}"),
        Content.assemble(("in flight ", "dim"), inflight),
        Content.assemble(("req/min (5m) ", "dim"), (rate, "bold")),
        Content.assemble(("VRAM ", "dim"), (vram, "bold")),
    ]
    if view_name:
        parts.append(Content.styled(f"view: {view_name}", "dim"))
    return Content("  ").join(parts)


class FleetTotalsBar(Static):
    """One line, docked at the top of the Fleet screen."""

    def show(self, totals: FleetTotals, view_name: str, width: int) -> None:
        self.update(totals_line(totals, view_name, width))
