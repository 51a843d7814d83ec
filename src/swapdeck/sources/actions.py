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
from swapdeck.sources.errors import (
    describe_transport_error,
    error_text,
    http_failure,
    is_missing_route,
)
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


WARM_PROBE = "health"
"""Asked of the model's own server through `/upstream` (§1.5): llama-server answers it on
every build, the path is not in llama-swap's default `ignorePaths`, and a GET is neither
metered nor tracked, so a warm-up adds no row to activity or token counts."""
_LLAMA_SWAP_REFUSALS = ("model not found", "no local server found")
"""llama-swap's own 404 texts (§1.4): the model does not exist there; any other 4xx came
from the model's server, which answers only once it is loaded."""


async def warm(client: httpx.AsyncClient, model: str) -> None:
    """Load `model` the way llama-swap's web UI does: a GET through `/upstream/<model>/`
    (§1.5), which loads any kind of model (chat, embeddings, rerank, audio), where a chat
    completion fails on every model that does not chat. Ids with a `/` use a one-token
    chat completion instead: how `/upstream` splits such an id differs between eras."""
    what = f"warm {model}"
    if "/" in model:
        body = {"model": model, "messages": [{"role": "user", "content": "hi"}],
                "max_tokens": 1, "stream": False}
        response = await request(client, "POST", "/v1/chat/completions", what, json=body,
                                 timeout=WARM_TIMEOUT)
        require_ok(response, what)
        return
    response = await request(client, "GET", f"/upstream/{model_path(model)}/{WARM_PROBE}",
                             what, timeout=WARM_TIMEOUT,
                             headers={"Accept": "application/json"})
    if response.status_code < 400 or (
            response.status_code in (404, 405, 501)
            and not is_missing_route(response.status_code, response.content)
            and not error_text(response.status_code, response.content).lower().startswith(
                _LLAMA_SWAP_REFUSALS)):
        return  # loaded: its server answered (one without a /health route included)
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
