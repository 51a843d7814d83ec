"""The Activity screen's bounded, newest-first window of finished requests (no UI here).

Rows are ordered by the history store's keyset, `(finished_at, host, epoch, remote_id)`,
descending, so rows paged in from SQLite continue exactly where the in-memory ones stop.

Where rows come from:
- live: each host's `HostState.activity` deque (the newest 2,000 per host) — new records
  since the last look are found with the host's `requests_seen` counter;
- older: `HistoryStore.activity_page(before=oldest_key)` merged with in-memory rows older
  than the window, so a row that is in memory but not yet flushed to SQLite is not lost.

A host's deque may have dropped older rows (or hold only what the store replayed at
start), so with a store the first window only reaches back to the newest of the hosts'
oldest in-memory rows: below that, per-host gaps are possible, and paging fills them.
"""

from __future__ import annotations

import heapq
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice

from swapdeck.events import ActivityRecord
from swapdeck.fleet.state import FleetState, HostState

RowKey = tuple[float, str, int, int]
"""(finished_at, host, epoch, remote_id): the store's keyset order."""

WINDOW_CAPACITY = 1000
"""Rows held by the widget at most (the doc's measured costs: keep live views bounded)."""


@dataclass(frozen=True, slots=True)
class FeedRow:
    host: str
    record: ActivityRecord

    @property
    def key(self) -> RowKey:
        r = self.record
        return (r.finished_at, self.host, r.epoch, r.remote_id)


@dataclass(frozen=True, slots=True)
class ActivityFilter:
    """What the filter bar selects; None means "any"."""

    host: str | None = None
    model: str | None = None
    errors_only: bool = False

    def matches(self, host: str, record: ActivityRecord) -> bool:
        if self.host is not None and host != self.host:
            return False
        if self.model is not None and record.model != self.model:
            return False
        return not (self.errors_only and record.ok)

    def record_test(self) -> Callable[[ActivityRecord], bool]:
        """`matches` for one host's records, minus the host check: cheapest for the filter
        at hand (a rebuild runs it on up to 2,000 records per host, on a keypress)."""
        model, errors_only = self.model, self.errors_only
        if model is None and not errors_only:
            return lambda record: True
        if not errors_only:
            return lambda record: record.model == model
        return lambda record: ((model is None or record.model == model)
                               and record.status_code is not None
                               and not 200 <= record.status_code < 300)

    @property
    def is_empty(self) -> bool:
        return self.host is None and self.model is None and not self.errors_only


def _host_rows(host: HostState, flt: ActivityFilter) -> list[FeedRow]:
    if flt.host is not None and host.name != flt.host:
        return []
    return [FeedRow(host.name, r) for r in host.activity if flt.matches(host.name, r)]


def memory_cutoff(state: FleetState) -> RowKey | None:
    """The oldest key below which in-memory rows may have per-host gaps."""
    oldest = [FeedRow(h.name, h.activity[0]).key for h in state.hosts.values() if h.activity]
    return max(oldest) if oldest else None


def in_time_order(host: HostState) -> bool:
    """True when a host's records arrived oldest first (always, unless a late reconcile
    appended older ones): then reading the deque backwards gives newest first. O(n);
    `TimeOrder` keeps the same answer up to date in O(new records)."""
    times = [r.finished_at for r in host.activity]
    return all(map(operator.le, times, islice(times, 1, None)))


class TimeOrder:
    """Which hosts' in-memory records are in time order, checked only on what is new.

    An out-of-order record stays in a host's deque for `maxlen` more arrivals; until it
    has left, that host's rows are sorted rather than read backwards.
    """

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}
        self._last_at: dict[str, float] = {}
        self._disordered_until: dict[str, int] = {}

    def update(self, state: FleetState) -> None:
        for name, host in state.hosts.items():
            seen = self._seen.get(name, 0)
            fresh = host.requests_seen - seen
            if fresh <= 0:
                continue
            records = host.activity
            take = min(fresh, len(records))
            last = self._last_at.get(name, float("-inf")) if fresh <= len(records) else \
                float("-inf")
            first_number = host.requests_seen - take + 1  # arrival number of the first new
            for offset, record in enumerate(islice(records, len(records) - take, None)):
                if record.finished_at < last:
                    leaves_at = first_number + offset + (records.maxlen or len(records))
                    self._disordered_until[name] = max(self._disordered_until.get(name, 0),
                                                       leaves_at)
                last = record.finished_at
            self._seen[name] = host.requests_seen
            self._last_at[name] = last

    def in_order(self, host: HostState) -> bool:
        return host.requests_seen >= self._disordered_until.get(host.name, 0)


def _newest_first(host: HostState, flt: ActivityFilter, cutoff: RowKey | None,
                  capacity: int, in_order: bool) -> Iterator[FeedRow]:
    """The host's matching rows at or above `cutoff`, newest first, made only as consumed."""
    if flt.host is not None and host.name != flt.host:
        return iter(())
    if not in_order:
        rows = sorted(_host_rows(host, flt), key=lambda row: row.key, reverse=True)
        return iter([row for row in rows if cutoff is None or row.key >= cutoff][:capacity])

    wanted = flt.record_test()

    def backwards() -> Iterator[FeedRow]:
        for record in reversed(host.activity):
            if wanted(record):
                row = FeedRow(host.name, record)
                if cutoff is not None and row.key < cutoff:
                    return
                yield row

    return backwards()


