"""Where a bench run sends its requests: a model behind llama-swap, or a bare llama-server.

Behind llama-swap, llama-server's own endpoints are reached through `/upstream/<model>/…`
(llama-swap-api §1.5); note that such a GET loads the model, so the runner only asks after
it has measured the load.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote, urlsplit

import httpx

from swapdeck.config import HostConfig
from swapdeck.sources.http import CONNECT_TIMEOUT_S, USER_AGENT, tls_verification


class Via(StrEnum):
    LLAMA_SWAP = "llama-swap"
    LLAMA_SERVER = "llama-server"


@dataclass(frozen=True, slots=True)
class BenchTarget:
    host: str
    """The config's host name, or the URL's host:port for `--url`."""
    url: str
    model: str
    via: Via
    api_key: str | None = None
    verify: ssl.SSLContext | bool = True

    @property
    def chat_path(self) -> str:
        return "/v1/chat/completions"

    def engine_path(self, path: str) -> str:
        """A llama-server endpoint (`tokenize`, `props`, `v1/models`) for this target."""
        if self.via is Via.LLAMA_SWAP:
            return f"/upstream/{quote(self.model, safe='')}/{path}"
        return f"/{path}"

    @property
    def is_loopback(self) -> bool:
        host = urlsplit(self.url).hostname or ""
        return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")

    def client(self, *, max_connections: int) -> httpx.AsyncClient:
        # Its own reads (/running, /api/hardware) say they are swapdeck's; bench requests
        # replace the agent with one that carries the run's marker (traffic.py).
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        limits = httpx.Limits(max_connections=max_connections,
                              max_keepalive_connections=max_connections)
        return httpx.AsyncClient(base_url=self.url, headers=headers, verify=self.verify,
                                 timeout=httpx.Timeout(30.0, connect=CONNECT_TIMEOUT_S),
                                 limits=limits, follow_redirects=False)


def target_for_host(host: HostConfig, model: str) -> BenchTarget:
    """A configured host; raises ConfigError when its key or CA bundle cannot be read."""
    via = Via.LLAMA_SERVER if host.kind.value == "llama-server" else Via.LLAMA_SWAP
    return BenchTarget(host=host.name, url=host.url, model=model, via=via,
                       api_key=host.resolve_api_key(), verify=tls_verification(host))


def target_for_url(url: str, model: str | None) -> BenchTarget:
    """`--url`: straight to a llama-server (its one model answers whatever name we send)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"expected an http:// or https:// URL, got {url!r}")
    return BenchTarget(host=parts.netloc, url=url.rstrip("/"), model=model or "default",
                       via=Via.LLAMA_SERVER)
