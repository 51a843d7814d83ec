"""The Pool screen's Hub check: exact sizes and LFS sha256 for the catalog's files.

The shipped catalog knows most sizes only roughly and few digests (a Hub repository can be
re-uploaded at any time). Asked for, the session puts the Hub's answers (or the 24 h cache,
catalog_hub.py) in place: an install plan then shows exact bytes against the disk budget,
and the download is checked against a digest known before it starts. Nothing is asked
unless a person asks; `[pool] hub_offline` limits it to the cache.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from swapdeck.pool.catalog_hub import FetchRepo, RefreshResult, refresh_catalog
from swapdeck.pool.session_values import CatalogSource

HUB_CHECKED = "checked against the Hub"


async def hub_checked(source: CatalogSource, *, cache_dir: Path, now: float, offline: bool,
                      fetch: FetchRepo | None = None) -> tuple[CatalogSource, RefreshResult]:
    """`source` with the Hub's sizes and digests (a worker thread: the Hub is slow)."""
    result = await asyncio.to_thread(refresh_catalog, source.catalog, cache_dir=cache_dir,
                                     now=now, offline=offline, fetch=fetch)
    checked = result.updated and HUB_CHECKED not in source.label
    label = f"{source.label}, {HUB_CHECKED}" if checked else source.label
    return replace(source, catalog=result.catalog,
                   candidates=tuple(result.catalog.candidates()), label=label), result


def summary(result: RefreshResult) -> str:
    """One line for a notification."""
    exact = len(result.updated)
    text = f"{exact} catalog {'entry' if exact == 1 else 'entries'} now exact from the Hub"
    if result.warnings:
        text += f"; {len(result.warnings)} could not be checked (see problems)"
    return text
