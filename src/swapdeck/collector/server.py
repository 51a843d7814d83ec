"""The HTTP side of the collector: `GET /metrics` (optionally behind a bearer token) and
`GET /healthz`, served by aiohttp on the address from `[collector]`.

The page itself is produced by the `scrape(accept)` callable the service hands in, on the
event loop, so it reads the fleet state and counters between two events, never mid-event.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from aiohttp import web

from swapdeck.collector.errors import CollectorError

Scrape = Callable[[str], tuple[bytes, str]]
"""Accept header → (page, content type)."""


class MetricsServer:
    def __init__(self, scrape: Scrape, *, token: str | None) -> None:
        self._scrape = scrape
        self._token = token.encode() if token else None
        self._runner: web.AppRunner | None = None
        self.url = ""
        self.scrapes = 0

    async def start(self, bind: str, port: int) -> str:
        """Listen; returns the metrics URL. Raises CollectorError when the port is taken."""
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, bind, port).start()
        except OSError as exc:
            await runner.cleanup()
            raise CollectorError(
                f"cannot listen on {bind}:{port} for metrics ({exc.strerror or exc}); "
                "set [collector] bind / port in the config") from None
        self._runner = runner
        address: Any = runner.addresses[0]
        host = f"[{address[0]}]" if ":" in str(address[0]) else str(address[0])
        self.url = f"http://{host}:{address[1]}/metrics"
        return self.url

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    def _authorized(self, request: web.Request) -> bool:
        if self._token is None:
            return True
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(given.strip().encode(), self._token)

    async def _metrics(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.Response(status=401, text="bearer token required\n",
                                headers={"WWW-Authenticate": 'Bearer realm="swapdeck"'})
        body, content_type = self._scrape(request.headers.get("Accept", ""))
        self.scrapes += 1
        response = web.Response(body=body)
        response.headers["Content-Type"] = content_type
        return response

    async def _healthz(self, request: web.Request) -> web.Response:
        # Unauthenticated on purpose, like llama-swap's /health (§1.7): it reveals nothing.
        return web.Response(text="ok\n")
