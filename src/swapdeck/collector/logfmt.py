"""The collector's log: one greppable `key=value` line per thing a person cares about.

    2026-11-22T10:15:09Z level=info host=gpu1 msg="connected"
    2026-11-22T10:16:40Z level=warning host=gpu1 msg="reconnecting" attempt=2 error="..."

Liveness changes, gaps, rejected frames and errors are logged — never one line per request.
`describe` is pure (event in, line out); `EventLog` is the hub listener around it: the
hub calls it for every event on the data plane's path, so it only queues lines, and a
task writes them out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from swapdeck.events import (
    EngineVersion,
    FrameRejected,
    GapSuspected,
    HostEvent,
    Liveness,
    LivenessChanged,
)

FRAME_LOG_EVERY_S = 10.0
"""Rejected frames are logged at most once per host per this many seconds, with a count."""
MAX_QUEUED_LINES = 10_000
MAX_VALUE_CHARS = 300


def timestamp(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def quote(value: object) -> str:
    """A logfmt value: bare when it is one plain word, else double-quoted and escaped."""
    text = str(value)
    if len(text) > MAX_VALUE_CHARS:
        text = text[:MAX_VALUE_CHARS] + "…"
    if text and all(c.isalnum() or c in "-_./:@+" for c in text):
        return text
    escaped = (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
               .replace("\r", "\\r").replace("\t", "\\t"))
    return f'"{escaped}"'


def format_line(at: float, level: str, msg: str, *, host: str | None = None,
                **fields: object) -> str:
    parts = [timestamp(at), f"level={level}"]
    if host is not None:
        parts.append(f"host={quote(host)}")
    escaped = msg.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    parts.append(f'msg="{escaped}"')  # always quoted, so `grep 'msg="connected"'` works
    parts.extend(f"{key}={quote(value)}" for key, value in fields.items() if value is not None)
    return " ".join(parts)


_LOGGED = frozenset({LivenessChanged, GapSuspected, FrameRejected, EngineVersion})


@dataclass(slots=True)
class _HostLog:
    liveness: Liveness | None = None
    error: str = ""
    version: dict[str, str] = field(default_factory=dict)
    frames_logged_at: float | None = None
    frames_suppressed: int = 0


class LineMaker:
    """Decides which events deserve a line (pure apart from its own per-host memory)."""

    def __init__(self) -> None:
        self._hosts: dict[str, _HostLog] = {}

    def describe(self, event: HostEvent) -> str | None:
        if type(event) not in _LOGGED:
            return None  # the hub calls this for every event: most leave at once
        host = self._hosts.get(event.host)
        if host is None:
            host = self._hosts[event.host] = _HostLog()
        if isinstance(event, LivenessChanged):
            return self._liveness(host, event)
        if isinstance(event, GapSuspected):
            return format_line(event.at, "warning", "gap suspected", host=event.host,
                               since=timestamp(event.window_start),
                               until=timestamp(event.window_end), reason=event.reason)
        if isinstance(event, FrameRejected):
            return self._frame(host, event)
        if isinstance(event, EngineVersion):
            if host.version.get(event.component) == event.version:
                return None
            host.version[event.component] = event.version
            return format_line(event.at, "info", "version", host=event.host,
                               component=event.component, version=event.version,
                               commit=event.commit or None)
        return None

    def _liveness(self, host: _HostLog, event: LivenessChanged) -> str | None:
        if event.liveness is host.liveness and event.last_error == host.error:
            return None  # another attempt for the same reason: not news
        host.liveness, host.error = event.liveness, event.last_error
        if event.liveness is Liveness.CONNECTED:
            return format_line(event.at, "info", "connected", host=event.host)
        level = "warning" if event.liveness is Liveness.RECONNECTING else "error"
        seen = None if event.last_seen is None else timestamp(event.last_seen)
        return format_line(event.at, level, event.liveness.value, host=event.host,
                           attempt=event.attempt, error=event.last_error or None,
                           last_seen=seen)

    def _frame(self, host: _HostLog, event: FrameRejected) -> str | None:
        last = host.frames_logged_at
        if last is not None and event.at - last < FRAME_LOG_EVERY_S:
            host.frames_suppressed += 1
            return None
        suppressed, host.frames_suppressed = host.frames_suppressed, 0
        host.frames_logged_at = event.at
        return format_line(event.at, "warning", "frame rejected", host=event.host,
                           reason=event.reason, detail=event.detail or None,
                           also_rejected=suppressed or None)


class EventLog:
    """Hub listener: queue a line for the events that deserve one; `run` writes them."""

    def __init__(self, stream: TextIO, *, clock: Callable[[], float] = time.time) -> None:
        self._stream = stream
        self._clock = clock
        self._maker = LineMaker()
        self._lines: deque[str] = deque(maxlen=MAX_QUEUED_LINES)
        self._wake = asyncio.Event()
        self.dropped = 0

    def observe(self, event: HostEvent) -> None:
        line = self._maker.describe(event)
        if line is not None:
            self.queue(line)

    def queue(self, line: str) -> None:
        if len(self._lines) == self._lines.maxlen:
            self.dropped += 1
        self._lines.append(line)
        self._wake.set()

    def say(self, level: str, msg: str, **fields: object) -> None:
        """A collector line (not about a host), written with the others."""
        self.queue(format_line(self._clock(), level, msg, host=None, **fields))

    def drain(self) -> None:
        while self._lines:
            self._stream.write(self._lines.popleft() + "\n")
        if self.dropped:
            dropped, self.dropped = self.dropped, 0
            self._stream.write(format_line(self._clock(), "warning", "log lines dropped",
                                           count=dropped) + "\n")
        with contextlib.suppress(OSError, ValueError):
            self._stream.flush()

    async def run(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                self.drain()
        finally:
            self.drain()


class LogfmtFormatter(logging.Formatter):
    """Python `logging` records (swapdeck's own warnings and errors) in the same format."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        where = None
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            message = f"{message}: {type(exc).__name__}: {exc}"
            # One line stays greppable; the innermost frame still says where it broke.
            frames = traceback.extract_tb(exc.__traceback__)
            if frames:
                where = f"{frames[-1].filename}:{frames[-1].lineno}"
        return format_line(record.created, record.levelname.lower(), message,
                           component=record.name, where=where)
