"""Counting rules (pure) and the seed: live counts and the SQL aggregates of a restart agree,
because both follow the history writer's rules."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import aiosqlite
from hypothesis import given, settings
from hypothesis import strategies as st

from swapdeck.collector.histograms import (
    DECODE,
    DURATION,
    HISTOGRAMS,
    Histogram,
    bucket_sql,
    le_labels,
)
from swapdeck.collector.metrics import FleetCounters
from swapdeck.collector.seed import load_seed
from swapdeck.events import (
    ActivityRecord,
    ActivityRecorded,
    FrameRejected,
    GapSuspected,
    HostEvent,
    Liveness,
    LivenessChanged,
    ModelInfo,
    ModelsListed,
    ModelState,
)
from swapdeck.history import HistoryStore

T0 = 1_790_000_000.0


def rec(remote_id: int, *, model: str = "qwen", status: int | None = 200, epoch: int = 0,
        **extra: object) -> ActivityRecord:
    base = ActivityRecord(
        remote_id=remote_id, epoch=epoch, finished_at=T0 + remote_id, model=model,
        req_path="/v1/chat/completions", status_code=status, content_type="application/json",
        cache_tokens=10, input_tokens=100, output_tokens=20, prompt_tps=900.0, decode_tps=45.0,
        duration_ms=1500)
    return dataclasses.replace(base, **extra)  # type: ignore[arg-type]


def listed(host: str, *ids: str) -> ModelsListed:
    return ModelsListed(host, T0, tuple(ModelInfo(i, ModelState.READY) for i in ids))


def test_unknown_token_counts_never_subtract() -> None:
    """§3.1: -1 means unknown (usage-only bodies have no cache count, no rates)."""
    counters = FleetCounters(["gpu1"], model_cap=8)
    counters.observe(listed("gpu1", "qwen"))
    counters.observe(ActivityRecorded("gpu1", T0, (
        rec(1), rec(2, cache_tokens=-1, prompt_tps=-1.0, decode_tps=-1.0),
        rec(3, status=500, input_tokens=0, output_tokens=0, cache_tokens=0, prompt_tps=0.0,
            decode_tps=0.0))))
    model = counters.hosts["gpu1"].models["qwen"]
    assert model.cached_tokens == 10
    assert model.prompt_tokens == 200
    assert model.requests == {("/v1/chat/completions", "200"): 2,
                              ("/v1/chat/completions", "500"): 1}
    assert model.histograms["decode"].count == 1  # neither unknown nor failed rates count
    assert model.histograms["duration"].count == 3


def test_a_backfill_before_the_model_list_counts_under_the_real_model() -> None:
    """§2.2: a connect sends ~200 KiB of log history before `modelStatus`, and the REST
    backfill can land first. Counted then, it would sit under `other` until a restart's
    seed moved it to the real id (read by Prometheus as a reset); it waits instead."""
    counters = FleetCounters(["gpu1"], model_cap=8)
    counters.observe(ActivityRecorded("gpu1", T0, (rec(1), rec(2, model="llama"))))
    assert counters.hosts["gpu1"].models == {} and counters.records_counted == 0
    counters.observe(listed("gpu1", "qwen", "llama"))
    models = counters.hosts["gpu1"].models
    assert sorted(models) == ["llama", "qwen"] and counters.records_counted == 2
    counters.observe(ActivityRecorded("gpu1", T0, (rec(3),)))  # known now: counted at once
    assert sum(models["qwen"].requests.values()) == 2


def test_per_host_counters_follow_the_writers_rules() -> None:
    counters = FleetCounters(["gpu1"], model_cap=8)
    events: list[HostEvent] = [
        LivenessChanged("gpu1", T0, Liveness.RECONNECTING, attempt=1),  # not from connected
        LivenessChanged("gpu1", T0, Liveness.CONNECTED),
        LivenessChanged("gpu1", T0, Liveness.RECONNECTING, attempt=1),  # a reconnect
        LivenessChanged("gpu1", T0, Liveness.DOWN, attempt=6),  # still the same outage
        LivenessChanged("gpu1", T0, Liveness.CONNECTED),
        FrameRejected("gpu1", T0, "bad json"),
        GapSuspected("gpu1", T0, T0 - 60, T0, "stream dropped"),
        FrameRejected("elsewhere", T0, "not a configured host"),
    ]
    for event in events:
        counters.observe(event)
    host = counters.hosts["gpu1"]
    assert (host.reconnects, host.frames_rejected, host.gaps) == (1, 1, 1)
    assert "elsewhere" not in counters.hosts


def test_records_at_or_below_the_seed_mark_were_counted_by_the_seed() -> None:
    """After a restart the connector re-reads what the host holds (§12); the aggregate
    already holds those rows, so only records past the stored mark count."""
    counters = FleetCounters(["gpu1"], model_cap=8)
    counters.hosts["gpu1"].seed_mark = (1, 5)
    counters.observe(listed("gpu1", "qwen"))
    counters.observe(ActivityRecorded("gpu1", T0, tuple(
        [rec(i, epoch=0) for i in (7, 8)] + [rec(i, epoch=1) for i in range(3, 9)]
        + [rec(1, epoch=2)])))
    assert counters.records_skipped == 2 + 3
    assert counters.records_counted == 3 + 1


def test_models_beyond_the_cap_and_unlisted_ones_fold_into_other() -> None:
    counters = FleetCounters(["gpu1"], model_cap=2)
    counters.observe(listed("gpu1", "a", "b", "c"))
    counters.observe(ActivityRecorded("gpu1", T0, tuple(
        rec(i, model=m) for i, m in enumerate(["a", "b", "c", "zzz", "a"], start=1))))
    counts = {label: sum(m.requests.values())
              for label, m in counters.hosts["gpu1"].models.items()}
    assert counts == {"a": 2, "b": 1, "other": 2}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(
    st.floats(min_value=-5, max_value=2e6, allow_nan=False, allow_infinity=False),
    st.sampled_from([float(b) for spec in HISTOGRAMS for b in spec.bounds])), max_size=40))
def test_sql_bucket_matches_the_live_bucket(values: list[float]) -> None:
    """Bounds included (`le`): SQLite's CASE and Python's bisect agree, edges too."""
    import sqlite3

    with sqlite3.connect(":memory:") as db:
        db.execute("CREATE TABLE requests (decode_tps REAL, duration_ms INTEGER)")
        db.executemany("INSERT INTO requests VALUES (?, ?)",
                       [(v, int(abs(v))) for v in values])
        for spec, convert in ((DECODE, float), (DURATION, lambda v: float(int(abs(v))))):
            sql = f"SELECT {spec.column}, {bucket_sql(spec)} FROM requests"
            for value, bucket in db.execute(sql):
                live = Histogram(spec.bounds)
                live.observe(convert(value))
                assert live.counts[bucket] == 1, (spec.key, value, bucket)


def test_cumulative_buckets_end_at_inf_with_the_count() -> None:
    histogram = Histogram(DURATION.bounds)
    for ms in (40, 50, 51, 999_999):
        histogram.observe(ms)
    pairs = histogram.cumulative(le_labels(DURATION))
    assert pairs[0] == ("0.05", 2)  # 50 ms is inside le=0.05
    assert pairs[1] == ("0.1", 3)
    assert pairs[-1] == ("+Inf", 4)
    assert math.isclose(histogram.total, 40 + 50 + 51 + 999_999)


async def test_seed_equals_what_the_live_counters_counted(tmp_path: Path) -> None:
    """The same events, counted live and stored by the writer, then aggregated in SQL."""
    events: list[HostEvent] = [
        listed("gpu1", "qwen", "llama"),
        LivenessChanged("gpu1", T0, Liveness.CONNECTED),
        ActivityRecorded("gpu1", T0, tuple(
            rec(i, model="qwen" if i % 3 else "llama", status=(200, 200, 429, 500)[i % 4],
                decode_tps=float(i * 7 % 300), prompt_tps=float(i * 97),
                duration_ms=i * 311, cache_tokens=-1 if i % 5 == 0 else i)
            for i in range(1, 120))),
        ActivityRecorded("gpu1", T0, (rec(500, model="stranger", req_path="/nope"),
                                      rec(501, finished_at=math.nan))),
        LivenessChanged("gpu1", T0, Liveness.RECONNECTING, attempt=1),
        GapSuspected("gpu1", T0, T0 - 1, T0, "stream dropped"),
        FrameRejected("gpu1", T0, "bad json"),
        LivenessChanged("gpu1", T0, Liveness.CONNECTED),
    ]
    live = FleetCounters(["gpu1"], model_cap=8)
    store = await HistoryStore.open(tmp_path / "history.sqlite")
    for event in events:
        live.observe(event)
        store.submit(event)
    await store.close()

    restarted = FleetCounters(["gpu1"], model_cap=8)
    async with aiosqlite.connect(tmp_path / "history.sqlite") as conn:
        seed = await load_seed(conn, ["gpu1"])
    restarted.seed(seed)
    a, b = live.hosts["gpu1"], restarted.hosts["gpu1"]
    assert (b.reconnects, b.frames_rejected, b.gaps) == (a.reconnects, a.frames_rejected, a.gaps)
    assert b.liveness is Liveness.CONNECTED
    assert b.seed_mark == (0, 500)
    assert a.models.keys() == b.models.keys() == {"qwen", "llama", "other"}
    for label, counters in a.models.items():
        seeded = b.models[label]
        assert seeded.requests == counters.requests
        assert (seeded.prompt_tokens, seeded.cached_tokens, seeded.generated_tokens) == (
            counters.prompt_tokens, counters.cached_tokens, counters.generated_tokens)
        for key, histogram in counters.histograms.items():
            assert seeded.histograms[key].counts == histogram.counts, (label, key)
            assert math.isclose(seeded.histograms[key].total, histogram.total)
