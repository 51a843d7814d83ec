"""The pool manager: decide (pure), show, then do exactly what was shown.

`plan_install` is pure: allow-list gate → already installed? → size → capacity → eviction
plan, refusing with `BudgetExceeded` when even evicting everything evictable is not
enough — *before* anything is deleted. `PoolManager.prepare` adds what the installer
would do (source, sha256, the llama-swap config diff), giving the confirmation modal its
`InstallPlan`. `PoolManager.execute(plan)` re-plans first and refuses (`PlanOutdated`) if
anything differs, so what runs is what the person confirmed: evict → install → record.

A failed install deletes its leftover bytes — except an interrupted transfer
(`DownloadFailed(resumable=True)`), whose partial file is kept to resume ("nothing is
lost"). `reconcile()` brings pool.json in line with what is really on disk or in Ollama.
"""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from swapdeck.pool.download import RecoveryReport
from swapdeck.pool.errors import (
    BudgetExceeded,
    DownloadFailed,
    InstallerUnavailable,
    InstallFailed,
    NotInPool,
    PlanOutdated,
    SizeUnknown,
)
from swapdeck.pool.eviction import EvictionPlan, plan_eviction
from swapdeck.pool.installers.base import (
    InstalledModel,
    Installer,
    InstallerPlan,
    InstallTarget,
    Phase,
    Progress,
    TransferControl,
)
from swapdeck.pool.settings import PoolSettings
from swapdeck.pool.state import (
    InstallerKind,
    PoolEntry,
    PoolPolicy,
    PoolState,
    check_allowed,
    effective_policy,
    load_pool,
    pool_lock,
    record_use,
    record_uses,
    save_pool,
    with_allowed_org,
    with_budget,
    with_entry,
    without_entries,
)


@dataclass(frozen=True, slots=True)
class InstallPlan:
    """Everything the confirmation modal shows; `execute` does exactly this."""

    target: InstallTarget
    engine_id: str
    installer_kind: str
    size_bytes: int
    budget_bytes: int
    used_bytes: int
    eviction: EvictionPlan
    already_installed: bool = False
    protect: tuple[str, ...] = ()
    installer: InstallerPlan | None = None

    @property
    def used_after_bytes(self) -> int:
        if self.already_installed:
            return self.used_bytes
        return self.used_bytes - self.eviction.freed_bytes + self.size_bytes


@dataclass(frozen=True, slots=True)
class RemovalPlan:
    entry: PoolEntry
    installer: InstallerPlan


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    dropped: tuple[PoolEntry, ...]
    """In pool.json but gone from the engine: forgotten."""
    resized: tuple[tuple[str, int, int], ...]
    """(id, size recorded, size found)."""
    untracked: tuple[InstalledModel, ...]
    """On the engine but never installed through the pool: listed, not adopted."""
    unavailable: tuple[str, ...]
    """Installer kinds that could not be asked (their entries were left alone)."""


# --------------------------------------------------------------------------- pure core


def plan_install(state: PoolState, policy: PoolPolicy, target: InstallTarget, *,
                 installer_kind: str, protect: Iterable[str] = ()) -> InstallPlan:
    """Decide what installing `target` takes. Raises `NotAllowed`, `SizeUnknown` or
    `BudgetExceeded`; never touches anything."""
    check_allowed(policy, target.id, target.org, target.family)
    kind: InstallerKind = "ollama" if installer_kind == "ollama" else "llama-swap"
    engine_id = target.engine_id(kind)
    protected = tuple(sorted({*protect, engine_id}))
    no_eviction = plan_eviction((), 0)
    existing = state.find(engine_id)
    if existing is not None:
        return InstallPlan(target, engine_id, installer_kind, existing.size_bytes,
                           policy.budget_bytes, state.used_bytes, no_eviction,
                           already_installed=True, protect=protected)
    if target.size_bytes is None:
        raise SizeUnknown(target.id)
    size = target.size_bytes
    need = size - (policy.budget_bytes - state.used_bytes)
    eviction = plan_eviction(state.entries, need, protect=protected)
    if size > policy.budget_bytes or not eviction.covers:
        shortfall = max(eviction.shortfall_bytes, size - policy.budget_bytes)
        raise BudgetExceeded(target.id, size, policy.budget_bytes, shortfall)
    return InstallPlan(target, engine_id, installer_kind, size, policy.budget_bytes,
                       state.used_bytes, eviction, protect=protected)


