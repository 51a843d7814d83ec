"""REST calls to a host with every failure turned into a one-line message.

`HostFailure` carries text for a person (`/api/version: HTTP 500: ...`,
`cannot connect: connection refused`); `AuthFailed` is the 401 of §7, kept apart because it
is retried differently. `RouteMissing` is Go's plain 404 for a path the version lacks (§0).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp

from swapdeck.sources.errors import (
    AUTH_FAILED,
    describe_transport_error,
    http_failure,
)
from swapdeck.sources.jsonfields import decode_json
from swapdeck.sources.session import relative


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


class JsonGet(Protocol):
    """What the REST readers (activity pages, perf polls) get their JSON through: the
    connector hands them `json_getter(session)`; a benchmark can hand them bodies."""

    async def __call__(self, path: str, *, params: Mapping[str, str | int] | None = None,
                       missing_ok: tuple[int, ...] = (404,)) -> tuple[int, Any]: ...


def json_getter(session: aiohttp.ClientSession) -> JsonGet:
    async def get(path: str, *, params: Mapping[str, str | int] | None = None,
                  missing_ok: tuple[int, ...] = (404,)) -> tuple[int, Any]:
        return await get_json(session, path, params=params, missing_ok=missing_ok)

    return get


async def get_json(session: aiohttp.ClientSession, path: str, *,
                   params: Mapping[str, str | int] | None = None,
                   missing_ok: tuple[int, ...] = (404,)) -> tuple[int, Any]:
    """GET `path` -> (status, decoded JSON or None).

    A status in `missing_ok` returns (status, None) instead of failing, so callers can
    treat "this version has no such endpoint" as an answer. Raises HostFailure otherwise.
    """
    try:
        async with session.get(relative(path), params=params, allow_redirects=False) as response:
            status, body = response.status, await response.read()
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise HostFailure(f"{path}: {describe_transport_error(exc)}") from None
    if status == 401:
        raise AuthFailed()
    if status in missing_ok:
        return status, None
    if status != 200:
        raise HostFailure(http_failure(path, status, body))
    try:
        return 200, decode_json(body)
    except ValueError:
        raise HostFailure(f"{path}: expected JSON, got {body[:60]!r}") from None


class HealthPath:
    """Which unauthenticated liveness route to probe (§1.7). `/wol-health` is left out of
    llama-swap's access log (§0) and `/health` is not: probing a quiet stream every
    `health_interval_s` on `/health` would write a line each time and push the rest of
    the host's 100 KiB proxy history (§1.6) out within hours. A host that answers 404 for
    `/wol-health` (the doc gives no version for it) is probed on `/health` from then on."""

    FIRST = "/wol-health"
    FALLBACK = "/health"

    def __init__(self) -> None:
        self.path = self.FIRST

    def missing(self, status: int) -> bool:
        """True (and `/health` from now on) when `status` says the route is not there."""
        if status in (404, 405) and self.path == self.FIRST:
            self.path = self.FALLBACK
            return True
        return False


async def get_health(session: aiohttp.ClientSession, timeout_s: float,
                     route: HealthPath | None = None) -> None:
    """The liveness route (no auth, §1.7) answered 200, or HostFailure saying what it was."""
    route = route or HealthPath()
    while True:
        try:
            async with session.get(relative(route.path), allow_redirects=False,
                                   timeout=aiohttp.ClientTimeout(total=timeout_s)) as response:
                status, body = response.status, await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise HostFailure(f"health check: {describe_transport_error(exc)}") from None
        if not route.missing(status):
            break
    if status != 200:
        raise HostFailure(http_failure("health check", status, body))
