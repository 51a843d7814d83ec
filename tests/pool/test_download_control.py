"""Pause, resume and cancel in every phase; one download per model; orphaned partials.

Every test records progress with `ProgressLog`, which asserts at each event that the
destination is absent or complete — never half-written.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from swapdeck.pool.download import Downloader, DownloadRequest
from swapdeck.pool.errors import Cancelled, DownloadFailed, DownloadInProgress
from swapdeck.pool.installers.base import Phase, Progress, TransferControl
from tests.pool.conftest import ProgressLog, sha256_hex
from tests.pool.servers import FileKnobs, serve_files


def make_request(url: str, models: Path, data: bytes, model_id: str = "tiny") -> DownloadRequest:
    return DownloadRequest(model_id=model_id, url=url, dest=models / f"{model_id}.gguf",
                           size_bytes=len(data), sha256=sha256_hex(data))


def downloader(models: Path, **kwargs: object) -> Downloader:
    options: dict[str, object] = {"retry_delay_s": 0.0, "progress_every_bytes": 32 * 1024}
    options.update(kwargs)
    return Downloader(models, **options)  # type: ignore[arg-type]


async def test_cancel_during_verify_leaves_nothing(tmp_path: Path, payload: bytes) -> None:
    control = TransferControl()
    with serve_files({"tiny.gguf": payload}) as server:
        request = make_request(server.url("tiny.gguf"), tmp_path, payload)
        log = ProgressLog(request.dest, payload)

        def cancel_on_verify(progress: Progress) -> None:
            log(progress)
            if progress.phase is Phase.VERIFY:
                control.cancel()

        with pytest.raises(Cancelled):
            await downloader(tmp_path).download(request, control, cancel_on_verify)
    assert log.phases()[-1] is Phase.VERIFY
    assert not request.dest.exists()
    assert list((tmp_path / ".partial").iterdir()) == []


async def test_cancel_while_rehashing_kept_bytes(tmp_path: Path, payload: bytes) -> None:
    with serve_files({"tiny.gguf": payload}, FileKnobs(cut_after_bytes=256 * 1024)) as server:
        request = make_request(server.url("tiny.gguf"), tmp_path, payload)
        with pytest.raises(DownloadFailed):
            await downloader(tmp_path, retries=0).download(request)
        control = TransferControl()
        log = ProgressLog(request.dest, payload)

        def cancel_on_rehash(progress: Progress) -> None:
            log(progress)
            control.cancel()

        with pytest.raises(Cancelled):
            await downloader(tmp_path).download(request, control, cancel_on_rehash)
        assert server.ranges() == [None]  # cancelled before asking for the rest
    assert [e.phase for e in log.events] == [Phase.VERIFY]
    assert not request.dest.exists() and list((tmp_path / ".partial").iterdir()) == []


async def test_cancel_during_install_phase(tmp_path: Path, payload: bytes) -> None:
    control = TransferControl()
    with serve_files({"tiny.gguf": payload}) as server:
        request = make_request(server.url("tiny.gguf"), tmp_path, payload)
        log = ProgressLog(request.dest, payload)

        def cancel_on_install(progress: Progress) -> None:
            log(progress)
            if progress.phase is Phase.INSTALL:
                control.cancel()

        with pytest.raises(Cancelled):
            await downloader(tmp_path).download(request, control, cancel_on_install)
    assert not request.dest.exists()


async def test_pause_then_resume_continues_with_a_range_request(tmp_path: Path,
                                                                payload: bytes) -> None:
    control = TransferControl()
    with serve_files({"tiny.gguf": payload}) as server:
        request = make_request(server.url("tiny.gguf"), tmp_path, payload)
        log = ProgressLog(request.dest, payload)
        paused_at: list[int] = []

        def pause_once(progress: Progress) -> None:
            log(progress)
            if progress.paused:
                paused_at.append(progress.done_bytes)
                asyncio.get_running_loop().call_soon(control.resume)
            elif not paused_at and progress.done_bytes >= 128 * 1024:
                control.pause()

        result = await downloader(tmp_path).download(request, control, pause_once)
    assert len(paused_at) == 1 and 0 < paused_at[0] < len(payload)
    assert server.ranges() == [None, f"bytes={paused_at[0]}-"]
    assert result.verified and request.dest.read_bytes() == payload


async def test_pause_in_verify_and_install_waits_for_resume(tmp_path: Path,
                                                            payload: bytes) -> None:
    control = TransferControl()
    with serve_files({"tiny.gguf": payload}) as server:
        request = make_request(server.url("tiny.gguf"), tmp_path, payload)
        log = ProgressLog(request.dest, payload)
        paused_in: list[Phase] = []

        def pause_at_each_late_phase(progress: Progress) -> None:
            log(progress)
            if progress.paused:
                paused_in.append(progress.phase)
                assert not request.dest.exists()
                asyncio.get_running_loop().call_soon(control.resume)
            elif progress.phase in (Phase.VERIFY, Phase.INSTALL):
                control.pause()

        await downloader(tmp_path).download(request, control, pause_at_each_late_phase)
    assert paused_in == [Phase.VERIFY, Phase.INSTALL]
    assert request.dest.read_bytes() == payload


async def test_handle_cancel_deletes_the_partial(tmp_path: Path, payload: bytes) -> None:
    with serve_files({"tiny.gguf": payload}) as server:
        request = make_request(server.url("tiny.gguf"), tmp_path, payload)
        loader = downloader(tmp_path)
        handle = loader.start(request)
        async for progress in handle.events():
            if progress.done_bytes >= 64 * 1024:
                handle.cancel()
        with pytest.raises(Cancelled):
            await handle.result()
    assert loader.active("tiny") is None
    assert not request.dest.exists() and list((tmp_path / ".partial").iterdir()) == []


async def test_one_download_per_model_second_request_joins_or_is_refused(
        tmp_path: Path, payload: bytes) -> None:
    with serve_files({"tiny.gguf": payload, "other.gguf": payload}) as server:
        loader = downloader(tmp_path)
        request = make_request(server.url("tiny.gguf"), tmp_path, payload)
        first = loader.start(request)
        second = loader.start(make_request(server.url("tiny.gguf"), tmp_path, payload))
        assert second is first
        with pytest.raises(DownloadInProgress):
            loader.start(make_request(server.url("other.gguf"), tmp_path, payload))
        seen_a = [p async for p in first.events()]
        result = await second.result()
    assert seen_a[-1].phase is Phase.DONE
    assert result.path.read_bytes() == payload
    assert server.ranges() == [None]  # one transfer served both callers
    assert loader.active("tiny") is None


async def test_orphans_are_listed_resumed_or_cleaned(tmp_path: Path, payload: bytes) -> None:
    cut = 100 * 1024
    with serve_files({"tiny.gguf": payload}, FileKnobs(cut_after_bytes=cut)) as server:
        request = make_request(server.url("tiny.gguf"), tmp_path, payload)
        with pytest.raises(DownloadFailed):
            await downloader(tmp_path, retries=0).download(request)
        partial_dir = tmp_path / ".partial"
        (partial_dir / "0123abcd.part").write_bytes(b"nobody knows what this is")
        (partial_dir / "feedbeef.json").write_text("{not json")

        restarted = downloader(tmp_path)
        report = restarted.recover_orphans()
        assert [(o.request, o.bytes_on_disk) for o in report.resumable] == [(request, cut)]
        assert sorted(p.name for p in report.cleaned) == ["0123abcd.part", "feedbeef.json"]

        result = await restarted.download(report.resumable[0].request)
    assert result.path.read_bytes() == payload
    assert server.ranges()[-1] == f"bytes={cut}-"
    assert restarted.orphans() == []


async def test_an_interruption_keeps_the_partial_to_resume(tmp_path: Path,
                                                           payload: bytes) -> None:
    """A task cancelled without `control.cancel()` (shutdown, Ctrl-C) is not an abandon."""
    with serve_files({"tiny.gguf": payload}) as server:
        request = make_request(server.url("tiny.gguf"), tmp_path, payload)
        started = asyncio.Event()

        def note(progress: Progress) -> None:
            if progress.done_bytes >= 64 * 1024:
                started.set()

        task = asyncio.create_task(downloader(tmp_path).download(request, on_progress=note))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        kept = downloader(tmp_path).orphans()
        assert [o.request for o in kept] == [request] and kept[0].bytes_on_disk > 0
        await downloader(tmp_path).download(request)
    assert request.dest.read_bytes() == payload
    assert server.ranges()[-1] == f"bytes={kept[0].bytes_on_disk}-"


async def test_two_downloaders_never_write_the_same_partial(tmp_path: Path,
                                                            payload: bytes) -> None:
    """Like two processes (CLI and TUI) asked for the same file: the partial is locked."""
    with serve_files({"tiny.gguf": payload}) as server:
        request = make_request(server.url("tiny.gguf"), tmp_path, payload)
        first, second = await asyncio.gather(
            downloader(tmp_path).download(request), downloader(tmp_path).download(request),
            return_exceptions=True)
    assert not isinstance(first, BaseException) and first.path.read_bytes() == payload
    assert isinstance(second, DownloadInProgress)
    assert server.ranges() == [None]
