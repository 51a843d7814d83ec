"""`GET /api/events` over aiohttp, parsed per the SSE specification (§2.1).

Why not httpx here, as everywhere else: the event stream is the hot path of a busy fleet
(a request makes four or five messages), and httpx's streaming path costs ~110 µs of CPU per
message, most of it httpcore and anyio pausing and resuming the socket on every read.
aiohttp's C HTTP parser and the chunk-level parser below cost ~40 µs
(`benchmarks/sse_transport.py` prints both). The same session (session.py) serves the
REST reads that recur; actions a person asks for stay on httpx.

The parser follows the WHATWG "event stream interpretation": lines end in CRLF, LF or CR
(also split across chunks), a leading BOM is dropped, `:` starts a comment, one space after
the colon is removed, `data` lines join with LF, a blank line dispatches, and an event with
no data is not dispatched. llama-swap sends `event:message\\ndata:<json>\\n\\n` and nothing
else, but proxies in between may re-frame the stream.
"""

from __future__ import annotations

import asyncio
import codecs
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import NamedTuple

import aiohttp

from swapdeck.sources.session import STREAM_TIMEOUT, relative

_BOM = "\ufeff"
_STREAM_HEADERS = {"Accept": "text/event-stream", "Cache-Control": "no-store"}


class ServerSentEvent(NamedTuple):
    event: str
    data: str


class SseParser:
    """Incremental: text in, whole events out; keeps partial lines and events between feeds."""

    def __init__(self) -> None:
        self._partial = ""
        self._held_cr = False  # a chunk ended in CR: an LF starting the next one is its pair
        self._started = False
        self._event = ""
        self._data: list[str] = []

    def feed(self, text: str) -> list[ServerSentEvent]:
        if not text:
            return []  # an empty chunk must not consume a held CR's pairing
        if not self._started:
            self._started = True
            text = text.removeprefix(_BOM)
        if self._held_cr:
            self._held_cr = False
            text = text.removeprefix("\n")
        if "\r" in text:
            if text.endswith("\r"):
                self._held_cr = True
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        lines[0] = self._partial + lines[0]
        self._partial = lines.pop()
        out: list[ServerSentEvent] = []
        for line in lines:
            if line:
                self._field(line)
            elif self._data:
                out.append(ServerSentEvent(self._event or "message", "\n".join(self._data)))
                self._event, self._data = "", []
            else:
                self._event = ""
        return out

    def _field(self, line: str) -> None:
        name, colon, value = line.partition(":")
        if not name and colon:
            return  # a comment
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        # `id` and `retry` steer browser reconnects; llama-swap sends neither and swapdeck
        # reconciles over REST after a reconnect instead of resuming by id.


class EventStream:
    """One open `/api/events` response."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status

    @property
    def content_type(self) -> str:
        """The media type alone, lower case (`text/event-stream`; no parameters)."""
        return self._response.content_type.lower()

    async def body(self) -> bytes:
        """The whole body of a refused stream (an error page, a JSON error)."""
        return await self._response.read()

    async def events(self) -> AsyncIterator[ServerSentEvent]:
        """The stream's events one by one, as they arrive."""
        async for batch in self.batches():
            for event in batch:
                yield event

    async def batches(self, *, gather_s: float = 0.0) -> AsyncIterator[list[ServerSentEvent]]:
        """The stream's events, a list per read of the socket (never an empty list).

        `gather_s` > 0 leaves the socket unread for that long after each read, so what a
        busy host sends meanwhile (it flushes every message on its own, §2.1) waits in the
        kernel and comes back in one read: one wake-up and one batch for many messages
        instead of one each. Nothing is lost or reordered; events are up to `gather_s` late.
        """
        parser = SseParser()
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        content = self._response.content
        connection = self._response.connection
        transport = connection.transport if gather_s > 0 and connection is not None else None
        while chunk := await content.readany():
            batch = parser.feed(decoder.decode(chunk))
            if batch:
                yield batch
            if transport is not None and not transport.is_closing():
                transport.pause_reading()
                try:
                    await asyncio.sleep(gather_s)
                finally:
                    if not transport.is_closing():
                        transport.resume_reading()


@asynccontextmanager
async def open_event_stream(session: aiohttp.ClientSession,
                            path: str = "/api/events") -> AsyncIterator[EventStream]:
    """The stream of `session`'s host (session.py); transport errors are aiohttp's."""
    async with session.get(relative(path), allow_redirects=False, timeout=STREAM_TIMEOUT,
                           headers=_STREAM_HEADERS) as response:
        yield EventStream(response)