def reconcile_entries(state: PoolState, kind: InstallerKind,
                      found: Iterable[InstalledModel]) -> tuple[PoolState, ReconcileReport]:
    """Match `kind`'s pool entries with what the engine really holds (GGUFs by path,
    Ollama tags by name)."""
    found = list(found)
    by_key = {(m.path if kind == "llama-swap" else m.id): m for m in found}
    dropped: list[PoolEntry] = []
    resized: list[tuple[str, int, int]] = []
    matched: set[str] = set()
    for entry in state.entries:
        if entry.installer != kind:
            continue
        key = entry.path if kind == "llama-swap" else entry.id
        real = by_key.get(key) if key is not None else None
        if real is None:
            dropped.append(entry)
            continue
        matched.add(key or "")
        if real.size_bytes != entry.size_bytes:
            resized.append((entry.id, entry.size_bytes, real.size_bytes))
            state = with_entry(state, entry.model_copy(update={"size_bytes": real.size_bytes}))
    state = without_entries(state, {e.id for e in dropped})
    untracked = tuple(m for key, m in sorted(by_key.items(), key=lambda kv: str(kv[0]))
                      if key not in matched)
    return state, ReconcileReport(tuple(dropped), tuple(resized), untracked, ())


# --------------------------------------------------------------------------- I/O edge


