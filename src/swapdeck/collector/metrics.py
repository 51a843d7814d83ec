"""The collector's counters: what Prometheus reads as `_total`s and histograms.

`FleetCounters.observe` is a hub listener: the hub calls it synchronously for every event,
so it only touches dicts and ints — no I/O, no clock, nothing that can block the data
plane. Gauges (model state, in-flight, liveness, GPUs) are not kept here: they are read
from the fleet reducer's state when a scrape comes (`exposition.py`).

Counting follows the history writer's rules exactly, so the counts a collector exposes
equal the aggregates its restart will seed from (`seed.py`):
- every finished request counts once per (host, epoch, remote id); records at or below the
  seeded mark are already in the aggregates (a reconcile after restart re-reads them);
- a reconnect is a liveness change away from `connected`, measured against the last
  liveness stored, as the writer's `model_events` rows are;
- records with a non-finite finish time are not stored, so they are not counted either;
- a host's records wait for its first model list: the REST backfill can land before the
  `modelStatus` frame (§2.2 sends ~200 KiB of log history first), and counted then they
  would sit under `model="other"` until a restart seeded them under their real ids.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from swapdeck.collector.histograms import HISTOGRAMS, Histogram, new_histograms
from swapdeck.collector.labels import ModelLabels, path_label, status_label
from swapdeck.collector.seed import CounterSeed, HostSeed
from swapdeck.events import (
    ActivityRecord,
    ActivityRecorded,
    FrameRejected,
    GapSuspected,
    HostEvent,
    Liveness,
    LivenessChanged,
    ModelsListed,
    ModelStateChanged,
)

HELD_CAP = 100_000
"""Records held per host while its model list is unknown (a full backfill fits); past it
they are counted at once, under `other` where no label is known yet."""


@dataclass(slots=True)
class ModelCounters:
    """Counters of one (host, model label)."""

    requests: dict[tuple[str, str], int] = field(default_factory=dict)
    """(path label, status label) → requests."""
    prompt_tokens: int = 0
    cached_tokens: int = 0
    generated_tokens: int = 0
    histograms: dict[str, Histogram] = field(default_factory=new_histograms)

    def count(self, path: str, status: str, n: int = 1) -> None:
        key = (path, status)
        self.requests[key] = self.requests.get(key, 0) + n


@dataclass(slots=True)
class HostCounters:
    labels: ModelLabels
    models: dict[str, ModelCounters] = field(default_factory=dict)
    reconnects: int = 0
    frames_rejected: int = 0
    gaps: int = 0
    liveness: Liveness | None = None
    seed_mark: tuple[int, int] | None = None
    held: list[ActivityRecord] | None = field(default_factory=list)
    """Records that arrived before the host's first model list; None once it is known."""

    def model(self, label: str) -> ModelCounters:
        counters = self.models.get(label)
        if counters is None:
            counters = self.models[label] = ModelCounters()
        return counters


class FleetCounters:
    def __init__(self, hosts: list[str], *, model_cap: int) -> None:
        self.model_cap = model_cap
        self.hosts: dict[str, HostCounters] = {
            name: HostCounters(ModelLabels(model_cap)) for name in hosts}
        self.records_counted = 0
        self.records_skipped = 0
        """Records at or below a host's seeded mark: already counted by the seed."""

    # ------------------------------------------------------------------ seeding

    def seed(self, seed: CounterSeed) -> None:
        """Start from history. Call before the hub starts (the marks gate live records)."""
        for name, host_seed in seed.hosts.items():
            host = self.hosts.get(name)
            if host is not None:
                _seed_host(host, host_seed)
        for agg in seed.requests:
            host = self.hosts.get(agg.host)
            if host is None:
                continue
            counters = host.model(host.labels.label(agg.model))
            counters.count(path_label(agg.req_path), status_label(agg.status_code), agg.count)
            counters.prompt_tokens += agg.prompt_tokens
            counters.cached_tokens += agg.cached_tokens
            counters.generated_tokens += agg.generated_tokens
        for bucket in seed.buckets:
            host = self.hosts.get(bucket.host)
            if host is None:
                continue
            histogram = host.model(host.labels.label(bucket.model)).histograms[bucket.histogram]
            histogram.add_bucket(bucket.bucket, bucket.count, bucket.total)

    # ------------------------------------------------------------------ the hub listener

    def observe(self, event: HostEvent) -> None:
        # Most events (logs, in-flight updates, perf) count nothing: one dict lookup each.
        handle = _HANDLERS.get(type(event))
        if handle is None:
            return
        host = self.hosts.get(event.host)
        if host is not None:
            handle(self, host, event)

    def _activity(self, host: HostCounters, event: ActivityRecorded) -> None:
        held = host.held
        if held is not None and len(held) < HELD_CAP:
            held.extend(event.records)
            return
        for record in event.records:
            self._count(host, record)

    def _labels_known(self, host: HostCounters) -> None:
        held, host.held = host.held, None
        for record in held or ():
            self._count(host, record)

    def _count(self, host: HostCounters, record: ActivityRecord) -> None:
        if not math.isfinite(record.finished_at):
            return
        mark = host.seed_mark
        if mark is not None and (record.epoch, record.remote_id) <= mark:
            self.records_skipped += 1
            return
        counters = host.model(host.labels.label(record.model))
        counters.count(path_label(record.req_path), status_label(record.status_code))
        if record.input_tokens >= 0:
            counters.prompt_tokens += record.input_tokens
        if record.cache_tokens >= 0:
            counters.cached_tokens += record.cache_tokens
        if record.output_tokens >= 0:
            counters.generated_tokens += record.output_tokens
        histograms = counters.histograms
        for spec in HISTOGRAMS:
            value = spec.value_of(record)
            if value is not None:
                histograms[spec.key].observe(value)
        self.records_counted += 1


def _models_listed(counters: FleetCounters, host: HostCounters, event: ModelsListed) -> None:
    host.labels.listed(m.id for m in event.models)
    counters._labels_known(host)


def _model_state(counters: FleetCounters, host: HostCounters, event: ModelStateChanged) -> None:
    host.labels.listed((event.model,))


def _liveness(counters: FleetCounters, host: HostCounters, event: LivenessChanged) -> None:
    if host.liveness is Liveness.CONNECTED and event.liveness is not Liveness.CONNECTED:
        host.reconnects += 1
    host.liveness = event.liveness


def _frame(counters: FleetCounters, host: HostCounters, event: FrameRejected) -> None:
    host.frames_rejected += 1


def _gap(counters: FleetCounters, host: HostCounters, event: GapSuspected) -> None:
    host.gaps += 1


_HANDLERS: dict[type, Callable[[FleetCounters, HostCounters, Any], None]] = {
    ActivityRecorded: FleetCounters._activity,
    ModelsListed: _models_listed,
    ModelStateChanged: _model_state,
    LivenessChanged: _liveness,
    FrameRejected: _frame,
    GapSuspected: _gap,
}


def _seed_host(host: HostCounters, seed: HostSeed) -> None:
    host.labels.listed(seed.models)
    if seed.models:
        host.held = None  # the stored list names the models until the host lists them
    host.reconnects += seed.reconnects
    host.frames_rejected += seed.frames_rejected
    host.gaps += seed.gaps
    host.liveness = seed.liveness
    host.seed_mark = seed.activity_mark
