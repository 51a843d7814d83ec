"""Loopback HTTP servers for the pool tests: a file server and a fake Ollama.

Each runs aiohttp in its own thread and event loop on 127.0.0.1 with an OS-chosen port, so
the same server serves async tests (httpx in the test's loop) and sync CLI tests
(`asyncio.run` inside `swapdeck.cli.main`).

`FileServer` knobs: honour or ignore `Range`; cut the connection after N body bytes (for
the first K responses); serve wrong bytes of the right length; lie about the
`Content-Range` start; and a Hub-like `/resolve/<name>` that redirects with
`X-Linked-Etag` / `X-Linked-Size` (ranking-facts §8).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

_RANGE = re.compile(r"^bytes=(\d+)-$")


class _ThreadedApp:
    """An aiohttp app served from a background thread."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.port = 0

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)

    async def _start(self) -> None:
        self._runner = web.AppRunner(self._app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def stop(self) -> None:
        if self._runner is not None:
            future = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop)
            future.result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


# --------------------------------------------------------------------------- file server


@dataclass
class FileKnobs:
    honour_range: bool = True
    cut_after_bytes: int | None = None
    """Close the connection after this many body bytes..."""
    cut_responses: int = 1
    """...for this many responses, then serve normally."""
    wrong_bytes: bool = False
    """Serve bytes of the right length but the wrong content."""
    range_start_lie: int = 0
    """Added to the start of a 206 (its body and its `Content-Range` agree on the lie)."""
    chunk_bytes: int = 16 * 1024


