"""Actions from the Fleet screen: confirm or cancel, refusals, a full queue, a host that
goes down while an action waits. The connector is an in-test object; the queue is real."""

from __future__ import annotations

from swapdeck.events import Liveness, LivenessChanged, ModelState
from swapdeck.fleet.actions import ActionKind, ActionStatus
from swapdeck.fleet.state import FleetState, HostState
from swapdeck.tui.modals import ConfirmActionModal, ModelPickerModal
from swapdeck.tui.screens.fleet import FleetScreen
from swapdeck.tui.widgets.action_target import ActionTarget, Next, candidates, choose_target
from swapdeck.tui.widgets.card_lines import card_rows

from .conftest import (
    NOW,
    FedRuntime,
    host_events,
    make_app,
    make_config,
    notifications,
    told,
    until,
    wait_for_mode,
)

MODELS = {"qwen2.5-7b": ModelState.READY, "llama-3.1-8b": ModelState.STOPPED,
          "phi-3-mini": ModelState.STOPPED}


def _runtime(control: bool = True) -> FedRuntime:
    return FedRuntime(make_config([("gpu-a", control)]),
                      host_events("gpu-a", models=MODELS, inflight=[("r1", "qwen2.5-7b", NOW - 4)]))


async def _select(pilot, screen: FleetScreen, model: str | None,  # type: ignore[no-untyped-def]
                  host: str = "gpu-a") -> None:
    """Move the cursor with j/k to `model` on `host` (None: the host line)."""
    flat = [(h, m) for h in screen.visible_hosts()
            for m in card_rows(screen.runtime.state.host(h))]
    target = flat.index((host, model))
    for _ in range(len(flat)):
        here = flat.index((screen.sel_host, screen.sel_model))
        if here == target:
            return
        await pilot.press("j" if target > here else "k")
    raise AssertionError(f"could not select {model} on {host}")


async def test_confirm_cancel_pick_and_unload_all() -> None:
    runtime = _runtime()
    connector = runtime.connectors["gpu-a"]
    app = make_app(runtime)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_mode(app, pilot)
        screen = app.screen
        assert isinstance(screen, FleetScreen)
        await _select(pilot, screen, "qwen2.5-7b")
        await pilot.press("u")
        modal = app.screen
        assert isinstance(modal, ConfirmActionModal)
        assert (modal.kind, modal.host, modal.model) == (ActionKind.UNLOAD, "gpu-a", "qwen2.5-7b")
        assert "1 request(s) in flight on gpu-a will be cut off" in modal.effect
        await pilot.press("n")  # cancel: nothing reaches the host
        assert app.screen is screen
        assert connector.calls == [] and list(runtime.actions.history) == []

        await pilot.press("u", "y")  # confirm
        await until(pilot, lambda: connector.calls == [("unload", "qwen2.5-7b")], "the unload")
        await until(pilot, lambda: any("unload qwen2.5-7b on gpu-a: done" in n
                                       for n in notifications(app)), "the outcome toast")
        # The queue never changes the state: the model stays ready until the host says so.
        assert runtime.state.host("gpu-a").models["qwen2.5-7b"].info.state is ModelState.READY

        # w on the host line: pick a model first, then confirm
        await _select(pilot, screen, None)
        await pilot.press("w")
        picker = app.screen
        assert isinstance(picker, ModelPickerModal)
        assert [m for m, _ in picker.choices] == ["llama-3.1-8b", "phi-3-mini"]
        await pilot.press("down", "enter")
        modal = app.screen
        assert isinstance(modal, ConfirmActionModal) and modal.model == "phi-3-mini"
        assert modal.kind is ActionKind.WARM
        await pilot.press("y")
        await until(pilot, lambda: connector.calls[-1:] == [("warm", "phi-3-mini")], "the warm")

        await pilot.press("U")
        modal = app.screen
        assert isinstance(modal, ConfirmActionModal) and modal.kind is ActionKind.UNLOAD_ALL
        assert "Stop every running model on gpu-a; 1 request(s) in flight" in modal.effect
        await pilot.press("escape")
        assert len(connector.calls) == 2
        await pilot.press("q")


async def test_read_only_refuses_without_asking_and_nothing_to_do_is_said() -> None:
    runtime = FedRuntime(make_config([("gpu-a", True), ("gpu-b", False)]),
                         host_events("gpu-a", models=MODELS) + host_events("gpu-b", models=MODELS))
    app = make_app(runtime)
    async with app.run_test(size=(120, 50)) as pilot:
        await wait_for_mode(app, pilot)
        screen = app.screen
        assert isinstance(screen, FleetScreen)
        await _select(pilot, screen, "qwen2.5-7b")
        await pilot.press("w")  # already ready on gpu-a
        await told(pilot, app, "Nothing to warm: qwen2.5-7b on gpu-a is ready")
        await _select(pilot, screen, "llama-3.1-8b", host="gpu-b")
        await pilot.press("w")
        assert app.screen is screen  # no modal for something that cannot happen
        await told(pilot, app, "gpu-b is read-only: set control = true")
        assert list(runtime.actions.history) == []
        assert all(c.calls == [] for c in runtime.connectors.values())
        await pilot.press("q")


