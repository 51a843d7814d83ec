"""Which `logData` frames a consumer without log lines can leave undecoded (§2.1, §2.2).

The collector keeps no log lines; of the logs it wants only the llama-server build, which
the upstream log names in a line with `build` (or `version`) in it when a process starts.
Yet log frames are a third of a busy host's messages and the longest, so decoding their two
JSON layers only to drop them was the collector's largest remaining cost.

The test is on the raw envelope text and cannot be fooled by log content. The envelope is
`{"type":"logData","data":"<inner JSON as a string>"}` (keys in either order): inside the
string every `"` is escaped, so `"type":"logData"` (a colon right before a quote) can only be
the envelope's own field; the inner `source` field, escaped once, reads
`\\"source\\":\\"proxy\\"`, while a log text that says the same is escaped twice and reads
`\\\\\\"source\\\\\\"`. A serializer that spaces or escapes differently fails the test, and the
frame is decoded as usual: the sieve only ever skips work, never a frame that matters.
"""

from __future__ import annotations

_LOG_FRAME = '"type":"logData"'
_PROXY_SOURCE = '\\"source\\":\\"proxy\\"'
_BUILD_WORDS = ("build", "version")


def log_frame_without_build(data: str) -> bool:
    """A proxy log frame, or an upstream one that cannot name a build."""
    if _LOG_FRAME not in data:
        return False
    return _PROXY_SOURCE in data or not any(word in data for word in _BUILD_WORDS)
