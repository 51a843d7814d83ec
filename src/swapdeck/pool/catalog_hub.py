"""Hugging Face Hub metadata for the catalog: exact sizes and LFS sha256, cached on disk.

`HfApi().model_info(repo, files_metadata=True)` lists each file with its LFS `sha256` and
`size` — the digest the download must match. Answers are cached per repository as JSON under
`<cache_dir>/hub/` for 24 h. With `offline` (`PoolSettings.hub_offline`) the Hub is never
asked: the cache (however old) and then the shipped catalog are used. A Hub that cannot be
reached, or a repository or file it does not have, becomes a warning — never an exception —
and the shipped entry stays as it was.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from swapdeck.pool.catalog import Catalog, CatalogEntry

HUB_CACHE_MAX_AGE_S = 24 * 3600.0

RepoFiles = dict[str, tuple[int | None, str | None]]
"""file name → (size in bytes, LFS sha256)"""
FetchRepo = Callable[[str], RepoFiles]


@dataclass(frozen=True, slots=True)
class RefreshResult:
    catalog: Catalog
    warnings: tuple[str, ...]
    updated: tuple[str, ...]
    """Ids of entries whose size or sha256 now come from the Hub."""


def hub_fetcher(endpoint: str | None = None, *, timeout_s: float = 10.0) -> FetchRepo:
    """Ask the Hub (or `endpoint`, e.g. a mirror or a test server) through huggingface_hub."""

    def fetch(repo: str) -> RepoFiles:
        from huggingface_hub import HfApi

        api = HfApi(endpoint=endpoint or os.environ.get("HF_ENDPOINT") or None)
        info = api.model_info(repo, files_metadata=True, timeout=timeout_s)
        files: RepoFiles = {}
        for sibling in info.siblings or []:
            lfs = sibling.lfs
            size = lfs.size if lfs is not None else sibling.size
            files[sibling.rfilename] = (size, lfs.sha256 if lfs is not None else None)
        return files

    return fetch


def refresh_catalog(
    catalog: Catalog,
    *,
    cache_dir: Path,
    now: float,
    offline: bool = False,
    fetch: FetchRepo | None = None,
    max_age_s: float = HUB_CACHE_MAX_AGE_S,
) -> RefreshResult:
    """The catalog with Hub-verified sizes and digests wherever the Hub (or its cache) has them."""
    fetch = fetch or hub_fetcher()
    warnings: list[str] = []
    updated: list[str] = []
    per_repo: dict[str, RepoFiles | None] = {}
    entries = []
    for entry in catalog.entries:
        if entry.repo not in per_repo:
            per_repo[entry.repo] = _repo_files(entry.repo, cache_dir, now, offline, fetch,
                                               max_age_s, warnings)
        files = per_repo[entry.repo]
        if files is None:
            entries.append(entry)
            continue
        merged, problem = merge_hub_file(entry, files, now)
        if problem:
            warnings.append(problem)
        if merged != entry:
            updated.append(entry.id)
        entries.append(merged)
    return RefreshResult(replace(catalog, entries=tuple(entries)), tuple(warnings),
                         tuple(updated))


def merge_hub_file(entry: CatalogEntry, files: Mapping[str, tuple[int | None, str | None]],
                   now: float) -> tuple[CatalogEntry, str | None]:
    """Pure: the entry with the Hub's size and sha256 for its file, plus a warning if any."""
    if entry.file not in files:
        return entry, f"{entry.repo}: the Hub lists no file {entry.file!r} (catalog entry " \
                      f"{entry.id}); keeping the shipped metadata"
    size, sha = files[entry.file]
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")
    result, problem = entry, None
    if size is not None and size > 0:
        result = replace(result, size_bytes=size, size_exact=True,
                         size_source=f"exact: Hugging Face Hub LFS metadata ({stamp})")
    if sha:
        sha = sha.lower()
        if entry.sha256_known and entry.sha256 != sha:
            problem = (f"{entry.repo}/{entry.file}: the Hub's sha256 {sha[:12]}… differs from "
                       f"the shipped {entry.sha256[:12]}… — the file changed upstream; the "
                       "Hub's digest is what a download will be checked against")
        result = replace(result, sha256=sha,
                         sha256_source=f"Hugging Face Hub LFS metadata ({stamp})")
    return result, problem


def _repo_files(repo: str, cache_dir: Path, now: float, offline: bool, fetch: FetchRepo,
                max_age_s: float, warnings: list[str]) -> RepoFiles | None:
    path = cache_dir / "hub" / (repo.replace("/", "--") + ".json")
    cached, fetched_at = _read_cache(path)
    if cached is not None and (offline or 0 <= now - fetched_at < max_age_s):
        return cached
    if offline:
        return None  # shipped metadata only, by the user's choice: not a warning
    try:
        files = fetch(repo)
    except Exception as exc:  # HTTP errors, timeouts, repo not found: all become warnings
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        where = "cached" if cached is not None else "shipped"
        warnings.append(f"{repo}: Hub metadata unavailable ({first_line}); using the {where} "
                        "metadata")
        return cached
    _write_cache(path, files, now, warnings)
    return files


def _read_cache(path: Path) -> tuple[RepoFiles | None, float]:
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        files = {
            str(name): (meta.get("size"), meta.get("sha256"))
            for name, meta in data["files"].items()
        }
        return files, float(data["fetched_at"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None, 0.0


def _write_cache(path: Path, files: RepoFiles, now: float, warnings: list[str]) -> None:
    payload = {"fetched_at": now,
               "files": {name: {"size": size, "sha256": sha}
                         for name, (size, sha) in sorted(files.items())}}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_suffix(f".{os.getpid()}.tmp")
        temp.write_text(json.dumps(payload, indent=1), encoding="utf-8")
        os.replace(temp, path)
    except OSError as exc:
        warnings.append(f"could not cache Hub metadata at {path} ({exc.strerror})")
