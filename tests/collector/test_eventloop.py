"""The collector's loop: uvloop where installed, asyncio's own on request (eventloop.py)."""

from __future__ import annotations

import asyncio
import importlib.util

import pytest

from swapdeck.collector import eventloop


async def _loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


@pytest.mark.skipif(importlib.util.find_spec("uvloop") is None, reason="no uvloop (Windows)")
def test_uvloop_runs_the_collector_where_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SWAPDECK_LOOP", raising=False)
    assert eventloop.loop_factory()[0] == "uvloop"
    assert eventloop.run(_loop_module()).startswith("uvloop")


def test_the_standard_loop_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWAPDECK_LOOP", "asyncio")
    assert eventloop.loop_factory() == ("asyncio", None)
    assert eventloop.run(_loop_module()).startswith("asyncio")
