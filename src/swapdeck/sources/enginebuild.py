"""The llama-server build, read from the upstream log a model prints when it starts.

llama-server logs e.g. `build: 6497 (cd08fc3e) with cc (GCC) 13.2.0 for x86_64-linux-gnu`
(older: `build = 1234 (abc1234)`; `--version` prints `version: 6497 (cd08fc3e)`). Builds are
named `b<number>` upstream; a build without git metadata says `0 (unknown)`, which tells us
nothing and is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_BUILD = re.compile(r"\b(?:build|version)\s*[:=]\s*(\d+)\s*\(([0-9a-f]{6,40}|unknown)\)")


@dataclass(frozen=True, slots=True)
class EngineBuild:
    version: str
    """`b6497`, the name llama.cpp releases use."""
    commit: str


def parse_build_line(line: str) -> EngineBuild | None:
    match = _BUILD.search(_ANSI.sub("", line))
    if match is None:
        return None
    number, commit = int(match.group(1)), match.group(2)
    if number == 0:
        return None
    return EngineBuild(version=f"b{number}", commit="" if commit == "unknown" else commit)


def find_build(lines: Iterable[str]) -> EngineBuild | None:
    """The last build line among `lines` (the newest process start wins)."""
    found: EngineBuild | None = None
    for line in lines:
        if "build" in line or "version" in line:
            found = parse_build_line(line) or found
    return found
