"""Recording the pinned build's baseline once: goldens (asked twice: a build that changes its
own greedy answers cannot be a reference) and, unless skipped, its speed samples."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from swapdeck.gate.correctness import same_answer
from swapdeck.gate.engines import AnswerError, Engines, ask_all
from swapdeck.gate.goldens import Baseline, goldens_from
from swapdeck.gate.launch import EngineSpec
from swapdeck.gate.measure import MeasureError, PromptMaker, measure_cell
from swapdeck.gate.plan import GateError, GateOptions, iso, prepare
from swapdeck.gate.run import pinned_engine_dict
from swapdeck.gate.speed import SideValues, side_values

GREEDY_REQUEST = {"endpoint": "/v1/chat/completions", "temperature": 0.0, "top_k": 1,
                  "seed": 42, "cache_prompt": False, "n_probs": 1, "slots": 1}


def _quiet(_: str) -> None:
    return None


async def record_baseline(options: GateOptions, *, clock: Callable[[], float] = time.time,
                          progress: Callable[[str], None] = _quiet) -> Baseline:
    prepared = prepare(options, recording=True)
    pinned = prepared.pinned
    assert pinned is not None
    spec = EngineSpec("pinned", pinned.path, options.model, options.threads,
                      options.health_timeout_s)
    speed: dict[str, SideValues] = {}
    async with Engines([spec]) as engines:
        progress("starting the pinned engine (-np 1)")
        failure = await engines.start(1)
        if failure is not None:
            raise GateError(f"the pinned engine did not start: {failure.diagnosis.message}")
        engine = engines["pinned"]
        build, meta = engine.build, engine.meta
        try:
            progress(f"recording {len(options.prompts)} greedy answers (twice)")
            first = await ask_all(engine, options.prompts)
            second = await ask_all(engine, options.prompts)
        except AnswerError as exc:
            raise GateError(f"the pinned build did not answer: {exc}") from None
        changed = [p.id for p, a, b in zip(options.prompts, first, second, strict=True)
                   if not same_answer(a, b)]
        if changed:
            raise GateError(f"the pinned build is not deterministic here (answers to "
                            f"{', '.join(changed)} changed when asked twice): no baseline")
        if not options.skip_speed:
            widest = max(c.concurrency for c in options.suite.cells())
            if widest > 1 and (failure := await engines.start(widest)) is not None:
                raise GateError(f"the pinned engine did not restart with -np {widest}: "
                                f"{failure.diagnosis.message}")
            engine = engines["pinned"]
            maker = PromptMaker(engine.client)
            try:
                for cell in options.suite.cells():
                    measured = await measure_cell(
                        [engine.endpoint], cell, maker, samples=options.suite.run.repetitions,
                        warmup=options.suite.run.warmup, rounds=options.rounds,
                        timeout_s=options.suite.run.timeout_s, progress=progress)
                    speed[cell.key] = side_values(measured["pinned"], cell.gen_tokens)
            except MeasureError as exc:
                raise GateError(str(exc)) from None
    return Baseline(recorded_at=iso(clock()), engine=pinned_engine_dict(pinned, build),
                    model=replace(prepared.model, meta=meta), hardware=prepared.hardware,
                    hardware_fingerprint=prepared.hardware_fingerprint,
                    request=dict(GREEDY_REQUEST), goldens=goldens_from(options.prompts, first),
                    speed_suite=None if options.skip_speed
                    else options.suite.model_dump(mode="json"),
                    speed=speed)
