"""The in-flight panel's picture on a busy fleet: the count is every matching request, the
lines are only the longest-running few (activity_inflight.py)."""

from __future__ import annotations

from swapdeck.events import InflightCount, InflightRequest, InflightSnapshot
from swapdeck.fleet.state import FleetState
from swapdeck.tui.widgets.activity_inflight import inflight_picture, render_inflight
from swapdeck.tui.widgets.activity_window import ActivityFilter

NOW = 1_000_000.0
HOSTS = ["a", "b", "c", "old"]


def busy_fleet() -> FleetState:
    state = FleetState(HOSTS)
    for h, name in enumerate(HOSTS[:3]):
        requests = tuple(
            InflightRequest(id=str(i), model="big" if i % 4 == 0 else "small",
                            started_at=NOW - (i * 3 + h) / 10, req_path="/v1/chat/completions",
                            method="POST", responding=i % 2 == 0)
            for i in range(400))
        state.apply(InflightSnapshot(host=name, at=NOW, requests=requests))
    state.apply(InflightCount(host="old", at=NOW, total=7))  # v192..v234: a count only
    return state


def test_a_thousand_in_flight_become_five_lines_and_the_right_counts() -> None:
    picture = inflight_picture(busy_fleet(), HOSTS, ActivityFilter(), NOW, limit=5)
    assert (picture.matching, picture.total) == (1200, 1207)
    assert [(line.host, round(line.elapsed_s or 0, 3)) for line in picture.lines] == [
        ("c", 119.9), ("b", 119.8), ("a", 119.7), ("c", 119.6), ("b", 119.5)]
    text = render_inflight(picture, 120, 5).plain
    assert text.startswith("In flight: 1207 on 4 hosts · 1195 more not listed · old 7")


def test_filters_count_what_they_keep() -> None:
    by_model = inflight_picture(busy_fleet(), HOSTS, ActivityFilter(model="big"), NOW, limit=3)
    assert by_model.matching == 300 and by_model.total == 300  # a count says no model
    assert {line.model for line in by_model.lines} == {"big"}
    by_host = inflight_picture(busy_fleet(), HOSTS, ActivityFilter(host="b"), NOW, limit=2)
    assert (by_host.matching, by_host.listing_hosts) == (400, ("b",))
    assert [line.host for line in by_host.lines] == ["b", "b"]


def test_nothing_running() -> None:
    picture = inflight_picture(FleetState(HOSTS), HOSTS, ActivityFilter(), NOW, limit=5)
    assert picture.total == 0
    assert render_inflight(picture, 80, 5).plain == "In flight: nothing running"
