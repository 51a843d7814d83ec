"""The collector's log lines (pure): what deserves a line, and its greppable shape."""

from __future__ import annotations

import io
import logging
import re

from swapdeck.collector.logfmt import EventLog, LineMaker, LogfmtFormatter, format_line, quote
from swapdeck.events import (
    ActivityRecorded,
    EngineVersion,
    FrameRejected,
    GapSuspected,
    Liveness,
    LivenessChanged,
)

T0 = 1_795_000_000.0  # 2026-11-18T11:06:40Z
LINE = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ level=(info|warning|error)( host=\S+)? '
                  r'msg="[^"]*"( [a-z_]+=("(\\.|[^"\\])*"|\S+))*$')


def test_line_shape() -> None:
    line = format_line(T0, "warning", "reconnecting", host="gpu1", attempt=2,
                       error='connect failed: "refused"\nagain', empty=None)
    assert line == ('2026-11-18T11:06:40Z level=warning host=gpu1 msg="reconnecting" attempt=2 '
                    'error="connect failed: \\"refused\\"\\nagain"')
    assert LINE.match(line)


def test_values_are_quoted_only_when_needed_and_capped() -> None:
    assert quote("v250") == "v250"
    assert quote("http://127.0.0.1:9479/metrics") == "http://127.0.0.1:9479/metrics"
    assert quote("") == '""'
    assert quote("a b") == '"a b"'
    assert len(quote("x" * 5000)) < 320


def test_liveness_is_logged_on_change_not_per_attempt() -> None:
    maker = LineMaker()
    events = [
        LivenessChanged("gpu1", T0, Liveness.CONNECTED),
        LivenessChanged("gpu1", T0 + 1, Liveness.RECONNECTING, attempt=1, last_error="reset"),
        LivenessChanged("gpu1", T0 + 2, Liveness.RECONNECTING, attempt=2, last_error="reset"),
        LivenessChanged("gpu1", T0 + 4, Liveness.RECONNECTING, attempt=3, last_error="refused"),
        LivenessChanged("gpu1", T0 + 9, Liveness.DOWN, attempt=6, last_error="refused",
                        last_seen=T0 + 0.5),
        LivenessChanged("gpu1", T0 + 40, Liveness.CONNECTED),
    ]
    lines = [line for e in events if (line := maker.describe(e))]
    assert [re.search(r'msg="([^"]+)"', line).group(1) for line in lines] == [  # type: ignore[union-attr]
        "connected", "reconnecting", "reconnecting", "down", "connected"]
    assert "level=error" in lines[3] and "last_seen=2026-11-18T11:06:40Z" in lines[3]
    assert all(LINE.match(line) for line in lines)


def test_requests_are_never_logged_and_frames_are_rate_limited() -> None:
    maker = LineMaker()
    assert maker.describe(ActivityRecorded("gpu1", T0, ())) is None
    frames = [maker.describe(FrameRejected("gpu1", T0 + i, "bad json", "{oops"))
              for i in range(25)]
    logged = [line for line in frames if line]
    assert len(logged) == 3  # at T0, T0+10, T0+20
    assert "also_rejected=9" in logged[1]
    gap = maker.describe(GapSuspected("gpu1", T0, T0 - 60, T0, "stream dropped"))
    assert gap is not None and 'msg="gap suspected"' in gap and "since=" in gap
    version = EngineVersion("gpu1", T0, "llama-swap", "v250")
    assert maker.describe(version) is not None
    assert maker.describe(version) is None  # said once


def test_event_log_writes_what_it_queued() -> None:
    stream = io.StringIO()
    log = EventLog(stream, clock=lambda: T0)
    log.observe(LivenessChanged("gpu1", T0, Liveness.CONNECTED))
    log.say("info", "serving metrics", url="http://127.0.0.1:1/metrics")
    log.drain()
    assert stream.getvalue().splitlines() == [
        '2026-11-18T11:06:40Z level=info host=gpu1 msg="connected"',
        '2026-11-18T11:06:40Z level=info msg="serving metrics" url=http://127.0.0.1:1/metrics',
    ]


def test_python_logging_records_use_the_same_format() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        record = logging.LogRecord("swapdeck.fleet.hub", logging.ERROR, __file__, 1,
                                   "connector for %s stopped", ("gpu1",),
                                   (type(exc), exc, exc.__traceback__))
    line = LogfmtFormatter().format(record)
    assert LINE.match(line), line
    assert 'msg="connector for gpu1 stopped: RuntimeError: boom"' in line
    assert "component=swapdeck.fleet.hub" in line and "test_logfmt.py:" in line
