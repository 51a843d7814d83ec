"""The pool session, UI-free: installs run in its own task, survive a restart, can be paused,
resumed and cancelled, and fail with one clear line. Real HTTP on loopback, real files."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from swapdeck.pool.errors import PoolError
from swapdeck.pool.installers.base import Phase
from swapdeck.pool.installers.llamaswap_config import model_ids
from swapdeck.pool.installers.partial_files import PARTIAL_DIR
from swapdeck.pool.session import PoolSession
from swapdeck.pool.session_journal import JOURNAL_FILE, InstallJournal, JournalRecord
from swapdeck.pool.session_values import JobState
from swapdeck.pool.state import load_pool
from swapdeck.sim.catalog_server import CatalogServer
from tests.pool.servers import FileKnobs, serve_files
from tests.pool.test_session_fixtures import (
    NOW,
    catalog_files,
    catalog_source,
    install_all,
    make_session,
    server,
)

FILES = catalog_files()
__all__ = ["server"]  # the catalog server fixture


async def until(predicate: Callable[[], bool], what: str, tries: int = 500) -> None:
    for _ in range(tries):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def config_models(root: Path) -> list[str]:
    path = root / "llama-swap" / "config.yaml"
    return model_ids(path.read_text(encoding="utf-8"), path)


def partials(root: Path) -> list[str]:
    folder = root / "models" / PARTIAL_DIR
    return sorted(p.name for p in folder.glob("*.part")) if folder.exists() else []


async def test_an_install_runs_to_the_end_with_nobody_watching(
        tmp_path: Path, server: CatalogServer) -> None:
    """The session's own task carries the install: nothing polls it, it still finishes,
    verified, in the pool, in the llama-swap config (llama-swap-api §5), journal cleared."""
    session = make_session(tmp_path, catalog_source(server.base_url))
    await session.start()
    plan = await session.plan_install("qwen3-8b")
    assert plan.installer is not None and plan.installer.sha256 == plan.target.sha256
    assert "+  qwen3-8b:" in plan.installer.config_diff
    await session.install(plan)
    assert (tmp_path / "data" / JOURNAL_FILE).exists()  # written before the first byte
    job = await session.wait_for_job()
    assert job is not None and job.state is JobState.DONE, job.message
    assert job.phases == [Phase.DOWNLOAD, Phase.VERIFY, Phase.INSTALL, Phase.DONE]
    entry = load_pool(tmp_path / "data" / "pool.json").find("qwen3-8b")
    assert entry is not None and entry.verified and entry.size_bytes == 500_000
    assert entry.score == pytest.approx(session.row("qwen3-8b").score)  # type: ignore[union-attr]
    assert (tmp_path / "models" / "qwen3-8b.gguf").read_bytes() == FILES["qwen3-8b.gguf"]
    assert "qwen3-8b" in config_models(tmp_path) and "nomic-embed" in config_models(tmp_path)
    assert not (tmp_path / "data" / JOURNAL_FILE).exists()
    assert session.configured is not None and "qwen3-8b" in session.configured
    await session.aclose()


async def test_a_download_interrupted_by_quitting_resumes_after_a_restart(
        tmp_path: Path, server: CatalogServer) -> None:
    source = catalog_source(server.base_url)
    server.hold(after_bytes=300_000)
    first = make_session(tmp_path, source)
    await first.start()
    await first.install(await first.plan_install("qwen3-8b"))
    await until(lambda: first.job is not None and first.job.progress is not None
                and first.job.progress.done_bytes >= 262_144, "the first 256 KiB")
    await first.aclose()  # quitting swapdeck mid-download
    assert first.job is not None and first.job.state is JobState.INTERRUPTED
    assert len(partials(tmp_path)) == 1 and (tmp_path / "data" / JOURNAL_FILE).exists()
    assert load_pool(tmp_path / "data" / "pool.json").find("qwen3-8b") is None

    server.release()
    second = make_session(tmp_path, source)
    await second.start()  # recovers the partial and carries on with the journalled install
    assert second.job is not None and second.job.resumed
    job = await second.wait_for_job()
    assert job is not None and job.state is JobState.DONE, job.message
    assert server.ranges()[-1] == "bytes=300000-"  # only the rest came over the wire
    assert (tmp_path / "models" / "qwen3-8b.gguf").read_bytes() == FILES["qwen3-8b.gguf"]
    assert partials(tmp_path) == [] and not (tmp_path / "data" / JOURNAL_FILE).exists()
    await second.aclose()


async def test_a_server_that_ignores_range_makes_the_resume_start_over(
        tmp_path: Path, server: CatalogServer) -> None:
    """A 200 to a Range request: the kept bytes are dropped, the whole file is fetched and
    the hash still covers exactly the file."""
    source = catalog_source(server.base_url)
    server.hold(after_bytes=300_000)
    first = make_session(tmp_path, source)
    await first.start()
    await first.install(await first.plan_install("qwen3-8b"))
    await until(lambda: first.job is not None and first.job.progress is not None
                and first.job.progress.done_bytes > 0, "the first bytes")
    await first.aclose()
    server.honour_range = False
    server.release()
    second = make_session(tmp_path, source)
    await second.start()
    job = await second.wait_for_job()
    assert job is not None and job.state is JobState.DONE, job.message
    assert server.ranges()[-1] is not None  # it asked to resume and was answered in full
    assert (tmp_path / "models" / "qwen3-8b.gguf").read_bytes() == FILES["qwen3-8b.gguf"]
    await second.aclose()


async def test_pause_holds_the_transfer_and_comes_back_paused_after_a_restart(
        tmp_path: Path, server: CatalogServer) -> None:
    source = catalog_source(server.base_url)
    server.hold(after_bytes=300_000)
    first = make_session(tmp_path, source)
    await first.start()
    await first.install(await first.plan_install("qwen3-8b"))
    await until(lambda: first.job is not None and first.job.progress is not None,
                "the download to start")
    assert first.toggle_pause() is True
    server.release()
    await until(lambda: first.job is not None and first.job.progress is not None
                and first.job.progress.paused, "the downloader to say it is paused")
    assert first.job is not None and first.job.paused and first.job.state is JobState.RUNNING
    await first.aclose()

    second = make_session(tmp_path, source)
    await second.start()
    assert second.job is not None and second.job.paused  # the person's pause is kept
    assert second.toggle_pause() is False
    job = await second.wait_for_job()
    assert job is not None and job.state is JobState.DONE, job.message
    await second.aclose()


async def test_cancel_deletes_the_partial_and_forgets_the_install(
        tmp_path: Path, server: CatalogServer) -> None:
    server.hold(after_bytes=300_000)
    session = make_session(tmp_path, catalog_source(server.base_url))
    await session.start()
    await session.install(await session.plan_install("qwen3-8b"))
    await until(lambda: session.job is not None and session.job.progress is not None
                and session.job.progress.done_bytes > 0, "the first bytes")
    with pytest.raises(PoolError, match="qwen3-8b is being installed; wait for it or cancel"):
        await session.install(await session.plan_install("qwen3-4b"))  # one at a time
    assert session.cancel()  # the server is silent: the cancel must not wait for it
    job = await session.wait_for_job()
    assert job is not None and job.state is JobState.CANCELLED
    assert "cancelled; nothing was installed" in job.message
    assert partials(tmp_path) == [] and not (tmp_path / "data" / JOURNAL_FILE).exists()
    assert not (tmp_path / "models" / "qwen3-8b.gguf").exists()
    assert "qwen3-8b" not in config_models(tmp_path)
    await session.aclose()


async def test_a_hash_mismatch_fails_with_one_clear_line_and_installs_nothing(
        tmp_path: Path) -> None:
    with serve_files(FILES, FileKnobs(wrong_bytes=True)) as files:
        session = make_session(tmp_path, catalog_source(files.base_url))
        await session.start()
        await session.install(await session.plan_install("qwen3-8b"))
        job = await session.wait_for_job()
    assert job is not None and job.state is JobState.FAILED
    assert "sha256 mismatch" in job.message and "\n" not in job.message
    assert "nothing was installed" in job.message
    assert not (tmp_path / "models" / "qwen3-8b.gguf").exists() and partials(tmp_path) == []
    assert load_pool(tmp_path / "data" / "pool.json").find("qwen3-8b") is None
    assert "qwen3-8b" not in config_models(tmp_path)
    await session.aclose()


async def test_an_install_that_needs_room_evicts_what_the_plan_showed(
        tmp_path: Path, server: CatalogServer) -> None:
    source = catalog_source(server.base_url)
    await install_all(tmp_path, source)
    session = make_session(tmp_path, source)
    await session.start()
    plan = await session.plan_install("qwen3-30b-a3b")  # 1 MB into 260 kB free
    assert plan.eviction.victims and plan.eviction.freed_bytes >= plan.eviction.need_bytes
    victims = plan.eviction.victim_ids
    assert plan.installer is not None
    for victim in victims:
        assert f"-  {victim}:" in plan.installer.config_diff
    await session.install(plan)
    job = await session.wait_for_job()
    assert job is not None and job.state is JobState.DONE, job.message
    assert tuple(job.evicted) == victims
    pool = load_pool(tmp_path / "data" / "pool.json")
    assert {e.id for e in pool.entries} == {"llama-3.2-3b", "qwen3-4b", "llama-3.1-8b",
                                            "qwen3-30b-a3b"} - set(victims)
    assert pool.used_bytes <= 1_200_000
    for victim in victims:
        assert victim not in config_models(tmp_path)
        assert not (tmp_path / "models" / f"{victim}.gguf").exists()
    await session.aclose()


async def test_a_journalled_install_that_would_now_evict_waits_for_a_new_yes(
        tmp_path: Path, server: CatalogServer) -> None:
    source = catalog_source(server.base_url)
    await install_all(tmp_path, source)
    target = source.target("qwen3-30b-a3b", score=10.0)
    InstallJournal(tmp_path / "data" / JOURNAL_FILE).put(JournalRecord(target, NOW - 60))
    session = make_session(tmp_path, source)
    await session.start()
    assert session.job is None and set(session.waiting) == {"qwen3-30b-a3b"}
    assert len(load_pool(tmp_path / "data" / "pool.json").entries) == 3  # nothing evicted
    await session.aclose()


async def test_fleet_activity_reaches_pool_json_in_batches(
        tmp_path: Path, server: CatalogServer) -> None:
    source = catalog_source(server.base_url)
    await install_all(tmp_path, source)
    seen = {"llama-3.1-8b": NOW - 120.0, "not-in-the-pool": NOW - 5.0}
    session = make_session(tmp_path, source, uses=lambda: dict(seen), feed_interval_s=3600)
    await session.start()
    await until(lambda: session.state.find("llama-3.1-8b") is not None
                and session.state.find("llama-3.1-8b").last_used_at is not None,  # type: ignore[union-attr]
                "the first batch")
    pool_json = tmp_path / "data" / "pool.json"
    assert load_pool(pool_json).find("llama-3.1-8b").last_used_at == NOW - 120.0  # type: ignore[union-attr]
    assert load_pool(pool_json).find("not-in-the-pool") is None
    written = pool_json.stat().st_mtime_ns
    await session.feed_uses()  # nothing newer: no write
    assert pool_json.stat().st_mtime_ns == written
    seen["llama-3.1-8b"] = NOW - 10.0
    await session.feed_uses()
    assert load_pool(pool_json).find("llama-3.1-8b").last_used_at == NOW - 10.0  # type: ignore[union-attr]
    await session.aclose()


async def test_an_unreadable_journal_is_reported_not_fatal(
        tmp_path: Path, server: CatalogServer) -> None:
    journal = tmp_path / "data" / JOURNAL_FILE
    journal.parent.mkdir(parents=True)
    journal.write_text(json.dumps({"version": 1, "installs": [{"target": {"id": 3}}]}))
    session = make_session(tmp_path, catalog_source(server.base_url))
    await session.start()
    assert session.ready and any(JOURNAL_FILE in p and "installs[0]" in p
                                 for p in session.problems)
    await session.aclose()


def test_the_journal_round_trips_a_target(tmp_path: Path) -> None:
    source = catalog_source("http://127.0.0.1:9")
    target = source.target("qwen3-14b", score=41.5)
    journal = InstallJournal(tmp_path / JOURNAL_FILE)
    journal.put(JournalRecord(target, NOW, paused=True))
    journal.put(JournalRecord(source.target("qwen3-4b", score=1.0), NOW))
    records = journal.load()
    assert [r.target.id for r in records] == ["qwen3-14b", "qwen3-4b"]
    assert records[0].target.download_url() == "http://127.0.0.1:9/files/qwen3-14b.gguf"
    assert records[0].target == target and records[0].paused
    journal.drop("qwen3-14b")
    journal.drop("qwen3-4b")
    assert not (tmp_path / JOURNAL_FILE).exists()


def test_pool_session_is_ui_free() -> None:
    import swapdeck.pool.session as module

    assert "textual" not in Path(module.__file__).read_text(encoding="utf-8")
    assert PoolSession.__module__ == "swapdeck.pool.session"
