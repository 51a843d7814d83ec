"""Stored bench runs as Pool evidence: the speed a person gets, one request at a time."""

from __future__ import annotations

from swapdeck.bench.cells import CellSummary
from swapdeck.bench.stats import describe
from swapdeck.pool.session_bench import decode_tps


def cell(concurrency: int, rates: list[float], *, invalid: str | None = None) -> CellSummary:
    return CellSummary(
        cell=f"pp128/tg64/c{concurrency}", prompt_tokens=128, gen_tokens=64,
        concurrency=concurrency, requests=len(rates), failed=0, cache_hits=0, invalid=invalid,
        distributions={"tg_norm": describe(rates)}, itl=None, duration_s=None, output_tps=None,
        request_rate=None, goodput=None, errors=())


def test_only_single_stream_cells_are_the_measured_speed() -> None:
    """A sweep's c2..c8 per-request rates are shares of a batch; with them the ranking's
    'measured' figure would drop to roughly the c2–c4 rate."""
    sweep = [cell(1, [50.0, 52.0, 51.0]), cell(2, [40.0, 41.0]), cell(4, [30.0, 31.0]),
             cell(8, [20.0, 21.0])]
    assert decode_tps(sweep) == 51.0
    assert decode_tps([cell(4, [30.0]), cell(8, [20.0])]) is None  # no single-stream cell
    assert decode_tps([cell(1, [50.0], invalid="cache hit"), cell(1, [45.0])]) == 45.0
