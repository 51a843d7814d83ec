"""Where the Pool screen's session lives (on the app, not the screen), and what it reads of
the fleet: recent uses, loaded models, the hosts that are this machine.

`pool_session(app, runtime, clock)` makes the app's one `PoolSession` on first use and
starts it; later calls, from any screen, get the same one, so an install keeps going while
the person looks elsewhere. `configure_pool(app, …)` decides, before that first use, which
catalog and hardware the session gets (the demo's loopback catalog; fixed ones in tests).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from textual.app import App

from swapdeck.config import HostConfig
from swapdeck.events import ModelState
from swapdeck.fleet.state import FleetState, HostState
from swapdeck.pool.catalog_hub import FetchRepo
from swapdeck.pool.session import PoolSession
from swapdeck.pool.session_values import (
    CatalogSource,
    HardwareLoader,
    default_hardware,
    hardware_cache_dir,
)
from swapdeck.pool.session_view import evict_warnings
from swapdeck.pool.state import PoolEntry
from swapdeck.sources.local import this_machine
from swapdeck.tui.clock import Clock
from swapdeck.tui.screens import RuntimeLike


@dataclass(frozen=True, slots=True)
class PoolSetup:
    catalog: Callable[[], CatalogSource] = CatalogSource.shipped
    hardware: HardwareLoader | None = None
    """None: probe this box (cached 24 h) with the config's `[pool.hardware]` on top."""
    hub: FetchRepo | None = None
    """How the `H` key asks the Hub; None: huggingface_hub's own endpoint."""
    hub_cache_dir: Path | None = None


_SETUPS: WeakKeyDictionary[App[Any], PoolSetup] = WeakKeyDictionary()
_SESSIONS: WeakKeyDictionary[App[Any], PoolSession] = WeakKeyDictionary()


def configure_pool(app: App[Any], *, catalog: Callable[[], CatalogSource] | None = None,
                   hardware: HardwareLoader | None = None, hub: FetchRepo | None = None,
                   hub_cache_dir: Path | None = None) -> None:
    """Choose the Pool screen's catalog, hardware and Hub for `app` (before it first opens)."""
    base = _SETUPS.get(app, PoolSetup())
    _SETUPS[app] = PoolSetup(catalog or base.catalog, hardware or base.hardware,
                             hub or base.hub, hub_cache_dir or base.hub_cache_dir)


def pool_session(app: App[Any], runtime: RuntimeLike, clock: Clock) -> PoolSession:
    session = _SESSIONS.get(app)
    if session is None:
        setup = _SETUPS.get(app, PoolSetup())
        config = runtime.config
        settings = config.pool
        state = runtime.state
        session = PoolSession(
            settings, config.resolved_data_dir(),
            hardware=setup.hardware or default_hardware(settings, hardware_cache_dir()),
            catalog=setup.catalog, clock=clock, bench_database=config.database_path,
            local_hosts=[h.name for h in this_machine(config.hosts)],
            uses=lambda: fleet_uses(state.hosts.values()),
            hub=setup.hub, hub_cache_dir=setup.hub_cache_dir)
        _SESSIONS[app] = session
    session.ensure_started()
    return session


def fleet_uses(hosts: Iterable[HostState]) -> dict[str, float]:
    """The newest finished request per model, over every host's activity window."""
    newest: dict[str, float] = {}
    for host in hosts:
        for record in host.activity:
            if record.finished_at > newest.get(record.model, float("-inf")):
                newest[record.model] = record.finished_at
    return newest


def last_uses(entries: Iterable[PoolEntry], state: FleetState) -> dict[str, float]:
    """Each pool model's last use: pool.json's, or a newer one the fleet saw since the last
    batch was written."""
    live = fleet_uses(state.hosts.values())
    uses = {}
    for entry in entries:
        seen = [t for t in (entry.last_used_at, live.get(entry.id)) if t is not None]
        if seen:
            uses[entry.id] = max(seen)
    return uses


def evict_warnings_by_model(entries: Sequence[PoolEntry], state: FleetState,
                            now: float) -> dict[str, list[str]]:
    """Why evicting each pool model deserves a second thought (loaded, used recently)."""
    loaded, uses = loaded_on(state), last_uses(entries, state)
    return {e.id: evict_warnings(e, loaded.get(e.id, []), uses.get(e.id), now) for e in entries}


def loaded_on(state: FleetState) -> dict[str, list[str]]:
    """Model id → the hosts where llama-swap has it loaded (starting, ready or stopping)."""
    found: dict[str, list[str]] = {}
    for name, host in sorted(state.hosts.items()):
        for model_id, view in host.models.items():
            if view.info.state.is_loaded and view.info.state is not ModelState.PEER:
                found.setdefault(model_id, []).append(name)
    return found


def bench_host(hosts: Iterable[HostConfig], state: FleetState,
               model_id: str) -> HostConfig | str:
    """The host of this machine whose llama-swap lists `model_id` — a speed measured
    anywhere else says nothing about this box — or why there is none."""
    here = this_machine(hosts)
    if not here:
        return ("the quick bench measures this box's llama-swap, and no configured host runs "
                "on this machine (give it `local = true` in the config)")
    serving = [h for h in here if model_id in state.host(h.name).models]
    if not serving:
        names = ", ".join(h.name for h in here)
        return (f"{names} (this machine) does not list {model_id}: install it and let "
                "llama-swap reload its config first")
    return serving[0]
