"""The SSE envelope (§2.1) and the per-type decoding of a stream (§2.2, §2.4)."""

from __future__ import annotations

import json

import pytest

from swapdeck.events import (
    EngineVersion,
    FrameRejected,
    InflightCount,
    LogLines,
    LogSource,
    ModelsListed,
    ModelState,
    ModelStateChanged,
    ProfileChanged,
)
from swapdeck.sources.envelope import MalformedFrame, decode_envelope
from swapdeck.sources.streamdecoder import StreamDecoder
from tests.sources.docbytes import MODEL_STATUS_FRAME, NESTED_RECORD, frame

NOW = 1_787_000_000.0


def test_doc_envelope_is_decoded_twice() -> None:
    """§2.1: the envelope's `data` is a JSON string containing JSON."""
    envelope = decode_envelope("message", MODEL_STATUS_FRAME)
    assert envelope.type == "modelStatus"
    assert envelope.payload == [{"id": "qwen3-30b", "name": "Qwen3 30B A3B", "description": "",
                                 "state": "starting", "unlisted": False, "peerID": ""}]


@pytest.mark.parametrize(("data", "reason"), [
    ("{not json", "envelope is not JSON"),
    ("[1,2]", "envelope is not a JSON object"),
    ('{"data":"[]"}', "envelope has no type"),
    ('{"type":"modelStatus","data":[]}', "envelope data is not a JSON string"),
    ('{"type":"modelStatus","data":"[{\\"id\\":"}', "envelope data is not JSON"),
])
def test_malformed_envelopes_name_what_is_wrong(data: str, reason: str) -> None:
    """§2.1: anything but `{"type":..,"data":"<json>"}` is rejected with a reason."""
    with pytest.raises(MalformedFrame) as caught:
        decode_envelope("message", data)
    assert caught.value.reason == reason


def test_other_event_names_are_rejected() -> None:
    """§2.1: llama-swap names every event `message`."""
    with pytest.raises(MalformedFrame, match="unexpected SSE event name"):
        decode_envelope("ping", MODEL_STATUS_FRAME)


def test_key_order_does_not_matter() -> None:
    """§12: Go writes map keys sorted; the doc prints them in another order."""
    reordered = json.dumps({"data": json.dumps({"source": "proxy", "data": "x\n"}),
                            "type": "logData"})
    decoder = StreamDecoder("h")
    out = decoder.decode("message", reordered, NOW)
    assert out.events == [LogLines(host="h", at=NOW, source=LogSource.PROXY, lines=("x",))]


def test_model_status_then_transition_emits_one_change() -> None:
    """§2.2: every transition re-sends the full list; changes are found by diffing."""
    decoder = StreamDecoder("gpu1")
    first = decoder.decode("message", MODEL_STATUS_FRAME, NOW)
    assert [type(e) for e in first.events] == [ModelsListed]
    listed = first.events[0]
    assert isinstance(listed, ModelsListed)
    assert listed.models[0].state is ModelState.STARTING
    ready = frame("modelStatus", [{"id": "qwen3-30b", "name": "Qwen3 30B A3B",
                                   "description": "", "state": "ready", "unlisted": False,
                                   "peerID": ""}])
    second = decoder.decode("message", ready, NOW + 1)
    assert second.events[1] == ModelStateChanged(host="gpu1", at=NOW + 1, model="qwen3-30b",
                                                 old=ModelState.STARTING, new=ModelState.READY)
    assert second.became_ready == ["qwen3-30b"]


def test_ttls_are_forgotten_on_a_new_stream_so_a_reloaded_ttl_is_asked_again() -> None:
    """§2.3: a config reload closes every stream and may change a model's `ttl`; the TTL
    learned from `/running` (§1.3) before it must not outlive the connection."""

    def status(state: str) -> str:
        return frame("modelStatus", [{"id": "qwen3-30b", "name": "", "description": "",
                                      "state": state, "unlisted": False, "peerID": ""}])

    decoder = StreamDecoder("gpu1")
    decoder.decode("message", status("stopped"), NOW)
    assert decoder.decode("message", status("ready"), NOW + 1).became_ready == ["qwen3-30b"]
    decoder.attach_ttls({"qwen3-30b": 300}, NOW + 2)
    decoder.decode("message", status("stopped"), NOW + 3)
    # Same connection: the TTL is known, becoming ready again asks nothing.
    assert decoder.decode("message", status("ready"), NOW + 4).became_ready == []
    decoder.decode("message", status("stopped"), NOW + 5)
    decoder.connected()  # the reload's reconnect
    listed = decoder.decode("message", status("stopped"), NOW + 6).events[0]
    assert isinstance(listed, ModelsListed) and listed.models[0].ttl_s is None
    assert decoder.decode("message", status("ready"), NOW + 7).became_ready == ["qwen3-30b"]


