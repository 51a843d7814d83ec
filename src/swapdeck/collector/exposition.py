"""The metrics page: counters plus gauges read off the fleet state, as Prometheus text or
OpenMetrics (pure; the caller passes `now` and everything else it reads).

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

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
    StateSetMetricFamily,
)
from prometheus_client.registry import Collector

from swapdeck.collector.histograms import HISTOGRAMS
from swapdeck.collector.labels import OTHER
from swapdeck.collector.metrics import FleetCounters, HostCounters, ModelCounters
from swapdeck.events import UNKNOWN, GpuSample, Liveness, ModelState
from swapdeck.fleet.state import FleetState, HostState

MIB = 1024 * 1024
HOST = ["host"]
HOST_MODEL = ["host", "model"]
GPU = ["host", "gpu", "name"]
MAX_GPUS_PER_HOST = 32
"""A host reporting more GPU indices than any box has is sending junk: labels stay bounded."""


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
                   vitals: CollectorVitals | None = None) -> list[Metric]:
    builder = _Families()
    for name, host_counters in counters.hosts.items():
        host_state = state.hosts.get(name)
        builder.host(name, host_counters, host_state, now, extras.get(name, HostExtras()))
    families = builder.all()
    if vitals is not None:
        families.append(CounterMetricFamily(
            "swapdeck_collector_events", "Events the collector's hub has applied.",
            value=vitals.events_applied))
        families.append(GaugeMetricFamily(
            "swapdeck_collector_history_pending_events",
            "Events buffered for the history writer, not yet written.",
            value=vitals.history_pending))
    return families


class _Families:
    def __init__(self) -> None:
        self.requests = CounterMetricFamily(
            "swapdeck_requests", "Finished requests by inference path and status (§3.1).",
            labels=[*HOST_MODEL, "path", "status"])
        self.prompt = CounterMetricFamily(
            "swapdeck_prompt_tokens", "Prompt tokens processed (tokens.input_tokens).",
            labels=HOST_MODEL)
        self.cached = CounterMetricFamily(
            "swapdeck_cached_tokens", "Prompt tokens served from cache (tokens.cache_tokens).",
            labels=HOST_MODEL)
        self.generated = CounterMetricFamily(
            "swapdeck_generated_tokens", "Tokens generated (tokens.output_tokens).",
            labels=HOST_MODEL)
        self.histograms = {spec.key: HistogramMetricFamily(spec.name, spec.help,
                                                           labels=HOST_MODEL)
                           for spec in HISTOGRAMS}
        self.model_state = StateSetMetricFamily(
            "swapdeck_model_state", "Process state of each model the host lists (§4).",
            labels=HOST_MODEL)
        self.model_inflight = GaugeMetricFamily(
            "swapdeck_model_inflight_requests",
            "Requests in flight per model (hosts that report only a total are left out).",
            labels=HOST_MODEL)
        self.model_last = GaugeMetricFamily(
            "swapdeck_model_last_request_timestamp_seconds",
            "Completion time of the model's last request (unix seconds).", labels=HOST_MODEL)
        self.up = GaugeMetricFamily("swapdeck_host_up", "1 while the host's stream is connected.",
                                    labels=HOST)
        self.liveness = StateSetMetricFamily(
            "swapdeck_host_liveness", "connected, reconnecting or down.", labels=HOST)
        self.reconnects = CounterMetricFamily(
            "swapdeck_host_reconnects", "Times a connected host was lost.", labels=HOST)
        self.seen_age = GaugeMetricFamily(
            "swapdeck_host_last_seen_age_seconds",
            "Seconds since anything was last heard from the host.", labels=HOST)
        self.rejected = CounterMetricFamily(
            "swapdeck_host_frames_rejected", "Malformed frames or records skipped.",
            labels=HOST)
        self.gaps = CounterMetricFamily(
            "swapdeck_host_gaps_suspected",
            "Times records may have been missed (stream drops, restarts).", labels=HOST)
        self.host_inflight = GaugeMetricFamily(
            "swapdeck_host_inflight_requests", "Requests in flight on the host.", labels=HOST)
        self.gpu_used = GaugeMetricFamily("swapdeck_gpu_memory_used_bytes", "VRAM in use.",
                                          labels=GPU)
        self.gpu_total = GaugeMetricFamily("swapdeck_gpu_memory_total_bytes", "VRAM size.",
                                           labels=GPU)
        self.gpu_util = GaugeMetricFamily("swapdeck_gpu_utilization_percent",
                                          "GPU utilisation.", labels=GPU)
        self.gpu_temp = GaugeMetricFamily("swapdeck_gpu_temperature_celsius",
                                          "GPU temperature.", labels=GPU)
        self.gpu_power = GaugeMetricFamily("swapdeck_gpu_power_watts", "GPU power draw.",
                                           labels=GPU)
        self.gpu_age = GaugeMetricFamily(
            "swapdeck_gpu_sample_age_seconds",
            "Age of the newest GPU sample; readings older than the stale window are omitted.",
            labels=GPU)

    def all(self) -> list[Metric]:
        return [self.requests, self.prompt, self.cached, self.generated,
                *self.histograms.values(), self.model_state, self.model_inflight,
                self.model_last, self.up, self.liveness, self.reconnects, self.seen_age,
                self.rejected, self.gaps, self.host_inflight, self.gpu_used, self.gpu_total,
                self.gpu_util, self.gpu_temp, self.gpu_power, self.gpu_age]

    # ------------------------------------------------------------------ per host

    def host(self, name: str, counters: HostCounters, state: HostState | None, now: float,
             extras: HostExtras) -> None:
        labels = sorted(counters.labels.assigned | counters.models.keys())
        for label in labels:
            self._model_counters(name, label, counters.models.get(label) or ModelCounters())
        self.reconnects.add_metric([name], counters.reconnects)
        self.rejected.add_metric([name], counters.frames_rejected)
        self.gaps.add_metric([name], counters.gaps)
        if state is None:
            return
        self._host_state(name, counters, state, now, extras)

    def _model_counters(self, host: str, label: str, counters: ModelCounters) -> None:
        for (path, status), count in sorted(counters.requests.items()):
            self.requests.add_metric([host, label, path, status], count)
        self.prompt.add_metric([host, label], counters.prompt_tokens)
        self.cached.add_metric([host, label], counters.cached_tokens)
        self.generated.add_metric([host, label], counters.generated_tokens)
        for spec in HISTOGRAMS:
            histogram = counters.histograms[spec.key]
            self.histograms[spec.key].add_metric(
                [host, label], buckets=histogram.cumulative(spec.divisor),
                sum_value=histogram.total / spec.divisor)

    def _host_state(self, name: str, counters: HostCounters, state: HostState, now: float,
                    extras: HostExtras) -> None:
        self.up.add_metric([name], 1.0 if state.liveness is Liveness.CONNECTED else 0.0)
        self.liveness.add_metric([name], {kind.value: state.liveness is kind
                                          for kind in Liveness})
        seen = [t for t in (extras.last_seen, state.last_seen) if t is not None]
        if seen:
            self.seen_age.add_metric([name], max(0.0, now - max(seen)))
        self.host_inflight.add_metric([name], state.inflight_count)
        per_model = state.inflight_total is None
        for model_id, view in sorted(state.models.items()):
            label = counters.labels.label(model_id)
            if label == OTHER:
                continue
            self.model_state.add_metric([name, label], {s.value: view.info.state is s
                                                        for s in ModelState})
            if per_model:
                self.model_inflight.add_metric([name, label], state.inflight_for(model_id))
            if view.last_request_done is not None:
                self.model_last.add_metric([name, label], view.last_request_done)
        for gpu in state.latest_gpus()[:MAX_GPUS_PER_HOST]:
            self._gpu(name, gpu, now, extras.gpu_stale_after_s)

    def _gpu(self, host: str, gpu: GpuSample, now: float, stale_after_s: float) -> None:
        labels = [host, str(gpu.index), gpu.name]
        age = max(0.0, now - gpu.at)
        self.gpu_age.add_metric(labels, age)
        if age > stale_after_s:
            return
        readings: Iterable[tuple[GaugeMetricFamily, float, float]] = (
            (self.gpu_used, gpu.mem_used_mb, MIB), (self.gpu_total, gpu.mem_total_mb, MIB),
            (self.gpu_util, gpu.util_pct, 1.0), (self.gpu_temp, gpu.temp_c, 1.0),
            (self.gpu_power, gpu.power_w, 1.0))
        for family, value, scale in readings:
            if value != UNKNOWN and value >= 0:
                family.add_metric(labels, value * scale)


# --------------------------------------------------------------------------- rendering


class _Fixed(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return self._families


def render(families: list[Metric], accept: str) -> tuple[bytes, str]:
    """The page in the format the scraper asked for (Accept header) and its content type."""
    encoder: Callable[[Collector], bytes]
    encoder, content_type = choose_encoder(accept)
    return encoder(_Fixed(families)), content_type
