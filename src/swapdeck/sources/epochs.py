"""Which activity records are new, and in which epoch (§12).

Record ids are not unique for the life of a host: a gin-era config reload restarts them at
0, and a restart of a v236+ host with the in-memory store restarts them at 1. A record
whose id is at or below the last one seen but whose timestamp is newer than the newest
seen therefore opens a new epoch; one at or below with an older-or-equal timestamp is a
duplicate replayed after a reconnect and is dropped here (the history store would ignore
it by (host, epoch, remote_id) anyway, but the live views would count it twice).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import Enum

from swapdeck.events import ActivityRecord, ActivityRecorded, GapSuspected
from swapdeck.sources.base import ResumePoint


class Verdict(Enum):
    NEW = "new"
    DUPLICATE = "duplicate"
    RESTART = "restart"


@dataclass
class ActivityLedger:
    epoch: int = 0
    last_id: int | None = None
    last_at: float | None = None
    """The newest finish time seen in this epoch."""

    @classmethod
    def from_resume(cls, resume: ResumePoint) -> ActivityLedger:
        return cls(resume.activity_epoch, resume.last_activity_id, resume.last_activity_at)

    def classify(self, remote_id: int, finished_at: float) -> Verdict:
        if self.last_id is None or remote_id > self.last_id:
            return Verdict.NEW
        if self.last_at is not None and finished_at > self.last_at:
            return Verdict.RESTART
        return Verdict.DUPLICATE

    def host_restarted(self, newest_held_id: int) -> bool:
        """The newest record the host holds is older than one we have: its ids began again.

        A ring or store drops its oldest records, never its newest, so within one life of
        the host its newest id never goes below ours. This catches a restart the timestamp
        rule cannot: v236+ rows have 1 s resolution (§0), and a host restarted within the
        same second would otherwise replay ids we think we have.
        """
        return self.last_id is not None and newest_held_id < self.last_id

    def begin_epoch(self) -> None:
        self.epoch += 1
        self.last_id = None
        self.last_at = None

    def admit(self, records: Iterable[ActivityRecord]) -> list[ActivityRecord]:
        """New records (oldest first in, oldest first out) stamped with their epoch."""
        admitted: list[ActivityRecord] = []
        for record in records:
            verdict = self.classify(record.remote_id, record.finished_at)
            if verdict is Verdict.DUPLICATE:
                continue
            if verdict is Verdict.RESTART:
                self.epoch += 1
                self.last_at = None
            self.last_id = record.remote_id
            if self.last_at is None or record.finished_at > self.last_at:
                self.last_at = record.finished_at
            admitted.append(record if record.epoch == self.epoch
                            else replace(record, epoch=self.epoch))
        return admitted

    def suspect_gap(self, host: str, now: float, oldest_held: ActivityRecord | None, *,
                    restarted: bool = False) -> GapSuspected | None:
        """Call before `admit` with the oldest record the host still holds (§12).

        Records may be lost when that record is newer than what we have: ids were skipped
        in this epoch (the ring or store dropped them while we were away), or the ids began
        again (a restart or reload took whatever we had not read yet).
        """
        if oldest_held is None or self.last_id is None or self.last_at is None:
            return None
        verdict = self.classify(oldest_held.remote_id, oldest_held.finished_at)
        if restarted or verdict is Verdict.RESTART:
            reason = (f"activity ids began again at {oldest_held.remote_id} "
                      f"(host restarted or reloaded; last stored id {self.last_id})")
        elif verdict is Verdict.NEW and oldest_held.remote_id > self.last_id + 1:
            reason = (f"host no longer holds activity ids {self.last_id + 1}.."
                      f"{oldest_held.remote_id - 1}")
        else:
            return None
        return GapSuspected(host=host, at=now, window_start=self.last_at,
                            window_end=oldest_held.finished_at, reason=reason)


MAX_BATCH = 1000
"""Records per `ActivityRecorded`: a reconcile of a long absence arrives in a few batches."""


class ActivityIntake:
    """The ledger plus the once-per-connection gap check, producing events. Pure."""

    def __init__(self, host: str, ledger: ActivityLedger) -> None:
        self.host = host
        self.ledger = ledger
        self.gap_check_pending = True

    def reconnected(self) -> None:
        """The first records after a (re)connect decide whether a gap is suspected."""
        self.gap_check_pending = True

    def take(self, records: list[ActivityRecord], *, oldest_held: ActivityRecord | None,
             now: float, restarted: bool = False) -> list[GapSuspected | ActivityRecorded]:
        """`records` oldest first; `oldest_held` is the oldest record the host still holds
        as far as we looked (a known one when paging reached what we have); `restarted`
        when `ActivityLedger.host_restarted` said so of the newest record the host holds."""
        events: list[GapSuspected | ActivityRecorded] = []
        if (self.gap_check_pending or restarted) and oldest_held is not None:
            gap = self.ledger.suspect_gap(self.host, now, oldest_held, restarted=restarted)
            if gap is not None:
                events.append(gap)
            self.gap_check_pending = False
        if restarted:
            self.ledger.begin_epoch()
        admitted = self.ledger.admit(records)
        if len(admitted) <= MAX_BATCH:  # every live update: one event, no slicing
            if admitted:
                events.append(ActivityRecorded(self.host, now, tuple(admitted)))
            return events
        for start in range(0, len(admitted), MAX_BATCH):
            events.append(ActivityRecorded(self.host, now,
                                           tuple(admitted[start:start + MAX_BATCH])))
        return events
