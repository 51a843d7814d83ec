"""Shared pieces of the Pool screen tests: an app on a fed runtime whose pool downloads from a
loopback catalog server, with the fixed hardware and catalog of `test_session_fixtures`."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from textual.content import Content
from textual.widgets import Static

from swapdeck.config import Config, parse_config
from swapdeck.events import HostEvent
from swapdeck.pool.session import PoolSession
from swapdeck.pool.session_values import CatalogSource
from swapdeck.tui.app import SwapdeckApp
from swapdeck.tui.screens.pool import PoolScreen
from swapdeck.tui.widgets.pool_runtime import configure_pool
from swapdeck.tui.widgets.pool_tables import PoolTable
from tests.pool.test_session_fixtures import BUDGET_GB, fixed_profile
from tests.tui.conftest import FedRuntime, make_app, until, wait_for_mode


def pool_config(root: Path, hosts: Iterable[dict[str, Any]] = (),
                budget_gb: float = BUDGET_GB) -> Config:
    return parse_config({
        "data_dir": str(root / "data"), "hosts": list(hosts),
        "pool": {"models_dir": str(root / "models"),
                 "llama_swap_config": str(root / "llama-swap" / "config.yaml"),
                 "disk_budget_gb": budget_gb}})


def pool_app(root: Path, source: CatalogSource, events: Iterable[HostEvent] = (),
             hosts: Iterable[dict[str, Any]] = ({"name": "atlas", "url": "http://atlas.lan:8080"},),
             **kwargs: Any) -> SwapdeckApp:
    runtime = FedRuntime(pool_config(root, hosts), events)
    app = make_app(runtime, modes=kwargs.pop("modes", ("fleet", "pool")), **kwargs)
    configure_pool(app, catalog=lambda: source, hardware=fixed_profile)
    return app


async def open_pool(app: SwapdeckApp, pilot: Any) -> PoolScreen:
    await wait_for_mode(app, pilot)
    await pilot.press("5")
    await wait_for_mode(app, pilot, "pool")
    screen = app.screen
    assert isinstance(screen, PoolScreen)
    await until(pilot, lambda: screen.session is not None and screen.session.ready,
                "the pool session to start", timeout_s=30)
    await until(pilot, lambda: bool(table(screen, "pool-candidates").keys), "the ranking")
    return screen


def session_of(screen: PoolScreen) -> PoolSession:
    assert screen.session is not None
    return screen.session


def table(screen: PoolScreen, table_id: str) -> PoolTable:
    return screen.query_one(f"#{table_id}", PoolTable)


async def select(pilot: Any, screen: PoolScreen, table_id: str, key: str) -> None:
    """Focus a table and put its cursor on `key`."""
    target = table(screen, table_id)
    target.focus()
    await pilot.pause()
    target.select_key(key)
    await pilot.pause()
    assert target.selected_key() == key


def shown(screen: PoolScreen, selector: str) -> str:
    """The plain text a Static of the screen shows (cheaper than rendering the screen)."""
    content = screen.query_one(selector, Static).content
    return content.plain if isinstance(content, Content) else str(content)


def row_text(screen: PoolScreen, table_id: str, key: str) -> str:
    """One table row's cells as plain text, separated by " | "."""
    target = table(screen, table_id)
    if key not in target.keys:
        return ""
    return " | ".join(cell.plain for cell in target.get_row(key))
