"""A scripted llama-swap on loopback for the connector's tests (not the simulator).

It serves the doc's example bytes (docbytes.py) for the endpoints of one era, lets a test
push SSE frames, close streams cleanly (a config reload, §2.3) or abruptly, fail `/health`,
stop listening and listen again on the same port. Every request is logged with its raw
query string so tests can check encoding (§12).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from swapdeck.sources.timestamps import TimestampError, parse_rfc3339
from tests.sources.docbytes import (
    AUTH_ERROR_V250,
    CAPTURE,
    GO_404,
    PERFORMANCE,
    RUNNING,
    VERSION,
    sse,
)

_CLOSE = b"close"
_ABORT = b"abort"


@dataclass
class FakeHost:
    version: str | None = VERSION
    """The `/api/version` body; None answers Go's plain 404 (<v173)."""
    api_key: str | None = None
    rest_activity: bool = True
    """v236+: `/api/metrics/activity` exists."""
    activity: list[dict[str, Any]] = field(default_factory=list)
    performance: str | None = PERFORMANCE
    running: str = RUNNING
    running_failures: int = 0
    without_health: tuple[str, ...] = ()
    wol_health: bool = False
    """Serve `/wol-health` (§1.7) too; without it the route is a 404, as on a host that
    predates it."""
    """Models whose server has no `/health` (an upstream other than llama-server)."""
    """How many `/running` reads answer 503 before the body is served."""
    on_connect: Callable[[], list[bytes]] = list
    """SSE frames each new `/api/events` connection starts with."""
    models: tuple[str, ...] = ("qwen3-30b", "org/model")
    new_unload_api: bool = True
    log_chunks: tuple[str, ...] = ("[INFO] one\n[INF", "O] two\n", "tail without newline")
    health_ok: bool = True
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    """(method, path, raw query string) of every request."""
    bodies: list[Any] = field(default_factory=list)
    port: int = 0
    _streams: list[asyncio.Queue[bytes]] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    connections: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> str:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/health", self._health)
        if self.wol_health:
            app.router.add_get("/wol-health", self._health)
        app.router.add_get("/api/version", self._version)
        app.router.add_get("/api/events", self._events)
        app.router.add_get("/api/metrics/activity", self._activity)
        app.router.add_get("/api/performance", self._performance)
        app.router.add_get("/running", self._running)
        app.router.add_get("/api/captures/{id}", self._capture)
        app.router.add_post("/api/models/unload/{model:.+}", self._unload_one)
        app.router.add_post("/api/models/unload", self._unload_all)
        app.router.add_get("/unload", self._unload_legacy)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/upstream/{model}/{rest:.*}", self._upstream)
        app.router.add_get("/logs/stream/{id:.+}", self._log_stream)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self.url

    async def stop(self) -> None:
        """Stop listening (connections are refused) and end every open stream."""
        await self.drop_streams(abrupt=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def push(self, data: bytes) -> None:
        for queue in self._streams:
            queue.put_nowait(data)

    def push_frame(self, envelope: str) -> None:
        self.push(sse(envelope))

    async def drop_streams(self, *, abrupt: bool) -> None:
        for queue in self._streams:
            queue.put_nowait(_ABORT if abrupt else _CLOSE)
        for _ in range(100):
            if not self._streams:
                return
            await asyncio.sleep(0.01)

    # ------------------------------------------------------------------ handlers

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        query = request.raw_path.partition("?")[2]  # as sent, before any decoding
        self.requests.append((request.method, request.path, query))
        authorized = request.headers.get("Authorization") == f"Bearer {self.api_key}"
        if self.api_key and request.path not in ("/health", "/wol-health") and not authorized:
            return web.Response(status=401, text=AUTH_ERROR_V250,
                                content_type="application/json",
                                headers={"WWW-Authenticate": 'Basic realm="llama-swap"'})
        response: web.StreamResponse = await handler(request)
        return response

    @staticmethod
    def _go_404() -> web.Response:
        return web.Response(status=404, text=GO_404, content_type="text/plain")

    async def _health(self, request: web.Request) -> web.Response:
        return web.Response(text="OK") if self.health_ok else web.Response(status=503, text="no")

    async def _version(self, request: web.Request) -> web.Response:
        if self.version is None:
            return self._go_404()
        return web.Response(text=self.version, content_type="application/json")

    async def _events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={
            "Content-Type": "text/event-stream", "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no"})
        await response.prepare(request)
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._streams.append(queue)
        self.connections += 1
        try:
            for data in self.on_connect():
                await response.write(data)
            while True:
                data = await queue.get()
                if data == _CLOSE:
                    await response.write_eof()
                    return response
                if data == _ABORT:
                    if request.transport is not None:  # None: the client already left
                        request.transport.abort()
                    return response
                await response.write(data)
        finally:
            self._streams.remove(queue)

    async def _activity(self, request: web.Request) -> web.Response:
        if not self.rest_activity:
            return self._go_404()
        limit, page = int(request.query.get("limit", 25)), int(request.query.get("page", 1))
        rows = sorted(self.activity, key=lambda row: row["id"], reverse=True)
        total_pages = max(1, -(-len(rows) // limit))
        body = {"data": rows[(page - 1) * limit: page * limit], "page": page, "limit": limit,
                "total": len(rows), "total_pages": total_pages}
        return web.json_response(body)

    async def _performance(self, request: web.Request) -> web.Response:
        if self.performance is None:
            return self._go_404()
        if self.performance == "disabled":
            return web.json_response({"enabled": False}, status=503)
        after_text = request.query.get("after")
        samples = json.loads(self.performance)
        if after_text is not None:
            try:
                after = parse_rfc3339(after_text)  # an unencoded `+` arrives as a space: 400
            except TimestampError:
                return web.Response(status=400, text='{"error":"bad after"}')
            for key in ("sys_stats", "gpu_stats"):
                samples[key] = [s for s in samples[key] or []
                                if parse_rfc3339(s["timestamp"]) > after] or None
        return web.json_response(samples)

    async def _running(self, request: web.Request) -> web.Response:
        if self.running_failures > 0:
            self.running_failures -= 1
            return web.Response(status=503, text="busy")
        return web.Response(text=self.running, content_type="application/json")

    async def _capture(self, request: web.Request) -> web.Response:
        if request.match_info["id"] == "42":
            return web.Response(text=CAPTURE, content_type="application/json")
        return web.json_response({"error": "capture not found", "src": "llama-swap"}, status=404)

    async def _unload_one(self, request: web.Request) -> web.Response:
        if not self.new_unload_api:
            return self._go_404()
        if request.match_info["model"] not in self.models:
            return web.json_response({"error": "model not found", "src": "llama-swap"},
                                     status=404)
        return web.Response(text="OK")

    async def _unload_all(self, request: web.Request) -> web.Response:
        if not self.new_unload_api:
            return self._go_404()
        return web.json_response({"msg": "ok"})

    async def _unload_legacy(self, request: web.Request) -> web.Response:
        return web.Response(text="OK")

    async def _chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.bodies.append(body)
        if body.get("model") not in self.models:
            return web.json_response({"error": "no router for requested model",
                                      "src": "llama-swap"}, status=404)
        return web.json_response({"choices": [{"message": {"content": "."}}]})

    async def _upstream(self, request: web.Request) -> web.Response:
        """§1.5: llama-swap's 404 for an unknown model, else the model's server answers."""
        model = request.match_info["model"]
        if model not in self.models:
            return web.json_response({"error": "model not found", "src": "llama-swap"},
                                     status=404)
        if request.match_info["rest"] == "health" and model not in self.without_health:
            return web.json_response({"status": "ok"})
        return web.json_response({"error": {"code": 404, "message": "File Not Found",
                                             "type": "not_found_error"}}, status=404)

    async def _log_stream(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["id"] not in (*self.models, "proxy", "upstream"):
            return web.Response(status=400, text="llama-swap: invalid log id")
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(request)
        for chunk in self.log_chunks:
            await response.write(chunk.encode())
        await response.write_eof()
        return response
