"""The aiohttp session a connector follows its host with: `/api/events` and the REST reads
that recur all day (activity pages, performance, `/running`, `/health`, `/api/version`).

Why aiohttp here and httpx for the actions: these reads run several times a second across a
fleet. On loopback httpx spent ~2.7 ms of CPU per 50-row activity page and ~110 µs per
stream message; aiohttp ~0.9 ms and ~40 µs (`benchmarks/sse_transport.py`). Warm, unload,
captures and log tails happen when a person asks, and stay on the httpx client (http.py).
"""

from __future__ import annotations

import aiohttp

from swapdeck.config import HostConfig
from swapdeck.sources.http import CONNECT_TIMEOUT_S, request_headers, tls_verification

REST_TIMEOUT = aiohttp.ClientTimeout(total=30.0, sock_connect=CONNECT_TIMEOUT_S)
STREAM_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT_S,
                                       sock_read=None)
"""No read timeout: an idle host sends nothing for minutes and there is no heartbeat (§2.1);
`/health` polling finds dead hosts instead."""


def make_session(host: HostConfig) -> aiohttp.ClientSession:
    """A session for `host`: its key, headers and TLS, as the httpx client has them; raises
    ConfigError when the key or the CA bundle cannot be read. Paths are joined to the host's
    URL, so a llama-swap behind a path prefix works too (see `relative`)."""
    return aiohttp.ClientSession(
        base_url=host.url.rstrip("/") + "/", headers=request_headers(host),
        timeout=REST_TIMEOUT, connector=aiohttp.TCPConnector(ssl=tls_verification(host)))


def relative(path: str) -> str:
    """`/api/events` -> `api/events`: a leading slash would drop the base URL's path."""
    return path.lstrip("/")
