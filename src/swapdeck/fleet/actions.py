"""Per-host FIFO queue for the actions a person can take on a host: warm, unload, unload all.

Rules that keep someone else's box safe:
- actions are refused unless the host's config says `control = true`;
- a host that is down refuses new actions, and liveness is checked again when an action
  reaches the front of the queue (the host may have gone down while it waited);
- at most `MAX_DEPTH` actions wait per host, and a refusal names what is already queued;
- the queue never changes the fleet state itself: the host's own events (a `modelStatus`
  after the unload) move the display, so the screen never shows something that did not
  happen.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from swapdeck.events import Liveness
from swapdeck.fleet.state import FleetState
from swapdeck.sources.base import ActionError, Connector

MAX_DEPTH = 4
OUTCOME_HISTORY = 50


class ActionKind(StrEnum):
    WARM = "warm"
    UNLOAD = "unload"
    UNLOAD_ALL = "unload-all"


class ActionStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"  # the host went down while the action waited


class ActionRefused(Exception):
    """The action was not queued; the message says why, for a person."""


@dataclass
class QueuedAction:
    id: int
    host: str
    kind: ActionKind
    model: str | None
    queued_at: float
    status: ActionStatus = ActionStatus.QUEUED
    message: str = ""
    finished_at: float | None = None

    def describe(self) -> str:
        return f"{self.kind.value} {self.model}" if self.model else self.kind.value


def describe_effect(kind: ActionKind, host: str, model: str | None, inflight: int | None,
                    host_inflight: int = 0) -> str:
    """What will happen, in words, for the confirmation modal. `inflight` is None where the
    host reports only a total (`host_inflight`): then no model's share is known."""
    if kind is ActionKind.WARM:
        return (f"Load {model} on {host} through llama-swap's /upstream route, as its web "
                "UI's load button does (nothing is generated or metered). If it shares a swap "
                "group with a running model, llama-swap stops that one first.")
    if inflight is None and host_inflight:
        waiting = (f"{host} reports only a total: {host_inflight} request(s) in flight there, "
                   "any of them may be cut off")
    elif inflight:
        waiting = f"{inflight} request(s) in flight on {host} will be cut off"
    else:
        waiting = f"nothing is in flight on {host} right now"
    if kind is ActionKind.UNLOAD:
        return f"Stop {model} on {host}; {waiting}. It reloads on its next request."
    return f"Stop every running model on {host}; {waiting}."


@dataclass
class _HostQueue:
    pending: deque[QueuedAction] = field(default_factory=deque)
    running: QueuedAction | None = None
    task: asyncio.Task[None] | None = None


class ActionQueue:
    def __init__(self, connectors: Mapping[str, Connector], state: FleetState, *,
                 control: Callable[[str], bool], clock: Callable[[], float] = time.time,
                 on_change: Callable[[QueuedAction], None] | None = None) -> None:
        self._connectors = connectors
        self._state = state
        self._control = control
        self._clock = clock
        self._on_change = on_change
        self._queues: dict[str, _HostQueue] = {}
        self._ids = itertools.count(1)
        self.history: deque[QueuedAction] = deque(maxlen=OUTCOME_HISTORY)

    def queued(self, host: str) -> list[QueuedAction]:
        queue = self._queues.get(host)
        if queue is None:
            return []
        return ([queue.running] if queue.running else []) + list(queue.pending)

    def submit(self, host: str, kind: ActionKind, model: str | None = None) -> QueuedAction:
        if host not in self._connectors:
            raise ActionRefused(f"{host}: no such host")
        if not self._control(host):
            raise ActionRefused(f"{host} is read-only: set control = true for it in the config "
                                "to allow warm and unload")
        if kind is not ActionKind.UNLOAD_ALL and not model:
            raise ActionRefused(f"{kind.value} needs a model")
        liveness = self._state.host(host).liveness
        if liveness is not Liveness.CONNECTED:
            raise ActionRefused(f"{host} is {liveness.value}: actions wait until it is connected")
        queue = self._queues.setdefault(host, _HostQueue())
        if len(queue.pending) >= MAX_DEPTH:
            waiting = ", ".join(a.describe() for a in queue.pending)
            raise ActionRefused(f"{host} already has {MAX_DEPTH} actions waiting ({waiting})")
        action = QueuedAction(next(self._ids), host, kind, model, self._clock())
        queue.pending.append(action)
        self.history.append(action)
        self._changed(action)
        if queue.task is None or queue.task.done():
            queue.task = asyncio.get_running_loop().create_task(self._drain(host, queue))
        return action

    async def _drain(self, host: str, queue: _HostQueue) -> None:
        while queue.pending:
            action = queue.pending.popleft()
            queue.running = action
            try:
                await self._run(host, action)
            finally:
                queue.running = None
                action.finished_at = self._clock()
                self._changed(action)

    async def _run(self, host: str, action: QueuedAction) -> None:
        liveness = self._state.host(host).liveness
        if liveness is not Liveness.CONNECTED:
            action.status = ActionStatus.SKIPPED
            action.message = f"{host} went {liveness.value} before this ran"
            return
        action.status = ActionStatus.RUNNING
        self._changed(action)
        connector = self._connectors[host]
        try:
            if action.kind is ActionKind.WARM:
                assert action.model is not None
                await connector.warm(action.model)
            elif action.kind is ActionKind.UNLOAD:
                assert action.model is not None
                await connector.unload(action.model)
            else:
                await connector.unload_all()
        except ActionError as exc:
            action.status = ActionStatus.FAILED
            action.message = str(exc)
        except Exception as exc:  # transport errors: the person needs the words, not a trace
            action.status = ActionStatus.FAILED
            action.message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        else:
            action.status = ActionStatus.DONE
            action.message = "done"

    def _changed(self, action: QueuedAction) -> None:
        if self._on_change is not None:
            self._on_change(action)

    async def aclose(self) -> None:
        for queue in self._queues.values():
            if queue.task is not None:
                queue.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await queue.task
