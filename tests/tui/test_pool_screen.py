"""The Pool screen with Pilot: install (confirm, cancel, pause/resume, cancel key, a hash
mismatch), the eviction plan shown and carried out, evict with its warnings, upgrade
proposals, the why-view and filters — real downloads from a loopback server."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from swapdeck.events import ModelState
from swapdeck.pool.catalog import load_catalog
from swapdeck.pool.catalog_hub import hub_fetcher
from swapdeck.pool.installers.llamaswap_config import model_ids
from swapdeck.pool.installers.partial_files import PARTIAL_DIR
from swapdeck.pool.session import PoolSession
from swapdeck.pool.session_values import CatalogSource, JobState
from swapdeck.pool.state import load_pool
from swapdeck.sim.catalog_server import CatalogServer
from swapdeck.tui.pool_modals import EvictConfirmModal, InstallConfirmModal, WhyModal
from swapdeck.tui.widgets.pool_runtime import configure_pool
from tests.pool.servers import FileKnobs, serve_files
from tests.pool.test_catalog_hub import REAL_SHA, FakeHub, hub, smollm2
from tests.pool.test_session_fixtures import (
    NOW,
    catalog_files,
    catalog_source,
    install_all,
    pool_settings,
    server,
)
from tests.tui.conftest import host_events, notifications, told, until
from tests.tui.test_pool_support import (
    open_pool,
    pool_app,
    row_text,
    select,
    session_of,
    shown,
    table,
)

FILES = catalog_files()
__all__ = ["hub", "server"]  # fixtures: the Hub stand-in and the catalog server


def config_models(root: Path) -> list[str]:
    path = root / "llama-swap" / "config.yaml"
    return model_ids(path.read_text(encoding="utf-8"), path)


async def confirm_install(pilot: Any, app: Any, screen: Any, model_id: str) -> InstallConfirmModal:
    await select(pilot, screen, "pool-candidates", model_id)
    await pilot.press("i")
    await until(pilot, lambda: isinstance(app.screen, InstallConfirmModal), "the install modal")
    modal = app.screen
    assert isinstance(modal, InstallConfirmModal)
    return modal


def job_is(session: PoolSession, state: JobState) -> bool:
    return session.job is not None and session.job.state is state


async def test_install_shows_the_plan_and_runs_only_on_yes(
        tmp_path: Path, server: CatalogServer) -> None:
    """The modal names the download, its sha256 and the llama-swap config diff (§5); n does
    nothing; y runs exactly that plan: verified file, pool entry, config entry."""
    pool_settings(tmp_path)
    app = pool_app(tmp_path, catalog_source(server.base_url))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_pool(app, pilot)
        session = session_of(screen)
        modal = await confirm_install(pilot, app, screen, "qwen3-4b")
        body = modal.body_text
        assert "250.0 kB from http://127.0.0.1:" in body and "/files/qwen3-4b.gguf" in body
        assert modal.plan.target.sha256 is not None and modal.plan.target.sha256 in body
        assert "checked before the file is moved into place" in body
        assert "Evicts    nothing: it fits the budget" in body
        assert "+  qwen3-4b:" in body  # the config diff
        await pilot.press("n")
        await until(pilot, lambda: app.screen is screen, "the modal to close")
        assert session.job is None and server.ranges() == []

        await confirm_install(pilot, app, screen, "qwen3-4b")
        await pilot.press("y")
        await until(pilot, lambda: job_is(session, JobState.DONE), "the install to finish")
        await until(pilot, lambda: "qwen3-4b installed (sha256 verified)"
                    in shown(screen, "#pool-status"),
                    "the status line")
        assert "qwen3-4b" in table(screen, "pool-installed").keys
    entry = load_pool(tmp_path / "data" / "pool.json").find("qwen3-4b")
    assert entry is not None and entry.verified
    assert "qwen3-4b" in config_models(tmp_path)


async def test_pause_resume_and_cancel_keys_and_a_download_off_screen(
        tmp_path: Path, server: CatalogServer) -> None:
    """p holds the transfer (the server is asked to resume with a Range request), the
    download finishes while the Fleet screen is showing, and x on the next one keeps nothing."""
    pool_settings(tmp_path)
    server.hold(after_bytes=300_000)
    app = pool_app(tmp_path, catalog_source(server.base_url))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_pool(app, pilot)
        session = session_of(screen)
        await confirm_install(pilot, app, screen, "qwen3-8b")
        await pilot.press("y")
        await until(pilot, lambda: session.job is not None and session.job.progress is not None
                    and session.job.progress.done_bytes > 0, "the first bytes")
        await pilot.press("p")
        await until(pilot, lambda: "qwen3-8b paused at" in shown(screen, "#pool-status"),
                    "paused shown")
        server.release()
        await until(pilot, lambda: session.job is not None and session.job.progress is not None
                    and session.job.progress.paused, "the downloader to hold")
        assert not (tmp_path / "models" / "qwen3-8b.gguf").exists()
        await pilot.press("p")
        await pilot.press("1")
        await until(pilot, lambda: app.current_mode == "fleet", "the Fleet screen")
        await until(pilot, lambda: job_is(session, JobState.DONE), "the install, off screen")
        assert app.current_mode == "fleet"
        assert any(r is not None and r.startswith("bytes=") for r in server.ranges())

        await pilot.press("5")
        await until(pilot, lambda: "qwen3-8b" in table(screen, "pool-installed").keys,
                    "the installed table")
        server.hold(after_bytes=100_000)
        await confirm_install(pilot, app, screen, "llama-3.2-3b")
        await pilot.press("y")
        await until(pilot, lambda: session.job is not None and session.job.model_id ==
                    "llama-3.2-3b" and session.job.progress is not None, "the second download")
        await pilot.press("x")
        await until(pilot, lambda: "cancelled; nothing was installed"
                    in shown(screen, "#pool-status"),
                    "the cancelled line")
    assert (tmp_path / "models" / "qwen3-8b.gguf").read_bytes() == FILES["qwen3-8b.gguf"]
    assert not list((tmp_path / "models" / PARTIAL_DIR).glob("*.part"))
    assert load_pool(tmp_path / "data" / "pool.json").find("llama-3.2-3b") is None


async def test_a_hash_mismatch_says_so_in_one_line(tmp_path: Path) -> None:
    pool_settings(tmp_path)
    with serve_files(FILES, FileKnobs(wrong_bytes=True)) as files:
        app = pool_app(tmp_path, catalog_source(files.base_url))
        async with app.run_test(size=(160, 40)) as pilot:
            screen = await open_pool(app, pilot)
            await confirm_install(pilot, app, screen, "qwen3-4b")
            await pilot.press("y")
            await until(pilot, lambda: "sha256 mismatch" in shown(screen, "#pool-status"),
                        "the error line")
            await told(pilot, app, "Install failed: qwen3-4b.gguf: sha256 mismatch")
    assert not (tmp_path / "models" / "qwen3-4b.gguf").exists()
    assert "qwen3-4b" not in config_models(tmp_path)


async def test_evict_and_an_eviction_plan_against_a_fleet_that_uses_the_models(
        tmp_path: Path, server: CatalogServer) -> None:
    """The fleet's activity gives the last use (fed to pool.json in a batch), its model
    states the loaded warning; evict names files, config entry and space; an install that
    needs room shows what it evicts, then does exactly that."""
    source = catalog_source(server.base_url)
    await install_all(tmp_path, source)
    events = host_events("atlas", models={"llama-3.1-8b": ModelState.READY}, requests=3)
    app = pool_app(tmp_path, source, events)
    pool_json = tmp_path / "data" / "pool.json"
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_pool(app, pilot)
        session = session_of(screen)
        def recorded() -> float | None:
            entry = load_pool(pool_json).find("llama-3.1-8b")
            return entry.last_used_at if entry is not None else None

        await until(pilot, lambda: recorded() == NOW - 100,  # the newest of 3 requests
                    "the first batch of uses")
        await until(pilot, lambda: "1m40s ago" in row_text(screen, "pool-installed",
                                                           "llama-3.1-8b"), "the last use")
        assert "in config · loaded atlas" in row_text(screen, "pool-installed", "llama-3.1-8b")

        await select(pilot, screen, "pool-installed", "qwen3-4b")  # unused: no warning
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, EvictConfirmModal), "the modal")
        assert "⚠" not in app.screen.body_text  # type: ignore[attr-defined]
        await pilot.press("n")
        await until(pilot, lambda: app.screen is screen, "the modal to close")

        await select(pilot, screen, "pool-installed", "llama-3.1-8b")
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, EvictConfirmModal), "the modal")
        body = app.screen.body_text  # type: ignore[attr-defined]
        assert "/models/llama-3.1-8b.gguf (490.0 kB)" in body
        assert "removes models.llama-3.1-8b from" in body and "-  llama-3.1-8b:" in body
        assert "Frees     490.0 kB: pool 940.0 kB → 450.0 kB of 1.2 MB" in body
        assert "⚠ llama-3.1-8b is loaded on atlas right now" in body
        assert "⚠ llama-3.1-8b was used 1 min ago" in body
        await pilot.press("y")
        await until(pilot, lambda: "llama-3.1-8b" not in table(screen, "pool-installed").keys,
                    "the installed table to drop it")
        assert not (tmp_path / "models" / "llama-3.1-8b.gguf").exists()
        assert "llama-3.1-8b" not in config_models(tmp_path)

        modal = await confirm_install(pilot, app, screen, "qwen3-30b-a3b")  # 1 MB, 750 kB free
        victims = modal.plan.eviction.victim_ids
        assert victims and modal.plan.eviction.freed_bytes >= modal.plan.eviction.need_bytes
        body = modal.body_text
        assert f"Evicts    {len(victims)} model(s), freeing" in body
        for victim in modal.plan.eviction.victims:
            assert f"- {victim.id}  " in body and f"score {victim.score:.1f}" in body
            assert f"-  {victim.id}:" in body  # its config entry goes too
        await pilot.press("y")
        await until(pilot, lambda: job_is(session, JobState.DONE), "the install to finish")
        await until(pilot, lambda: "qwen3-30b-a3b" in table(screen, "pool-installed").keys,
                    "the installed table")
        assert not set(victims) & set(table(screen, "pool-installed").keys)
        assert session.job is not None and tuple(session.job.evicted) == victims
    for victim_id in victims:
        assert not (tmp_path / "models" / f"{victim_id}.gguf").exists()
        assert victim_id not in config_models(tmp_path)


async def test_upgrade_proposals_why_view_and_filters(
        tmp_path: Path, server: CatalogServer) -> None:
    source = catalog_source(server.base_url)
    await install_all(tmp_path, source, ["qwen3-4b"])
    app = pool_app(tmp_path, source)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_pool(app, pilot)
        await select(pilot, screen, "pool-installed", "qwen3-4b")
        await until(pilot, lambda: "u installs it" in shown(screen, "#pool-detail"),
                    "the proposal line")
        text = shown(screen, "#pool-detail") + row_text(screen, "pool-installed", "qwen3-4b")
        assert "↑ Qwen3 4B Q4_K_M → Qwen3 8B Q4_K_M: +" in text
        assert "%, same bracket, 500.0 kB download" in text
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, InstallConfirmModal), "the modal")
        assert app.screen.plan.target.id == "qwen3-8b"  # type: ignore[attr-defined]
        await pilot.press("n")
        await until(pilot, lambda: app.screen is screen, "the modal to close")

        await select(pilot, screen, "pool-candidates", "qwen3-14b")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, WhyModal), "the why-view")
        lines = "\n".join(app.screen.lines)  # type: ignore[attr-defined]
        assert "score 53.5 = 100 × context 1.00 × quality" in lines
        assert "memory 10.32 GiB = weights 8.38 (file size) + KV 1.25 (exact:" in lines
        assert "speed 67.7 t/s [estimated]: NVIDIA GeForce RTX 4090 1008 GB/s" in lines
        assert "quality: no benchmark evidence; size prior" in lines
        assert "catalog: bracket 16 GB, the recommended pick" in lines
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, "the why-view to close")

        candidates = table(screen, "pool-candidates")
        assert len(candidates.keys) == 8
        await pilot.press("f")  # families in name order: gemma3 first
        await until(pilot, lambda: candidates.keys == ["gemma-3-12b"], "the gemma3 filter")
        await pilot.press("f", "f", "f", "f")  # llama3.1, llama3.2, llama3.3, qwen3
        await until(pilot, lambda: set(candidates.keys) == {"qwen3-4b", "qwen3-8b", "qwen3-14b",
                                                            "qwen3-30b-a3b"}, "qwen3")
        await pilot.press("s", "s")  # all → 4 GB → 8 GB
        await until(pilot, lambda: set(candidates.keys) == {"qwen3-4b", "qwen3-8b"}, "8 GB")
        await pilot.press("f", "s", "s", "t", "t")  # family all, bracket 32+ GB, fit partial
        await until(pilot, lambda: candidates.keys == ["llama-3.3-70b"], "the partial fit")
        await until(pilot, lambda: "family all · bracket 32+ GB · fit partial"
                    in shown(screen, "#pool-filters"), "the filter line")


async def test_h_checks_the_catalog_against_the_hub(tmp_path: Path, hub: FakeHub) -> None:
    """`H` asks the Hub (a loopback stand-in) for exact sizes and digests, says how many
    entries became exact, and the table ranks again on them."""
    pool_settings(tmp_path)
    entry = smollm2(sha256="unknown", size_exact=False)
    catalog = replace(load_catalog(), entries=(entry,))
    source = CatalogSource(catalog, tuple(catalog.candidates()), {}, "shipped catalog test")
    app = pool_app(tmp_path, source)
    configure_pool(app, hub=hub_fetcher(hub.url), hub_cache_dir=tmp_path / "hub-cache")
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await open_pool(app, pilot)
        assert hub.requests == []
        await pilot.press("H")
        await until(pilot, lambda: any("now exact from the Hub" in n
                                       for n in notifications(app)), "the Hub's answer")
        session = session_of(screen)
        assert session.source is not None
        assert session.source.catalog.entries[0].sha256 == REAL_SHA
    assert any("1 catalog entry now exact from the Hub" in n for n in notifications(app))
