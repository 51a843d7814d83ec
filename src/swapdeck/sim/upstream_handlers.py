"""`/upstream/{model}/{path...}` (§1.5): straight to the model's llama-server, loading it first.

POSTs to an inference path are metered like any inference request; GETs answer a few of
llama-server's own endpoints (`/health`, `/props`, `/slots`, `/v1/models`, the index page).
"""

from __future__ import annotations

import re

from aiohttp import web

from swapdeck.sim.core import HostCore
from swapdeck.sim.gojson import go_dumps
from swapdeck.sim.inference_handlers import PATH_KINDS, UNSIMULATED, inference
from swapdeck.sim.process import LoadAborted, ModelProcess
from swapdeck.sim.server import Route, route, to_response
from swapdeck.sim.wire import error_reply, upstream_error_body

IGNORE_PATHS = re.compile(r".*\.(js|json|css|png|gif|jpg|jpeg|ico|txt)$")  # §1.5 default


def _llama_server_get(core: HostCore, proc: ModelProcess, path: str) -> web.Response:
    model = proc.model
    if path == "":
        page = (f"<!DOCTYPE html><html><head><title>llama.cpp - chat</title></head><body>"
                f"<div id=app>{model.id}</div></body></html>")
        return web.Response(text=page, content_type="text/html")
    if path == "health":
        return web.Response(body=b'{"status":"ok"}', content_type="application/json")
    if path == "props":
        props = {"default_generation_settings": {"n_ctx": model.context_length},
                 "total_slots": 4, "model_alias": model.id,
                 "model_path": f"/models/{model.id}.gguf",
                 "build_info": core.fingerprint, "is_sleeping": False}
        return web.Response(body=go_dumps(props).encode(), content_type="application/json")
    if path == "slots":
        slots = [{"id": i, "n_ctx": model.context_length // 4, "speculative": False,
                  "is_processing": i < proc.in_flight - 1} for i in range(4)]
        return web.Response(body=go_dumps(slots).encode(), content_type="application/json")
    if path == "v1/models":
        listing = {"object": "list", "data": [{"id": f"/models/{model.id}.gguf",
                                                "object": "model", "owned_by": "llamacpp",
                                                "meta": {"n_ctx": model.context_length}}]}
        return web.Response(body=go_dumps(listing).encode(), content_type="application/json")
    return web.Response(status=404, body=upstream_error_body(404, "File Not Found"),
                        content_type="application/json")


async def upstream(core: HostCore, request: web.Request,
                   params: dict[str, str]) -> web.StreamResponse:
    name, _, rest = params["rest"].partition("/")
    if "/" not in params["rest"]:  # /upstream/<model> -> /upstream/<model>/
        status = 301 if request.method == "GET" else 308
        return web.Response(status=status, headers={"Location": f"/upstream/{name}/"})
    proc = core.procs.resolve(name)
    if proc is None:
        return to_response(error_reply(core.traits, 404, "model not found",
                                       request.headers.get("Accept", "")))
    stripped = "/" + rest
    metered = stripped in PATH_KINDS or (core.traits.all_inference_routes
                                         and stripped in UNSIMULATED)
    if request.method == "POST" and metered:
        return await inference(core, request, params, req_path=stripped, model_name=proc.model.id)
    if IGNORE_PATHS.match(stripped) and not proc.state.is_loaded:
        return to_response(error_reply(core.traits, 409, f"model {proc.model.id} is not loaded",
                                       request.headers.get("Accept", "")))
    try:
        await core.procs.acquire(proc)
    except LoadAborted as exc:
        return to_response(error_reply(core.traits, 502, str(exc),
                                       request.headers.get("Accept", "")))
    try:
        return _llama_server_get(core, proc, rest)
    finally:
        core.procs.release(proc)


ROUTES: list[Route] = [
    route("GET", "/upstream/{rest...}", upstream),
    route("POST", "/upstream/{rest...}", upstream),
]
