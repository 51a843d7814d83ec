"""Superseded `inflight` updates in one read are not parsed (inflightfold.py), and the
fleet ends in the same state as if every one had been applied (§2.2, §2.4)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from swapdeck.events import FrameRejected
from swapdeck.fleet.state import FleetState
from swapdeck.sources.envelope import decode_envelope
from swapdeck.sources.inflightfold import drop_superseded_inflight
from swapdeck.sources.streamdecoder import StreamDecoder
from tests.sources.docbytes import INFLIGHT_ENTRY, frame

ENTRY: dict[str, Any] = json.loads(INFLIGHT_ENTRY)
IDS = ("1", "2", "3")


def upsert(request_id: str, resp_bytes: int = 0) -> tuple[str, str]:
    request = ENTRY | {"id": request_id, "resp_bytes": resp_bytes}
    return "message", frame("inflight", {"operation": "upsert", "request": request})


def remove(request_id: str) -> tuple[str, str]:
    return "message", frame("inflight", {"operation": "remove", "id": request_id})


def snapshot(*ids: str) -> tuple[str, str]:
    payload = {"operation": "snapshot", "requests": [ENTRY | {"id": i} for i in ids]}
    return "message", frame("inflight", payload)


def v235_list(*ids: str) -> tuple[str, str]:
    return "message", frame("inflight", {"requests": [
        {"id": i, "timestamp": "2026-08-22T10:15:03-07:00", "model": "m"} for i in ids]})


def count(total: int) -> tuple[str, str]:
    return "message", frame("inflight", {"total": total})


def other() -> tuple[str, str]:
    return "message", frame("activity", {"id": 5})


def kept(*frames: tuple[str, str]) -> list[Any]:
    envelopes = [decode_envelope(name, data) for name, data in frames]
    return [e.payload for e in drop_superseded_inflight(envelopes)]


def test_later_update_of_the_same_request_wins() -> None:
    assert kept(upsert("1", 10), upsert("2"), upsert("1", 20)) == [
        kept(upsert("2"))[0], kept(upsert("1", 20))[0]]
    assert kept(upsert("1"), remove("1")) == [{"operation": "remove", "id": "1"}]


def test_a_whole_picture_supersedes_everything_before_it() -> None:
    assert kept(upsert("1"), other(), remove("2"), snapshot("3"), upsert("3", 5)) == [
        {"id": 5}, *kept(snapshot("3")), *kept(upsert("3", 5))]
    assert kept(v235_list("1"), v235_list("1", "2")) == kept(v235_list("1", "2"))
    assert kept(count(1), count(4), count(2)) == [{"total": 2}]


def test_unreadable_updates_are_kept_for_the_parser_to_reject() -> None:
    no_id = ("message", frame("inflight", {"operation": "remove"}))
    bogus = ("message", frame("inflight", {"operation": "bogus"}))
    decoder = StreamDecoder("h")
    out = decoder.decode_batch([no_id, bogus, snapshot("1")], 1.0)
    assert (out.frames, out.malformed) == (3, 2)
    assert len([e for e in out.events if isinstance(e, FrameRejected)]) == 2


FRAMES = st.one_of(
    st.builds(upsert, st.sampled_from(IDS), st.integers(0, 3)),
    st.builds(remove, st.sampled_from(IDS)),
    st.builds(lambda ids: snapshot(*ids), st.lists(st.sampled_from(IDS), unique=True)),
    st.just(other()),
)
LEGACY_FRAMES = st.one_of(
    st.builds(lambda ids: v235_list(*ids), st.lists(st.sampled_from(IDS), unique=True)),
    st.builds(count, st.integers(0, 9)),
    st.just(other()),
)


def final_state(batches: list[list[tuple[str, str]]]) -> tuple[object, ...]:
    decoder, state = StreamDecoder("h"), FleetState(["h"])
    for batch in batches:
        state.apply_all(decoder.decode_batch(batch, 1.0).events)
    host = state.host("h")
    return host.inflight, host.inflight_total


@settings(max_examples=300)
@given(st.lists(st.one_of(FRAMES, LEGACY_FRAMES), max_size=25), st.integers(1, 8))
def test_batched_decoding_ends_where_frame_by_frame_does(
        frames: list[tuple[str, str]], batch_size: int) -> None:
    one_by_one = [[f] for f in frames]
    batched = [frames[i:i + batch_size] for i in range(0, len(frames), batch_size)]
    assert final_state(batched) == final_state(one_by_one)
