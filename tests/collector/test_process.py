"""`python -m swapdeck collect` as a real process: SIGTERM flushes the history before exit;
SIGKILL loses at most the batch not yet written, never the database."""

from __future__ import annotations

import asyncio
import re
import signal
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

from swapdeck.sim import SimHost

from .conftest import CollectorProcess, eventually, scrape, write_config

LOG_LINE = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ level=(info|warning|error)'
                      r'( host=\S+)? msg="[^"]*"')


def stored_ids(database: Path, host: str) -> list[int]:
    with sqlite3.connect(database) as db:
        return [r[0] for r in db.execute(
            "SELECT remote_id FROM requests WHERE host = ? ORDER BY remote_id", (host,))]


def integrity(database: Path) -> str:
    with sqlite3.connect(database) as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])


def counted(url: str, total: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        page = await scrape(url)
        return page.total("swapdeck_requests_total") == total
    return check


async def test_sigterm_flushes_history_before_exit(
        sim_hosts: Callable[..., Awaitable[SimHost]], tmp_path: Path) -> None:
    """The writer interval is a minute: every stored row was written by the shutdown flush."""
    host = await sim_hosts("v250", "gpu1", seed=11)
    config = write_config(tmp_path / "swapdeck.toml", {"gpu1": host}, tmp_path / "data",
                          writer_interval_s=60)
    collector = await CollectorProcess.start(config)
    try:
        url = await collector.url()
        for _ in range(6):
            await host.serve_request("alpha", prompt_tokens=20, output_tokens=5)
        await eventually(counted(url, 6), what="six requests counted")
        assert stored_ids(tmp_path / "data" / "history.sqlite", "gpu1") == []
        collector.proc.send_signal(signal.SIGTERM)
        assert await collector.wait() == 0
    finally:
        await collector.kill()
    database = tmp_path / "data" / "history.sqlite"
    assert stored_ids(database, "gpu1") == host.held_activity_ids()
    assert integrity(database) == "ok"
    log = collector.lines
    assert all(LOG_LINE.match(line) for line in log), log
    assert any('host=gpu1 msg="connected"' in line for line in log)
    assert any('msg="signal received" signal=SIGTERM' in line for line in log)
    assert 'msg="stopped, history flushed"' in log[-1]
    assert not any("Traceback" in line for line in log)


async def test_sigkill_loses_at_most_the_unwritten_batch(
        sim_hosts: Callable[..., Awaitable[SimHost]], tmp_path: Path) -> None:
    """Killed mid-burst: what was written stays whole (`integrity_check`), the rest is at
    most the burst; a restarted collector reconciles the host's store (§1.10) and ends with
    every row exactly once."""
    host = await sim_hosts("v250", "gpu1", seed=12)
    database = tmp_path / "data" / "history.sqlite"
    config = write_config(tmp_path / "swapdeck.toml", {"gpu1": host}, tmp_path / "data",
                          writer_interval_s=0.1)
    collector = await CollectorProcess.start(config)
    try:
        url = await collector.url()
        for _ in range(10):
            await host.serve_request("alpha", prompt_tokens=20, output_tokens=5)

        async def written() -> bool:
            return await asyncio.to_thread(stored_ids, database, "gpu1") == \
                host.held_activity_ids()

        await eventually(written, what="first ten requests written")
        await asyncio.gather(*(host.serve_request("beta", prompt_tokens=20, output_tokens=5)
                               for _ in range(30)))
        collector.proc.kill()  # SIGKILL: no flush, no cleanup
        assert await collector.wait() == -signal.SIGKILL
    finally:
        await collector.kill()
    assert integrity(database) == "ok"
    after_kill = stored_ids(database, "gpu1")
    everything = host.held_activity_ids()
    assert everything[:10] == after_kill[:10]  # the written batches are all there
    assert set(after_kill) <= set(everything)
    assert len(after_kill) >= 10

    restarted = await CollectorProcess.start(config)
    try:
        url = await restarted.url()
        await eventually(counted(url, 40), what="restart counted every request once")
        restarted.proc.send_signal(signal.SIGTERM)
        assert await restarted.wait() == 0
    finally:
        await restarted.kill()
    assert stored_ids(database, "gpu1") == everything
    assert integrity(database) == "ok"
