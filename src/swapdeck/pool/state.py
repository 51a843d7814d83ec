"""The pool: which models this box holds, how big, how good, when last used — and `pool.json`.

The values and the functions that change them are pure (they take `at`/`now`, return a new
state). Only `load_pool`, `save_pool`, `pool_lock` and `write_file_atomically` touch the
disk: a write goes to a temp file in the same directory, is fsynced and renamed over the
old file, and the directory is fsynced, so a crash leaves either the old or the new file.

`pool.json` carries a `version`; `MIGRATIONS` steps older shapes forward one version at a
time. Version 0 is the unversioned pool state of the HE local-models package (ranking-facts
§5: camelCase keys, sizes in GiB, ISO times), so an existing HE pool can be adopted.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from swapdeck.pool.errors import NotAllowed, PoolStateInvalid
from swapdeck.pool.settings import PoolSettings

POOL_VERSION = 1
GB = 1_000_000_000
"""The budget's unit: decimal gigabytes, as disks are sold and as `df -H` shows them."""

InstallerKind = Literal["llama-swap", "ollama"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PoolEntry(_Frozen):
    id: str
    """The model's id in the pool: the catalog id, which is also the llama-swap model id,
    or the Ollama tag for Ollama installs."""
    installer: InstallerKind
    size_bytes: Annotated[int, Field(ge=0)]
    score: float = 0.0
    installed_at: float
    last_used_at: float | None = None
    org: str = ""
    family: str = ""
    quant: str = ""
    repo: str = ""
    file: str = ""
    path: str | None = None
    """Where the GGUF lies (llama-swap installs); None for Ollama, which keeps its own blobs."""
    sha256: str | None = None
    verified: bool = False
    """True only when the bytes were hashed and matched a known sha256."""


class PoolState(_Frozen):
    version: int = POOL_VERSION
    disk_budget_bytes: Annotated[int, Field(ge=0)] | None = None
    """Set by `swapdeck pool budget`; None = the config's `[pool] disk_budget_gb`."""
    allowed_orgs: tuple[str, ...] = ()
    """Added by `swapdeck pool allow`, on top of the config's `[pool] allowed_orgs`."""
    allowed_families: tuple[str, ...] = ()
    entries: tuple[PoolEntry, ...] = ()

    @property
    def used_bytes(self) -> int:
        return sum(entry.size_bytes for entry in self.entries)

    def find(self, model_id: str) -> PoolEntry | None:
        return next((entry for entry in self.entries if entry.id == model_id), None)


# --------------------------------------------------------------------------- pure changes


def with_entry(state: PoolState, entry: PoolEntry) -> PoolState:
    """Add `entry`, replacing any entry with the same id; entries stay sorted by id."""
    kept = [e for e in state.entries if e.id != entry.id]
    return state.model_copy(update={"entries": tuple(sorted([*kept, entry], key=_by_id))})


def without_entries(state: PoolState, model_ids: set[str] | frozenset[str]) -> PoolState:
    kept = tuple(e for e in state.entries if e.id not in model_ids)
    return state.model_copy(update={"entries": kept})


def record_use(state: PoolState, model_id: str, at: float) -> PoolState:
    """Feed from the fleet's activity: the model served a request at `at`.

    Unknown ids (models not installed through the pool) are ignored, and an older `at`
    never moves last-use backwards, so replaying history is harmless.
    """
    entry = state.find(model_id)
    if entry is None or (entry.last_used_at is not None and entry.last_used_at >= at):
        return state
    return with_entry(state, entry.model_copy(update={"last_used_at": at}))


def record_uses(state: PoolState, uses: Mapping[str, float]) -> PoolState:
    """`record_use` for a batch (model id → latest use), as the fleet's activity feeds it."""
    for model_id, at in sorted(uses.items()):
        state = record_use(state, model_id, at)
    return state


def with_budget(state: PoolState, budget_bytes: int) -> PoolState:
    return state.model_copy(update={"disk_budget_bytes": max(0, budget_bytes)})


def with_allowed_org(state: PoolState, org: str) -> PoolState:
    if org in state.allowed_orgs:
        return state
    return state.model_copy(update={"allowed_orgs": tuple(sorted([*state.allowed_orgs, org]))})


def _by_id(entry: PoolEntry) -> str:
    return entry.id


# --------------------------------------------------------------------------- policy


class PoolPolicy(_Frozen):
    """What the box may hold: the config's `[pool]` settings overlaid with pool.json's."""

    budget_bytes: int
    allowed_orgs: tuple[str, ...]
    allowed_families: tuple[str, ...]


def effective_policy(settings: PoolSettings, state: PoolState) -> PoolPolicy:
    budget = state.disk_budget_bytes
    if budget is None:
        budget = round(settings.disk_budget_gb * GB)
    return PoolPolicy(
        budget_bytes=budget,
        allowed_orgs=tuple(sorted({*settings.allowed_orgs, *state.allowed_orgs})),
        allowed_families=tuple(sorted({*settings.allowed_families, *state.allowed_families})),
    )


def check_allowed(policy: PoolPolicy, model_id: str, org: str, family: str) -> None:
    """Raise `NotAllowed` unless org and family pass; an empty list allows any (PoolSettings)."""
    if policy.allowed_orgs and org.casefold() not in {o.casefold() for o in policy.allowed_orgs}:
        raise NotAllowed(model_id, "org", org, policy.allowed_orgs)
    families = {f.casefold() for f in policy.allowed_families}
    if families and family.casefold() not in families:
        raise NotAllowed(model_id, "family", family, policy.allowed_families)


# --------------------------------------------------------------------------- migrations


def _from_he_local_models(data: dict[str, Any]) -> dict[str, Any]:
    """Version 0 → 1: HE's unversioned pool state (ranking-facts §5).

    HE measures sizes in GiB (its estimates divide by 2**30) and keeps Ollama tags; its
    times are ISO-8601 strings.
    """
    def seconds(value: Any) -> float | None:
        if value is None:
            return None
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()

    entries = []
    for raw in data.get("entries", []):
        repo = str(raw.get("hfRepoId") or "")
        entries.append({
            "id": raw["ollamaName"],
            "installer": "ollama",
            "size_bytes": round(float(raw.get("sizeOnDiskGb", 0)) * 2**30),
            "score": float(raw.get("currentScore") or 0.0),
            "installed_at": seconds(raw.get("installedAt")) or 0.0,
            "last_used_at": seconds(raw.get("lastUsedAt")),
            "org": repo.split("/", 1)[0] if "/" in repo else "",
            "repo": repo,
        })
    budget_gb = data.get("diskBudgetGb")
    return {
        "version": 1,
        "disk_budget_bytes": None if budget_gb is None else round(float(budget_gb) * 2**30),
        "allowed_orgs": list(data.get("allowedOrgs", [])),
        "allowed_families": list(data.get("allowedFamilies", [])),
        "entries": entries,
    }


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: _from_he_local_models}
"""`MIGRATIONS[n]` turns a version-n document into a version-(n+1) one."""


