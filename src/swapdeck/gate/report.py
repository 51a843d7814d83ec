"""The gate's report: one value holding everything a reviewer needs, as JSON and as a
Markdown summary meant to be pasted into a change request. Pure.

Verdict and exit code: the worst of correctness and speed with the bench's severity
(FAIL > UNSTABLE > WARN > PASS). PASS and WARN exit 0, FAIL exits 1, UNSTABLE and
"could not run" (an engine did not start, a pin did not match) exit 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from swapdeck.bench.compare import MetricComparison, Verdict, worst
from swapdeck.gate.correctness import CorrectnessResult
from swapdeck.gate.goldens import ModelFingerprint
from swapdeck.gate.launch import StartFailure
from swapdeck.gate.speed import CellResult, SpeedResult

COULD_NOT_RUN = "COULD NOT RUN"


@dataclass(frozen=True, slots=True)
class BuildReport:
    role: str
    path: str
    reported_build: str | None
    """`/props` `build_info` (the completions' `system_fingerprint` says the same)."""
    release: str | None
    package: str | None
    version: str | None
    sha256: str
    libraries_sha256: str | None
    pin: str
    """How it relates to the lock: matches it, is the candidate, came from a baseline file."""
    server_args: tuple[str, ...] = ()

    @property
    def source(self) -> str:
        return f"{self.package}=={self.version}" if self.package else "unknown package"

    def as_dict(self) -> dict[str, Any]:
        return {"role": self.role, "path": self.path, "reported_build": self.reported_build,
                "release": self.release, "package": self.package, "version": self.version,
                "sha256": self.sha256, "libraries_sha256": self.libraries_sha256,
                "pin": self.pin, "server_args": list(self.server_args)}


@dataclass(frozen=True, slots=True)
class GateReport:
    started_at: str
    duration_s: float
    builds: tuple[BuildReport, ...]
    model: ModelFingerprint | None
    hardware: dict[str, Any]
    correctness: CorrectnessResult | None
    speed: SpeedResult | None
    start_failure: StartFailure | None = None
    error: str | None = None
    """An expected failure before anything was measured (pin mismatch, bad baseline)."""
    notes: tuple[str, ...] = field(default=())

    @property
    def verdict(self) -> str:
        if self.start_failure is not None or self.error is not None:
            return COULD_NOT_RUN
        parts = [r.verdict for r in (self.correctness, self.speed) if r is not None]
        return worst(parts).value if parts else COULD_NOT_RUN

    @property
    def exit_code(self) -> int:
        return {Verdict.PASS.value: 0, Verdict.WARN.value: 0, Verdict.FAIL.value: 1}.get(
            self.verdict, 2)


# --------------------------------------------------------------------------- JSON


def _metric_dict(m: MetricComparison) -> dict[str, Any]:
    return {"metric": m.rule.metric, "label": m.rule.label,
            "higher_is_better": m.rule.higher_is_better, "warn": m.rule.warn,
            "fail": m.rule.fail, "pinned_median": m.baseline_median,
            "candidate_median": m.candidate_median, "ratio": m.ratio,
            "ci_low": _finite(m.ci_low), "ci_high": _finite(m.ci_high),
            "p_value": m.p_value, "unstable_reason": m.unstable_reason,
            "verdict": m.verdict.value}


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _cell_dict(result: CellResult) -> dict[str, Any]:
    return {"attempt": result.attempt, "verdict": result.verdict.value, "note": result.note,
            "metrics": [_metric_dict(m) for m in result.metrics],
            "info": [_metric_dict(m) for m in result.info],
            "pinned": result.pinned.as_dict(), "candidate": result.candidate.as_dict()}


def report_dict(report: GateReport) -> dict[str, Any]:
    correctness = report.correctness
    speed = report.speed
    failure = report.start_failure
    return {
        "kind": "swapdeck-gate-report", "version": 1,
        "verdict": report.verdict, "exit_code": report.exit_code,
        "started_at": report.started_at, "duration_s": round(report.duration_s, 1),
        "builds": [b.as_dict() for b in report.builds],
        "model": report.model.as_dict() if report.model else None,
        "hardware": report.hardware,
        "error": report.error,
        "start_failure": None if failure is None else {
            "role": failure.role, "binary": str(failure.binary),
            "kind": failure.diagnosis.kind, "diagnosis": failure.diagnosis.message,
            "evidence": failure.diagnosis.evidence, "output_tail": failure.output_tail},
        "correctness": None if correctness is None else {
            "verdict": correctness.verdict.value, "reasons": list(correctness.reasons),
            "budget": {"prefix_tokens": correctness.budget.prefix_tokens,
                       "min_agreement": correctness.budget.min_agreement,
                       "rule": correctness.budget.describe()},
            "agreement": correctness.agreement, "full_matches": correctness.full_matches,
            "smoke": list(correctness.smoke), "unstable": correctness.unstable,
            "prompts": [{"id": c.id, "ok": c.ok, "first_divergence": c.first_divergence,
                         "agreed": c.agreed, "golden_tokens": c.golden_tokens,
                         "candidate_tokens": c.candidate_tokens, "missing": list(c.missing),
                         "not_enforced": list(c.not_enforced), "defects": list(c.defects),
                         "problems": list(c.problems), "golden_text": c.golden_text,
                         "candidate_text": c.candidate_text} for c in correctness.checks]},
        "speed": None if speed is None else {
            "verdict": speed.verdict.value, "interleaved": speed.interleaved,
            "notes": list(speed.notes),
            "cells": {o.first.cell: {"verdict": o.verdict.value, "first": _cell_dict(o.first),
                                     "confirmation": _cell_dict(o.confirmation)
                                     if o.confirmation else None}
                      for o in speed.cells}},
        "notes": list(report.notes),
    }


# --------------------------------------------------------------------------- Markdown


def _short(sha: str | None) -> str:
    return f"`{sha[:16]}…`" if sha else "—"


def _cell_text(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", "⏎")


def _builds_table(builds: tuple[BuildReport, ...]) -> list[str]:
    rows = [("build (reported)", [b.reported_build or "—" for b in builds]),
            ("release", [b.release or "—" for b in builds]),
            ("package", [b.source for b in builds]),
            ("binary sha256", [_short(b.sha256) for b in builds]),
            ("libraries sha256", [_short(b.libraries_sha256) for b in builds]),
            ("pin", [b.pin for b in builds])]
    lines = ["| | " + " | ".join(b.role for b in builds) + " |",
             "|---|" + "---|" * len(builds)]
    lines += [f"| {name} | " + " | ".join(_cell_text(v) for v in values) + " |"
              for name, values in rows]
    return lines


def _model_line(model: ModelFingerprint) -> str:
    meta = model.meta or {}
    params = meta.get("n_params")
    extra = f", {params / 1e6:.1f} M parameters" if isinstance(params, int | float) else ""
    return (f"**Model:** {model.file}, sha256 `{model.sha256}`, "
            f"{model.size_bytes / 1e6:.1f} MB{extra}")


def _hardware_line(hardware: dict[str, Any]) -> str:
    memory = hardware.get("memory_bytes")
    mem = f", {memory / 2**30:.1f} GiB RAM" if isinstance(memory, int) else ""
    cpus = hardware.get("logical_cpus")
    return (f"**Hardware:** {hardware.get('cpu') or '?'} ({hardware.get('architecture', '?')}, "
            f"{cpus or '?'} logical CPUs{mem})")


def _correctness_lines(result: CorrectnessResult) -> list[str]:
    lines = [f"### Correctness: {result.verdict.value}", "",
             "Greedy decoding (temperature 0, top_k 1, seed 42, `cache_prompt:false`, one slot); "
             f"budget: {result.budget.describe()}.", "",
             "| prompt | must contain | first divergence | tokens agreed | result |",
             "|---|---|---|---|---|"]
    for c in result.checks:
        enforced = [f"{s} ✗" for s in c.missing]
        enforced += [f"{s} (not held by pinned)" for s in c.not_enforced]
        must = ", ".join(enforced) or ("✓" if not c.missing else "")
        where = "identical" if c.first_divergence is None else f"token {c.first_divergence}"
        verdict = "ok" if c.ok else "; ".join(c.problems)
        lines.append(f"| {c.id} | {_cell_text(must)} | {where} | {c.agreed}/{c.golden_tokens} "
                     f"| {_cell_text(verdict)} |")
    lines += ["", f"Agreement: {result.agreement * 100:.1f}% of golden tokens; "
              f"{result.full_matches}/{len(result.checks)} prompts identical."]
    lines += [f"- {reason}" for reason in result.smoke]
    if result.unstable:
        lines.append(f"- unstable: {result.unstable}")
    return lines


def _metric_row(cell: str, attempt: int, m: MetricComparison, *, gated: bool = True) -> str:
    ci = (f"{m.ci_low:.3f}–{m.ci_high:.3f}" if math.isfinite(m.ci_low)
          and math.isfinite(m.ci_high) else "—")
    verdict = m.verdict.value + (f" ({m.unstable_reason})" if m.unstable_reason else "")
    if not gated:
        verdict = f"not gated (would be {verdict})"
    label = cell if attempt == 1 else f"{cell} (re-run, 2× samples)"
    return (f"| {label} | {m.rule.label} | {m.baseline_median:.2f} | {m.candidate_median:.2f} "
            f"| {m.ratio:.3f} ({m.change_pct:+.1f}%) | {ci} | {m.p_value:.2g} | {verdict} |")


def _speed_lines(result: SpeedResult) -> list[str]:
    how = ("pinned and candidate interleaved (P, C, P, C…)" if result.interleaved
           else "candidate against the recorded baseline samples (not interleaved)")
    rules = "; ".join(f"{r.label} WARN {r.warn * 100:.0f}% / FAIL {r.fail * 100:.0f}%"
                      for r in result.rules)
    rules += " (only these decide; the other rows are for reading)"
    lines = [f"### Speed: {result.verdict.value}", "",
             f"{how}; medians of per-request values, bootstrap 95% CI of the ratio, "
             f"Mann–Whitney p; thresholds: {rules}; a FAIL or UNSTABLE cell is re-run once "
             "with twice the samples and only the re-run counts.", "",
             "| cell | metric | pinned median | candidate median | ratio | 95% CI | p | verdict |",
             "|---|---|---|---|---|---|---|---|"]
    for outcome in result.cells:
        for attempt in (outcome.first, outcome.confirmation):
            if attempt is None:
                continue
            if attempt.note is not None:
                label = attempt.cell if attempt.attempt == 1 else f"{attempt.cell} (re-run)"
                lines.append(f"| {label} | — | | | | | | {attempt.verdict.value}: "
                             f"{_cell_text(attempt.note)} |")
            lines += [_metric_row(attempt.cell, attempt.attempt, m) for m in attempt.metrics]
            lines += [_metric_row(attempt.cell, attempt.attempt, m, gated=False)
                      for m in attempt.info]
        samples = (f"{len(outcome.final.pinned.values.get('tg_norm', []))} pinned / "
                   f"{len(outcome.final.candidate.values.get('tg_norm', []))} candidate")
        lines.append(f"| **{outcome.first.cell}** | **cell verdict** | | | | | "
                     f"{samples} samples | **{outcome.verdict.value}** |")
    lines += [f"- {note}" for note in result.notes]
    return lines


def render_markdown(report: GateReport) -> str:
    candidate = next((b for b in report.builds if b.role == "candidate"), None)
    pinned = next((b for b in report.builds if b.role == "pinned"), None)
    title = (f"## Engine gate: {report.verdict} — "
             f"{(pinned.release or pinned.reported_build) if pinned else '?'} → "
             f"{candidate.path if candidate else '?'}")
    lines = [title, ""]
    if report.builds:
        lines += [*_builds_table(report.builds), ""]
    if report.model is not None:
        lines += [_model_line(report.model), ""]
    if report.hardware:
        lines += [_hardware_line(report.hardware), ""]
    if report.error is not None:
        lines += [f"**Could not run:** {report.error}", ""]
    failure = report.start_failure
    if failure is not None:
        lines += [f"**Could not run:** the {failure.role} engine did not start: "
                  f"{failure.diagnosis.message}", ""]
        if failure.diagnosis.evidence:
            lines += [f"> {failure.diagnosis.evidence}", ""]
    if report.correctness is not None:
        lines += [*_correctness_lines(report.correctness), ""]
    if report.speed is not None:
        lines += [*_speed_lines(report.speed), ""]
    lines += [f"- {note}" for note in report.notes]
    if report.notes:
        lines.append("")
    lines.append(f"**Verdict: {report.verdict}** (exit {report.exit_code}; "
                 f"{report.duration_s:.0f} s, started {report.started_at})")
    return "\n".join(lines) + "\n"
