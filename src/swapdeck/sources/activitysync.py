"""Activity over REST for v236+ hosts (§1.10, §6): page back newest-first to what we have.

On connect and after each SSE `activity {"id"}` event (bursts coalesce into one fetch),
`GET /api/metrics/activity?sort=id&order=desc` is read page by page until a row we already
have turns up or the host runs out. v236..v250 have no `min_id`, so the diff is by id, with
the timestamp deciding whether a lower id is a duplicate or a restarted host (§12).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from swapdeck.events import ActivityRecord, FrameRejected, HostEvent
from swapdeck.sources.epochs import ActivityIntake, Verdict
from swapdeck.sources.jsonfields import FieldError
from swapdeck.sources.records import RecordError, parse_activity_page, parse_activity_record
from swapdeck.sources.rest import HostFailure, JsonGet

ACTIVITY_PATH = "/api/metrics/activity"
RECONCILE_PAGE = 500
LIVE_PAGE = 50  # §6: a live update is usually one row; keep the answer small
MAX_BACKFILL_ROWS = 50_000
"""A first connect to a host with years of persistent store stops here (newest rows kept)."""


def live_page_size(announced_id: int | None, last_held_id: int | None) -> int:
    """Rows to ask for after an SSE `activity {"id"}`: at least the ids announced and not
    yet held plus the newest row held, whose presence proves nothing lies between (§6:
    v236..v250 have no `min_id`), so a burst of hundreds arrives in one page instead of
    pages of 50. Never fewer than 50: the announced id can lag the host's newest row, and
    a page too small would walk back two rows at a time. Rows past the first one held
    are not parsed, so a generous page costs little."""
    if announced_id is None or last_held_id is None:
        return LIVE_PAGE
    return max(LIVE_PAGE, min(RECONCILE_PAGE, announced_id - last_held_id + 1))


@dataclass(frozen=True, slots=True)
class SyncResult:
    events: list[HostEvent]
    new_rows: int


class ActivityRouteMissing(HostFailure):
    """The host has no `/api/metrics/activity` (<v236): records come in SSE `metrics`."""


async def sync_activity(get: JsonGet, intake: ActivityIntake, *,
                        page_size: int, now: Callable[[], float]) -> SyncResult:
    """Fetch every row newer than the ledger's last; raises HostFailure / AuthFailed."""
    ledger = intake.ledger
    fresh: list[ActivityRecord] = []  # newest first while paging
    seen_ids: set[int] = set()
    rejected: list[str] = []
    oldest_looked_at: ActivityRecord | None = None
    restarted = False
    page = 1
    while True:
        status, body = await get(ACTIVITY_PATH, params={
            "limit": page_size, "page": page, "sort": "id", "order": "desc"})
        if status == 404:
            raise ActivityRouteMissing(f"{ACTIVITY_PATH}: not served by this host")
        try:
            parsed = parse_activity_page(body)
        except FieldError as exc:
            raise HostFailure(f"{ACTIVITY_PATH}: unreadable page ({exc})") from None
        reached_known = False
        for row in parsed.rows:
            try:
                record = parse_activity_record(row)
            except RecordError as exc:
                rejected.append(str(exc))
                continue
            if page == 1 and oldest_looked_at is None:
                # Newest first: the first readable row is the newest the host holds.
                restarted = ledger.host_restarted(record.remote_id)
            if record.remote_id in seen_ids:
                continue  # rows inserted while paging push older rows onto the next page
            oldest_looked_at = record
            if not restarted and ledger.classify(record.remote_id,
                                                 record.finished_at) is Verdict.DUPLICATE:
                reached_known = True
                break
            seen_ids.add(record.remote_id)
            fresh.append(record)
        rows_on_page = len(parsed.rows)
        if (reached_known or rows_on_page < page_size or page >= parsed.total_pages
                or len(fresh) >= MAX_BACKFILL_ROWS):
            break
        page += 1
    at = now()
    events: list[HostEvent] = [
        FrameRejected(host=intake.host, at=at, reason="malformed activity record", detail=text)
        for text in rejected
    ]
    # Oldest first for the ledger. Pages are fetched newest-first while the host keeps
    # inserting, so the concatenation of pages is not reliably in id order: sort it.
    fresh.sort(key=lambda record: record.remote_id)
    events.extend(intake.take(fresh, oldest_held=oldest_looked_at, now=at, restarted=restarted))
    return SyncResult(events=events, new_rows=len(fresh))