def test_unknown_type_and_wrong_payload_are_rejected_not_fatal() -> None:
    """§2.2: unknown types are skipped; a bad payload names its type."""
    decoder = StreamDecoder("h")
    unknown = decoder.decode("message", frame("perfsys", {"x": 1}), NOW)
    assert unknown.malformed
    assert unknown.events == [FrameRejected(host="h", at=NOW, reason="unknown message type",
                                            detail="perfsys")]
    bad = decoder.decode("message", frame("inflight", {"total": "three"}), NOW)
    assert bad.malformed
    rejected = bad.events[0]
    assert isinstance(rejected, FrameRejected)
    assert rejected.reason == "malformed inflight payload"
    assert "total" in rejected.detail
    ok = decoder.decode("message", frame("inflight", {"total": 3}), NOW)
    assert ok.events == [InflightCount(host="h", at=NOW, total=3)]


def test_ui_config_is_known_and_silent() -> None:
    """§2.2: `uiConfig` (v240+) is for the web UI only."""
    out = StreamDecoder("h").decode(
        "message", frame("uiConfig", {"activity": {"session_id": ["X-Session-ID"]}}), NOW)
    assert not out.malformed
    assert out.events == []


def test_profile_changed() -> None:
    """§2.2: `profileChanged` carries a name or null (v241+)."""
    decoder = StreamDecoder("h")
    assert decoder.decode("message", frame("profileChanged", {"active": "coding"}), NOW).events \
        == [ProfileChanged(host="h", at=NOW, active="coding")]
    assert decoder.decode("message", frame("profileChanged", {"active": None}), NOW).events \
        == [ProfileChanged(host="h", at=NOW, active=None)]


def test_metrics_array_keeps_good_records_and_counts_bad_ones() -> None:
    """§2.4: `metrics` is an array of records; one bad record does not lose the others."""
    bad = {"id": 43, "timestamp": "2026-08-22T10:15:10-07:00", "model": 7}
    payload = f"[{NESTED_RECORD},{json.dumps(bad)}]"
    out = StreamDecoder("h").decode("message", frame("metrics", payload), NOW)
    assert not out.malformed
    assert [r.remote_id for r in out.records] == [42]
    assert out.records_rejected == 1
    rejected = out.events[0]
    assert isinstance(rejected, FrameRejected)
    assert "record id 43: model" in rejected.detail


def test_activity_event_asks_for_a_fetch() -> None:
    """§2.2: v236+ `activity {"id":42}` names a row to fetch over REST."""
    out = StreamDecoder("h").decode("message", frame("activity", {"id": 42}), NOW)
    assert out.activity_ids == [42]
    assert out.events == []


def test_log_history_is_not_repeated_after_a_reconnect() -> None:
    """§2.2: each connection starts with the whole history of each source."""
    decoder = StreamDecoder("h")
    decoder.connected()
    first = decoder.decode("message", frame("logData", {"source": "proxy",
                                                        "data": "[INFO] a\n[INFO] b\n[IN"}), NOW)
    assert first.events[0] == LogLines(host="h", at=NOW, source=LogSource.PROXY,
                                       lines=("[INFO] a", "[INFO] b"))
    decoder.connected()
    history = "[INFO] a\n[INFO] b\n[INFO] c\n[INFO] d\n"
    again = decoder.decode("message", frame("logData", {"source": "proxy", "data": history}),
                           NOW + 5)
    assert again.events == [LogLines(host="h", at=NOW + 5, source=LogSource.PROXY,
                                     lines=("[INFO] c", "[INFO] d"))]


def test_upstream_build_line_becomes_engine_version_once() -> None:
    """§1.6: upstream lines are the raw llama-server output, banner included."""
    decoder = StreamDecoder("h")
    banner = {"source": "upstream",
              "data": "\x1b[32mbuild: 6497 (cd08fc3e) with cc for x86_64-linux-gnu\x1b[0m\n"}
    out = decoder.decode("message", frame("logData", banner), NOW)
    assert out.events[1] == EngineVersion(host="h", at=NOW, component="llama-server",
                                          version="b6497", commit="cd08fc3e")
    repeat = decoder.decode("message", frame("logData", banner), NOW)
    assert [type(e) for e in repeat.events] == [LogLines]
