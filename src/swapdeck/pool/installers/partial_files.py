"""Where unfinished downloads wait: `<models_dir>/.partial/<key>.part` + `<key>.json`.

The key is a hash of (url, expected sha256 or size), so the same download finds its bytes
again after a crash or a restart, and a changed catalog entry (new hash) never resumes
onto stale bytes. The JSON sidecar says what the bytes are; a `.part` without a readable
sidecar is unidentifiable and is cleaned on recovery.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from swapdeck.pool.errors import DownloadInProgress
from swapdeck.pool.state import write_file_atomically

PARTIAL_DIR = ".partial"
SIDECAR_VERSION = 1


@dataclass(frozen=True, slots=True)
class DownloadRequest:
    model_id: str
    url: str
    dest: Path
    size_bytes: int | None = None
    sha256: str | None = None

    @property
    def partial_key(self) -> str:
        """Stable across restarts; changes when the expected content changes."""
        expected = self.sha256 or (str(self.size_bytes) if self.size_bytes is not None else "?")
        return hashlib.sha256(f"{self.url}\n{expected}".encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class OrphanPartial:
    """A partial download no running downloader owns (left by a crash or a pause)."""

    key: str
    part_path: Path
    bytes_on_disk: int
    request: DownloadRequest


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    resumable: tuple[OrphanPartial, ...]
    cleaned: tuple[Path, ...]
    """Files deleted because nothing could say what they were."""


class PartialStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def part_path(self, request: DownloadRequest) -> Path:
        return self.directory / f"{request.partial_key}.part"

    def sidecar_path(self, request: DownloadRequest) -> Path:
        return self.directory / f"{request.partial_key}.json"

    def lock(self, request: DownloadRequest) -> int:
        """Hold the partial file exclusively (flock) for one download, across processes;
        returns the descriptor to close when done. A second holder gets
        `DownloadInProgress`."""
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.part_path(request), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DownloadInProgress(request.model_id) from None
        return fd

    def kept_bytes(self, request: DownloadRequest) -> int:
        """How many bytes of `request` are kept and identified by their sidecar (0 if none)."""
        part = self.part_path(request)
        if read_sidecar(self.sidecar_path(request)) != request or not part.exists():
            return 0
        return part.stat().st_size

    def claim(self, request: DownloadRequest) -> int:
        """Reuse the identified bytes of `request` (after `lock`); returns how many are
        kept. Bytes the sidecar does not vouch for are dropped."""
        kept = self.kept_bytes(request)
        if request.size_bytes is not None and kept > request.size_bytes:
            kept = 0
        if kept == 0:
            os.truncate(self.part_path(request), 0)  # same inode: a held lock stays held
        data = {"version": SIDECAR_VERSION, "model_id": request.model_id, "url": request.url,
                "dest": str(request.dest), "size_bytes": request.size_bytes,
                "sha256": request.sha256}
        write_file_atomically(self.sidecar_path(request),
                              (json.dumps(data, indent=2) + "\n").encode())
        return kept

    def discard(self, request: DownloadRequest) -> int:
        """Delete the partial bytes and sidecar of `request`; returns the bytes freed."""
        part = self.part_path(request)
        freed = part.stat().st_size if part.exists() else 0
        part.unlink(missing_ok=True)
        self.sidecar_path(request).unlink(missing_ok=True)
        return freed

    def finish(self, request: DownloadRequest) -> None:
        """The bytes were moved into place: the sidecar has nothing left to describe."""
        self.sidecar_path(request).unlink(missing_ok=True)

    def orphans(self, active_keys: frozenset[str] = frozenset()) -> list[OrphanPartial]:
        found = []
        for sidecar in sorted(self.directory.glob("*.json")):
            request = read_sidecar(sidecar)
            part = sidecar.with_suffix(".part")
            if (request is None or not part.exists() or request.partial_key != sidecar.stem
                    or sidecar.stem in active_keys or _in_use(part)):
                continue
            found.append(OrphanPartial(sidecar.stem, part, part.stat().st_size, request))
        return found

    def recover(self, active_keys: frozenset[str] = frozenset()) -> RecoveryReport:
        """On start: keep what can resume, delete what nothing can identify."""
        resumable = self.orphans(active_keys)
        keep = {o.key for o in resumable} | active_keys
        cleaned = []
        if self.directory.is_dir():
            for path in sorted(self.directory.iterdir()):
                if path.is_file() and path.stem not in keep:
                    if _in_use(path.with_suffix(".part")):
                        continue  # another process is downloading it right now
                    path.unlink(missing_ok=True)
                    cleaned.append(path)
        return RecoveryReport(tuple(resumable), tuple(cleaned))


def _in_use(part: Path) -> bool:
    """Whether a running download (any process) holds `part`'s lock."""
    try:
        fd = os.open(part, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def read_sidecar(path: Path) -> DownloadRequest | None:
    try:
        data = json.loads(path.read_bytes())
        if data.get("version") != SIDECAR_VERSION:
            return None
        size = data["size_bytes"]
        sha = data["sha256"]
        return DownloadRequest(model_id=str(data["model_id"]), url=str(data["url"]),
                               dest=Path(data["dest"]),
                               size_bytes=int(size) if size is not None else None,
                               sha256=str(sha) if sha is not None else None)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
