"""Activity records of every era (§3.1, §2.4, §1.10) and RFC3339 timestamps (§0)."""

from __future__ import annotations

import json

import pytest

from swapdeck.events import UNKNOWN
from swapdeck.sources.records import (
    RecordError,
    parse_activity_page,
    parse_activity_record,
    parse_metrics_array,
)
from swapdeck.sources.timestamps import TimestampError, format_rfc3339, parse_rfc3339
from tests.sources.docbytes import FLAT_RECORD, NESTED_RECORD

T_0915_09 = 1787418909.0  # 2026-08-22T10:15:09-07:00 = 17:15:09Z


def test_timestamps_with_offsets_and_nanoseconds() -> None:
    """§0: RFC3339(Nano) with the server's local offset."""
    assert parse_rfc3339("2026-08-22T10:15:09-07:00") == T_0915_09
    assert parse_rfc3339("2026-08-22T17:15:09Z") == T_0915_09
    assert parse_rfc3339("2026-08-22T19:15:09+02:00") == T_0915_09
    assert parse_rfc3339("2026-08-22T10:15:09.123456789-07:00") == pytest.approx(
        T_0915_09 + 0.123456789, abs=1e-6)
    with pytest.raises(TimestampError):
        parse_rfc3339("...")
    with pytest.raises(TimestampError):
        parse_rfc3339("2026-02-30T10:00:00Z")


def test_format_round_trips_without_rounding_up() -> None:
    """§1.9 `after` is strictly-newer: our formatting must never overshoot a sample."""
    stamp = parse_rfc3339("2026-08-22T10:15:05.999999999-07:00")
    text = format_rfc3339(stamp)
    assert text.endswith("+00:00")
    assert parse_rfc3339(text) <= stamp


def test_nested_record_from_the_doc() -> None:
    """§3.1: the HEAD record, field by field."""
    record = parse_activity_record(json.loads(NESTED_RECORD))
    assert record.remote_id == 42
    assert record.epoch == 0
    assert record.finished_at == T_0915_09
    assert record.model == "qwen3-30b"
    assert record.req_path == "/v1/chat/completions"
    assert record.status_code == 200
    assert record.content_type == "text/event-stream"
    assert (record.cache_tokens, record.input_tokens, record.output_tokens) == (1024, 312, 587)
    assert (record.prompt_tps, record.decode_tps) == (1450.2, 88.4)
    assert record.duration_ms == 6871
    assert record.has_capture is True
    assert (record.draft_tokens, record.draft_accepted) == (-1, -1)
    assert record.error_msg == "..."
    assert record.metadata == {"selector": "coding-model"}


def test_flat_record_from_the_doc() -> None:
    """§3.1: <=v208 flat record; no path or status then (only 200s were recorded, §12)."""
    raw = json.loads(FLAT_RECORD.replace('"..."', '"2026-08-22T10:15:09.5-07:00"'))
    record = parse_activity_record(raw)
    assert record.remote_id == 0  # the legacy ring starts at 0
    assert record.finished_at == T_0915_09 + 0.5
    assert (record.req_path, record.status_code, record.content_type) == (None, None, None)
    assert record.ok
    assert (record.cache_tokens, record.input_tokens, record.output_tokens) == (-1, 10, 20)
    assert (record.prompt_tps, record.decode_tps) == (-1.0, 55.1)
    assert record.duration_ms == 900
    assert record.has_capture is False


def test_v140_minimal_subset_keeps_unknowns_unknown() -> None:
    """§3.1: v140..v168 have only id, timestamp, model, input/output tokens, t/s, duration."""
    raw = {"id": 3, "timestamp": "2026-08-22T10:15:09-07:00", "model": "m", "input_tokens": 5,
           "output_tokens": 6, "tokens_per_second": 12.5, "duration_ms": 100}
    record = parse_activity_record(raw)
    assert record.cache_tokens == UNKNOWN
    assert record.prompt_tps == float(UNKNOWN)
    assert record.has_capture is False


def test_v209_record_without_v227_v229_fields() -> None:
    """§3.1: v209..v226 nested, without draft_*, error_msg, metadata."""
    raw = json.loads(NESTED_RECORD)
    for key in ("error_msg", "metadata"):
        del raw[key]
    del raw["tokens"]["draft_tokens"], raw["tokens"]["draft_acc_tokens"]
    raw["resp_status_code"] = 500
    record = parse_activity_record(raw)
    assert (record.draft_tokens, record.draft_accepted) == (UNKNOWN, UNKNOWN)
    assert record.error_msg == ""
    assert record.metadata == {}
    assert not record.ok


@pytest.mark.parametrize(("change", "field"), [
    ({"id": "42"}, "id"),
    ({"id": True}, "id"),
    ({"timestamp": "yesterday"}, "RFC3339"),
    ({"model": None}, "model"),
    ({"duration_ms": 1.5}, "duration_ms"),
    ({"tokens": []}, "tokens"),
    ({"resp_status_code": "200"}, "resp_status_code"),
])
def test_wrong_field_types_are_named(change: dict[str, object], field: str) -> None:
    """§3.1: a record with a wrong field type is rejected, saying which field."""
    raw = json.loads(NESTED_RECORD) | change
    with pytest.raises(RecordError, match=field):
        parse_activity_record(raw)


def test_metrics_null_before_the_first_record() -> None:
    """§12: v140..v235 `GET /api/metrics` returns `null`, not `[]`, when empty."""
    assert parse_metrics_array(None) == ([], [])


def test_rest_page_shape() -> None:
    """§1.10: `{"data":[...],"page":1,"limit":25,"total":137,"total_pages":6}`."""
    raw = json.loads(f'{{"data":[{NESTED_RECORD}],"page":1,"limit":25,"total":137,'
                     f'"total_pages":6}}')
    page = parse_activity_page(raw)
    assert [parse_activity_record(row).remote_id for row in page.rows] == [42]
    assert (page.page, page.total_pages) == (1, 6)
