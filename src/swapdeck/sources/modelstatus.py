"""SSE `modelStatus` (§2.2): the host's full model list, and what changed since the last one.

Every state transition of any model re-sends the whole list, so state changes are found by
diffing consecutive lists. Peers have an empty `state` (§2.2) -> `ModelState.PEER`; hosts
<=v217 may say `unknown` (§2.4).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from swapdeck.events import ModelInfo, ModelState, ModelStateChanged
from swapdeck.sources.jsonfields import (
    FieldError,
    as_list,
    as_object,
    get_bool,
    get_int,
    get_str,
    get_str_list,
)


def parse_model_list(raw: object, ttls: Mapping[str, int]) -> tuple[ModelInfo, ...]:
    """A `modelStatus` payload -> models; one bad entry rejects the whole list (FieldError).

    A partial list would read as models vanishing, so it is all or nothing. `ttls` are the
    TTLs learned from `/running` (§1.3), attached where known.
    """
    models: list[ModelInfo] = []
    for index, item in enumerate(as_list(raw, "modelStatus")):
        try:
            obj = as_object(item, "model")
            model_id = get_str(obj, "id")
            context = obj.get("context_length")
            models.append(ModelInfo(
                id=model_id,
                state=ModelState.parse(get_str(obj, "state", "")),
                name=get_str(obj, "name", ""),
                description=get_str(obj, "description", ""),
                unlisted=get_bool(obj, "unlisted", False),
                peer_id=get_str(obj, "peerID", ""),
                aliases=get_str_list(obj, "aliases"),
                context_length=None if context is None else get_int(obj, "context_length"),
                ttl_s=ttls.get(model_id),
            ))
        except FieldError as exc:
            raise FieldError(f"model [{index}]: {exc}") from None
    return tuple(models)


def diff_model_states(host: str, at: float, previous: Mapping[str, ModelState] | None,
                      models: tuple[ModelInfo, ...]) -> list[ModelStateChanged]:
    """State changes between two lists; `previous=None` (the first list ever) yields none.

    The first list is a starting point, not a change: `ModelsListed` carries it. A model
    that appears later (config reload added it) is reported with `old=None`.
    """
    if previous is None:
        return []
    return [
        ModelStateChanged(host=host, at=at, model=info.id, old=previous.get(info.id),
                          new=info.state)
        for info in models
        if previous.get(info.id) is not info.state
    ]


def with_ttls(models: tuple[ModelInfo, ...], ttls: Mapping[str, int]) -> tuple[ModelInfo, ...]:
    """The same models with TTLs attached where `/running` told us one."""
    return tuple(
        info if ttls.get(info.id, info.ttl_s) == info.ttl_s
        else replace(info, ttl_s=ttls[info.id])
        for info in models
    )


def parse_running_ttls(raw: object) -> dict[str, int] | None:
    """`GET /running` (§1.3) -> {model: ttl seconds}; None when the host does not say (<=v185).

    v186+ adds `ttl` (configured seconds after globalTTL substitution, 0 = never).
    """
    obj = as_object(raw, "/running")
    running = obj.get("running")
    ttls: dict[str, int] = {}
    for item in as_list(running, "running") if running is not None else []:
        entry = as_object(item, "running entry")
        if "ttl" not in entry:
            return None
        ttls[get_str(entry, "model")] = get_int(entry, "ttl")
    return ttls
