"""The cockpit attached to a running collector's history: the past at once, live rows after,
actions refused — the app exactly as `swapdeck attach` builds it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from swapdeck.cli.collect import ATTACHED_MODES
from swapdeck.collector.attach import AttachedRuntime
from swapdeck.collector.service import CollectorService
from swapdeck.events import ModelState
from swapdeck.sim import SimHost
from swapdeck.tui.app import SwapdeckApp
from swapdeck.tui.screens.fleet import FleetScreen

from .conftest import config_for, eventually


@pytest.fixture(autouse=True)
def _private_xdg_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


async def test_attached_cockpit_follows_the_collector(
        sim_hosts: Callable[..., Awaitable[SimHost]], tmp_path: Path) -> None:
    """§3.1 records and §4 states arrive through the collector's database; `U` (unload all)
    is refused in attach mode and reaches neither the queue nor the host."""
    host = await sim_hosts("v250", "gpu1", seed=21)
    config = config_for({"gpu1": host}, tmp_path, attach_poll_s=0.05)
    async with CollectorService(config) as collector:
        await host.serve_request("alpha", prompt_tokens=20, output_tokens=5)
        store = collector.runtime.store
        assert store is not None

        async def written() -> bool:
            return collector.counters.records_counted == 1 and store.pending == 0

        await eventually(written, what="the first request written")
        await store.flush()

        app = SwapdeckApp(lambda: AttachedRuntime(config), modes=ATTACHED_MODES)
        async with app.run_test(size=(120, 40)) as pilot:
            async def ready() -> bool:
                await pilot.pause()
                return isinstance(app.screen, FleetScreen) and app.fleet_state is not None

            await eventually(ready, what="the attached app to open")
            assert app.modes_ready == list(ATTACHED_MODES)
            state = app.fleet_state
            assert state is not None
            assert [r.remote_id for r in state.host("gpu1").activity] == [1]

            await host.serve_request("beta", prompt_tokens=20, output_tokens=5)

            async def live() -> bool:
                await pilot.pause()
                gpu1 = state.host("gpu1")
                return (len(gpu1.activity) == 2
                        and gpu1.models["beta"].info.state is ModelState.READY)

            await eventually(live, what="the attached app to see the new request")
            await pilot.press("U")  # unload all: goes straight to the queue, which refuses
            await pilot.pause()
            assert app.runtime is not None and not app.runtime.actions.history
            said = [n.message for n in app._notifications]
            assert any("actions are off" in message for message in said), said
            assert host.core.procs.resolve("alpha").state.value == "ready"  # type: ignore[union-attr]
            await pilot.press("q")
        assert app.return_code == 0
