"""InflightReader: the per-stream `parse_inflight` that parses a repeated entry once (§2.2)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from swapdeck.events import InflightRemoved, InflightRequest, InflightSnapshot, InflightUpsert
from swapdeck.sources import inflight
from swapdeck.sources.inflight import InflightReader, parse_inflight
from swapdeck.sources.jsonfields import FieldError
from tests.sources.docbytes import INFLIGHT_ENTRY

AT = 1.0


def entry(request_id: str, **change: Any) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(INFLIGHT_ENTRY)
    return raw | {"id": request_id} | change


def v235_list(*ids: str) -> dict[str, Any]:
    """§2.4 v235..v239: the whole list, every time; fresh objects, as each frame decodes."""
    return {"requests": [{"id": i, "timestamp": "2026-08-22T10:15:03-07:00", "model": "m",
                          "req_path": "/v1/completions", "method": "POST"} for i in ids]}


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Ids `parse_inflight_entry` really parsed."""
    seen: list[str] = []
    real = inflight.parse_inflight_entry

    def counting(raw: object) -> InflightRequest:
        request = real(raw)
        seen.append(request.id)
        return request

    monkeypatch.setattr(inflight, "parse_inflight_entry", counting)
    return seen


def test_every_shape_reads_like_parse_inflight() -> None:
    reader = InflightReader("h")
    for payload in ({"total": 3}, v235_list("1", "2"), {"operation": "snapshot"},
                    {"operation": "snapshot", "requests": [entry("7")]},
                    {"operation": "upsert", "request": entry("8")},
                    {"operation": "remove", "id": "8"}):
        assert reader.read(AT, payload) == parse_inflight("h", AT, payload)


def test_a_repeated_list_parses_only_new_entries(parses: list[str]) -> None:
    reader = InflightReader("h")
    first = reader.read(AT, v235_list("1", "2"))
    second = reader.read(AT, v235_list("1", "2", "3"))
    third = reader.read(AT, v235_list("2", "3"))
    assert parses == ["1", "2", "3"]
    assert isinstance(first, InflightSnapshot) and isinstance(third, InflightSnapshot)
    assert isinstance(second, InflightSnapshot)
    assert [r.id for r in third.requests] == ["2", "3"]
    assert third.requests[0] is first.requests[1]  # reused, not re-parsed


def test_a_changed_entry_is_parsed_again(parses: list[str]) -> None:
    """v240+ upserts carry growing `resp_bytes`: same id, new content, new request."""
    reader = InflightReader("h")
    reader.read(AT, {"operation": "upsert", "request": entry("7", resp_bytes=10)})
    later = reader.read(AT, {"operation": "upsert", "request": entry("7", resp_bytes=99)})
    again = reader.read(AT, {"operation": "snapshot", "requests": [entry("7", resp_bytes=99)]})
    assert parses == ["7", "7"]
    assert isinstance(later, InflightUpsert) and later.request.resp_bytes == 99
    assert isinstance(again, InflightSnapshot) and again.requests == (later.request,)


def test_removed_and_dropped_ids_are_forgotten(parses: list[str]) -> None:
    reader = InflightReader("h")
    reader.read(AT, v235_list("1", "2"))
    assert reader.read(AT, {"operation": "remove", "id": "1"}) == InflightRemoved(
        host="h", at=AT, request_id="1")
    reader.read(AT, v235_list("1"))  # "1" again after its remove: parsed anew
    reader.read(AT, v235_list("3"))  # a snapshot keeps only its own ids
    reader.read(AT, v235_list("2"))
    assert parses == ["1", "2", "1", "3", "2"]
    reader.forget()  # a new stream
    reader.read(AT, v235_list("2"))
    assert parses[-1] == "2" and len(parses) == 6


def test_memory_stays_bounded_without_removes() -> None:
    reader = InflightReader("h")
    for n in range(InflightReader.MAX_REMEMBERED + 10):
        reader.read(AT, {"operation": "upsert", "request": entry(str(n))})
    assert len(reader._parsed) <= InflightReader.MAX_REMEMBERED


@pytest.mark.parametrize("payload", [
    [], {"operation": "bogus"}, {"operation": "remove"}, {"nothing": 1},
    {"operation": "upsert", "request": {"id": 7.5}},
    {"operation": "snapshot", "requests": [{"id": True}]},
    {"requests": [{"id": "1", "timestamp": "yesterday"}]},
])
def test_bad_payloads_raise_like_parse_inflight(payload: object) -> None:
    with pytest.raises(FieldError):
        InflightReader("h").read(AT, payload)
