"""`GET /api/version` (v173+; Go's 404 before, §1.7) -> what the connector needs of it."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from swapdeck.sources.jsonfields import as_object, get_str

FIRST_REST_ACTIVITY = 236  # §10: SQLite store, /api/metrics/activity, SSE `activity`
_VERSION_NUMBER = re.compile(r"^v?(\d+)")


class SwapVersion(NamedTuple):
    version: str
    commit: str
    build_date: str
    number: int | None
    """The release number (`v250` -> 250); None for a build that is not `vNNN` (a dev build)."""

    @property
    def rest_activity(self) -> bool | None:
        """Activity rows come over REST (v236+); None: unknown, ask the endpoint."""
        return None if self.number is None else self.number >= FIRST_REST_ACTIVITY


def parse_swap_version(status: int, body: Any) -> SwapVersion:
    """The answer of `/api/version`; raises FieldError for an unreadable one."""
    if status == 404:
        return SwapVersion("<v173", "", "", 0)
    obj = as_object(body, "/api/version")
    version = get_str(obj, "version")
    match = _VERSION_NUMBER.match(version)
    return SwapVersion(version, get_str(obj, "commit", ""), get_str(obj, "build_date", ""),
                       int(match.group(1)) if match else None)
