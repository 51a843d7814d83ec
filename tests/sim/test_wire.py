"""Pure byte-level pieces: Go JSON, SSE framing, error bodies, RFC3339 text, auth extraction."""

from __future__ import annotations

import base64
import json

from hypothesis import given
from hypothesis import strategies as st

from swapdeck.sim.auth import extract_api_key
from swapdeck.sim.era import Era, traits_for
from swapdeck.sim.gojson import go_dumps, go_float, go_map
from swapdeck.sim.timefmt import go_duration, parse_rfc3339, rfc3339
from swapdeck.sim.wire import error_reply, not_found_reply, sse_frame, unauthorized_reply

GIN = traits_for(Era.V200)
NET_HTTP = traits_for(Era.V250)


def test_sse_frame_is_double_encoded_with_go_framing() -> None:
    """§2.1: `event:message\\ndata:%s\\n\\n`; envelope struct (type, data); payload a JSON string.
    §12: the logData payload is a Go map, so its keys come out sorted."""
    payload = go_map({"source": "proxy", "data": "[INFO] hi\n"})
    assert sse_frame("logData", payload) == (
        b'event:message\ndata:{"type":"logData","data":"{\\"data\\":\\"[INFO] hi\\\\n\\",'
        b'\\"source\\":\\"proxy\\"}"}\n\n')


def test_go_json_escapes_html_and_keeps_utf8() -> None:
    """Go's encoding/json escapes <, >, & and writes other non-ASCII raw."""
    assert go_dumps({"a": "<b>&é"}) == '{"a":"\\u003cb\\u003e\\u0026é"}'


def test_go_json_floats() -> None:
    assert [go_float(v) for v in (61.0, 0.5, 1450.2, 1e21, 1e-7, 0.00001)] == [
        "61", "0.5", "1450.2", "1e+21", "1e-7", "0.00001"]


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_go_float_round_trips(value: float) -> None:
    assert float(go_float(value)) == value


def test_error_bodies_per_era() -> None:
    """§0/§12: v218..v250 JSON `{"error":…,"src":"llama-swap"}` (sorted keys) unless text/plain
    asked; gin era: JSON only when Accept asks for it, else the bare message."""
    assert error_reply(NET_HTTP, 404, "model not found", "*/*").body == (
        b'{"error":"model not found","src":"llama-swap"}')
    assert error_reply(NET_HTTP, 404, "model not found", "text/plain").body == (
        b"llama-swap: model not found")
    assert error_reply(GIN, 404, "model not found", "*/*").body == b"model not found"
    assert error_reply(GIN, 404, "x", "application/json").body == b'{"error":"x"}'


def test_unauthorized_reply_has_basic_challenge() -> None:
    """§7."""
    reply = unauthorized_reply(NET_HTTP, "")
    assert reply.status == 401
    assert reply.headers["WWW-Authenticate"] == 'Basic realm="llama-swap"'
    assert json.loads(reply.body)["error"] == "unauthorized: invalid or missing API key"


def test_not_found_bodies() -> None:
    """§0: Go's plain `404 page not found` (net/http adds a newline, gin does not)."""
    assert not_found_reply(NET_HTTP).body == b"404 page not found\n"
    assert not_found_reply(GIN).body == b"404 page not found"


def test_rfc3339_uses_local_offset_and_trims_fraction() -> None:
    """§0: RFC3339Nano with the host's offset; store rows have whole seconds (§3.1)."""
    ns = 1_755_882_909_123_450_000
    assert rfc3339(ns) == "2025-08-22T10:15:09.12345-07:00"
    assert rfc3339(ns, whole_seconds=True) == "2025-08-22T10:15:09-07:00"
    assert parse_rfc3339(rfc3339(ns)) == ns


def test_parse_rejects_a_plus_that_became_a_space() -> None:
    """§12: an unencoded `+` arrives as a space and is not RFC3339."""
    assert parse_rfc3339("2026-08-22T10:15:05 02:00") is None
    assert parse_rfc3339("2026-08-22T10:15:05+02:00") is not None


def test_go_duration() -> None:
    assert [go_duration(n) for n in (999, 345_000, 1_234_000, 2_500_000_000)] == [
        "999ns", "345µs", "1.234ms", "2.5s"]


def test_api_key_precedence_and_gin_case_sensitivity() -> None:
    """§7: Basic (password, any user) before Bearer before x-api-key; §12: gin compares the
    scheme names case-sensitively."""
    basic = "Basic " + base64.b64encode(b"anyone:k1").decode()
    assert extract_api_key({"Authorization": basic, "x-api-key": "k2"},
                           case_sensitive_scheme=True) == "k1"
    assert extract_api_key({"Authorization": "Bearer k3"}, case_sensitive_scheme=True) == "k3"
    assert extract_api_key({"x-api-key": "k4"}, case_sensitive_scheme=False) == "k4"
    assert extract_api_key({"Authorization": "bearer k5"}, case_sensitive_scheme=True) is None
    assert extract_api_key({"Authorization": "bearer k5"}, case_sensitive_scheme=False) == "k5"
