"""The ingest hot path's quick reads agree with the checked reads they skip.

Three shortcuts sit on the stream's hot path: orjson for both envelope layers (§2.1), a
quick read of well-typed activity records (§3.1) and a memo of RFC3339 minutes (§0). Each
must give exactly what the slow path gives — the same value, or the same error message —
for every input, well-formed or not. Hypothesis generates records and texts of both kinds.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swapdeck.events import ActivityRecord
from swapdeck.sources.envelope import MalformedFrame, decode_envelope
from swapdeck.sources.jsonfields import FieldError, decode_json, get_int
from swapdeck.sources.records import (
    RecordError,
    parse_activity_record,
    parse_activity_record_checked,
    parse_metrics_array,
)
from swapdeck.sources.timestamps import TimestampError, parse_rfc3339, parse_rfc3339_uncached
from tests.sources.docbytes import FLAT_RECORD, NESTED_RECORD

BIG = 2**63


class Counted(int):
    """An int subclass: the quick read must leave it to the checked path."""


# --------------------------------------------------------------------------- strategies

_odd = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([BIG - 1, BIG, -BIG, -BIG + 1, 2**64, 12.0, -1.0, 1.5]),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=4),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(),
                                                         max_size=2),
    st.integers(min_value=0, max_value=10).map(Counted),
)
_count = st.one_of(st.integers(min_value=-1, max_value=100_000), _odd)
_rate = st.one_of(st.floats(min_value=-1, max_value=5000), st.integers(-1, 100), _odd)
_text = st.one_of(st.sampled_from(["", "/v1/chat/completions", "text/event-stream"]), _odd)
_stamps = st.one_of(
    st.sampled_from(["2026-08-22T10:15:09-07:00", "2026-08-22T10:15:09.123456789-07:00",
                     "2026-08-22T17:15:09Z", "2026-08-22T17:15:59.5z", "2026-02-30T10:00:00Z",
                     "2026-08-22T17:15:60Z", "yesterday"]),
    _odd,
)
_metadata = st.one_of(
    st.none(), st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.one_of(st.integers(), st.floats(), st.booleans(),
                                                   st.none(), st.lists(st.integers())),
                    max_size=3),
    st.dictionaries(st.integers(0, 3), st.text(max_size=2), max_size=2), _odd,
)
_tokens = st.fixed_dictionaries({}, optional={
    "cache_tokens": _count, "input_tokens": _count, "output_tokens": _count,
    "prompt_per_second": _rate, "tokens_per_second": _rate, "draft_tokens": _count,
    "draft_acc_tokens": _count,
})
_record = st.fixed_dictionaries({}, optional={
    "id": st.one_of(st.integers(min_value=0, max_value=10**6), _odd),
    "timestamp": _stamps,
    "model": st.one_of(st.sampled_from(["qwen3-30b", ""]), _odd),
    "req_path": _text, "resp_content_type": _text, "resp_status_code": st.one_of(
        st.sampled_from([200, 500, 503]), _odd),
    "tokens": st.one_of(_tokens, _odd),
    "duration_ms": _count, "has_capture": st.one_of(st.booleans(), _odd),
    "error_msg": _text, "metadata": _metadata,
    # <=v208 flat fields, read only when `tokens` is absent or null
    "cache_tokens": _count, "input_tokens": _count, "output_tokens": _count,
    "prompt_per_second": _rate, "tokens_per_second": _rate,
})
_well_typed = st.fixed_dictionaries({
    "id": st.integers(min_value=0, max_value=BIG - 1),
    "timestamp": st.sampled_from(["2026-08-22T10:15:09-07:00", "2026-08-22T17:15:09.25Z"]),
    "model": st.text(max_size=8),
    "tokens": st.fixed_dictionaries({
        "input_tokens": st.integers(0, 10**6), "output_tokens": st.integers(0, 10**6)},
        optional={"cache_tokens": st.integers(-1, 10**6),
                  "prompt_per_second": st.floats(-1, 1e4)}),
    "resp_status_code": st.integers(100, 599),
    "duration_ms": st.integers(0, 10**7),
}, optional={"metadata": st.dictionaries(st.text(max_size=5), st.text(max_size=5))})


def outcome(parse: Any, raw: object) -> tuple[str, object]:
    try:
        return "record", parse(raw)
    except RecordError as exc:
        return "rejected", str(exc)


# --------------------------------------------------------------------------- records


@settings(max_examples=300, deadline=None)
@given(_record)
def test_quick_record_read_agrees_with_the_checked_read(raw: dict[str, Any]) -> None:
    """§3.1: same record, or the same rejection message, for any record of any era."""
    assert outcome(parse_activity_record, raw) == outcome(parse_activity_record_checked, raw)


@settings(max_examples=100, deadline=None)
@given(_well_typed)
def test_well_typed_records_are_read(raw: dict[str, Any]) -> None:
    """§3.1: what a host sends decodes to a record (the quick path is not just skipped)."""
    record = parse_activity_record(raw)
    assert isinstance(record, ActivityRecord)
    assert record == parse_activity_record_checked(raw)


@pytest.mark.parametrize("text", [NESTED_RECORD, FLAT_RECORD.replace(
    '"..."', '"2026-08-22T10:15:09.5-07:00"')])
def test_doc_records_agree_through_both_decoders(text: str) -> None:
    """§3.1: the documented records, decoded by orjson and by the standard library."""
    assert parse_activity_record(decode_json(text)) == parse_activity_record_checked(
        json.loads(text))


@pytest.mark.parametrize("literal", ["9223372036854775808", "18446744073709551616",
                                     "123456789012345678901234567890", "-9223372036854775809",
                                     "-9223372036854775808"])
def test_ids_beyond_64_bits_are_rejected_alike_by_both_decoders(literal: str) -> None:
    """§3.1: ids are Go int64s; a bigger number is malformed whichever decoder read it
    (orjson reads it as a float, json as an int), and SQLite could not store it."""
    text = NESTED_RECORD.replace('"id":42', f'"id":{literal}')
    messages = set()
    for decoded in (json.loads(text), decode_json(text)):
        with pytest.raises(RecordError) as caught:
            parse_activity_record(decoded)
        messages.add(str(caught.value))
    assert messages == {"record (no id): id: expected a 64-bit integer, got a number out of range"}


def test_64_bit_range_is_open_at_both_ends() -> None:
    assert get_int({"n": BIG - 1}, "n") == BIG - 1
    assert get_int({"n": -BIG + 1}, "n") == -BIG + 1
    for value in (BIG, -BIG, float(BIG), 1e300):
        with pytest.raises(FieldError, match="n: expected a 64-bit integer"):
            get_int({"n": value}, "n")


def test_bad_records_in_a_metrics_array_keep_their_messages() -> None:
    """§2.4: good records kept, bad ones counted with the checked path's message."""
    good = json.loads(NESTED_RECORD)
    bad_type = good | {"id": 43, "duration_ms": "6871"}
    bad_stamp = good | {"id": 44, "timestamp": "2026-08-22 10:15"}
    records, rejected = parse_metrics_array([good, bad_type, bad_stamp])
    assert [r.remote_id for r in records] == [42]
    assert rejected == [
        "record id 43: duration_ms: expected an integer, got the string '6871'",
        "record id 44: expected an RFC3339 timestamp, got '2026-08-22 10:15'",
    ]


