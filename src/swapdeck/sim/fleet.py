"""A fleet of simulated hosts for `swapdeck demo`: four eras, steady traffic, one flaky host."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace

from swapdeck.sim.era import Era
from swapdeck.sim.host import SimHost
from swapdeck.sim.model import SimModel

FLAP_UP_S = (20.0, 40.0)
FLAP_DOWN_S = (4.0, 10.0)


@dataclass
class SimHostSpec:
    name: str
    era: Era | str
    seed: int
    api_key: str | None = None
    gpus: int = 1
    models: Sequence[SimModel] | None = None
    rate_per_s: float = 2.0
    flap: bool = False
    """Goes down and comes back every ~20-40 s (connections refused while down)."""


class SimFleet:
    def __init__(self, specs: Sequence[SimHostSpec]) -> None:
        names = [spec.name for spec in specs]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"simulated host names must be unique; repeated: {duplicates}")
        self.specs = tuple(specs)
        self.hosts: dict[str, SimHost] = {}
        self._flappers: list[asyncio.Task[None]] = []

    @classmethod
    async def start(cls, specs: Sequence[SimHostSpec]) -> SimFleet:
        fleet = cls(specs)
        try:
            for spec in fleet.specs:
                host = SimHost(spec.era, name=spec.name, seed=spec.seed, api_key=spec.api_key,
                               models=spec.models, gpus=spec.gpus)
                await host.start()
                # Fleet hosts stand for boxes that have been up a while: clients that
                # connect at once already find a perf sample (§1.9).
                host.sample_perf_now()
                fleet.hosts[spec.name] = host
                if spec.rate_per_s > 0:
                    host.start_traffic(spec.rate_per_s)
                if spec.flap:
                    fleet._flappers.append(asyncio.create_task(_flap(host, spec.seed)))
        except BaseException:
            await fleet.stop()
            raise
        return fleet

    async def stop(self) -> None:
        flappers, self._flappers = self._flappers, []
        for task in flappers:
            task.cancel()
        await asyncio.gather(*flappers, return_exceptions=True)
        for host in self.hosts.values():
            await host.stop()

    def render_config(self, data_dir: str | None = None) -> str:
        """A swapdeck TOML config pointing at the running hosts (see swapdeck.config)."""
        lines: list[str] = []
        if data_dir is not None:
            lines += [f"data_dir = {_toml_string(data_dir)}", ""]
        for spec in self.specs:
            host = self.hosts[spec.name]
            lines += ["[[hosts]]", f"name = {_toml_string(spec.name)}",
                      f"url = {_toml_string(host.url)}", 'kind = "llama-swap"']
            if spec.api_key:
                lines.append(f"api_key = {_toml_string(spec.api_key)}")
            # Simulated hosts listen on loopback but stand for remote boxes: this
            # machine's NVML/psutil readings say nothing about them.
            lines += ["control = true", "local = false", ""]
        return "\n".join(lines)


async def start_fleet(specs: Sequence[SimHostSpec]) -> SimFleet:
    return await SimFleet.start(specs)


async def _flap(host: SimHost, seed: int) -> None:
    rng = random.Random(f"flap:{seed}")
    while True:
        await asyncio.sleep(rng.uniform(*FLAP_UP_S))
        await host.go_down()
        await asyncio.sleep(rng.uniform(*FLAP_DOWN_S))
        with contextlib.suppress(OSError):  # the port was taken meanwhile: try next cycle
            await host.come_up()


def _toml_string(value: str) -> str:
    """A TOML basic string (JSON string escapes are valid TOML escapes)."""
    return json.dumps(value)


# --------------------------------------------------------------------------- the demo fleet

_QWEN3_30B = SimModel("qwen3-30b-a3b", name="Qwen3 30B A3B", aliases=("qwen",), ttl=600,
                      load_s=9.0, prefill_tps=2600.0, decode_tps=95.0, context_length=32768,
                      capabilities=("function_calling",), vram_mb=19800)
_GEMMA_12B = SimModel("gemma-3-12b", name="Gemma 3 12B IT", aliases=("gemma",), ttl=300,
                      load_s=5.0, prefill_tps=1900.0, decode_tps=48.0, context_length=32768,
                      capabilities=("vision",), vram_mb=9100)
_LLAMA_8B = SimModel("llama-3.1-8b", name="Llama 3.1 8B Instruct", aliases=("llama",),
                     load_s=3.5, prefill_tps=3400.0, decode_tps=88.0, context_length=65536,
                     capabilities=("function_calling",), vram_mb=6400)
_CODER_7B = SimModel("qwen2.5-coder-7b", name="Qwen2.5 Coder 7B", ttl=900, load_s=3.0,
                     prefill_tps=3600.0, decode_tps=92.0, context_length=32768, vram_mb=5900)
_MISTRAL_24B = SimModel("mistral-small-24b", name="Mistral Small 3.2 24B", ttl=600,
                        load_s=8.0, prefill_tps=1200.0, decode_tps=31.0, context_length=32768,
                        capabilities=("function_calling", "vision"), vram_mb=16200)
_PHI4_MINI = SimModel("phi-4-mini", name="Phi-4 mini instruct", load_s=2.0, prefill_tps=5200.0,
                      decode_tps=120.0, context_length=16384, vram_mb=3100)
_LLAMA_3B = SimModel("llama-3.2-3b", name="Llama 3.2 3B Instruct", load_s=1.5,
                     prefill_tps=6100.0, decode_tps=140.0, context_length=16384, vram_mb=2600)
_NOMIC = SimModel("nomic-embed", name="Nomic Embed v1.5", group="embed", load_s=1.0,
                  prefill_tps=24000.0, decode_tps=1000.0, unlisted=True, context_length=8192,
                  capabilities=("embedding",), vram_mb=350)


def _in(group: str, model: SimModel) -> SimModel:
    # Demo models vary like real ones: ±6 % per request, and slower per request as
    # parallel slots fill, so the Activity screen's percentiles and the bench have a spread.
    return replace(model, group=group, speed_jitter=0.06, slot_contention=0.18)


# Groups keep the demo lively: models in different groups run side by side, members of one
# group swap (§4), so every host shows some loads and unloads but is not always loading.
DEMO_FLEET: tuple[SimHostSpec, ...] = (
    SimHostSpec("atlas", Era.V250, seed=11, api_key="sk-demo-atlas-7f3a", gpus=2,
                models=(_in("large", _QWEN3_30B), _in("small", _GEMMA_12B),
                        _in("small", _LLAMA_8B), _NOMIC), rate_per_s=2.0),
    SimHostSpec("borealis", Era.V236, seed=23,
                models=(_in("vision", _GEMMA_12B), _in("chat", _CODER_7B),
                        _in("chat", _MISTRAL_24B), _NOMIC), rate_per_s=1.5),
    SimHostSpec("cobalt", Era.V230, seed=37,
                models=(_in("a", _LLAMA_8B), _in("b", _PHI4_MINI), _in("b", _CODER_7B)),
                rate_per_s=1.0),
    SimHostSpec("dune", Era.V200, seed=41, models=(_LLAMA_3B, _LLAMA_8B), rate_per_s=0.8,
                flap=True),
)
