"""The headless sieve (logsieve.py) skips only log frames that cannot matter, whatever the
log text says (§2.1 double encoding, §2.2 `logData`)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from swapdeck.events import EngineVersion, LogLines
from swapdeck.sources.enginebuild import find_build
from swapdeck.sources.logsieve import log_frame_without_build
from swapdeck.sources.streamdecoder import StreamDecoder
from tests.sources.docbytes import frame

BUILD = "build: 6497 (cd08fc3e) with cc for x86_64-linux-gnu\n"


def log(source: str, text: str, *, type_first: bool = False) -> str:
    if not type_first:
        return frame("logData", {"source": source, "data": text})
    inner = json.dumps({"source": source, "data": text}, separators=(",", ":"))
    return json.dumps({"type": "logData", "data": inner}, separators=(",", ":"))


def test_what_is_skipped() -> None:
    assert log_frame_without_build(log("proxy", BUILD))
    assert log_frame_without_build(log("upstream", "slot launch\n"))
    assert not log_frame_without_build(log("upstream", BUILD))
    assert not log_frame_without_build(log("upstream", BUILD, type_first=True))
    assert not log_frame_without_build(frame("activity", {"id": 1}))
    # An upstream text that quotes the proxy's source field is still read for its build.
    assert not log_frame_without_build(log("upstream", '{"source":"proxy"} ' + BUILD))
    # Spaced JSON is not recognised: decoded as usual.
    spaced = json.dumps({"type": "logData", "data": json.dumps({"source": "proxy",
                                                                "data": "x"})})
    assert not log_frame_without_build(spaced)


@given(st.text(), st.sampled_from(["proxy", "upstream"]), st.booleans())
def test_a_skipped_frame_never_held_a_build(text: str, source: str, type_first: bool) -> None:
    data = log(source, text, type_first=type_first)
    if log_frame_without_build(data):
        assert source == "proxy" or find_build(text.split("\n")) is None


@given(st.text())
def test_other_frames_are_never_skipped(text: str) -> None:
    for kind in ("modelStatus", "inflight", "activity", "metrics"):
        assert not log_frame_without_build(frame(kind, {"type": "logData", "data": text}))


def test_headless_decoding_reads_builds_and_keeps_no_lines() -> None:
    decoder = StreamDecoder("h", log_lines=False)
    decoder.connected()
    frames = [("message", log("proxy", "[INFO] listening\n")),
              ("message", log("upstream", "slot launch\n")),
              ("message", log("upstream", "starting\n" + BUILD))]
    out = decoder.decode_batch(frames, 1.0)
    assert (out.frames, out.malformed) == (3, 0)
    assert not [e for e in out.events if isinstance(e, LogLines)]
    builds = [e for e in out.events if isinstance(e, EngineVersion)]
    assert [(b.version, b.commit) for b in builds] == [("b6497", "cd08fc3e")]