# --------------------------------------------------------------------------- timestamps

_digit = st.sampled_from("0123456789")
_two = st.text(_digit, min_size=2, max_size=2)
_minute = st.builds(
    lambda y, mo, d, sep, h, mi: f"{y}-{mo}-{d}{sep}{h}:{mi}",
    st.sampled_from(["2026", "1970", "0000", "9999", "2024"]),
    st.sampled_from(["01", "02", "08", "12", "13", "00"]), _two,
    st.sampled_from(["T", "t", " ", "_"]), _two, _two)
_seconds = st.one_of(_two, st.sampled_from(["5", "٥٩", "0٥", "60", "99", "5x", ""]))
_fraction = st.one_of(
    st.just(""),
    st.text(_digit, min_size=0, max_size=11).map(lambda digits: "." + digits),
    st.sampled_from([".١٢", ".5.", ",5", ".²"]))
_offset = st.one_of(
    st.sampled_from(["Z", "z", "+00:00", "-07:00", "+05:30", "+23:59", "+24:00", "-99:99",
                     "+0700", "07:00", "Z\n", "-07:00\n", ""]),
    st.builds(lambda sign, h, m: f"{sign}{h}:{m}", st.sampled_from("+-"), _two, _two))


def timestamp_outcome(parse: Any, text: str) -> tuple[str, object]:
    try:
        return "seconds", parse(text)
    except TimestampError as exc:
        return "rejected", str(exc)


