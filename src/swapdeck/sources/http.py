"""The httpx client for one llama-swap host's actions (warm, unload, captures, log tails),
and what every client of a host shares: headers with its key, TLS verification, timeouts.
Following the host (the event stream and the reads that recur) uses aiohttp: session.py."""

from __future__ import annotations

import functools
import ssl

import httpx

from swapdeck.config import ConfigError, HostConfig

CONNECT_TIMEOUT_S = 5.0
REST_TIMEOUT = httpx.Timeout(30.0, connect=CONNECT_TIMEOUT_S)
STREAM_TIMEOUT = httpx.Timeout(30.0, connect=CONNECT_TIMEOUT_S, read=None)
"""For `/logs/stream` (`/api/events` has its own client, sse.py): an idle host sends
nothing for minutes and there is no heartbeat (§2.1), so a read timeout would kill healthy
streams; `/health` polling finds dead ones instead."""
WARM_TIMEOUT = httpx.Timeout(30.0, connect=CONNECT_TIMEOUT_S, read=300.0)
"""A warm-up waits for the model to load (llama-swap's healthCheckTimeout defaults to 120 s)."""
USER_AGENT = "swapdeck"


def make_client(host: HostConfig) -> httpx.AsyncClient:
    """A client for `host`; raises ConfigError when its key cannot be read.

    The key goes out as `Bearer` (case-sensitive in the gin era, §12; accepted by every
    version with `apiKeys`, §7). `Accept: application/json` makes <=v217 hosts answer
    errors as JSON too (§0).
    """
    return httpx.AsyncClient(base_url=host.url, headers=request_headers(host),
                             timeout=REST_TIMEOUT, verify=tls_verification(host),
                             follow_redirects=False)


def request_headers(host: HostConfig) -> dict[str, str]:
    """Headers every request to `host` carries; raises ConfigError for an unreadable key."""
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
    key = host.resolve_api_key()
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return headers


def tls_verification(host: HostConfig) -> ssl.SSLContext | bool:
    """What httpx should verify with. Plain-http hosts get no TLS setup at all, and TLS hosts
    share one context per CA bundle: loading a bundle per host cost ~0.8 MB and ~80 ms
    each, which a 50-host collector paid for nothing."""
    if host.url.startswith("http://") or not host.verify_tls:
        return False
    if host.ca_bundle is not None:
        path = host.ca_bundle.expanduser()
        try:
            return _context_for_bundle(str(path))
        except (OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise ConfigError(path, f"hosts.{host.name}.ca_bundle",
                              f"expected a readable PEM CA bundle ({reason})") from None
    return _default_context()


@functools.cache
def _default_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


@functools.cache
def _context_for_bundle(path: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=path)
