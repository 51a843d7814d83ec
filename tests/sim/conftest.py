"""Shared helpers: fast simulated hosts on loopback and an SSE frame reader over httpx."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from swapdeck.sim import SimHost, SimModel

ALL_ERAS = ("v200", "v230", "v236", "v250")

FAST_MODELS = (
    SimModel("alpha", name="Alpha Chat", aliases=("a",), group="chat", load_s=0.05,
             prefill_tps=50_000.0, decode_tps=2_000.0, capabilities=("function_calling",),
             context_length=8192, vram_mb=5000),
    SimModel("beta", name="Beta Chat", group="chat", load_s=0.05, prefill_tps=50_000.0,
             decode_tps=2_000.0, vram_mb=7000),
    SimModel("emb", name="Embedder", group="embed", load_s=0.02, prefill_tps=100_000.0,
             decode_tps=1_000.0, unlisted=True, capabilities=("embedding",), vram_mb=300),
)

HostFactory = Callable[..., Awaitable[SimHost]]


@pytest.fixture
async def make_host() -> AsyncIterator[HostFactory]:
    hosts: list[SimHost] = []

    async def factory(era: str, **kwargs: Any) -> SimHost:
        kwargs.setdefault("models", FAST_MODELS)
        host = SimHost(era, **kwargs)
        await host.start()
        hosts.append(host)
        return host

    yield factory
    for host in hosts:
        await host.stop()


def client_for(host: SimHost, **headers: str) -> httpx.AsyncClient:
    auth = {"Authorization": f"Bearer {host.api_key}"} if host.api_key else {}
    # verify=False: plain loopback HTTP, and it skips loading a CA bundle (~80 ms a client).
    return httpx.AsyncClient(base_url=host.url, headers={**auth, **headers}, verify=False,
                             timeout=httpx.Timeout(5.0))


def decode_frame(frame: bytes) -> tuple[str, Any]:
    """§2.1: `event:message\\ndata:<envelope>`; the envelope's data is JSON inside a string."""
    head, _, data_line = frame.rstrip(b"\n").partition(b"\n")
    assert head == b"event:message", frame
    assert data_line.startswith(b"data:"), frame
    envelope = json.loads(data_line[5:])
    return envelope["type"], json.loads(envelope["data"])


class SseReader:
    """Reads raw `/api/events` frames (split on the blank line) from a live response."""

    def __init__(self, client: httpx.AsyncClient, path: str = "/api/events") -> None:
        self._client = client
        self._path = path
        self._buffer = b""
        self._context: Any = None
        self.response: httpx.Response | None = None
        self._chunks: AsyncIterator[bytes] | None = None

    async def __aenter__(self) -> SseReader:
        self._context = self._client.stream("GET", self._path)
        self.response = await self._context.__aenter__()
        self._chunks = self.response.aiter_raw()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._context.__aexit__(None, None, None)

    async def frame(self, timeout: float = 3.0) -> bytes:
        assert self._chunks is not None
        while b"\n\n" not in self._buffer:
            chunk = await asyncio.wait_for(self._chunks.__anext__(), timeout)
            self._buffer += chunk
        frame, _, self._buffer = self._buffer.partition(b"\n\n")
        return frame + b"\n\n"

    async def message(self, timeout: float = 3.0) -> tuple[str, Any]:
        return decode_frame(await self.frame(timeout))

    async def until(self, wanted: str, predicate: Callable[[Any], bool] = lambda _: True,
                    timeout: float = 3.0) -> Any:
        async def scan() -> Any:
            while True:
                kind, payload = await self.message(timeout)
                if kind == wanted and predicate(payload):
                    return payload
        return await asyncio.wait_for(scan(), timeout)

    async def initial(self, count: int) -> list[tuple[str, Any]]:
        return [await self.message() for _ in range(count)]


async def wait_for(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)
    await asyncio.wait_for(poll(), timeout)
