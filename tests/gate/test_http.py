"""A request on a kept-alive connection the server already closed is sent once more."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from swapdeck.gate import http


async def flaky_server(drop: int) -> tuple[asyncio.Server, list[int]]:
    """Closes the first `drop` connections after reading a request, then answers 200."""
    seen: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        seen.append(len(seen))
        if len(seen) <= drop:
            writer.close()
            return
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 13\r\n\r\n{\"tokens\":[]}")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, seen


async def test_one_closed_connection_is_retried() -> None:
    server, seen = await flaky_server(drop=1)
    port = server.sockets[0].getsockname()[1]
    async with server, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        response = await http.post(client, "/tokenize", {"content": "x"})
    assert response.json() == {"tokens": []} and len(seen) == 2


async def test_two_in_a_row_are_an_error() -> None:
    server, seen = await flaky_server(drop=2)
    port = server.sockets[0].getsockname()[1]
    async with server, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(client, "/props")
    assert len(seen) == 2
