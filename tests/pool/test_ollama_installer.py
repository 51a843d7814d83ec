"""The Ollama installer against a loopback fake speaking the REST shapes of ranking-facts §7."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from swapdeck.pool.errors import (
    Cancelled,
    DownloadFailed,
    InstallerUnavailable,
    InstallFailed,
    ModelNotFound,
)
from swapdeck.pool.installers.base import InstallTarget, Phase, Progress, TransferControl
from swapdeck.pool.installers.ollama import OllamaInstaller, PullProgress
from swapdeck.pool.state import PoolEntry
from tests.pool.servers import FakeModel, FakeOllama, serve_ollama

LAYERS = [4_000_000, 12_000, 500]


def target(name: str = "qwen3:8b") -> InstallTarget:
    return InstallTarget(id="qwen3-8b", org="Qwen", family="qwen3", ollama_name=name,
                         size_bytes=sum(LAYERS))


async def collect(installer: OllamaInstaller, tgt: InstallTarget,
                  control: TransferControl | None = None) -> list[Progress]:
    return [p async for p in installer.install(tgt, control)]


async def test_pull_streams_per_layer_progress_to_success() -> None:
    with serve_ollama(FakeOllama(library={"qwen3:8b": LAYERS})) as fake:
        events = await collect(OllamaInstaller(fake.base_url), target())
        assert ("POST", "/api/pull", {"model": "qwen3:8b", "stream": True}) in fake.requests
        assert "qwen3:8b" in fake.models
    phases = [e.phase for e in events]
    assert phases[0] is Phase.DOWNLOAD and phases[-1] is Phase.DONE
    assert phases.index(Phase.VERIFY) < phases.index(Phase.INSTALL) < phases.index(Phase.DONE)
    totals = [e.total_bytes for e in events if e.total_bytes]
    assert totals == sorted(totals), "the total grows as Ollama announces each layer"
    assert events[-1].done_bytes == events[-1].total_bytes == sum(LAYERS)
    assert events[-1].verified is True
    assert all(e.done_bytes <= (e.total_bytes or 0) for e in events)


async def test_in_stream_error_with_http_200_fails_the_install() -> None:
    fake = FakeOllama(library={"qwen3:8b": LAYERS}, fail_pull_after_layers=1)
    with serve_ollama(fake), pytest.raises(InstallFailed) as failure:
        await collect(OllamaInstaller(fake.base_url), target())
    assert "max retries exceeded" in str(failure.value)
    assert "qwen3:8b" not in fake.models


async def test_a_failed_re_pull_never_deletes_a_tag_that_was_there_before() -> None:
    """A tag pulled by hand is the person's: a cancelled or failed pull of it (an update
    from the registry) must leave it, while a tag this pull created is cleaned up."""
    theirs = FakeModel(size=123_456, digest="d" * 64)
    fake = FakeOllama(library={"qwen3:8b": LAYERS, "qwen3:4b": LAYERS},
                      models={"qwen3:8b": theirs}, fail_pull_after_layers=1)
    with serve_ollama(fake):
        installer = OllamaInstaller(fake.base_url)
        with pytest.raises(InstallFailed):
            await collect(installer, target())
        assert await installer.discard(target()) == 0
        assert fake.models == {"qwen3:8b": theirs}
        assert not [r for r in fake.requests if r[0] == "DELETE"]
        with pytest.raises(InstallFailed):  # a new tag: written, then the stream failed
            await collect(installer, target("qwen3:4b"))
        fake.models["qwen3:4b"] = FakeModel(size=4_000, digest="e" * 64)
        assert await installer.discard(target("qwen3:4b")) == 4_000
        assert "qwen3:4b" not in fake.models
        fake.fail_pull_after_layers = None
        pulled = await collect(installer, target("qwen3:4b"))
        assert pulled[-1].phase is Phase.DONE
        assert await installer.discard(target("qwen3:4b")) == 0  # the pool's once it succeeded


async def test_missing_manifest_is_model_not_found() -> None:
    with serve_ollama(FakeOllama(library={})) as fake, pytest.raises(ModelNotFound) as failure:
        await collect(OllamaInstaller(fake.base_url), target("nope:1b"))
    assert "file does not exist" in str(failure.value)


async def test_pause_closes_the_stream_and_resume_pulls_again() -> None:
    control = TransferControl()
    with serve_ollama(FakeOllama(library={"qwen3:8b": LAYERS})) as fake:
        seen: list[Progress] = []
        async for progress in OllamaInstaller(fake.base_url).install(target(), control):
            seen.append(progress)
            if progress.paused:
                control.resume()
            elif len(seen) == 3:
                control.pause()
        pulls = [r for r in fake.requests if r[1] == "/api/pull"]
    assert len(pulls) == 2 and sum(e.paused for e in seen) == 1
    assert seen[-1].phase is Phase.DONE


async def test_cancel_stops_the_pull() -> None:
    control = TransferControl()
    with serve_ollama(FakeOllama(library={"qwen3:8b": LAYERS}, line_delay_s=0.02)) as fake:
        with pytest.raises(Cancelled):
            async for _progress in OllamaInstaller(fake.base_url).install(target(), control):
                control.cancel()
        assert "qwen3:8b" not in fake.models


async def test_a_silent_pull_fails_resumable() -> None:
    """ranking-facts §7: stalled pulls ("max retries exceeded") are fixed by pulling again."""
    fake = FakeOllama(library={"qwen3:8b": LAYERS}, line_delay_s=0.5)
    with serve_ollama(fake), pytest.raises(DownloadFailed) as failure:
        await collect(OllamaInstaller(fake.base_url, stall_timeout_s=0.05), target())
    assert failure.value.resumable and "pull again" in str(failure.value)


async def test_tags_show_and_delete() -> None:
    fake = FakeOllama(library={}, models={"llama3.2:3b": FakeModel(2_019_393_189, "a" * 64)})
    with serve_ollama(fake):
        installer = OllamaInstaller(fake.base_url)
        (model,) = await installer.installed()
        assert (model.id, model.size_bytes, model.quant) == ("llama3.2:3b", 2_019_393_189,
                                                             "Q4_K_M")
        shown = await installer.show("llama3.2:3b")
        assert shown["details"]["family"] == "qwen3" and "size" not in shown
        entry = PoolEntry(id="llama3.2:3b", installer="ollama", size_bytes=1, installed_at=0)
        await installer.remove(entry)
        assert await installer.installed() == []
        await installer.remove(entry)  # 404: already gone is fine for an eviction
        assert await installer.delete("llama3.2:3b") is False
        with pytest.raises(ModelNotFound):
            await installer.show("llama3.2:3b")


async def test_a_daemon_that_is_down_is_installer_unavailable(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    installer = OllamaInstaller(f"http://127.0.0.1:{port}")
    with pytest.raises(InstallerUnavailable, match="ollama installer unavailable"):
        await installer.installed()
    with pytest.raises(InstallerUnavailable):
        await collect(installer, target())


def test_pull_progress_counts_layers_without_completed_as_zero() -> None:
    ticks = iter(range(100))
    folded = PullProgress("m", clock=lambda: float(next(ticks)))
    folded.feed({"status": "pulling manifest"})
    first = folded.feed({"status": "pulling aaa", "digest": "sha256:aaa", "total": 100})
    assert (first.done_bytes, first.total_bytes) == (0, 100)
    later = folded.feed({"status": "pulling aaa", "digest": "sha256:aaa", "total": 100,
                         "completed": 60})
    assert later.done_bytes == 60 and later.rate_bps is not None and later.eta_s is not None
    two = folded.feed({"status": "pulling bbb", "digest": "sha256:bbb", "total": 50})
    assert (two.done_bytes, two.total_bytes) == (60, 150)
