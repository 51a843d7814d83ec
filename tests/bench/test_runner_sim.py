"""The runner end to end against the llama-swap simulator on loopback (issue 4).

Protocol facts: inference and `/upstream/<model>/…` (llama-swap-api §1.1, §1.5), `/running`
(§1.3), llama-server-shaped streams and `timings` (bench-facts §2.1, §2.2).
"""

from __future__ import annotations

from collections.abc import Mapping

from swapdeck.bench.cells import summarize_run
from swapdeck.bench.runner import BenchError, BenchRunner, Progress
from swapdeck.bench.sample import RequestContext
from swapdeck.bench.target import BenchTarget, Via
from tests.bench.conftest import SimFactory, small_suite


def target(url: str, model: str = "fast") -> BenchTarget:
    return BenchTarget(host="sim", url=url, model=model, via=Via.LLAMA_SWAP)


async def test_a_small_grid_runs_end_to_end(make_sim: SimFactory) -> None:
    host = await make_sim()
    events: list[Progress] = []
    runner = BenchRunner(small_suite(), target(host.url), on_progress=events.append)
    outcome = await runner.run()

    # cells pp64/tg6/c1 (1 warmup + 3) and pp64/tg6/c2 (2 warmups + 6)
    assert len(outcome.samples) == 4 + 8
    assert sum(s.warmup for s in outcome.samples) == 3
    assert all(s.ok for s in outcome.samples), [s.error for s in outcome.samples]
    assert {s.cell for s in outcome.samples} == {"pp64/tg6/c1", "pp64/tg6/c2"}
    for s in outcome.samples:
        assert s.n_out == 6 and s.predicted_n == 6 and s.finish_reason == "length"
        assert s.cache_n == 0 and s.tg_norm is not None and s.ttft_ms is not None
        assert s.ttfr_ms is not None and s.ttfr_ms <= s.ttft_ms <= (s.e2e_ms or 0)
        assert s.client_cpu_ms > 0
    # the simulator's model decodes at 400 t/s; tg_norm uses predicted_n − 1 steps
    assert {round(s.tg_norm or 0) for s in outcome.samples} == {400}
    assert outcome.prompt_sizing == "calibrated"  # the simulator has no /tokenize
    assert all(abs((s.n_in or 0) - 64) <= 6 for s in outcome.samples)
    assert outcome.engine is not None and outcome.engine.build == "b6497-cd08fc3e"
    assert outcome.engine.hardware_fingerprint is not None
    assert outcome.engine.cmd is not None and "llama-server" in outcome.engine.cmd
    assert outcome.client_cpu_per_token_ms is not None
    assert not outcome.polluted
    assert events[0].phase == "probe" and events[-1].phase == "done"
    assert events[-1].done == events[-1].total == 12

    cells = summarize_run(outcome.samples, cache_bust=True)
    assert [c.invalid for c in cells] == [None, None]
    assert [c.requests for c in cells] == [3, 6]
    assert cells[1].distributions["ttft_ms"].count == 6

    # In the host's proxy log (§0): the probes say they are swapdeck's own reads, the
    # requests carry the run's marker, so both are told apart from others' traffic.
    access = [line for line in host.core.logs.proxy.history().splitlines() if "Request" in line]
    probes = [line for line in access if '"GET ' in line]
    posts = [line for line in access if '"POST ' in line]
    assert probes and all('"swapdeck"' in line for line in probes)
    assert len(posts) >= 12 and all(f"({runner.marker})" in line for line in posts)


async def test_model_load_is_measured_apart_from_ttft(make_sim: SimFactory) -> None:
    """`fast` loads in 0.3 s; the cold probe pays it, the warm one does not."""
    host = await make_sim()
    first = await BenchRunner(small_suite(repetitions=1), target(host.url)).run()
    assert first.model_was_loaded is False
    assert first.load_ms is not None and first.load_ms >= 200
    assert max(s.ttft_ms or 0 for s in first.samples) < 200
    again = await BenchRunner(small_suite(repetitions=1), target(host.url)).run()
    assert again.model_was_loaded is True and again.load_ms is None


