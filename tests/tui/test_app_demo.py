"""End to end: the app as `swapdeck demo` runs it, against a simulated llama-swap host on
loopback, with the real runtime (connector, hub, queue, SQLite history in tmp_path)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from swapdeck.events import ModelState
from swapdeck.fleet.runtime import FleetRuntime
from swapdeck.sim.era import Era
from swapdeck.sim.fleet import SimHostSpec, start_fleet
from swapdeck.sim.model import SimModel
from swapdeck.tui.app import SwapdeckApp, demo_config
from swapdeck.tui.modals import ConfirmActionModal
from swapdeck.tui.screens.fleet import FleetScreen

from .conftest import fixed_local_reader, until, wait_for_mode

MODELS = (SimModel("tiny-chat", ttl=0, load_s=0.2, group="a", vram_mb=900),
          SimModel("tiny-code", ttl=0, load_s=0.2, group="b", vram_mb=700))


async def test_demo_shows_models_and_a_warm_reaches_the_simulator(tmp_path: Path) -> None:
    """§2.2: the card follows `modelStatus`; the warm goes out through the action queue and
    the model turns ready only because the simulated host says so. Quitting flushes history."""
    fleet = await start_fleet([SimHostSpec("sim-a", Era.V250, seed=5, models=MODELS,
                                           rate_per_s=0.0)])
    try:
        config = demo_config(fleet.render_config(data_dir=str(tmp_path)))
        app = SwapdeckApp(lambda: FleetRuntime(config), local_reader=fixed_local_reader,
                          modes=("fleet",))
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for_mode(app, pilot)
            screen = app.screen
            assert isinstance(screen, FleetScreen)
            state = app.fleet_state
            assert state is not None
            host = state.host("sim-a")
            await until(pilot, lambda: set(host.models) == {"tiny-chat", "tiny-code"},
                        "the simulated host's models", timeout_s=20)
            while screen.sel_model != "tiny-code":
                await pilot.press("j")
            await pilot.press("w")
            assert isinstance(app.screen, ConfirmActionModal)
            await pilot.press("y")
            await until(pilot, lambda: host.models["tiny-code"].info.state is ModelState.READY,
                        "tiny-code to turn ready on the simulator", timeout_s=20)
            sim_process = fleet.hosts["sim-a"].core.procs.resolve("tiny-code")
            assert sim_process is not None and sim_process.state.value == "ready"
            assert fleet.hosts["sim-a"].core.procs.resolve("tiny-chat").state.value == "stopped"
            card = screen._cards["sim-a"]

            def card_says_ready() -> bool:
                lines = card._lines_for(card.content_size.width)
                # the selected line starts with the cursor mark "›"
                return any(line.plain.lstrip("› ").split()[:2] == ["ready", "tiny-code"]
                           for line in lines)

            await until(pilot, card_says_ready, "the card to show tiny-code ready")
            await pilot.press("q")
        assert app.return_code == 0
    finally:
        await fleet.stop()
    with sqlite3.connect(tmp_path / "history.sqlite") as db:
        (events,) = db.execute(
            "SELECT count(*) FROM model_events WHERE host = 'sim-a'").fetchone()
    assert events >= 1  # the ready transition was written before the app returned