async def test_full_queue_refusal_lists_what_waits() -> None:
    runtime = _runtime()
    connector = runtime.connectors["gpu-a"]
    connector.hold()
    app = make_app(runtime)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_mode(app, pilot)
        queue = runtime.actions
        queue.submit("gpu-a", ActionKind.WARM, "llama-3.1-8b")  # runs, held by the connector
        await until(pilot, lambda: connector.entered.is_set(), "the first action to run")
        for model in ("phi-3-mini", "llama-3.1-8b", "phi-3-mini", "llama-3.1-8b"):
            queue.submit("gpu-a", ActionKind.WARM, model)  # four waiting
        screen = app.screen
        await _select(pilot, screen, "qwen2.5-7b")  # type: ignore[arg-type]
        await pilot.press("u")
        modal = app.screen
        assert isinstance(modal, ConfirmActionModal)
        assert len(modal.queued) == 5  # the running one and the four waiting are shown
        await pilot.press("y")
        await told(pilot, app, "gpu-a already has 4 actions waiting (warm phi-3-mini, "
                   "warm llama-3.1-8b, warm phi-3-mini, warm llama-3.1-8b)")
        connector.release()
        await until(pilot, lambda: not queue.queued("gpu-a"), "the queue to drain")
        await pilot.press("q")


async def test_host_going_down_while_an_action_waits_skips_it() -> None:
    runtime = _runtime()
    connector = runtime.connectors["gpu-a"]
    connector.hold()
    app = make_app(runtime)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_mode(app, pilot)
        screen = app.screen
        assert isinstance(screen, FleetScreen)
        await _select(pilot, screen, "llama-3.1-8b")
        await pilot.press("w", "y")
        await until(pilot, lambda: connector.entered.is_set(), "the warm to reach the host")
        await _select(pilot, screen, "phi-3-mini")
        await pilot.press("w", "y")  # waits behind the held warm
        assert [a.describe() for a in runtime.actions.queued("gpu-a")] == [
            "warm llama-3.1-8b", "warm phi-3-mini"]
        runtime.hub.emit(LivenessChanged("gpu-a", NOW, Liveness.DOWN, attempt=1,
                                         last_error="connection refused", last_seen=NOW))
        connector.release()
        await until(pilot, lambda: any("warm phi-3-mini on gpu-a: skipped — gpu-a went down "
                                       "before this ran" in n for n in notifications(app)),
                    "the skipped outcome")
        statuses = [a.status for a in runtime.actions.history]
        assert statuses == [ActionStatus.DONE, ActionStatus.SKIPPED]
        assert connector.calls == [("warm", "llama-3.1-8b")]
        # A host that is down refuses new actions outright (no modal), in the queue's words.
        await pilot.press("w")
        assert isinstance(app.screen, FleetScreen)
        await told(pilot, app, "gpu-a is down: actions wait until it is connected")
        card_text = "\n".join(line.plain for line in screen._cards["gpu-a"]._lines_for(76))
        assert "last  warm phi-3-mini skipped" in card_text
        await pilot.press("q")


# --------------------------------------------------------------------------- pure rules


def _host(liveness: Liveness = Liveness.CONNECTED, **models: ModelState) -> HostState:
    state = FleetState()
    state.apply_all(host_events("h", models=models or MODELS))
    if liveness is not Liveness.CONNECTED:
        state.apply(LivenessChanged("h", NOW, liveness, last_error="x", last_seen=NOW))
    return state.host("h")


def test_choose_target_rules() -> None:
    host = _host()
    assert candidates(host, ActionKind.WARM) == ["llama-3.1-8b", "phi-3-mini"]
    assert candidates(host, ActionKind.UNLOAD) == ["qwen2.5-7b"]
    pick = choose_target(host, ActionKind.WARM, None, controllable=True)
    assert (pick.next, pick.choices) == (Next.PICK, ("llama-3.1-8b", "phi-3-mini"))
    only = choose_target(host, ActionKind.UNLOAD, None, controllable=True)
    assert (only.next, only.model) == (Next.REQUEST, "qwen2.5-7b")  # one fits: no picker
    direct = choose_target(host, ActionKind.WARM, "phi-3-mini", controllable=True)
    assert (direct.next, direct.model) == (Next.REQUEST, "phi-3-mini")
    pointless = choose_target(host, ActionKind.UNLOAD, "phi-3-mini", controllable=True)
    assert pointless == ActionTarget(Next.SAY, message="Nothing to unload: phi-3-mini on h is "
                                                       "stopped")
    everything = choose_target(host, ActionKind.UNLOAD_ALL, "phi-3-mini", controllable=True)
    assert (everything.next, everything.model) == (Next.REQUEST, None)
    # read-only or not connected: straight to the queue, which refuses in its own words
    assert choose_target(host, ActionKind.WARM, None, controllable=False).next is Next.REQUEST
    down = _host(Liveness.DOWN)
    assert choose_target(down, ActionKind.WARM, None, controllable=True).next is Next.REQUEST
    idle = _host(solo=ModelState.STOPPED)
    assert choose_target(idle, ActionKind.UNLOAD, None, controllable=True) == ActionTarget(
        Next.SAY, message="No loaded model on h")
