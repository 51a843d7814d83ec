"""What a download server's answer means for the bytes already kept (pure, no I/O).

A resumed request carries `Range: bytes=N-`. The body is only appended to the kept bytes
when the answer is a 206 whose `Content-Range` starts at exactly N; a 200 means the server
ignored the Range and the body starts at byte 0; a 206 at any other start is not what was
asked for; a 416 whose total is N means every byte is already here (ranking-facts §8).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum

from swapdeck.pool.errors import DownloadFailed, ModelNotFound

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")
_UNSATISFIED_RANGE = re.compile(r"^bytes \*/(\d+)$")


class ReplyAction(Enum):
    STREAM = "stream"
    """Read the body; it starts at `ReplyPlan.start`."""
    RESTART = "restart"
    """Drop the kept bytes and ask again without a Range."""
    COMPLETE = "complete"
    """Every byte is already kept."""


@dataclass(frozen=True, slots=True)
class ReplyPlan:
    action: ReplyAction
    start: int = 0
    total: int | None = None


def plan_reply(status: int, headers: Mapping[str, str], offset: int, *, url: str,
               model_id: str, expected_size: int | None) -> ReplyPlan:
    """Interpret one answer to a request for bytes `offset`-; raises a `PoolError` for an
    answer that no retry fixes (404, other 4xx, a size that contradicts the catalog)."""
    if status == 416 and offset:
        match = _UNSATISFIED_RANGE.match(headers.get("content-range", ""))
        if match and int(match.group(1)) == offset:
            _check_size(offset, expected_size, url)
            return ReplyPlan(ReplyAction.COMPLETE, offset, offset)
        return ReplyPlan(ReplyAction.RESTART)
    if status == 404:
        raise ModelNotFound(model_id, url)
    if status >= 400:
        raise DownloadFailed(url, f"HTTP {status}", resumable=status >= 500)
    if status == 206:
        match = _CONTENT_RANGE.match(headers.get("content-range", ""))
        if not match or int(match.group(1)) != offset:
            return ReplyPlan(ReplyAction.RESTART)
        total = int(match.group(3)) if match.group(3) != "*" else None
        _check_size(total, expected_size, url)
        return ReplyPlan(ReplyAction.STREAM, offset, total)
    if status == 200:
        length = headers.get("content-length", "")
        total = int(length) if length.isdigit() else None
        _check_size(total, expected_size, url)
        return ReplyPlan(ReplyAction.STREAM, 0, total)
    raise DownloadFailed(url, f"unexpected HTTP {status}")


def linked_sha256(hops: Iterable[Mapping[str, str]]) -> str | None:
    """The Hub names an LFS file's sha256 in `X-Linked-Etag` on its redirect (§8); the
    last hop that carries one wins."""
    found = None
    for headers in hops:
        etag = headers.get("x-linked-etag", "").strip().removeprefix("W/").strip('"').lower()
        if _SHA256.match(etag):
            found = etag
    return found


def _check_size(total: int | None, expected: int | None, url: str) -> None:
    if expected is not None and total is not None and total != expected:
        raise DownloadFailed(url, f"the server has {total} bytes but the catalog says "
                             f"{expected}")
