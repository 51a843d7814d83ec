"""Stored runs turned into summaries and verdicts, as plain dicts for JSON, CLI and TUI.

`judge` compares two stored runs: cells that are invalid on either side (a cache hit in a
cold cell, every request failed) get no verdict, and differences in what the runs ran on
(suite, model, engine build, hardware) are reported as notes next to the verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from swapdeck.bench.cells import CellSummary, comparable_values, summarize_run
from swapdeck.bench.compare import RunComparison, compare_runs
from swapdeck.bench.store import BenchStore, StoredRun
from swapdeck.bench.suite import Suite

TABLE_METRICS = ("ttft_ms", "tpot_ms", "e2e_ms", "tg_norm", "tg_client", "pp_server")


@dataclass(frozen=True, slots=True)
class LoadedRun:
    run: StoredRun
    suite: Suite
    cells: list[CellSummary]
    values: dict[str, dict[str, list[float]]]

    @property
    def invalid(self) -> dict[str, str]:
        return {c.cell: c.invalid for c in self.cells if c.invalid}


async def load_run(store: BenchStore, run_id: int) -> LoadedRun:
    run = await store.run(run_id)
    suite = await store.suite(run.suite_id)
    samples = await store.samples(run_id)
    cells = summarize_run(samples, cache_bust=suite.run.cache_bust, slo=suite.slo)
    return LoadedRun(run, suite, cells, comparable_values(samples))


@dataclass(frozen=True, slots=True)
class Judgement:
    baseline: LoadedRun
    candidate: LoadedRun
    result: RunComparison
    notes: tuple[str, ...]


def judge(baseline: LoadedRun, candidate: LoadedRun) -> Judgement:
    invalid = {**{k: f"baseline {v}" for k, v in baseline.invalid.items()},
               **{k: f"candidate {v}" for k, v in candidate.invalid.items()}}
    result = compare_runs(baseline.values, candidate.values, invalid=invalid)
    return Judgement(baseline, candidate, result, tuple(environment_notes(baseline.run,
                                                                         candidate.run)))


def environment_notes(base: StoredRun, cand: StoredRun) -> list[str]:
    notes: list[str] = []
    pairs = (("suite", base.suite_name, cand.suite_name), ("model", base.model, cand.model),
             ("model fingerprint", base.model_fp, cand.model_fp),
             ("hardware fingerprint", base.hardware_fp, cand.hardware_fp),
             ("engine build", base.engine_build, cand.engine_build),
             ("engine binary", base.engine_binary_sha256, cand.engine_binary_sha256))
    for what, a, b in pairs:
        if a and b and a != b:
            notes.append(f"different {what}: {_short(a)} vs {_short(b)}")
    for label, run in (("baseline", base), ("candidate", cand)):
        if run.polluted:
            notes.append(f"{label} run {run.id} saw {len(run.foreign_requests)} foreign "
                         "request(s) on the host (polluted)")
        if run.status != "done":
            notes.append(f"{label} run {run.id} is {run.status}")
    return notes


def _short(value: str) -> str:
    return value[:12] if len(value) == 64 else value


async def judge_stored(store: BenchStore, baseline_id: int, candidate_id: int) -> Judgement:
    return judge(await load_run(store, baseline_id), await load_run(store, candidate_id))


def cell_dict(cell: CellSummary) -> dict[str, Any]:
    return {"cell": cell.cell, "prompt_tokens": cell.prompt_tokens,
            "gen_tokens": cell.gen_tokens, "concurrency": cell.concurrency,
            "requests": cell.requests, "failed": cell.failed, "cache_hits": cell.cache_hits,
            "invalid": cell.invalid, "duration_s": cell.duration_s,
            "output_tps": cell.output_tps, "request_rate": cell.request_rate,
            "goodput": cell.goodput, "errors": list(cell.errors),
            "itl_ms": cell.itl.as_dict() if cell.itl else None,
            "metrics": {name: dist.as_dict() for name, dist in cell.distributions.items()}}


def run_dict(loaded: LoadedRun) -> dict[str, Any]:
    return {"run": loaded.run.as_dict(), "suite": loaded.suite.model_dump(mode="json"),
            "cells": [cell_dict(c) for c in loaded.cells]}


def judgement_dict(judgement: Judgement) -> dict[str, Any]:
    cells = []
    for cell in judgement.result.cells:
        cells.append({
            "cell": cell.cell, "verdict": cell.verdict.value if cell.verdict else None,
            "note": cell.note,
            "metrics": [{"metric": m.rule.metric, "label": m.rule.label,
                         "baseline_median": m.baseline_median,
                         "candidate_median": m.candidate_median, "ratio": m.ratio,
                         "change_pct": m.change_pct, "ci_low": m.ci_low, "ci_high": m.ci_high,
                         "p_value": m.p_value, "unstable": m.unstable_reason,
                         "verdict": m.verdict.value} for m in cell.metrics]})
    return {"baseline_run": judgement.baseline.run.id,
            "candidate_run": judgement.candidate.run.id,
            "verdict": judgement.result.verdict.value, "notes": list(judgement.notes),
            "cells": cells}
