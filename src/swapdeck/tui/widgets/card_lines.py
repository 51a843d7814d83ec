"""What a host card says, line by line — pure: host state, `now` and a width in, lines out.

Every line is cropped to the width it is given, so a card's height is just its line count
and nothing wraps unexpectedly at 80 columns. States are always spelled out ("ready",
"starting"), colour only underlines them, so the card reads the same under NO_COLOR.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual.content import Content

from swapdeck.events import GpuSample, Liveness, ModelState
from swapdeck.fleet.actions import ActionStatus, QueuedAction
from swapdeck.fleet.state import HostState, ModelView, ttl_remaining
from swapdeck.sources.local import LocalReading
from swapdeck.tui.clock import format_age, format_duration
from swapdeck.tui.widgets.gauges import (
    DASH,
    bar,
    celsius,
    fraction,
    gib,
    level_style,
    pct,
    sparkline,
    temp_style,
    watts,
)

MAX_MODEL_LINES = 6
"""Loaded models always get a line; stopped ones fill up to this, the rest are counted."""
HISTORY_S = 3600.0
SEPARATOR = " · "

STATE_STYLE: dict[ModelState, str] = {
    ModelState.READY: "$state-ready",
    ModelState.STARTING: "$state-busy",
    ModelState.STOPPING: "$state-busy",
    ModelState.STOPPED: "$state-stopped",
    ModelState.SHUTDOWN: "$state-stopped",
}
OUTCOME_WORD = {ActionStatus.DONE: "done", ActionStatus.FAILED: "failed",
                ActionStatus.SKIPPED: "skipped"}


@dataclass(frozen=True, slots=True)
class CardInput:
    host: HostState
    control: bool
    is_local: bool
    local: LocalReading | None
    """This machine's NVML/psutil reading; None until the first one arrives."""
    queue: tuple[QueuedAction, ...]
    outcomes: tuple[QueuedAction, ...]
    """Finished actions on this host, newest first."""
    now: float
    cursor: int | None = None
    """Selected row (0 = the host line, then the model lines); None when not selected."""
    pinned_build: str | None = None
    """The engine build the gate pinned (`b6497`, from engine.lock); None: no pin known."""


def off_pin(build: str | None, pinned: str | None) -> bool:
    """A host runs a build other than the pinned one (unknown builds are not flagged)."""
    return bool(build and pinned and build != pinned)


def engine_chip(build: str | None, pinned: str | None) -> Content:
    """`engine b6497`, and `≠ pin b6400` beside it when the host is off the pin."""
    text = Content(f"engine {build or DASH}")
    if off_pin(build, pinned):
        return Content.assemble(text, " ", (f"≠ pin {pinned}", "bold $warning"))
    return text


# --------------------------------------------------------------------------- rows


def _listed(view: ModelView) -> bool:
    state = view.info.state
    if state is ModelState.PEER:
        return False  # served by another host; it shows up on that host's card
    return state.is_loaded or not view.info.unlisted


def shown_models(host: HostState) -> tuple[list[ModelView], int]:
    """The models a card lists, loaded first, and how many stopped ones did not fit."""
    views = sorted((v for v in host.models.values() if _listed(v)),
                   key=lambda v: (not v.info.state.is_loaded, v.info.id))
    loaded = [v for v in views if v.info.state.is_loaded]
    room = max(0, MAX_MODEL_LINES - len(loaded))
    others = [v for v in views if not v.info.state.is_loaded]
    return loaded + others[:room], max(0, len(others) - room)


def card_rows(host: HostState) -> list[str | None]:
    """Selectable rows: None for the host line, then one model id per model line."""
    return [None, *(v.info.id for v in shown_models(host)[0])]


# --------------------------------------------------------------------------- helpers


def _fit(parts: Sequence[tuple[Content, int]], width: int) -> Content:
    """Join parts with " · ", dropping the least important (highest number) until it fits."""
    kept = list(parts)
    while len(kept) > 1:
        line = Content(SEPARATOR).join(p for p, _ in kept)
        if line.cell_length <= width:
            return line
        drop = max(range(len(kept)), key=lambda i: (kept[i][1], i))
        if kept[drop][1] == 0:
            break
        kept.pop(drop)
    return Content(SEPARATOR).join(p for p, _ in kept).truncate(width, ellipsis=True)


