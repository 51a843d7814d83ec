"""GGUF downloads against real loopback servers: resume, Range handling, hashes, disk checks.

The facts designed against are in ranking-facts §8 (huggingface_hub's resume and
verification gaps); every "restart" here is a new `Downloader` reading the partial file
and its sidecar from disk, as a new process would.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from swapdeck.pool.download import Downloader, DownloadRequest
from swapdeck.pool.errors import DiskFull, DownloadFailed, HashMismatch, ModelNotFound
from swapdeck.pool.installers.base import Phase
from tests.pool.conftest import ProgressLog, sha256_hex
from tests.pool.servers import FileKnobs, serve_files


def request_for(url: str, models: Path, data: bytes, *, sha: bool = True,
                size: bool = True) -> DownloadRequest:
    return DownloadRequest(model_id="tiny", url=url, dest=models / "tiny.gguf",
                           size_bytes=len(data) if size else None,
                           sha256=sha256_hex(data) if sha else None)


def downloader(models: Path, **kwargs: object) -> Downloader:
    options: dict[str, object] = {"retry_delay_s": 0.0, "progress_every_bytes": 32 * 1024}
    options.update(kwargs)
    return Downloader(models, **options)  # type: ignore[arg-type]


async def test_fresh_download_is_verified_and_leaves_no_partial(tmp_path: Path,
                                                                payload: bytes) -> None:
    with serve_files({"tiny.gguf": payload}) as server:
        request = request_for(server.url("tiny.gguf"), tmp_path, payload)
        log = ProgressLog(request.dest, payload)
        result = await downloader(tmp_path).download(request, on_progress=log)
    assert request.dest.read_bytes() == payload
    assert result.verified and result.sha256 == sha256_hex(payload)
    assert result.sha256_source == "catalog"
    assert log.phases() == [Phase.DOWNLOAD, Phase.VERIFY, Phase.INSTALL, Phase.DONE]
    assert log.events[-1].done_bytes == len(payload) and log.events[-1].verified is True
    assert list((tmp_path / ".partial").iterdir()) == []
    assert server.ranges() == [None]


async def test_interrupted_download_resumes_in_a_new_process(tmp_path: Path,
                                                             payload: bytes) -> None:
    cut = 200 * 1024
    with serve_files({"tiny.gguf": payload}, FileKnobs(cut_after_bytes=cut)) as server:
        request = request_for(server.url("tiny.gguf"), tmp_path, payload)
        with pytest.raises(DownloadFailed) as failure:
            await downloader(tmp_path, retries=0).download(request)
        assert failure.value.resumable
        assert not request.dest.exists()
        part = downloader(tmp_path).part_path(request)
        assert part.stat().st_size == cut

        log = ProgressLog(request.dest, payload)
        result = await downloader(tmp_path).download(request, on_progress=log)
    assert request.dest.read_bytes() == payload and result.verified
    assert server.ranges() == [None, f"bytes={cut}-"]
    rehash = [e for e in log.events if e.phase is Phase.VERIFY and e.total_bytes == cut]
    assert rehash and rehash[-1].done_bytes == cut, "kept bytes must be re-hashed"
    assert not part.exists()


async def test_server_that_ignores_range_restarts_from_zero(tmp_path: Path,
                                                            payload: bytes) -> None:
    knobs = FileKnobs(honour_range=False, cut_after_bytes=100 * 1024)
    with serve_files({"tiny.gguf": payload}, knobs) as server:
        request = request_for(server.url("tiny.gguf"), tmp_path, payload)
        with pytest.raises(DownloadFailed):
            await downloader(tmp_path, retries=0).download(request)
        result = await downloader(tmp_path).download(request)
    assert server.ranges() == [None, f"bytes={100 * 1024}-"]  # asked; got a 200
    assert request.dest.read_bytes() == payload and result.size_bytes == len(payload)


async def test_wrong_content_range_start_restarts_from_zero(tmp_path: Path,
                                                            payload: bytes) -> None:
    knobs = FileKnobs(cut_after_bytes=64 * 1024, range_start_lie=1000)
    with serve_files({"tiny.gguf": payload}, knobs) as server:
        request = request_for(server.url("tiny.gguf"), tmp_path, payload)
        with pytest.raises(DownloadFailed):
            await downloader(tmp_path, retries=0).download(request)
        await downloader(tmp_path).download(request)
    assert server.ranges() == [None, f"bytes={64 * 1024}-", None]
    assert request.dest.read_bytes() == payload


async def test_transient_cut_is_retried_within_one_run(tmp_path: Path, payload: bytes) -> None:
    knobs = FileKnobs(cut_after_bytes=150 * 1024, cut_responses=2)
    with serve_files({"tiny.gguf": payload}, knobs) as server:
        request = request_for(server.url("tiny.gguf"), tmp_path, payload)
        await downloader(tmp_path, retries=2).download(request)
    assert server.ranges() == [None, f"bytes={150 * 1024}-", f"bytes={300 * 1024}-"]
    assert request.dest.read_bytes() == payload


async def test_wrong_bytes_raise_hash_mismatch_and_leave_nothing(tmp_path: Path,
                                                                 payload: bytes) -> None:
    with serve_files({"tiny.gguf": payload}, FileKnobs(wrong_bytes=True)) as server:
        request = request_for(server.url("tiny.gguf"), tmp_path, payload)
        log = ProgressLog(request.dest, payload)
        with pytest.raises(HashMismatch) as failure:
            await downloader(tmp_path).download(request, on_progress=log)
    assert failure.value.expected == sha256_hex(payload)
    assert "sha256 mismatch" in str(failure.value)
    assert not request.dest.exists()
    assert list((tmp_path / ".partial").iterdir()) == []


async def test_without_a_known_hash_the_result_says_unverified(tmp_path: Path,
                                                               payload: bytes) -> None:
    with serve_files({"tiny.gguf": payload}) as server:
        request = request_for(server.url("tiny.gguf"), tmp_path, payload, sha=False)
        log = ProgressLog(request.dest, payload)
        result = await downloader(tmp_path).download(request, on_progress=log)
    assert not result.verified and result.sha256_source is None
    assert result.sha256 == sha256_hex(payload)  # computed, just not checked against anything
    assert all(e.verified is False for e in log.events if e.phase is not Phase.VERIFY
               or e.total_bytes == len(payload))
    assert "unverified" in log.events[-1].message


async def test_hub_lfs_hash_from_redirect_is_checked(tmp_path: Path, payload: bytes) -> None:
    """ranking-facts §8: the Hub names an LFS file's sha256 in X-Linked-Etag."""
    with serve_files({"tiny.gguf": payload}) as server:
        request = request_for(server.resolve_url("tiny.gguf"), tmp_path, payload, sha=False)
        result = await downloader(tmp_path).download(request)
    assert result.verified and result.sha256_source == "hub-lfs"

    with serve_files({"tiny.gguf": payload}, FileKnobs(wrong_bytes=True)) as server:
        request = request_for(server.resolve_url("tiny.gguf"), tmp_path / "b", payload,
                              sha=False)
        with pytest.raises(HashMismatch):
            await downloader(tmp_path / "b").download(request)
    assert not request.dest.exists()


