"""REST endpoints of §1 that are not streams or inference: lists, unload, activity, perf."""

from __future__ import annotations

import time

from aiohttp import web

from swapdeck.sim.activity import activity_stats, parse_activity_query, run_activity_query
from swapdeck.sim.captures import render_capture
from swapdeck.sim.core import HostCore
from swapdeck.sim.era import EraTraits
from swapdeck.sim.hardware import hardware_snapshot
from swapdeck.sim.perf import render_performance, render_prometheus
from swapdeck.sim.server import Route, route, to_response
from swapdeck.sim.timefmt import parse_rfc3339
from swapdeck.sim.views import models_list, running_list, version_body
from swapdeck.sim.wire import error_reply, json_reply, text_reply


def _error(core: HostCore, request: web.Request, status: int, message: str) -> web.Response:
    return to_response(error_reply(core.traits, status, message,
                                   request.headers.get("Accept", "")))


def _json(core: HostCore, payload: object, status: int = 200) -> web.Response:
    return to_response(json_reply(core.traits, payload, status))


async def health(core: HostCore, request: web.Request, _: dict[str, str]) -> web.Response:
    return to_response(text_reply("OK"))


def _redirect(location: str, status: int = 302) -> web.Response:
    return web.Response(status=status, headers={"Location": location})


async def root(core: HostCore, request: web.Request, _: dict[str, str]) -> web.Response:
    return _redirect("/ui")


async def upstream_index(core: HostCore, request: web.Request, _: dict[str, str]) -> web.Response:
    return _redirect("/ui/models")


async def version(core: HostCore, request: web.Request, _: dict[str, str]) -> web.Response:
    return _json(core, version_body(core.traits))


async def models(core: HostCore, request: web.Request, _: dict[str, str]) -> web.Response:
    response = _json(core, models_list(core.traits, core.procs_iter(), int(time.time())))
    origin = request.headers.get("Origin")
    if origin:  # /v1/models echoes Origin (§0)
        response.headers["Access-Control-Allow-Origin"] = origin
    return response


async def running(core: HostCore, request: web.Request, _: dict[str, str]) -> web.Response:
    return _json(core, running_list(core.traits, core.procs_iter()))


async def unload_all_get(core: HostCore, request: web.Request, _: dict[str, str]) -> web.Response:
    await core.procs.stop_all()
    return to_response(text_reply("OK"))


async def unload_all_post(core: HostCore, request: web.Request, _: dict[str, str]) -> web.Response:
    await core.procs.stop_all()
    return _json(core, {"msg": "ok"})


async def unload_one(core: HostCore, request: web.Request, params: dict[str, str]) -> web.Response:
    proc = core.procs.resolve(params["model"])
    if proc is None:
        return _error(core, request, 404, "model not found")
    await core.procs.stop(proc)
    return to_response(text_reply("OK"))


async def legacy_metrics(core: HostCore, request: web.Request, _: dict[str, str]) -> web.Response:
    """v140..v235: every in-memory record oldest first; `null` before the first one (§12)."""
    rows = core.activity.rows()
    return _json(core, [core.render_row(r.id, r.done) for r in rows] if rows else None)


