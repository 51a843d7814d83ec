"""The pool manager on real files, a real config.yaml and loopback servers: the plan the
modal shows is what runs; budget refusals delete nothing; failures clean their bytes."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from swapdeck.pool.download import Downloader
from swapdeck.pool.errors import (
    BudgetExceeded,
    DiskFull,
    DownloadFailed,
    HashMismatch,
    InstallFailed,
    NotAllowed,
    NotInPool,
    PlanOutdated,
)
from swapdeck.pool.installers.base import InstallTarget, Phase, Progress
from swapdeck.pool.installers.llamaswap import LlamaSwapInstaller
from swapdeck.pool.installers.llamaswap_config import NewModel, add_model
from swapdeck.pool.installers.ollama import OllamaInstaller
from swapdeck.pool.manager import InstallPlan, PoolManager
from swapdeck.pool.settings import PoolSettings
from swapdeck.pool.state import GB, PoolEntry, PoolState, load_pool, save_pool, with_entry
from tests.pool.conftest import sha256_hex
from tests.pool.servers import FakeModel, FakeOllama, FileKnobs, serve_files, serve_ollama

BASE_CONFIG = "# my llama-swap\nlogLevel: info\nmodels:\n  keep-me:\n    cmd: llama-server -m /x\n"
CLOCK = 1_800_000_000.0


class Box:
    """A models dir, a llama-swap config and a pool.json with some installed models."""

    def __init__(self, tmp_path: Path, budget_bytes: int, *, allowed_orgs: tuple[str, ...] = (),
                 free_disk: int | None = None):
        self.models = tmp_path / "models"
        self.models.mkdir(parents=True)
        self.config = self.models.parent / "config.yaml"
        self.config.write_text(BASE_CONFIG)
        self.pool_json = tmp_path / "data" / "pool.json"
        self.settings = PoolSettings(models_dir=self.models, llama_swap_config=self.config,
                                     disk_budget_gb=budget_bytes / GB, allowed_orgs=allowed_orgs)
        downloader = Downloader(self.models, retries=0, retry_delay_s=0.0)
        if free_disk is not None:
            downloader = Downloader(self.models, retries=0, retry_delay_s=0.0,
                                    disk_free=lambda _path: free_disk)
        self.installer = LlamaSwapInstaller(self.settings, downloader)
        self.manager = PoolManager(self.pool_json, self.settings,
                                   {"llama-swap": self.installer}, clock=lambda: CLOCK)

    def install_existing(self, model_id: str, size: int, score: float,
                         used: float | None = None) -> PoolEntry:
        path = self.models / f"{model_id}.gguf"
        path.write_bytes(b"g" * size)
        self.config.write_text(add_model(self.config.read_text(),
                                         NewModel(model_id, f"llama-server -m {path}")))
        entry = PoolEntry(id=model_id, installer="llama-swap", size_bytes=size, score=score,
                          installed_at=1000.0, last_used_at=used, path=str(path))
        save_pool(self.pool_json, with_entry(load_pool(self.pool_json), entry))
        return entry

    def snapshot(self) -> tuple[str, bytes, list[str]]:
        return (self.config.read_text(), self.pool_json.read_bytes(),
                sorted(str(p.relative_to(self.models)) for p in self.models.rglob("*")))


def target(url: str, data: bytes, *, org: str = "HuggingFaceTB", score: float = 50.0,
           sha: bool = True) -> InstallTarget:
    return InstallTarget(id="smol", org=org, family="smollm2", quant="Q4_1", file="smol.gguf",
                         url=url, size_bytes=len(data), sha256=sha256_hex(data) if sha else None,
                         score=score)


async def run(manager: PoolManager, plan: InstallPlan) -> list[Progress]:
    return [p async for p in manager.execute(plan)]


async def test_budget_refusal_happens_before_anything_is_deleted(tmp_path: Path,
                                                                 payload: bytes) -> None:
    box = Box(tmp_path, budget_bytes=len(payload) + 100)
    box.install_existing("old-a", 60, score=1)
    box.install_existing("busy", len(payload), score=0)
    before = box.snapshot()
    with serve_files({"smol.gguf": payload}) as server:
        with pytest.raises(BudgetExceeded) as refusal:
            await box.manager.prepare(target(server.url("smol.gguf"), payload),
                                      protect=["busy"])
        assert server.requests == []
    # need = size - (budget - used) = len - 40; evicting old-a frees 60
    assert refusal.value.shortfall_bytes == len(payload) - 100
    assert "nothing was deleted" in str(refusal.value)
    assert box.snapshot() == before

    with pytest.raises(BudgetExceeded):  # bigger than the whole budget
        await Box(tmp_path / "b", budget_bytes=10).manager.prepare(
            target("http://127.0.0.1:9/smol.gguf", payload))


async def test_short_disk_is_refused_before_evicting(tmp_path: Path, payload: bytes) -> None:
    """The evicted files' space counts, but if even that is short nothing is deleted."""
    box = Box(tmp_path, budget_bytes=len(payload) + 50, free_disk=len(payload) - 101)
    box.install_existing("low-score", 100, score=5)
    before = box.snapshot()
    with pytest.raises(DiskFull) as refusal:
        await box.manager.prepare(target("http://127.0.0.1:9/smol.gguf", payload))
    assert refusal.value.free_bytes == len(payload) - 1  # free now + the evicted file
    assert box.snapshot() == before
    enough = Box(tmp_path / "b", budget_bytes=len(payload) + 50, free_disk=len(payload) - 100)
    enough.install_existing("low-score", 100, score=5)
    plan = await enough.manager.prepare(target("http://127.0.0.1:9/smol.gguf", payload))
    assert plan.eviction.victim_ids == ("low-score",)


