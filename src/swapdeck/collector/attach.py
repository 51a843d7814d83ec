"""AttachedRuntime: what the TUI runs on when it attaches to a collector's history.

It has the shape of `FleetRuntime` (state, hub, actions, store, config — the screens'
`RuntimeLike`) but dials no host: the fleet state is rebuilt from the collector's database
and kept current by a `HistoryFollower` polling it read-only. Any number of attached TUIs
can run beside one collector (WAL readers never block the writer, nor each other).

Actions are off: the collector is the one process that talks to the hosts, and a person
looking at its history should not be a second, surprising source of unloads. Hosts are
shown with `control = false`, so the app skips the confirmation and shows the refusal.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType

from swapdeck.collector.follower import HistoryFollower
from swapdeck.config import Config
from swapdeck.fleet.actions import ActionKind, ActionQueue, ActionRefused, QueuedAction
from swapdeck.fleet.hub import Hub
from swapdeck.fleet.state import FleetState
from swapdeck.history.database import Database, open_database
from swapdeck.history.store import HistoryStore
from swapdeck.sources.base import ActionError, Emit

ATTACHED_REFUSAL = ("attached to the collector's history (read-only): actions are off here; "
                    "run plain `swapdeck` to act on hosts")


class AttachedHost:
    """Stands in for a host's connector: follows nothing itself, refuses every action."""

    def __init__(self, host: str) -> None:
        self.host = host

    async def run(self, emit: Emit) -> None:
        await asyncio.Event().wait()  # the follower feeds the hub; nothing to do per host

    async def warm(self, model: str) -> None:
        raise ActionError(ATTACHED_REFUSAL)

    async def unload(self, model: str) -> None:
        raise ActionError(ATTACHED_REFUSAL)

    async def unload_all(self) -> None:
        raise ActionError(ATTACHED_REFUSAL)

    async def health(self) -> bool:
        return False  # never asked over the network from here


class AttachedActions(ActionQueue):
    """An action queue that says why nothing can be queued."""

    def submit(self, host: str, kind: ActionKind, model: str | None = None) -> QueuedAction:
        raise ActionRefused(ATTACHED_REFUSAL)


def read_only_config(config: Config) -> Config:
    """The same config with every host's `control` off."""
    hosts = tuple(h.model_copy(update={"control": False}) for h in config.hosts)
    return config.model_copy(update={"hosts": hosts})


class AttachedRuntime:
    def __init__(self, config: Config, *, poll_interval_s: float | None = None) -> None:
        self.config = read_only_config(config)
        self._poll_s = (config.collector.attach_poll_s if poll_interval_s is None
                        else poll_interval_s)
        names = [h.name for h in config.hosts]
        self.state = FleetState(names)
        self.hub = Hub([AttachedHost(n) for n in names], state=self.state)
        self.actions: ActionQueue = AttachedActions(self.hub.connectors, self.state,
                                                    control=lambda name: False)
        self.store: HistoryStore | None = None
        self.follower: HistoryFollower | None = None
        self._db: Database | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> AttachedRuntime:
        path = self.config.database_path
        try:
            # The store serves the screens' paging (older activity, perf history, captures);
            # the follower gets a connection of its own so its snapshots never interleave.
            self.store = await HistoryStore.open(path, self.config.history, read_only=True)
            self._db = await open_database(path, read_only=True)
            self.follower = HistoryFollower(self._db, self.hub.connectors)
            self.hub.replay(await self.follower.start())
        except BaseException:
            await self._close()
            raise
        self._task = asyncio.get_running_loop().create_task(
            self.follower.run(self.hub.emit, self._poll_s), name="history-follower")
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self._close()

    async def _close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.hub.stop()
        db, self._db = self._db, None
        if db is not None:
            await db.close()
        store, self.store = self.store, None
        if store is not None:
            await store.close()
