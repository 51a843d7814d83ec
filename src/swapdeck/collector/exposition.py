"""The metrics page: counters plus gauges read off the fleet state (pure; the caller passes
`now` and everything else it reads).

Families, all prefixed `swapdeck_`:

per host and model   requests_total{path,status}, prompt_tokens_total, cached_tokens_total,
                     generated_tokens_total, request_duration_seconds,
                     prefill_tokens_per_second, decode_tokens_per_second (histograms),
                     model_state (stateset), model_inflight_requests,
                     model_last_request_timestamp_seconds
per host             host_up, host_liveness (stateset), host_reconnects_total,
                     host_last_seen_age_seconds, host_frames_rejected_total,
                     host_gaps_suspected_total, host_inflight_requests
per GPU              gpu_memory_used_bytes, gpu_memory_total_bytes, gpu_utilization_percent,
                     gpu_temperature_celsius, gpu_power_watts, gpu_sample_age_seconds
the collector        collector_events_total, collector_history_pending_events

Unknown readings (llama-swap's -1) and GPU readings older than the host's stale window
(GPU sampling can freeze, issue #1155 in §1.9) are left out rather than shown as numbers;
`gpu_sample_age_seconds` stays, so a frozen sampler is visible.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from swapdeck.collector.histograms import HISTOGRAMS, le_labels
from swapdeck.collector.labels import OTHER
from swapdeck.collector.metrics import FleetCounters, HostCounters, ModelCounters
from swapdeck.collector.page import (
    OPENMETRICS_TYPE,
    TEXT_TYPE,
    Family,
    bucket_labels,
    labels_text,
    wants_openmetrics,
    write_page,
)
from swapdeck.events import UNKNOWN, GpuSample, Liveness, ModelState
from swapdeck.fleet.state import FleetState, HostState

MIB = 1024 * 1024
MAX_GPUS_PER_HOST = 32
"""A host reporting more GPU indices than any box has is sending junk: labels stay bounded."""
_LES = {spec.key: le_labels(spec) for spec in HISTOGRAMS}
_EMPTY = ModelCounters()


@dataclass(frozen=True, slots=True)
class HostExtras:
    """What the scrape knows about a host beyond the reducer's state."""

    last_seen: float | None = None
    """Unix seconds of the last thing heard from the host (the connector's own clock)."""
    gpu_stale_after_s: float = 60.0


@dataclass(frozen=True, slots=True)
class CollectorVitals:
    events_applied: int
    history_pending: int


def fleet_families(counters: FleetCounters, state: FleetState, now: float,
                   extras: Mapping[str, HostExtras],
                   vitals: CollectorVitals | None = None) -> list[Family]:
    page = _Families()
    for name, host_counters in counters.hosts.items():
        page.host(name, host_counters, state.hosts.get(name), now,
                  extras.get(name, HostExtras()))
    families = page.all()
    if vitals is not None:
        events = Family("swapdeck_collector_events", "counter",
                        "Events the collector's hub has applied.")
        events.counter("", vitals.events_applied)
        pending = Family("swapdeck_collector_history_pending_events", "gauge",
                         "Events buffered for the history writer, not yet written.")
        pending.add("", vitals.history_pending)
        families += [events, pending]
    return families


def render(families: list[Family], accept: str) -> tuple[bytes, str]:
    """The page in the format the scraper asked for (Accept header) and its content type."""
    if wants_openmetrics(accept):
        return write_page(families, openmetrics=True), OPENMETRICS_TYPE
    return write_page(families, openmetrics=False), TEXT_TYPE