async def test_plan_shows_the_evictions_and_execute_does_exactly_that(tmp_path: Path,
                                                                       payload: bytes) -> None:
    box = Box(tmp_path, budget_bytes=len(payload) + 150)
    low = box.install_existing("low-score", 100, score=5, used=1500.0)
    box.install_existing("high-score", 100, score=80)
    with serve_files({"smol.gguf": payload}) as server:
        plan = await box.manager.prepare(target(server.url("smol.gguf"), payload))
        assert plan.eviction.victim_ids == ("low-score",)
        assert plan.eviction.victims[0] == low  # size, score, last use for the modal
        assert plan.used_after_bytes <= plan.budget_bytes
        assert plan.installer is not None and plan.installer.sha256 == sha256_hex(payload)
        diff = plan.installer.config_diff
        assert "-  low-score:" in diff and "+  smol:" in diff
        assert "-  keep-me:" not in diff and "-  high-score:" not in diff

        events = await run(box.manager, plan)
    assert events[0].phase is Phase.EVICT and events[0].model_id == "low-score"
    assert events[-1].phase is Phase.DONE
    assert not (box.models / "low-score.gguf").exists()
    assert (box.models / "smol.gguf").read_bytes() == payload
    state = load_pool(box.pool_json)
    assert [e.id for e in state.entries] == ["high-score", "smol"]
    smol = state.find("smol")
    assert smol is not None
    assert (smol.size_bytes, smol.score, smol.installed_at, smol.last_used_at) == (
        len(payload), 50.0, CLOCK, None)
    assert smol.verified and smol.sha256 == sha256_hex(payload)
    models = YAML(typ="safe").load(box.config.read_text())["models"]
    assert sorted(models) == ["high-score", "keep-me", "smol"]


async def test_execute_refuses_a_plan_the_world_has_moved_past(tmp_path: Path,
                                                               payload: bytes) -> None:
    box = Box(tmp_path, budget_bytes=len(payload) + 150)
    box.install_existing("low-score", 100, score=5)
    plan = await box.manager.prepare(target("http://127.0.0.1:9/smol.gguf", payload))
    box.config.write_text(box.config.read_text() + "# edited meanwhile\n")
    with pytest.raises(PlanOutdated, match="config"):
        await run(box.manager, plan)
    assert (box.models / "low-score.gguf").exists()


async def test_failed_install_cleans_partial_bytes_but_keeps_resumable_ones(
        tmp_path: Path, payload: bytes) -> None:
    box = Box(tmp_path, budget_bytes=10 * len(payload))
    partial_dir = box.models / ".partial"
    knobs = FileKnobs(cut_after_bytes=100 * 1024)
    with serve_files({"smol.gguf": payload}, knobs) as server:
        tgt = target(server.url("smol.gguf"), payload)
        with pytest.raises(DownloadFailed):
            await run(box.manager, await box.manager.prepare(tgt))
        kept = list(partial_dir.glob("*.part"))
        assert [p.stat().st_size for p in kept] == [100 * 1024], "an interruption keeps bytes"

        knobs.wrong_bytes = True
        with pytest.raises(HashMismatch):
            await run(box.manager, await box.manager.prepare(tgt))
    assert list(partial_dir.iterdir()) == []
    assert not (box.models / "smol.gguf").exists()
    assert load_pool(box.pool_json) == PoolState()
    assert "smol" not in box.config.read_text()


async def test_a_file_name_owned_by_another_pool_model_is_refused(tmp_path: Path,
                                                                   payload: bytes) -> None:
    box = Box(tmp_path, budget_bytes=GB)
    box.install_existing("other", 10, score=1)
    clash = InstallTarget(id="smol", org="o", url="http://127.0.0.1:9/other.gguf",
                          size_bytes=len(payload))
    with pytest.raises(InstallFailed, match="already belongs to pool model other"):
        await box.manager.prepare(clash)


