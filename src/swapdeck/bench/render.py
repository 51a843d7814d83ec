"""Plain-text tables for `swapdeck bench list/show/compare/run` on a terminal. Pure."""

from __future__ import annotations

import time
from collections.abc import Sequence

from swapdeck.bench.cells import CellSummary
from swapdeck.bench.report import Judgement, LoadedRun
from swapdeck.bench.stats import Distribution
from swapdeck.bench.store import StoredRun


def _num(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _median(dist: Distribution | None, digits: int = 1) -> str:
    return "—" if dist is None else f"{dist.median:.{digits}f}"


def _when(at: float | None) -> str:
    return "—" if at is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(at))


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
              for row in rows]
    return "\n".join(lines)


def render_runs(runs: Sequence[StoredRun], baselines: set[int]) -> str:
    if not runs:
        return "no bench runs yet (swapdeck bench run SUITE)\n"
    rows = [[str(r.id) + ("*" if r.id in baselines else ""), _when(r.started_at), r.host,
             r.model, r.suite_name, r.status, r.verdict or "—",
             "polluted" if r.polluted else ""] for r in runs]
    table = _table(["run", "started", "host", "model", "suite", "status", "verdict", ""], rows)
    return table + "\n(* = baseline for its host + model + suite)\n"


def cell_rows(cells: Sequence[CellSummary]) -> list[list[str]]:
    rows = []
    for c in cells:
        d = c.distributions
        itl_p99 = "—" if c.itl is None else f"{c.itl.p99:.1f}"
        rows.append([c.cell, f"{c.requests - c.failed}/{c.requests}",
                     _median(d.get("ttft_ms")), _median(d.get("tpot_ms"), 2),
                     _median(c.itl, 2), itl_p99, _median(d.get("tg_norm")),
                     _median(d.get("tg_client")), _num(c.output_tps),
                     c.invalid or (", ".join(c.errors) if c.errors else "")])
    return rows


CELL_HEADER = ["cell", "ok", "TTFT p50 ms", "TPOT p50 ms", "ITL p50", "ITL p99",
               "tg t/s srv", "tg t/s cli", "out t/s", "note"]


def render_run(loaded: LoadedRun) -> str:
    run = loaded.run
    env = run.environment
    lines = [f"run {run.id}: suite {run.suite_name} on {run.host} ({run.via}) model {run.model}",
             f"  {_when(run.started_at)} → {_when(run.finished_at)}  status {run.status}"
             + (f"  verdict {run.verdict} vs run {run.compared_to}" if run.verdict else ""),
             f"  engine {run.engine_build or '?'}  slots {env.get('total_slots') or '?'}  "
             f"n_ctx {env.get('n_ctx') or '?'}  prompt sizing {run.prompt_sizing or '?'}",
             f"  model load {_num(run.load_ms, 0)} ms"
             + ("  (model was already loaded)" if run.model_was_loaded else "")]
    if run.client_cpu_ms is not None:
        lines.append(f"  client CPU {run.client_cpu_ms:.1f} ms in total")
    if run.polluted:
        lines.append(f"  POLLUTED: {len(run.foreign_requests)} foreign request(s) ran on the "
                     "host during this run")
    if run.error:
        lines.append(f"  error: {run.error}")
    lines.append("")
    lines.append(_table(CELL_HEADER, cell_rows(loaded.cells)))
    return "\n".join(lines) + "\n"


def render_judgement(judgement: Judgement) -> str:
    result = judgement.result
    lines = [f"run {judgement.candidate.run.id} vs baseline run {judgement.baseline.run.id}: "
             f"{result.verdict.value}"]
    lines += [f"  note: {note}" for note in judgement.notes]
    rows = []
    for cell in result.cells:
        if not cell.metrics:
            rows.append([cell.cell, "", "", "", "", "", "", cell.verdict.value
                         if cell.verdict else "—", cell.note or ""])
        for m in cell.metrics:
            rows.append([cell.cell, m.rule.label, f"{m.baseline_median:.2f}",
                         f"{m.candidate_median:.2f}", f"{m.change_pct:+.1f}%",
                         f"[{m.ci_low:.3f}, {m.ci_high:.3f}]", f"{m.p_value:.3g}",
                         m.verdict.value, m.unstable_reason or cell.note or ""])
    lines.append(_table(["cell", "metric", "baseline", "candidate", "change", "ratio 95% CI",
                         "p", "verdict", "note"], rows))
    return "\n".join(lines) + "\n"
