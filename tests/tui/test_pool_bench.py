"""The Pool screen's bench link: `b` runs a quick suite on this machine's llama-swap (a
simulated host on loopback, llama-swap-api §1.1 inference, §1.3 `/running`), and the
measured decode speed becomes the model's speed in the ranking — now and after a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from swapdeck.events import ModelState
from swapdeck.pool.estimate import SpeedBasis
from swapdeck.pool.session_values import JobState
from swapdeck.sim import SimHost, SimModel
from swapdeck.tui.pool_modals import WhyModal
from tests.pool.test_session_fixtures import catalog_source, make_session, pool_settings
from tests.tui.conftest import host_events, notifications, until
from tests.tui.test_pool_support import open_pool, pool_app, row_text, select, session_of


@pytest.fixture
async def sim() -> AsyncIterator[SimHost]:
    host = SimHost("v250", models=(SimModel("qwen3-4b", load_s=0.05, prefill_tps=40_000.0,
                                            decode_tps=2_000.0),))
    await host.start()
    try:
        yield host
    finally:
        await host.stop()


async def test_b_measures_the_model_here_and_the_ranking_uses_it(
        tmp_path: Path, sim: SimHost) -> None:
    pool_settings(tmp_path)
    source = catalog_source("http://127.0.0.1:9")  # nothing is downloaded in this test
    events = host_events("gpu-box", models={"qwen3-4b": ModelState.READY})
    app = pool_app(tmp_path, source, events,
                   hosts=({"name": "gpu-box", "url": sim.url, "local": True},))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_pool(app, pilot)
        session = session_of(screen)
        assert session.row("qwen3-4b").speed.basis is SpeedBasis.ESTIMATED  # type: ignore[union-attr]

        await select(pilot, screen, "pool-candidates", "qwen3-8b")
        await pilot.press("b")
        await until(pilot, lambda: any("gpu-box (this machine) does not list qwen3-8b" in n
                                       for n in notifications(app)), "the refusal")
        assert session.bench is None

        await select(pilot, screen, "pool-candidates", "qwen3-4b")
        await pilot.press("b")
        await until(pilot, lambda: session.bench is not None
                    and session.bench.state is not JobState.RUNNING, "the quick bench",
                    timeout_s=60)
        assert session.bench is not None and session.bench.state is JobState.DONE, \
            session.bench.message
        row = session.row("qwen3-4b")
        assert row is not None and row.speed.basis is SpeedBasis.MEASURED
        assert row.speed.tokens_per_s == pytest.approx(2000, rel=0.1)
        await until(pilot, lambda: "measured" in row_text(screen, "pool-candidates", "qwen3-4b"),
                    "the evidence column")
        await select(pilot, screen, "pool-candidates", "qwen3-4b")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, WhyModal), "the why-view")
        why = "\n".join(app.screen.lines)  # type: ignore[attr-defined]
        assert "[measured]: measured by swapdeck bench #1 on this box" in why
        await pilot.press("escape")

    # after a restart, the stored run is evidence again
    again = make_session(tmp_path, source, settings=pool_settings(tmp_path),
                         bench_database=tmp_path / "data" / "history.sqlite",
                         local_hosts=["gpu-box"])
    await again.start()
    row = again.row("qwen3-4b")
    assert row is not None and row.speed.basis is SpeedBasis.MEASURED
    await again.aclose()
