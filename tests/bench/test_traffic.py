"""Other clients' traffic: foreign in-flight ids and recent activity (llama-swap-api §2.2, §3.1)."""

from __future__ import annotations

from swapdeck.bench.traffic import (
    bench_user_agent,
    foreign_inflight_ids,
    new_marker,
    recent_requests,
)
from swapdeck.events import ActivityRecord, InflightRequest


def record(remote_id: int, finished_at: float) -> ActivityRecord:
    return ActivityRecord(remote_id=remote_id, epoch=0, finished_at=finished_at, model="m",
                          req_path="/v1/chat/completions", status_code=200,
                          content_type="text/event-stream", cache_tokens=0, input_tokens=1,
                          output_tokens=1, prompt_tps=1.0, decode_tps=1.0, duration_ms=1)


def test_our_requests_are_recognised_by_the_user_agent_marker() -> None:
    marker = new_marker()
    assert marker != new_marker()
    requests = [InflightRequest("1", "m", user_agent=bench_user_agent(marker)),
                InflightRequest("2", "m", user_agent="OpenAI/Python 1.99.0"),
                InflightRequest("3", "m", user_agent=bench_user_agent(new_marker())),
                InflightRequest("4", "m")]  # before v240 no headers: cannot be attributed
    assert foreign_inflight_ids(requests, marker) == {"2", "3", "4"}


def test_recent_requests_skip_our_own_runs_and_old_ones() -> None:
    now = 1000.0
    activity = [record(1, 900.0), record(2, 950.0), record(3, 970.0), record(4, 985.0),
                record(5, 999.0)]
    assert recent_requests(activity, now) == 4
    # our run went from 969.5 to 984.0: 970 is inside; 985 is within the 2 s slack
    assert recent_requests(activity, now, own_runs=[(969.5, 984.0)]) == 2
    # second-precision timestamps: a request seen at 969.9 is stored as 969
    assert recent_requests([record(6, 969.0)], now, own_runs=[(969.9, 975.0)]) == 0
    # a run still going (no finish yet) covers everything up to now
    assert recent_requests(activity, now, own_runs=[(980.0, None)]) == 2
