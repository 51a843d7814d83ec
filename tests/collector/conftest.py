"""Builders for collector tests: fast simulated hosts, configs, scrapes parsed by
prometheus_client's own parsers, and a `python -m swapdeck collect` subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families as parse_text

from swapdeck.config import Config, parse_config
from swapdeck.sim import SimHost, SimModel

OPENMETRICS = "application/openmetrics-text; version=1.0.0"

# Separate swap groups: requests to one never unload the other, so every request succeeds
# or fails only as the test asks (§4).
MODELS = (
    SimModel("alpha", group="a", load_s=0.02, prefill_tps=50_000.0, decode_tps=2_000.0),
    SimModel("beta", group="b", load_s=0.02, prefill_tps=50_000.0, decode_tps=2_000.0),
)

SampleKey = tuple[str, frozenset[tuple[str, str]]]


@dataclass
class Scrape:
    samples: dict[SampleKey, float]
    types: dict[str, str] = field(default_factory=dict)

    # Positional-only names: `name` is also a label (the GPU's).
    def value(self, metric: str, /, **labels: str) -> float:
        return self.samples[(metric, frozenset(labels.items()))]

    def get(self, metric: str, /, **labels: str) -> float | None:
        return self.samples.get((metric, frozenset(labels.items())))

    def series(self, metric: str, /, **where: str) -> dict[frozenset[tuple[str, str]], float]:
        """Every sample of `metric` whose labels include `where`."""
        wanted = set(where.items())
        return {labels: value for (sample, labels), value in self.samples.items()
                if sample == metric and wanted <= labels}

    def total(self, metric: str, /, **where: str) -> float:
        return sum(self.series(metric, **where).values())

    def counters(self) -> dict[SampleKey, float]:
        """Every counter and histogram sample: what a restart must not reset."""
        kinds = ("counter", "histogram")
        return {key: value for key, value in self.samples.items()
                if self.types.get(_family_of(key[0], self.types)) in kinds}


def _family_of(sample: str, types: Mapping[str, str]) -> str:
    for suffix in ("_total", "_bucket", "_count", "_sum", "_created"):
        if sample.endswith(suffix) and sample.removesuffix(suffix) in types:
            return sample.removesuffix(suffix)
    return sample


def parse_page(text: str, *, openmetrics: bool) -> Scrape:
    families = parse_om(text) if openmetrics else parse_text(text)  # type: ignore[no-untyped-call]
    scrape = Scrape({})
    for family in families:
        scrape.types[family.name] = family.type
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            assert key not in scrape.samples, f"duplicate sample {key}"
            scrape.samples[key] = sample.value
    return scrape


async def scrape(url: str, *, token: str | None = None, openmetrics: bool = True) -> Scrape:
    headers = {"Accept": OPENMETRICS} if openmetrics else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(verify=False, timeout=10.0) as client:
        response = await client.get(url, headers=headers)
    response.raise_for_status()
    return parse_page(response.text, openmetrics=openmetrics)


async def eventually(check: Callable[[], Awaitable[bool]], *, timeout: float = 20.0,
                     what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not met within {timeout:.0f} s")
        await asyncio.sleep(0.05)


def config_for(hosts: Mapping[str, SimHost], data_dir: Path, **collector: Any) -> Config:
    return parse_config({
        "data_dir": str(data_dir),
        "collector": {"port": 0, "writer_interval_s": 0.1, **collector},
        "hosts": [{"name": name, "url": host.url, "local": False, "health_interval_s": 1}
                  for name, host in hosts.items()],
    })


def write_config(path: Path, hosts: Mapping[str, SimHost], data_dir: Path,
                 **collector: Any) -> Path:
    lines = [f"data_dir = {json.dumps(str(data_dir))}", "", "[collector]", "port = 0"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in collector.items()]
    for name, host in hosts.items():
        lines += ["", "[[hosts]]", f"name = {json.dumps(name)}", f"url = {json.dumps(host.url)}",
                  "local = false", "health_interval_s = 1"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
async def sim_hosts() -> AsyncIterator[Callable[..., Awaitable[SimHost]]]:
    started: list[SimHost] = []

    async def start(era: str, name: str, seed: int = 1) -> SimHost:
        host = SimHost(era, name=name, seed=seed, models=MODELS)
        await host.start()
        host.sample_perf_now()  # a host up for a while has a perf sample at once (§1.9)
        started.append(host)
        return host

    yield start
    for host in started:
        await host.stop()


# --------------------------------------------------------------------------- subprocess

SERVING = re.compile(r'msg="serving metrics" url=(\S+)')


class CollectorProcess:
    """`python -m swapdeck --config FILE collect`, its stderr read line by line."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def start(cls, config_path: Path) -> CollectorProcess:
        env = {**os.environ, "XDG_CONFIG_HOME": str(config_path.parent / "xdg-config"),
               "XDG_DATA_HOME": str(config_path.parent / "xdg-data")}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "swapdeck", "--config", str(config_path), "collect",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE, env=env)
        return cls(proc)

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    async def url(self) -> str:
        async def serving() -> bool:
            if self.proc.returncode is not None:
                raise AssertionError("collector exited early:\n" + "\n".join(self.lines))
            return any(SERVING.search(line) for line in self.lines)

        await eventually(serving, what="collector serving metrics")
        return next(m.group(1) for line in self.lines if (m := SERVING.search(line)))

    async def wait(self, timeout: float = 30.0) -> int:
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        await asyncio.wait_for(self._reader, timeout)
        return code

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
        await self.wait()
