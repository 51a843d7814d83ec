"""Shared pieces for the TUI tests: a runtime-like object over a hand-fed FleetState.

`FedRuntime` is the real data plane minus the network: a real `FleetState`, a real `Hub`
(coalesced subscriptions) and a real `ActionQueue`, with `HeldConnector`s standing in for
llama-swap. Tests feed events through `runtime.hub.emit` and watch the screen.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from swapdeck.config import Config, parse_config
from swapdeck.events import (
    ActivityRecord,
    ActivityRecorded,
    EngineVersion,
    GpuSample,
    HostEvent,
    InflightRequest,
    InflightSnapshot,
    Liveness,
    LivenessChanged,
    ModelInfo,
    ModelsListed,
    ModelState,
    PerfSampled,
    SysSample,
)
from swapdeck.fleet.actions import ActionQueue
from swapdeck.fleet.hub import Hub
from swapdeck.fleet.state import FleetState
from swapdeck.sources.base import Emit
from swapdeck.sources.local import LocalReading
from swapdeck.tui.app import SwapdeckApp
from swapdeck.tui.clock import FrozenClock

NOW = 1_750_000_000.0
"""The frozen 'now' of every TUI test (2025-06-15T15:06:40Z)."""


class HeldConnector:
    """Stands in for a llama-swap connector: records each call; with `hold()` set, every
    call waits until the test calls `release()` (to test what happens while it waits)."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.calls: list[tuple[str, str | None]] = []
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()

    def hold(self) -> None:
        self.gate = asyncio.Event()

    def release(self) -> None:
        if self.gate is not None:
            self.gate.set()

    async def run(self, emit: Emit) -> None:
        await asyncio.Event().wait()  # events come from the test through hub.emit

    async def _call(self, kind: str, model: str | None) -> None:
        self.calls.append((kind, model))
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()

    async def warm(self, model: str) -> None:
        await self._call("warm", model)

    async def unload(self, model: str) -> None:
        await self._call("unload", model)

    async def unload_all(self) -> None:
        await self._call("unload-all", None)

    async def health(self) -> bool:
        return True


class FedRuntime:
    """Quacks like `FleetRuntime`; `closed` turns True once `__aexit__` has finished."""

    def __init__(self, config: Config, events: Iterable[HostEvent] = (),
                 clock: Callable[[], float] = lambda: NOW) -> None:
        self.config = config
        self.state = FleetState(h.name for h in config.hosts)
        self.connectors = {h.name: HeldConnector(h.name) for h in config.hosts}
        self.store: Any = None
        self.closed = False
        self._events = tuple(events)
        self._clock = clock
        self.hub: Hub
        self.actions: ActionQueue

    async def __aenter__(self) -> FedRuntime:
        self.hub = Hub(self.connectors.values(), state=self.state)
        self.hub.replay(self._events)
        controls = {h.name: h.control for h in self.config.hosts}
        self.actions = ActionQueue(self.hub.connectors, self.state,
                                   control=lambda name: controls.get(name, False),
                                   clock=self._clock)
        await self.hub.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.actions.aclose()
        await self.hub.stop()
        self.closed = True


def make_config(hosts: Iterable[tuple[str, bool]], tmp: Path | None = None) -> Config:
    """(name, control) pairs → a Config whose hosts live on made-up LAN names (not local)."""
    data: dict[str, Any] = {"hosts": [
        {"name": name, "url": f"http://{name}.lan:8080", "control": control}
        for name, control in hosts]}
    if tmp is not None:
        data["data_dir"] = str(tmp)
    return parse_config(data)


