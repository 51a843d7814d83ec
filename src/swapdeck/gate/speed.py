"""Speed verdicts: pinned vs candidate, cell by cell, with the bench's rules (bench-facts §7.2).

Pure. Each side of a cell is reduced to `SideValues` (the metric values of its measured,
successful requests, plus what went wrong); `judge_cell` turns two sides into a verdict
with the bench's `compare_metric`, and `final_verdict` applies the gate's confirmation rule:
a cell that comes out FAIL (or UNSTABLE) is measured once more with twice the samples, and
only the second result counts — two independent significant FAILs are needed to fail.

What invalidates a cell instead of averaging it in (§7.2 table, §0.4):
* a candidate request that failed (5xx, timeout, cut stream) → FAIL: errors are regressions;
* a pinned request that failed, a cache hit in a cold cell, or a generation length other
  than asked (`ignore_eos` + `n_predict` fix it) → UNSTABLE: the measurement is broken.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from swapdeck.bench.compare import MetricComparison, MetricRule, Verdict, compare_metric, worst
from swapdeck.bench.sample import RequestSample

DECODE_RULE = MetricRule("tg_norm", "decode t/s (server)", True, 0.05, 0.10)
PREFILL_RULE = MetricRule("pp_server", "prefill t/s (server)", True, 0.05, 0.10)
TTFT_RULE = MetricRule("ttft_ms", "TTFT ms (client)", False, 0.10, 0.20)
GATE_RULES: tuple[MetricRule, ...] = (DECODE_RULE,)
"""What decides, by default: decode throughput from the server's own `timings` (`tg_norm`,
§2.3), thresholds from §7.2 (WARN −5%, FAIL −10%)."""
INFO_RULES: tuple[MetricRule, ...] = (PREFILL_RULE, TTFT_RULE)
"""Compared and reported, not gated by default: on a 2-core VM, prefill of a short prompt
varies 12–25% from one request to the next even on a quiet machine (measured), so gating it
would make every run UNSTABLE. `swapdeck gate --gate-prefill` adds it where it is stable."""
RECORDED_METRICS = ("tg_norm", "pp_server", "ttft_ms", "tg_client")
CONFIRM_FACTOR = 2


@dataclass(frozen=True, slots=True)
class SideValues:
    """One build's measured requests in one cell, reduced to what the verdict needs."""

    values: dict[str, list[float]]
    requests: int
    errors: tuple[str, ...] = ()
    cache_hits: int = 0
    wrong_length: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"requests": self.requests, "errors": list(self.errors),
                "cache_hits": self.cache_hits, "wrong_length": self.wrong_length,
                "values": self.values}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> SideValues:
        raw = data.get("values")
        if not isinstance(raw, Mapping):
            raise ValueError("expected `values` to be an object of metric lists")
        values = {str(k): [float(x) for x in v] for k, v in raw.items()
                  if isinstance(v, list)}
        errors = data.get("errors", [])
        return cls(values=values, requests=_int(data.get("requests")),
                   errors=tuple(str(e) for e in errors) if isinstance(errors, list) else (),
                   cache_hits=_int(data.get("cache_hits")),
                   wrong_length=_int(data.get("wrong_length")))


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def side_values(samples: Iterable[RequestSample], gen_tokens: int) -> SideValues:
    """Measured samples only (warmups are the caller's to drop)."""
    measured = list(samples)
    ok = [s for s in measured if s.ok]
    values: dict[str, list[float]] = {name: [] for name in RECORDED_METRICS}
    for sample in ok:
        for name in RECORDED_METRICS:
            value = sample.metric(name)
            if value is not None:
                values[name].append(value)
    errors = tuple(sorted({s.error or f"HTTP {s.status}" for s in measured if not s.ok}))
    wrong = sum(1 for s in ok if s.predicted_n is not None and s.predicted_n != gen_tokens)
    return SideValues(values=values, requests=len(measured), errors=errors,
                      cache_hits=sum(1 for s in ok if s.cache_hit), wrong_length=wrong)


