"""The per-host action queue: FIFO, capped, refuses unsafe actions, never fakes state."""

from __future__ import annotations

import asyncio

import pytest

from swapdeck.events import Liveness, LivenessChanged, ModelInfo, ModelsListed, ModelState
from swapdeck.fleet.actions import (
    MAX_DEPTH,
    ActionKind,
    ActionQueue,
    ActionRefused,
    ActionStatus,
    describe_effect,
)
from swapdeck.fleet.state import FleetState
from swapdeck.sources.base import ActionError, Emit


class HeldConnector:
    """A connector whose actions wait until the test releases them, recording the calls."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.calls: list[tuple[str, str | None]] = []
        self.release = asyncio.Event()
        self.fail_with: Exception | None = None

    async def run(self, emit: Emit) -> None:
        await asyncio.Event().wait()

    async def _act(self, name: str, model: str | None) -> None:
        self.calls.append((name, model))
        await self.release.wait()
        if self.fail_with is not None:
            raise self.fail_with

    async def warm(self, model: str) -> None:
        await self._act("warm", model)

    async def unload(self, model: str) -> None:
        await self._act("unload", model)

    async def unload_all(self) -> None:
        await self._act("unload_all", None)

    async def health(self) -> bool:
        return True


def connected_fleet(*names: str) -> FleetState:
    fleet = FleetState(names)
    for name in names:
        fleet.apply(LivenessChanged(name, 1.0, Liveness.CONNECTED, last_seen=1.0))
        fleet.apply(ModelsListed(name, 1.0, (ModelInfo("qwen", ModelState.READY),)))
    return fleet


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_actions_run_in_order_and_do_not_touch_state() -> None:
    fleet = connected_fleet("a")
    connector = HeldConnector("a")
    queue = ActionQueue({"a": connector}, fleet, control=lambda _: True)
    first = queue.submit("a", ActionKind.WARM, "qwen")
    second = queue.submit("a", ActionKind.UNLOAD, "qwen")
    await settle()
    assert first.status is ActionStatus.RUNNING
    assert second.status is ActionStatus.QUEUED
    assert [a.id for a in queue.queued("a")] == [first.id, second.id]
    seq_before = fleet.hosts["a"].seq
    connector.release.set()
    await settle()
    assert connector.calls == [("warm", "qwen"), ("unload", "qwen")]
    assert (first.status, second.status) == (ActionStatus.DONE, ActionStatus.DONE)
    assert fleet.hosts["a"].seq == seq_before  # only the host's own events move the display
    assert fleet.hosts["a"].models["qwen"].info.state is ModelState.READY
    await queue.aclose()


async def test_full_queue_refusal_names_what_is_waiting() -> None:
    fleet = connected_fleet("a")
    connector = HeldConnector("a")
    queue = ActionQueue({"a": connector}, fleet, control=lambda _: True)
    queue.submit("a", ActionKind.WARM, "qwen")  # starts running at once
    await settle()
    for _ in range(MAX_DEPTH):
        queue.submit("a", ActionKind.UNLOAD, "qwen")
    with pytest.raises(ActionRefused, match=r"already has 4 actions waiting \(unload qwen, "):
        queue.submit("a", ActionKind.UNLOAD_ALL)
    await queue.aclose()


async def test_read_only_and_down_hosts_refuse() -> None:
    fleet = connected_fleet("a", "b")
    fleet.apply(LivenessChanged("b", 2.0, Liveness.DOWN, attempt=6, last_error="refused"))
    queue = ActionQueue({"a": HeldConnector("a"), "b": HeldConnector("b")}, fleet,
                        control=lambda name: name == "b")
    with pytest.raises(ActionRefused, match="read-only"):
        queue.submit("a", ActionKind.WARM, "qwen")
    with pytest.raises(ActionRefused, match="b is down"):
        queue.submit("b", ActionKind.WARM, "qwen")
    with pytest.raises(ActionRefused, match="no such host"):
        queue.submit("zzz", ActionKind.UNLOAD_ALL)


async def test_liveness_is_checked_again_when_an_action_is_dequeued() -> None:
    fleet = connected_fleet("a")
    connector = HeldConnector("a")
    queue = ActionQueue({"a": connector}, fleet, control=lambda _: True)
    running = queue.submit("a", ActionKind.WARM, "qwen")
    waiting = queue.submit("a", ActionKind.UNLOAD, "qwen")
    await settle()
    fleet.apply(LivenessChanged("a", 3.0, Liveness.RECONNECTING, attempt=1, last_error="reset"))
    connector.release.set()
    await settle()
    assert running.status is ActionStatus.DONE
    assert waiting.status is ActionStatus.SKIPPED
    assert "went reconnecting" in waiting.message
    assert connector.calls == [("warm", "qwen")]


async def test_host_errors_become_outcomes_for_a_person() -> None:
    fleet = connected_fleet("a")
    connector = HeldConnector("a")
    connector.fail_with = ActionError("404 model not found")
    queue = ActionQueue({"a": connector}, fleet, control=lambda _: True)
    action = queue.submit("a", ActionKind.UNLOAD, "ghost")
    connector.release.set()
    await settle()
    assert action.status is ActionStatus.FAILED
    assert action.message == "404 model not found"
    assert list(queue.history) == [action]


def test_effect_text_names_host_model_and_inflight() -> None:
    text = describe_effect(ActionKind.UNLOAD, "gpu1", "qwen", inflight=2)
    assert "qwen" in text and "gpu1" in text and "2 request(s) in flight" in text
    assert "nothing is in flight" in describe_effect(ActionKind.UNLOAD_ALL, "gpu1", None, 0)


def test_effect_text_on_a_count_only_host_never_claims_the_model_is_idle() -> None:
    """§2.2: a v192..v234 host gives a total only; which model serves it is unknown."""
    text = describe_effect(ActionKind.UNLOAD, "gpu1", "qwen", inflight=None, host_inflight=3)
    assert "only a total: 3 request(s) in flight" in text and "nothing" not in text
    idle = describe_effect(ActionKind.UNLOAD, "gpu1", "qwen", inflight=None, host_inflight=0)
    assert "nothing is in flight on gpu1" in idle
