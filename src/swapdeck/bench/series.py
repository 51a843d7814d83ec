"""Chart series from bench summaries: curves against concurrency and a run history. Pure.

One line per (prompt length, generation length) pair, x = concurrency; the history is the
decode rate of the suite's first cell in each run, oldest first, with the baseline marked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from swapdeck.bench.cells import CellSummary

DECODE_METRICS = ("tg_norm", "tg_client")
"""The server's decode rate when it reports `timings`, else the client's."""


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    x: tuple[float, ...]
    y: tuple[float, ...]


def _decode_median(cell: CellSummary) -> float | None:
    for name in DECODE_METRICS:
        dist = cell.distributions.get(name)
        if dist is not None:
            return dist.median
    return None


def by_concurrency(cells: Sequence[CellSummary], metric: str) -> list[Series]:
    """`metric` is a distribution name (`ttft_ms`) or `decode` (server, else client t/s)."""
    groups: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for cell in cells:
        if cell.invalid:
            continue
        if metric == "decode":
            value = _decode_median(cell)
        else:
            dist = cell.distributions.get(metric)
            value = dist.median if dist is not None else None
        if value is not None:
            groups.setdefault((cell.prompt_tokens, cell.gen_tokens), []).append(
                (float(cell.concurrency), value))
    return [Series(f"pp{pp}/tg{tg}", tuple(x for x, _ in sorted(points)),
                   tuple(y for _, y in sorted(points)))
            for (pp, tg), points in sorted(groups.items())]


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    run_id: int
    decode: float
    baseline: bool
    cell: str
    """The cell the value is from: the same one in every run of a history."""


def history_points(runs: Sequence[tuple[int, Sequence[CellSummary]]],
                   baseline_id: int | None) -> list[HistoryPoint]:
    """`runs` oldest first, each with its cells. Every point is the same cell — the newest
    run's first — since a c2 cell's per-request rate next to a c1 one would read as a
    regression. A run where that cell is missing, invalid or has no decode rate (cancelled
    before it, every request failed) is left out."""
    key = next((cells[0].cell for _, cells in reversed(runs) if cells), None)
    points: list[HistoryPoint] = []
    for run_id, cells in runs:
        chosen = next((c for c in cells if c.cell == key), None)
        value = _decode_median(chosen) if chosen is not None and not chosen.invalid else None
        if value is not None and key is not None:
            points.append(HistoryPoint(run_id, value, run_id == baseline_id, key))
    return points