@settings(max_examples=300, deadline=None)
@given(_minute, _seconds, _fraction, _offset, st.text(max_size=3))
def test_memoised_timestamps_agree_with_the_long_way(minute: str, seconds: str, fraction: str,
                                                      offset: str, junk: str) -> None:
    """§0: RFC3339(Nano) with any offset; the memo never changes a result or a message."""
    # Seed the memo with a valid second of the same minute and offset, when there is one,
    # so the texts below take the quick path wherever it applies.
    timestamp_outcome(parse_rfc3339_uncached, f"{minute}:00{offset}")
    for text in (f"{minute}:{seconds}{fraction}{offset}", f"{minute}:{seconds}{junk}{offset}",
                 f"{minute}:{seconds}{fraction}{junk}"):
        expected = timestamp_outcome(parse_rfc3339_uncached, text)
        assert timestamp_outcome(parse_rfc3339, text) == expected
        assert timestamp_outcome(parse_rfc3339, text) == expected  # now certainly memoised


def test_nanoseconds_survive_the_memo() -> None:
    """§0: Go writes up to 9 fraction digits; we keep what a float can hold."""
    first = parse_rfc3339("2026-08-22T10:15:09.000000001-07:00")
    again = parse_rfc3339("2026-08-22T10:15:09.999999999-07:00")
    assert first == 1787418909.000000001
    assert again == 1787418909.999999999
    assert parse_rfc3339("2026-08-22T10:15:10-07:00") == 1787418910.0


def test_an_offset_of_a_day_is_a_timestamp_error() -> None:
    """§0: a garbled offset is a bad timestamp like any other, not a crash."""
    with pytest.raises(TimestampError, match="expected a real date and time"):
        parse_rfc3339("2026-08-22T10:15:09+24:00")


# --------------------------------------------------------------------------- JSON


_json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-BIG + 1, max_value=BIG - 1),
              st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=20)


@settings(max_examples=150, deadline=None)
@given(_json_values, st.booleans())
def test_decode_json_reads_what_json_loads_reads(value: object, compact: bool) -> None:
    """§2.1: both envelope layers decode to what the standard library gives."""
    text = json.dumps(value, separators=(",", ":") if compact else None,
                      ensure_ascii=not compact)
    assert repr(decode_json(text)) == repr(json.loads(text))


def json_outcome(decode: Any, text: str) -> tuple[str, str]:
    try:
        value = decode(text)
    except ValueError as exc:
        return "error", str(exc)
    except RecursionError:
        return "error", "too deep"
    # The one documented difference: past 64 bits orjson reads a float (get_int refuses both).
    return "value", repr(value) if not beyond_64_bits(value) else "beyond 64 bits"


def beyond_64_bits(value: object) -> bool:
    if isinstance(value, list):
        return any(beyond_64_bits(item) for item in value)
    if isinstance(value, dict):
        return any(beyond_64_bits(item) for item in value.values())
    if isinstance(value, float) and value.is_integer():
        return not -BIG < value < BIG
    return isinstance(value, int) and not -BIG < value < BIG


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from(list('{}[]",:0123456789.eE+- tfnaulrsINy\\\ud800x')),
               max_size=30))
def test_decode_json_fails_like_json_loads(text: str) -> None:
    """§2.1: a frame that is not JSON is rejected with the standard library's message,
    and what only the standard library accepts (NaN, Infinity, lone surrogates) still is."""
    assert json_outcome(decode_json, text) == json_outcome(json.loads, text)


@pytest.mark.parametrize("inner", ["[NaN]", '{"x":1e400}', '"\\ud800"', "[Infinity]"])
def test_what_only_the_standard_library_reads_still_decodes(inner: str) -> None:
    """§2.1: orjson refuses these; the envelope still decodes them as before."""
    data = json.dumps({"type": "metrics", "data": inner})
    assert repr(decode_envelope("message", data).payload) == repr(json.loads(inner))


def test_envelope_errors_carry_the_standard_librarys_words() -> None:
    """§2.1: the detail of a bad envelope is what `json.loads` says, not orjson."""
    with pytest.raises(MalformedFrame) as caught:
        decode_envelope("message", "{not json")
    try:
        json.loads("{not json")
    except ValueError as exc:
        expected = f"{exc} in '{{not json'"
    assert caught.value.detail == expected


def test_decoded_ids_fit_sqlite() -> None:
    """The largest id the reads accept is one SQLite stores."""
    top = get_int(decode_json(f'{{"id":{BIG - 1}}}'), "id")
    with sqlite3.connect(":memory:") as conn:
        assert conn.execute("SELECT ?", (top,)).fetchone() == (top,)