def _crop(line: Content, width: int) -> Content:
    return line.truncate(width, ellipsis=True) if line.cell_length > width else line


def liveness_chip(host: HostState) -> Content:
    if host.liveness is Liveness.CONNECTED:
        return Content.styled("● connected", "$success")
    if host.liveness is Liveness.DOWN:
        return Content.styled("✕ down", "bold $error")
    if host.attempt == 0:  # the first try of this run (a last-seen may come from history)
        return Content.styled("◌ connecting", "$warning")
    return Content.styled(f"◌ reconnecting (attempt {host.attempt})", "$warning")


def _status_lines(card: CardInput, width: int) -> list[Content]:
    host = card.host
    parts: list[tuple[Content, int]] = [
        (liveness_chip(host), 0),
        (Content(f"llama-swap {host.swap_version or DASH}"), 2),
        (Content.styled("control", "$accent") if card.control
         else Content.styled("read-only", "dim"), 1),
        (engine_chip(host.engine_build, card.pinned_build),
         3 if off_pin(host.engine_build, card.pinned_build) else 4),
    ]
    if card.is_local:
        parts.append((Content("this machine"), 5))
    if host.inflight_count:
        oldest = host.oldest_inflight_start()
        age = f", oldest {format_duration(card.now - oldest)}" if oldest is not None else ""
        parts.insert(1, (Content.styled(f"{host.inflight_count} in flight{age}", "bold"), 1))
    lines = [_fit(parts, width)]
    if host.liveness is not Liveness.CONNECTED and (host.last_error or host.last_seen):
        error = Content.styled(host.last_error, "$error") if host.last_error else None
        seen = Content(f"last seen {format_age(host.last_seen, card.now)}")
        lines.append(_crop(Content("  ").join([seen, *([error] if error else [])]), width))
    return lines


def _model_extras(host: HostState, view: ModelView, now: float) -> str:
    model = view.info.id
    extras: list[str] = []
    busy = [r.started_at for r in host.inflight.values() if r.model == model]
    if busy:
        starts = [s for s in busy if s is not None]
        oldest = f", oldest {format_duration(now - min(starts))}" if starts else ""
        extras.append(f"{len(busy)} in flight{oldest}")
    state = view.info.state
    if state is ModelState.READY:
        remaining = ttl_remaining(host, model, now)
        ttl = view.info.ttl_s
        if remaining is not None:
            extras.append(f"ttl {format_duration(remaining)}")
        elif ttl == 0:
            extras.append("no ttl")
        elif ttl and busy:
            extras.append("ttl paused (busy)")
    elif state in (ModelState.STARTING, ModelState.STOPPING) and view.state_since is not None:
        extras.append(f"for {format_duration(now - view.state_since)}")
    return "  ".join(extras)


def _model_lines(card: CardInput, width: int) -> list[Content]:
    host = card.host
    views, hidden = shown_models(host)
    if not views and not hidden:
        return [Content.styled("  no models known yet", "dim")]
    id_width = min(max((len(v.info.id) for v in views), default=0), max(12, width - 36))
    lines = []
    for view in views:
        state = view.info.state
        label = Content.styled(f"{state.value:<8}", STATE_STYLE.get(state, "$state-other"))
        name = view.info.id
        name = name if len(name) <= id_width else name[: id_width - 1] + "…"
        extras = _model_extras(host, view, card.now)
        line = Content.assemble("  ", label, " ", (f"{name:<{id_width}}", "bold"), "  ", extras)
        lines.append(_crop(line.rstrip(), width))
    if hidden:
        lines.append(Content.styled(f"  +{hidden} more stopped (w picks from all)",
                                    "dim"))
    return lines


def _recent(samples: Sequence[GpuSample], now: float) -> list[GpuSample]:
    return [s for s in samples if s.at >= now - HISTORY_S]


