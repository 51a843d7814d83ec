"""Drop the `inflight` messages of a batch that a later one in the same batch supersedes.

A busy host sends many: v235..v239 the whole list on every change, v240+ an upsert per
request on start, on response headers and every 250 ms while bytes flow (§2.2). What they
build (a map of requests by id, fleet/state.py; the ids kept in history) depends only on
the last word about each request, so within one read of the stream:

* a whole picture (a v240+ snapshot, a v235..v239 list, a v192..v234 count) makes every
  earlier `inflight` message moot;
* an upsert or a remove makes earlier upserts and removes of the same id moot.

Applying the survivors gives the same map as applying everything, for a fraction of the
parsing and of the events. A superseded message is not parsed at all, so a defect in it
goes unreported; the message that superseded it is parsed in full. A message whose
operation or id cannot be read is always kept, so the parser rejects and counts it. If a
surviving update is itself malformed, it is rejected and counted, and its request keeps
its state from before the batch: a malformed frame costs that request one batch of
freshness.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from swapdeck.sources.envelope import Envelope

_WHOLE = object()


def drop_superseded_inflight(envelopes: Sequence[Envelope]) -> Sequence[Envelope]:
    """The batch in its order, without the superseded `inflight` messages."""
    if sum(1 for envelope in envelopes if envelope.type == "inflight") < 2:
        return envelopes
    keep = [True] * len(envelopes)
    later_ids: set[object] = set()
    whole_later = False
    for index in range(len(envelopes) - 1, -1, -1):
        envelope = envelopes[index]
        if envelope.type != "inflight":
            continue
        key = _subject(envelope.payload)
        if key is None:
            continue  # unreadable: the parser says so
        if whole_later or key in later_ids:
            keep[index] = False
        elif key is _WHOLE:
            whole_later = True
        else:
            later_ids.add(key)
    return [envelope for envelope, kept in zip(envelopes, keep, strict=True) if kept]


def _subject(payload: Any) -> object:
    """`_WHOLE`, the request id it is about, or None when that cannot be read."""
    if not isinstance(payload, dict):
        return None
    operation = payload.get("operation")
    if operation is None:
        return _WHOLE if "total" in payload or "requests" in payload else None
    if operation == "snapshot":
        return _WHOLE
    if operation == "upsert":
        request = payload.get("request")
        return _id(request.get("id")) if isinstance(request, dict) else None
    if operation == "remove":
        return _id(payload.get("id"))
    return None


def _id(value: object) -> str | None:
    # The parser's own rule (inflight._request_id): a non-empty string or a bare integer.
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None
