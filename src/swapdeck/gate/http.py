"""Plain requests to a llama-server the gate started, surviving its closed keep-alives.

llama-server may close a kept-alive connection right after a streamed answer; the next
request on it then fails with "Server disconnected without sending a response" although the
server never saw it. Such a request is sent once more on a fresh connection (the bench's
`send_chat` does the same for its streams). Only the gate's own idempotent requests come
through here: `/props`, `/v1/models`, `/tokenize` and greedy correctness prompts.
"""

from __future__ import annotations

from typing import Any

import httpx


async def request(client: httpx.AsyncClient, method: str, path: str,
                  body: dict[str, Any] | None = None) -> httpx.Response:
    for attempt in range(2):
        try:
            return await client.request(method, path, json=body)
        except httpx.RemoteProtocolError:
            if attempt == 1:
                raise
    raise AssertionError("unreachable: the second attempt returns or raises")


async def post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> httpx.Response:
    return await request(client, "POST", path, body)


async def get(client: httpx.AsyncClient, path: str) -> httpx.Response:
    return await request(client, "GET", path)
