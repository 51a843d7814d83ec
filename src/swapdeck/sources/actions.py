"""What a person can ask a llama-swap host to do, with refusals they can read (§1.4, §1.6,
§1.10).

Every failure raises `ActionError` with one line: what was asked, the HTTP status and the
host's own error text in whatever shape its era writes it (§0).
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Callable
from typing import Any
from urllib.parse import quote

import httpx

from swapdeck.events import LogLines, LogSource
from swapdeck.sources.base import ActionError
from swapdeck.sources.capture import Capture, parse_capture
from swapdeck.sources.errors import describe_transport_error, http_failure, is_missing_route
from swapdeck.sources.http import STREAM_TIMEOUT, WARM_TIMEOUT
from swapdeck.sources.jsonfields import FieldError
from swapdeck.sources.loglines import LineAssembler


def model_path(model: str) -> str:
    """A model id in a URL path: quoted, but `/` kept (peer and HF-style ids, §1.4)."""
    return quote(model, safe="/")


async def request(client: httpx.AsyncClient, method: str, path: str, what: str,
                  **kwargs: Any) -> httpx.Response:
    """Send one request; transport errors become ActionError, the response is returned."""
    try:
        return await client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise ActionError(f"{what}: {describe_transport_error(exc)}") from None


def require_ok(response: httpx.Response, what: str) -> None:
    if response.status_code >= 400:
        raise ActionError(http_failure(what, response.status_code, response.content))


async def warm(client: httpx.AsyncClient, model: str) -> None:
    """Load `model` with the smallest real request: a one-token chat completion."""
    what = f"warm {model}"
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": 1, "stream": False}
    response = await request(client, "POST", "/v1/chat/completions", what, json=body,
                             timeout=WARM_TIMEOUT)
    require_ok(response, what)


async def unload(client: httpx.AsyncClient, model: str) -> None:
    """`POST /api/models/unload/{model}` (v161+); blocks until the model stopped."""
    what = f"unload {model}"
    response = await request(client, "POST", f"/api/models/unload/{model_path(model)}", what)
    if is_missing_route(response.status_code, response.content):
        raise ActionError(f"{what}: this llama-swap cannot unload one model "
                          "(needs v161 or newer); use unload all")
    require_ok(response, what)


async def unload_all(client: httpx.AsyncClient) -> None:
    """`POST /api/models/unload`, or `GET /unload` on hosts that lack it (§1.4)."""
    what = "unload all"
    response = await request(client, "POST", "/api/models/unload", what)
    if is_missing_route(response.status_code, response.content):
        response = await request(client, "GET", "/unload", what)
    require_ok(response, what)


async def health(client: httpx.AsyncClient, timeout_s: float) -> bool:
    """`GET /health` (no auth, §1.7) answered 200."""
    try:
        response = await client.get("/health", timeout=timeout_s)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


async def fetch_capture(client: httpx.AsyncClient, remote_id: int) -> Capture | None:
    """`GET /api/captures/{id}` (v190+); None when the host no longer has it (404)."""
    what = f"capture {remote_id}"
    response = await request(client, "GET", f"/api/captures/{remote_id}", what)
    if response.status_code == 404:
        return None  # evicted, captures disabled, lost in a reload, or a pre-v190 host
    require_ok(response, what)
    try:
        return parse_capture(json.loads(response.content))
    except (ValueError, FieldError) as exc:
        raise ActionError(f"{what}: unreadable answer ({exc})") from None


async def follow_log(client: httpx.AsyncClient, host: str, model: str,
                     clock: Callable[[], float]) -> AsyncGenerator[LogLines, None]:
    """`GET /logs/stream/<id>` (§1.6) as batches of whole lines, one batch per chunk.

    `proxy` and `upstream` name those sources; anything else is a model id or alias.
    """
    what = f"log of {model}"
    source = {"proxy": LogSource.PROXY, "upstream": LogSource.UPSTREAM}.get(model, LogSource.MODEL)
    tag = model if source is LogSource.MODEL else ""
    assembler = LineAssembler()
    try:
        async with client.stream("GET", f"/logs/stream/{model_path(model)}",
                                 timeout=STREAM_TIMEOUT,
                                 headers={"Accept": "text/plain"}) as response:
            if response.status_code != 200:
                body = await response.aread()
                raise ActionError(http_failure(what, response.status_code, body))
            async for chunk in response.aiter_text():
                lines = assembler.feed(chunk)
                if lines:
                    yield LogLines(host=host, at=clock(), source=source, lines=tuple(lines),
                                   model=tag)
    except httpx.HTTPError as exc:
        raise ActionError(f"{what}: {describe_transport_error(exc)}") from None
    tail = assembler.flush()
    if tail:
        yield LogLines(host=host, at=clock(), source=source, lines=tuple(tail), model=tag)
