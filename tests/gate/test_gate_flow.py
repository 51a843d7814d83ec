"""The whole gate run (`run_gate`) against stand-in engines (tests/gate/fake_engine.py): real
processes and real HTTP on loopback, with answers and reported speeds chosen per test, so
the paths a real engine cannot be made to take on demand are covered in seconds — a build
that changes its own greedy answer (§8.2.4: UNSTABLE, not FAIL), failing requests, several
slots, a small but significant slowdown (WARN), and a FAIL confirmed by a second
measurement (§7.2)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from swapdeck.bench.compare import Verdict
from swapdeck.bench.suite import parse_suite
from swapdeck.gate.correctness import GoldenPrompt
from swapdeck.gate.lock import identify_binary, lock_for, write_lock
from swapdeck.gate.plan import GateError, GateOptions
from swapdeck.gate.report import GateReport
from swapdeck.gate.run import run_gate
from tests.gate.conftest import script

FAKE = Path(__file__).parent / "fake_engine.py"
PROMPTS = tuple(GoldenPrompt(f"p{i}", f"question {i}", 16) for i in range(3))


def fake(folder: Path, mode: str = "same", rate: float = 100.0) -> Path:
    folder.mkdir(parents=True)
    return script(folder / "llama-server", f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" "$@" '
                  f"--fake-mode {mode} --fake-rate {rate}\n")


def options(tmp_path: Path, candidate: Path, *, concurrency: tuple[int, ...] = (1,),
            prompts: tuple[GoldenPrompt, ...] = PROMPTS) -> GateOptions:
    pinned = fake(tmp_path / "pinned")
    write_lock(tmp_path / "engine.lock",
               lock_for(identify_binary(pinned), "b6500-fake0000", locked_at="now"))
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF stand-in")
    suite = parse_suite({"name": "fake", "grid": {"prompt_tokens": [32], "gen_tokens": [8],
                                                  "concurrency": list(concurrency)},
                         "run": {"repetitions": 6, "warmup": 1, "timeout_s": 30}})
    return GateOptions(model=model, lock_path=tmp_path / "engine.lock", candidate=candidate,
                       pinned=pinned, suite=suite, prompts=prompts, health_timeout_s=30)


async def gate(tmp_path: Path, mode: str = "same", rate: float = 100.0,
               **kwargs: object) -> GateReport:
    candidate = fake(tmp_path / "candidate", mode, rate)
    return await run_gate(options(tmp_path, candidate, **kwargs))  # type: ignore[arg-type]


async def test_the_same_engine_passes(tmp_path: Path) -> None:
    report = await gate(tmp_path)
    assert (report.verdict, report.exit_code) == ("PASS", 0)
    assert report.correctness is not None and report.correctness.full_matches == 3
    assert report.speed is not None and report.speed.interleaved
    cell = report.speed.cells[0]
    assert cell.confirmation is None and cell.first.metrics[0].ratio == pytest.approx(1, 0.02)
    assert len(cell.first.pinned.values["tg_norm"]) == 6
    pinned, candidate = report.builds
    assert pinned.pin == "matches engine.lock" and candidate.reported_build == "b6500-fake0000"
    assert candidate.release == "b6500" and "-np" in candidate.server_args


async def test_half_the_speed_fails_after_a_second_measurement(tmp_path: Path) -> None:
    report = await gate(tmp_path, rate=50.0)
    assert (report.verdict, report.exit_code) == ("FAIL", 1)
    assert report.speed is not None
    cell = report.speed.cells[0]
    assert cell.first.verdict is Verdict.FAIL and cell.confirmation is not None
    assert cell.confirmation.verdict is Verdict.FAIL
    assert len(cell.confirmation.candidate.values["tg_norm"]) == 12
    assert cell.confirmation.metrics[0].ratio == pytest.approx(0.5, rel=0.02)


async def test_a_small_significant_slowdown_warns(tmp_path: Path) -> None:
    report = await gate(tmp_path, rate=93.0)
    assert (report.verdict, report.exit_code) == ("WARN", 0)


async def test_a_build_that_changes_its_own_answers_is_unstable(tmp_path: Path) -> None:
    report = await gate(tmp_path, mode="flaky")
    assert report.correctness is not None
    assert report.correctness.verdict is Verdict.UNSTABLE and report.exit_code == 2
    assert "differently when asked twice" in (report.correctness.unstable or "")


async def test_a_build_that_diverges_every_time_fails(tmp_path: Path) -> None:
    report = await gate(tmp_path, mode="diverge")
    assert (report.verdict, report.exit_code) == ("FAIL", 1)
    assert report.correctness is not None and report.correctness.unstable is None
    assert report.correctness.divergence_only and report.speed is None
    assert "speed not measured: the candidate failed correctness" in report.notes


async def test_failing_candidate_requests_fail_the_gate(tmp_path: Path) -> None:
    report = await gate(tmp_path, mode="error")
    assert report.exit_code == 1 and report.correctness is not None
    assert any("HTTP 500" in reason for reason in report.correctness.reasons)


async def test_wider_cells_restart_the_engines_with_more_slots(tmp_path: Path) -> None:
    report = await gate(tmp_path, concurrency=(1, 2))
    assert report.verdict == "PASS", report.speed
    assert report.speed is not None and [c.first.cell for c in report.speed.cells] == [
        "pp32/tg8/c1", "pp32/tg8/c2"]
    assert len(report.speed.cells[1].first.candidate.values["tg_norm"]) == 12
    args = report.builds[1].server_args
    assert args[args.index("-np") + 1] == "2"


async def test_a_pinned_binary_that_is_not_the_pin_is_refused(tmp_path: Path) -> None:
    candidate = fake(tmp_path / "candidate")
    wrong = options(tmp_path, candidate)
    (tmp_path / "pinned" / "llama-server").write_text("#!/bin/sh\nexit 1\n")
    with pytest.raises(GateError, match="refusing the pinned build"):
        await run_gate(wrong)