def migrate(data: dict[str, Any], path: Path) -> dict[str, Any]:
    version = data.get("version", 0)
    if not isinstance(version, int) or version < 0:
        raise PoolStateInvalid(path, f"expected an integer `version`, got {version!r}")
    if version > POOL_VERSION:
        raise PoolStateInvalid(
            path, f"written by a newer swapdeck (pool version {version}, this one reads "
            f"up to {POOL_VERSION}); upgrade swapdeck rather than lose entries")
    while version < POOL_VERSION:
        try:
            data = MIGRATIONS[version](data)
        except (KeyError, TypeError, ValueError) as exc:
            raise PoolStateInvalid(path, f"cannot migrate pool version {version}: {exc}") from None
        version = data["version"]
    return data


# --------------------------------------------------------------------------- disk


def load_pool(path: Path) -> PoolState:
    """The pool saved at `path`; an empty pool when there is no file yet."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return PoolState()
    except OSError as exc:
        raise PoolStateInvalid(path, f"cannot read the pool file ({exc.strerror})") from None
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PoolStateInvalid(path, f"expected JSON ({exc}); the last good copy is "
                               f"{path.name}.bak if it exists") from None
    if not isinstance(data, dict):
        raise PoolStateInvalid(path, "expected a JSON object")
    data = migrate(data, path)
    try:
        return PoolState.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise PoolStateInvalid(path, f"{where}: {error['msg']}") from None


def save_pool(path: Path, state: PoolState) -> None:
    """Write atomically, keeping the previous good file as `pool.json.bak`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        write_file_atomically(path.with_name(path.name + ".bak"), path.read_bytes())
    text = json.dumps(state.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"
    write_file_atomically(path, text.encode("utf-8"))


@contextlib.contextmanager
def pool_lock(path: Path) -> Iterator[None]:
    """Serialise read-modify-write of `path` between processes (the CLI and the TUI)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def write_file_atomically(path: Path, data: bytes) -> None:
    """Temp file in the same directory + fsync + rename + directory fsync.

    The temp file inherits the old file's permission bits, so a config the user made
    private stays private.
    """
    directory = path.parent
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_directory(directory)


def fsync_directory(directory: Path) -> None:
    """Make a rename durable: the directory entry itself must reach the disk."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
