"""What can go wrong when the pool installs, evicts or downloads — each error a sentence.

Every expected failure is a `PoolError`; `str(error)` is one line a person can act on
(what, which model or file, what to do). The CLI and the TUI print that line and never a
traceback. Subclasses carry the figures behind the sentence so a screen can lay them out.
"""

from __future__ import annotations

from pathlib import Path


def human_bytes(n: int | float) -> str:
    """Decimal units, as disks are sold: 1 GB = 10**9 bytes."""
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if abs(value) < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


class PoolError(Exception):
    """Base of every expected pool failure; the message is written for a person."""


class NotAllowed(PoolError):
    def __init__(self, model_id: str, what: str, value: str, allowed: tuple[str, ...]) -> None:
        self.model_id = model_id
        self.what = what
        self.value = value
        self.allowed = allowed
        super().__init__(
            f"{model_id}: {what} {value!r} is not in the pool's allow-list "
            f"({', '.join(allowed)}); add it with `swapdeck pool allow {value}`"
            if what == "org"
            else f"{model_id}: {what} {value!r} is not in the allowed {what}s "
            f"({', '.join(allowed)})"
        )


class BudgetExceeded(PoolError):
    """The model does not fit the disk budget even after evicting every evictable model."""

    def __init__(self, model_id: str, need_bytes: int, budget_bytes: int,
                 shortfall_bytes: int) -> None:
        self.model_id = model_id
        self.need_bytes = need_bytes
        self.budget_bytes = budget_bytes
        self.shortfall_bytes = shortfall_bytes
        super().__init__(
            f"{model_id} needs {human_bytes(need_bytes)} but the pool budget of "
            f"{human_bytes(budget_bytes)} is {human_bytes(shortfall_bytes)} short even after "
            "evicting every evictable model; nothing was deleted (raise it with "
            "`swapdeck pool budget GB`)"
        )


class DiskFull(PoolError):
    def __init__(self, path: Path, need_bytes: int, free_bytes: int) -> None:
        self.path = path
        self.need_bytes = need_bytes
        self.free_bytes = free_bytes
        super().__init__(
            f"not enough free disk at {path}: {human_bytes(need_bytes)} still to download, "
            f"{human_bytes(free_bytes)} free; nothing was downloaded"
        )


class HashMismatch(PoolError):
    def __init__(self, what: str, expected: str, actual: str) -> None:
        self.what = what
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"{what}: sha256 mismatch (expected {expected[:16]}…, got {actual[:16]}…); "
            "the downloaded bytes were deleted and nothing was installed"
        )


class DownloadFailed(PoolError):
    def __init__(self, url: str, reason: str, *, resumable: bool = False) -> None:
        self.url = url
        self.reason = reason
        self.resumable = resumable
        tail = "; the partial download is kept and resumes next time" if resumable else ""
        super().__init__(f"download of {url} failed: {reason}{tail}")


class DownloadInProgress(PoolError):
    def __init__(self, model_id: str) -> None:
        self.model_id = model_id
        super().__init__(
            f"{model_id} is already being downloaded from another source; wait for it or cancel it"
        )


class Cancelled(PoolError):
    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"{what}: cancelled; nothing was installed")


class ConfigInvalid(PoolError):
    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class InstallerUnavailable(PoolError):
    def __init__(self, installer: str, reason: str) -> None:
        self.installer = installer
        self.reason = reason
        super().__init__(f"{installer} installer unavailable: {reason}")


class ModelNotFound(PoolError):
    """The source has no such model (Ollama `file does not exist`, HTTP 404 for a GGUF)."""

    def __init__(self, model_id: str, source: str) -> None:
        self.model_id = model_id
        self.source = source
        super().__init__(f"{model_id}: not found at {source}")


class NotInPool(PoolError):
    def __init__(self, model_id: str) -> None:
        self.model_id = model_id
        super().__init__(f"{model_id} is not in the pool (see `swapdeck pool list`)")


class InstallFailed(PoolError):
    """The installer ran and reported failure (an in-stream Ollama error, a rejected rename)."""

    def __init__(self, model_id: str, reason: str) -> None:
        self.model_id = model_id
        self.reason = reason
        super().__init__(f"{model_id}: install failed: {reason}")


class PlanOutdated(PoolError):
    def __init__(self, model_id: str, reason: str) -> None:
        self.model_id = model_id
        self.reason = reason
        super().__init__(
            f"{model_id}: the pool changed since this plan was shown ({reason}); plan again"
        )


class SizeUnknown(PoolError):
    def __init__(self, model_id: str) -> None:
        self.model_id = model_id
        super().__init__(f"{model_id}: its download size is unknown, so the disk budget cannot "
                         "be checked; give the size (e.g. `--size BYTES`)")


class PoolStateInvalid(PoolError):
    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")
