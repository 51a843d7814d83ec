"""The HTTP edge: one catch-all aiohttp handler that routes like llama-swap's router.

Routing is table-driven so that each era serves exactly its endpoints: a path the era lacks
gets Go's plain `404 page not found` (§0), a known path with the wrong method a 405 (gin: 404).
Auth (§7), the access log line (§0) and the injected latency are applied here, once.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from swapdeck.sim.auth import is_authorized
from swapdeck.sim.core import HostCore
from swapdeck.sim.era import EraTraits
from swapdeck.sim.timefmt import go_duration
from swapdeck.sim.wire import Reply, method_not_allowed_reply, not_found_reply, unauthorized_reply

Handler = Callable[[HostCore, web.Request, dict[str, str]], Awaitable[web.StreamResponse]]


def _always(_traits: EraTraits) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    available: Callable[[EraTraits], bool] = _always
    auth: bool = True
    access_log: bool = True


def route(method: str, path: str, handler: Handler,
          available: Callable[[EraTraits], bool] = _always, *, auth: bool = True,
          access_log: bool = True) -> Route:
    """`path` uses `{name}` for one segment and `{name...}` for the rest of the path."""
    regex = re.sub(r"\{(\w+)\.\.\.\}", r"(?P<\1>.+)", path)
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", regex)
    return Route(method, re.compile(f"^{regex}$"), handler, available, auth, access_log)


def to_response(reply: Reply) -> web.Response:
    response = web.Response(status=reply.status, body=reply.body)
    for name, value in reply.headers.items():
        response.headers[name] = value
    return response


class Dispatcher:
    def __init__(self, core_of: Callable[[], HostCore], routes: list[Route]) -> None:
        self._core_of = core_of
        self._routes = routes
        self.latency_s = 0.0

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        core = self._core_of()
        started = time.perf_counter_ns()
        if self.latency_s > 0:
            await asyncio.sleep(self.latency_s)
        if request.method == "OPTIONS":  # CORS preflight is all llama-swap answers (§0)
            return web.Response(status=204, headers={
                "Access-Control-Allow-Origin": "*",
                "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
                "Access-Control-Allow-Headers": "Content-Type, Authorization, X-Api-Key"})
        found, allowed = self._match(core.traits, request)
        if found is None:
            response: web.StreamResponse = to_response(
                method_not_allowed_reply(core.traits, allowed) if allowed
                else not_found_reply(core.traits))
            log_it = True
        else:
            chosen, params = found
            log_it = chosen.access_log
            if chosen.auth and not is_authorized(request.headers, core.settings.api_key,
                                                 case_sensitive_scheme=core.traits.gin):
                response = to_response(unauthorized_reply(core.traits,
                                                          request.headers.get("Accept", "")))
            else:
                response = await chosen.handler(core, request, params)
        if log_it:
            _access_log(core, request, response, time.perf_counter_ns() - started)
        return response

    def _match(self, traits: EraTraits, request: web.Request,
               ) -> tuple[tuple[Route, dict[str, str]] | None, list[str]]:
        allowed: list[str] = []
        path = request.path
        for candidate in self._routes:
            if not candidate.available(traits):
                continue
            match = candidate.pattern.match(path)
            if match is None:
                continue
            if candidate.method == request.method or (candidate.method == "GET"
                                                      and request.method == "HEAD"):
                return (candidate, match.groupdict()), allowed
            allowed.append(candidate.method)
        return None, allowed


def _access_log(core: HostCore, request: web.Request, response: web.StreamResponse,
                elapsed_ns: int) -> None:
    """`[INFO] Request <ip> "GET /path HTTP/1.1" 200 123 "<UA>" 1.2ms` (§0)."""
    if isinstance(response, web.Response) and not response.prepared:
        size = len(response.body) if isinstance(response.body, bytes) else 0
    else:
        size = response.body_length
    ip = request.headers.get("X-Forwarded-For") or request.remote or "-"
    version = f"HTTP/{request.version.major}.{request.version.minor}"
    user_agent = request.headers.get("User-Agent", "")
    core.logs.log("INFO", f'Request {ip} "{request.method} {request.path_qs} {version}" '
                          f'{response.status} {size} "{user_agent}" {go_duration(elapsed_ns)}')
