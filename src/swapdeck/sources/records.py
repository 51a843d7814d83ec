"""Activity records of every era (§3.1) -> `ActivityRecord`.

Three shapes reach us, from the SSE `metrics` arrays (v140..v235) and from the REST store
(v236+, `/api/metrics/activity`):

* v140..v168 flat minimum: id, timestamp, model, input_tokens, output_tokens,
  tokens_per_second, duration_ms;
* v169..v208 flat: plus cache_tokens, prompt_per_second (v169+) and has_capture (v190+);
* v209+ nested: the token numbers move under `tokens{}`, plus req_path, resp_content_type,
  resp_status_code; metadata (v227+), draft_*/error_msg (v229+).

Fields a version does not have stay at llama-swap's own "unknown" sentinel (-1) or None,
never 0 (§3.1). Records are parsed with `epoch=0`; the ledger (epochs.py) assigns epochs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from swapdeck.events import UNKNOWN, ActivityRecord
from swapdeck.sources.jsonfields import (
    FieldError,
    as_list,
    as_object,
    get_bool,
    get_float,
    get_int,
    get_str,
    get_str_map,
)
from swapdeck.sources.timestamps import TimestampError, parse_rfc3339


class RecordError(ValueError):
    """One activity record could not be read; the message names the field and the id."""


def parse_activity_record(raw: object) -> ActivityRecord:
    """Any era's record (flat or nested) -> `ActivityRecord` with epoch 0; raises RecordError."""
    try:
        obj = as_object(raw, "activity record")
        record_id = get_int(obj, "id")
        if record_id < 0:
            raise FieldError(f"id: expected a non-negative integer, got {record_id}")
        finished_at = parse_rfc3339(get_str(obj, "timestamp"))
        model = get_str(obj, "model")
        tokens = obj.get("tokens")
        if tokens is None:
            return _flat(obj, record_id, finished_at, model)
        return _nested(obj, as_object(tokens, "tokens"), record_id, finished_at, model)
    except (FieldError, TimestampError) as exc:
        raise RecordError(f"record {_id_hint(raw)}: {exc}") from None


def _flat(obj: Mapping[str, Any], record_id: int, finished_at: float, model: str) -> ActivityRecord:
    """<=v208: tokens at the top level; only 200s were recorded then (§12)."""
    return ActivityRecord(
        remote_id=record_id,
        epoch=0,
        finished_at=finished_at,
        model=model,
        req_path=None,
        status_code=None,
        content_type=None,
        cache_tokens=get_int(obj, "cache_tokens", UNKNOWN),  # v169+
        input_tokens=get_int(obj, "input_tokens"),
        output_tokens=get_int(obj, "output_tokens"),
        prompt_tps=get_float(obj, "prompt_per_second", float(UNKNOWN)),  # v169+
        decode_tps=get_float(obj, "tokens_per_second"),
        duration_ms=get_int(obj, "duration_ms"),
        has_capture=get_bool(obj, "has_capture", False),  # v190+
    )


def _nested(obj: Mapping[str, Any], tokens: Mapping[str, Any], record_id: int,
            finished_at: float, model: str) -> ActivityRecord:
    """v209+: token numbers under `tokens{}`; request path and status alongside."""
    content_type = get_str(obj, "resp_content_type", "")
    return ActivityRecord(
        remote_id=record_id,
        epoch=0,
        finished_at=finished_at,
        model=model,
        req_path=get_str(obj, "req_path", ""),
        status_code=get_int(obj, "resp_status_code"),
        content_type=content_type,
        cache_tokens=get_int(tokens, "cache_tokens", UNKNOWN),
        input_tokens=get_int(tokens, "input_tokens"),
        output_tokens=get_int(tokens, "output_tokens"),
        prompt_tps=get_float(tokens, "prompt_per_second", float(UNKNOWN)),
        decode_tps=get_float(tokens, "tokens_per_second", float(UNKNOWN)),
        duration_ms=get_int(obj, "duration_ms"),
        has_capture=get_bool(obj, "has_capture", False),
        draft_tokens=get_int(tokens, "draft_tokens", UNKNOWN),  # v229+
        draft_accepted=get_int(tokens, "draft_acc_tokens", UNKNOWN),  # v229+
        error_msg=get_str(obj, "error_msg", ""),  # v229+, omitempty
        metadata=get_str_map(obj, "metadata"),  # v227+, omitempty
    )


@dataclass(frozen=True, slots=True)
class ActivityPage:
    """One page of `GET /api/metrics/activity` (v236+, §1.10), rows newest first."""

    records: tuple[ActivityRecord, ...]
    rejected: tuple[str, ...]
    """One message per row that could not be read (skipped, counted)."""
    page: int
    total_pages: int


def parse_activity_page(raw: object) -> ActivityPage:
    """`{"data":[...],"page":1,"limit":25,"total":137,"total_pages":6}`; raises FieldError."""
    obj = as_object(raw, "activity page")
    rows = obj.get("data")
    records: list[ActivityRecord] = []
    rejected: list[str] = []
    for row in as_list(rows, "data") if rows is not None else []:
        try:
            records.append(parse_activity_record(row))
        except RecordError as exc:
            rejected.append(str(exc))
    return ActivityPage(
        records=tuple(records),
        rejected=tuple(rejected),
        page=get_int(obj, "page", 1),
        total_pages=get_int(obj, "total_pages", 0),
    )


def parse_metrics_array(raw: object) -> tuple[list[ActivityRecord], list[str]]:
    """The payload of an SSE `metrics` message or `GET /api/metrics` (v140..v235, §2.4).

    An array of records, oldest first; `null` before the first record (§12). Returns the
    readable records and one message per unreadable one. Raises FieldError when the payload
    itself is not an array.
    """
    if raw is None:
        return [], []
    records: list[ActivityRecord] = []
    rejected: list[str] = []
    for item in as_list(raw, "metrics"):
        try:
            records.append(parse_activity_record(item))
        except RecordError as exc:
            rejected.append(str(exc))
    return records, rejected


def _id_hint(raw: object) -> str:
    if isinstance(raw, dict):
        value = raw.get("id")
        if isinstance(value, int) and not isinstance(value, bool):
            return f"id {value}"
    return "(no id)"
