"""The llama-swap installer end to end on loopback: download + verify + config.yaml edit
(llama-swap-api.md §5), cancel in the install phase, removal, and what is on disk."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from swapdeck.pool.download import Downloader
from swapdeck.pool.errors import Cancelled, ConfigInvalid
from swapdeck.pool.installers.base import InstallTarget, Phase, Progress, TransferControl
from swapdeck.pool.installers.llamaswap import LlamaSwapInstaller
from swapdeck.pool.settings import PoolSettings
from swapdeck.pool.state import PoolEntry
from tests.pool.conftest import sha256_hex
from tests.pool.servers import serve_files
from tests.pool.test_llamaswap_config_edit import CONFIG

NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)


def make(tmp_path: Path, config: str | None = CONFIG) -> LlamaSwapInstaller:
    config_path = None
    if config is not None:
        config_path = tmp_path / "llama-swap" / "config.yaml"
        config_path.parent.mkdir()
        config_path.write_text(config)
    settings = PoolSettings(models_dir=tmp_path / "models", llama_swap_config=config_path,
                            llama_server_cmd="/opt/llama-server --port ${PORT} -m {path} -ngl 99")
    downloader = Downloader(settings.models_dir, retry_delay_s=0.0,
                            progress_every_bytes=64 * 1024)
    return LlamaSwapInstaller(settings, downloader, now=lambda: NOW)


def smol(url: str, data: bytes, sha: bool = True) -> InstallTarget:
    return InstallTarget(id="smollm2-135m", org="HuggingFaceTB", family="smollm2", quant="Q4_1",
                         repo="HuggingFaceTB/SmolLM2-135M-Instruct-GGUF",
                         file="SmolLM2-135M-Instruct-Q4_1.gguf", size_bytes=len(data),
                         sha256=sha256_hex(data) if sha else None, url=url,
                         name="SmolLM2 135M")


def models_in(path: Path) -> dict[str, dict[str, str]]:
    data = YAML(typ="safe").load(path.read_text())
    return dict(data["models"])


async def test_plan_shows_source_hash_and_the_config_diff(tmp_path: Path,
                                                          payload: bytes) -> None:
    installer = make(tmp_path)
    target = smol("http://127.0.0.1:9/x.gguf", payload)
    victim = PoolEntry(id="nomic-embed", installer="llama-swap", size_bytes=1, installed_at=0)
    plan = await installer.plan(target, (victim,))
    assert plan.source == "http://127.0.0.1:9/x.gguf" and plan.sha256 == sha256_hex(payload)
    assert plan.destination == str(tmp_path / "models" / "SmolLM2-135M-Instruct-Q4_1.gguf")
    assert "+  smollm2-135m:" in plan.config_diff
    assert '-  "nomic-embed":' in plan.config_diff
    assert plan.notes == ("llama-swap loads the new entry if it runs with -watch-config; "
                          "otherwise send it SIGHUP",)  # §5 Reload
    unverified = await installer.plan(smol("http://127.0.0.1:9/x.gguf", payload, sha=False))
    assert any("installed unverified" in note for note in unverified.notes)


async def test_install_downloads_verifies_and_registers(tmp_path: Path, payload: bytes) -> None:
    installer = make(tmp_path)
    config = installer.config_path
    assert config is not None
    with serve_files({"smol.gguf": payload}) as server:
        target = smol(server.url("smol.gguf"), payload)
        events = [p async for p in installer.install(target)]
    dest = tmp_path / "models" / "SmolLM2-135M-Instruct-Q4_1.gguf"
    assert dest.read_bytes() == payload
    assert events[-1].phase is Phase.DONE and events[-1].verified is True
    assert "backup at" in events[-1].message
    assert models_in(config)["smollm2-135m"] == {
        "name": "SmolLM2 135M", "cmd": f"/opt/llama-server --port ${{PORT}} -m {dest} -ngl 99"}
    backups = list(config.parent.glob("config.yaml.swapdeck-*.bak"))
    assert [b.read_text() for b in backups] == [CONFIG]
    entry = await installer.installed_entry(target)
    assert entry.size_bytes == len(payload) and entry.digest == sha256_hex(payload)
    assert [m.path for m in await installer.installed()] == [str(dest)]


async def test_cancel_in_the_install_phase_leaves_no_file_and_no_config_change(
        tmp_path: Path, payload: bytes) -> None:
    installer = make(tmp_path)
    control = TransferControl()
    seen: list[Progress] = []
    with serve_files({"smol.gguf": payload}) as server:
        target = smol(server.url("smol.gguf"), payload)
        with pytest.raises(Cancelled):
            async for progress in installer.install(target, control):
                seen.append(progress)
                if progress.phase is Phase.INSTALL and "config" in progress.message:
                    control.cancel()
    assert not (tmp_path / "models" / target.file_name).exists()
    assert installer.config_path is not None and installer.config_path.read_text() == CONFIG
    assert seen[-1].phase is Phase.INSTALL


async def test_a_broken_config_fails_the_install_and_removes_the_gguf(tmp_path: Path,
                                                                      payload: bytes) -> None:
    installer = make(tmp_path, config="models:\n  a: [unclosed\n")
    with serve_files({"smol.gguf": payload}) as server:
        target = smol(server.url("smol.gguf"), payload)
        with pytest.raises(ConfigInvalid, match="not valid YAML"):
            async for _progress in installer.install(target):
                pass
    assert not (tmp_path / "models" / target.file_name).exists()


async def test_remove_takes_the_model_out_of_the_config_then_deletes_the_file(
        tmp_path: Path, payload: bytes) -> None:
    installer = make(tmp_path)
    with serve_files({"smol.gguf": payload}) as server:
        target = smol(server.url("smol.gguf"), payload)
        async for _progress in installer.install(target):
            pass
    dest = tmp_path / "models" / target.file_name
    entry = PoolEntry(id=target.id, installer="llama-swap", size_bytes=len(payload),
                      installed_at=0, path=str(dest))
    removal = await installer.plan_removal((entry,))
    assert "-  smollm2-135m:" in removal.config_diff
    await installer.remove(entry)
    assert not dest.exists()
    assert installer.config_path is not None
    assert installer.config_path.read_text() == CONFIG
    await installer.remove(entry)  # already gone: not an error


async def test_without_a_config_path_it_only_downloads(tmp_path: Path, payload: bytes) -> None:
    installer = make(tmp_path, config=None)
    with serve_files({"smol.gguf": payload}) as server:
        target = smol(server.url("smol.gguf"), payload)
        plan = await installer.plan(target)
        events = [p async for p in installer.install(target)]
    assert plan.config_diff == "" and any("no [pool] llama_swap_config" in n for n in plan.notes)
    assert "no llama-swap config edited" in events[-1].message