def host_events(name: str, *, models: dict[str, ModelState], swap: str = "v236",
                build: str = "b5678", gpus: int = 1,
                inflight: Iterable[tuple[str, str, float]] = (), ttl: int = 300,
                requests: int = 0, at: float = NOW - 600) -> list[HostEvent]:
    """A connected host with models, perf history (every 5 s for 10 min) and activity."""
    events: list[HostEvent] = [
        LivenessChanged(name, at, Liveness.CONNECTED, last_seen=at),
        EngineVersion(name, at, "llama-swap", swap),
        EngineVersion(name, at, "llama-server", build),
        ModelsListed(name, at, tuple(ModelInfo(m, s, ttl_s=ttl) for m, s in models.items())),
    ]
    for step in range(120):
        t = at + step * 5
        wave = (step % 24) / 23
        events.append(PerfSampled(name, t, (
            SysSample(t, (20.0 + 30 * wave, 10.0 + 20 * wave), 65536.0, 24000.0 + 4000 * wave),),
            tuple(GpuSample(t, i, "NVIDIA RTX 4090", temp_c=55 + 20 * wave,
                            util_pct=90 * wave, mem_used_mb=12000 + 8000 * wave,
                            mem_total_mb=24564.0, power_w=120 + 250 * wave)
                  for i in range(gpus))))
    records = tuple(
        ActivityRecord(remote_id=i + 1, epoch=0,
                       finished_at=NOW - 280 + i * (270 / max(1, requests)),
                       model=next(iter(models)), req_path="/v1/chat/completions",
                       status_code=200, content_type="application/json", cache_tokens=0,
                       input_tokens=120, output_tokens=80, prompt_tps=2400.0, decode_tps=90.0,
                       duration_ms=1100)
        for i in range(requests))
    if records:
        events.append(ActivityRecorded(name, NOW - 10, records))
    flights = tuple(InflightRequest(rid, model, started_at=start,
                                    req_path="/v1/chat/completions", method="POST")
                    for rid, model, start in inflight)
    if flights:
        events.append(InflightSnapshot(name, NOW - 1, flights))
    return events


def fixed_local_reader(now: float) -> LocalReading:
    """A this-machine reading with no GPU, as on a box without the NVIDIA driver."""
    return LocalReading(at=now, gpu_error="no NVIDIA driver")


def make_app(runtime: FedRuntime, clock: FrozenClock | None = None, **kwargs: Any) -> SwapdeckApp:
    return SwapdeckApp(lambda: runtime, clock=clock or FrozenClock(NOW),
                       local_reader=kwargs.pop("local_reader", fixed_local_reader), **kwargs)


async def wait_for_mode(app: SwapdeckApp, pilot: Any, mode: str = "fleet") -> None:
    for _ in range(100):
        if app.current_mode == mode and app.screen.is_mounted:
            await pilot.pause()
            return
        await pilot.pause(0.02)
    raise AssertionError(f"the app never reached mode {mode!r} (now {app.current_mode!r})")


@pytest.fixture
def frozen_clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture(autouse=True)
def _private_xdg_dirs(tmp_path_factory: pytest.TempPathFactory,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    """No TUI test reads the user's themes or writes under their home directory."""
    home = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))


def screen_text(app: SwapdeckApp) -> str:
    """What the current screen shows, as plain text (one line per terminal row)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def until(pilot: Any, predicate: Callable[[], bool], what: str,
                timeout_s: float = 15.0) -> None:
    """Let the app run until `predicate()` holds (events, timers and workers are async).

    The deadline is wall-clock and generous: a loaded CI machine can be ten times slower
    than a laptop, and a condition that holds returns at once anyway."""
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


def notifications(app: SwapdeckApp) -> list[str]:
    """Every toast the app raised so far, as 'title: message'."""
    return [f"{n.title}: {n.message}" for n in app._notifications]


async def told(pilot: Any, app: SwapdeckApp, fragment: str) -> None:
    """Wait for a toast that contains `fragment`. `notify` posts a message the app handles
    later, so a toast is never in the list the instant the key that raised it returns."""
    await until(pilot, lambda: any(fragment in n for n in notifications(app)),
                f"a toast saying {fragment!r}")
