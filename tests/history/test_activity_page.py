"""Newest-first keyset paging over activity, with host/model/error filters."""

from __future__ import annotations

import pytest

from swapdeck.events import ActivityRecord
from swapdeck.history import HistoryStore
from swapdeck.history.queries import page_key

from .conftest import T0, activity, record

Row = tuple[str, ActivityRecord]


async def fill(store: HistoryStore) -> None:
    """60 requests over 3 hosts and 2 models; every 7th fails; ties on finished_at."""
    for i in range(60):
        host = ("gpu1", "gpu2", "gpu3")[i % 3]
        store.submit(activity(host, record(
            i, at=T0 + i // 2,  # two requests finish in the same second
            model="qwen3-30b" if i % 2 else "llama-8b",
            status=500 if i % 7 == 0 else 200)))
    await store.flush()


def keys(rows: list[Row]) -> list[tuple[float, str, int, int]]:
    return [page_key(host, rec) for host, rec in rows]


async def walk(store: HistoryStore, limit: int, **filters: object) -> list[Row]:
    """Every page, following the last row's key, until an empty page."""
    seen: list[Row] = []
    before = None
    while True:
        page = await store.activity_page(before=before, limit=limit, **filters)  # type: ignore[arg-type]
        if not page:
            return seen
        assert len(page) <= limit
        seen.extend(page)
        before = page_key(*page[-1])


async def test_pages_are_newest_first_without_gaps_or_repeats(store: HistoryStore) -> None:
    await fill(store)
    everything = await store.activity_page(limit=1000)
    assert len(everything) == 60
    assert keys(everything) == sorted(keys(everything), reverse=True)
    assert keys(await walk(store, limit=7)) == keys(everything)


async def test_ties_on_time_are_ordered_by_host_epoch_and_id(store: HistoryStore) -> None:
    await fill(store)
    page = await store.activity_page(limit=2)
    # requests 58 (gpu2) and 59 (gpu3) both finished at T0 + 29
    assert keys(page) == [(T0 + 29, "gpu3", 0, 59), (T0 + 29, "gpu2", 0, 58)]
    nxt = await store.activity_page(before=keys(page)[0], limit=1)
    assert keys(nxt) == [(T0 + 29, "gpu2", 0, 58)]


@pytest.mark.parametrize(("filters", "expected"), [
    ({"host": "gpu2"}, lambda h, r: h == "gpu2"),
    ({"model": "llama-8b"}, lambda h, r: r.model == "llama-8b"),
    ({"errors_only": True}, lambda h, r: not r.ok),
    ({"host": "gpu1", "model": "qwen3-30b"}, lambda h, r: h == "gpu1" and r.model == "qwen3-30b"),
    ({"host": "gpu1", "errors_only": True}, lambda h, r: h == "gpu1" and not r.ok),
])
async def test_filters_page_through_exactly_the_matching_rows(
        store: HistoryStore, filters: dict[str, object], expected: object) -> None:
    await fill(store)
    everything = await store.activity_page(limit=1000)
    wanted = [row for row in everything if expected(*row)]  # type: ignore[operator]
    assert wanted  # the fixture has rows for every filter
    assert keys(await walk(store, limit=3, **filters)) == keys(wanted)


async def test_errors_are_non_2xx_statuses(store: HistoryStore) -> None:
    """§12: before v209 there is no status (only 200s were recorded) — never an error."""
    store.submit(activity("h", record(1, status=None), record(2, status=404),
                          record(3, status=204), record(4, status=503, error="boom")))
    await store.flush()
    errors = await store.activity_page(errors_only=True)
    assert sorted(r.remote_id for _, r in errors) == [2, 4]


async def test_a_limit_out_of_range_is_refused(store: HistoryStore) -> None:
    with pytest.raises(ValueError, match=r"limit must be 1\.\.5000, got 0"):
        await store.activity_page(limit=0)


@pytest.mark.parametrize("filters", [{}, {"host": "gpu1"}, {"model": "m"}, {"errors_only": True}])
async def test_same_second_rows_of_one_host_page_one_by_one(
        store: HistoryStore, filters: dict[str, object]) -> None:
    """§3.1: the store's timestamps have second precision, so ties within a host are normal."""
    store.submit(activity("gpu1", *(record(i, at=T0, model="m", status=500) for i in range(5))))
    store.submit(activity("gpu1", record(0, epoch=1, at=T0, model="m", status=500)))
    await store.flush()
    got = await walk(store, limit=1, **filters)
    assert keys(got) == [(T0, "gpu1", 1, 0), *((T0, "gpu1", 0, i) for i in range(4, -1, -1))]
