"""Log monitors (§1.6): a 100 KiB history per source and live chunks for subscribers.

Live data goes out in *arbitrary* chunks, as llama-swap's does: writes are coalesced for a few
milliseconds and the result is cut at random character positions, so a chunk may hold several
lines, part of a line, or both (§2.2 `logData`). Nothing is scheduled while nobody listens.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import deque
from collections.abc import Callable

HISTORY_BYTES = 100 * 1024
COALESCE_S = 0.03
STREAM_SLOTS = 10  # /logs/stream subscriber channel (§1.6)

Sink = Callable[[str], None]


def split_arbitrarily(text: str, rng: random.Random) -> list[str]:
    """Cut `text` into 1..3 non-empty pieces at random character positions."""
    if len(text) < 2:
        return [text] if text else []
    cuts = sorted(set(rng.sample(range(1, len(text)), k=min(len(text) - 1,
                                                             rng.choice((0, 0, 1, 2))))))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


class LogMonitor:
    def __init__(self, rng: random.Random, capacity: int = HISTORY_BYTES) -> None:
        self._rng = rng
        self._capacity = capacity
        self._history: deque[str] = deque()
        self._size = 0
        self._sinks: list[Sink] = []
        self._pending: list[str] = []
        self._flush_handle: asyncio.TimerHandle | None = None

    def write(self, text: str) -> None:
        if not text:
            return
        self._history.append(text)
        self._size += len(text.encode())
        self._trim()
        if self._sinks:
            self._pending.append(text)
            if self._flush_handle is None:
                loop = asyncio.get_running_loop()
                self._flush_handle = loop.call_later(COALESCE_S, self._flush)

    def history(self) -> str:
        return "".join(self._history)

    def clear(self) -> None:
        self._history.clear()
        self._size = 0
        self._pending.clear()

    def subscribe(self, sink: Sink) -> Callable[[], None]:
        self._sinks.append(sink)

        def unsubscribe() -> None:
            if sink in self._sinks:
                self._sinks.remove(sink)
            if not self._sinks and self._flush_handle is not None:
                self._flush_handle.cancel()
                self._flush_handle = None
                self._pending.clear()

        return unsubscribe

    def _flush(self) -> None:
        self._flush_handle = None
        text = "".join(self._pending)
        self._pending.clear()
        for piece in split_arbitrarily(text, self._rng):
            for sink in list(self._sinks):
                sink(piece)

    def _trim(self) -> None:
        """Keep the newest `capacity` bytes; the oldest line may be cut, like a byte ring."""
        while self._size > self._capacity and self._history:
            oldest = self._history[0]
            oldest_size = len(oldest.encode())
            excess = self._size - self._capacity
            if oldest_size <= excess:
                self._history.popleft()
                self._size -= oldest_size
            else:
                kept = oldest.encode()[excess:].decode("utf-8", errors="ignore")
                self._history[0] = kept
                self._size -= oldest_size - len(kept.encode())


class LogStreamSubscriber:
    """One `/logs/stream` client: 10 slots, overflow dropped and marked (§1.6)."""

    def __init__(self) -> None:
        self.chunks: deque[str] = deque()
        self.ready = asyncio.Event()
        self.dropped_bytes = 0
        self.closed = False
        self.aborted = False

    def close(self, *, abort: bool) -> None:
        self.closed = True
        self.aborted = self.aborted or abort
        self.ready.set()

    def feed(self, chunk: str) -> None:
        if self.dropped_bytes and len(self.chunks) < STREAM_SLOTS - 1:
            self.chunks.append(f"\n— {self.dropped_bytes} bytes dropped —\n")
            self.dropped_bytes = 0
        if len(self.chunks) >= STREAM_SLOTS:
            self.dropped_bytes += len(chunk.encode())
            return
        self.chunks.append(chunk)
        self.ready.set()

    def take(self) -> str:
        text = "".join(self.chunks)
        self.chunks.clear()
        self.ready.clear()
        return text


class LogHub:
    """The proxy and upstream monitors plus one per model (`/logs/stream/<model>`)."""

    def __init__(self, rng: random.Random, model_ids: list[str]) -> None:
        self.proxy = LogMonitor(rng)
        self.upstream = LogMonitor(rng)
        self.per_model = {model_id: LogMonitor(rng) for model_id in model_ids}

    def log(self, level: str, message: str) -> None:
        """llama-swap's own line: `[LEVEL] message` (§1.6)."""
        self.proxy.write(f"[{level}] {message}\n")

    def upstream_text(self, model_id: str, text: str) -> None:
        """Raw process output: goes to the upstream log and the model's own log."""
        self.upstream.write(text)
        self.per_model[model_id].write(text)

    def clear(self) -> None:
        self.proxy.clear()
        self.upstream.clear()
        for monitor in self.per_model.values():
            monitor.clear()
