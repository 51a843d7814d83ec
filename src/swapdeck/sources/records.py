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

Every record goes through a quick read first (`_read_well_typed`): exact types checked
inline, one dict lookup per field. Anything it does not like, it hands to the checked path
(`parse_activity_record_checked`, one typed read per field), which alone decides what is
wrong and says so; both give the same record for every input the quick read accepts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from swapdeck.events import UNKNOWN, ActivityRecord
from swapdeck.sources.jsonfields import (
    INT64_BOUND,
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
    if type(raw) is dict:
        record = _read_well_typed(raw)
        if record is not None:
            return record
    return parse_activity_record_checked(raw)


def parse_activity_record_checked(raw: object) -> ActivityRecord:
    """`parse_activity_record` field by field with typed reads: slower, and the only path
    that explains a rejection. Public so tests can hold the quick read to it."""
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


_UNKNOWN_RATE = float(UNKNOWN)


def _read_well_typed(obj: dict[str, Any]) -> ActivityRecord | None:
    """The record when every field has exactly the type JSON decoding gives it; else None.

    Mirrors the checked path's rules: integers are exact ints in the 64-bit range (a
    whole-number float or an int subclass goes to the checked path), rates take ints or
    floats, an optional field may be absent or null.
    """
    get = obj.get
    record_id = get("id")
    timestamp = get("timestamp")
    model = get("model")
    if (type(record_id) is not int or not 0 <= record_id < INT64_BOUND
            or type(timestamp) is not str or type(model) is not str):
        return None
    try:
        finished_at = parse_rfc3339(timestamp)
    except TimestampError:
        return None
    tokens = get("tokens")
    if tokens is None:
        return _read_flat(obj, record_id, finished_at, model)
    if type(tokens) is not dict:
        return None
    tget = tokens.get
    status_code = get("resp_status_code")
    input_tokens = tget("input_tokens")
    output_tokens = tget("output_tokens")
    duration_ms = get("duration_ms")
    if not (_is_int64(status_code) and _is_int64(input_tokens) and _is_int64(output_tokens)
            and _is_int64(duration_ms)):
        return None
    cache_tokens = _int_or(tget("cache_tokens"), UNKNOWN)
    draft_tokens = _int_or(tget("draft_tokens"), UNKNOWN)
    draft_accepted = _int_or(tget("draft_acc_tokens"), UNKNOWN)
    prompt_tps = _rate_or_unknown(tget("prompt_per_second"))
    decode_tps = _rate_or_unknown(tget("tokens_per_second"))
    req_path = _str_or_empty(get("req_path"))
    content_type = _str_or_empty(get("resp_content_type"))
    error_msg = _str_or_empty(get("error_msg"))
    has_capture = _bool_or_false(get("has_capture"))
    if (cache_tokens is None or draft_tokens is None or draft_accepted is None
            or prompt_tps is None or decode_tps is None or req_path is None
            or content_type is None or error_msg is None or has_capture is None):
        return None
    raw_metadata = get("metadata")
    if raw_metadata is None:
        metadata: dict[str, str] = {}
    elif type(raw_metadata) is dict and all(type(k) is str and type(v) is str
                                            for k, v in raw_metadata.items()):
        metadata = dict(raw_metadata)
    else:
        return None
    return ActivityRecord(record_id, 0, finished_at, model, req_path, status_code,
                          content_type, cache_tokens, input_tokens, output_tokens, prompt_tps,
                          decode_tps, duration_ms, has_capture, draft_tokens, draft_accepted,
                          error_msg, metadata)


def _read_flat(obj: dict[str, Any], record_id: int, finished_at: float,
               model: str) -> ActivityRecord | None:
    """<=v208 (see `_flat`): tokens at the top level, no path, status or type."""
    get = obj.get
    input_tokens = get("input_tokens")
    output_tokens = get("output_tokens")
    duration_ms = get("duration_ms")
    if not (_is_int64(input_tokens) and _is_int64(output_tokens) and _is_int64(duration_ms)):
        return None
    decode_tps = get("tokens_per_second")
    if type(decode_tps) is int:
        decode_tps = float(decode_tps)
    elif type(decode_tps) is not float:
        return None
    cache_tokens = _int_or(get("cache_tokens"), UNKNOWN)
    prompt_tps = _rate_or_unknown(get("prompt_per_second"))
    has_capture = _bool_or_false(get("has_capture"))
    if cache_tokens is None or prompt_tps is None or has_capture is None:
        return None
    return ActivityRecord(record_id, 0, finished_at, model, None, None, None, cache_tokens,
                          input_tokens, output_tokens, prompt_tps, decode_tps, duration_ms,
                          has_capture)


def _is_int64(value: object) -> TypeGuard[int]:
    return type(value) is int and -INT64_BOUND < value < INT64_BOUND


def _int_or(value: object, default: int) -> int | None:
    """An optional integer field: its value, `default` when absent or null, None when odd."""
    if value is None:
        return default
    if type(value) is int and -INT64_BOUND < value < INT64_BOUND:
        return value
    return None


def _rate_or_unknown(value: object) -> float | None:
    """An optional rate: the number as a float, -1.0 when absent or null, None when odd."""
    if value is None:
        return _UNKNOWN_RATE
    if type(value) is float:
        return value
    if type(value) is int:
        return float(value)
    return None


def _bool_or_false(value: object) -> bool | None:
    if value is None:
        return False
    return value if value is True or value is False else None


def _str_or_empty(value: object) -> str | None:
    if value is None:
        return ""
    return value if type(value) is str else None


@dataclass(frozen=True, slots=True)
class ActivityPage:
    """One page of `GET /api/metrics/activity` (v236+, §1.10), rows newest first.

    Rows stay unparsed: a live fetch reads them only down to the first row it already
    holds, which on a busy host is most of the page."""

    rows: tuple[object, ...]
    page: int
    total_pages: int


def parse_activity_page(raw: object) -> ActivityPage:
    """`{"data":[...],"page":1,"limit":25,"total":137,"total_pages":6}`; raises FieldError
    for the page's shape. Each row goes through `parse_activity_record` when it is read."""
    obj = as_object(raw, "activity page")
    rows = obj.get("data")
    return ActivityPage(
        rows=tuple(as_list(rows, "data")) if rows is not None else (),
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
        # In range only: beyond 64 bits the decoders disagree (orjson reads a float).
        if (isinstance(value, int) and not isinstance(value, bool)
                and -INT64_BOUND < value < INT64_BOUND):
            return f"id {value}"
    return "(no id)"
