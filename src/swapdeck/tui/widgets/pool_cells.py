"""What each column of the Pool screen's two tables says — pure, so tests read it directly.

Columns are listed in order of importance with a fixed width; a narrow terminal drops them
from the end, and the flexible name column takes what is left (the Fleet table's rule).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from textual.content import Content

from swapdeck.pool.catalog import CatalogEntry, UpgradeProposal
from swapdeck.pool.errors import human_bytes
from swapdeck.pool.estimate import Fit, SpeedBasis
from swapdeck.pool.rank import RankedModel
from swapdeck.pool.session import PoolSession
from swapdeck.pool.session_values import JobState
from swapdeck.pool.session_view import (
    FIT_WORDS,
    evidence_grade,
    memory_text,
    proposal_text,
    speed_text,
)
from swapdeck.pool.state import PoolEntry
from swapdeck.tui.clock import format_age

Column = tuple[str, str, int, int, int]
"""(key, label, width, least, most): width 0 makes the column flexible, between its least
and most widths (most 0: no limit)."""
CELL_PADDING = 2
"""DataTable pads every cell by one on each side."""
FIT_STYLE: Mapping[Fit, str] = {Fit.FULL_GPU: "$success", Fit.PARTIAL_OFFLOAD: "$warning",
                                Fit.CPU_ONLY: "$warning", Fit.WONT_FIT: "$error"}

CANDIDATE_COLUMNS: tuple[Column, ...] = (
    ("model", "Model", 0, 20, 40), ("score", "Score", 5, 5, 5), ("fit", "Fit", 9, 9, 9),
    ("tps", "t/s", 7, 7, 7), ("memory", "Memory", 8, 8, 8),
    ("evidence", "Evidence", 8, 8, 8), ("bracket", "Bracket", 7, 7, 7),
    ("download", "Download", 8, 8, 8), ("family", "Family", 9, 9, 9),
)
INSTALLED_COLUMNS: tuple[Column, ...] = (
    ("model", "Installed", 0, 18, 28), ("size", "Size", 8, 8, 8),
    ("score", "Score", 5, 5, 5), ("used", "Last used", 9, 9, 9),
    ("swap", "llama-swap", 0, 20, 26), ("upgrade", "Upgrade", 0, 7, 0),
)
SHORT_UPGRADE_CELLS = 24
"""Below this, the upgrade column says only the gain; the line under the table says all."""


def choose_columns(columns: Sequence[Column], width: int) -> list[Column]:
    """The columns that fit `width` cells, fixed ones dropped from the end; flexible ones
    always stay and share what is left, in order, each up to its most."""
    used = sum(least + CELL_PADDING for _, _, cells, least, _ in columns if cells == 0)
    chosen: list[Column] = []
    for column in columns:
        if column[2] == 0:
            chosen.append(column)
            continue
        if used + column[2] + CELL_PADDING > width:
            break
        chosen.append(column)
        used += column[2] + CELL_PADDING
    spare = max(0, width - used)
    sized: list[Column] = []
    for key, label, cells, least, most in chosen:
        if cells == 0:
            extra = spare if most == 0 else min(spare, max(0, most - least))
            spare -= extra
            cells = least + extra
        sized.append((key, label, cells, least, most))
    return sized


def clip(text: str, cells: int) -> str:
    return text if len(text) <= cells else text[:max(0, cells - 1)] + "…"


@dataclass(frozen=True, slots=True)
class RowMarks:
    """What is happening to catalog models right now, for the name column's mark."""

    installed: Collection[str] = ()
    downloading: str | None = None
    kept_partials: Collection[str] = ()

    @classmethod
    def of(cls, session: PoolSession) -> RowMarks:
        job = session.job
        running = job is not None and job.state is JobState.RUNNING
        entries = session.state.entries
        installed = (session.source.catalog.installed_ids(entries) if session.source is not None
                     else {e.id for e in entries})
        return cls(installed=installed,
                   downloading=job.model_id if job is not None and running else None,
                   kept_partials={o.request.model_id for o in session.resumable})


def candidate_cells(row: RankedModel, entry: CatalogEntry | None,
                    marks: RowMarks) -> dict[str, Content]:
    if row.id == marks.downloading:
        mark = Content.styled("↓ ", "$accent")
    elif row.id in marks.installed:
        mark = Content.styled("● ", "$success")
    elif row.id in marks.kept_partials:
        mark = Content.styled("◐ ", "$warning")
    else:
        mark = Content("  ")
    name = Content.assemble(mark, row.name)
    tps = speed_text(row)
    cells = {
        "model": name.stylize("dim") if not row.runnable else name,
        "score": Content(f"{row.score:5.1f}"),
        "fit": Content.styled(FIT_WORDS[row.fit.verdict], FIT_STYLE[row.fit.verdict]),
        "tps": Content.styled(tps, "bold $success") if row.speed.basis is SpeedBasis.MEASURED
        else Content(tps),
        "memory": Content(memory_text(row)),
        "evidence": Content(evidence_grade(row)),
        "bracket": Content(entry.bracket.label if entry is not None else "—"),
        "download": Content(human_bytes(entry.size_bytes) if entry is not None else "—"),
        "family": Content(entry.family if entry is not None else "—"),
    }
    return cells


def swap_text(model_id: str, configured: Collection[str] | None,
              loaded_on: Sequence[str]) -> Content:
    """Whether llama-swap has the model in its config, and where it is loaded now."""
    if configured is None:
        where: Content = Content.styled("no config", "dim")
    elif model_id in configured:
        where = Content("in config")
    else:
        where = Content.styled("not in config", "$warning")
    if loaded_on:
        return Content.assemble(where, " · ", ("loaded " + ", ".join(loaded_on), "$success"))
    return where


def installed_cells(entry: PoolEntry, *, now: float, last_use: float | None,
                    configured: Collection[str] | None, loaded_on: Sequence[str],
                    proposal: UpgradeProposal | None, upgrade_cells: int) -> dict[str, Content]:
    upgrade = Content("")
    if proposal is not None:
        if upgrade_cells < SHORT_UPGRADE_CELLS:
            gain = proposal.gain_percent
            text = f"↑{gain:+.0f}%" if gain is not None else "↑ runs"
        else:
            text = "↑ " + proposal_text(proposal)
        upgrade = Content.styled(clip(text, upgrade_cells), "$accent")
    return {
        "model": Content(entry.id),
        "size": Content(human_bytes(entry.size_bytes)),
        "score": Content(f"{entry.score:5.1f}"),
        "used": Content(format_age(last_use, now) if last_use is not None else "never"),
        "swap": swap_text(entry.id, configured, loaded_on),
        "upgrade": upgrade,
    }
