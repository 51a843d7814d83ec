"""The Activity screen's window bookkeeping and cell formatting (pure, no app)."""

from __future__ import annotations

from swapdeck.events import ActivityRecorded
from swapdeck.fleet.state import FleetState
from swapdeck.tui.widgets.activity_columns import (
    DASH,
    PlacedColumn,
    cell_values,
    fmt_count,
    fmt_duration_ms,
    fmt_rate,
    layout_columns,
)
from swapdeck.tui.widgets.activity_window import (
    ActivityFilter,
    ActivityWindow,
    FeedRow,
    NewRecordTracker,
    initial_rows,
    memory_cutoff,
    merge_older,
    older_in_memory,
)
from tests.tui.conftest import NOW
from tests.tui.test_activity_support import record, unknown_record


def rows(host: str, *ids: int) -> list[FeedRow]:
    return [FeedRow(host, record(i)) for i in ids]


def ids(window_rows: list[FeedRow]) -> list[tuple[str, int]]:
    return [(row.host, row.record.remote_id) for row in window_rows]


def test_window_keeps_newest_first_bounded_and_unique() -> None:
    window = ActivityWindow(capacity=5)
    window.replace(sorted(rows("a", 1, 2, 3), key=lambda r: r.key, reverse=True))
    assert window.add_newer(rows("a", 4, 5, 3)) == 2  # 3 is already there
    assert ids(window.rows) == [("a", 5), ("a", 4), ("a", 3), ("a", 2), ("a", 1)]
    assert window.add_newer(rows("b", 6, 7)) == 2
    assert ids(window.rows) == [("b", 7), ("b", 6), ("a", 5), ("a", 4), ("a", 3)]
    assert window.index_of(FeedRow("a", record(1)).key) is None  # fell off the end


def test_late_records_are_merged_in_place() -> None:
    """A reconcile after a reconnect brings records older than what is shown (§12)."""
    window = ActivityWindow(capacity=10)
    window.add_newer(rows("a", 10, 20))
    window.add_newer([FeedRow("b", record(15))])
    assert ids(window.rows) == [("a", 20), ("b", 15), ("a", 10)]


def test_older_pages_append_and_push_out_the_newest() -> None:
    window = ActivityWindow(capacity=4)
    window.add_newer(rows("a", 10, 11, 12))
    added, dropped = window.add_older(rows("a", 9, 8, 11))  # 11 is not older: ignored
    assert (added, dropped) == (2, 1)
    assert ids(window.rows) == [("a", 11), ("a", 10), ("a", 9), ("a", 8)]
    assert window.add_older([]) == (0, 0)


def test_tracker_hands_each_new_record_once() -> None:
    state = FleetState(["a", "b"])
    tracker = NewRecordTracker()
    state.apply(ActivityRecorded("a", NOW, (record(1), record(2))))
    tracker.mark_all_seen(state)
    state.apply(ActivityRecorded("a", NOW, (record(3),)))
    state.apply(ActivityRecorded("b", NOW, (record(4),)))
    assert ids(tracker.take_new(state, ["a"])) == [("a", 3)]
    assert ids(tracker.take_new(state)) == [("b", 4)]
    assert tracker.take_new(state) == []


def test_filters_match_host_model_and_errors() -> None:
    ok, failed = record(1), record(2, status=500, model="gemma")
    assert ActivityFilter(host="a").matches("a", ok)
    assert not ActivityFilter(host="a").matches("b", ok)
    assert ActivityFilter(model="gemma").matches("a", failed)
    assert not ActivityFilter(errors_only=True).matches("a", ok)
    assert ActivityFilter(errors_only=True).matches("a", failed)
    assert not ActivityFilter(errors_only=True).matches("a", record(3, status=None))  # <v209


def test_with_history_the_first_window_stops_at_the_memory_cutoff() -> None:
    """Below the newest of the hosts' oldest in-memory rows, gaps are possible: those rows
    come from paging (the store's keyset continues exactly there)."""
    state = FleetState(["a", "b"])
    state.apply(ActivityRecorded("a", NOW, tuple(record(i) for i in (1, 2, 3, 50))))
    state.apply(ActivityRecorded("b", NOW, tuple(record(i) for i in (40, 41))))
    cutoff = memory_cutoff(state)
    assert cutoff is not None and cutoff[1:] == ("b", 0, 40)
    with_history = initial_rows(state, ActivityFilter(), with_history=True)
    assert ids(with_history) == [("a", 50), ("b", 41), ("b", 40)]
    without = initial_rows(state, ActivityFilter(), with_history=False)
    assert len(without) == 6
    older = older_in_memory(state, ActivityFilter(), with_history[-1].key, limit=2)
    assert ids(older) == [("a", 3), ("a", 2)]


def test_merge_older_deduplicates_store_and_memory() -> None:
    stored = [("a", record(3)), ("a", record(1))]
    memory = rows("a", 3, 2)
    assert ids(merge_older(stored, memory, limit=10)) == [("a", 3), ("a", 2), ("a", 1)]
    assert ids(merge_older(stored, memory, limit=2)) == [("a", 3), ("a", 2)]


def test_unknowns_read_as_dash_never_zero() -> None:
    """§3.1: -1 is unknown; status is absent before v209."""
    values = cell_values("a", unknown_record(1, status=None, path=None), NOW)
    assert values["cached"] == values["prefill"] == values["decode"] == DASH
    assert values["status"] == values["path"] == DASH
    assert values["prompt"] == "312"
    failed = cell_values("a", record(2, status=500), NOW)
    # The host's own zero tokens stay; a rate over no tokens is no rate (not a stall).
    assert (failed["prompt"], failed["decode"]) == ("0", DASH)


def test_formatting() -> None:
    assert [fmt_count(v) for v in (-1, 0, 9999, 12_345, 2_500_000)] == [
        DASH, "0", "9999", "12.3k", "2.5M"]
    assert [fmt_rate(v) for v in (-1.0, 88.44, 1450.2, 23_456.0)] == [
        DASH, "88.4", "1450", "23.5k"]
    assert [fmt_duration_ms(v) for v in (870, 6871, 125_000, 7_500_000)] == [
        "870ms", "6.9s", "2m05s", "2h05m"]


def test_columns_fit_narrow_and_wide_terminals() -> None:
    narrow = [p.column.key for p in layout_columns(79)]
    assert narrow == ["time", "host", "model", "status", "prompt", "gen", "prefill", "decode",
                      "duration"]
    wide = layout_columns(150)
    assert len(wide) == 11
    assert used_width(wide) <= 150
    grown = {p.column.key: p.width for p in wide}
    assert (grown["host"], grown["model"], grown["path"]) == (16, 32, 26)
    assert used_width(layout_columns(100)) == 100  # spare cells go to host, model and path
    multi_day = {p.column.key: p.width for p in layout_columns(150, multi_day=True)}
    assert multi_day["time"] == 14


def used_width(placed: list[PlacedColumn]) -> int:
    return 1 + sum(p.width for p in placed) + len(placed) - 1