async def activity(core: HostCore, request: web.Request, _: dict[str, str]) -> web.Response:
    query = parse_activity_query(request.query)
    if isinstance(query, str):
        return _error(core, request, 400, query)
    page, total = run_activity_query(core.activity.rows(), query)
    return _json(core, {"data": [core.render_row(r.id, r.done) for r in page],
                        "page": query.page, "limit": query.limit, "total": total,
                        "total_pages": -(-total // query.limit)})


async def stats(core: HostCore, request: web.Request, _: dict[str, str]) -> web.Response:
    return _json(core, activity_stats(core.activity.rows(), request.query.get("model") or None))


async def capture(core: HostCore, request: web.Request, params: dict[str, str]) -> web.Response:
    raw = params["id"]
    if not raw.isdigit():
        return _error(core, request, 400, f"invalid capture id: {raw}")
    found = core.captures.get(int(raw))
    if found is None:
        return _error(core, request, 404, "capture not found")
    return _json(core, render_capture(found, with_req_path=core.traits.capture_req_path))


async def performance(core: HostCore, request: web.Request, _: dict[str, str]) -> web.Response:
    if core.perf_ring is None:  # unreachable: the route exists only where perf does
        return _error(core, request, 503, "performance monitor not available")
    after_text = request.query.get("after")
    after_ns = None
    if after_text is not None:
        after_ns = parse_rfc3339(after_text)
        if after_ns is None:  # an unencoded `+` arrives as a space and lands here (§12)
            return _error(core, request, 400, f"invalid after timestamp: {after_text!r} is not "
                                              "RFC3339")
    body = render_performance(core.hardware, core.perf_ring.since(after_ns),
                              after_given=after_ns is not None, with_enabled=True)
    return _json(core, body)


async def prometheus(core: HostCore, request: web.Request, _: dict[str, str]) -> web.Response:
    latest = core.perf_ring.latest() if core.perf_ring is not None else None
    return web.Response(text=render_prometheus(core.hardware, latest),
                        content_type="text/plain", charset="utf-8",
                        headers={"X-Prometheus-Format": "version=0.0.4"})


async def hardware(core: HostCore, request: web.Request, _: dict[str, str]) -> web.Response:
    return _json(core, hardware_snapshot(core.hardware, core.started_ns))


async def cancel_inflight(core: HostCore, request: web.Request,
                          params: dict[str, str]) -> web.Response:
    entry = core.inflight.entries.get(params["id"])
    if entry is None or entry.task is None:
        return _error(core, request, 404, "request not found")
    entry.cancel_reason = "api"
    entry.task.cancel()
    return _json(core, {"msg": "ok"})


async def logs(core: HostCore, request: web.Request, _: dict[str, str]) -> web.Response:
    """The combined history; with the default `logToStdout: proxy` that is the proxy log."""
    if "text/html" in request.headers.get("Accept", ""):
        return _redirect("/ui/")
    return to_response(text_reply(core.logs.proxy.history()))


async def profiles(core: HostCore, request: web.Request, _: dict[str, str]) -> web.Response:
    """§1.7 (v241+): the simulated config defines no profiles, so none is ever active."""
    return _json(core, {"active": None, "profiles": []})


async def set_profile(core: HostCore, request: web.Request, _: dict[str, str]) -> web.Response:
    """§1.7: `{"name": null}` clears the active profile (and says so on SSE, §2.2). The
    simulated config has no profiles, so any name is unknown; the doc gives no error text
    for that, so this one (a 404 in the era's error shape) is the simulator's own."""
    try:
        body = await request.json()
    except ValueError:
        return _error(core, request, 400, "invalid JSON body")
    name = body.get("name") if isinstance(body, dict) else None
    if name is not None:
        return _error(core, request, 404, f"profile not found: {name}")
    core.bus.publish("profileChanged", {"active": None})
    return _json(core, {"active": None})


def _perf(traits: EraTraits) -> bool:
    return traits.performance


ROUTES: list[Route] = [
    route("GET", "/health", health, auth=False),
    route("GET", "/wol-health", health, auth=False, access_log=False),
    route("GET", "/", root, auth=False),
    route("GET", "/upstream", upstream_index, auth=False),
    route("GET", "/api/version", version),
    route("GET", "/v1/models", models),
    route("GET", "/models", models, lambda t: t.models_alias),
    route("GET", "/running", running),
    route("GET", "/unload", unload_all_get),
    route("POST", "/api/models/unload", unload_all_post),
    route("POST", "/api/models/unload/{model...}", unload_one),
    route("GET", "/api/metrics", legacy_metrics, lambda t: t.metrics_stream),
    route("GET", "/api/metrics/activity", activity, lambda t: t.activity_store),
    route("GET", "/api/metrics/stats", stats, lambda t: t.activity_store),
    route("GET", "/api/captures/{id}", capture),
    route("GET", "/api/performance", performance, _perf, access_log=False),
    route("GET", "/metrics", prometheus, _perf, access_log=False),
    route("GET", "/api/hardware", hardware, lambda t: t.hardware),
    route("POST", "/api/inflight/{id}/cancel", cancel_inflight, lambda t: t.inflight_cancel),
    route("GET", "/logs", logs),
    route("GET", "/api/profiles", profiles, lambda t: t.profiles),
    route("PUT", "/api/profiles/active", set_profile, lambda t: t.profiles),
]
