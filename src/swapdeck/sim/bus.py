"""`/api/events` fan-out (§2): one bounded buffer per connection, drops when full (§2.3).

A frame is encoded once and offered to every connection. `inject_malformed` makes the next
frames that go out broken in four rotating ways, ahead of the real frame, so a client can be
tested for skipping garbage without losing what follows.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

from swapdeck.sim.era import EraTraits
from swapdeck.sim.gojson import go_dumps
from swapdeck.sim.wire import sse_frame


class SseSubscriber:
    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._frames: deque[bytes] = deque()
        self.ready = asyncio.Event()
        self.closed = False
        self.aborted = False
        self.dropping = False
        self.dropped = 0

    def offer(self, frame: bytes, *, force: bool = False) -> bool:
        if self.closed:
            return False
        if len(self._frames) >= self._capacity and not force:
            self.dropped += 1
            return False
        self._frames.append(frame)
        self.ready.set()
        return True

    def take(self) -> bytes:
        data = b"".join(self._frames)
        self._frames.clear()
        self.ready.clear()
        self.dropping = False
        return data

    def close(self, *, abort: bool) -> None:
        self.closed = True
        self.aborted = self.aborted or abort
        self.ready.set()


def malformed_frame(kind: int, traits: EraTraits) -> bytes:
    """Kind 0: broken outer JSON; 1: broken inner JSON string; 2: unknown type;
    3: a record whose fields have the wrong types."""
    if kind == 0:
        return b'event:message\ndata:{"type":"logData","data":"{\\"source\\":\\"pro\n\n'
    if kind == 1:
        return (b'event:message\ndata:' + go_dumps({"type": "modelStatus",
                                                    "data": '[{"id":"qwen'}).encode() + b"\n\n")
    if kind == 2:
        return sse_frame("simUnknownType", {"note": "a type this client has never seen"})
    if traits.activity_store:
        return sse_frame("activity", {"id": "forty-two"})
    if traits.flat_records:
        bad: dict[str, Any] = {"id": "seven", "timestamp": 1755882909, "model": 3,
                               "input_tokens": "many", "output_tokens": None,
                               "tokens_per_second": "fast", "duration_ms": [900]}
    else:
        bad = {"id": "seven", "timestamp": False, "model": ["m"], "req_path": 5,
               "resp_status_code": "200", "tokens": [1, 2, 3], "duration_ms": "900"}
    return sse_frame("metrics", [bad])


class EventBus:
    def __init__(self, traits: EraTraits, on_drop: Callable[[SseSubscriber], None]) -> None:
        self._traits = traits
        self._subscribers: set[SseSubscriber] = set()
        self._malformed_pending = 0
        self._malformed_turn = 0
        self._on_drop = on_drop

    @property
    def active(self) -> bool:
        return bool(self._subscribers)

    def inject_malformed(self, count: int) -> None:
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        self._malformed_pending += count

    def _take_malformed(self) -> list[bytes]:
        frames = []
        for _ in range(self._malformed_pending):
            frames.append(malformed_frame(self._malformed_turn % 4, self._traits))
            self._malformed_turn += 1
        self._malformed_pending = 0
        return frames

    def open(self, initial: list[bytes]) -> SseSubscriber:
        """A new connection with its on-connect frames already queued (§2.2 connect order)."""
        subscriber = SseSubscriber(self._traits.sse_buffer)
        for frame in [*self._take_malformed(), *initial]:
            subscriber.offer(frame, force=True)
        self._subscribers.add(subscriber)
        return subscriber

    def leave(self, subscriber: SseSubscriber) -> None:
        self._subscribers.discard(subscriber)

    def publish(self, message_type: str, payload: Any) -> None:
        if not self._subscribers:
            return
        frames = [*self._take_malformed(), sse_frame(message_type, payload)]
        for subscriber in list(self._subscribers):
            for frame in frames:
                if not subscriber.offer(frame) and not subscriber.dropping:
                    subscriber.dropping = True
                    self._on_drop(subscriber)

    def close_all(self, *, abort: bool) -> None:
        for subscriber in list(self._subscribers):
            subscriber.close(abort=abort)
        self._subscribers.clear()
