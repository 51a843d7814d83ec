"""One gate run, end to end: check the pin, start the engines, correctness, speed, report.

Order and why:
1. `prepare`: lock, pinned binary against it, baseline file, model — refused before any
   engine starts (exit 2).
2. Both engines with one slot (`-np 1`): `/health`, `/props`, `/v1/models` meta; a start
   failure is diagnosed from the engine's own output (exit 2).
3. Correctness: the pinned build's greedy answers (or the baseline's) are the goldens. When
   the candidate diverges and nothing else is wrong, the diverging prompts are asked again
   of both builds: a build that disagrees with itself makes the result UNSTABLE, not FAIL.
4. Speed, unless correctness failed (a build that answers differently is not worth timing):
   engines restarted with the grid's widest concurrency as slots if it is above one, then
   per cell interleaved rounds; FAIL/UNSTABLE cells are measured again with 2× samples.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from swapdeck.bench.compare import Verdict
from swapdeck.gate.correctness import (
    Answer,
    CorrectnessResult,
    GoldenPrompt,
    judge_correctness,
    needs_determinism_check,
    same_answer,
)
from swapdeck.gate.engines import AnswerError, Engines, RunningEngine, ask, ask_all, tokenized
from swapdeck.gate.launch import EngineSpec, server_args
from swapdeck.gate.lock import BinaryIdentity, release_of
from swapdeck.gate.measure import MeasureError, PromptMaker, measure_cell
from swapdeck.gate.plan import GateError, GateOptions, Prepared, iso, prepare
from swapdeck.gate.report import BuildReport, GateReport
from swapdeck.gate.speed import (
    CONFIRM_FACTOR,
    CellOutcome,
    SideValues,
    SpeedResult,
    judge_cell,
    needs_confirmation,
    side_values,
)

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


def _build(role: str, identity: BinaryIdentity, engine: RunningEngine | None, pin: str,
           args: Sequence[str]) -> BuildReport:
    reported = engine.build if engine is not None else None
    return BuildReport(role=role, path=str(identity.path), reported_build=reported,
                       release=release_of(reported or "", identity.package, identity.version),
                       package=identity.package, version=identity.version,
                       sha256=identity.sha256, libraries_sha256=identity.libraries_sha256,
                       pin=pin, server_args=tuple(args))


def _baseline_build(prepared: Prepared) -> BuildReport:
    baseline = prepared.baseline
    assert baseline is not None
    engine = baseline.engine
    return BuildReport(role="pinned", path=str(engine.get("path", "")),
                       reported_build=engine.get("build"), release=engine.get("release"),
                       package=engine.get("package"), version=engine.get("version"),
                       sha256=str(engine.get("sha256", "")),
                       libraries_sha256=engine.get("libraries_sha256"),
                       pin=f"recorded baseline of {baseline.recorded_at} (matches the lock)")


def _builds(options: GateOptions, prepared: Prepared, engines: Engines) -> tuple[BuildReport,
                                                                                  ...]:
    parallel = max(engines.parallel, 1)
    builds: list[BuildReport] = []
    if prepared.pinned is not None:
        builds.append(_build("pinned", prepared.pinned, engines.get("pinned"),
                             f"matches {options.lock_path.name}",
                             server_args(engines.specs[0], parallel)))
    elif prepared.baseline is not None:
        builds.append(_baseline_build(prepared))
    if prepared.candidate is not None:
        same = prepared.candidate.sha256 == prepared.lock.sha256
        builds.append(_build("candidate", prepared.candidate, engines.get("candidate"),
                             "candidate (the pinned binary itself)" if same else "candidate",
                             server_args(engines.specs[-1], parallel)))
    return tuple(builds)


def _smoke(engines: Engines, prepared: Prepared) -> list[str]:
    """§8.2.1: both builds read the model the same way and serve one slot."""
    problems = []
    candidate = engines["candidate"]
    reference = engines.get("pinned")
    expected = (reference.meta if reference is not None else
                prepared.baseline.model.meta if prepared.baseline else None) or {}
    actual = candidate.meta or {}
    # Keys both builds report: a newer build may add fields, which is not a difference.
    differing = sorted(k for k in set(expected) & set(actual) if expected[k] != actual[k])
    if differing:
        problems.append(f"the candidate reads the model differently (/v1/models meta: "
                        f"{', '.join(differing)})")
    slots = candidate.props.get("total_slots")
    if isinstance(slots, int) and slots != engines.parallel:
        problems.append(f"the candidate serves {slots} slots, asked for {engines.parallel}")
    return problems


async def _correctness(options: GateOptions, prepared: Prepared, engines: Engines,
                       progress: Progress) -> CorrectnessResult:
    candidate = engines["candidate"]
    pinned = engines.get("pinned")
    if prepared.baseline is not None:
        prompts = [g.prompt for g in prepared.baseline.goldens]
        goldens = [g.answer for g in prepared.baseline.goldens]
    else:
        assert pinned is not None
        prompts = list(options.prompts)
        progress(f"correctness: {len(prompts)} greedy prompts on the pinned build")
        try:
            goldens = await ask_all(pinned, prompts)
        except AnswerError as exc:
            raise GateError(f"the pinned build did not answer: {exc}") from None
    progress(f"correctness: {len(prompts)} greedy prompts on the candidate")
    smoke = _smoke(engines, prepared)
    answers = []
    for index, prompt in enumerate(prompts):
        try:
            answer = await ask(candidate, prompt)
            if answer.token_ids is None or goldens[index].token_ids is None:
                # One side sent no ids: compare both as the same tokenizer reads the texts.
                answer = await tokenized(candidate, answer)
                goldens[index] = await tokenized(candidate, goldens[index])
        except AnswerError as exc:
            smoke.append(str(exc))
            answer = Answer("", (), None, None)
        answers.append(answer)
    result = judge_correctness(prompts, goldens, answers, options.budget, smoke=smoke)
    if result.verdict is Verdict.FAIL and result.divergence_only:
        unstable = await _self_disagreement(prompts, goldens, answers, result, candidate,
                                            pinned, progress)
        if unstable is not None:
            result = judge_correctness(prompts, goldens, answers, options.budget,
                                       smoke=smoke, unstable=unstable)
    return result


async def _self_disagreement(prompts: Sequence[GoldenPrompt], goldens: Sequence[Answer],
                             answers: Sequence[Answer], result: CorrectnessResult,
                             candidate: RunningEngine, pinned: RunningEngine | None,
                             progress: Progress) -> str | None:
    """§8.2.4: ask the diverging prompts again; a build that changes its answer is noise."""
    diverging = set(needs_determinism_check(result))
    progress(f"correctness: asking {len(diverging)} diverging prompts again")
    for index, prompt in enumerate(prompts):
        if prompt.id not in diverging:
            continue
        try:
            again = await ask(candidate, prompt)
            if not same_answer(again, answers[index]):
                return f"the candidate answered {prompt.id!r} differently when asked twice"
            if pinned is not None:
                gold = await ask(pinned, prompt)
                if not same_answer(gold, goldens[index]):
                    return f"the pinned build answered {prompt.id!r} differently when asked twice"
        except AnswerError as exc:
            return str(exc)
    return None


async def _measure(options: GateOptions, engines: Engines, maker: PromptMaker,
                   samples: int, cell_index: int, progress: Progress) -> dict[str, SideValues]:
    cell = options.suite.cells()[cell_index]
    endpoints = [e.endpoint for e in engines.running.values()]
    measured = await measure_cell(endpoints, cell, maker, samples=samples,
                                  warmup=options.suite.run.warmup, rounds=options.rounds,
                                  timeout_s=options.suite.run.timeout_s, progress=progress)
    return {label: side_values(found, cell.gen_tokens) for label, found in measured.items()}


async def _speed(options: GateOptions, prepared: Prepared, engines: Engines,
                 progress: Progress) -> SpeedResult:
    cells = options.suite.cells()
    maker = PromptMaker(next(iter(engines.running.values())).client)
    outcomes = []
    repetitions = options.suite.run.repetitions
    for index, cell in enumerate(cells):
        sides = await _measure(options, engines, maker, repetitions, index, progress)
        pinned = prepared.baseline.speed[cell.key] if prepared.baseline else sides["pinned"]
        first = judge_cell(cell.key, pinned, sides["candidate"], options.rules)
        confirmation = None
        if needs_confirmation(first):
            progress(f"speed {cell.key}: {first.verdict.value}, measuring again with "
                     f"{CONFIRM_FACTOR}× samples")
            sides = await _measure(options, engines, maker, repetitions * CONFIRM_FACTOR, index,
                                   progress)
            pinned = prepared.baseline.speed[cell.key] if prepared.baseline else sides["pinned"]
            confirmation = judge_cell(cell.key, pinned, sides["candidate"], options.rules,
                                      attempt=2)
        outcomes.append(CellOutcome(first, confirmation))
    notes: tuple[str, ...] = ()
    if prepared.baseline is not None:
        notes = (f"pinned samples recorded {prepared.baseline.recorded_at} on this hardware; "
                 "a drift of the machine since then counts against the candidate",)
    return SpeedResult(tuple(outcomes), tuple(options.rules),
                       interleaved=prepared.baseline is None, notes=notes)


def _specs(options: GateOptions, prepared: Prepared) -> list[EngineSpec]:
    specs = []
    if prepared.pinned is not None:
        specs.append(EngineSpec("pinned", prepared.pinned.path, options.model, options.threads,
                                options.health_timeout_s))
    if prepared.candidate is not None:
        specs.append(EngineSpec("candidate", prepared.candidate.path, options.model,
                                options.threads, options.health_timeout_s))
    return specs


async def run_gate(options: GateOptions, *, clock: Callable[[], float] = time.time,
                   progress: Progress = _quiet) -> GateReport:
    """The whole gate; raises `GateError` (or `ConfigError` for a bad file) before starting."""
    started = clock()
    prepared = prepare(options)
    notes: list[str] = []
    correctness = speed = None
    async with Engines(_specs(options, prepared)) as engines:
        progress("starting the engines (-np 1)")
        failure = await engines.start(1)
        model = prepared.model
        if failure is None:
            reference = engines.get("pinned") or engines["candidate"]
            model = replace(model, meta=reference.meta)
            try:
                correctness = await _correctness(options, prepared, engines, progress)
                if options.skip_speed:
                    notes.append("speed not measured (--skip-speed)")
                elif correctness.verdict is Verdict.FAIL:
                    notes.append("speed not measured: the candidate failed correctness")
                else:
                    widest = max(c.concurrency for c in options.suite.cells())
                    if widest > 1:
                        progress(f"restarting the engines with -np {widest} for speed")
                        failure = await engines.start(widest)
                    if failure is None:
                        speed = await _speed(options, prepared, engines, progress)
            except MeasureError as exc:
                raise GateError(str(exc)) from None
        builds = _builds(options, prepared, engines)
    return GateReport(started_at=iso(started), duration_s=clock() - started, builds=builds,
                      model=model, hardware=prepared.hardware, correctness=correctness,
                      speed=speed, start_failure=failure, notes=tuple(notes))


def pinned_engine_dict(identity: BinaryIdentity, build: str | None) -> dict[str, Any]:
    """The `engine` block of a recorded baseline."""
    return {"path": str(identity.path), "build": build,
            "release": release_of(build or "", identity.package, identity.version),
            "package": identity.package, "version": identity.version,
            "sha256": identity.sha256, "libraries_sha256": identity.libraries_sha256}
