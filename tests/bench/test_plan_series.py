"""The run plan shown before a run, and the chart series drawn after it."""

from __future__ import annotations

import pytest

from swapdeck.bench.cells import CellSummary
from swapdeck.bench.plan import plan_run
from swapdeck.bench.series import by_concurrency, history_points
from swapdeck.bench.stats import describe
from swapdeck.bench.suite import parse_suite
from swapdeck.events import ActivityRecord

SUITE = parse_suite({"name": "p", "grid": {"prompt_tokens": [100], "gen_tokens": [11],
                                           "concurrency": [1, 2]},
                     "run": {"repetitions": 4, "warmup": 1}})


def record(model: str, prompt_tps: float, decode_tps: float, status: int = 200) -> ActivityRecord:
    return ActivityRecord(remote_id=1, epoch=0, finished_at=0.0, model=model,
                          req_path="/v1/chat/completions", status_code=status,
                          content_type=None, cache_tokens=0, input_tokens=10, output_tokens=10,
                          prompt_tps=prompt_tps, decode_tps=decode_tps, duration_ms=1)


def test_plan_counts_cells_and_requests_and_estimates_from_recent_speed() -> None:
    recent = [record("m", 1000.0, 10.0), record("m", 1000.0, 10.0), record("other", 1.0, 1.0),
              record("m", 1.0, 1.0, status=500)]
    plan = plan_run(SUITE, "m", recent)
    assert (plan.cells, plan.requests) == (2, 5 * 1 + 5 * 2)
    # one request: 100/1000 + 10/10 = 1.1 s; (1 + 2) × 5 rounds; probes 3 × (0.064 + 0.1)
    assert plan.estimated_s == pytest.approx(15 * 1.1 + 3 * 0.164)
    assert "1000 prompt t/s" in plan.basis


def test_no_recent_requests_means_no_estimate() -> None:
    plan = plan_run(SUITE, "m", [record("other", 100.0, 10.0)])
    assert plan.estimated_s is None and "no recent requests to m" in plan.basis


def cell(pp: int, c: int, ttft: float | None, tg: float | None,
         invalid: str | None = None, client: float | None = None) -> CellSummary:
    dists = {}
    for name, value in (("ttft_ms", ttft), ("tg_norm", tg), ("tg_client", client)):
        if value is not None:
            dist = describe([value])
            assert dist is not None
            dists[name] = dist
    return CellSummary(f"pp{pp}/tg8/c{c}", pp, 8, c, 3, 0, 0, invalid, dists, None, None,
                       None, None, None, ())


def test_curves_against_concurrency_one_line_per_prompt_and_generation_length() -> None:
    cells = [cell(64, 2, 30.0, 90.0), cell(64, 1, 20.0, 100.0), cell(256, 1, 80.0, None,
                                                                     client=95.0),
             cell(256, 2, 1.0, 1.0, invalid="cache hit")]
    ttft = by_concurrency(cells, "ttft_ms")
    assert [(s.label, s.x, s.y) for s in ttft] == [("pp64/tg8", (1.0, 2.0), (20.0, 30.0)),
                                                   ("pp256/tg8", (1.0,), (80.0,))]
    decode = by_concurrency(cells, "decode")  # the client's rate where the server gave none
    assert [s.y for s in decode] == [(100.0, 90.0), (95.0,)]


def test_history_marks_the_baseline_and_skips_runs_without_a_rate() -> None:
    runs = [(1, [cell(64, 1, 20.0, 100.0)]), (2, []), (3, [cell(64, 1, 20.0, None)]),
            (4, [cell(64, 1, 20.0, 80.0)])]
    points = history_points(runs, baseline_id=1)
    assert [(p.run_id, p.decode, p.baseline) for p in points] == [(1, 100.0, True),
                                                                 (4, 80.0, False)]


def test_history_follows_one_cell_across_runs() -> None:
    """A run whose first cell was invalid must not contribute its c2 cell instead: that
    per-request rate is a batch share and would chart as a regression."""
    first = cell(64, 1, 20.0, 100.0)
    runs = [(1, [first, cell(64, 2, 30.0, 60.0)]),
            (2, [cell(64, 1, 20.0, 99.0, invalid="cache hit"), cell(64, 2, 30.0, 61.0)]),
            (3, [cell(64, 1, 20.0, 98.0), cell(64, 2, 30.0, 59.0)])]
    points = history_points(runs, baseline_id=None)
    assert [(p.run_id, p.decode) for p in points] == [(1, 100.0), (3, 98.0)]
    assert {p.cell for p in points} == {first.cell}
