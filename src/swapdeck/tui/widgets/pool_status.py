"""The Pool screen's live line: the install in progress (phase, bar, bytes, rate, ETA, keys)
or how it ended, and the quick bench. Pure; `PoolStatus` shows it."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from textual.content import Content
from textual.widgets import Static

from swapdeck.pool.catalog import UpgradeProposal
from swapdeck.pool.download import OrphanPartial
from swapdeck.pool.errors import human_bytes
from swapdeck.pool.installers.base import Phase, Progress
from swapdeck.pool.session_values import BenchJob, InstallJob, JobState
from swapdeck.pool.session_view import proposal_text
from swapdeck.tui.widgets.gauges import bar

IDLE_HINT = ("Enter why · i install · e evict · u upgrade · b bench · f/s/t filter · h hardware "
             "· Tab switches tables")


def eta_text(seconds: float | None) -> str:
    if seconds is None:
        return "ETA —"
    whole = int(seconds)
    return f"ETA {whole // 60}:{whole % 60:02d}"


def _amount(progress: Progress) -> str:
    if progress.total_bytes:
        return (f"{progress.fraction or 0:4.0%} {human_bytes(progress.done_bytes)}"
                f"/{human_bytes(progress.total_bytes)}")
    return human_bytes(progress.done_bytes)


def running_line(job: InstallJob, width: int) -> Content:
    progress = job.progress
    name = job.model_id
    if progress is None:
        return Content.assemble(("⋯ ", "$accent"), f"starting the install of {name}…")
    cells = max(8, min(30, width // 5))
    if job.paused:
        return Content.assemble(("⏸ ", "$warning"), (name, "bold"), " paused at ",
                                _amount(progress), "  ", ("p resumes · x cancels", "dim"))
    if progress.phase is Phase.EVICT:
        return Content.assemble(("✂ ", "$warning"), f"{progress.message} to make room for ",
                                (name, "bold"))
    if progress.phase is Phase.DOWNLOAD:
        rate = f"{human_bytes(progress.rate_bps)}/s" if progress.rate_bps else "— /s"
        return Content.assemble(
            ("↓ ", "$accent"), (name, "bold"), " ", (bar(progress.fraction, cells), "$accent"),
            f" {_amount(progress)} · {rate} · {eta_text(progress.eta_s)}  ",
            ("p pause · x cancel", "dim"))
    if progress.phase is Phase.VERIFY:
        what = "checking sha256" if progress.verified is None else progress.message
        return Content.assemble(("⚖ ", "$accent"), (name, "bold"), f" verify: {what} ",
                                (bar(progress.fraction, cells), "$accent"))
    return Content.assemble(("⚙ ", "$accent"), (name, "bold"), f" install: {progress.message}")


def finished_line(job: InstallJob) -> Content:
    name = job.model_id
    evicted = f"; evicted {', '.join(job.evicted)}" if job.evicted else ""
    if job.state is JobState.DONE:
        verified = job.progress is not None and job.progress.verified
        how = "sha256 verified" if verified else "unverified: no sha256 known"
        return Content.assemble(("✓ ", "$success"), (name, "bold"), f" installed ({how})",
                                evicted)
    if job.state is JobState.INTERRUPTED:
        return Content.assemble(("⏸ ", "$warning"), job.message, evicted)
    style = "$warning" if job.state is JobState.CANCELLED else "$error"
    return Content.assemble(("✗ ", style), (job.message, style), evicted)


def job_line(job: InstallJob | None, width: int) -> Content | None:
    if job is None:
        return None
    if job.state is JobState.RUNNING:
        return running_line(job, width)
    return finished_line(job)


def bench_line(bench: BenchJob | None) -> Content | None:
    if bench is None:
        return None
    head = f"bench {bench.model_id} on {bench.host}: "
    if bench.state is JobState.RUNNING:
        return Content.assemble(("⏱ ", "$accent"), head, bench.message or "starting…")
    style = "$success" if bench.state is JobState.DONE else "$error"
    return Content.assemble(("⏱ ", style), head, (bench.message, style))


def detail_text(proposal: UpgradeProposal | None, waiting: Collection[str],
                resumable: Sequence[OrphanPartial]) -> str:
    """The line under the installed table: the selected model's upgrade, else what waits."""
    if proposal is not None:
        return f"↑ upgrade: {proposal_text(proposal)} — u installs it"
    if waiting:
        return (f"waiting for a new yes (it would now evict): {', '.join(waiting)} — i on it "
                "shows the plan")
    if resumable:
        kept = resumable[0]
        return (f"◐ a partial download of {kept.request.model_id} is kept "
                f"({human_bytes(kept.bytes_on_disk)}): installing it resumes")
    return ""


class PoolStatus(Static):
    DEFAULT_CSS = """
    PoolStatus {
        height: auto;
        max-height: 2;
        padding: 0 1;
        background: $panel;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def show(self, job: InstallJob | None, bench: BenchJob | None) -> None:
        width = self.size.width or self.app.size.width
        lines = [line for line in (job_line(job, width), bench_line(bench)) if line is not None]
        self.update(Content("\n").join(lines) if lines else Content.styled(IDLE_HINT, "dim"))
