"""Long-lived responses: `GET /api/events` (SSE, §2) and `GET /logs/stream[/{id}]` (§1.6)."""

from __future__ import annotations

import contextlib

from aiohttp import web

from swapdeck.sim.core import HostCore
from swapdeck.sim.logs import LogMonitor, LogStreamSubscriber
from swapdeck.sim.server import Route, route, to_response
from swapdeck.sim.wire import error_reply

SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
               "Connection": "keep-alive", "X-Accel-Buffering": "no"}


def _end(request: web.Request, response: web.StreamResponse, *, aborted: bool) -> None:
    """An aborted stream loses its connection mid-body; a closed one ends cleanly."""
    if aborted and request.transport is not None:
        response.force_close()
        request.transport.close()


async def events(core: HostCore, request: web.Request, _: dict[str, str]) -> web.StreamResponse:
    response = web.StreamResponse(headers=SSE_HEADERS)
    await response.prepare(request)
    subscriber = core.open_events()
    try:
        while True:
            await subscriber.ready.wait()
            data = subscriber.take()
            if data and not subscriber.aborted:
                await response.write(data)
            if subscriber.closed:
                break
    except ConnectionError:
        pass  # the client went away
    finally:
        core.close_events(subscriber)
    _end(request, response, aborted=subscriber.aborted)
    return response


def _monitor(core: HostCore, ident: str) -> LogMonitor | None:
    if ident in ("", "proxy"):  # the mux log holds what `logToStdout: proxy` routes (§1.6)
        return core.logs.proxy
    if ident == "upstream":
        return core.logs.upstream
    proc = core.procs.resolve(ident)
    return core.logs.per_model[proc.model.id] if proc is not None else None


async def log_stream(core: HostCore, request: web.Request,
                     params: dict[str, str]) -> web.StreamResponse:
    ident = params.get("id", "")
    monitor = _monitor(core, ident)
    if monitor is None:
        return to_response(error_reply(core.traits, 400, f"invalid log id: {ident}",
                                       request.headers.get("Accept", "")))
    response = web.StreamResponse(headers={"Content-Type": "text/plain; charset=utf-8",
                                           "X-Content-Type-Options": "nosniff"})
    await response.prepare(request)
    subscriber = LogStreamSubscriber()
    core.log_streams.add(subscriber)
    unsubscribe = monitor.subscribe(subscriber.feed)
    try:
        history = monitor.history()
        if "no-history" not in request.query and history:
            await response.write(history.encode())
        while not subscriber.closed:
            await subscriber.ready.wait()
            text = subscriber.take()
            if text and not subscriber.aborted:
                await response.write(text.encode())
    except ConnectionError:
        pass
    finally:
        unsubscribe()
        core.log_streams.discard(subscriber)
    with contextlib.suppress(ConnectionError):
        _end(request, response, aborted=subscriber.aborted)
    return response


ROUTES: list[Route] = [
    route("GET", "/api/events", events),
    route("GET", "/logs/stream", log_stream),
    route("GET", "/logs/stream/{id...}", log_stream),
]
