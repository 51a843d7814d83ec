"""The in-flight panel above the activity history: every host's running requests.

This is what ollama-mtop cannot show (it tracks in-flight requests only for its TTL
clock): elapsed time, model, path and host of each request still running, oldest first,
across the fleet. Hosts from v192..v234 report only a count (§2.4); they get a line that
says so instead of rows that do not exist.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from swapdeck.events import InflightRequest
from swapdeck.fleet.state import FleetState
from swapdeck.tui.widgets.activity_columns import DASH, fit, fmt_duration_ms
from swapdeck.tui.widgets.activity_window import ActivityFilter


@dataclass(frozen=True, slots=True)
class InflightLine:
    host: str
    elapsed_s: float | None
    model: str
    path: str
    responding: bool


@dataclass(frozen=True, slots=True)
class InflightPicture:
    lines: tuple[InflightLine, ...]
    """The longest-running matching requests, at most the `limit` asked for."""
    count_only: tuple[tuple[str, int], ...]
    """(host, count) for hosts that only say how many requests run (§2.4)."""
    listed: int = -1
    """How many matching requests the hosts listed; -1: as many as `lines`."""
    listing_hosts: tuple[str, ...] = ()
    """Hosts with at least one matching request listed (`lines` may show fewer)."""

    @property
    def matching(self) -> int:
        return len(self.lines) if self.listed < 0 else self.listed

    @property
    def total(self) -> int:
        return self.matching + sum(count for _, count in self.count_only)


def _elapsed(request: InflightRequest, now: float) -> float | None:
    if request.started_at is not None:
        return max(0.0, now - request.started_at)
    if request.elapsed_ms is not None:  # a snapshot value: stale, but better than nothing
        return request.elapsed_ms / 1000
    return None


def _age_at(now: float) -> Callable[[InflightRequest], float]:
    """`_elapsed` as a sort key (-1 when unknown), in one call per request: it runs over
    every request in flight several times a second."""
    def age(request: InflightRequest) -> float:
        if request.started_at is not None:
            return max(0.0, now - request.started_at)
        return request.elapsed_ms / 1000 if request.elapsed_ms is not None else -1.0
    return age


def inflight_picture(state: FleetState, hosts: Iterable[str], flt: ActivityFilter,
                     now: float, limit: int = 1_000) -> InflightPicture:
    """In-flight requests matching the host/model filter: how many, and the `limit`
    longest-running of them, longest first. A busy fleet has thousands in flight and the
    panel shows five, so only the few it can show become lines (a heap, not a sort)."""
    picked: list[tuple[str, InflightRequest]] = []
    count_only: list[tuple[str, int]] = []
    listing: list[str] = []
    age = _age_at(now)
    listed = 0
    for name in hosts:
        host = state.hosts.get(name)
        if host is None or (flt.host is not None and name != flt.host):
            continue
        if host.inflight_total is not None:
            if host.inflight_total > 0 and flt.model is None:
                count_only.append((name, host.inflight_total))
            continue
        requests: Iterable[InflightRequest] = host.inflight.values()
        if flt.model is not None:
            requests = [r for r in requests if r.model == flt.model]
        matching = len(requests) if isinstance(requests, list) else len(host.inflight)
        if matching:
            listed += matching
            listing.append(name)
        picked.extend((name, request) for request in heapq.nlargest(limit, requests, key=age))
    lines = [InflightLine(name, _elapsed(request, now), request.model,
                          f"{request.method} {request.req_path}".strip() or DASH,
                          request.responding) for name, request in picked]
    lines.sort(key=lambda line: (-(line.elapsed_s if line.elapsed_s is not None else -1.0),
                                 line.host, line.model))
    return InflightPicture(tuple(lines[:limit]), tuple(count_only), listed, tuple(listing))


def render_inflight(picture: InflightPicture, width: int, max_rows: int) -> Text:
    """The panel's text: a title line (with how many are not listed, and the count-only
    hosts), then up to `max_rows` request lines, the longest-running first."""
    text = Text(no_wrap=True, overflow="ellipsis")  # one line per request, whatever the width
    hosts = len({line.host for line in picture.lines} | set(picture.listing_hosts)
                | {h for h, _ in picture.count_only})
    if picture.total == 0:
        text.append("In flight: nothing running", style="bold")
        return text
    text.append(f"In flight: {picture.total} on {hosts} host{'s' if hosts != 1 else ''}",
                style="bold")
    shown = picture.lines[:max_rows]
    hidden = picture.matching - len(shown)
    if hidden > 0:
        text.append(f" · {hidden} more not listed", style="dim")
    if picture.count_only:
        counts = ", ".join(f"{host} {count}" for host, count in picture.count_only)
        text.append(f" · {counts} (count only)", style="dim")
    if not shown:
        return text
    model_width = min(32, max(len(line.model) for line in shown))
    host_width = min(16, max(len(line.host) for line in shown))
    for line in shown:
        elapsed = fmt_duration_ms(line.elapsed_s * 1000 if line.elapsed_s is not None else None)
        text.append("\n")
        text.append(fit(elapsed, 7, right=True))
        text.append(" ")
        text.append(fit("answering" if line.responding else "waiting", 9),
                    style="" if line.responding else "dim")
        text.append(" ")
        text.append(fit(line.model, model_width))
        text.append(" ")
        text.append(fit(line.host, host_width))
        rest = width - (7 + 9 + model_width + host_width + 4)
        if rest > 4:
            text.append(" ")
            path = line.path  # last column: cut when too long, never padded
            text.append(fit(path, rest - 1) if len(path) > rest - 1 else path)
    return text


class InflightPanel(Static):
    DEFAULT_CSS = """
    InflightPanel {
        height: 6;
        padding: 0 1;
        background: $boost;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self._max_rows = 5
        self._last: Text | None = None
        self._picture: InflightPicture | None = None

    @property
    def max_rows(self) -> int:
        return self._max_rows

    @max_rows.setter
    def max_rows(self, rows: int) -> None:
        # A fixed height: requests starting and ending must not make the table below jump
        # (nor cost a full-screen layout pass each time).
        self._max_rows = rows
        self.styles.height = rows + 1

    def on_resize(self) -> None:
        if self._picture is not None:
            self.show(self._picture)

    def show(self, picture: InflightPicture) -> None:
        self._picture = picture
        width = self.content_region.width or 78
        text = render_inflight(picture, width, self.max_rows)
        if self._last is None or text.plain != self._last.plain:
            self._last = text
            self.update(text, layout=False)  # fixed height: repaint this panel only
