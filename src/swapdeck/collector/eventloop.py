"""The collector's event loop: uvloop where it exists, asyncio's own elsewhere.

A busy fleet wakes the loop for every SSE message of every host (four or five per request),
so the loop's own cost per wake-up is a large part of the collector's CPU; uvloop's is about
a third lower (`benchmarks/sse_transport.py`). uvloop has no Windows build: there, and when
`SWAPDECK_LOOP=asyncio` asks for it, the standard loop runs the same code.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory() -> tuple[str, Callable[[], asyncio.AbstractEventLoop] | None]:
    """(the loop's name, a factory for it; None means asyncio's default)."""
    if os.environ.get("SWAPDECK_LOOP", "").strip().lower() == "asyncio":
        return "asyncio", None
    try:
        import uvloop
    except ImportError:
        return "asyncio", None
    return "uvloop", uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    _, factory = loop_factory()
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)
