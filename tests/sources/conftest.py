"""Loopback hosts that are stopped when the test ends, whatever happened in it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tests.sources.fakehost import FakeHost

StartHost = Callable[..., Awaitable[FakeHost]]


@pytest.fixture
async def start_host() -> AsyncIterator[StartHost]:
    started: list[FakeHost] = []

    async def start(**kwargs: Any) -> FakeHost:
        host = FakeHost(**kwargs)
        await host.start()
        started.append(host)
        return host

    yield start
    for host in started:
        await host.stop()
