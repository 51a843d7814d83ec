"""Model lists as each era shows them: SSE `modelStatus` (§2.2), `/v1/models` (§1.2),
`/running` (§1.3), `/api/version` (§1.7). Pure functions of the process table."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from swapdeck.sim.era import EraTraits
from swapdeck.sim.gojson import go_map
from swapdeck.sim.model import launch_cmd
from swapdeck.sim.process import ModelProcess, ProcState


def _capabilities(names: Iterable[str]) -> dict[str, bool]:
    return go_map({name: True for name in names})


def model_status(traits: EraTraits, procs: Iterable[ModelProcess]) -> list[dict[str, Any]]:
    """Every configured model, unlisted included, sorted by id, with its process state."""
    listed = []
    for proc in sorted(procs, key=lambda p: p.model.id):
        model = proc.model
        item: dict[str, Any] = {"id": model.id, "name": model.name, "description": "",
                                "state": proc.state.value, "unlisted": model.unlisted,
                                "peerID": ""}
        if traits.status_aliases and model.aliases:
            item["aliases"] = list(model.aliases)
        if traits.status_capabilities:
            if model.capabilities:
                item["capabilities"] = _capabilities(model.capabilities)
            if model.context_length:
                item["context_length"] = model.context_length
        listed.append(item)
    return listed


def models_list(traits: EraTraits, procs: Iterable[ModelProcess], now_s: int) -> dict[str, Any]:
    """`/v1/models`: listed models sorted by id; `created` is the time of the request."""
    data = []
    for proc in sorted(procs, key=lambda p: p.model.id):
        model = proc.model
        if model.unlisted:
            continue
        item: dict[str, Any] = {"id": model.id, "object": "model", "created": now_s,
                                "owned_by": "llama-swap"}
        if model.name:
            item["name"] = model.name
        if traits.model_meta_type:
            if model.capabilities:
                item["capabilities"] = _capabilities(model.capabilities)
            if model.context_length:
                item["context_length"] = model.context_length
            llamaswap: dict[str, Any] = {"type": "model"}
            if model.aliases:
                llamaswap["aliases"] = list(model.aliases)
            item["meta"] = {"llamaswap": llamaswap}
        if traits.models_status:
            item["status"] = {"value": "loaded" if proc.state.is_loaded else "unloaded"}
        data.append(item)
    return {"object": "list", "data": data}


def running_list(traits: EraTraits, procs: Iterable[ModelProcess]) -> dict[str, Any]:
    """`/running`: <=v217 lists only ready processes; v218+ starting/ready/stopping."""
    shown = [p for p in sorted(procs, key=lambda p: p.model.id)
             if (p.state.is_loaded if traits.running_lists_transitions
                 else p.state is ProcState.READY)]
    return {"running": [
        {"model": p.model.id, "state": p.state.value, "cmd": launch_cmd(p.model, p.port),
         "proxy": f"http://localhost:{p.port}", "ttl": p.model.ttl, "name": p.model.name,
         "description": ""}
        for p in shown
    ]}


def version_body(traits: EraTraits) -> dict[str, Any]:
    commit = hashlib.sha1(f"llama-swap {traits.version}".encode()).hexdigest()[:7]
    return {"version": traits.version, "commit": commit, "build_date": traits.build_date}