def initial_rows(state: FleetState, flt: ActivityFilter, *, with_history: bool,
                 capacity: int = WINDOW_CAPACITY,
                 in_order: Callable[[HostState], bool] = in_time_order) -> list[FeedRow]:
    """The newest `capacity` matching rows in memory, newest first.

    With a history store, only rows at or above `memory_cutoff` are taken (see module doc);
    without one, memory is all there is and every row counts. A lazy k-way merge of the
    hosts' newest-first rows: only about `capacity` rows are ever built, however many
    hosts hold 2,000 each (this runs on a keypress).
    """
    cutoff = memory_cutoff(state) if with_history else None
    streams = [_newest_first(host, flt, cutoff, capacity, in_order(host))
               for host in state.hosts.values()]
    merged = heapq.merge(*streams, key=lambda row: row.key, reverse=True)
    return list(islice(merged, capacity))


def older_in_memory(state: FleetState, flt: ActivityFilter, before: RowKey,
                    limit: int) -> list[FeedRow]:
    """Up to `limit` matching in-memory rows strictly older than `before`, newest first."""
    rows = (row for host in state.hosts.values() for row in _host_rows(host, flt)
            if row.key < before)
    return heapq.nlargest(limit, rows, key=lambda row: row.key)


def merge_older(stored: Iterable[tuple[str, ActivityRecord]], in_memory: Iterable[FeedRow],
                limit: int) -> list[FeedRow]:
    """One page of older rows: the store's page and memory's, deduplicated, newest first."""
    by_key: dict[RowKey, FeedRow] = {}
    for host, record in stored:
        row = FeedRow(host, record)
        by_key[row.key] = row
    for row in in_memory:
        by_key.setdefault(row.key, row)
    return heapq.nlargest(limit, by_key.values(), key=lambda row: row.key)


class NewRecordTracker:
    """Finds each host's records that arrived since the last call, by `requests_seen`."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def mark_all_seen(self, state: FleetState) -> None:
        self._seen = {name: host.requests_seen for name, host in state.hosts.items()}

    def take_new(self, state: FleetState, hosts: Iterable[str] | None = None) -> list[FeedRow]:
        """New rows of `hosts` (all when None), in arrival order; each is returned once."""
        names = state.hosts.keys() if hosts is None else hosts
        rows: list[FeedRow] = []
        for name in names:
            host = state.hosts.get(name)
            if host is None:
                continue
            fresh = host.requests_seen - self._seen.get(name, 0)
            self._seen[name] = host.requests_seen
            if fresh <= 0:
                continue
            # More than the deque holds means the oldest of them are already gone.
            take = min(fresh, len(host.activity))
            start = len(host.activity) - take
            rows.extend(FeedRow(name, host.activity[i]) for i in range(start, len(host.activity)))
        return rows


class ActivityWindow:
    """Newest-first rows, at most `capacity`, each key once."""

    def __init__(self, capacity: int = WINDOW_CAPACITY) -> None:
        self.capacity = capacity
        self.rows: list[FeedRow] = []
        self._keys: set[RowKey] = set()

    def __len__(self) -> int:
        return len(self.rows)

    def replace(self, rows: Sequence[FeedRow]) -> None:
        """Take `rows` (newest first, as given) as the whole window."""
        self.rows = list(rows[: self.capacity])
        self._keys = {row.key for row in self.rows}

    def add_newer(self, batch: Iterable[FeedRow]) -> int:
        """Merge live rows in; the oldest fall off the end. Returns rows added (net of
        duplicates, before trimming)."""
        fresh = [row for row in batch if row.key not in self._keys]
        if not fresh:
            return 0
        fresh.sort(key=lambda row: row.key, reverse=True)
        if not self.rows or fresh[-1].key > self.rows[0].key:
            merged = fresh + self.rows  # the common case: everything new is newest
        else:  # a reconcile brought older records: a real merge (timsort loves this)
            merged = sorted(self.rows + fresh, key=lambda row: row.key, reverse=True)
        self._keys.update(row.key for row in fresh)
        for dropped in merged[self.capacity:]:
            self._keys.discard(dropped.key)
        self.rows = merged[: self.capacity]
        return len(fresh)

    def add_older(self, page: Iterable[FeedRow]) -> tuple[int, int]:
        """Append an older page; when full, the newest rows make room. Returns
        (rows added, rows dropped from the top)."""
        oldest = self.rows[-1].key if self.rows else None
        fresh = [row for row in page
                 if row.key not in self._keys and (oldest is None or row.key < oldest)]
        if not fresh:
            return 0, 0
        fresh.sort(key=lambda row: row.key, reverse=True)
        rows = self.rows + fresh
        dropped = max(0, len(rows) - self.capacity)
        for row in rows[:dropped]:
            self._keys.discard(row.key)
        self._keys.update(row.key for row in fresh)
        self.rows = rows[dropped:]
        return len(fresh), dropped

    def index_of(self, key: RowKey) -> int | None:
        if key not in self._keys:
            return None
        for index, row in enumerate(self.rows):
            if row.key == key:
                return index
        return None

    @property
    def oldest_key(self) -> RowKey | None:
        return self.rows[-1].key if self.rows else None

    def records(self) -> list[ActivityRecord]:
        return [row.record for row in self.rows]


def count_matching(rows: Iterable[FeedRow], flt: ActivityFilter) -> int:
    return sum(1 for row in rows if flt.matches(row.host, row.record))


def known_models(state: FleetState, extra: Iterable[str] = ()) -> list[str]:
    """Every model id the filter may offer: the hosts' catalogs plus `extra` (models seen in
    requests, which may be aliases' targets or models since removed from a catalog)."""
    models: set[str] = set(extra)
    for host in state.hosts.values():
        models.update(host.models)
    return sorted(models)


def hosts_of(state: FleetState, configured: Mapping[str, object] | Iterable[str]) -> list[str]:
    """Configured host names first (in config order), then any others the state knows."""
    names = list(configured)
    names.extend(name for name in state.hosts if name not in names)
    return names