@dataclass(frozen=True, slots=True)
class CellResult:
    cell: str
    attempt: int
    """1 for the first measurement, 2 for the confirmation with twice the samples."""
    pinned: SideValues
    candidate: SideValues
    metrics: tuple[MetricComparison, ...]
    note: str | None
    """Why the cell got a verdict without (or besides) the metric comparison."""
    verdict: Verdict
    info: tuple[MetricComparison, ...] = ()
    """Compared for the reader, not part of the verdict."""


def _broken(side: SideValues, who: str) -> str | None:
    if side.requests == 0:
        return f"{who}: no measured requests"
    if side.errors:
        return f"{who}: {len(side.errors)} kind(s) of failed request: {side.errors[0]}"
    if side.cache_hits:
        return (f"{who}: cache hit in a cold cell ({side.cache_hits} requests reused cached "
                "prompt tokens)")
    if side.wrong_length:
        return f"{who}: {side.wrong_length} requests generated another length than asked"
    return None


def _compare(rules: Sequence[MetricRule], pinned: SideValues,
             candidate: SideValues) -> list[MetricComparison]:
    found = []
    for rule in rules:
        result = compare_metric(rule, pinned.values.get(rule.metric, []),
                                candidate.values.get(rule.metric, []))
        if result is not None:
            found.append(result)
    return found


def judge_cell(cell: str, pinned: SideValues, candidate: SideValues,
               rules: Sequence[MetricRule] = GATE_RULES, *, attempt: int = 1,
               info_rules: Sequence[MetricRule] = INFO_RULES) -> CellResult:
    if candidate.errors:
        return CellResult(cell, attempt, pinned, candidate, (),
                          f"candidate requests failed: {candidate.errors[0]}", Verdict.FAIL)
    for side, who in ((pinned, "pinned"), (candidate, "candidate")):
        reason = _broken(side, who)
        if reason is not None:
            return CellResult(cell, attempt, pinned, candidate, (), f"invalid: {reason}",
                              Verdict.UNSTABLE)
    metrics = _compare(rules, pinned, candidate)
    gated = {rule.metric for rule in rules}
    info = tuple(_compare([r for r in info_rules if r.metric not in gated], pinned, candidate))
    if not metrics:
        return CellResult(cell, attempt, pinned, candidate, (), "no comparable values",
                          Verdict.UNSTABLE, info)
    return CellResult(cell, attempt, pinned, candidate, tuple(metrics), None,
                      worst([m.verdict for m in metrics]), info)


def needs_confirmation(result: CellResult) -> bool:
    """FAIL must be confirmed; UNSTABLE means "re-run, no verdict" (§7.2)."""
    return result.verdict in (Verdict.FAIL, Verdict.UNSTABLE)


@dataclass(frozen=True, slots=True)
class CellOutcome:
    first: CellResult
    confirmation: CellResult | None = None

    @property
    def verdict(self) -> Verdict:
        """The confirmation decides when there is one: a FAIL stands only if repeated."""
        return (self.confirmation or self.first).verdict

    @property
    def final(self) -> CellResult:
        return self.confirmation or self.first


@dataclass(frozen=True, slots=True)
class SpeedResult:
    cells: tuple[CellOutcome, ...]
    rules: tuple[MetricRule, ...]
    interleaved: bool
    """False when the pinned side came from a recorded baseline file."""
    notes: tuple[str, ...] = field(default=())

    @property
    def verdict(self) -> Verdict:
        return worst([c.verdict for c in self.cells]) if self.cells else Verdict.UNSTABLE


def split_rounds(total: int, rounds: int) -> list[int]:
    """`total` samples over `rounds` interleaved rounds, as evenly as possible (12/3 → 4,4,4;
    10/3 → 4,3,3); fewer rounds when there are fewer samples than rounds."""
    rounds = max(1, min(rounds, total))
    base, extra = divmod(total, rounds)
    return [base + (1 if index < extra else 0) for index in range(rounds)]
