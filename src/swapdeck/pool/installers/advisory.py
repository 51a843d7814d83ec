"""For engines swapdeck cannot drive: the exact commands a person would run instead.

Every argument is shell-quoted (`shlex.quote`), so a path with a space or a URL with `&`
pastes safely. The GGUF recipe resumes (`curl -C -`) and checks the sha256 when one is
known; without one it says so rather than print a check that cannot be done.
"""

from __future__ import annotations

import shlex
from collections.abc import AsyncIterator

from swapdeck.pool.errors import InstallerUnavailable
from swapdeck.pool.installers.base import (
    InstalledModel,
    InstallerPlan,
    InstallTarget,
    Progress,
    TransferControl,
)
from swapdeck.pool.installers.llamaswap_config import render_model_cmd
from swapdeck.pool.settings import PoolSettings
from swapdeck.pool.state import PoolEntry

_REFUSAL = "swapdeck does not drive this engine; run the planned commands yourself"


def gguf_commands(target: InstallTarget, settings: PoolSettings,
                  evicting: tuple[PoolEntry, ...] = ()) -> tuple[str, ...]:
    models_dir = settings.models_dir.expanduser()
    dest = models_dir / target.file_name
    q = shlex.quote
    lines = [f"rm -f -- {q(entry.path)}" for entry in evicting if entry.path]
    lines.append(f"mkdir -p -- {q(str(models_dir))}")
    lines.append(f"curl -L --fail -C - -o {q(str(dest))} {q(target.download_url())}")
    if target.sha256:
        lines.append(f"echo {q(f'{target.sha256.lower()}  {dest}')} | sha256sum -c -")
    else:
        lines.append("# no sha256 is known for this file: it cannot be verified here")
    return tuple(lines)


def ollama_commands(target: InstallTarget,
                    evicting: tuple[PoolEntry, ...] = ()) -> tuple[str, ...]:
    q = shlex.quote
    lines = [f"ollama rm {q(entry.id)}" for entry in evicting if entry.installer == "ollama"]
    lines.append(f"ollama pull {q(target.engine_id('ollama'))}")
    return tuple(lines)


def llamaswap_snippet(target: InstallTarget, settings: PoolSettings) -> str:
    """The `models.<id>` entry to paste into config.yaml (llama-swap-api.md §5)."""
    dest = settings.models_dir.expanduser() / target.file_name
    cmd = render_model_cmd(settings.llama_server_cmd, dest)
    return (f"models:\n  {_yaml_str(target.id)}:\n    name: {_yaml_str(target.name or target.id)}"
            f"\n    cmd: {_yaml_str(cmd)}\n")


def _yaml_str(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


class AdvisoryInstaller:
    kind = "advisory"

    def __init__(self, settings: PoolSettings) -> None:
        self.settings = settings

    async def plan(self, target: InstallTarget,
                   evicting: tuple[PoolEntry, ...] = ()) -> InstallerPlan:
        if target.ollama_name and not target.file:
            commands = ollama_commands(target, evicting)
            return InstallerPlan(kind=self.kind, source=target.engine_id("ollama"),
                                 destination="ollama", commands=commands)
        commands = gguf_commands(target, self.settings, evicting)
        notes = ["then add this to the llama-swap config.yaml:\n"
                 + llamaswap_snippet(target, self.settings)]
        if evicting:
            notes.append("and delete the models.<id> entries of "
                         + ", ".join(e.id for e in evicting) + " from it")
        return InstallerPlan(kind=self.kind, source=target.download_url(),
                             destination=str(self.settings.models_dir.expanduser()
                                             / target.file_name),
                             sha256=target.sha256, commands=commands, notes=tuple(notes))

    async def plan_removal(self, entries: tuple[PoolEntry, ...]) -> InstallerPlan:
        q = shlex.quote
        commands = tuple(f"ollama rm {q(e.id)}" if e.installer == "ollama"
                         else f"rm -f -- {q(e.path or '')}" for e in entries)
        notes = tuple(f"and delete models.{e.id} from the llama-swap config.yaml"
                      for e in entries if e.installer == "llama-swap")
        return InstallerPlan(kind=self.kind, source="", destination="", commands=commands,
                             notes=notes)

    def install(self, target: InstallTarget,
                control: TransferControl | None = None) -> AsyncIterator[Progress]:
        raise InstallerUnavailable("advisory", _REFUSAL)

    async def installed_entry(self, target: InstallTarget) -> InstalledModel:
        raise InstallerUnavailable("advisory", _REFUSAL)

    async def remove(self, entry: PoolEntry) -> None:
        raise InstallerUnavailable("advisory", _REFUSAL)

    async def discard(self, target: InstallTarget) -> int:
        return 0

    async def installed(self) -> list[InstalledModel]:
        raise InstallerUnavailable("advisory", "swapdeck cannot see what this engine holds")
