"""A running transfer (download, pull) that several watchers can follow and steer.

The transfer runs in its own task, so a screen closing its view does not stop it; watchers
get every `Progress` from the moment they subscribe (starting with the latest one), and any
of them can pause, resume or cancel. Cancel also cancels the task, so it takes effect even
while a server is silent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, Generic, TypeVar

from swapdeck.pool.errors import Cancelled
from swapdeck.pool.installers.base import Progress, TransferControl

T = TypeVar("T")


class TransferHandle(Generic[T]):
    def __init__(self, what: str, control: TransferControl | None = None) -> None:
        self.what = what
        self.control = control or TransferControl()
        self._task: asyncio.Task[T] | None = None
        self._watchers: list[asyncio.Queue[Progress | None]] = []
        self._last: Progress | None = None

    def run(self, work: Coroutine[Any, Any, T], on_done: Callable[[], object]) -> None:
        def finished(_task: asyncio.Task[T]) -> None:
            on_done()
            for queue in self._watchers:
                queue.put_nowait(None)

        self._task = asyncio.get_running_loop().create_task(work)
        self._task.add_done_callback(finished)

    @property
    def done(self) -> bool:
        return self._task is not None and self._task.done()

    def interrupt(self) -> None:
        """Stop the transfer but keep its bytes, as a crash or Ctrl-C would: unlike
        `control.cancel()`, the partial file stays and the next run resumes it."""
        if self._task is not None and not self._task.done():
            self._task.cancel()

    @property
    def last(self) -> Progress | None:
        return self._last

    def publish(self, progress: Progress) -> None:
        self._last = progress
        for queue in self._watchers:
            queue.put_nowait(progress)

    async def events(self) -> AsyncIterator[Progress]:
        """Progress from now on (starting with the latest one), until the transfer ends."""
        queue: asyncio.Queue[Progress | None] = asyncio.Queue()
        if self._last is not None:
            queue.put_nowait(self._last)
        if self._task is None or self._task.done():
            queue.put_nowait(None)
        self._watchers.append(queue)
        try:
            while (progress := await queue.get()) is not None:
                yield progress
        finally:
            self._watchers.remove(queue)

    async def result(self) -> T:
        """The transfer's result, or the `PoolError` it failed with."""
        if self._task is None:
            raise RuntimeError("TransferHandle.run() was never called")
        try:
            return await asyncio.shield(self._task)
        except asyncio.CancelledError:
            if self._task.cancelled():
                raise Cancelled(self.what) from None
            raise

    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    def cancel(self) -> None:
        self.control.cancel()
        if self._task is not None:
            self._task.cancel()
