"""The app's screens, one per mode (Fleet, Activity, Logs; Bench and Pool later).

Every screen is built as `Screen(runtime, clock)`. `RuntimeLike` is what a screen may use
of `swapdeck.fleet.runtime.FleetRuntime`, written down so tests can hand screens a runtime
built from a hand-fed `FleetState` and in-test connectors.
"""

from __future__ import annotations

from typing import Any, Protocol

from swapdeck.config import Config
from swapdeck.fleet.actions import ActionQueue
from swapdeck.fleet.hub import Hub
from swapdeck.fleet.state import FleetState


class RuntimeLike(Protocol):
    @property
    def state(self) -> FleetState: ...

    @property
    def hub(self) -> Hub: ...

    @property
    def actions(self) -> ActionQueue: ...

    @property
    def store(self) -> Any: ...

    @property
    def config(self) -> Config: ...
