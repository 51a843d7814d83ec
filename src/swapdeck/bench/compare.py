"""Regression verdicts: a candidate run against a baseline, cell by cell (bench-facts §7.2).

For a metric where higher is better (decode t/s) with thresholds WARN `w` and FAIL `f`,
`r = median(candidate) / median(baseline)` and "significant" means the bootstrap 95% CI of
`r` excludes 1 on the worse side AND the two-sided Mann–Whitney p < 0.01:

* UNSTABLE when either group's CV > 10% or any sample is > 50% from its median (no verdict);
* FAIL when `r < 1 − f` and significant;
* WARN when `r < 1 − f` but not significant, or significant and `r < 1 − w`;
* PASS otherwise.

Latency metrics (TTFT) are the mirror image (`r > 1 + f` ...). A cell's verdict is its worst
metric; a run's is its worst cell. Severity: FAIL > UNSTABLE > WARN > PASS.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from swapdeck.bench.stats import mann_whitney_p, max_relative_deviation, ratio_of_medians_ci

SIGNIFICANCE_P = 0.01
UNSTABLE_CV = 0.10
UNSTABLE_DEVIATION = 0.50


class Verdict(StrEnum):
    PASS = "PASS"
    WARN = "WARN"
    UNSTABLE = "UNSTABLE"
    FAIL = "FAIL"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY = {Verdict.PASS: 0, Verdict.WARN: 1, Verdict.UNSTABLE: 2, Verdict.FAIL: 3}


def worst(verdicts: Sequence[Verdict]) -> Verdict:
    return max(verdicts, key=lambda v: v.severity, default=Verdict.PASS)


@dataclass(frozen=True, slots=True)
class MetricRule:
    metric: str
    """A `RequestSample` attribute."""
    label: str
    higher_is_better: bool
    warn: float
    fail: float


DEFAULT_RULES: tuple[MetricRule, ...] = (
    MetricRule("tg_norm", "decode t/s (server)", True, 0.05, 0.10),
    MetricRule("ttft_ms", "TTFT ms", False, 0.10, 0.20),
)
CLIENT_DECODE_RULE = MetricRule("tg_client", "decode t/s (client)", True, 0.05, 0.10)
"""Used instead of the server's `tg_norm` when a server sends no `timings`."""


@dataclass(frozen=True, slots=True)
class MetricComparison:
    rule: MetricRule
    baseline_median: float
    candidate_median: float
    ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    unstable_reason: str | None
    verdict: Verdict

    @property
    def change_pct(self) -> float:
        return (self.ratio - 1.0) * 100.0


def _cv(values: Sequence[float]) -> float:
    data = np.asarray(values, dtype=float)
    if data.size < 2:
        return 0.0
    mean = float(data.mean())
    std = float(data.std(ddof=1))
    if mean == 0:
        return 0.0 if std == 0 else math.inf
    return std / abs(mean)


def instability(values: Sequence[float], who: str) -> str | None:
    cv = _cv(values)
    if cv > UNSTABLE_CV:
        return f"{who} CV {cv * 100:.1f}% > {UNSTABLE_CV * 100:.0f}%"
    deviation = max_relative_deviation(values)
    if deviation > UNSTABLE_DEVIATION:
        return f"{who} has a sample {deviation * 100:.0f}% from its median"
    return None


def compare_metric(rule: MetricRule, baseline: Sequence[float],
                   candidate: Sequence[float]) -> MetricComparison | None:
    """The verdict for one metric of one cell; None when either side has no values."""
    if not baseline or not candidate:
        return None
    base_median = float(np.median(baseline))
    cand_median = float(np.median(candidate))
    if base_median == 0:
        return None
    ratio = cand_median / base_median
    low, high = ratio_of_medians_ci(candidate, baseline)
    p = mann_whitney_p(candidate, baseline)
    reason = instability(baseline, "baseline") or instability(candidate, "candidate")
    verdict = Verdict.UNSTABLE if reason is not None else _decide(rule, ratio, low, high, p)
    return MetricComparison(rule, base_median, cand_median, ratio, low, high, p, reason, verdict)


def _decide(rule: MetricRule, ratio: float, low: float, high: float, p: float) -> Verdict:
    if rule.higher_is_better:
        beyond_fail = ratio < 1.0 - rule.fail
        beyond_warn = ratio < 1.0 - rule.warn
        ci_excludes = math.isfinite(high) and high < 1.0
    else:
        beyond_fail = ratio > 1.0 + rule.fail
        beyond_warn = ratio > 1.0 + rule.warn
        ci_excludes = math.isfinite(low) and low > 1.0
    significant = ci_excludes and p < SIGNIFICANCE_P
    if beyond_fail:
        return Verdict.FAIL if significant else Verdict.WARN
    if beyond_warn and significant:
        return Verdict.WARN
    return Verdict.PASS


@dataclass(frozen=True, slots=True)
class CellComparison:
    cell: str
    metrics: tuple[MetricComparison, ...]
    note: str | None
    """Why a cell has no verdict or a forced one (invalid, missing on one side)."""
    verdict: Verdict | None


@dataclass(frozen=True, slots=True)
class RunComparison:
    cells: tuple[CellComparison, ...]
    verdict: Verdict

    @property
    def failed(self) -> bool:
        return self.verdict is Verdict.FAIL


CellValues = Mapping[str, Mapping[str, Sequence[float]]]
"""cell key -> metric name -> the valid measured values of that metric."""


def compare_runs(baseline: CellValues, candidate: CellValues, *,
                 invalid: Mapping[str, str] | None = None,
                 rules: Sequence[MetricRule] = DEFAULT_RULES) -> RunComparison:
    """Every cell present in either run, in the candidate's order then the baseline's.

    `invalid` maps cells that must not be compared (a cache hit in a cold cell, every
    request failed) to the reason; they get no verdict and count as UNSTABLE for the run,
    so a broken measurement never passes silently.
    """
    invalid = invalid or {}
    keys = list(candidate) + [k for k in baseline if k not in candidate]
    cells: list[CellComparison] = []
    for key in keys:
        if key in invalid:
            cells.append(CellComparison(key, (), f"invalid: {invalid[key]}", Verdict.UNSTABLE))
            continue
        if key not in baseline or key not in candidate:
            side = "baseline" if key not in baseline else "candidate"
            cells.append(CellComparison(key, (), f"not in the {side} run", None))
            continue
        results = []
        for rule in _rules_for(rules, baseline[key], candidate[key]):
            result = compare_metric(rule, baseline[key].get(rule.metric, ()),
                                    candidate[key].get(rule.metric, ()))
            if result is not None:
                results.append(result)
        if not results:
            cells.append(CellComparison(key, (), "no comparable values", Verdict.UNSTABLE))
            continue
        cells.append(CellComparison(key, tuple(results), None,
                                    worst([r.verdict for r in results])))
    verdicts = [c.verdict for c in cells if c.verdict is not None]
    return RunComparison(tuple(cells), worst(verdicts))


def _rules_for(rules: Sequence[MetricRule], base: Mapping[str, Sequence[float]],
               cand: Mapping[str, Sequence[float]]) -> list[MetricRule]:
    """Server decode t/s when both sides have it, else the client's own decode t/s."""
    chosen: list[MetricRule] = []
    for rule in rules:
        if rule.metric == "tg_norm" and not (base.get("tg_norm") and cand.get("tg_norm")):
            chosen.append(CLIENT_DECODE_RULE)
        else:
            chosen.append(rule)
    return chosen
