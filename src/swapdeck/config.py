"""swapdeck's TOML configuration: where it is found, what it may hold, how it fails.

A bad config never produces a traceback: `load_config` raises `ConfigError`, whose message
names the file, the key and what was expected, e.g.

    ~/.config/swapdeck/config.toml: hosts[1].url: expected an http:// or https:// URL, got 'gpu:80'
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from swapdeck.collector.settings import CollectorSettings
from swapdeck.gate.settings import GateSettings
from swapdeck.pool.settings import PoolSettings

CONFIG_ENV = "SWAPDECK_CONFIG"


class ConfigError(Exception):
    """A configuration problem a person can fix: file, key, expectation."""

    def __init__(self, path: Path | str, key: str, expected: str) -> None:
        self.path = str(path)
        self.key = key
        self.expected = expected
        where = f"{self.path}: {key}" if key else self.path
        super().__init__(f"{where}: {expected}")


class HostKind(StrEnum):
    LLAMA_SWAP = "llama-swap"
    LLAMA_SERVER = "llama-server"  # reserved: a bare llama-server
    OLLAMA = "ollama"  # reserved: an Ollama daemon


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HostConfig(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    url: str
    kind: HostKind = HostKind.LLAMA_SWAP
    api_key: str | None = Field(default=None, repr=False)
    api_key_env: str | None = None
    api_key_file: Path | None = None
    verify_tls: StrictBool = True
    ca_bundle: Path | None = None
    tags: tuple[str, ...] = ()
    control: StrictBool = False
    """Actions (warm, unload) are off unless the host's config turns them on."""
    local: StrictBool | None = None
    """The host runs on this machine, so NVML/psutil readings belong beside its own;
    None = decide from the URL (loopback or this machine's name)."""
    health_interval_s: Annotated[float, Field(gt=0)] = 10.0
    perf_interval_s: Annotated[float, Field(ge=5)] = 5.0  # llama-swap samples every >=5 s (§1.9)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _one_key_source(self) -> HostConfig:
        given = [k for k in ("api_key", "api_key_env", "api_key_file") if getattr(self, k)]
        if len(given) > 1:
            raise ValueError(
                f"expected at most one of api_key, api_key_env, api_key_file; got {given}")
        return self

    def resolve_api_key(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The key to send as Bearer, read from wherever the config points; never logged."""
        env = os.environ if environ is None else environ
        if self.api_key:
            return self.api_key
        if self.api_key_env:
            value = env.get(self.api_key_env)
            if not value:
                raise ConfigError("", f"hosts.{self.name}.api_key_env",
                                  f"expected environment variable {self.api_key_env} to be set")
            return value
        if self.api_key_file:
            path = self.api_key_file.expanduser()
            try:
                value = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(path, f"hosts.{self.name}.api_key_file",
                                  f"expected a readable key file ({exc.strerror})") from None
            if not value:
                raise ConfigError(path, f"hosts.{self.name}.api_key_file",
                                  "expected a non-empty key file")
            return value
        return None


class HistoryConfig(_Strict):
    activity_retention_days: Annotated[float, Field(gt=0)] = 90
    raw_perf_retention_hours: Annotated[float, Field(gt=0)] = 48
    capture_row_cap_kb: Annotated[int, Field(gt=0)] = 256
    capture_total_cap_mb: Annotated[int, Field(gt=0)] = 50


class Config(_Strict):
    hosts: tuple[HostConfig, ...] = ()
    data_dir: Path | None = None
    theme: str = "swapdeck-dark"
    history: HistoryConfig = HistoryConfig()
    pool: PoolSettings = PoolSettings()
    collector: CollectorSettings = CollectorSettings()
    gate: GateSettings = GateSettings()
    source: Path | None = Field(default=None, exclude=True)
    """The file this came from; None for a config built in code (the demo)."""

    @field_validator("hosts")
    @classmethod
    def _unique_names(cls, hosts: tuple[HostConfig, ...]) -> tuple[HostConfig, ...]:
        seen: set[str] = set()
        for host in hosts:
            if host.name in seen:
                raise ValueError(f"expected unique host names, {host.name!r} appears twice")
            seen.add(host.name)
        return hosts

    def resolved_data_dir(self) -> Path:
        return (self.data_dir or default_data_dir()).expanduser()

    @property
    def database_path(self) -> Path:
        return self.resolved_data_dir() / "history.sqlite"

    def host(self, name: str) -> HostConfig:
        for host in self.hosts:
            if host.name == name:
                return host
        raise KeyError(name)


def default_config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "swapdeck"


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "swapdeck"


def find_config(explicit: Path | None = None) -> Path | None:
    """`--config`, then `$SWAPDECK_CONFIG`, then the XDG config dir; None when there is none."""
    if explicit is not None:
        return explicit
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    candidate = default_config_dir() / "config.toml"
    return candidate if candidate.exists() else None


def read_toml(path: Path, what: str = "TOML file") -> dict[str, Any]:
    """A TOML file's table, or a `ConfigError` saying what was wrong with the file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(path, "", f"expected a readable {what} ({exc.strerror})") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(path, "", "expected UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "", f"expected valid TOML ({exc})") from None


def load_config(path: Path) -> Config:
    return parse_config(read_toml(path), path)


def parse_config(data: Mapping[str, Any], path: Path | str = "<config>") -> Config:
    try:
        config = Config.model_validate({**data, "source": path if isinstance(path, Path) else None})
    except ValidationError as exc:
        raise config_error(exc, path, "sample-configs/swapdeck.toml") from None
    return config


def config_error(exc: ValidationError, path: Path | str, example: str) -> ConfigError:
    """The first validation error as file, dotted key and expectation; `example` is the
    sample file to check spellings against."""
    error = exc.errors()[0]
    return ConfigError(path, _dotted(error["loc"]), _expectation(error, example))


def _dotted(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item.startswith(("function-", "value_error")):
            continue
        else:
            parts.append(("." if parts else "") + item)
    return "".join(parts)


def _expectation(error: Mapping[str, Any], example: str) -> str:
    kind = error["type"]
    message = str(error["msg"])
    if kind == "extra_forbidden":
        return f"unknown key (check the spelling against {example})"
    if kind == "missing":
        return "expected this key to be set"
    if message.startswith("Value error, "):
        return message.removeprefix("Value error, ")
    got = error.get("input")
    suffix = f", got {got!r}" if got is not None and not isinstance(got, dict | list) else ""
    message = message.removeprefix("Input should be ").removeprefix("input should be ")
    return f"expected {message[0].lower()}{message[1:]}{suffix}"