async def test_a_foreign_file_at_the_destination_is_refused_before_anything_is_evicted(
        tmp_path: Path, payload: bytes) -> None:
    """A GGUF a person put in the models folder, with other bytes than the catalog's, would
    only be found after the victims were evicted and the whole file downloaded."""
    box = Box(tmp_path, budget_bytes=len(payload) + 10)
    box.install_existing("victim", 20, score=1)
    box.models.mkdir(parents=True, exist_ok=True)
    (box.models / "smol.gguf").write_bytes(b"an older upload")
    with pytest.raises(InstallFailed, match=r"smol.gguf already exists \(15 B; the catalog"):
        await box.manager.prepare(target("http://127.0.0.1:9/smol.gguf", payload))
    assert load_pool(box.pool_json).find("victim") is not None
    assert (box.models / "smol.gguf").read_bytes() == b"an older upload"
    # The catalog's exact size: the sha256 decides at the end (same bytes are adopted).
    (box.models / "smol.gguf").write_bytes(payload)
    plan = await box.manager.prepare(target("http://127.0.0.1:9/smol.gguf", payload))
    assert plan.installer is not None and not plan.installer.blocker


async def test_already_installed_short_circuits(tmp_path: Path, payload: bytes) -> None:
    box = Box(tmp_path, budget_bytes=GB)
    box.install_existing("smol", len(payload), score=50)
    plan = await box.manager.prepare(target("http://127.0.0.1:9/smol.gguf", payload))
    assert plan.already_installed and plan.installer is None
    events = await run(box.manager, plan)
    assert [e.message for e in events] == ["already installed"]


async def test_allow_list_is_checked_first(tmp_path: Path, payload: bytes) -> None:
    box = Box(tmp_path, budget_bytes=GB, allowed_orgs=("Qwen",))
    with pytest.raises(NotAllowed):
        await box.manager.prepare(target("http://127.0.0.1:9/smol.gguf", payload))
    box.manager.allow_org("HuggingFaceTB")
    plan = await box.manager.prepare(target("http://127.0.0.1:9/smol.gguf", payload))
    assert not plan.already_installed


async def test_evict_command_path(tmp_path: Path) -> None:
    box = Box(tmp_path, budget_bytes=GB)
    box.install_existing("old", 10, score=1)
    removal = await box.manager.prepare_eviction("old")
    assert "-  old:" in removal.installer.config_diff
    await box.manager.evict(removal)
    assert load_pool(box.pool_json).entries == ()
    assert not (box.models / "old.gguf").exists() and "old" not in box.config.read_text()
    with pytest.raises(NotInPool):
        await box.manager.prepare_eviction("old")


async def test_record_use_and_reconcile_with_disk(tmp_path: Path) -> None:
    box = Box(tmp_path, budget_bytes=GB)
    box.install_existing("gone", 10, score=1)
    box.install_existing("grown", 10, score=1)
    box.manager.record_use("grown", 1234.5)
    (box.models / "gone.gguf").unlink()
    (box.models / "grown.gguf").write_bytes(b"x" * 25)
    (box.models / "stranger.gguf").write_bytes(b"s")
    (box.models / ".partial").mkdir()
    (box.models / ".partial" / "abc.gguf").write_bytes(b"p")
    report = await box.manager.reconcile()
    assert [e.id for e in report.dropped] == ["gone"]
    assert report.resized == (("grown", 10, 25),)
    assert [m.id for m in report.untracked] == ["stranger"]
    grown = load_pool(box.pool_json).find("grown")
    assert grown is not None and grown.size_bytes == 25 and grown.last_used_at == 1234.5

    backup = box.pool_json.with_name("pool.json.bak")
    before = (box.pool_json.read_bytes(), backup.read_bytes())
    box.manager.record_uses({"grown": 1000.0, "never-installed": 5.0})  # nothing moves forward
    assert (box.pool_json.read_bytes(), backup.read_bytes()) == before, "no write for a no-op"
    box.manager.record_uses({"grown": 2000.0})
    assert load_pool(box.pool_json).find("grown").last_used_at == 2000.0  # type: ignore[union-attr]


async def test_ollama_pool_install_failure_and_reconcile(tmp_path: Path) -> None:
    fake = FakeOllama(library={"qwen3:8b": [1000, 10]}, fail_pull_after_layers=1,
                      models={"llama3.2:3b": FakeModel(2_000, "b" * 64)})
    settings = PoolSettings(install_target="ollama", disk_budget_gb=1)
    with serve_ollama(fake):
        manager = PoolManager(tmp_path / "pool.json", settings,
                              {"ollama": OllamaInstaller(fake.base_url)}, clock=lambda: CLOCK)
        tgt = InstallTarget(id="qwen3-8b", org="Qwen", ollama_name="qwen3:8b", size_bytes=1010)
        with pytest.raises(InstallFailed):
            await run(manager, await manager.prepare(tgt))
        assert "qwen3:8b" not in fake.models and load_pool(manager.state_path) == PoolState()

        fake.fail_pull_after_layers = None
        events = await run(manager, await manager.prepare(tgt))
        assert events[-1].phase is Phase.DONE
        entry = load_pool(manager.state_path).find("qwen3:8b")
        assert entry is not None and entry.size_bytes == 1010 and entry.installer == "ollama"

        del fake.models["qwen3:8b"]
        report = await manager.reconcile()
    assert [e.id for e in report.dropped] == ["qwen3:8b"]
    assert [m.id for m in report.untracked] == ["llama3.2:3b"]
