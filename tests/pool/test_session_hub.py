"""The Pool session's Hub check (session_hub.py): the shipped catalog's rough sizes and
missing digests become the Hub's exact ones, only when asked, and never raise."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from swapdeck.pool.catalog import load_catalog
from swapdeck.pool.catalog_hub import hub_fetcher
from swapdeck.pool.session_hub import HUB_CHECKED, summary
from swapdeck.pool.session_values import CatalogSource
from tests.pool.test_catalog_hub import REAL_SHA, REPO, FakeHub, hub, smollm2
from tests.pool.test_session_fixtures import make_session, pool_settings

__all__ = ["hub"]  # the fixture, imported for the tests below


def shipped_smollm2_only() -> CatalogSource:
    entry = smollm2(sha256="unknown", size_exact=False)
    catalog = replace(load_catalog(), entries=(entry,))
    return CatalogSource(catalog, tuple(catalog.candidates()), {}, "shipped catalog test")


async def test_asked_the_hub_fills_in_digests_and_ranks_again(hub: FakeHub,
                                                              tmp_path: Path) -> None:
    session = make_session(tmp_path, shipped_smollm2_only(), hub=hub_fetcher(hub.url),
                           hub_cache_dir=tmp_path / "cache")
    await session.start()
    try:
        assert hub.requests == []  # starting the screen asks nobody
        before = session.revision
        result = await session.check_hub()
        assert result is not None and result.updated == ("smollm2-135m-instruct-q4_1",)
        assert session.source is not None and HUB_CHECKED in session.source.label
        entry = session.source.catalog.entries[0]
        assert (entry.sha256, entry.size_exact) == (REAL_SHA, True)
        assert session.revision > before and session.row(entry.id) is not None
        assert summary(result) == "1 catalog entry now exact from the Hub"
        assert [p for p in hub.requests if REPO in p]
    finally:
        await session.aclose()


async def test_offline_uses_the_cache_only(hub: FakeHub, tmp_path: Path) -> None:
    """`[pool] hub_offline`: never a request; what an earlier check cached still counts."""
    offline = pool_settings(tmp_path).model_copy(update={"hub_offline": True})
    cold = make_session(tmp_path, shipped_smollm2_only(), settings=offline,
                        hub=hub_fetcher(hub.url), hub_cache_dir=tmp_path / "cache")
    await cold.start()
    try:
        result = await cold.check_hub()
        assert result is not None and result.updated == () and hub.requests == []
        assert cold.source is not None and cold.source.catalog.entries[0].sha256 == "unknown"
        assert HUB_CHECKED not in cold.source.label  # nothing was checked: not claimed
    finally:
        await cold.aclose()

    online = make_session(tmp_path, shipped_smollm2_only(), hub=hub_fetcher(hub.url),
                          hub_cache_dir=tmp_path / "cache")
    await online.start()
    await online.check_hub()
    await online.aclose()
    asked = len(hub.requests)

    warm = make_session(tmp_path, shipped_smollm2_only(), settings=offline,
                        hub=hub_fetcher(hub.url), hub_cache_dir=tmp_path / "cache")
    await warm.start()
    try:
        result = await warm.check_hub()
        assert result is not None and result.updated == ("smollm2-135m-instruct-q4_1",)
        assert len(hub.requests) == asked
    finally:
        await warm.aclose()
