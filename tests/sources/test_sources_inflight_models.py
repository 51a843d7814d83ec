"""Inflight shapes of every era (§2.2, §2.4), model lists (§2.2) and `/running` TTLs (§1.3)."""

from __future__ import annotations

import json

import pytest

from swapdeck.events import (
    InflightCount,
    InflightRemoved,
    InflightRequest,
    InflightSnapshot,
    InflightUpsert,
    ModelInfo,
    ModelState,
    ModelStateChanged,
)
from swapdeck.sources.inflight import parse_inflight
from swapdeck.sources.jsonfields import FieldError
from swapdeck.sources.modelstatus import (
    diff_model_states,
    parse_model_list,
    parse_running_ttls,
    with_ttls,
)
from swapdeck.sources.timestamps import parse_rfc3339
from tests.sources.docbytes import INFLIGHT_ENTRY, MODEL_OBJECT, PEER_OBJECT, RUNNING

AT = 1.0


def test_v192_count_form() -> None:
    """§2.4: v192..v234 say only how many."""
    assert parse_inflight("h", AT, {"total": 3}) == InflightCount(host="h", at=AT, total=3)


def test_v235_full_list_form() -> None:
    """§2.4: v235..v239 `{"requests":[{id,timestamp,model,req_path,method,metadata?}]}`."""
    payload = {"requests": [{"id": "1", "timestamp": "2026-08-22T10:15:03-07:00", "model": "m",
                             "req_path": "/v1/completions", "method": "POST",
                             "metadata": {"fifo_priority": "0"}}]}
    event = parse_inflight("h", AT, payload)
    assert event == InflightSnapshot(host="h", at=AT, requests=(InflightRequest(
        id="1", model="m", started_at=parse_rfc3339("2026-08-22T10:15:03-07:00"),
        req_path="/v1/completions", method="POST"),))


def test_v240_operations_with_the_doc_entry() -> None:
    """§2.2: snapshot / upsert / remove, entry field by field."""
    entry = json.loads(INFLIGHT_ENTRY)
    upsert = parse_inflight("h", AT, {"operation": "upsert", "request": entry})
    assert isinstance(upsert, InflightUpsert)
    request = upsert.request
    assert request == InflightRequest(
        id="7", model="qwen3-30b", started_at=parse_rfc3339("2026-08-22T10:15:03.1234-07:00"),
        req_path="/v1/chat/completions", method="POST", remote_ip="192.168.1.50",
        user_agent="OpenAI/Python 1.99.0", resp_bytes=18342, elapsed_ms=5120, responding=False)
    answered = parse_inflight("h", AT, {"operation": "upsert", "request": entry | {
        "resp_headers": {"Content-Type": "text/event-stream"}}})
    assert isinstance(answered, InflightUpsert) and answered.request.responding
    snapshot = parse_inflight("h", AT, {"operation": "snapshot", "requests": [entry]})
    assert snapshot == InflightSnapshot(host="h", at=AT, requests=(request,))
    assert parse_inflight("h", AT, {"operation": "remove", "id": "7"}) == InflightRemoved(
        host="h", at=AT, request_id="7")


def test_empty_snapshot_omits_requests() -> None:
    """§2.2: an empty snapshot serialises as `{"operation":"snapshot"}`."""
    assert parse_inflight("h", AT, {"operation": "snapshot"}) == InflightSnapshot(
        host="h", at=AT, requests=())


@pytest.mark.parametrize("payload", [
    [], {"operation": "bogus"}, {"operation": "remove"}, {"nothing": 1},
    {"operation": "upsert", "request": {"id": 7.5}},
])
def test_bad_inflight_payloads(payload: object) -> None:
    """§2.2: anything else is a malformed payload."""
    with pytest.raises(FieldError):
        parse_inflight("h", AT, payload)


def test_model_list_with_a_peer() -> None:
    """§2.2: model object; peers have an empty state and `peerID`."""
    models = parse_model_list(json.loads(f"[{MODEL_OBJECT},{PEER_OBJECT}]"), {"qwen3-30b": 300})
    assert models == (
        ModelInfo(id="qwen3-30b", state=ModelState.READY, name="Qwen3 30B A3B",
                  aliases=("qwen",), context_length=32768, ttl_s=300),
        ModelInfo(id="openrouter/z-ai/glm-4.7", state=ModelState.PEER, peer_id="openrouter"),
    )


def test_one_bad_model_rejects_the_list() -> None:
    """§2.2: the list is sent whole, so it is taken whole or not at all."""
    with pytest.raises(FieldError, match=r"model \[1\]: unlisted"):
        parse_model_list([json.loads(MODEL_OBJECT), {"id": "x", "unlisted": "no"}], {})


def test_diff_reports_changes_and_newcomers_but_not_the_first_list() -> None:
    """§4: each transition re-sends the list; only real changes become events."""
    a = ModelInfo(id="a", state=ModelState.READY)
    b = ModelInfo(id="b", state=ModelState.STOPPED)
    assert diff_model_states("h", AT, None, (a, b)) == []
    before = {"a": ModelState.STARTING, "b": ModelState.STOPPED}
    c = ModelInfo(id="c", state=ModelState.UNKNOWN)
    assert diff_model_states("h", AT, before, (a, b, c)) == [
        ModelStateChanged(host="h", at=AT, model="a", old=ModelState.STARTING,
                          new=ModelState.READY),
        ModelStateChanged(host="h", at=AT, model="c", old=None, new=ModelState.UNKNOWN),
    ]


def test_running_ttls() -> None:
    """§1.3: v186+ `/running` has `ttl`; <=v185 has only model and state."""
    assert parse_running_ttls(json.loads(RUNNING)) == {"qwen3-30b": 300}
    assert parse_running_ttls({"running": [{"model": "m", "state": "ready"}]}) is None
    assert parse_running_ttls({"running": []}) == {}
    models = (ModelInfo(id="qwen3-30b", state=ModelState.READY),)
    assert with_ttls(models, {"qwen3-30b": 300})[0].ttl_s == 300
