"""REST calls to a host with every failure turned into a one-line message.

`HostFailure` carries text for a person (`/api/version: HTTP 500: ...`,
`cannot connect: connection refused`); `AuthFailed` is the 401 of §7, kept apart because it
is retried differently. `RouteMissing` is Go's plain 404 for a path the version lacks (§0).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from swapdeck.sources.errors import (
    AUTH_FAILED,
    describe_transport_error,
    http_failure,
)
from swapdeck.sources.jsonfields import decode_json


class HostFailure(Exception):
    """The host could not be read; the message is one line for a person."""


class AuthFailed(HostFailure):
    def __init__(self) -> None:
        super().__init__(AUTH_FAILED)


class RouteMissing(HostFailure):
    """404/405 for a path this llama-swap version does not serve."""


@dataclass
class ConnectorStats:
    frames_ok: int = 0
    frames_malformed: int = 0
    records_rejected: int = 0
    reconnects: int = 0
    last_error: str = ""
    last_seen: float | None = None
    """Unix seconds of the last byte of anything received from the host."""


async def get_json(client: httpx.AsyncClient, path: str, *,
                   params: Mapping[str, str | int] | None = None,
                   missing_ok: tuple[int, ...] = (404,)) -> tuple[int, Any]:
    """GET `path` -> (status, decoded JSON or None).

    A status in `missing_ok` returns (status, None) instead of failing, so callers can
    treat "this version has no such endpoint" as an answer. Raises HostFailure otherwise.
    """
    try:
        response = await client.get(path, params=params)
    except httpx.HTTPError as exc:
        raise HostFailure(f"{path}: {describe_transport_error(exc)}") from None
    if response.status_code == 401:
        raise AuthFailed()
    if response.status_code in missing_ok:
        return response.status_code, None
    if response.status_code != 200:
        raise HostFailure(http_failure(path, response.status_code, response.content))
    try:
        return 200, decode_json(response.content)
    except ValueError:
        raise HostFailure(f"{path}: expected JSON, got {response.content[:60]!r}") from None
