"""A whole bench run as the CLI and the TUI do it: measure, store, judge against the baseline.

A cancelled run is stored as `cancelled` with what it measured, and a run that cannot go on
(`BenchError`) as `failed` with its reason, before the cancellation or error goes on up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from swapdeck.bench.report import Judgement, LoadedRun, judge, load_run
from swapdeck.bench.runner import BenchError, BenchRunner, ForeignInflight, ProgressFn
from swapdeck.bench.store import BenchStore
from swapdeck.bench.suite import Suite
from swapdeck.bench.target import BenchTarget


@dataclass(frozen=True, slots=True)
class SessionResult:
    run_id: int
    loaded: LoadedRun
    baseline_id: int | None
    judgement: Judgement | None


async def run_and_store(store: BenchStore, suite: Suite, target: BenchTarget, *,
                        source: Path | None = None,
                        foreign_inflight: ForeignInflight | None = None,
                        on_progress: ProgressFn | None = None,
                        engine_binary_sha256: str | None = None, marker: str | None = None,
                        clock: Callable[[], float] = time.time) -> SessionResult:
    suite_id = await store.save_suite(suite, source=source, now=clock())
    runner = BenchRunner(suite, target, foreign_inflight=foreign_inflight,
                         on_progress=on_progress, clock=clock, marker=marker)
    try:
        outcome = await runner.run()
    except asyncio.CancelledError:
        await asyncio.shield(store.save_run(runner.outcome, suite_id=suite_id,
                                            status="cancelled",
                                            engine_binary_sha256=engine_binary_sha256))
        raise
    except BenchError as exc:
        await store.save_run(runner.outcome, suite_id=suite_id, status="failed", error=str(exc),
                             engine_binary_sha256=engine_binary_sha256)
        raise
    run_id = await store.save_run(outcome, suite_id=suite_id, status="done",
                                  engine_binary_sha256=engine_binary_sha256)
    baseline_id = await store.baseline(target.host, target.model, suite.name)
    loaded = await load_run(store, run_id)
    judgement = None
    if baseline_id is not None and baseline_id != run_id:
        judgement = judge(await load_run(store, baseline_id), loaded)
        await store.set_verdict(run_id, judgement.result.verdict, baseline_id)
        loaded = await load_run(store, run_id)
    return SessionResult(run_id, loaded, baseline_id, judgement)
