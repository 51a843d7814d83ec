"""Install a GGUF for llama-swap: download it into the models dir, then add `models.<id>`
to the host's config.yaml (llama-swap-api.md §5). Removal undoes both, config first so
llama-swap never points at a file that is gone.

Without `[pool] llama_swap_config` the GGUF is still downloaded and verified, and the plan
says that llama-swap was not told about it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

from swapdeck.pool.download import Downloader, DownloadRequest, DownloadResult
from swapdeck.pool.errors import DiskFull, human_bytes
from swapdeck.pool.installers.base import (
    InstalledModel,
    InstallerPlan,
    InstallTarget,
    Phase,
    Progress,
    TransferControl,
)
from swapdeck.pool.installers.llamaswap_config import (
    NewModel,
    apply_config_edit,
    plan_config_edit,
    render_model_cmd,
)
from swapdeck.pool.installers.partial_files import PARTIAL_DIR
from swapdeck.pool.settings import PoolSettings
from swapdeck.pool.state import PoolEntry


def _utc_now() -> datetime:
    return datetime.now(UTC)


class LlamaSwapInstaller:
    kind = "llama-swap"

    def __init__(self, settings: PoolSettings, downloader: Downloader | None = None, *,
                 now: Callable[[], datetime] = _utc_now) -> None:
        self.models_dir = settings.models_dir.expanduser()
        config = settings.llama_swap_config
        self.config_path = config.expanduser() if config is not None else None
        self.cmd_template = settings.llama_server_cmd
        self.downloader = downloader or Downloader(self.models_dir)
        self._now = now
        self._results: dict[str, DownloadResult] = {}

    # ----------------------------------------------------------------- describing

    def destination(self, target: InstallTarget) -> Path:
        return self.models_dir / target.file_name

    def request(self, target: InstallTarget) -> DownloadRequest:
        size = target.size_bytes if target.size_exact else None
        return DownloadRequest(model_id=target.id, url=target.download_url(),
                               dest=self.destination(target), size_bytes=size,
                               sha256=target.sha256.lower() if target.sha256 else None)

    def new_model(self, target: InstallTarget) -> NewModel:
        return NewModel(target.id, render_model_cmd(self.cmd_template, self.destination(target)),
                        target.name or target.id)

    async def plan(self, target: InstallTarget,
                   evicting: tuple[PoolEntry, ...] = ()) -> InstallerPlan:
        request = self.request(target)
        notes = []
        kept = self.downloader.partials.kept_bytes(request)
        self._check_disk(target, kept, evicting)
        if kept:
            notes.append(f"resumes a partial download ({human_bytes(kept)} already here)")
        if not target.sha256:
            notes.append("no sha256 in the catalog: verified against the Hub's LFS hash if it "
                         "gives one, otherwise installed unverified")
        diff, config = "", None
        if self.config_path is None:
            notes.append("no [pool] llama_swap_config set: the GGUF is downloaded but no "
                         "llama-swap config is edited")
        else:
            removing = [e.id for e in evicting if e.installer == "llama-swap"]
            edit = await asyncio.to_thread(plan_config_edit, self.config_path,
                                           add=[self.new_model(target)], remove=removing)
            diff, config = edit.diff, str(self.config_path)
            # llama-swap-api.md §5: a running llama-swap re-reads its config on -watch-config
            # (2 s poll) or SIGHUP; nothing else makes it see the new model.
            notes.append("llama-swap loads the new entry if it runs with -watch-config; "
                         "otherwise send it SIGHUP")
        return InstallerPlan(kind=self.kind, source=request.url, destination=str(request.dest),
                             sha256=request.sha256, config_path=config, config_diff=diff,
                             notes=tuple(notes), blocker=self._foreign_file(target))

    def _foreign_file(self, target: InstallTarget) -> str:
        """A file already where the download would land, unless it has the catalog's exact
        size (then its sha256 decides at the end: the same bytes are kept, as they are).
        Found now, before anything is evicted or downloaded, not after the whole file."""
        dest = self.destination(target)
        try:
            size = dest.stat().st_size
        except FileNotFoundError:
            return ""
        if target.size_exact and size == target.size_bytes:
            return ""
        expected = (f"the catalog's file is {human_bytes(target.size_bytes)}"
                    if target.size_exact and target.size_bytes is not None
                    else "the catalog gives no exact size to compare")
        return (f"{dest} already exists ({human_bytes(size)}; {expected}) and is not a pool "
                "file; move or delete it first")

    def _check_disk(self, target: InstallTarget, kept: int,
                    evicting: tuple[PoolEntry, ...]) -> None:
        """Refuse now, before anything is evicted, when even the evicted files' space would
        not hold the rest of the download."""
        if target.size_bytes is None:
            return
        remaining = max(0, target.size_bytes - kept)
        freed = sum(e.size_bytes for e in evicting
                    if e.installer == "llama-swap" and e.path and Path(e.path).exists())
        free = self.downloader.free_bytes()
        if free + freed < remaining:
            raise DiskFull(self.models_dir, remaining, free + freed)

    async def plan_removal(self, entries: tuple[PoolEntry, ...]) -> InstallerPlan:
        ids = [e.id for e in entries if e.installer == "llama-swap"]
        paths = ", ".join(e.path or "?" for e in entries if e.installer == "llama-swap")
        diff, config = "", None
        if self.config_path is not None and ids:
            edit = await asyncio.to_thread(plan_config_edit, self.config_path, remove=ids)
            diff, config = edit.diff, str(self.config_path)
        return InstallerPlan(kind=self.kind, source="", destination=paths,
                             config_path=config, config_diff=diff)

    # ----------------------------------------------------------------- doing

    async def install(self, target: InstallTarget,
                      control: TransferControl | None = None) -> AsyncIterator[Progress]:
        control = control or TransferControl()
        request = self.request(target)
        existed = request.dest.exists()
        handle = self.downloader.start(request, control)
        async for progress in handle.events():
            if progress.phase is not Phase.DONE:
                yield progress
        result = await handle.result()
        self._results[target.id] = result
        try:
            async for progress in self._register(target, result, control):
                yield progress
        except BaseException:
            if not existed:
                request.dest.unlink(missing_ok=True)  # ours, and never made it into the config
            raise

    async def _register(self, target: InstallTarget, result: DownloadResult,
                        control: TransferControl) -> AsyncIterator[Progress]:
        verified = result.verified
        if self.config_path is not None:
            yield Progress(target.id, Phase.INSTALL, result.size_bytes, result.size_bytes,
                           verified=verified, message=f"adding models.{target.id} to "
                           f"{self.config_path}")
            await control.checkpoint(f"install of {target.id}")
            edit = await asyncio.to_thread(plan_config_edit, self.config_path,
                                           add=[self.new_model(target)])
            control.raise_if_cancelled(f"install of {target.id}")
            backup = await asyncio.to_thread(apply_config_edit, edit, now=self._now())
            note = f"; backup at {backup}" if backup else ""
        else:
            note = "; no llama-swap config edited"
        status = "verified" if verified else "unverified: no sha256 known"
        yield Progress(target.id, Phase.DONE, result.size_bytes, result.size_bytes,
                       verified=verified, message=f"installed at {result.path} ({status}){note}")

    async def installed_entry(self, target: InstallTarget) -> InstalledModel:
        path = self.destination(target)
        result = self._results.get(target.id)
        return InstalledModel(id=target.id, size_bytes=path.stat().st_size, path=str(path),
                              digest=result.sha256 if result else None,
                              quant=target.quant, family=target.family)

    async def remove(self, entry: PoolEntry) -> None:
        if self.config_path is not None:
            edit = await asyncio.to_thread(plan_config_edit, self.config_path, remove=[entry.id])
            await asyncio.to_thread(apply_config_edit, edit, now=self._now())
        if entry.path:
            Path(entry.path).unlink(missing_ok=True)

    async def discard(self, target: InstallTarget) -> int:
        try:
            request = self.request(target)
        except ValueError:
            return 0
        return self.downloader.discard(request)

    async def installed(self) -> list[InstalledModel]:
        """Every GGUF under the models dir (partials excluded)."""
        def scan() -> list[InstalledModel]:
            if not self.models_dir.is_dir():
                return []
            found = []
            for path in sorted(self.models_dir.rglob("*.gguf")):
                if PARTIAL_DIR in path.relative_to(self.models_dir).parts or not path.is_file():
                    continue
                found.append(InstalledModel(id=path.stem, size_bytes=path.stat().st_size,
                                            path=str(path)))
            return found

        return await asyncio.to_thread(scan)