async def test_short_disk_is_refused_before_any_byte(tmp_path: Path, payload: bytes) -> None:
    with serve_files({"tiny.gguf": payload}) as server:
        request = request_for(server.url("tiny.gguf"), tmp_path, payload)
        short = downloader(tmp_path, disk_free=lambda _path: len(payload) - 1)
        with pytest.raises(DiskFull) as failure:
            await short.download(request)
        assert server.requests == []  # the size was known: not even a request
        assert failure.value.need_bytes == len(payload)

        unknown_size = request_for(server.url("tiny.gguf"), tmp_path, payload, size=False)
        with pytest.raises(DiskFull):
            await short.download(unknown_size)
        assert len(server.requests) == 1  # headers read, no body byte written
    assert not request.dest.exists()
    assert list((tmp_path / ".partial").iterdir()) == []


async def test_resume_needs_only_the_remaining_bytes_free(tmp_path: Path,
                                                          payload: bytes) -> None:
    cut = 300 * 1024
    with serve_files({"tiny.gguf": payload}, FileKnobs(cut_after_bytes=cut)) as server:
        request = request_for(server.url("tiny.gguf"), tmp_path, payload)
        with pytest.raises(DownloadFailed):
            await downloader(tmp_path, retries=0).download(request)
        remaining = len(payload) - cut
        await downloader(tmp_path, disk_free=lambda _path: remaining).download(request)
    assert request.dest.read_bytes() == payload


async def test_size_disagreeing_with_the_catalog_fails_and_cleans(tmp_path: Path,
                                                                  payload: bytes) -> None:
    with serve_files({"tiny.gguf": payload}) as server:
        request = DownloadRequest("tiny", server.url("tiny.gguf"), tmp_path / "tiny.gguf",
                                  size_bytes=len(payload) + 1)
        with pytest.raises(DownloadFailed) as failure:
            await downloader(tmp_path).download(request)
    assert not failure.value.resumable and "catalog says" in str(failure.value)
    assert list((tmp_path / ".partial").iterdir()) == []


async def test_missing_file_is_model_not_found(tmp_path: Path, payload: bytes) -> None:
    with serve_files({}) as server:
        request = request_for(server.url("tiny.gguf"), tmp_path, payload)
        with pytest.raises(ModelNotFound):
            await downloader(tmp_path).download(request)


async def test_complete_partial_from_a_crash_before_rename_is_placed(tmp_path: Path,
                                                                     payload: bytes) -> None:
    with serve_files({"tiny.gguf": payload}, FileKnobs(cut_after_bytes=len(payload) - 1)) as srv:
        request = request_for(srv.url("tiny.gguf"), tmp_path, payload)
        with pytest.raises(DownloadFailed):
            await downloader(tmp_path, retries=0).download(request)
        part = downloader(tmp_path).part_path(request)
        with open(part, "ab") as handle:  # the last byte landed just before the crash
            handle.write(payload[-1:])
        await downloader(tmp_path).download(request)
        assert srv.ranges() == [None]  # nothing left to fetch
    assert request.dest.read_bytes() == payload


async def test_unreachable_server_fails_resumable_with_a_reason(tmp_path: Path,
                                                                payload: bytes) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    request = request_for(f"http://127.0.0.1:{port}/tiny.gguf", tmp_path, payload)
    with pytest.raises(DownloadFailed) as failure:
        await downloader(tmp_path, retries=1).download(request)
    assert failure.value.resumable and "127.0.0.1" in str(failure.value)
    assert not request.dest.exists()
