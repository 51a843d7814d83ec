"""Epochs and gaps: ids are not unique for the life of a host (§12)."""

from __future__ import annotations

from swapdeck.events import ActivityRecord, ActivityRecorded, GapSuspected
from swapdeck.sources.base import ResumePoint
from swapdeck.sources.epochs import ActivityIntake, ActivityLedger, Verdict


def rec(remote_id: int, at: float) -> ActivityRecord:
    return ActivityRecord(remote_id=remote_id, epoch=0, finished_at=at, model="m",
                          req_path=None, status_code=None, content_type=None, cache_tokens=-1,
                          input_tokens=1, output_tokens=1, prompt_tps=-1.0, decode_tps=1.0,
                          duration_ms=1)


def test_classify() -> None:
    ledger = ActivityLedger(epoch=2, last_id=10, last_at=100.0)
    assert ledger.classify(11, 50.0) is Verdict.NEW
    assert ledger.classify(10, 100.0) is Verdict.DUPLICATE
    assert ledger.classify(3, 90.0) is Verdict.DUPLICATE
    assert ledger.classify(0, 101.0) is Verdict.RESTART
    assert ActivityLedger().classify(0, 0.0) is Verdict.NEW


def test_reconnect_duplicates_are_dropped_and_keep_the_epoch() -> None:
    """§2.4: the legacy on-connect array repeats the whole ring."""
    ledger = ActivityLedger()
    assert [r.remote_id for r in ledger.admit([rec(0, 10), rec(1, 11)])] == [0, 1]
    again = ledger.admit([rec(0, 10), rec(1, 11), rec(2, 12)])
    assert [(r.remote_id, r.epoch) for r in again] == [(2, 0)]


def test_ids_going_backwards_with_newer_time_open_an_epoch() -> None:
    """§12: a gin-era reload restarts ids at 0; v236 in-memory restart at 1."""
    ledger = ActivityLedger(epoch=4, last_id=7, last_at=100.0)
    admitted = ledger.admit([rec(1, 200), rec(2, 201), rec(8, 202)])
    assert [(r.remote_id, r.epoch) for r in admitted] == [(1, 5), (2, 5), (8, 5)]
    assert (ledger.epoch, ledger.last_id, ledger.last_at) == (5, 8, 202)


def test_resume_point_seeds_the_ledger() -> None:
    ledger = ActivityLedger.from_resume(ResumePoint(activity_epoch=3, last_activity_id=9,
                                                    last_activity_at=50.0))
    assert ledger.admit([rec(9, 50.0)]) == []
    assert [r.epoch for r in ledger.admit([rec(10, 51.0)])] == [3]


def test_gap_when_ids_were_skipped() -> None:
    """§3.2: the ring/store keeps only the newest N; what fell out while away is lost."""
    intake = ActivityIntake("h", ActivityLedger(epoch=0, last_id=5, last_at=100.0))
    events = intake.take([rec(20, 300), rec(21, 301)], oldest_held=rec(20, 300), now=999.0)
    assert events[0] == GapSuspected(host="h", at=999.0, window_start=100.0, window_end=300.0,
                                     reason="host no longer holds activity ids 6..19")
    assert isinstance(events[1], ActivityRecorded)
    assert [r.remote_id for r in events[1].records] == [20, 21]


def test_gap_on_restart_and_only_once_per_connection() -> None:
    """§12: a restart takes whatever was not read yet."""
    intake = ActivityIntake("h", ActivityLedger(epoch=0, last_id=50, last_at=100.0))
    events = intake.take([rec(1, 200)], oldest_held=rec(1, 200), now=999.0)
    gap = events[0]
    assert isinstance(gap, GapSuspected)
    assert (gap.window_start, gap.window_end) == (100.0, 200.0)
    assert "began again at 1" in gap.reason
    later = intake.take([rec(5, 300)], oldest_held=rec(5, 300), now=999.0)
    assert [type(e) for e in later] == [ActivityRecorded]


def test_no_gap_when_contiguous_or_overlapping_or_first_ever() -> None:
    contiguous = ActivityIntake("h", ActivityLedger(epoch=0, last_id=5, last_at=100.0))
    assert not any(isinstance(e, GapSuspected) for e in
                   contiguous.take([rec(6, 101)], oldest_held=rec(6, 101), now=1.0))
    overlap = ActivityIntake("h", ActivityLedger(epoch=0, last_id=5, last_at=100.0))
    events = overlap.take([rec(3, 90), rec(6, 101)], oldest_held=rec(3, 90), now=1.0)
    assert [type(e) for e in events] == [ActivityRecorded]
    first = ActivityIntake("h", ActivityLedger())
    assert [type(e) for e in first.take([rec(40, 1)], oldest_held=rec(40, 1), now=1.0)] == [
        ActivityRecorded]


def test_empty_host_leaves_the_gap_check_for_the_first_record() -> None:
    intake = ActivityIntake("h", ActivityLedger(epoch=0, last_id=5, last_at=100.0))
    assert intake.take([], oldest_held=None, now=1.0) == []
    assert intake.gap_check_pending
    events = intake.take([rec(0, 150)], oldest_held=rec(0, 150), now=2.0)
    assert isinstance(events[0], GapSuspected)


def test_restart_within_the_same_second_is_caught_by_the_newest_id() -> None:
    """§0: v236+ rows have 1 s resolution, so a quick restart replays (id, time) pairs we
    have; the newest id the host holds going below ours gives it away (§12)."""
    ledger = ActivityLedger(epoch=0, last_id=3, last_at=100.0)
    assert ledger.classify(1, 100.0) is Verdict.DUPLICATE  # the timestamp rule cannot tell
    assert ledger.host_restarted(2)
    assert not ledger.host_restarted(3)
    intake = ActivityIntake("h", ledger)
    intake.gap_check_pending = False  # mid-connection: the restart alone triggers the check
    events = intake.take([rec(1, 100.0), rec(2, 100.0)], oldest_held=rec(1, 100.0), now=5.0,
                         restarted=True)
    gap, batch = events
    assert isinstance(gap, GapSuspected) and "began again at 1" in gap.reason
    assert isinstance(batch, ActivityRecorded)
    assert [(r.remote_id, r.epoch) for r in batch.records] == [(1, 1), (2, 1)]
