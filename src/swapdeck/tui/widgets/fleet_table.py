"""The dense view: one line per host, so 10+ hosts fit one 160×48 screen (nvitop's compact mode).

`table_cells` is pure (what each column says for a host); `FleetTable` keeps a keyed
DataTable and touches only the cells that changed, inside one `batch_update`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from rich.text import Text
from textual.content import Content
from textual.style import Style
from textual.widgets import DataTable

from swapdeck.config import Config
from swapdeck.events import Liveness, ModelState
from swapdeck.fleet.actions import ActionStatus
from swapdeck.fleet.state import HostState
from swapdeck.gate.settings import pinned_build_name, pinned_lock
from swapdeck.tui.clock import format_duration
from swapdeck.tui.widgets.card_lines import HISTORY_S, STATE_STYLE, CardInput, off_pin
from swapdeck.tui.widgets.gauges import (
    DASH,
    bar,
    celsius,
    fraction,
    gib,
    known,
    level_style,
    pct,
    sparkline,
    temp_style,
    watts,
)

COLUMNS: tuple[tuple[str, str, int], ...] = (
    # (key, label, width) in order of importance: narrow terminals drop from the end.
    ("host", "Host", 12),
    ("status", "Status", 12),
    ("models", "Models", 0),  # flexible: takes what the others leave
    ("inflight", "In flight", 9),
    ("engine", "Engine", 13),  # only when an engine pin is known: it flags hosts off the pin
    ("vram", "VRAM", 20),
    ("util", "Util", 4),
    ("actions", "Actions", 20),
    ("temp", "Temp", 5),
    ("power", "Power", 6),
    ("history", "GPU util 1h", 12),
    ("version", "llama-swap", 10),
    ("cpu", "CPU", 4),
    ("ram", "RAM", 14),
)
MODELS_MIN, MODELS_MAX = 16, 40
CELL_PADDING = 2
"""DataTable pads every cell by one on each side."""


def choose_columns(width: int, *, engine: bool = False) -> list[tuple[str, str, int]]:
    """The columns that fit `width` cells, in display order, Models sized to what is left;
    `engine` adds the Engine column (a pin is known, so off-pin hosts can be flagged)."""
    chosen: list[tuple[str, str, int]] = []
    models_target = max(MODELS_MIN, min(MODELS_MAX, width // 5))
    used = models_target + CELL_PADDING
    for key, label, cells in COLUMNS:
        if key == "models" or (key == "engine" and not engine):
            continue
        if used + cells + CELL_PADDING > width and chosen:
            break
        chosen.append((key, label, cells))
        used += cells + CELL_PADDING
    models = min(MODELS_MAX, models_target + max(0, width - used))
    order = [k for k, _, _ in COLUMNS]
    chosen.append(("models", "Models", models))
    return sorted(chosen, key=lambda column: order.index(column[0]))


SPARK_CELLS = 12
STALE_WHEN_DOWN = ("vram", "util", "temp", "power", "history", "cpu", "ram")


def _status(host: HostState, now: float) -> Content:
    if host.liveness is Liveness.CONNECTED:
        return Content.styled("● connected", "$success")
    if host.liveness is Liveness.DOWN:
        seen = f" {format_duration(now - host.last_seen)}" if host.last_seen else ""
        return Content.styled(f"✕ down{seen}", "bold $error")
    if host.attempt == 0:  # the first try of this run (a last-seen may come from history)
        return Content.styled("◌ connecting", "$warning")
    return Content.styled(f"◌ retry #{host.attempt}", "$warning")


def _models(host: HostState) -> Content:
    views = [v for v in host.models.values() if v.info.state is not ModelState.PEER]
    ready = sum(1 for v in views if v.info.state is ModelState.READY)
    if not views:
        return Content.styled(DASH, "dim")
    parts: list[Content] = []
    for view in sorted(views, key=lambda v: (v.info.state is not ModelState.READY, v.info.id)):
        state = view.info.state
        if not state.is_loaded:
            continue
        suffix = "" if state is ModelState.READY else f" ({state.value})"
        parts.append(Content.styled(view.info.id + suffix, STATE_STYLE[state]))
    return Content.assemble((f"{ready}/{len(views)} ", "bold"), Content(", ").join(parts))


def _engine(build: str | None, pinned: str | None) -> Content:
    if off_pin(build, pinned):
        return Content.assemble((build or DASH, "bold $warning"), " ≠ pin")
    return Content(build or DASH)


def _gpu_util_history(host: HostState, now: float) -> list[float]:
    """Mean util across the host's GPUs, samples aligned from the newest."""
    series = [[s.util_pct for s in h if s.at >= now - HISTORY_S and known(s.util_pct)]
              for h in host.gpu_history.values()]
    series = [s for s in series if s]
    if not series:
        return []
    length = min(len(s) for s in series)
    return [sum(s[len(s) - length + i] for s in series) / len(series) for i in range(length)]


def _actions(card: CardInput) -> Content:
    if card.queue:
        first = card.queue[0]
        more = f" +{len(card.queue) - 1}" if len(card.queue) > 1 else ""
        mark = "▶ " if first.status is ActionStatus.RUNNING else "… "
        return Content.styled(f"{mark}{first.describe()}{more}", "$accent")
    if card.outcomes:
        last = card.outcomes[0]
        ok = last.status is ActionStatus.DONE
        return Content.styled(f"{'✓' if ok else '✕'} {last.describe()} {last.status.value}",
                              "$success" if ok else "$error")
    return Content("control") if card.control else Content.styled("read-only", "dim")


