"""What the counters start from: SQL aggregates over the history a collector wrote before.

A restarted collector must not reset its counters (Prometheus would read every restart as
a reset, and `increase()` over a restart would undercount the requests the history has).
So before any host is dialled, the `requests` table is summed per host, model, path and
status, the three histograms are bucketed in SQL with the same bounds the live counters
use, and the per-host counters (reconnects, rejected frames, gaps) are counted from the
`hosts` and `model_events` tables. Aggregates only: one pass per query, no replay of rows.

Counters come back to what they were *minus what retention pruned* (requests older than
`history.activity_retention_days`); Prometheus treats such a drop as a counter reset.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

import aiosqlite

from swapdeck.collector.histograms import HISTOGRAMS, HistogramSpec, bucket_sql
from swapdeck.events import Liveness
from swapdeck.history.rows import KIND_GAP, KIND_LIVENESS, models_from_json

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RequestAggregate:
    host: str
    model: str
    req_path: str | None
    status_code: int | None
    count: int
    prompt_tokens: int
    cached_tokens: int
    generated_tokens: int


@dataclass(frozen=True, slots=True)
class BucketAggregate:
    host: str
    model: str
    histogram: str
    bucket: int
    count: int
    total: float


@dataclass(frozen=True, slots=True)
class HostSeed:
    liveness: Liveness | None = None
    """The last liveness the writer stored: a reconnect is counted from it, as it does."""
    models: tuple[str, ...] = ()
    """Model ids of the stored model list, in the host's order (they get labels first)."""
    frames_rejected: int = 0
    reconnects: int = 0
    gaps: int = 0
    activity_mark: tuple[int, int] | None = None
    """(epoch, remote id) of the newest stored request: records at or below it are in the
    aggregates already and must not be counted again when a connector reconciles."""


@dataclass(frozen=True, slots=True)
class CounterSeed:
    hosts: dict[str, HostSeed] = field(default_factory=dict)
    requests: tuple[RequestAggregate, ...] = ()
    buckets: tuple[BucketAggregate, ...] = ()


def _known(column: str) -> str:
    # -1 is llama-swap's "unknown" (§3.1): it must not subtract from a token counter.
    return f"SUM(CASE WHEN {column} >= 0 THEN {column} ELSE 0 END)"


_REQUESTS_SQL = (
    "SELECT host, model, req_path, status_code, COUNT(*), "
    f"{_known('input_tokens')}, {_known('cache_tokens')}, {_known('output_tokens')} "
    "FROM requests GROUP BY host, model, req_path, status_code"
)


def _buckets_sql(spec: HistogramSpec) -> str:
    return (f"SELECT host, model, {bucket_sql(spec)} AS bucket, COUNT(*), SUM({spec.column}) "
            f"FROM requests WHERE {spec.where} GROUP BY host, model, bucket")


_HOSTS_SQL = ("SELECT name, liveness, models_json, frames_rejected, activity_epoch, "
              "last_activity_id FROM hosts")
_RECONNECTS_SQL = (
    f"SELECT host, COUNT(*) FROM model_events WHERE kind = '{KIND_LIVENESS}' "
    f"AND old = '{Liveness.CONNECTED.value}' AND new != '{Liveness.CONNECTED.value}' "
    "GROUP BY host")
_GAPS_SQL = f"SELECT host, COUNT(*) FROM model_events WHERE kind = '{KIND_GAP}' GROUP BY host"


async def load_seed(conn: aiosqlite.Connection, hosts: Iterable[str]) -> CounterSeed:
    """Aggregates for the configured `hosts` (rows of hosts no longer configured are left)."""
    wanted = set(hosts)
    reconnects = {str(h): int(n) for h, n in await conn.execute_fetchall(_RECONNECTS_SQL)}
    gaps = {str(h): int(n) for h, n in await conn.execute_fetchall(_GAPS_SQL)}
    host_seeds: dict[str, HostSeed] = {}
    for name, liveness, models_json, frames, epoch, last_id in await conn.execute_fetchall(
            _HOSTS_SQL):
        if name not in wanted:
            continue
        host_seeds[name] = HostSeed(
            liveness=_liveness(liveness), models=_model_ids(name, models_json),
            frames_rejected=int(frames or 0), reconnects=reconnects.get(name, 0),
            gaps=gaps.get(name, 0),
            activity_mark=None if epoch is None or last_id is None else (int(epoch), int(last_id)))
    requests = tuple(
        RequestAggregate(host=str(r[0]), model=str(r[1]), req_path=r[2], status_code=r[3],
                         count=int(r[4]), prompt_tokens=int(r[5]), cached_tokens=int(r[6]),
                         generated_tokens=int(r[7]))
        for r in await conn.execute_fetchall(_REQUESTS_SQL) if r[0] in wanted)
    buckets: list[BucketAggregate] = []
    for spec in HISTOGRAMS:
        buckets.extend(
            BucketAggregate(host=str(r[0]), model=str(r[1]), histogram=spec.key,
                            bucket=int(r[2]), count=int(r[3]), total=float(r[4]))
            for r in await conn.execute_fetchall(_buckets_sql(spec)) if r[0] in wanted)
    return CounterSeed(hosts=host_seeds, requests=requests, buckets=tuple(buckets))


def _liveness(raw: object) -> Liveness | None:
    try:
        return None if raw is None else Liveness(str(raw))
    except ValueError:
        return None


def _model_ids(host: str, models_json: object) -> tuple[str, ...]:
    if models_json is None:
        return ()
    try:
        return tuple(m.id for m in models_from_json(str(models_json)))
    except ValueError as exc:
        log.warning("collector: host %s: ignoring its stored model list: %s", host, exc)
        return ()
