"""The words of the install and evict confirmations: exactly what will happen, nothing else.

Pure builders over `InstallPlan` / `RemovalPlan` (the same plans `execute` and `evict`
carry out), so what the modal shows is what runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from textual.content import Content

from swapdeck.pool.errors import human_bytes
from swapdeck.pool.manager import InstallPlan, RemovalPlan
from swapdeck.pool.state import PoolEntry
from swapdeck.tui.clock import format_age
from swapdeck.tui.widgets.pool_header import short_path

LABEL = "bold"
INDENT = " " * 10


def _label(text: str) -> tuple[str, str]:
    return (f"{text:<10}", LABEL)


def diff_lines(diff: str) -> list[Content]:
    lines = []
    for line in diff.rstrip("\n").splitlines():
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("+"):
            style = "$success"
        elif line.startswith("-"):
            style = "$error"
        elif line.startswith("@@"):
            style = "$accent"
        else:
            style = "dim"
        lines.append(Content.styled(line, style))
    return lines


def entry_line(entry: PoolEntry, now: float, last_use: float | None = None) -> str:
    """A model as the eviction order sees it: size, score, last use."""
    at = last_use if last_use is not None else entry.last_used_at
    used = f"used {format_age(at, now)}" if at is not None else "never used"
    return f"{entry.id}  {human_bytes(entry.size_bytes)} · score {entry.score:.1f} · {used}"


def sha_text(plan: InstallPlan) -> str:
    sha = plan.installer.sha256 if plan.installer is not None else plan.target.sha256
    if sha:
        return sha
    if plan.target.url:
        return "unknown — will not be verified"
    return "unknown — will not be verified unless the Hub names one"


def install_plan_lines(plan: InstallPlan, *, now: float, warnings: Sequence[str] = (),
                       last_uses: Mapping[str, float] | None = None) -> list[Content]:
    target, inst = plan.target, plan.installer
    approx = "" if target.size_exact else " (approximate)"
    lines: list[Content] = []
    if inst is not None:
        lines.append(Content.assemble(_label("Download"), f"{human_bytes(plan.size_bytes)}"
                                      f"{approx} from {inst.source}"))
        lines.append(Content(f"{INDENT}to {short_path(inst.destination)}"
                             if inst.kind != "ollama" else f"{INDENT}into {inst.destination}"))
        if inst.kind != "ollama":
            lines.append(Content.assemble(_label("sha256"), sha_text(plan)))
            if inst.sha256:
                lines.append(Content.styled(f"{INDENT}checked before the file is moved into "
                                            "place; a mismatch installs nothing", "dim"))
    lines.append(Content.assemble(
        _label("Pool"), f"{human_bytes(plan.used_bytes)} used → "
        f"{human_bytes(plan.used_after_bytes)} of {human_bytes(plan.budget_bytes)} budget"))
    eviction = plan.eviction
    if eviction.victims:
        lines.append(Content.assemble(
            _label("Evicts"), (f"{len(eviction.victims)} model(s), freeing "
                               f"{human_bytes(eviction.freed_bytes)} "
                               f"({human_bytes(eviction.need_bytes)} needed):", "$warning")))
        uses = last_uses or {}
        lines += [Content(f"{INDENT}- {entry_line(v, now, uses.get(v.id))}")
                  for v in eviction.victims]
    else:
        lines.append(Content.assemble(_label("Evicts"), "nothing: it fits the budget"))
    lines += [Content.styled(f"⚠ {warning}", "$warning") for warning in warnings]
    if inst is not None:
        lines += [Content.assemble(_label("Note"), note) for note in inst.notes]
        lines += [Content(f"{INDENT}$ {command}") for command in inst.commands]
        if inst.config_diff:
            where = short_path(inst.config_path) if inst.config_path else "the config"
            lines.append(Content.assemble(_label("Config"), f"llama-swap config {where}:"))
            lines += diff_lines(inst.config_diff)
    return lines


def removal_plan_lines(plan: RemovalPlan, *, now: float, used_bytes: int, budget_bytes: int,
                       warnings: Sequence[str] = (),
                       last_use: float | None = None) -> list[Content]:
    entry, inst = plan.entry, plan.installer
    size = human_bytes(entry.size_bytes)
    if entry.installer == "ollama":
        deletes = f"Ollama's copy of {entry.id} ({size})"
    else:
        deletes = f"{short_path(entry.path) if entry.path else inst.destination} ({size})"
    lines = [Content.assemble(_label("Deletes"), deletes)]
    if inst.config_diff and inst.config_path:
        lines.append(Content.assemble(_label("Config"), f"removes models.{entry.id} from "
                                      f"{short_path(inst.config_path)} (a timestamped backup "
                                      "is kept)"))
    elif entry.installer == "llama-swap":
        lines.append(Content.assemble(_label("Config"), "no llama-swap config entry to remove"))
    after = used_bytes - entry.size_bytes
    lines.append(Content.assemble(_label("Frees"), f"{size}: pool {human_bytes(used_bytes)} → "
                                  f"{human_bytes(after)} of {human_bytes(budget_bytes)}"))
    lines.append(Content.assemble(_label("Model"), entry_line(entry, now, last_use)))
    lines += [Content.styled(f"⚠ {warning}", "$warning") for warning in warnings]
    lines += [Content(f"{INDENT}$ {command}") for command in inst.commands]
    lines += [Content.assemble(_label("Note"), note) for note in inst.notes]
    if inst.config_diff:
        lines += diff_lines(inst.config_diff)
    return lines


def victim_warnings(plan: InstallPlan, warn: Mapping[str, Sequence[str]]) -> list[str]:
    """The evict warnings of every model the install would evict, in eviction order."""
    return [w for victim in plan.eviction.victims for w in warn.get(victim.id, ())]
