"""Append to a file and hash the same bytes, off the event loop, in order.

sha256 runs at a few hundred MB/s on a CPU without SHA extensions — slower than a LAN or
loopback — so it must not sit between two socket reads. Chunks are batched into blocks of
about `BATCH` bytes and handed to one worker thread; file writes and hashlib release the
GIL for large buffers, so reading the next chunks overlaps with hashing the last ones. At
most `MAX_PENDING` blocks wait, which bounds memory.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

from swapdeck.pool.errors import DiskFull


class HashingWriter:
    BATCH = 4 * 1024 * 1024
    MAX_PENDING = 4

    def __init__(self, handle: BinaryIO, hasher: hashlib._Hash, disk: Path) -> None:
        self._handle = handle
        self._hasher = hasher
        self._disk = disk
        self._batch: list[bytes] = []
        self._batch_bytes = 0
        self._pending: deque[asyncio.Future[None]] = deque()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="swapdeck-dl")

    async def put(self, chunk: bytes) -> None:
        self._batch.append(chunk)
        self._batch_bytes += len(chunk)
        if self._batch_bytes >= self.BATCH:
            self._submit()
            while len(self._pending) > self.MAX_PENDING:
                await self._pending.popleft()

    async def drain(self) -> None:
        """Wait until every byte put so far is written and hashed; stop the worker."""
        try:
            self._submit()
            while self._pending:
                await self._pending.popleft()
        finally:
            self._executor.shutdown(wait=True)

    def _submit(self) -> None:
        if self._batch:
            batch, self._batch, self._batch_bytes = self._batch, [], 0
            loop = asyncio.get_running_loop()
            self._pending.append(loop.run_in_executor(self._executor, self._consume, batch))

    def _consume(self, batch: list[bytes]) -> None:
        # One block per batch: each write and hash call gives up and re-takes the GIL, and
        # re-taking it can wait a whole switch interval while the loop thread runs Python.
        block = b"".join(batch)
        try:
            self._handle.write(block)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise DiskFull(self._disk, len(block), 0) from None
            raise
        self._hasher.update(block)
