"""Model processes and their state machine (§4): start, health, swap groups, stop, TTL.

Every transition calls `on_transition`, which the host turns into a `modelStatus` broadcast
(full list) and a proxy log line. Requests `acquire` a process: under the group's swap lock the
other members of the group are drained and stopped, this one is started if needed, and the
in-flight count is taken before the lock is let go, so a swap never cuts a request short.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from enum import StrEnum

from swapdeck.sim.model import START_PORT, SimModel


class ProcState(StrEnum):
    STOPPED = "stopped"
    STARTING = "starting"
    READY = "ready"
    STOPPING = "stopping"
    SHUTDOWN = "shutdown"

    @property
    def is_loaded(self) -> bool:
        return self in (ProcState.STARTING, ProcState.READY, ProcState.STOPPING)


class LoadAborted(Exception):
    """The model never became ready: an unload aborted the start, or the server shut down."""


class ModelProcess:
    def __init__(self, model: SimModel, port: int) -> None:
        self.model = model
        self.port = port
        self.state = ProcState.STOPPED
        self.in_flight = 0
        self.last_use = 0.0
        self._changed = asyncio.Event()
        self._abort = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self.stop_pending = False

    @property
    def stop_s(self) -> float:
        return min(0.5, self.model.load_s * 0.1)

    def in_state(self, state: ProcState) -> bool:
        return self.state is state

    async def wait_change(self) -> None:
        await self._changed.wait()

    def _notify(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()


def ttl_expired(proc: ModelProcess, now: float) -> bool:
    """§4: ready, nothing in flight, and idle for longer than the TTL since the last request."""
    ttl = proc.model.ttl
    return (ttl > 0 and proc.state is ProcState.READY and proc.in_flight == 0
            and not proc.stop_pending and now - proc.last_use > ttl)


Transition = Callable[[ModelProcess, ProcState, ProcState], None]


class ProcessTable:
    def __init__(self, models: Sequence[SimModel], *, on_transition: Transition,
                 on_output: Callable[[ModelProcess, list[str]], None],
                 banner: Callable[[ModelProcess], list[str]], clock: Callable[[], float]) -> None:
        self.procs = {m.id: ModelProcess(m, START_PORT + i) for i, m in enumerate(models)}
        self._by_name = {name: m.id for m in models for name in (m.id, *m.aliases)}
        self._locks: dict[str, asyncio.Lock] = {}
        self._on_transition = on_transition
        self._on_output = on_output
        self._banner = banner
        self._clock = clock

    def resolve(self, name: str) -> ModelProcess | None:
        """A model id or alias to its process (§1.4: aliases are accepted)."""
        model_id = self._by_name.get(name)
        return self.procs[model_id] if model_id is not None else None

    def _set(self, proc: ModelProcess, new: ProcState) -> None:
        old, proc.state = proc.state, new
        proc._notify()
        self._on_transition(proc, old, new)

    # ------------------------------------------------------------------ requests

    async def acquire(self, proc: ModelProcess) -> None:
        """Make `proc` ready (swapping its group) and count one request in flight on it."""
        lock = self._locks.setdefault(proc.model.group, asyncio.Lock())
        async with lock:
            while proc.state is not ProcState.READY:
                if proc.state is ProcState.SHUTDOWN:
                    raise LoadAborted("llama-swap is shutting down")
                if proc.state is ProcState.STOPPED:
                    for other in self.procs.values():
                        if other is not proc and other.model.group == proc.model.group:
                            await self.stop(other)
                    await self._start(proc)
                else:  # starting or stopping: let it settle
                    await proc.wait_change()
            proc.in_flight += 1
            proc._drained.clear()

    def release(self, proc: ModelProcess) -> None:
        proc.in_flight -= 1
        proc.last_use = self._clock()
        if proc.in_flight == 0:
            proc._drained.set()

    async def _start(self, proc: ModelProcess) -> None:
        proc._abort.clear()
        self._set(proc, ProcState.STARTING)
        lines = self._banner(proc)
        split = max(1, len(lines) // 2)
        self._on_output(proc, lines[:split])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc._abort.wait(), timeout=proc.model.load_s)
        if proc._abort.is_set() or proc.state is not ProcState.STARTING:
            if proc.state is ProcState.STARTING:
                self._set(proc, ProcState.STOPPED)
            raise LoadAborted(f"unable to start process: {proc.model.id} was stopped while "
                              "starting")
        self._on_output(proc, lines[split:])
        proc.last_use = self._clock()
        self._set(proc, ProcState.READY)

    # ------------------------------------------------------------------ stopping

    async def stop(self, proc: ModelProcess) -> None:
        """Graceful stop: abort a start, or drain in-flight requests then stop (§4)."""
        try:
            await self._stop(proc)
        finally:
            proc.stop_pending = False

    async def _stop(self, proc: ModelProcess) -> None:
        while True:
            if proc.state is ProcState.STARTING:
                proc._abort.set()
                await proc.wait_change()
            elif proc.state is ProcState.STOPPING:
                await proc.wait_change()
            elif proc.state is not ProcState.READY:
                return
            elif proc.in_flight:
                await proc._drained.wait()
            else:
                break
        self._set(proc, ProcState.STOPPING)
        await asyncio.sleep(proc.stop_s)
        if proc.in_state(ProcState.STOPPING):  # a shutdown may have overtaken us meanwhile
            self._set(proc, ProcState.STOPPED)

    async def stop_all(self) -> None:
        await asyncio.gather(*(self.stop(p) for p in self.procs.values()))

    def shutdown(self) -> None:
        """Config reload or exit: every process object ends at `shutdown` (§4)."""
        for proc in self.procs.values():
            proc._abort.set()
            if proc.state is not ProcState.SHUTDOWN:
                self._set(proc, ProcState.SHUTDOWN)
            proc._drained.set()

    def expired(self, now: float) -> list[ModelProcess]:
        due = [p for p in self.procs.values() if ttl_expired(p, now)]
        for proc in due:
            proc.stop_pending = True
        return due

    def loaded_vram_mb(self) -> float:
        return float(sum(p.model.vram_mb for p in self.procs.values() if p.state.is_loaded))
