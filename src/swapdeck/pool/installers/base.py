"""One interface for every way a model reaches a box, and the values it speaks in.

An installer can `plan` (say what it would do, touching nothing), `install` (do it,
yielding `Progress`), `remove` and list what is `installed`. `TransferControl` lets the
screen pause, resume or cancel an install in any phase: download, verify or install.

`InstallTarget` is the pool's view of a catalog entry: only the fields the installers need.
The ranking half of `swapdeck.pool` owns the catalog; `CatalogEntryLike` is the structural
type its entries must satisfy for `target_from_catalog`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Protocol, runtime_checkable

from swapdeck.pool.errors import Cancelled
from swapdeck.pool.state import InstallerKind, PoolEntry

HF_ENDPOINT = "https://huggingface.co"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class Phase(StrEnum):
    EVICT = "evict"
    DOWNLOAD = "download"
    VERIFY = "verify"
    INSTALL = "install"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class Progress:
    """One step of an install, for the screen: what phase, how far, how fast, how long left."""

    model_id: str
    phase: Phase
    done_bytes: int
    total_bytes: int | None
    rate_bps: float | None = None
    eta_s: float | None = None
    verified: bool | None = None
    """None until known; False = no sha256 is known for these bytes ("unverified");
    True = hashed and matched."""
    paused: bool = False
    message: str = ""

    @property
    def fraction(self) -> float | None:
        if not self.total_bytes:
            return None
        return min(1.0, self.done_bytes / self.total_bytes)


@runtime_checkable
class CatalogEntryLike(Protocol):
    """The fields of a catalog entry the installers use (the catalog type lives elsewhere)."""

    @property
    def id(self) -> str: ...
    @property
    def repo(self) -> str: ...
    @property
    def file(self) -> str: ...
    @property
    def size_bytes(self) -> int | None: ...
    @property
    def sha256(self) -> str | None: ...
    @property
    def org(self) -> str: ...
    @property
    def family(self) -> str: ...
    @property
    def quant(self) -> str: ...


@dataclass(frozen=True, slots=True)
class InstallTarget:
    """What to install: a GGUF on Hugging Face (or any URL), or an Ollama tag."""

    id: str
    org: str
    family: str = ""
    quant: str = ""
    repo: str = ""
    file: str = ""
    size_bytes: int | None = None
    size_exact: bool = True
    """False when `size_bytes` is an estimate: good for the budget, not for checking the
    download against."""
    sha256: str | None = None
    url: str | None = None
    """A direct download URL; None = the Hub's resolve URL for `repo`/`file`."""
    ollama_name: str | None = None
    name: str = ""
    """Human name written as the llama-swap entry's `name`; empty = the id."""
    score: float = 0.0
    """The ranking's score for this box, recorded in the pool for eviction order."""

    def download_url(self, endpoint: str = HF_ENDPOINT) -> str:
        if self.url:
            return self.url
        if not self.repo or not self.file:
            raise ValueError(f"{self.id}: no URL and no repo/file to download from")
        return f"{endpoint.rstrip('/')}/{self.repo}/resolve/main/{self.file}"

    @property
    def file_name(self) -> str:
        """The GGUF's name on disk: the last path part of `file`, or of the URL."""
        source = self.file or (self.url or "").split("?", 1)[0]
        name = PurePosixPath(source).name
        if not name or name in {".", ".."}:
            raise ValueError(f"{self.id}: cannot tell a file name from {source!r}")
        return name

    def engine_id(self, kind: InstallerKind) -> str:
        """The id the engine will know the model by, and so the pool entry's id."""
        if kind == "ollama":
            return self.ollama_name or self.id
        return self.id


def target_from_catalog(entry: CatalogEntryLike, *, score: float = 0.0,
                        ollama_name: str | None = None) -> InstallTarget:
    """The catalog says "unknown" for a sha256 it does not have, and `size_exact=False`
    for a rounded or estimated size; both become what the downloader must not check."""
    sha = entry.sha256 if entry.sha256 and _SHA256.match(entry.sha256.lower()) else None
    return InstallTarget(
        id=entry.id, org=entry.org, family=entry.family, quant=entry.quant, repo=entry.repo,
        file=entry.file, size_bytes=entry.size_bytes,
        size_exact=bool(getattr(entry, "size_exact", True)), sha256=sha,
        ollama_name=ollama_name, name=str(getattr(entry, "name", "") or ""), score=score,
    )


