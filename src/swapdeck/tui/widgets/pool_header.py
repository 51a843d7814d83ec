"""The Pool screen's header: this box's hardware (and where each figure came from), the disk
budget as a bar, and where installs go. `header_lines` is pure; `PoolHeader` shows it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual.content import Content
from textual.widgets import Static

from swapdeck.pool.errors import human_bytes
from swapdeck.pool.estimate import GIB, memory_budget
from swapdeck.pool.hardware import HardwareProfile
from swapdeck.pool.session import PoolSession
from swapdeck.pool.settings import PoolSettings
from swapdeck.tui.clock import format_age
from swapdeck.tui.widgets.gauges import bar, level_style

LABEL_STYLE = "bold"
SOURCE_STYLE = "dim"


@dataclass(frozen=True, slots=True)
class HeaderFacts:
    hardware: HardwareProfile | None
    settings: PoolSettings
    used_bytes: int
    budget_bytes: int
    budget_from: str
    """"config" or "pool.json" (`swapdeck pool budget` wrote it)."""

    @classmethod
    def of(cls, session: PoolSession) -> HeaderFacts:
        state = session.state
        budget_from = "pool.json" if state.disk_budget_bytes is not None else "config"
        return cls(session.hardware, session.settings, state.used_bytes,
                   session.policy.budget_bytes, budget_from)


def short_path(path: Path | str) -> str:
    """`~/…` for paths under the home directory: shorter, and the same for every user."""
    text = str(Path(path).expanduser())
    home = str(Path.home())
    if home not in ("", "/") and (text == home or text.startswith(home + "/")):
        return "~" + text[len(home):]
    return text


def _source(text: str) -> Content:
    return Content.styled(f" ({text})", SOURCE_STYLE)


def hardware_lines(hardware: HardwareProfile | None, settings: PoolSettings) -> list[Content]:
    if hardware is None:
        return [Content.styled("probing this box's hardware…", "dim")]
    override = settings.hardware
    vram_from = "config" if override is not None and override.gpus is not None else "probed"
    lines = []
    for index, gpu in enumerate(hardware.gpus):
        bandwidth = f"{gpu.bandwidth_gbs:.0f} GB/s" if gpu.bandwidth_gbs else "bandwidth unknown"
        lines.append(Content.assemble(
            (f"GPU{index} ", LABEL_STYLE), f"{gpu.name} · {gpu.vram_bytes / GIB:.1f} GiB",
            _source(vram_from), f" · {bandwidth}", _source(gpu.bandwidth_source or "no figure")))
    if not hardware.gpus:
        lines.append(Content.assemble(("GPU  ", LABEL_STYLE), "none found: CPU only",
                                      _source(hardware.backend.value)))
    ram_from = "config" if override is not None and override.ram_gb is not None else "probed"
    cpu_from = "config" if override is not None and override.cpu_name is not None else "probed"
    lines.append(Content.assemble(
        ("RAM  ", LABEL_STYLE), f"{hardware.ram_bytes / GIB:.1f} GiB", _source(ram_from),
        ("  CPU ", LABEL_STYLE), f"{hardware.cpu_name}, {hardware.cpu_cores} cores",
        _source(cpu_from), f" · {hardware.cpu_bandwidth_gbs:.0f} GB/s",
        _source(hardware.cpu_bandwidth_source)))
    return lines


def disk_line(facts: HeaderFacts, width: int) -> Content:
    budget, used = facts.budget_bytes, facts.used_bytes
    fill = min(1.0, used / budget) if budget > 0 else 1.0
    free = max(0, budget - used)
    cells = max(10, min(40, width // 6))
    parts: list[Content | tuple[str, str] | str] = [
        ("Disk ", LABEL_STYLE), (bar(fill, cells), level_style(fill)),
        f" {human_bytes(used)} used · {human_bytes(free)} free of {human_bytes(budget)} budget",
        _source(facts.budget_from)]
    if used > budget:
        parts.append(Content.styled(f"  over budget by {human_bytes(used - budget)}: the next "
                                    "install evicts", "$error"))
    return Content.assemble(*parts)


def target_line(settings: PoolSettings) -> Content:
    kind = settings.install_target
    if kind == "ollama":
        return Content.assemble(("To   ", LABEL_STYLE), f"Ollama at {settings.ollama_url}")
    if kind == "advisory":
        return Content.assemble(("To   ", LABEL_STYLE),
                                "advisory: swapdeck shows the commands, you run them")
    config = settings.llama_swap_config
    where = (f"config {short_path(config)}" if config is not None
             else "no llama_swap_config set: GGUFs only, no config edit")
    return Content.assemble(("To   ", LABEL_STYLE),
                            f"llama-swap · models {short_path(settings.models_dir)} · {where}")


def header_lines(facts: HeaderFacts, width: int) -> list[Content]:
    lines = hardware_lines(facts.hardware, facts.settings)
    lines += [disk_line(facts, width), target_line(facts.settings)]
    warnings = facts.hardware.all_warnings if facts.hardware is not None else ()
    if warnings:
        lines.append(Content.styled("⚠ " + " · ".join(warnings), "$warning"))
    return lines


def hardware_detail_lines(hardware: HardwareProfile, settings: PoolSettings,
                          now: float) -> list[str]:
    """Every figure the ranking uses, where it came from, and what the box can hold."""
    override = settings.hardware
    given = "config [pool.hardware]"
    lines = []
    for index, gpu in enumerate(hardware.gpus):
        vram_from = given if override is not None and override.gpus is not None else "probed"
        bandwidth = f"{gpu.bandwidth_gbs:.0f} GB/s" if gpu.bandwidth_gbs else "unknown"
        lines += [f"GPU{index}  {gpu.name}",
                  f"      VRAM {gpu.vram_bytes / GIB:.1f} GiB — {vram_from}",
                  f"      bandwidth {bandwidth} — {gpu.bandwidth_source or 'no published figure'}"]
    if not hardware.gpus:
        lines.append("GPU   none found: the ranking plans for the CPU")
    ram_from = given if override is not None and override.ram_gb is not None else "probed"
    cpu_from = given if override is not None and override.cpu_name is not None else "probed"
    lines += [f"RAM   {hardware.ram_bytes / GIB:.1f} GiB — {ram_from}",
              f"CPU   {hardware.cpu_name}, {hardware.cpu_cores} cores — {cpu_from}",
              f"      bandwidth {hardware.cpu_bandwidth_gbs:.0f} GB/s — "
              f"{hardware.cpu_bandwidth_source}",
              f"      backend {hardware.backend.value} · unified memory "
              f"{'yes' if hardware.unified_memory else 'no'}"]
    budget = memory_budget(hardware)
    lines += ["", f"usable for models: {budget.usable_vram_bytes / GIB:.1f} GiB GPU, "
              f"{budget.usable_ram_bytes / GIB:.1f} GiB RAM ({budget.how})",
              f"probed {format_age(hardware.probed_at, now)} (kept 24 h; the config's "
              "[pool.hardware] wins field by field)",
              f"fingerprint {hardware.fingerprint}: bench runs measured here count as "
              "this box's speed"]
    if hardware.all_warnings:
        lines += ["", "warnings:"] + [f"  ⚠ {warning}" for warning in hardware.all_warnings]
    return lines


class PoolHeader(Static):
    DEFAULT_CSS = """
    PoolHeader {
        height: auto;
        padding: 0 1;
        background: $panel;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def show(self, facts: HeaderFacts) -> None:
        width = max(20, self.size.width - 2 or self.app.size.width - 2)
        self.update(Content("\n").join(header_lines(facts, width)))
