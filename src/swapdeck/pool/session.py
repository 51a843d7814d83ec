"""The long-lived pool session the Pool screen drives: rank, install, evict, bench — UI-free.

One `PoolSession` lives as long as the app (the screen only looks at it), so a download keeps
going while the person looks at another screen. Everything slow runs in the session's own
asyncio tasks or in threads; the screen reads the facts below and watches `revision`, which
goes up whenever one of them changed.

Nothing is lost across a restart: an install the person confirmed is written to the journal
(`session_journal`) before it starts and struck off when it ends; on `start()` the session
recovers the downloader's partial files (`PoolManager.recover_downloads`) and carries on with
every journalled install whose fresh plan needs no eviction (its evictions already happened
before the download began). One that would now evict something waits for a new confirmation.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Collection, Coroutine, Mapping
from pathlib import Path
from typing import Any

from swapdeck.bench.target import BenchTarget
from swapdeck.pool.catalog import CatalogError
from swapdeck.pool.catalog_hub import FetchRepo, RefreshResult
from swapdeck.pool.download import OrphanPartial
from swapdeck.pool.errors import Cancelled, DownloadFailed, PoolError
from swapdeck.pool.evidence import Observation
from swapdeck.pool.hardware import HardwareProfile
from swapdeck.pool.installers.base import Installer, InstallTarget, Phase, TransferControl
from swapdeck.pool.installers.llamaswap import LlamaSwapInstaller
from swapdeck.pool.installers.llamaswap_config import model_ids
from swapdeck.pool.installers.ollama import OllamaInstaller
from swapdeck.pool.manager import InstallPlan, PoolManager, RemovalPlan
from swapdeck.pool.rank import RankedModel, rank
from swapdeck.pool.session_bench import load_bench_evidence, run_bench_job
from swapdeck.pool.session_hub import hub_checked
from swapdeck.pool.session_journal import (
    JOURNAL_FILE,
    InstallJournal,
    JournalRecord,
    JournalUnreadable,
)
from swapdeck.pool.session_values import (
    USE_FEED_INTERVAL_S,
    BenchJob,
    CatalogSource,
    HardwareLoader,
    InstallJob,
    JobState,
    UsesSource,
    default_installers,
    hardware_cache_dir,
)
from swapdeck.pool.settings import PoolSettings
from swapdeck.pool.state import PoolPolicy, PoolState


class PoolSession:
    def __init__(self, settings: PoolSettings, data_dir: Path, *, hardware: HardwareLoader,
                 catalog: Callable[[], CatalogSource] = CatalogSource.shipped,
                 clock: Callable[[], float] = time.time, bench_database: Path | None = None,
                 local_hosts: Collection[str] = (), uses: UsesSource | None = None,
                 feed_interval_s: float = USE_FEED_INTERVAL_S,
                 installers: Mapping[str, Installer] | None = None,
                 hub: FetchRepo | None = None, hub_cache_dir: Path | None = None) -> None:
        """`hub`: how `check_hub` asks (None: huggingface_hub's own endpoint);
        `hub_cache_dir`: where its answers are kept (None: swapdeck's cache folder)."""
        self.settings = settings
        self.clock = clock
        self.manager = PoolManager(data_dir / "pool.json", settings,
                                   installers or default_installers(settings), clock=clock)
        self._own_installers = installers is None
        self.journal = InstallJournal(data_dir / JOURNAL_FILE)
        self.bench_database = bench_database
        self.local_hosts = frozenset(local_hosts)
        self._catalog_loader = catalog
        self._hardware_loader = hardware
        self._uses = uses
        self._feed_interval_s = feed_interval_s
        self._hub = hub
        self._hub_cache_dir = hub_cache_dir if hub_cache_dir is not None else hardware_cache_dir()
        # What the screen reads:
        self.ready = False
        self.source: CatalogSource | None = None
        self.catalog_error = ""
        self.hardware: HardwareProfile | None = None
        self.state = PoolState()
        self.policy = PoolPolicy(budget_bytes=0, allowed_orgs=(), allowed_families=())
        self.observations: list[Observation] = []
        self.ranking: list[RankedModel] = []
        self.configured: frozenset[str] | None = None
        """The llama-swap config's model ids; None when there is no config to read."""
        self.resumable: tuple[OrphanPartial, ...] = ()
        self.waiting: dict[str, JournalRecord] = {}
        """Journalled installs that would now evict something: they wait for a new yes."""
        self.problems: list[str] = []
        self.job: InstallJob | None = None
        self.bench: BenchJob | None = None
        self.revision = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._job_task: asyncio.Task[None] | None = None
        self._started: asyncio.Task[None] | None = None

    def _touch(self) -> None:
        self.revision += 1

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ------------------------------------------------------------------ start and stop

    def ensure_started(self) -> asyncio.Task[None]:
        """Start once (catalog, hardware, evidence, reconcile, recovery, journal)."""
        if self._started is None:
            self._started = self._spawn(self.start(), "pool-session-start")
        return self._started

    async def start(self) -> None:
        try:
            self.source = await asyncio.to_thread(self._catalog_loader)
        except (CatalogError, PoolError, OSError) as exc:
            self.catalog_error = str(exc)
        self.hardware = await asyncio.to_thread(self._hardware_loader, self.clock())
        await self._load_evidence()
        await self.refresh()
        if self._own_installers and any(e.installer == "ollama" for e in self.state.entries):
            self.manager.installers["ollama"] = OllamaInstaller(self.settings.ollama_url)
        await self._reconcile()
        report = await asyncio.to_thread(self.manager.recover_downloads)
        if report is not None:
            self.resumable = report.resumable
            if report.cleaned:
                self.problems.append(f"cleaned {len(report.cleaned)} unidentifiable partial "
                                     "download file(s)")
        await self.refresh()
        self.ready = True
        self._touch()
        await self._carry_on_journal()
        if self._uses is not None:
            self._spawn(self._feed_forever(), "pool-session-uses")

    async def aclose(self) -> None:
        """Stop without losing anything: a running download keeps its partial and its
        journal record, so the next start resumes it."""
        job_task = self._job_task
        if self.job is not None and self.job.state is JobState.RUNNING:
            self._interrupt_download(self.job.model_id)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, *(t for t in (job_task,) if t),
                             return_exceptions=True)

    def _interrupt_download(self, model_id: str) -> None:
        installer = self.manager.installers.get("llama-swap")
        handle = installer.downloader.active(model_id) \
            if isinstance(installer, LlamaSwapInstaller) else None
        if handle is not None:
            handle.interrupt()  # keeps the partial bytes for the next start

    # ------------------------------------------------------------------ facts

    async def refresh(self) -> None:
        """Re-read pool.json and the llama-swap config, and rank again."""
        try:
            self.state = await asyncio.to_thread(self.manager.load)
            self.policy = self.manager.policy(self.state)
        except PoolError as exc:
            self._say(str(exc))
        self.configured = await asyncio.to_thread(self._configured_models)
        self.rerank()

    def _configured_models(self) -> frozenset[str] | None:
        path = self.settings.llama_swap_config
        if path is None:
            return None
        path = path.expanduser()
        try:
            return frozenset(model_ids(path.read_text(encoding="utf-8"), path))
        except FileNotFoundError:
            return frozenset()
        except (OSError, UnicodeDecodeError, PoolError) as exc:
            self._say(f"{path}: cannot read the llama-swap config ({exc})")
            return None

    def rerank(self) -> None:
        if self.source is not None and self.hardware is not None:
            self.ranking = rank(self.source.candidates, self.hardware, self.observations,
                                now=self.clock(), context_tokens=self.settings.context_tokens,
                                include_unrunnable=True)
        self._touch()

    async def check_hub(self) -> RefreshResult | None:
        """Exact sizes and digests from the Hub (session_hub.py), then rank again; what
        could not be checked becomes a problem, never an exception. None: no catalog."""
        if self.source is None:
            return None
        self.source, result = await hub_checked(
            self.source, cache_dir=self._hub_cache_dir, now=self.clock(),
            offline=self.settings.hub_offline, fetch=self._hub)
        for warning in result.warnings:
            self._say(warning)
        self.rerank()
        return result

    def row(self, model_id: str) -> RankedModel | None:
        return next((row for row in self.ranking if row.id == model_id), None)

    def _say(self, problem: str) -> None:
        if problem not in self.problems:
            self.problems.append(problem)
        self._touch()

    async def _reconcile(self) -> None:
        try:
            report = await self.manager.reconcile()
        except PoolError as exc:
            self._say(str(exc))
            return
        for entry in report.dropped:
            self._say(f"{entry.id} was in the pool but is gone from disk: forgotten")
        wanted = {self.settings.install_target, *(e.installer for e in self.state.entries)}
        for kind in report.unavailable:
            if kind in wanted:
                self._say(f"{kind} could not be asked what it holds")

    async def _load_evidence(self) -> None:
        if self.bench_database is None or self.hardware is None:
            return
        try:
            self.observations = await load_bench_evidence(
                self.bench_database, self.local_hosts, self.hardware.fingerprint)
        except Exception as exc:  # a damaged history must not stop the pool from working
            self._say(f"bench results unreadable: {exc}")

    # ------------------------------------------------------------------ last use

    async def _feed_forever(self) -> None:
        while True:
            await self.feed_uses()
            await asyncio.sleep(self._feed_interval_s)

    async def feed_uses(self) -> None:
        """One batch of the fleet's activity into pool.json (only what moves a last use)."""
        if self._uses is None:
            return
        newer = {}
        for model_id, at in self._uses().items():
            entry = self.state.find(model_id)
            if entry is not None and (entry.last_used_at is None or at > entry.last_used_at):
                newer[model_id] = at
        if newer:
            await asyncio.to_thread(self.manager.record_uses, newer)
            await self.refresh()

    # ------------------------------------------------------------------ install

    def target_for(self, entry_id: str) -> InstallTarget:
        if self.source is None:
            raise PoolError(self.catalog_error or "the catalog is still loading")
        row = self.row(entry_id)
        return self.source.target(entry_id, score=row.score if row else 0.0,
                                  ollama=self.settings.install_target == "ollama")

    async def plan_install(self, entry_id: str) -> InstallPlan:
        """What installing `entry_id` would do; raises `PoolError` (budget, allow-list…)."""
        return await self.manager.prepare(self.target_for(entry_id))

    async def install(self, plan: InstallPlan, *, paused: bool = False,
                      resumed: bool = False) -> InstallJob:
        """Run a confirmed plan in the session's task; raises `PoolError` when it cannot start."""
        if self.job is not None and self.job.state is JobState.RUNNING:
            raise PoolError(f"{self.job.model_id} is being installed; wait for it or cancel "
                            "it (x) first")
        if plan.installer_kind == "advisory":
            raise PoolError("install_target is advisory: swapdeck does not drive this engine; "
                            "run the commands shown in the plan yourself")
        control = TransferControl()
        if paused:
            control.pause()
        job = InstallJob(plan, control, self.clock(), resumed=resumed)
        record = JournalRecord(plan.target, self.clock(), paused)
        await asyncio.to_thread(self.journal.put, record)
        self.waiting.pop(plan.target.id, None)
        self.job = job
        self._job_task = self._spawn(self._run(job), f"pool-install-{job.model_id}")
        self._touch()
        return job

    async def _run(self, job: InstallJob) -> None:
        keep_journal = False
        try:
            async for progress in self.manager.execute(job.plan, job.control):
                job.progress = progress
                if not job.phases or job.phases[-1] is not progress.phase:
                    job.phases.append(progress.phase)
                if progress.phase is Phase.EVICT:
                    job.evicted.append(progress.model_id)
                self._touch()
            outcome = JobState.DONE, job.progress.message if job.progress else "installed"
        except Cancelled as exc:
            outcome = JobState.CANCELLED, str(exc)
        except DownloadFailed as exc:
            outcome = JobState.INTERRUPTED if exc.resumable else JobState.FAILED, str(exc)
            keep_journal = exc.resumable
        except PoolError as exc:
            outcome = JobState.FAILED, str(exc)
        except asyncio.CancelledError:
            job.state, job.message = JobState.INTERRUPTED, "interrupted; resumes on next start"
            job.finished_at = self.clock()
            self._touch()
            raise  # the journal keeps it: the next start carries on
        except Exception as exc:  # disk, permissions…: one line, never a traceback
            outcome = JobState.FAILED, f"{type(exc).__name__}: {exc}"
        if not keep_journal:
            await asyncio.to_thread(self.journal.drop, job.model_id)
        await self.refresh()  # the pool as it is now, before the job says how it ended
        job.state, job.message = outcome
        job.finished_at = self.clock()
        self._touch()

    def toggle_pause(self) -> bool | None:
        """Pause or resume the running install; None when nothing runs."""
        job = self.job
        if job is None or job.state is not JobState.RUNNING:
            return None
        if job.control.paused:
            job.control.resume()
        else:
            job.control.pause()
        self._spawn(asyncio.to_thread(self.journal.put, JournalRecord(
            job.plan.target, job.started_at, job.control.paused)), "pool-journal")
        self._touch()
        return job.control.paused

    def cancel(self) -> bool:
        """Cancel the running install (its partial download is deleted)."""
        job = self.job
        if job is None or job.state is not JobState.RUNNING:
            return False
        job.control.cancel()
        installer = self.manager.installers.get("llama-swap")
        if isinstance(installer, LlamaSwapInstaller):
            handle = installer.downloader.active(job.model_id)
            if handle is not None:
                handle.cancel()  # takes effect even while the server is silent
        self._touch()
        return True

    async def wait_for_job(self) -> InstallJob | None:
        task = self._job_task
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(task)
        return self.job

    async def _carry_on_journal(self) -> None:
        try:
            records = await asyncio.to_thread(self.journal.load)
        except JournalUnreadable as exc:
            self._say(f"{exc}; confirmed installs were not resumed")
            return
        for record in records:
            target = self._current_target(record.target)
            try:
                plan = await self.manager.prepare(target)
                if plan.already_installed:
                    await asyncio.to_thread(self.journal.drop, target.id)
                elif plan.eviction.victims or (self.job and self.job.state is JobState.RUNNING):
                    self.waiting[target.id] = record
                else:
                    await self.install(plan, paused=record.paused, resumed=True)
            except PoolError as exc:
                self._say(f"could not resume the install of {target.id}: {exc}")
                await asyncio.to_thread(self.journal.drop, target.id)
        self._touch()

    def _current_target(self, journalled: InstallTarget) -> InstallTarget:
        """The catalog as it is now, when it still offers the same bytes (its URL may have
        moved); else what was confirmed."""
        try:
            current = self.target_for(journalled.id)
        except PoolError:
            return journalled
        same = current.sha256 == journalled.sha256 and current.size_bytes == journalled.size_bytes
        return current if same else journalled

    # ------------------------------------------------------------------ evict

    async def plan_eviction(self, model_id: str) -> RemovalPlan:
        return await self.manager.prepare_eviction(model_id)

    async def evict(self, plan: RemovalPlan) -> None:
        job = self.job
        if job is not None and job.state is JobState.RUNNING and job.model_id == plan.entry.id:
            raise PoolError(f"{plan.entry.id} is being installed; cancel it (x) instead")
        try:
            await self.manager.evict(plan)
        finally:
            await self.refresh()

    # ------------------------------------------------------------------ bench

    def start_bench(self, model_id: str, target: BenchTarget) -> BenchJob:
        """Run the quick suite on `target` (a host of this machine) in the session's task;
        what it measures becomes the model's speed in the ranking."""
        if self.bench is not None and self.bench.state is JobState.RUNNING:
            raise PoolError(f"a quick bench of {self.bench.model_id} is running; wait for it")
        if self.bench_database is None or self.hardware is None:
            raise PoolError("no history database to store a bench run in")
        job = BenchJob(model_id, target.host)
        self.bench = job
        database, fingerprint = self.bench_database, self.hardware.fingerprint

        async def run() -> None:
            found = await run_bench_job(job, database, target, fingerprint, touch=self._touch,
                                        clock=self.clock)
            if found is not None:
                self.observations.append(found)
            self.rerank()

        self._spawn(run(), f"pool-bench-{model_id}")
        self._touch()
        return job