async def test_cache_bust_sends_nonces_and_cache_prompt_false(make_sim: SimFactory) -> None:
    host = await make_sim()
    busted = await BenchRunner(small_suite(), target(host.url)).run()
    assert all(s.cache_n == 0 for s in busted.samples)
    # Without busting, the same prompt is reused and the server reports cached tokens: a
    # warm-cache cell, which is not checked for cache hits.
    warm = await BenchRunner(small_suite(cache_bust=False), target(host.url)).run()
    assert all((s.cache_n or 0) > 0 for s in warm.samples if not s.warmup)
    assert [c.invalid for c in summarize_run(warm.samples, cache_bust=False)] == [None, None]
    # The same samples judged as a cold cell are invalid, never averaged in.
    reasons = [c.invalid for c in summarize_run(warm.samples, cache_bust=True)]
    assert all(r is not None and "cache hit in a cold cell" in r for r in reasons)


def faults(spec: str, *, only: int | None = None) -> object:
    def headers(ctx: RequestContext) -> Mapping[str, str]:
        if ctx.cell == "probe" or (only is not None and ctx.index != only):
            return {}
        return {"X-Sim-Fault": spec}
    return headers


async def run_with(make_sim: SimFactory, spec: str, only: int | None = None,
                   **suite: object) -> list:  # type: ignore[type-arg]
    host = await make_sim()
    runner = BenchRunner(small_suite(**suite), target(host.url),
                         extra_headers=faults(spec, only=only))  # type: ignore[arg-type]
    return (await runner.run()).samples


async def test_usage_only_final_chunk(make_sim: SimFactory) -> None:
    samples = await run_with(make_sim, "usage-only-final")
    assert all(s.ok for s in samples)
    assert all(s.timings is None and s.tg_norm is None and s.cache_n is None for s in samples)
    assert all(s.n_out == 6 and s.tg_client is not None for s in samples)


async def test_no_role_chunk_makes_ttfr_the_first_token(make_sim: SimFactory) -> None:
    samples = await run_with(make_sim, "no-role-chunk")
    assert all(s.ok and s.ttfr_ms == s.ttft_ms for s in samples)


async def test_reasoning_chunks_count_for_ttft(make_sim: SimFactory) -> None:
    samples = await run_with(make_sim, "reasoning", grid={
        "prompt_tokens": [64], "gen_tokens": [12], "concurrency": [1]})
    assert all(s.ok for s in samples)
    for s in samples:
        assert s.ttft_ms is not None and s.ttfo_ms is not None and s.ttft_ms < s.ttfo_ms


async def test_a_5xx_mid_run_fails_one_request_and_the_run_goes_on(make_sim: SimFactory) -> None:
    samples = await run_with(make_sim, "status=500", only=2)
    failed = [s for s in samples if not s.ok]
    assert len(failed) == 2  # index 2 of each cell
    assert all(s.status == 500 and (s.error or "").startswith("HTTP 500") for s in failed)
    assert all(s.ok for s in samples if s.index != 2)
    cells = summarize_run(samples, cache_bust=True)
    assert [c.failed for c in cells] == [1, 1] and all(c.errors for c in cells)
    assert all(c.invalid is None for c in cells)


async def test_a_dropped_stream_is_a_failed_request_that_keeps_its_ttft(
        make_sim: SimFactory) -> None:
    samples = await run_with(make_sim, "drop-after=1", only=1, grid={
        "prompt_tokens": [64], "gen_tokens": [40], "concurrency": [1]})
    dropped = [s for s in samples if s.index == 1]
    assert len(dropped) == 1 and not dropped[0].ok
    assert dropped[0].ttft_ms is not None and dropped[0].error is not None
    assert all(s.ok for s in samples if s.index != 1)


async def test_a_failing_probe_stops_the_run_with_one_line(make_sim: SimFactory) -> None:
    host = await make_sim()
    runner = BenchRunner(small_suite(), target(host.url, model="no-such-model"))
    try:
        await runner.run()
    except BenchError as exc:
        assert "probe request to model 'no-such-model' failed: HTTP 404" in str(exc)
        assert "\n" not in str(exc)
    else:
        raise AssertionError("expected BenchError")


async def test_a_host_that_is_down_is_one_line(make_sim: SimFactory) -> None:
    host = await make_sim()
    await host.go_down()
    try:
        await BenchRunner(small_suite(), target(host.url)).run()
    except BenchError as exc:
        assert "connection failed" in str(exc)
    else:
        raise AssertionError("expected BenchError")
