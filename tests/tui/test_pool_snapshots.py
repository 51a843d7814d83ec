"""Snapshots of the Pool screen at 80×24 and 160×48: fixed hardware profile, fixed catalog,
frozen clock, a pool filled through real installs, and a fleet fed with events.

Paths show under `~` (HOME is the test's temp dir), so the SVGs do not depend on where the
test ran. Update with `.venv/bin/pytest tests/tui/test_pool_snapshots.py --snapshot-update`
and look at the SVGs.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from swapdeck.events import ModelState
from swapdeck.tui.app import SwapdeckApp
from tests.pool.servers import serve_files
from tests.pool.test_session_fixtures import catalog_files, catalog_source, install_all
from tests.tui.conftest import host_events
from tests.tui.test_pool_support import open_pool, pool_app, select

FILES = catalog_files()


def _app(root: Path) -> SwapdeckApp:
    events = host_events("atlas", models={"llama-3.1-8b": ModelState.READY,
                                          "qwen3-4b": ModelState.STOPPED}, requests=3)
    # the URLs are only used by installs, which these snapshots do not start
    return pool_app(root, catalog_source("http://127.0.0.1:9"), events)


async def _ready(pilot: Any) -> None:
    screen = await open_pool(pilot.app, pilot)
    await select(pilot, screen, "pool-installed", "qwen3-4b")  # its upgrade proposal
    await select(pilot, screen, "pool-candidates", "qwen3-14b")
    await pilot.pause(0.3)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One pool, filled once through real installs; the snapshots only look at it."""
    root = tmp_path_factory.mktemp("pool-home")
    with serve_files(FILES) as files:
        asyncio.run(install_all(root, catalog_source(files.base_url)))
    return root


@pytest.fixture
def home(seeded: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(seeded))
    return seeded


def test_pool_80x24(snap_compare: Any, home: Path) -> None:
    assert snap_compare(_app(home), terminal_size=(80, 24), run_before=_ready)


def test_pool_160x48(snap_compare: Any, home: Path) -> None:
    assert snap_compare(_app(home), terminal_size=(160, 48), run_before=_ready)
