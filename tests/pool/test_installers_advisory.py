"""The advisory installer: exact, shell-quoted commands, and a refusal to pretend."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from swapdeck.pool.errors import InstallerUnavailable
from swapdeck.pool.installers.advisory import AdvisoryInstaller
from swapdeck.pool.installers.base import InstallTarget
from swapdeck.pool.settings import PoolSettings
from swapdeck.pool.state import PoolEntry

SHA = "3f1c" + "0" * 56 + "9abc"
URL = "https://example.test/files/model.gguf?download=true&token=a b"


def settings(tmp_path: Path) -> PoolSettings:
    return PoolSettings(models_dir=tmp_path / "my models", install_target="advisory")


async def test_gguf_commands_are_quoted_and_check_the_hash(tmp_path: Path) -> None:
    target = InstallTarget(id="m", org="o", file="Model Q4.gguf", url=URL, sha256=SHA,
                           size_bytes=10)
    old = PoolEntry(id="old", installer="llama-swap", size_bytes=5, installed_at=0,
                    path=str(tmp_path / "my models" / "old $(rm -rf).gguf"))
    plan = await AdvisoryInstaller(settings(tmp_path)).plan(target, (old,))
    dest = str(tmp_path / "my models" / "Model Q4.gguf")
    argv = [shlex.split(line) for line in plan.commands]
    assert argv[0] == ["rm", "-f", "--", old.path]
    assert argv[1] == ["mkdir", "-p", "--", str(tmp_path / "my models")]
    assert argv[2] == ["curl", "-L", "--fail", "-C", "-", "-o", dest, URL]
    assert argv[3][:2] == ["echo", f"{SHA}  {dest}"] and argv[3][2:] == ["|", "sha256sum",
                                                                         "-c", "-"]
    snippet = plan.notes[0]
    assert '"m":' in snippet and "--port ${PORT}" in snippet
    assert "delete the models.<id> entries of old" in plan.notes[1]


async def test_without_a_hash_it_says_it_cannot_verify(tmp_path: Path) -> None:
    target = InstallTarget(id="m", org="o", file="m.gguf", url=URL, size_bytes=10)
    plan = await AdvisoryInstaller(settings(tmp_path)).plan(target)
    assert plan.commands[-1].startswith("# no sha256 is known")
    assert not any("sha256sum" in line for line in plan.commands)


async def test_ollama_targets_get_ollama_commands(tmp_path: Path) -> None:
    target = InstallTarget(id="qwen3-8b", org="Qwen", ollama_name="qwen3:8b", size_bytes=1)
    gone = PoolEntry(id="llama3.2:3b", installer="ollama", size_bytes=1, installed_at=0)
    plan = await AdvisoryInstaller(settings(tmp_path)).plan(target, (gone,))
    assert plan.commands == ("ollama rm llama3.2:3b", "ollama pull qwen3:8b")


async def test_it_never_pretends_to_install(tmp_path: Path) -> None:
    installer = AdvisoryInstaller(settings(tmp_path))
    target = InstallTarget(id="m", org="o", file="m.gguf", url=URL, size_bytes=1)
    with pytest.raises(InstallerUnavailable, match="run the planned commands yourself"):
        installer.install(target)
    with pytest.raises(InstallerUnavailable):
        await installer.installed()
