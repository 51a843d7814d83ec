"""Protocol eras of llama-swap that the simulator can impersonate, and what each one serves.

One simulated host speaks exactly one era. The traits below are read off the compatibility
matrix of llama-swap-api.md §10 (plus §12 where it is stricter); every handler asks the traits
instead of comparing version strings, so a fifth era is one more row here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class Era(StrEnum):
    V200 = "v200"  # <=v208: gin router, flat records, SSE `metrics` arrays, inflight {"total"}
    V230 = "v230"  # v209..v235: net/http (v218+), nested records, /api/performance
    V236 = "v236"  # v236..v239: SQLite store, /api/metrics/activity, inflight full list
    V250 = "v250"  # current: inflight operations, uiConfig, profileChanged, /api/hardware


InflightShape = Literal["total", "list", "operations"]


@dataclass(frozen=True, slots=True)
class EraTraits:
    version: str
    build_date: str
    gin: bool
    """<=v217: gin router — 404 body without newline, no 405, case-sensitive auth schemes (§12),
    error bodies JSON only when Accept asks for it (§0), SSE buffer of 25 (§2.3)."""
    flat_records: bool  # <=v208 (§3.1)
    metrics_stream: bool  # SSE `metrics` arrays + GET /api/metrics, v140..v235 (§2.4, §1.10)
    activity_store: bool  # /api/metrics/activity, /stats, SSE `activity`, v236+ (§1.10)
    inflight_shape: InflightShape  # §2.4
    running_lists_transitions: bool  # /running shows starting/stopping, v218+ (§1.3)
    performance: bool  # /api/performance + Prometheus /metrics, v212+ (§1.8, §1.9)
    failures_recorded: bool  # non-200 activity rows with error_msg/draft_*, v229+ (§12)
    models_status: bool  # `status` in /v1/models, v236+ (§1.2)
    model_meta_type: bool  # meta.llamaswap.type in /v1/models, v250 (§12)
    models_alias: bool  # GET /models, v250 (§1.2)
    status_capabilities: bool  # capabilities/context_length in modelStatus, v250 (§2.2)
    status_aliases: bool  # aliases in modelStatus (see report: assumed v236+)
    ui_config: bool  # SSE uiConfig, v240+
    profiles: bool  # SSE profileChanged, v241+
    hardware: bool  # /api/hardware, v247+
    inflight_cancel: bool  # POST /api/inflight/{id}/cancel, v235+
    capture_req_path: bool  # captures carry req_path (the record does from v209)
    reload_keeps_activity: bool  # the store outlives a config reload, v236+ (§12)
    reload_keeps_logs: bool  # log monitors outlive a reload; emptied by the gin era (§12)
    all_inference_routes: bool
    """§1.1's full list (`/v1/rerank`, `/v1/messages`, `/v/...`, audio, images): the doc gives
    it at HEAD with no versions, so only the newest era claims it; older ones serve the four
    long-standing routes."""

    @property
    def sse_buffer(self) -> int:
        """Per-connection SSE buffer; messages beyond it are dropped (§2.3)."""
        return 25 if self.gin else 1024


_TRAITS: dict[Era, EraTraits] = {
    Era.V200: EraTraits(
        version="v200", build_date="2025-11-02T18:21:44Z", gin=True, flat_records=True,
        metrics_stream=True, activity_store=False, inflight_shape="total",
        running_lists_transitions=False, performance=False, failures_recorded=False,
        models_status=False, model_meta_type=False, models_alias=False,
        status_capabilities=False, status_aliases=False, ui_config=False, profiles=False,
        hardware=False, inflight_cancel=False, capture_req_path=False,
        reload_keeps_activity=False, reload_keeps_logs=False, all_inference_routes=False,
    ),
    Era.V230: EraTraits(
        version="v230", build_date="2026-04-17T09:02:13Z", gin=False, flat_records=False,
        metrics_stream=True, activity_store=False, inflight_shape="total",
        running_lists_transitions=True, performance=True, failures_recorded=True,
        models_status=False, model_meta_type=False, models_alias=False,
        status_capabilities=False, status_aliases=False, ui_config=False, profiles=False,
        hardware=False, inflight_cancel=False, capture_req_path=True,
        reload_keeps_activity=False, reload_keeps_logs=True, all_inference_routes=False,
    ),
    Era.V236: EraTraits(
        version="v236", build_date="2026-06-05T14:40:51Z", gin=False, flat_records=False,
        metrics_stream=False, activity_store=True, inflight_shape="list",
        running_lists_transitions=True, performance=True, failures_recorded=True,
        models_status=True, model_meta_type=False, models_alias=False,
        status_capabilities=False, status_aliases=True, ui_config=False, profiles=False,
        hardware=False, inflight_cancel=True, capture_req_path=True,
        reload_keeps_activity=True, reload_keeps_logs=True, all_inference_routes=False,
    ),
    Era.V250: EraTraits(
        version="v250", build_date="2026-08-14T16:05:37Z", gin=False, flat_records=False,
        metrics_stream=False, activity_store=True, inflight_shape="operations",
        running_lists_transitions=True, performance=True, failures_recorded=True,
        models_status=True, model_meta_type=True, models_alias=True,
        status_capabilities=True, status_aliases=True, ui_config=True, profiles=True,
        hardware=True, inflight_cancel=True, capture_req_path=True,
        reload_keeps_activity=True, reload_keeps_logs=True, all_inference_routes=True,
    ),
}


def traits_for(era: Era) -> EraTraits:
    return _TRAITS[era]


def parse_era(value: Era | str) -> Era:
    """`Era("v236")` with an error that lists the choices instead of a bare ValueError."""
    try:
        return Era(value)
    except ValueError:
        choices = ", ".join(e.value for e in Era)
        raise ValueError(f"unknown simulator era {value!r}; expected one of {choices}") from None