@dataclass
class FileServer:
    files: dict[str, bytes]
    knobs: FileKnobs = field(default_factory=FileKnobs)
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    """(path, Range header) of every request, in order."""
    base_url: str = ""

    def url(self, name: str) -> str:
        return f"{self.base_url}/files/{name}"

    def resolve_url(self, name: str) -> str:
        """A Hub-like URL that redirects to the file and names its sha256."""
        return f"{self.base_url}/resolve/{name}"

    def ranges(self) -> list[str | None]:
        return [r for path, r in self.requests if path.startswith("/files/")]

    async def _file(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        range_header = request.headers.get("Range")
        self.requests.append((request.path, range_header))
        if name not in self.files:
            return web.Response(status=404, text="not found")
        data = self.files[name]
        if self.knobs.wrong_bytes:
            data = bytes(b ^ 0x5A for b in data)
        start = 0
        match = _RANGE.match(range_header or "")
        status = 200
        headers = {"Accept-Ranges": "bytes" if self.knobs.honour_range else "none",
                   "Content-Type": "application/octet-stream"}
        if match and self.knobs.honour_range:
            start = int(match.group(1))
            if start >= len(data):
                return web.Response(status=416, headers={"Content-Range": f"bytes */{len(data)}"})
            start = min(len(data) - 1, start + self.knobs.range_start_lie)
            status = 206
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        body = data[start:]
        headers["Content-Length"] = str(len(body))
        response = web.StreamResponse(status=status, headers=headers)
        await response.prepare(request)
        limit = len(body)
        if self.knobs.cut_after_bytes is not None and self.knobs.cut_responses > 0:
            self.knobs.cut_responses -= 1
            limit = min(limit, self.knobs.cut_after_bytes)
        step = self.knobs.chunk_bytes
        for offset in range(0, limit, step):
            await response.write(body[offset:min(limit, offset + step)])
        if limit < len(body):
            assert request.transport is not None
            request.transport.close()  # the peer sees a body shorter than Content-Length
            return response
        await response.write_eof()
        return response

    async def _resolve(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.requests.append((request.path, request.headers.get("Range")))
        if name not in self.files:
            return web.Response(status=404, text="Entry not found")
        data = self.files[name]
        raise web.HTTPFound(f"/files/{name}", headers={
            "X-Linked-Etag": f'"{hashlib.sha256(data).hexdigest()}"',
            "X-Linked-Size": str(len(data)),
        })

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/files/{name}", self._file)
        app.router.add_get("/resolve/{name}", self._resolve)
        return app


@contextmanager
def serve_files(files: dict[str, bytes], knobs: FileKnobs | None = None) -> Iterator[FileServer]:
    server = FileServer(files, knobs or FileKnobs())
    runner = _ThreadedApp(server.app())
    runner.start()
    server.base_url = runner.base_url
    try:
        yield server
    finally:
        runner.stop()


# --------------------------------------------------------------------------- fake Ollama


@dataclass
class FakeModel:
    size: int
    digest: str
    family: str = "qwen3"
    quant: str = "Q4_K_M"
    parameter_size: str = "8.2B"


@dataclass
class FakeOllama:
    """The REST shapes of ranking-facts §7: /api/pull (NDJSON), /api/delete, /api/tags, /api/show.

    `library` is what `pull` can fetch (name → layer sizes); `models` is what is installed.
    `fail_pull_after_layers` makes a pull emit an in-stream `{"error": ...}` after that
    many layers, with HTTP 200, as Ollama does.
    """

    library: dict[str, list[int]]
    models: dict[str, FakeModel] = field(default_factory=dict)
    fail_pull_after_layers: int | None = None
    pull_error: str = "max retries exceeded: unexpected EOF"
    line_delay_s: float = 0.0
    """Pause between NDJSON lines; a pull stops when its client has gone (as Ollama's
    request context cancels the download)."""
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    base_url: str = ""

    async def _pull(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        name = body.get("model") or body.get("name")
        self.requests.append(("POST", request.path, body))
        response = web.StreamResponse(status=200,
                                      headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)

        async def line(obj: dict[str, Any]) -> None:
            if self.line_delay_s:
                await asyncio.sleep(self.line_delay_s)
            if request.transport is None or request.transport.is_closing():
                raise asyncio.CancelledError  # the client went away: the pull stops
            await response.write((json.dumps(obj) + "\n").encode())

        await line({"status": "pulling manifest"})
        if name not in self.library:
            await line({"error": "pull model manifest: file does not exist"})
            await response.write_eof()
            return response
        layers = self.library[name]
        for index, size in enumerate(layers):
            if self.fail_pull_after_layers is not None and index >= self.fail_pull_after_layers:
                await line({"error": self.pull_error})
                await response.write_eof()
                return response
            digest = "sha256:" + hashlib.sha256(f"{name}/{index}".encode()).hexdigest()
            status = f"pulling {digest[7:19]}"
            await line({"status": status, "digest": digest, "total": size})  # no `completed` yet
            for done in (size // 3, 2 * size // 3, size):
                await line({"status": status, "digest": digest, "total": size,
                            "completed": done})
        await line({"status": "verifying sha256 digest"})
        await line({"status": "writing manifest"})
        await line({"status": "removing any unused layers"})
        self.models[name] = FakeModel(
            size=sum(layers), digest=hashlib.sha256(name.encode()).hexdigest())
        await line({"status": "success"})
        await response.write_eof()
        return response

    async def _delete(self, request: web.Request) -> web.Response:
        body = await request.json()
        name = body.get("model") or body.get("name")
        self.requests.append(("DELETE", request.path, body))
        if name not in self.models:
            return web.json_response({"error": f"model '{name}' not found"}, status=404)
        del self.models[name]
        return web.Response(status=200)

    async def _tags(self, request: web.Request) -> web.Response:
        self.requests.append(("GET", request.path, None))
        return web.json_response({"models": [
            {"name": name, "model": name, "modified_at": "2026-11-20T10:00:00.000000Z",
             "size": m.size, "digest": m.digest,
             "details": {"parent_model": "", "format": "gguf", "family": m.family,
                         "families": [m.family], "parameter_size": m.parameter_size,
                         "quantization_level": m.quant}}
            for name, m in sorted(self.models.items())]})

    async def _show(self, request: web.Request) -> web.Response:
        body = await request.json()
        name = body.get("model") or body.get("name")
        self.requests.append(("POST", request.path, body))
        model = self.models.get(name)
        if model is None:
            return web.json_response({"error": f"model '{name}' not found"}, status=404)
        return web.json_response({
            "modelfile": f"FROM {name}\n", "parameters": "", "template": "{{ .Prompt }}",
            "license": "", "modified_at": "2026-11-20T10:00:00.000000Z",
            "details": {"parent_model": "", "format": "gguf", "family": model.family,
                        "families": [model.family], "parameter_size": model.parameter_size,
                        "quantization_level": model.quant},
            "model_info": {"general.architecture": model.family,
                           "general.parameter_count": 8_190_735_360,
                           f"{model.family}.context_length": 40960,
                           f"{model.family}.block_count": 36},
            "capabilities": ["completion"],
        })

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/pull", self._pull)
        app.router.add_delete("/api/delete", self._delete)
        app.router.add_get("/api/tags", self._tags)
        app.router.add_post("/api/show", self._show)
        return app


@contextmanager
def serve_ollama(fake: FakeOllama) -> Iterator[FakeOllama]:
    runner = _ThreadedApp(fake.app())
    runner.start()
    fake.base_url = runner.base_url
    try:
        yield fake
    finally:
        runner.stop()
