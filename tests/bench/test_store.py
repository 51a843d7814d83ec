"""Bench storage in the real history file: migration 0002, runs, raw samples, baselines."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from swapdeck.bench.compare import Verdict
from swapdeck.bench.render import render_judgement, render_run, render_runs
from swapdeck.bench.report import judge_stored, load_run
from swapdeck.bench.runner import BenchRunner
from swapdeck.bench.session import run_and_store
from swapdeck.bench.store import BenchStore
from swapdeck.bench.target import BenchTarget, Via
from swapdeck.history import HistoryError, HistoryStore
from swapdeck.history.migrate import load_migrations
from tests.bench.conftest import SimFactory, small_suite


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


async def test_the_bench_tables_live_in_the_history_file(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    history = await HistoryStore.open(path)  # the history store applies every migration
    await history.close()
    assert [m.name for m in load_migrations()][:2] == ["core", "bench"]
    assert {"bench_suites", "bench_runs", "bench_samples", "bench_baselines",
            "requests"} <= tables(path)
    store = await BenchStore.open(path)
    assert await store.runs() == []
    await store.close()


async def test_a_run_lands_with_every_sample_and_reads_back(make_sim: SimFactory,
                                                           tmp_path: Path) -> None:
    host = await make_sim()
    suite = small_suite()
    target = BenchTarget(host="sim", url=host.url.replace("http://", "http://user:pw@"),
                         model="fast", via=Via.LLAMA_SWAP)
    outcome = await BenchRunner(suite, BenchTarget("sim", host.url, "fast",
                                                   Via.LLAMA_SWAP)).run()
    outcome.target = target
    async with await BenchStore.open(tmp_path / "h.sqlite") as store:
        suite_id = await store.save_suite(suite, source=None, now=1.0)
        assert await store.save_suite(suite, source=None, now=2.0) == suite_id  # deduplicated
        run_id = await store.save_run(outcome, suite_id=suite_id, status="done")
        run = await store.run(run_id)
        assert run.target_url == host.url  # credentials never stored
        assert (run.host, run.model, run.suite_name, run.status) == ("sim", "fast", "tiny",
                                                                     "done")
        assert run.engine_build == "b6497-cd08fc3e" and run.hardware_fp and run.model_fp
        assert run.environment["cmd"] and run.prompt_sizing == "calibrated"
        assert run.load_ms is not None and run.model_was_loaded is False
        samples = await store.samples(run_id)
        assert samples == outcome.samples  # every field round-trips
        probes = await store.samples(run_id, include_probes=True)
        assert len(probes) == len(samples) + len(outcome.probes)
        assert (await store.suite(suite_id)).digest() == suite.digest()
        with pytest.raises(HistoryError, match="no bench run 999"):
            await store.run(999)


async def test_baseline_then_rerun_is_judged_against_it(make_sim: SimFactory,
                                                       tmp_path: Path) -> None:
    host = await make_sim()
    suite = small_suite(repetitions=6, grid={"prompt_tokens": [64], "gen_tokens": [6],
                                             "concurrency": [1]})
    fast = BenchTarget("sim", host.url, "fast", Via.LLAMA_SWAP)
    async with await BenchStore.open(tmp_path / "h.sqlite") as store:
        first = await run_and_store(store, suite, fast)
        assert first.judgement is None and first.baseline_id is None
        await store.set_baseline(first.run_id, now=10.0)
        assert await store.baseline("sim", "fast", "tiny") == first.run_id
        second = await run_and_store(store, suite, fast)
        assert second.baseline_id == first.run_id and second.judgement is not None
        tg = [m for c in second.judgement.result.cells for m in c.metrics
              if m.rule.metric == "tg_norm"]
        assert tg and all(m.verdict is Verdict.PASS for m in tg)
        stored = await store.run(second.run_id)
        assert stored.verdict == second.judgement.result.verdict.value
        assert stored.compared_to == first.run_id
        # The simulated "slow" model decodes at half the rate: a significant −50%.
        slow = await run_and_store(store, suite,
                                   BenchTarget("sim", host.url, "slow", Via.LLAMA_SWAP))
        judgement = await judge_stored(store, first.run_id, slow.run_id)
        assert judgement.result.verdict is Verdict.FAIL
        assert any("different model" in note for note in judgement.notes)
        loaded = await load_run(store, slow.run_id)
        assert loaded.cells[0].distributions["tg_norm"].median == pytest.approx(200.0)
        text = render_run(loaded)
        assert f"run {slow.run_id}: suite tiny on sim (llama-swap) model slow" in text
        assert "pp64/tg6/c1" in text and "200.0" in text
        listing = render_runs(await store.runs(), {first.run_id})
        assert f"{first.run_id}*" in listing and "(* = baseline" in listing
        assert render_runs([], set()).startswith("no bench runs yet")
        verdict_text = render_judgement(judgement)
        assert verdict_text.startswith(f"run {slow.run_id} vs baseline run {first.run_id}: FAIL")


async def test_only_a_finished_run_can_be_a_baseline(make_sim: SimFactory,
                                                     tmp_path: Path) -> None:
    host = await make_sim()
    runner = BenchRunner(small_suite(), BenchTarget("sim", host.url, "fast", Via.LLAMA_SWAP))
    outcome = await runner.run()
    async with await BenchStore.open(tmp_path / "h.sqlite") as store:
        suite_id = await store.save_suite(small_suite(), source=None, now=1.0)
        run_id = await store.save_run(outcome, suite_id=suite_id, status="cancelled")
        with pytest.raises(HistoryError, match="is cancelled, only a finished run"):
            await store.set_baseline(run_id, now=2.0)
