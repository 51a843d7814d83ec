"""How a server's answer to a (Range) request is read — pure (ranking-facts §8)."""

from __future__ import annotations

import pytest

from swapdeck.pool.errors import DownloadFailed, ModelNotFound
from swapdeck.pool.installers.http_reply import (
    ReplyAction,
    ReplyPlan,
    linked_sha256,
    plan_reply,
)

SHA = "9f" * 32


def reply(status: int, offset: int = 0, expected: int | None = None,
          **headers: str) -> ReplyPlan:
    named = {k.replace("_", "-"): v for k, v in headers.items()}
    return plan_reply(status, named, offset, url="http://h/f.gguf", model_id="m",
                      expected_size=expected)


def test_a_206_at_the_asked_start_continues_the_kept_bytes() -> None:
    assert reply(206, 100, content_range="bytes 100-999/1000") == ReplyPlan(
        ReplyAction.STREAM, 100, 1000)


def test_a_206_anywhere_else_restarts() -> None:
    assert reply(206, 100, content_range="bytes 0-999/1000").action is ReplyAction.RESTART
    assert reply(206, 100, content_range="garbage").action is ReplyAction.RESTART


def test_a_200_means_range_was_ignored_and_the_body_starts_at_zero() -> None:
    assert reply(200, 100, content_length="1000") == ReplyPlan(ReplyAction.STREAM, 0, 1000)
    assert reply(200) == ReplyPlan(ReplyAction.STREAM, 0, None)  # length unknown


def test_a_416_for_exactly_the_kept_size_means_complete() -> None:
    assert reply(416, 1000, content_range="bytes */1000").action is ReplyAction.COMPLETE
    assert reply(416, 1000, content_range="bytes */2000").action is ReplyAction.RESTART


def test_errors_that_no_retry_fixes_raise() -> None:
    with pytest.raises(ModelNotFound):
        reply(404)
    with pytest.raises(DownloadFailed) as forbidden:
        reply(403)
    assert not forbidden.value.resumable
    with pytest.raises(DownloadFailed) as busy:
        reply(503)
    assert busy.value.resumable
    with pytest.raises(DownloadFailed, match="catalog says 999"):
        reply(200, expected=999, content_length="1000")


def test_linked_etag_is_read_from_any_hop() -> None:
    assert linked_sha256([{"x-linked-etag": f'W/"{SHA.upper()}"'}, {}]) == SHA
    assert linked_sha256([{"x-linked-etag": '"abc123"'}]) is None  # a git sha1, not LFS
    assert linked_sha256([]) is None