class PoolManager:
    def __init__(self, state_path: Path, settings: PoolSettings,
                 installers: Mapping[str, Installer], *,
                 clock: Callable[[], float] = time.time) -> None:
        self.state_path = state_path
        self.settings = settings
        self.installers = dict(installers)
        self._clock = clock

    @property
    def installer(self) -> Installer:
        kind = self.settings.install_target
        if kind not in self.installers:
            raise InstallerUnavailable(kind, "not set up in this swapdeck")
        return self.installers[kind]

    def load(self) -> PoolState:
        return load_pool(self.state_path)

    def policy(self, state: PoolState | None = None) -> PoolPolicy:
        return effective_policy(self.settings, state if state is not None else self.load())

    def _update(self, change: Callable[[PoolState], PoolState]) -> PoolState:
        with pool_lock(self.state_path):
            before = load_pool(self.state_path)
            state = change(before)
            if state != before or not self.state_path.exists():
                save_pool(self.state_path, state)
            return state

    # ----------------------------------------------------------------- install

    async def prepare(self, target: InstallTarget, *, protect: Iterable[str] = ()) -> InstallPlan:
        state = self.load()
        unevictable = [e.id for e in state.entries if e.installer not in self.installers]
        plan = plan_install(state, self.policy(state), target,
                            installer_kind=self.settings.install_target,
                            protect=[*protect, *unevictable])
        if plan.already_installed:
            return plan
        installer_plan = await self.installer.plan(target, plan.eviction.victims)
        staying = set(state.entries) - set(plan.eviction.victims)
        owner = next((e for e in staying if e.path and e.path == installer_plan.destination), None)
        if owner is not None:  # evicting one would delete the other's file
            raise InstallFailed(target.id, f"{owner.path} already belongs to pool model "
                                f"{owner.id}; evict it first")
        victim_paths = {e.path for e in plan.eviction.victims if e.path}
        if installer_plan.blocker and installer_plan.destination not in victim_paths:
            raise InstallFailed(target.id, installer_plan.blocker)
        return replace(plan, installer=installer_plan)

    async def execute(self, plan: InstallPlan,
                      control: TransferControl | None = None) -> AsyncIterator[Progress]:
        """Evict, install and record, yielding progress; raises a `PoolError` on failure."""
        fresh = await self.prepare(plan.target, protect=plan.protect)
        if fresh != plan:
            raise PlanOutdated(plan.target.id, _what_changed(plan, fresh))
        if plan.already_installed:
            yield Progress(plan.engine_id, Phase.DONE, plan.size_bytes, plan.size_bytes,
                           message="already installed")
            return
        control = control or TransferControl()
        installer = self.installer
        for victim in plan.eviction.victims:
            await control.checkpoint(f"install of {plan.target.id}")
            await self.installers[victim.installer].remove(victim)
            self._update(functools.partial(without_entries, model_ids=frozenset({victim.id})))
            yield Progress(victim.id, Phase.EVICT, victim.size_bytes, victim.size_bytes,
                           message=f"evicted {victim.id}")
        last: Progress | None = None
        try:
            async for progress in installer.install(plan.target, control):
                last = progress
                yield progress
            installed = await installer.installed_entry(plan.target)
        except DownloadFailed as exc:
            if not exc.resumable:
                await installer.discard(plan.target)
            raise
        except Exception:
            await installer.discard(plan.target)
            raise
        entry = _entry_for(plan, installed, self._clock(), bool(last and last.verified))
        self._update(lambda s: with_entry(s, entry))

    # ----------------------------------------------------------------- evict

    async def prepare_eviction(self, model_id: str) -> RemovalPlan:
        entry = self.load().find(model_id)
        if entry is None:
            raise NotInPool(model_id)
        installer = self.installers.get(entry.installer)
        if installer is None:
            raise InstallerUnavailable(entry.installer, "not set up in this swapdeck")
        return RemovalPlan(entry, await installer.plan_removal((entry,)))

    async def evict(self, plan: RemovalPlan) -> None:
        fresh = await self.prepare_eviction(plan.entry.id)
        if fresh != plan:
            raise PlanOutdated(plan.entry.id, "the entry or the config changed")
        await self.installers[plan.entry.installer].remove(plan.entry)
        self._update(lambda s: without_entries(s, {plan.entry.id}))

    # ----------------------------------------------------------------- bookkeeping

    def record_use(self, model_id: str, at: float) -> None:
        """Fed by the fleet's activity: `model_id` served a request at `at` (unix s)."""
        self._update(lambda s: record_use(s, model_id, at))

    def record_uses(self, uses: Mapping[str, float]) -> None:
        """The batched form: one locked write for many models (the fleet should batch, e.g.
        once a minute, rather than write pool.json per request)."""
        self._update(lambda s: record_uses(s, uses))

    def set_budget(self, budget_bytes: int) -> PoolState:
        return self._update(lambda s: with_budget(s, budget_bytes))

    def allow_org(self, org: str) -> PoolState:
        return self._update(lambda s: with_allowed_org(s, org))

    def recover_downloads(self) -> RecoveryReport | None:
        """On start: list resumable partial downloads, clean unidentifiable ones."""
        downloader = getattr(self.installers.get("llama-swap"), "downloader", None)
        return downloader.recover_orphans() if downloader is not None else None

    async def reconcile(self) -> ReconcileReport:
        dropped: list[PoolEntry] = []
        resized: list[tuple[str, int, int]] = []
        untracked: list[InstalledModel] = []
        unavailable: list[str] = []
        for kind in ("llama-swap", "ollama"):
            installer = self.installers.get(kind)
            if installer is None:
                continue
            try:
                found = await installer.installed()
            except InstallerUnavailable:
                unavailable.append(kind)
                continue
            with pool_lock(self.state_path):
                state, report = reconcile_entries(load_pool(self.state_path), kind, found)
                save_pool(self.state_path, state)
            dropped += report.dropped
            resized += report.resized
            untracked += report.untracked
        return ReconcileReport(tuple(dropped), tuple(resized), tuple(untracked),
                               tuple(unavailable))


def _entry_for(plan: InstallPlan, installed: InstalledModel, now: float,
               verified: bool) -> PoolEntry:
    target = plan.target
    kind: InstallerKind = "ollama" if plan.installer_kind == "ollama" else "llama-swap"
    return PoolEntry(
        id=plan.engine_id, installer=kind, size_bytes=installed.size_bytes, score=target.score,
        installed_at=now, last_used_at=None, org=target.org, family=target.family,
        quant=target.quant or installed.quant, repo=target.repo, file=target.file,
        path=installed.path, verified=verified,
        # An Ollama digest names its manifest, not a GGUF's bytes: only a file hash is kept.
        sha256=(target.sha256 or installed.digest) if kind == "llama-swap" else None,
    )


def _what_changed(shown: InstallPlan, fresh: InstallPlan) -> str:
    if shown.eviction != fresh.eviction:
        return "the models to evict differ"
    if shown.installer != fresh.installer:
        return "the installer's plan (e.g. the llama-swap config) differs"
    if shown.already_installed != fresh.already_installed:
        return "it was installed meanwhile"
    return "the pool's budget or contents differ"