class _Families:
    def __init__(self) -> None:
        self.requests = Family("swapdeck_requests", "counter",
                               "Finished requests by inference path and status (§3.1).")
        self.prompt = Family("swapdeck_prompt_tokens", "counter",
                             "Prompt tokens processed (tokens.input_tokens).")
        self.cached = Family("swapdeck_cached_tokens", "counter",
                             "Prompt tokens served from cache (tokens.cache_tokens).")
        self.generated = Family("swapdeck_generated_tokens", "counter",
                                "Tokens generated (tokens.output_tokens).")
        self.histograms = {spec.key: Family(spec.name, "histogram", spec.help)
                           for spec in HISTOGRAMS}
        self.model_state = Family("swapdeck_model_state", "stateset",
                                  "Process state of each model the host lists (§4).")
        self.model_inflight = Family(
            "swapdeck_model_inflight_requests", "gauge",
            "Requests in flight per model (hosts that report only a total are left out).")
        self.model_last = Family("swapdeck_model_last_request_timestamp_seconds", "gauge",
                                 "Completion time of the model's last request (unix seconds).")
        self.up = Family("swapdeck_host_up", "gauge", "1 while the host's stream is connected.")
        self.liveness = Family("swapdeck_host_liveness", "stateset",
                               "connected, reconnecting or down.")
        self.reconnects = Family("swapdeck_host_reconnects", "counter",
                                 "Times a connected host was lost.")
        self.seen_age = Family("swapdeck_host_last_seen_age_seconds", "gauge",
                               "Seconds since anything was last heard from the host.")
        self.rejected = Family("swapdeck_host_frames_rejected", "counter",
                               "Malformed frames or records skipped.")
        self.gaps = Family("swapdeck_host_gaps_suspected", "counter",
                           "Times records may have been missed (stream drops, restarts).")
        self.host_inflight = Family("swapdeck_host_inflight_requests", "gauge",
                                    "Requests in flight on the host.")
        self.gpu_used = Family("swapdeck_gpu_memory_used_bytes", "gauge", "VRAM in use.")
        self.gpu_total = Family("swapdeck_gpu_memory_total_bytes", "gauge", "VRAM size.")
        self.gpu_util = Family("swapdeck_gpu_utilization_percent", "gauge", "GPU utilisation.")
        self.gpu_temp = Family("swapdeck_gpu_temperature_celsius", "gauge", "GPU temperature.")
        self.gpu_power = Family("swapdeck_gpu_power_watts", "gauge", "GPU power draw.")
        self.gpu_age = Family(
            "swapdeck_gpu_sample_age_seconds", "gauge",
            "Age of the newest GPU sample; readings older than the stale window are omitted.")

    def all(self) -> list[Family]:
        return [self.requests, self.prompt, self.cached, self.generated,
                *self.histograms.values(), self.model_state, self.model_inflight,
                self.model_last, self.up, self.liveness, self.reconnects, self.seen_age,
                self.rejected, self.gaps, self.host_inflight, self.gpu_used, self.gpu_total,
                self.gpu_util, self.gpu_temp, self.gpu_power, self.gpu_age]

    # ------------------------------------------------------------------ per host

    def host(self, name: str, counters: HostCounters, state: HostState | None, now: float,
             extras: HostExtras) -> None:
        host_labels = labels_text([("host", name)])
        model_labels = {label: labels_text([("host", name), ("model", label)])
                        for label in sorted(counters.labels.assigned | counters.models.keys())}
        for label, labels in model_labels.items():
            self._model_counters(name, label, labels, counters.models.get(label, _EMPTY))
        self.reconnects.counter(host_labels, counters.reconnects)
        self.rejected.counter(host_labels, counters.frames_rejected)
        self.gaps.counter(host_labels, counters.gaps)
        if state is not None:
            self._host_state(host_labels, model_labels, counters, state, now, extras)
            for gpu in state.latest_gpus()[:MAX_GPUS_PER_HOST]:
                self._gpu(name, gpu, now, extras.gpu_stale_after_s)

    def _model_counters(self, host: str, label: str, labels: str,
                        counters: ModelCounters) -> None:
        for (path, status), count in sorted(counters.requests.items()):
            self.requests.counter(labels_text([("host", host), ("model", label),
                                               ("path", path), ("status", status)]), count)
        self.prompt.counter(labels, counters.prompt_tokens)
        self.cached.counter(labels, counters.cached_tokens)
        self.generated.counter(labels, counters.generated_tokens)
        for spec in HISTOGRAMS:
            histogram = counters.histograms[spec.key]
            self.histograms[spec.key].histogram(
                labels, histogram.cumulative(bucket_labels(labels, _LES[spec.key])),
                histogram.total / spec.divisor)

    def _host_state(self, host_labels: str, model_labels: Mapping[str, str],
                    counters: HostCounters, state: HostState, now: float,
                    extras: HostExtras) -> None:
        self.up.add(host_labels, 1 if state.liveness is Liveness.CONNECTED else 0)
        self.liveness.stateset(host_labels, ((kind.value, state.liveness is kind)
                                             for kind in Liveness))
        seen = [t for t in (extras.last_seen, state.last_seen) if t is not None]
        if seen:
            self.seen_age.add(host_labels, max(0.0, now - max(seen)))
        self.host_inflight.add(host_labels, state.inflight_count)
        per_model = state.inflight_total is None
        inflight: dict[str, int] = {}
        if per_model:
            for request in state.inflight.values():
                inflight[request.model] = inflight.get(request.model, 0) + 1
        for model_id, view in sorted(state.models.items()):
            label = counters.labels.label(model_id)
            labels = model_labels.get(label)
            if label == OTHER or labels is None:
                continue
            self.model_state.stateset(labels, ((s.value, view.info.state is s)
                                               for s in ModelState))
            if per_model:
                self.model_inflight.add(labels, inflight.get(model_id, 0))
            if view.last_request_done is not None:
                self.model_last.add(labels, view.last_request_done)

    def _gpu(self, host: str, gpu: GpuSample, now: float, stale_after_s: float) -> None:
        labels = labels_text([("host", host), ("gpu", str(gpu.index)), ("name", gpu.name)])
        age = max(0.0, now - gpu.at)
        self.gpu_age.add(labels, age)
        if age > stale_after_s:
            return
        readings = ((self.gpu_used, gpu.mem_used_mb, MIB), (self.gpu_total, gpu.mem_total_mb, MIB),
                    (self.gpu_util, gpu.util_pct, 1), (self.gpu_temp, gpu.temp_c, 1),
                    (self.gpu_power, gpu.power_w, 1))
        for family, value, scale in readings:
            if value != UNKNOWN and value >= 0:
                family.add(labels, value * scale)
