"""Where finished requests are kept: the legacy in-memory ring or the v236+ store (§1.10, §3.2).

* ring (v140..v235): `metricsMaxInMemory` newest records, ids from 0, lost on restart;
* store (v236+): SQLite rows with AUTOINCREMENT ids from 1; the in-memory database is pruned
  to the newest N after each insert, a file database keeps everything and survives restarts.
The simulator holds the rows in Python (same ids, order and pruning), not in SQLite.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from swapdeck.sim.records import Completed


@dataclass(frozen=True, slots=True)
class StoredRecord:
    id: int
    done: Completed


class ActivityLog:
    def __init__(self, *, store: bool, max_in_memory: int, persistent: bool) -> None:
        if max_in_memory < 1:
            raise ValueError(f"metrics_max_in_memory must be >= 1, got {max_in_memory}")
        self.is_store = store
        bounded = not (store and persistent)
        self._rows: deque[StoredRecord] = deque(maxlen=max_in_memory if bounded else None)
        self._next_id = 1 if store else 0

    def add(self, done: Completed) -> StoredRecord:
        row = StoredRecord(self._next_id, done)
        self._next_id += 1
        self._rows.append(row)
        return row

    def rows(self) -> list[StoredRecord]:
        """Oldest first."""
        return list(self._rows)

    def ids(self) -> list[int]:
        return [row.id for row in self._rows]

    def __len__(self) -> int:
        return len(self._rows)


# --------------------------------------------------------------------------- /api/metrics/activity

SORT_KEYS: dict[str, Callable[[StoredRecord], Any]] = {
    "id": lambda r: r.id,
    "time": lambda r: r.done.finished_ns // 1_000_000_000,  # the store keeps unix seconds
    "model": lambda r: r.done.model,
    "req_path": lambda r: r.done.req_path,
    "resp_status_code": lambda r: r.done.status,
    "resp_content_type": lambda r: r.done.content_type,
    "cached": lambda r: r.done.tokens.cache_tokens,
    "prompt": lambda r: r.done.tokens.input_tokens,
    "generated": lambda r: r.done.tokens.output_tokens,
    "drafted": lambda r: -1,  # the simulator never drafts: every row is -1
    "prompt_speed": lambda r: r.done.tokens.prompt_per_second,
    "gen_speed": lambda r: r.done.tokens.tokens_per_second,
    "duration": lambda r: r.done.duration_ms,
}


@dataclass(frozen=True, slots=True)
class ActivityQuery:
    model: str | None = None
    limit: int = 25
    page: int = 1
    sort: str = "id"
    descending: bool = True


def parse_activity_query(params: Mapping[str, str]) -> ActivityQuery | str:
    """The query of §1.10, or a one-line reason for the 400."""
    model = params.get("model") or None
    limit = _bounded_int(params, "limit", 25, 1, 999)
    page = _bounded_int(params, "page", 1, 1, None)
    if isinstance(limit, str):
        return limit
    if isinstance(page, str):
        return page
    sort = params.get("sort", "id") or "id"
    if sort not in SORT_KEYS:
        return f"invalid sort column: {sort}"
    order = params.get("order", "desc") or "desc"
    if order not in ("asc", "desc"):
        return f"invalid order: {order} (expected asc or desc)"
    return ActivityQuery(model, limit, page, sort, order == "desc")


def _bounded_int(params: Mapping[str, str], key: str, default: int, low: int,
                 high: int | None) -> int | str:
    raw = params.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        return f"invalid {key}: {raw!r} is not an integer"
    if value < low or (high is not None and value > high):
        bound = f"{low}..{high}" if high is not None else f">= {low}"
        return f"invalid {key}: {value} (expected {bound})"
    return value


def run_activity_query(rows: Sequence[StoredRecord],
                       query: ActivityQuery) -> tuple[list[StoredRecord], int]:
    """One page of rows and the total that matched; ties broken by id in the same order."""
    matched = [r for r in rows if query.model is None or r.done.model == query.model]
    key = SORT_KEYS[query.sort]
    matched.sort(key=lambda r: (key(r), r.id), reverse=query.descending)
    start = (query.page - 1) * query.limit
    return matched[start:start + query.limit], len(matched)


# --------------------------------------------------------------------------- /api/metrics/stats


def histogram(values: Sequence[float]) -> dict[str, Any] | None:
    """5..20 equal bins over the positive values with p50/p95/p99; None when there are none."""
    data = sorted(v for v in values if v > 0)
    if not data:
        return None
    bin_count = max(5, min(20, round(len(data) ** 0.5)))
    low, high = data[0], data[-1]
    size = (high - low) / bin_count
    bins = [0] * bin_count
    for value in data:
        index = bin_count - 1 if size == 0 else min(bin_count - 1, int((value - low) / size))
        bins[index] += 1
    return {"bins": bins, "min": round(low, 2), "max": round(high, 2),
            "binSize": round(size, 2), "p50": _percentile(data, 50),
            "p95": _percentile(data, 95), "p99": _percentile(data, 99)}


def _percentile(data: Sequence[float], pct: int) -> float:
    """Nearest rank over sorted data."""
    rank = max(1, -(-pct * len(data) // 100))
    return round(data[rank - 1], 2)


def activity_stats(rows: Sequence[StoredRecord], model: str | None) -> dict[str, Any]:
    chosen = [r.done for r in rows if model is None or r.done.model == model]
    return {
        "total_requests": len(chosen),
        "total_input_tokens": sum(max(0, d.tokens.input_tokens) for d in chosen),
        "total_output_tokens": sum(max(0, d.tokens.output_tokens) for d in chosen),
        "total_cache_tokens": sum(max(0, d.tokens.cache_tokens) for d in chosen),
        "prompt_histogram": histogram([d.tokens.prompt_per_second for d in chosen]),
        "gen_histogram": histogram([d.tokens.tokens_per_second for d in chosen]),
    }