def table_cells(card: CardInput) -> dict[str, Content]:
    host, now = card.host, card.now
    gpus = host.latest_gpus()
    used = [g.mem_used_mb for g in gpus if known(g.mem_used_mb)]
    total = [g.mem_total_mb for g in gpus if known(g.mem_total_mb)]
    used_mb = sum(used) if used else None
    total_mb = sum(total) if total else None
    utils = [g.util_pct for g in gpus if known(g.util_pct)]
    util = sum(utils) / len(utils) if utils else None
    temps = [g.temp_c for g in gpus if known(g.temp_c)]
    temp = max(temps) if temps else None
    powers = [g.power_w for g in gpus if known(g.power_w)]
    vram_fill = fraction(used_mb, total_mb)
    oldest = host.oldest_inflight_start()
    inflight = str(host.inflight_count) if host.liveness is Liveness.CONNECTED else DASH
    if host.inflight_count and oldest is not None:
        inflight += f" ({format_duration(now - oldest)})"
    latest_sys = host.latest_sys
    cpu = latest_sys.cpu_util if latest_sys and latest_sys.cpu_util_per_core else None
    cells = {
        "host": Content.styled(host.name, "bold"),
        "status": _status(host, now),
        "version": Content(host.swap_version or DASH),
        "engine": _engine(host.engine_build, card.pinned_build),
        "models": _models(host),
        "inflight": Content(inflight),
        "vram": Content.assemble((bar(vram_fill, 6), level_style(vram_fill)), " ",
                                 gib(used_mb, total_mb)),
        "util": Content.styled(pct(util), level_style(None if util is None else util / 100)),
        "temp": Content.styled(celsius(temp), temp_style(temp)),
        "power": Content(watts(sum(powers)) if powers else DASH),
        "history": Content.styled(
            sparkline(_gpu_util_history(host, now), SPARK_CELLS, low=0.0, high=100.0),
            "$sparkline"),
        "cpu": Content(pct(cpu)),
        "ram": Content(gib(latest_sys.mem_used_mb, latest_sys.mem_total_mb)
                       if latest_sys else DASH),
        "actions": _actions(card),
    }
    if host.liveness is not Liveness.CONNECTED:
        # Last known numbers of a host we cannot hear: keep them, but visibly stale.
        for key in STALE_WHEN_DOWN:
            cells[key] = cells[key].stylize("dim")
    return cells


def to_rich(content: Content, parse_style: Callable[[str | Style], Style]) -> Text:
    """DataTable cells are Rich text: resolve the theme variables ($success…) first."""
    return Text.assemble(*((text, style.rich_style) for text, style in
                           content.render(end="", parse_style=parse_style)), no_wrap=True)


class FleetTable(DataTable[Text]):
    """Keyed by host name; `show` diffs and updates cells in one batch."""

    def __init__(self) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, id="fleet-table")
        self.fixed_columns = 1
        self._order: list[str] = []
        self._cells: dict[tuple[str, str], Content] = {}
        self._columns: list[tuple[str, str, int]] = []
        self._pin_read = False
        self._pinned: str | None = None

    def pinned_build(self) -> str | None:
        """The engine pin from the config's lock (`[gate] lock` or engine.lock beside the
        config), read once: a few hundred bytes, and a pin changes only by a commit."""
        if not self._pin_read:
            self._pin_read = True
            config = getattr(getattr(self.screen, "runtime", None), "config", None)
            if isinstance(config, Config):
                self._pinned = pinned_build_name(pinned_lock(config))
        return self._pinned

    def show(self, cards: Sequence[CardInput], *, width: int) -> None:
        parse = self.app.stylesheet.parse_style
        pinned = self.pinned_build()
        if pinned is not None:
            cards = [c if c.pinned_build else replace(c, pinned_build=pinned) for c in cards]
        order = [c.host.name for c in cards]
        # leave room for a vertical scrollbar
        columns = choose_columns(width - 1, engine=pinned is not None)
        cursor_host = self.selected_host()
        with self.app.batch_update():
            if columns != self._columns:
                self.clear(columns=True)
                for key, label, cells in columns:
                    self.add_column(label, key=key, width=cells)
                self._columns = columns
                self._order = []
            keys = [key for key, _, _ in columns]
            if order != self._order:
                self.clear()
                self._cells.clear()
                for card in cards:
                    row = table_cells(card)
                    self._cells.update({(card.host.name, k): v for k, v in row.items()})
                    self.add_row(*(to_rich(row[k], parse) for k in keys),
                                 key=card.host.name)
                self._order = order
                if cursor_host in order:
                    self.move_cursor(row=order.index(cursor_host))
                return
            for card in cards:
                row = table_cells(card)
                for key in keys:
                    value = row[key]
                    old = self._cells.get((card.host.name, key))
                    if old is not None and old.is_same(value):
                        continue
                    self._cells[(card.host.name, key)] = value
                    self.update_cell(card.host.name, key, to_rich(value, parse))

    def selected_host(self) -> str | None:
        if not self._order or not 0 <= self.cursor_row < len(self._order):
            return None
        return self._order[self.cursor_row]

    def select_host(self, name: str) -> None:
        if name in self._order:
            self.move_cursor(row=self._order.index(name))
