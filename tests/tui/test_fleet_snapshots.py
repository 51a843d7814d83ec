"""Snapshots of the Fleet screen at 80×24 and 160×48: fixed clock, hand-fed events.

Only the Fleet mode is registered so the footer does not change as other screens land.
Update with `.venv/bin/pytest tests/tui --snapshot-update` and look at the SVGs.
"""

from __future__ import annotations

from typing import Any

from swapdeck.events import Liveness, LivenessChanged, ModelState
from swapdeck.fleet.actions import ActionKind

from .conftest import NOW, FedRuntime, host_events, make_app, make_config, wait_for_mode

MODELS = {"qwen2.5-7b-instruct": ModelState.READY, "llama-3.1-8b": ModelState.STARTING,
          "phi-3-mini": ModelState.STOPPED, "gemma-2-9b": ModelState.STOPPED}


def _fleet(count: int) -> FedRuntime:
    names = [("atlas", True), ("borealis", False), ("cobalt", True), ("dune", False)]
    names += [(f"node-{i:02d}", i % 3 == 0) for i in range(count - len(names))]
    names = names[:count]
    events = []
    for index, (name, _) in enumerate(names):
        inflight = [("r1", "qwen2.5-7b-instruct", NOW - 12), ("r2", "qwen2.5-7b-instruct",
                                                                NOW - 3)] if index == 0 else []
        events += host_events(name, models=MODELS, gpus=2 if index == 1 else 1,
                              inflight=inflight, requests=20 + index, ttl=600)
    if count > 2:
        events.append(LivenessChanged("cobalt", NOW - 30, Liveness.DOWN, attempt=5,
                                      last_error="connection refused", last_seen=NOW - 250))
    if count > 3:
        events.append(LivenessChanged("dune", NOW - 2, Liveness.RECONNECTING, attempt=2,
                                      last_error="read timeout", last_seen=NOW - 20))
    return FedRuntime(make_config(names), events)


def _app(count: int) -> Any:
    return make_app(_fleet(count), modes=("fleet",))


async def _ready(pilot: Any) -> None:
    await wait_for_mode(pilot.app, pilot)
    await pilot.pause()


def test_fleet_80x24(snap_compare: Any) -> None:
    """Three hosts do not fit as cards in 24 lines: the auto view is one line per host."""
    assert snap_compare(_app(3), terminal_size=(80, 24), run_before=_ready)


def test_fleet_cards_80x24(snap_compare: Any) -> None:
    """`v` forces the cards; the selection moves to a model line."""
    async def cards(pilot: Any) -> None:
        await _ready(pilot)
        await pilot.press("v", "j", "j")
        await pilot.pause()

    assert snap_compare(_app(3), terminal_size=(80, 24), run_before=cards)


def test_fleet_160x48(snap_compare: Any) -> None:
    """Four hosts as cards in two columns, with a queued action and an outcome."""
    async def with_actions(pilot: Any) -> None:
        await _ready(pilot)
        runtime = pilot.app.runtime
        connector = runtime.connectors["atlas"]
        connector.hold()
        runtime.actions.submit("atlas", ActionKind.UNLOAD, "llama-3.1-8b")
        runtime.actions.submit("atlas", ActionKind.WARM, "phi-3-mini")
        await pilot.pause(0.3)

    assert snap_compare(_app(4), terminal_size=(160, 48), run_before=with_actions)


def test_fleet_table_160x48(snap_compare: Any) -> None:
    """Twelve hosts: the dense table keeps them on one screen."""
    assert snap_compare(_app(12), terminal_size=(160, 48), run_before=_ready)


def test_confirm_modal_80x24(snap_compare: Any) -> None:
    async def confirm(pilot: Any) -> None:
        await _ready(pilot)
        await pilot.press("v", "j", "j", "u")
        await pilot.pause()

    assert snap_compare(_app(3), terminal_size=(80, 24), run_before=confirm)
