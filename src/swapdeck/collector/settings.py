"""The `[collector]` section of swapdeck's config: where the metrics endpoint listens, who
may read it, and how labels stay bounded.

    [collector]
    bind = "127.0.0.1"          # loopback by default: metrics name your hosts and models
    port = 9479
    bearer_token_env = "SWAPDECK_METRICS_TOKEN"
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_PORT = 9479
"""Unassigned in Prometheus' default-port allocations list (near node-exporter's 9100s)."""


class CollectorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    bind: Annotated[str, Field(min_length=1)] = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = DEFAULT_PORT
    """0 picks a free port (tests); the collector logs the address it got."""
    bearer_token: str | None = Field(default=None, repr=False)
    bearer_token_env: str | None = None
    bearer_token_file: Path | None = None
    max_models_per_host: Annotated[int, Field(ge=1, le=1000)] = 64
    """Model ids a host lists get their own label up to this many; the rest are `other`."""
    writer_interval_s: Annotated[float, Field(gt=0, le=60)] = 0.5
    """How often buffered events are written; a SIGKILL loses at most this much."""
    attach_poll_s: Annotated[float, Field(gt=0, le=60)] = 1.0
    """How often an attached TUI looks for new rows in the collector's database."""

    @model_validator(mode="after")
    def _one_token_source(self) -> CollectorSettings:
        given = [k for k in ("bearer_token", "bearer_token_env", "bearer_token_file")
                 if getattr(self, k)]
        if len(given) > 1:
            raise ValueError("expected at most one of bearer_token, bearer_token_env, "
                             f"bearer_token_file; got {given}")
        return self

    def resolve_bearer_token(self, environ: Mapping[str, str] | None = None, *,
                             source: Path | str = "<config>") -> str | None:
        """The token scrapers must send, or None when the endpoint is open; never logged.

        Raises `ConfigError` (imported here: `swapdeck.config` imports this module).
        """
        from swapdeck.config import ConfigError

        env = os.environ if environ is None else environ
        if self.bearer_token:
            return self.bearer_token
        if self.bearer_token_env:
            value = env.get(self.bearer_token_env)
            if not value:
                raise ConfigError(source, "collector.bearer_token_env",
                                  f"expected environment variable {self.bearer_token_env} "
                                  "to be set")
            return value
        if self.bearer_token_file:
            path = self.bearer_token_file.expanduser()
            try:
                value = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(path, "collector.bearer_token_file",
                                  f"expected a readable token file ({exc.strerror})") from None
            if not value:
                raise ConfigError(path, "collector.bearer_token_file",
                                  "expected a non-empty token file")
            return value
        return None