@dataclass(frozen=True, slots=True)
class InstalledModel:
    """Something an engine really has (a GGUF on disk, an Ollama tag)."""

    id: str
    size_bytes: int
    path: str | None = None
    digest: str | None = None
    family: str = ""
    quant: str = ""


@dataclass(frozen=True, slots=True)
class InstallerPlan:
    """The installer's part of the confirmation modal; nothing here has happened yet."""

    kind: str
    source: str
    """Where the bytes come from: a URL or an Ollama tag."""
    destination: str
    """Where they go: a path, or `ollama`."""
    sha256: str | None = None
    config_path: str | None = None
    config_diff: str = ""
    """Unified diff of the llama-swap config edit; empty when the config is not touched."""
    commands: tuple[str, ...] = ()
    """Shell commands (advisory installer): what a person would run instead."""
    notes: tuple[str, ...] = ()
    blocker: str = ""
    """Why this install must not start, found while planning (a foreign file where the
    download would land); the manager refuses it unless a pool entry owns the spot."""


class TransferControl:
    """Pause / resume / cancel shared between the screen and a running install."""

    def __init__(self) -> None:
        self._running = asyncio.Event()
        self._running.set()
        self._cancelled = False
        self._followers: list[TransferControl] = []

    def forward_to(self, other: TransferControl) -> None:
        """Also steer `other` (a transfer this install joined), now and from now on."""
        if other is self:
            return
        self._followers.append(other)
        if self._cancelled:
            other.cancel()
        elif self.paused:
            other.pause()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def pause(self) -> None:
        if not self._cancelled:
            self._running.clear()
        for other in self._followers:
            other.pause()

    def resume(self) -> None:
        self._running.set()
        for other in self._followers:
            other.resume()

    def cancel(self) -> None:
        self._cancelled = True
        self._running.set()  # wake a paused waiter so it sees the cancel
        for other in self._followers:
            other.cancel()

    def raise_if_cancelled(self, what: str) -> None:
        if self._cancelled:
            raise Cancelled(what)

    async def wait_while_paused(self, what: str) -> None:
        """Return once resumed; raise `Cancelled` if cancelled before or while paused."""
        self.raise_if_cancelled(what)
        await self._running.wait()
        self.raise_if_cancelled(what)

    async def checkpoint(self, what: str) -> None:
        """A safe point between steps: honour a pending pause or cancel."""
        if self.paused:
            await self.wait_while_paused(what)
        self.raise_if_cancelled(what)


class Installer(Protocol):
    """What the pool manager drives; one implementation per engine kind."""

    @property
    def kind(self) -> str: ...

    async def plan(self, target: InstallTarget,
                   evicting: tuple[PoolEntry, ...] = ()) -> InstallerPlan:
        """Describe installing `target` after removing `evicting`; changes nothing."""
        ...

    def install(self, target: InstallTarget,
                control: TransferControl | None = None) -> AsyncIterator[Progress]:
        """Install, yielding progress; the last event has phase DONE. Raises `PoolError`."""
        ...

    async def plan_removal(self, entries: tuple[PoolEntry, ...]) -> InstallerPlan:
        """Describe removing `entries`; changes nothing."""
        ...

    async def installed_entry(self, target: InstallTarget) -> InstalledModel:
        """After `install`: what is now on the box for `target` (its real size)."""
        ...

    async def remove(self, entry: PoolEntry) -> None:
        """Delete the model; one already gone is not an error."""
        ...

    async def discard(self, target: InstallTarget) -> int:
        """After a failed install: delete leftover bytes; returns how many were freed."""
        ...

    async def installed(self) -> list[InstalledModel]:
        """What the engine really holds (files on disk, Ollama tags)."""
        ...
