"""The Pool screen's bench link: a quick suite on one model, and stored runs as evidence.

A run counts as *measured on this box* (`evidence.Grade.MEASURED`) only when it ran against a
host that is this machine (the caller says which hosts those are): a decode speed measured on
another box says nothing about this one. The value is the median over the run's
single-stream cells (concurrency 1) of the server-reported decode rate (`tg_norm`), or the
client's (`tg_client`) when the server did not say — the same figures the Bench screen
shows. Cells at higher concurrency are left out: their per-request rate is a share of a
batch, not the speed a person gets, which is what the ranking estimates.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable, Collection, Sequence
from pathlib import Path

from swapdeck.bench.cells import CellSummary
from swapdeck.bench.report import load_run
from swapdeck.bench.runner import Progress, ProgressFn
from swapdeck.bench.session import run_and_store
from swapdeck.bench.store import BenchStore, StoredRun
from swapdeck.bench.suite import Suite, parse_suite
from swapdeck.bench.target import BenchTarget
from swapdeck.pool.evidence import SWAPDECK_BENCH_SOURCE, Grade, Metric, Observation
from swapdeck.pool.session_values import BenchJob, JobState

QUICK_SUITE: Suite = parse_suite({
    "name": "pool-quick",
    "description": "the Pool screen's quick check: one short prompt, 64 tokens, one at a time",
    "grid": {"prompt_tokens": [128], "gen_tokens": [64], "concurrency": [1]},
    "run": {"repetitions": 5, "warmup": 1, "timeout_s": 300},
}, "<pool quick suite>")
RUNS_PER_HOST = 200
"""How far back stored runs are read; the newest measured run per model wins anyway."""


def decode_tps(cells: Sequence[CellSummary]) -> float | None:
    """Median over valid single-stream cells of the median decode rate (server's, else the
    client's); None for a run that has no such cell."""
    values = []
    for cell in cells:
        if cell.invalid or cell.concurrency != 1:
            continue
        dist = cell.distributions.get("tg_norm") or cell.distributions.get("tg_client")
        if dist is not None and dist.count and dist.p50 > 0:
            values.append(dist.p50)
    return statistics.median(values) if values else None


def observation_for(run: StoredRun, cells: Sequence[CellSummary],
                    fingerprint: str) -> Observation | None:
    value = decode_tps(cells)
    if value is None or run.status != "done":
        return None
    return Observation(model_id=run.model, source=SWAPDECK_BENCH_SOURCE, grade=Grade.MEASURED,
                       metric=Metric.DECODE_TPS, value=value,
                       observed_at=run.finished_at or run.started_at,
                       hardware_fingerprint=fingerprint, run_id=f"#{run.id}")


async def load_bench_evidence(database: Path, local_hosts: Collection[str],
                              fingerprint: str) -> list[Observation]:
    """Every finished run on a host of this machine, as decode-speed observations."""
    if not local_hosts or not database.exists():
        return []
    store = await BenchStore.open(database)
    try:
        observations = []
        for host in sorted(local_hosts):
            for run in await store.runs(host=host, limit=RUNS_PER_HOST):
                if run.status != "done":
                    continue
                loaded = await load_run(store, run.id)
                found = observation_for(run, loaded.cells, fingerprint)
                if found is not None:
                    observations.append(found)
        return observations
    finally:
        await store.close()


async def run_quick_bench(database: Path, target: BenchTarget, fingerprint: str, *,
                          on_progress: ProgressFn | None = None,
                          clock: Callable[[], float] = time.time) -> Observation | None:
    """Run `QUICK_SUITE` against `target`, store it like any bench run, and return what it
    measured (None when every cell was invalid). Raises `BenchError` / `HistoryError`."""
    store = await BenchStore.open(database)
    try:
        result = await run_and_store(store, QUICK_SUITE, target, on_progress=on_progress,
                                     clock=clock)
        return observation_for(result.loaded.run, result.loaded.cells, fingerprint)
    finally:
        await store.close()


async def run_bench_job(job: BenchJob, database: Path, target: BenchTarget, fingerprint: str,
                        *, touch: Callable[[], None],
                        clock: Callable[[], float] = time.time) -> Observation | None:
    """`run_quick_bench`, telling `job` how far it got and how it ended (one line each)."""
    def progress(event: Progress) -> None:
        job.message = f"{event.done}/{event.total} requests"
        touch()

    try:
        found = await run_quick_bench(database, target, fingerprint, on_progress=progress,
                                      clock=clock)
    except asyncio.CancelledError:
        job.state, job.message = JobState.CANCELLED, "cancelled"
        raise
    except Exception as exc:  # BenchError, HistoryError, HTTP: one line for the person
        job.state, job.message = JobState.FAILED, str(exc) or type(exc).__name__
        touch()
        return None
    if found is None:
        job.state, job.message = JobState.FAILED, "every cell was invalid: no speed measured"
    else:
        job.state = JobState.DONE
        job.message = f"measured {found.value:.1f} t/s (run {found.run_id})"
    touch()
    return found
