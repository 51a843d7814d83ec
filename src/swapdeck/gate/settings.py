"""The `[gate]` section of swapdeck's config: where the engine pin is and which release feed
`swapdeck engine outdated` reads.

    [gate]
    lock = "~/fleet/engine.lock"     # default: engine.lock next to the config file
    release_feed = "https://api.github.com/repos/ggml-org/llama.cpp/releases"
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, field_validator

if TYPE_CHECKING:
    from swapdeck.config import Config
    from swapdeck.gate.lock import EngineLock

# swapdeck.config imports this module: everything that imports swapdeck.config back (the
# lock reader) is imported inside the functions below.
LOCK_FILE_NAME = "engine.lock"
GITHUB_RELEASES = "https://api.github.com/repos/ggml-org/llama.cpp/releases"


class GateSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    lock: Path | None = None
    """The pin; relative paths are relative to the config file's folder."""
    release_feed: str = GITHUB_RELEASES
    """A GitHub-releases-shaped JSON endpoint (newest first, `Link: rel="next"` pages)."""

    @field_validator("release_feed")
    @classmethod
    def _feed(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
        return value


def config_folder(config: Config) -> Path:
    from swapdeck.config import default_config_dir

    return config.source.parent if config.source is not None else default_config_dir()


def lock_path(config: Config) -> Path:
    """`[gate] lock`, else `engine.lock` in the config's folder (it may not exist)."""
    folder = config_folder(config)
    if config.gate.lock is not None:
        path = config.gate.lock.expanduser()
        return path if path.is_absolute() else folder / path
    return folder / LOCK_FILE_NAME


def pinned_lock(config: Config) -> EngineLock | None:
    """The pin the config points at; None when there is no lock file or it cannot be read
    (the Fleet view then simply shows no flag — `swapdeck gate` reports the error)."""
    from swapdeck.config import ConfigError
    from swapdeck.gate.lock import read_lock

    path = lock_path(config)
    if not path.is_file():
        return None
    try:
        return read_lock(path)
    except ConfigError:
        return None


def pinned_build_name(lock: EngineLock | None) -> str | None:
    """The name fleet hosts are compared with: the release tag (`b6497`, what a host's log
    says), else the reported build id."""
    if lock is None:
        return None
    return lock.release or lock.build