@dataclass(frozen=True, slots=True)
class _Gauge:
    label: str
    value: Content
    series: tuple[float, ...]
    low: float | None = None
    high: float | None = None
    fill: float | None = None
    has_bar: bool = False

    def render(self, spark_width: int, bar_width: int) -> Content:
        parts: list[Content | str | tuple[str, str]] = [self.label, " "] if self.label else []
        if self.has_bar and bar_width:
            parts += [(bar(self.fill, bar_width), level_style(self.fill)), " "]
        parts.append(self.value)
        if spark_width:
            line = sparkline(self.series, spark_width, low=self.low, high=self.high)
            parts += [" ", (line, "$sparkline")]
        return Content.assemble(*parts)


def _layout(prefix: str, gauges: Sequence[_Gauge], width: int, indent: int) -> list[Content]:
    """All gauges on one line if each sparkline gets >= 8 cells, else two lines."""
    bar_width = 8 if width >= 60 else 5
    for groups in ([list(gauges)], [list(gauges[:1]), list(gauges[1:])]):
        lines: list[Content] = []
        fits = True
        for number, group in enumerate(groups):
            if not group:
                continue
            lead = prefix if number == 0 else " " * indent
            fixed = len(lead) + sum(g.render(0, bar_width).cell_length + 3 for g in group)
            spark = min(24, (width - fixed) // len(group))
            if spark < 8 and len(groups) == 1 and len(gauges) > 1:
                fits = False
                break
            spark = max(0, spark)
            body = Content("  ").join(g.render(spark, bar_width) for g in group)
            lines.append(_crop(Content.assemble(lead, body), width))
        if fits:
            return lines
    return []


def _short_gpu_name(name: str) -> str:
    """"NVIDIA GeForce RTX 4090" → "RTX 4090": the vendor words add nothing on a card."""
    for noise in ("NVIDIA ", "GeForce ", "AMD ", "Radeon "):
        name = name.replace(noise, "")
    return name.strip()


def _gpu_lines(host: HostState, now: float, width: int) -> list[Content]:
    lines: list[Content] = []
    for index, history in sorted(host.gpu_history.items()):
        if not history:
            continue
        latest = history[-1]
        recent = _recent(history, now)
        total = latest.mem_total_mb
        used_fill = fraction(latest.mem_used_mb, total)
        util_fill = None if latest.util_pct < 0 else latest.util_pct / 100
        gauges = [
            _Gauge("vram", Content(gib(latest.mem_used_mb, total)),
                   tuple(s.mem_used_mb for s in recent), 0.0, total if total > 0 else None,
                   fill=used_fill, has_bar=True),
            _Gauge("util", Content.styled(pct(latest.util_pct), level_style(util_fill)),
                   tuple(s.util_pct for s in recent), 0.0, 100.0),
            _Gauge("", Content.styled(celsius(latest.temp_c), temp_style(latest.temp_c)),
                   tuple(s.temp_c for s in recent)),
            _Gauge("", Content(watts(latest.power_w)), tuple(s.power_w for s in recent), 0.0),
        ]
        name = _short_gpu_name(latest.name)[:16] if width >= 90 else ""
        prefix = f"  gpu{index} {name + ' ' if name else ''}"
        lines += _layout(prefix, gauges, width, indent=len(f"  gpu{index} "))
    return lines


def _sys_line(host: HostState, now: float, width: int) -> list[Content]:
    latest = host.latest_sys
    if latest is None:
        return []
    recent = [s for s in host.sys_history if s.at >= now - HISTORY_S]
    cpu = latest.cpu_util if latest.cpu_util_per_core else None
    ram_fill = fraction(latest.mem_used_mb, latest.mem_total_mb)
    gauges = [
        _Gauge("cpu", Content.styled(pct(cpu), level_style(None if cpu is None else cpu / 100)),
               tuple(s.cpu_util for s in recent if s.cpu_util_per_core), 0.0, 100.0),
        _Gauge("ram", Content(gib(latest.mem_used_mb, latest.mem_total_mb)),
               tuple(s.mem_used_mb for s in recent), 0.0, latest.mem_total_mb or None,
               fill=ram_fill, has_bar=True),
    ]
    return _layout("  ", gauges, width, indent=2)


def _local_lines(card: CardInput, width: int) -> list[Content]:
    if not card.is_local:
        return []
    lead = Content.styled("  local ", "$accent")
    reading = card.local
    if reading is None:
        return [Content.assemble(lead, ("reading NVML and psutil…", "dim"))]
    lines: list[Content] = []
    for gpu in reading.gpus:
        lines.append(_crop(Content.assemble(
            lead, f"gpu{gpu.index} {gpu.name[:18]}  ", gib(gpu.mem_used_mb, gpu.mem_total_mb),
            "  util ", pct(gpu.util_pct).strip(), "  ", celsius(gpu.temp_c), "  ",
            watts(gpu.power_w)), width))
    parts: list[Content] = []
    if reading.gpu_error:
        parts.append(Content.styled(reading.gpu_error, "$warning"))
    if reading.sys is not None:
        sys = reading.sys
        cpu = pct(sys.cpu_util).strip() if sys.cpu_util_per_core else DASH
        parts.append(Content(f"cpu {cpu}"))
        parts.append(Content(f"ram {gib(sys.mem_used_mb, sys.mem_total_mb)}"))
    elif reading.sys_error:
        parts.append(Content.styled(reading.sys_error, "$warning"))
    if parts:
        lines.append(_crop(Content.assemble(lead, Content(SEPARATOR).join(parts)), width))
    return lines


def _action_lines(card: CardInput, width: int) -> list[Content]:
    lines: list[Content] = []
    if card.queue:
        words = [("▶ " if a.status is ActionStatus.RUNNING else "") + a.describe()
                 for a in card.queue]
        lines.append(_crop(Content.assemble(("  queue ", "$accent"), ", ".join(words)), width))
    if card.outcomes:
        last = card.outcomes[0]
        word = OUTCOME_WORD.get(last.status, last.status.value)
        style = "$success" if last.status is ActionStatus.DONE else "$error"
        when = format_age(last.finished_at, card.now)
        detail = "" if last.status is ActionStatus.DONE else f" — {last.message}"
        lines.append(_crop(Content.assemble(
            ("  last  ", "$accent"), f"{last.describe()} ", (word, style), f" {when}{detail}"),
            width))
    return lines


def card_lines(card: CardInput, width: int) -> list[Content]:
    """The card's body for a content `width` (borders excluded)."""
    width = max(20, width)
    host_lines = _status_lines(card, width)
    model_lines = _model_lines(card, width)
    perf = _gpu_lines(card.host, card.now, width) + _sys_line(card.host, card.now, width)
    if card.host.liveness is not Liveness.CONNECTED:
        # Last known models and numbers of a host we cannot hear: kept, but visibly stale.
        model_lines = [line.stylize("dim") for line in model_lines]
        perf = [line.stylize("dim") for line in perf]
    elif not perf:
        perf = [Content.styled("  gpu —  cpu —  ram —  (no performance data from this host)",
                               "dim")]
    lines = [*host_lines, *model_lines, *perf, *_local_lines(card, width),
             *_action_lines(card, width)]
    if card.cursor is not None:
        # Row 0 is the status line; rows 1.. are the model lines, which follow the status
        # block (one or two lines) in the same order as card_rows().
        target = 0 if card.cursor == 0 else len(host_lines) + card.cursor - 1
        if 0 <= target < len(lines):
            line = lines[target]
            if target > 0 and line.plain.startswith(" "):
                line = Content.assemble(("›", "bold"), line[1:])  # visible without colour
            marked = line.pad_right(max(0, width - line.cell_length))
            lines[target] = marked.stylize("reverse")
    return lines


def row_at_line(card: CardInput, width: int, line: int) -> int | None:
    """Which selectable row a click on body `line` means (None: not a selectable line)."""
    host_lines = len(_status_lines(card, max(20, width)))
    if line < host_lines:
        return 0
    row = line - host_lines + 1
    return row if row < len(card_rows(card.host)) else None
